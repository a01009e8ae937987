"""Report kinds: each a function from a period to named tables, registered in ``KINDS``.

A kind reads only other domains' ``queries`` modules and returns ``Sheet`` objects for the
shared writer; it never formats cells itself. Times are converted to the site's local time here
(the writer refuses aware datetimes). Kinds not built yet are listed in ``PLANNED`` so the UI
and CLI can say so instead of failing.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.xlsx.writer import DATE, DATETIME, INT, NUMBER, PERCENT, Col, Sheet
from reports.periods import Period


@dataclass
class Context:
    period: Period
    now: datetime  # aware UTC; clocks still running are judged at min(now, period end)
    headline: dict[str, Any]  # figures for the cover sheet, filled by the kinds
    #: month (its first day) → figure → value, for the month-by-month overview of a quarter or
    #: year; filled by the kinds that count things per month
    months: dict[date, dict[str, float]] = field(default_factory=dict)
    counted: set[str] = field(default_factory=set)  # the kinds that counted per month

    def count(self, moment: date | datetime, figure: str, n: float = 1) -> None:
        """Add ``n`` to ``figure`` of the month holding ``moment`` (a local date, or an aware
        datetime taken in site time)."""
        day = moment.astimezone(self.period.tz).date() if isinstance(moment, datetime) else moment
        month = self.months.setdefault(day.replace(day=1), {})
        month[figure] = month.get(figure, 0) + n


@dataclass
class Image:
    """A sheet holding one picture (the topology diagram)."""

    name: str
    title: str
    png: bytes
    note: str = ""


def _local(moment: datetime | None, ctx: Context) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(ctx.period.tz).replace(tzinfo=None)


def enum_label(enum_cls: Any, value: str) -> str:
    """A registry enumeration's label: Chinese in a Chinese workbook (the words of the Excel
    import template), the page's English label in an English one; an unknown value as is."""
    return enum_labeller(enum_cls)(value)


def enum_labeller(enum_cls: Any) -> Callable[[str], str]:
    """``enum_label`` for many values of ``enum_cls``: the locale and labels looked up once."""
    from assets.queries import enum_labels

    if get_locale() is not None and str(get_locale()).startswith("zh"):
        labels: dict[str, str] = enum_cls.zh_labels()
    else:
        labels = {k: str(v) for k, v in enum_labels(enum_cls).items()}
    return lambda value: labels.get(value, value)


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 60, 1)


# --- 保修到期 -----------------------------------------------------------------------------------


WARRANTY_HORIZON_DAYS = 180


def warranty(ctx: Context) -> list[Sheet]:
    """Warranties expired or ending within 180 days of the period's last day."""
    from assets import queries
    from assets.models import AssetKind

    day = ctx.period.last_day
    reminders = queries.warranty_reminders(day, within_days=WARRANTY_HORIZON_DAYS)
    kind_label = enum_labeller(AssetKind)

    def rows():
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


# --- 告警与事件 ---------------------------------------------------------------------------------


def alerts_sla(ctx: Context) -> list[Sheet]:
    """Alerts of the period by urgency and source, their times, SLA met/breached per level."""
    from opskit.alerts import incidents as incident_labels
    from opskit.alerts.queries import CLOCK_DONE, alerts_between, current_policy, incidents_between
    from opskit.alerts.sla import CLOCKS, clock_state

    policy = current_policy()
    period = ctx.period
    judged_at = min(ctx.now, period.end)
    alerts = alerts_between(period.start, period.end)
    clock_names = {"acknowledge": _("Acknowledge"), "onsite": _("On site"), "resolve": _("Resolve")}
    state_names = {
        "met": _("met"),
        "breached": _("breached"),
        "running": _("open"),
        "warning": _("open"),
    }

    from opskit.alerts.services import SOURCE_LABELS

    def source(key: str) -> str:
        return str(SOURCE_LABELS.get(key, key))

    from opskit.alerts.wording import human_duration, rule_titles

    # a rule by its title (rules.yaml; a patrol finding by its checklist item), never its name
    titles = rule_titles(a.rule for a in alerts)
    by_kind: Counter[tuple[str, str]] = Counter((a.urgency, source(a.source)) for a in alerts)
    sla: dict[tuple[int, str], Counter[str]] = {}
    detail = []
    ctx.counted.add("alerts")
    for alert in alerts:
        level = policy.level_for(alert.urgency)
        ctx.count(alert.first_seen, f"alerts_{alert.urgency}")
        states = {}
        for clock in CLOCKS:
            done = getattr(alert, CLOCK_DONE[clock]) or alert.resolved_at
            if alert.silenced:
                continue
            state = clock_state(policy, alert.urgency, clock, alert.first_seen, done, judged_at)
            outcome = state.state if state.state in ("met", "breached") else "open"
            sla.setdefault((level.number, clock), Counter())[outcome] += 1
            if clock == "onsite" and outcome != "open":
                ctx.count(alert.first_seen, "onsite_decided")
                ctx.count(alert.first_seen, "onsite_met", int(outcome == "met"))
            states[clock] = state_names.get(state.state, state.state)
        detail.append(
            {
                "id": alert.id,
                "urgency": alert.urgency,
                "level": level.name,
                "source": source(alert.source),
                "rule": titles.get(alert.rule, ""),
                "message": alert.message,
                "first": _local(alert.first_seen, ctx),
                "ack": _local(alert.acknowledged_at, ctx),
                "onsite": _local(alert.onsite_at, ctx),
                "resolved": _local(alert.resolved_at, ctx),
                "ack_min": _minutes(alert.first_seen, alert.acknowledged_at),
                "onsite_min": _minutes(alert.first_seen, alert.onsite_at),
                "resolve_min": _minutes(alert.first_seen, alert.resolved_at),
                "ack_state": states.get("acknowledge", ""),
                "onsite_state": states.get("onsite", ""),
                "resolve_state": states.get("resolve", ""),
            }
        )
    summary = [{"urgency": u, "source": s, "count": n} for (u, s), n in sorted(by_kind.items())]
    sla_rows = []
    levels = {lv.number: lv for lv in policy.levels}
    for (number, clock), counts in sorted(sla.items()):
        decided = counts["met"] + counts["breached"]
        level = levels[number]
        sla_rows.append(
            {
                "number": number,
                "level": level.name,
                "hours": _("7x24") if level.hours == "24x7" else _("working hours"),
                "clock": clock_names[clock],
                "target": human_duration(level.targets[clock]),  # "5 分钟", "4 小时"
                "total": sum(counts.values()),
                "met": counts["met"],
                "breached": counts["breached"],
                "open": counts["open"],
                "percent": counts["met"] / decided if decided else None,
            }
        )
    ctx.headline[_("Alerts")] = len(alerts)
    for row in sla_rows:
        if row["clock"] == clock_names["onsite"] and row["percent"] is not None:
            ctx.headline[_("On-site SLA met: %(level)s", level=row["level"])] = (
                f"{row['percent']:.1%}"
            )
    incidents = incidents_between(period.start, period.end)
    for incident in incidents:
        ctx.count(incident.opened_at, "incidents")
    phases = incident_labels.PHASE_LABELS
    grades = incident_labels.GRADE_LABELS
    incident_rows = [
        {
            "number": i.number,
            "title": i.title,
            "grade": str(grades.get(i.grade, i.grade)),
            "urgency": i.urgency,
            "opened": _local(i.opened_at, ctx),
            "onsite": _local(i.onsite_at, ctx),
            "closed": _local(i.closed_at, ctx),
            "phases": " → ".join(
                f"{e.at.astimezone(period.tz):%m-%d %H:%M} {phases.get(e.phase, e.phase)}: {e.note}"
                for e in i.entries
            ),
            "cause": i.root_cause,
            "measures": i.measures,
        }
        for i in incidents
    ]
    ctx.headline[_("Incidents")] = len(incident_rows)
    return [
        Sheet(
            _("Alerts by urgency"),
            [
                Col("urgency", _("Urgency")),
                Col("source", _("Source")),
                Col("count", _("Alerts"), INT),
            ],
            summary,
        ),
        Sheet(
            _("SLA"),
            [
                Col("level", _("Level")),
                Col("clock", _("Clock")),
                Col("target", _("Target")),
                Col("hours", _("Service hours")),
                Col("total", _("Alerts"), INT),
                Col("met", _("Met"), INT),
                Col("breached", _("Breached"), INT),
                Col("open", _("Open at period end"), INT),
                Col("percent", _("Met %"), PERCENT),
            ],
            sla_rows,
            highlight=lambda row: row["breached"] > 0,
            charts=[
                {
                    "type": "column",
                    "category": ["level", "clock"],  # two-level labels: 一级服务 / 到场
                    "values": ["met", "breached"],
                    "title": _("SLA met and breached"),
                }
            ],
        ),
        Sheet(
            _("Alert details"),
            [
                Col("id", "ID", INT),
                Col("urgency", _("Urgency")),
                Col("level", _("Level")),
                Col("source", _("Source")),
                Col("rule", _("Rule")),
                Col("message", _("Message"), width=40),
                Col("first", _("First seen"), DATETIME),
                Col("ack", _("Acknowledged at"), DATETIME),
                Col("onsite", _("On site"), DATETIME),
                Col("resolved", _("Resolved at"), DATETIME),
                Col("ack_min", _("Minutes to acknowledge"), NUMBER),
                Col("onsite_min", _("Minutes to arrive"), NUMBER),
                Col("resolve_min", _("Minutes to resolve"), NUMBER),
                Col("ack_state", _("Acknowledge SLA")),
                Col("onsite_state", _("On-site SLA")),
                Col("resolve_state", _("Resolve SLA")),
            ],
            detail,
            highlight=lambda row: (
                _("breached") in (row["ack_state"], row["onsite_state"], row["resolve_state"])
            ),
        ),
        Sheet(
            _("Incidents"),
            [
                Col("number", _("Number")),
                Col("title", _("Title"), width=30),
                Col("grade", _("Grade")),
                Col("urgency", _("Urgency")),
                Col("opened", _("Opened"), DATETIME),
                Col("onsite", _("On site"), DATETIME),
                Col("closed", _("Closed"), DATETIME),
                Col("phases", _("Timeline"), width=60),
                Col("cause", _("Root cause"), width=30),
                Col("measures", _("Measures"), width=30),
            ],
            incident_rows,
        ),
    ]


KindFn = Callable[[Context], list[Any]]


def _lazy(module: str, name: str) -> KindFn:
    """A kind defined in another module of the package, imported when first used."""

    def run(ctx: Context) -> list[Any]:
        return getattr(importlib.import_module(module), name)(ctx)

    run.__name__ = name
    return run


#: report kinds that exist, in the order of the pack (key → (title, builder))
KINDS: dict[str, tuple[Any, KindFn]] = {
    "config_storage": (
        _l("Configuration and storage"),
        _lazy("reports.inventory", "config_storage"),
    ),
    "topology": (_l("Network topology"), _lazy("reports.network", "topology")),
    "ip": (_l("IP allocation"), _lazy("reports.network", "ip_allocation")),
    "patrol": (_l("Patrol summary"), _lazy("reports.patrol", "patrol")),
    "alerts": (_l("Alerts and incidents"), alerts_sla),
    "load": (_l("Server and database load"), _lazy("reports.load", "load")),
    "warranty": (_l("Warranty expiry"), warranty),
}
#: kinds of the quarterly pack still to be built (none left; the page and CLI still honour it)
PLANNED: dict[str, str] = {}


#: kinds that count things per month for the overview sheet of a quarter or year
MONTHLY_KINDS = ("patrol", "alerts")


def month_overview(ctx: Context) -> Sheet:
    """月度概况: the months of a quarter or year side by side, from what the kinds counted
    (``Context.count``): alerts per urgency, the on-site SLA met, incidents, patrol rounds
    planned and done, findings. The figures of a kind not in the pack stay empty."""
    alerts_on, patrol_on = "alerts" in ctx.counted, "patrol" in ctx.counted
    rows = []
    month = ctx.period.first_day
    while month < ctx.period.next_day:
        got = ctx.months.get(month, {})
        row: dict[str, Any] = {"month": f"{month.year}-{month.month:02d}"}
        if alerts_on:
            row |= {u.lower(): int(got.get(f"alerts_{u}", 0)) for u in ("A", "B", "C")}
            row["alerts"] = row["a"] + row["b"] + row["c"]
            decided = got.get("onsite_decided")
            row["onsite"] = got.get("onsite_met", 0) / decided if decided else None
            row["incidents"] = int(got.get("incidents", 0))
        if patrol_on:
            planned, done = int(got.get("rounds_planned", 0)), int(got.get("rounds_done", 0))
            row |= {"planned": planned, "done": done, "findings": int(got.get("findings", 0))}
            row["share"] = done / planned if planned else None
        rows.append(row)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return Sheet(
        _("Month by month"),
        [
            Col("month", _("Month")),
            Col("a", _("Alerts A"), INT),
            Col("b", _("Alerts B"), INT),
            Col("c", _("Alerts C"), INT),
            Col("alerts", _("Alerts"), INT),
            Col("onsite", _("On-site SLA met %"), PERCENT),
            Col("incidents", _("Incidents"), INT),
            Col("planned", _("Patrol rounds planned"), INT),
            Col("done", _("Patrol rounds done"), INT),
            Col("share", _("Done %"), PERCENT),
            Col("findings", _("Patrol findings"), INT),
        ],
        rows,
        note=_(
            "%(period)s month by month: alerts by the month they were first seen, on-site SLA "
            "of the alerts decided, patrol rounds of the plans and findings.",
            period=ctx.period.text,
        ),
        charts=[
            {
                "type": "column",
                "category": "month",
                "values": ["a", "b", "c"],
                "title": _("Alerts per month by urgency"),
            }
        ],
    )
