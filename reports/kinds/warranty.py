"""Report kind 保修到期: warranties expired or ending within 180 days, judged on the pack's
"as of" day (``Context.as_of_day``: today while the period is running, else its last day;
``assets.queries.warranty_reminders``), expired rows highlighted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from opskit.xlsx.writer import DATE, INT, Col, Sheet
from reports.kinds.base import Context, Kind, labeller

WARRANTY_HORIZON_DAYS = 180


def warranty(ctx: Context) -> list[Sheet]:
    """Warranties expired or ending within 180 days of the "as of" day."""
    day = ctx.as_of_day
    reminders = registry.warranty_reminders(day, within_days=WARRANTY_HORIZON_DAYS)
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


KIND = Kind(_l("Warranty expiry"), warranty)
