"""Report kind 保修到期: warranties expired or ending within 180 days, judged on the pack's
"as of" day (``Context.as_of_day``: today while the period is running, else its last day;
``assets.queries.warranty_reminders``), expired rows highlighted. Its findings: each warranty
expired or expiring, and the counts for the summary."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from opskit.xlsx.writer import DATE, INT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, Kind, labeller

WARRANTY_HORIZON_DAYS = 180
#: the summary's "expiring soon": within this many days of the "as of" day
SOON_DAYS = 90


def _reminders(ctx: Context) -> list[Any]:
    return ctx.once(
        "warranty",
        lambda: registry.warranty_reminders(ctx.as_of_day, within_days=WARRANTY_HORIZON_DAYS),
    )


def warranty(ctx: Context) -> list[Sheet]:
    """Warranties expired or ending within 180 days of the "as of" day."""
    day = ctx.as_of_day
    reminders = _reminders(ctx)
    kind_label = labeller(registry.asset_kind_labels())

    def rows() -> Iterator[dict[str, Any]]:
        for r in reminders:
            a = r.asset
            where = " / ".join(
                x for x in (a.room.name if a.room else "", a.rack.name if a.rack else "") if x
            )
            yield {
                "tag": a.asset_tag,
                "name": a.name,
                "kind": kind_label(a.kind),
                "vendor": a.vendor,
                "model": a.model,
                "serial": a.serial,
                "location": where,
                "support": a.support_level,
                "end": a.warranty_end,
                "days": r.days_left,
                "state": _("expired") if r.days_left < 0 else _("expiring"),
            }

    ctx.headline[_("Warranties expired")] = sum(1 for r in reminders if r.days_left < 0)
    ctx.headline[_("Warranties ending within 180 days")] = sum(
        1 for r in reminders if r.days_left >= 0
    )
    columns = [
        Col("tag", _("Asset tag")),
        Col("name", _("Name")),
        Col("kind", _("Kind")),
        Col("vendor", _("Vendor")),
        Col("model", _("Model")),
        Col("serial", _("Serial number")),
        Col("location", _("Location")),
        Col("support", _("Support level")),
        Col("end", _("Warranty end"), DATE),
        Col("days", _("Days left"), INT),
        Col("state", _("State")),
    ]
    return [
        Sheet(
            _("Warranty"),
            columns,
            rows(),
            highlight=lambda row: row["days"] < 0,
            note=_("As of %(day)s; expired rows are highlighted.", day=day.isoformat()),
        )
    ]


def findings(ctx: Context) -> list[Finding]:
    """``warranty.expired`` / ``warranty.expiring`` per asset (figures: days_left, days_ago,
    end, tag, name), and ``warranty.summary`` (expired, expiring_soon within 90 days,
    expiring within 180 days, as_of)."""
    reminders = _reminders(ctx)
    day = ctx.as_of_day
    period = _("as of %(day)s", day=day.isoformat())
    out = []
    for r in reminders:
        a = r.asset
        expired = r.days_left < 0
        out.append(
            Finding(
                key="warranty.expired" if expired else "warranty.expiring",
                subject=f"{a.name} ({a.asset_tag})",
                metric=_("Warranty end"),
                value=a.warranty_end.isoformat() if a.warranty_end else None,
                period=period,
                figures={
                    "tag": a.asset_tag,
                    "name": a.name,
                    "end": a.warranty_end.isoformat() if a.warranty_end else "",
                    "days_left": r.days_left,
                    "days_ago": max(-r.days_left, 0),
                },
                severity=2 if expired else 1,
            )
        )
    out.append(
        Finding(
            key="warranty.summary",
            subject="",
            metric=_("Warranties"),
            value=sum(1 for r in reminders if r.days_left < 0),
            period=period,
            figures={
                "expired": sum(1 for r in reminders if r.days_left < 0),
                "expiring_soon": sum(1 for r in reminders if 0 <= r.days_left <= SOON_DAYS),
                "expiring": sum(1 for r in reminders if r.days_left >= 0),
                "soon_days": SOON_DAYS,
                "horizon_days": WARRANTY_HORIZON_DAYS,
                "as_of": day.isoformat(),
            },
        )
    )
    return out


KIND = Kind(_l("Warranty expiry"), warranty, findings=findings)
