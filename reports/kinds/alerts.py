"""Report kind 告警与事件: the period's alerts by urgency and source, their times and SLA clocks
met or breached per service level, and the incidents with their timelines.

The service desk's notices (alerts of source ``servicedesk``: a request's SLA warning or breach
told through the alert channels, resolved at once) are not alerts here: ``alerts_between``
leaves them out, so they count neither in these figures nor in the month-by-month sheet; the
request's own clocks are in 服务请求统计."""

from __future__ import annotations

from collections import Counter

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.alerts.queries import (
    CLOCK_DONE,
    alerts_between,
    current_policy,
    incident_words,
    incidents_between,
)
from opskit.alerts.services import SOURCE_LABELS
from opskit.alerts.wording import human_duration, rule_titles
from opskit.sla import CLOCKS, clock_state
from opskit.xlsx.writer import DATETIME, INT, NUMBER, PERCENT, Col, Sheet
from reports.kinds.base import Context, Kind, local_time, minutes


def alerts_sla(ctx: Context) -> list[Sheet]:
    """Alerts of the period by urgency and source, their times, SLA met/breached per level."""
    policy = current_policy()
    period = ctx.period
    judged_at = ctx.as_of
    alerts = alerts_between(period.start, period.end)
    clock_names = {"acknowledge": _("Acknowledge"), "onsite": _("On site"), "resolve": _("Resolve")}
    state_names = {
        "met": _("met"),
        "breached": _("breached"),
        "running": _("open"),
        "warning": _("open"),
    }

    def source(key: str) -> str:
        return str(SOURCE_LABELS.get(key, key))

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
                "first": local_time(alert.first_seen, ctx),
                "ack": local_time(alert.acknowledged_at, ctx),
                "onsite": local_time(alert.onsite_at, ctx),
                "resolved": local_time(alert.resolved_at, ctx),
                "ack_min": minutes(alert.first_seen, alert.acknowledged_at),
                "onsite_min": minutes(alert.first_seen, alert.onsite_at),
                "resolve_min": minutes(alert.first_seen, alert.resolved_at),
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
    grades, phases = incident_words()
    incident_rows = [
        {
            "number": i.number,
            "title": i.title,
            "grade": str(grades.get(i.grade, i.grade)),
            "urgency": i.urgency,
            "opened": local_time(i.opened_at, ctx),
            "onsite": local_time(i.onsite_at, ctx),
            "closed": local_time(i.closed_at, ctx),
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
                Col("open", _("Open now") if ctx.running else _("Open at period end"), INT),
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


KIND = Kind(_l("Alerts and incidents"), alerts_sla, monthly=True)
