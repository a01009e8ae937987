"""Report kind 告警与事件: the period's alerts by urgency and source, their times and SLA clocks
met or breached per service level, and the incidents with their timelines.

The service desk's notices (alerts of source ``servicedesk``: a request's SLA warning or breach
told through the alert channels, resolved at once) are not alerts here: ``alerts_between``
leaves them out, so they count neither in these figures nor in the month-by-month sheet; the
request's own clocks are in 服务请求统计."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets.queries import assets_by_ids
from opskit.alerts.queries import (
    CLOCK_DONE,
    alerts_between,
    current_policy,
    incident_words,
    incidents_between,
)
from opskit.alerts.services import SOURCE_LABELS
from opskit.alerts.wording import alert_messages, human_duration, note_words, rule_titles
from opskit.sla import CLOCKS, clock_state
from opskit.xlsx.cover import Figure
from opskit.xlsx.writer import DATETIME, INT, NUMBER, PERCENT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, Kind, local_time, minutes, period_as_of
from reports.kinds.response_times import response_findings, response_rows, response_sheet

#: an asset with at least this many alerts in the period is a finding (``alerts.repeated``)
REPEATED_FROM = 2
#: the summary names this many of the worst incidents
WORST_INCIDENTS = 3
#: incident grades, least to most severe
GRADE_ORDER = ("general", "major", "serious", "critical")


@dataclass
class Judged:
    """The period's alerts, each with its level and its clocks' states at the "as of" instant
    (none for a silenced alert), the SLA outcomes per level and clock, and the incidents:
    what the sheets and the findings read."""

    policy: Any
    alerts: list[Any]
    states: list[dict[str, Any]]  # per alert: clock → clock_state(...)
    sla: dict[tuple[int, str], Counter[str]]  # (level number, clock) → met/breached/open
    #: (urgency, clock) → met/breached/open, for the findings
    by_urgency: dict[tuple[str, str], Counter[str]]
    incidents: list[Any]


def _judged(ctx: Context) -> Judged:
    def compute() -> Judged:
        policy = current_policy()
        period = ctx.period
        alerts = alerts_between(period.start, period.end)
        states: list[dict[str, Any]] = []
        sla: dict[tuple[int, str], Counter[str]] = {}
        by_urgency: dict[tuple[str, str], Counter[str]] = {}
        for alert in alerts:
            level = policy.level_for(alert.urgency)
            got = {}
            for clock in CLOCKS:
                if alert.silenced:
                    continue
                done = getattr(alert, CLOCK_DONE[clock]) or alert.resolved_at
                state = clock_state(policy, alert.urgency, clock, alert.first_seen, done, ctx.as_of)
                outcome = state.state if state.state in ("met", "breached") else "open"
                sla.setdefault((level.number, clock), Counter())[outcome] += 1
                by_urgency.setdefault((alert.urgency, clock), Counter())[outcome] += 1
                got[clock] = state
            states.append(got)
        incidents = incidents_between(period.start, period.end)
        return Judged(policy, alerts, states, sla, by_urgency, incidents)

    return ctx.once("alerts", compute)


def _source(key: str) -> str:
    return str(SOURCE_LABELS.get(key, key))


def _clock_names() -> dict[str, str]:
    return {"acknowledge": _("Acknowledge"), "onsite": _("On site"), "resolve": _("Resolve")}


def alerts_sla(ctx: Context) -> list[Sheet]:
    """Alerts of the period by urgency and source, their times, SLA met/breached per level."""
    judged = _judged(ctx)
    policy, alerts, sla = judged.policy, judged.alerts, judged.sla
    period = ctx.period
    clock_names = _clock_names()
    state_names = {
        "met": _("met"),
        "breached": _("breached"),
        "running": _("open"),
        "warning": _("open"),
    }

    # a rule by its title (rules.yaml; a patrol finding by its checklist item), never its name
    titles = rule_titles(a.rule for a in alerts)
    messages = alert_messages(alerts)  # the words opskit wrote in the workbook's language
    by_kind: Counter[tuple[str, str]] = Counter((a.urgency, _source(a.source)) for a in alerts)
    detail = []
    ctx.counted.add("alerts")
    for alert, got in zip(alerts, judged.states, strict=True):
        level = policy.level_for(alert.urgency)
        ctx.count(alert.first_seen, f"alerts_{alert.urgency}")
        states = {}
        for clock, state in got.items():
            outcome = state.state if state.state in ("met", "breached") else "open"
            if clock == "onsite" and outcome != "open":
                ctx.count(alert.first_seen, "onsite_decided")
                ctx.count(alert.first_seen, "onsite_met", int(outcome == "met"))
            states[clock] = state_names.get(state.state, state.state)
        detail.append(
            {
                "id": alert.id,
                "urgency": alert.urgency,
                "level": level.words,
                "source": _source(alert.source),
                "rule": titles.get(alert.rule, ""),
                "message": messages[alert.id],
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
                "level": level.words,
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
            ctx.headline[_("On-site SLA met: %(level)s", level=row["level"])] = Figure(
                row["percent"], PERCENT
            )
    incidents = judged.incidents
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
                f"{e.at.astimezone(period.tz):%m-%d %H:%M} {phases.get(e.phase, e.phase)}: "
                f"{note_words(e.note)}"
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
        # 响应时间统计: the SLA's figures per urgency (mean, p90, within SLA), beside the SLA sheet
        response_sheet(response_rows(alerts, policy, judged.by_urgency, clock_names)),
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


def findings(ctx: Context) -> list[Finding]:
    """From the same judged alerts as the sheets: ``alerts.summary`` (total, a, b, c,
    onsite_decided, onsite_met, onsite_pct, breached), ``alerts.sla_breached`` per urgency and
    clock with a breach (urgency, level, clock, breached, total, met_pct),
    ``alerts.repeated`` per asset with two alerts or more (count, tag, name) and
    ``incidents.summary`` (count, worst: the worst incidents in words, by grade then time open)."""
    judged = _judged(ctx)
    period = period_as_of(ctx)
    names = _clock_names()
    counts = Counter(a.urgency for a in judged.alerts)
    onsite: Counter[str] = Counter()
    for key, got in judged.by_urgency.items():
        if key[1] == "onsite":
            onsite.update(got)
    decided = onsite["met"] + onsite["breached"]
    out = [
        Finding(
            key="alerts.summary",
            subject="",
            metric=_("Alerts"),
            value=len(judged.alerts),
            period=period,
            figures={
                "total": len(judged.alerts),
                "a": counts["A"],
                "b": counts["B"],
                "c": counts["C"],
                "onsite_decided": decided,
                "onsite_met": onsite["met"],
                "onsite_pct": round(onsite["met"] / decided * 100, 1) if decided else None,
                "breached": sum(c["breached"] for c in judged.by_urgency.values()),
            },
        )
    ]
    for (urgency, clock), got in sorted(judged.by_urgency.items()):
        if not got["breached"]:
            continue
        decided = got["met"] + got["breached"]
        level = judged.policy.level_for(urgency)
        out.append(
            Finding(
                key="alerts.sla_breached",
                subject=_(
                    "Alerts of urgency %(urgency)s (%(level)s)", urgency=urgency, level=level.words
                ),
                metric=_("%(clock)s clock breached", clock=names[clock]),
                value=got["breached"],
                period=period,
                figures={
                    "urgency": urgency,
                    "level": level.words,
                    "clock": names[clock],
                    "breached": got["breached"],
                    "total": sum(got.values()),
                    "met_pct": round(got["met"] / decided * 100, 1) if decided else None,
                },
                severity=got["breached"] * (3 - "ABC".index(urgency) if urgency in "ABC" else 1),
            )
        )
    per_asset = Counter(a.asset_id for a in judged.alerts if a.asset_id is not None)
    repeated = {k: n for k, n in per_asset.items() if n >= REPEATED_FROM}
    for a in sorted(assets_by_ids(sorted(repeated)), key=lambda a: (-repeated[a.id], a.asset_tag)):
        out.append(
            Finding(
                key="alerts.repeated",
                subject=f"{a.name} ({a.asset_tag})",
                metric=_("Alerts"),
                value=repeated[a.id],
                period=period,
                figures={"count": repeated[a.id], "tag": a.asset_tag, "name": a.name},
                severity=repeated[a.id],
            )
        )
    rows = response_rows(judged.alerts, judged.policy, judged.by_urgency, names)
    out.extend(response_findings(rows, period))
    grades, _phases = incident_words()

    def open_hours(i: Any) -> float:
        return round(((i.closed_at or ctx.as_of) - i.opened_at).total_seconds() / 3600, 1)

    def badness(i: Any) -> tuple[int, float]:
        rank = GRADE_ORDER.index(i.grade) if i.grade in GRADE_ORDER else 0
        return rank, open_hours(i)

    worst = sorted(judged.incidents, key=badness, reverse=True)[:WORST_INCIDENTS]
    out.append(
        Finding(
            key="incidents.summary",
            subject="",
            metric=_("Incidents"),
            value=len(judged.incidents),
            period=period,
            figures={
                "count": len(judged.incidents),
                "worst": _("; ").join(
                    _(
                        "%(number)s %(title)s (%(grade)s, %(hours)s hours)",
                        number=i.number,
                        title=i.title,
                        grade=str(grades.get(i.grade, i.grade)),
                        hours=open_hours(i),
                    )
                    for i in worst
                ),
            },
        )
    )
    return out


KIND = Kind(_l("Alerts and incidents"), alerts_sla, monthly=True, findings=findings)
