"""月度概况: the month-by-month sheet of a quarter's or a year's pack, from what the kinds
counted per month (``Context.count``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _

from opskit.xlsx.writer import INT, PERCENT, Col, Sheet
from reports.kinds.base import Context


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
