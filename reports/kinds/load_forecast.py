"""The load kind's forecasts in words and charts (``reports.forecast`` computes them).

- :func:`limit_of`: a resource's limit;
- :func:`forecast_state`: a forecast's state as the load summary says it;
- :func:`method_note`: the method in one line above the load summary;
- :func:`forecast_sheet`: per family, the most urgent resources' daily peaks, limit and
  projected line in columns, with one line chart per resource (three series: the peaks, the
  limit, the projection to the likeliest crossing or the horizon) on a date axis.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _

from opskit.xlsx.writer import DATE, NUMBER, Col, Sheet
from reports import forecast as fc

#: the limits forecasts are judged against (storage like the ``storage.full`` rule); traffic's
#: is this share of the bandwidth registered in the asset's ``specs.bandwidth_mbps``
LIMITS = {"cpu": 80.0, "memory": 90.0, "storage": 85.0}
TRAFFIC_LIMIT_SHARE = 0.80
SOON_DAYS = 180
CHARTED = 8  # resources per forecast sheet
CHART_ROWS = 20  # rows between the tops of two charts on a forecast sheet
LIMIT_LINE = {"color": "#C00000", "dash_type": "dash", "width": 1.5}
PROJECTION_LINE = {"color": "#7F7F7F", "dash_type": "round_dot", "width": 2}


def limit_of(asset: Any, family: str) -> float | None:
    """The family's limit for ``asset``: traffic's from the registered bandwidth, if any."""
    if family != "traffic":
        return LIMITS.get(family)
    bandwidth = (asset.specs or {}).get("bandwidth_mbps")
    try:
        return float(bandwidth) * TRAFFIC_LIMIT_SHARE if bandwidth else None
    except (TypeError, ValueError):
        return None


def forecast_state(f: fc.Forecast) -> str:
    """A forecast's state in words."""
    if f.state == fc.INSUFFICIENT:
        return _(
            "not enough data (%(days)s days of daily peaks, %(needed)s needed)",
            days=f.days,
            needed=fc.MIN_POINTS,
        )
    if f.state == fc.NO_LIMIT:
        return _("no limit")
    if f.state == fc.ABOVE:
        return _("already above the limit")
    if f.state == fc.NOT_REACHED:
        if f.slope is not None and f.slope <= 0:
            return _("not reached (flat or falling)")
        return _("not reached within %(years)s years", years=fc.HORIZON_DAYS // 365)
    assert f.likeliest is not None and f.last is not None
    if soon(f):
        return _("crosses within 180 days")
    return _("crosses later")


def soon(f: fc.Forecast) -> bool:
    """Above the limit, or reaching it (likeliest) within SOON_DAYS of the last day."""
    if f.state == fc.ABOVE:
        return True
    return (
        f.state == fc.CROSSES
        and f.likeliest is not None
        and f.last is not None
        and f.likeliest <= f.last + timedelta(days=SOON_DAYS)
    )


def midnight(day: date | None) -> datetime | None:
    """A day as the writer's date cell (a naive datetime takes its quick path)."""
    return None if day is None else datetime.combine(day, time())


def method_note() -> str:
    """The forecast's method in one line, above the load summary."""
    return _(
        "Forecast: least squares over the daily peaks of the %(window)s days up to the last "
        "day with data (not the period's end), at least %(min)s days of peaks; %(level)s %% "
        "prediction band for the earliest and latest day (blank: not within %(years)s years). "
        "Highlighted: above the limit or likeliest crossing within 180 days.",
        window=fc.WINDOW_DAYS,
        min=fc.MIN_POINTS,
        level=round(fc.LEVEL * 100),
        years=fc.HORIZON_DAYS // 365,
    )


@dataclass(frozen=True)
class Drawn:
    """One resource to chart: who, its forecast and its (asset id, family)."""

    tag: str
    name: str
    forecast: fc.Forecast
    key: tuple[int, str]

    def end(self) -> date:
        """Where its projection stops: the likeliest crossing, the horizon (not reached) or
        the last day (already above)."""
        f = self.forecast
        assert f.last is not None
        if f.state == fc.CROSSES and f.likeliest is not None:
            return f.likeliest
        if f.state == fc.NOT_REACHED:
            return f.last + timedelta(days=fc.HORIZON_DAYS)
        return f.last

    def urgency(self) -> tuple[Any, ...]:
        f = self.forecast
        if f.state == fc.ABOVE:
            return (0, date.min, 0.0, self.tag)
        if f.state == fc.CROSSES and f.likeliest is not None:
            return (1, f.likeliest, 0.0, self.tag)
        return (2, date.max, (f.limit or 0.0) - (f.intercept or 0.0), self.tag)


def most_urgent(items: list[Drawn]) -> list[Drawn]:
    """The CHARTED most urgent: above the limit, then the soonest likeliest crossing, then
    the least headroom."""
    return sorted(items, key=Drawn.urgency)[:CHARTED]


def forecast_sheet(
    title: str,
    metric: str,
    unit: str,
    items: list[Drawn],
    points: dict[tuple[int, str], list[tuple[date, float]]],
) -> Sheet:
    """The CHARTED most urgent of ``items`` (resources whose forecast has a line: above, not
    reached, crossing): per day of their windows (and weekly along the projections) each one's
    daily peak (from ``points``: key → daily peaks), limit and projected value, and a chart per
    resource."""
    chosen = most_urgent(items)
    days: set[date] = set()
    for item in chosen:
        f = item.forecast
        assert f.last is not None
        days.update(d for d, _v in points.get(item.key, []) if f.first and d >= f.first)
        step, end = f.last, item.end()
        while step < end:  # the projection weekly
            days.add(step)
            step += timedelta(days=7)
        days.add(end)
    columns = [Col("day", _("Day"), DATE)]
    charts = []
    for i, item in enumerate(chosen):
        columns += [
            Col(f"p{i}", _("%(tag)s daily peak", tag=item.tag), NUMBER),
            Col(f"l{i}", _("%(tag)s limit", tag=item.tag), NUMBER),
            Col(f"f{i}", _("%(tag)s projection", tag=item.tag), NUMBER),
        ]
        charts.append(
            {
                "type": "line",
                "category": "day",
                "values": [f"p{i}", f"l{i}", f"f{i}"],
                "title": f"{item.tag} {item.name} · {metric} ({unit})",
                "row": i * CHART_ROWS,
                "x_axis": {"date_axis": True, "num_format": "yyyy-mm-dd"},
                "lines": {f"l{i}": LIMIT_LINE, f"f{i}": PROJECTION_LINE},
            }
        )
    series = [(dict(points.get(item.key, [])), item.forecast, item.end()) for item in chosen]
    rows = []
    for day in sorted(days):
        row: dict[str, Any] = {"day": midnight(day)}
        for i, (peaks, f, end) in enumerate(series):
            peak = peaks.get(day)
            row[f"p{i}"] = round(peak, 2) if peak is not None else None
            row[f"l{i}"] = f.limit
            inside = f.first is not None and f.first <= day <= end
            value = f.value(day) if inside else None
            row[f"f{i}"] = round(value, 2) if value is not None else None
        rows.append(row)
    return Sheet(
        title,
        columns,
        rows,
        note=_(
            "%(metric)s: daily peaks, the limit and the projected trend line to the likeliest "
            "day it reaches the limit (or %(years)s years), the %(n)s most urgent assets.",
            metric=metric,
            years=fc.HORIZON_DAYS // 365,
            n=len(chosen),
        ),
        charts=charts,
    )
