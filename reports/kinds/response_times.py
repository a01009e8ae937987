"""响应时间统计 (response times) of the 告警与事件 kind's SLA part: per urgency A/B/C and per
clock (acknowledge, on site, resolve), the alerts of the period, how many had that time
recorded by the desk, the mean and 90th percentile of the minutes from first seen to it
(wall-clock; nearest rank), and the share within SLA (met / (met + breached), the SLA sheet's
judgement of the same alerts: silenced alerts and clocks still open are not judged). A clock
met for less than 90 % of an urgency's judged alerts is a finding (``sla.response_slow``)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import gettext as _

from opskit.alerts.queries import CLOCK_DONE
from opskit.sla import CLOCKS
from opskit.xlsx.writer import INT, NUMBER, PERCENT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import minutes

URGENCIES = ("A", "B", "C")
#: an urgency's clock met for less than this share of its judged alerts is slow
SLOW_BELOW = 0.9


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The ``q`` percentile of ``values`` by nearest rank (``None`` for none)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def response_rows(
    alerts: Sequence[Any],
    policy: Any,
    by_urgency: Mapping[tuple[str, str], Counter[str]],
    clock_names: Mapping[str, str],
) -> list[dict[str, Any]]:
    """One row per urgency and clock (see the module's docstring)."""
    taken: dict[tuple[str, str], list[float]] = {}
    for alert in alerts:
        for clock in CLOCKS:
            took = minutes(alert.first_seen, getattr(alert, CLOCK_DONE[clock]))
            if took is not None:
                taken.setdefault((alert.urgency, clock), []).append(took)
    count = Counter(a.urgency for a in alerts)
    rows = []
    for urgency in URGENCIES:
        for clock in CLOCKS:
            times = taken.get((urgency, clock), [])
            judged = by_urgency.get((urgency, clock), Counter())
            decided = judged["met"] + judged["breached"]
            p90 = nearest_rank(times, 0.9)
            rows.append(
                {
                    "urgency": urgency,
                    "level": policy.level_for(urgency).words,
                    "clock": clock_names[clock],
                    "alerts": count[urgency],
                    "recorded": len(times),
                    "mean": round(sum(times) / len(times), 1) if times else None,
                    "p90": None if p90 is None else round(p90, 1),
                    "met": judged["met"],
                    "breached": judged["breached"],
                    "within": judged["met"] / decided if decided else None,
                }
            )
    return rows


def response_sheet(rows: list[dict[str, Any]]) -> Sheet:
    return Sheet(
        _("Response times"),
        [
            Col("urgency", _("Urgency")),
            Col("level", _("Level")),
            Col("clock", _("Clock")),
            Col("alerts", _("Alerts"), INT),
            Col("recorded", _("Times recorded"), INT),
            Col("mean", _("Mean (min)"), NUMBER),
            Col("p90", _("90th percentile (min)"), NUMBER),
            Col("met", _("Met"), INT),
            Col("breached", _("Breached"), INT),
            Col("within", _("Within SLA"), PERCENT),
        ],
        rows,
        highlight=lambda row: row["breached"] > 0,
        note=_(
            "Per urgency: minutes from first seen to the time the desk recorded (acknowledged, "
            "on site, resolved), wall-clock; the 90th percentile by nearest rank. Within SLA: "
            "met / (met + breached), as in the SLA sheet (silenced alerts and clocks still "
            "open are not judged)."
        ),
    )


def response_findings(rows: list[dict[str, Any]], period: str) -> list[Finding]:
    """Per urgency and clock met for less than 90 % of its judged alerts,
    ``sla.response_slow`` (urgency, level, clock, within_pct, met, breached, recorded, mean,
    p90: minutes, empty when no time was recorded)."""
    out = []
    for row in rows:
        if row["within"] is None or row["within"] >= SLOW_BELOW:
            continue
        pct = round(row["within"] * 100, 1)
        out.append(
            Finding(
                key="sla.response_slow",
                subject=_(
                    "Alerts of urgency %(urgency)s (%(level)s)",
                    urgency=row["urgency"],
                    level=row["level"],
                ),
                metric=_("%(clock)s within SLA", clock=row["clock"]),
                value=pct,
                period=period,
                figures={
                    "urgency": row["urgency"],
                    "level": row["level"],
                    "clock": row["clock"],
                    "within_pct": pct,
                    "met": row["met"],
                    "breached": row["breached"],
                    "recorded": row["recorded"],
                    "mean": row["mean"],
                    "p90": row["p90"],
                },
                severity=int((SLOW_BELOW - row["within"]) * 100) + 1,
            )
        )
    return out
