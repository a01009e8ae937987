"""Report kind 服务器与数据库负载: core servers' and databases' load with a growth forecast.

Which assets: servers not retired whose importance is core, plus servers whose ``specs.role``
says database (``database``, ``db``, ``数据库``) whatever their importance.

What: for CPU, memory, storage (the fullest volume each hour) and traffic (all interfaces, in +
out, Mbit/s), from the hourly values: the weekly load rows the poller keeps as it rolls up
(``monitors.queries.load_weeks``, one row per asset, family and week cut at month ends, holding
that week's hourly values and their sums); for series without them (history from before they
were kept), the hourly values of ``monitors.queries.hourly_values`` (hourly rollups, raw
readings when a site has no rollups yet):

- weekly peak (highest reading) and 95th percentile of the hourly averages (nearest rank), weeks
  starting Monday in site time and cut at the period's edges; the summary shows the period's
  peak and the highest weekly 95th percentile;
- a least-squares line through the hourly averages of the period (x in days since the period
  started), the fitted value at the period's end, the growth per 30 days, and the date the line
  crosses the limit (CPU 80 %, memory 90 %, storage 85 % like the ``storage.full`` rule, traffic
  80 % of ``specs.bandwidth_mbps`` when registered). "already above" when the fitted value at
  the period's end is past the limit; none when the line does not rise. A server or database
without any values in the period gets one row saying so.

Everything is streamed one series at a time: memory does not grow with the length of history.
At 200 servers and a quarter, the weekly rows are 12,800 rows instead of 2.2 million rollups.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets.queries import assets_for_report, importance_labels
from monitors.queries import hourly_values, load_families, load_weeks
from opskit.xlsx.writer import DATE, NUMBER, Col, Sheet
from reports.kinds.base import Context, Kind, labeller

#: family → (metrics, how instances/metrics combine per hour, scale to the unit, unit); the
#: metrics and how they combine are the monitors' (``monitors.queries.load_families``)
_UNITS = {
    "cpu": (1.0, "%"),
    "memory": (1.0, "%"),
    "storage": (1.0, "%"),
    "traffic": (1e-6, "Mbit/s"),
}
FAMILIES: dict[str, tuple[tuple[str, ...], str, float, str]] = {
    family: (metrics, how, *_UNITS[family]) for family, (metrics, how) in load_families().items()
}
LIMITS = {"cpu": 80.0, "memory": 90.0, "storage": 85.0}
TRAFFIC_LIMIT_SHARE = 0.80
DATABASE_ROLES = {"database", "db", "数据库"}
TREND_TOP = 8  # assets per trend chart
SOON_DAYS = 180
FORECAST_YEARS = 100  # a crossing further away is "later", without a date


def family_names() -> dict[str, str]:
    return {
        "cpu": _("CPU"),
        "memory": _("Memory"),
        "storage": _("Storage (fullest volume)"),
        "traffic": _("Traffic (in + out)"),
    }


def short_names() -> dict[str, str]:
    return {
        "cpu": _("CPU"),
        "memory": _("Memory"),
        "storage": _("Storage"),
        "traffic": _("Traffic"),
    }


def core_assets() -> list[Any]:
    return [
        a
        for a in assets_for_report(["server"])
        if a.importance == "core"
        or str((a.specs or {}).get("role", "")).strip().lower() in DATABASE_ROLES
    ]


def crossing_day(start: datetime, intercept: float, slope: float, limit: float) -> date | None:
    """The day the line ``intercept + slope * days since start`` reaches ``limit`` (a rising
    line below it), or None when that is more than FORECAST_YEARS away: a nearly flat line
    (a slope of rounding noise) would put it past the calendar's end."""
    days = round((limit - intercept) / slope, 6)
    if days > FORECAST_YEARS * 366:
        return None
    return (start + timedelta(days=days)).date()


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (the smallest value with at least ``share`` of values ≤ it)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


@dataclass
class Fit:
    n: int = 0
    sx: float = 0.0
    sy: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0

    def add(self, x: float, y: float) -> None:
        self.n += 1
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.sxy += x * y

    def line(self) -> tuple[float, float] | None:
        """(intercept, slope per day), or None with fewer than two distinct x."""
        d = self.n * self.sxx - self.sx * self.sx
        if self.n < 2 or abs(d) < 1e-12:
            return None
        slope = (self.n * self.sxy - self.sx * self.sy) / d
        return (self.sy - slope * self.sx) / self.n, slope


@dataclass
class Series:
    asset: Any
    family: str
    hours: dict[datetime, list[float]] = field(default_factory=dict)  # hour → [avg, max]


def _series(assets: list[Any], ctx: Context) -> Iterator[Series]:
    by_id = {a.id: a for a in assets}
    family_of = {m: f for f, (ms, *_r) in FAMILIES.items() for m in ms}
    metrics = sorted(family_of)
    current: Series | None = None
    for asset_id, metric, _inst, hour, avg, peak in hourly_values(
        sorted(by_id), metrics, ctx.period.start, ctx.period.end
    ):
        family = family_of[metric]
        if current is None or current.asset.id != asset_id or current.family != family:
            if current is not None:
                yield current
            current = Series(by_id[asset_id], family)
        how = FAMILIES[family][1]
        slot = current.hours.get(hour)
        if slot is None:
            current.hours[hour] = [avg, peak]
        elif how == "sum":
            slot[0] += avg
            slot[1] += peak
        else:
            slot[0] = max(slot[0], avg)
            slot[1] = max(slot[1], peak)
    if current is not None:
        yield current


@dataclass
class Stats:
    """One asset's one family over the period: weekly (peak, p95), overall, the fit sums."""

    asset: Any
    family: str
    weeks: dict[date, tuple[float, float]]
    peak: float
    p95: float
    fit: Fit


def _week_origin(ctx: Context) -> datetime:
    first = ctx.period.first_day
    monday = first - timedelta(days=first.weekday())
    return datetime.combine(monday, datetime.min.time(), ctx.period.tz)


def _weekly_stats(assets: list[Any], ctx: Context) -> dict[tuple[int, str], Stats]:
    """Weekly statistics from the weekly load rows (``monitors.queries.load_weeks``).

    A row is a Monday week cut at month ends; a report week (cut at the period's edges, which
    are month starts) is one or two of them. A row holds its hourly values (for the 95th
    percentiles) and their sums over slot ``s`` (hours since the row's first midnight): with
    x = d + s/24 days since the period began (d: the row's first day's offset),
    Σx = n·d + Σs/24, Σx² = n·d² + 2d·Σs/24 + Σs²/576 and Σxy = d·Σy + Σs·y/24, the same line
    as through every hourly value. Periods not starting on the 1st of a month (none so far)
    are left to the hourly rollups."""
    period = ctx.period
    if period.first_day.day != 1 or period.next_day.day != 1:
        return {}
    by_id = {a.id: a for a in assets}
    first = period.first_day
    out: dict[tuple[int, str], Stats] = {}
    stats: Stats | None = None
    values: dict[date, array[float]] = {}  # report week → its rows' hourly slots (-inf: no value)
    counts: dict[date, int] = {}  # week → hours with a value
    key: tuple[int, str] | None = None

    def close() -> None:
        if stats is None:
            return
        scale = FAMILIES[stats.family][2]
        for week, slots in values.items():
            n = counts[week]
            ordered = sorted(slots)  # the empty slots (-inf) first, then the n values
            p95 = ordered[len(ordered) - n + (95 * n + 99) // 100 - 1] * scale  # ceil(0.95 n)
            stats.weeks[week] = (stats.weeks[week][0], p95)
            if p95 > stats.p95:
                stats.p95 = p95
        out[(stats.asset.id, stats.family)] = stats

    for asset_id, family, piece, n, peak, sy, ss, sss, ssy, hours in load_weeks(
        sorted(by_id), first, period.last_day
    ):
        if (asset_id, family) != key:
            close()
            key = (asset_id, family)
            stats = Stats(by_id[asset_id], family, {}, float("-inf"), 0.0, Fit())
            values, counts = {}, {}
        assert stats is not None
        scale = FAMILIES[family][2]
        d = (piece - first).days
        fit = stats.fit
        fit.n += n
        fit.sx += n * d + ss / 24
        fit.sxx += n * d * d + d * ss / 12 + sss / 576
        fit.sy += sy * scale
        fit.sxy += (d * sy + ssy / 24) * scale
        week = max(piece - timedelta(days=piece.weekday()), first)
        peak *= scale
        if peak > stats.peak:
            stats.peak = peak
        old = stats.weeks.get(week)
        if old is None or peak > old[0]:
            stats.weeks[week] = (peak, 0.0)
        slots = values.get(week)
        if slots is None:
            values[week], counts[week] = array("d", hours), n
        else:
            slots.extend(hours)
            counts[week] += n
    close()
    return out


def _python_stats(assets: list[Any], ctx: Context) -> dict[tuple[int, str], Stats]:
    """The same statistics from ``hourly_values`` (hourly rollups, else raw readings), for
    series without weekly load rows."""
    period = ctx.period
    start_local = datetime.combine(period.first_day, datetime.min.time())
    out: dict[tuple[int, str], Stats] = {}
    for s in _series(assets, ctx):
        scale = FAMILIES[s.family][2]
        fit = Fit()
        values: dict[date, list[float]] = {}
        peaks: dict[date, float] = {}
        for hour, (avg, peak) in sorted(s.hours.items()):
            local = hour.astimezone(period.tz).replace(tzinfo=None)
            day = local.date()
            week = max(day - timedelta(days=day.weekday()), period.first_day)
            values.setdefault(week, []).append(avg * scale)
            peaks[week] = max(peaks.get(week, peak * scale), peak * scale)
            fit.add((local - start_local).total_seconds() / 86400, avg * scale)
        out[(s.asset.id, s.family)] = Stats(
            s.asset,
            s.family,
            {w: (peaks[w], percentile(vs, 0.95)) for w, vs in values.items()},
            max(peaks.values()),
            max(percentile(vs, 0.95) for vs in values.values()),
            fit,
        )
    return out


def load(ctx: Context) -> list[Sheet]:
    period = ctx.period
    names = family_names()
    assets = core_assets()
    start_local = datetime.combine(period.first_day, datetime.min.time())
    period_days = (period.next_day - period.first_day).days
    summary: list[dict[str, Any]] = []
    #: family → week → asset tag → p95 (for the trend charts)
    trends: dict[str, dict[date, dict[str, float]]] = {f: {} for f in FAMILIES}
    importance = labeller(importance_labels())
    stats = _weekly_stats(assets, ctx)
    missing = [a for a in assets if any((a.id, f) not in stats for f in FAMILIES)]
    if missing:
        stats |= {k: v for k, v in _python_stats(missing, ctx).items() if k not in stats}
    ordered = [stats[(a.id, f)] for a in assets for f in FAMILIES if (a.id, f) in stats]

    def weekly() -> Iterator[dict[str, Any]]:  # generated while the sheet is written
        for s in ordered:
            for week, (peak, p95) in sorted(s.weeks.items()):
                yield {
                    "tag": s.asset.asset_tag,
                    "name": s.asset.name,
                    "metric": names[s.family],
                    "week": week,
                    "peak": round(peak, 2),
                    "p95": round(p95, 2),
                    "unit": FAMILIES[s.family][3],
                }

    for s in ordered:
        unit = FAMILIES[s.family][3]
        fit = s.fit
        for week, (_peak, p95) in s.weeks.items():
            trends[s.family].setdefault(week, {})[s.asset.asset_tag] = p95
        limit = LIMITS.get(s.family)
        if s.family == "traffic":
            bandwidth = (s.asset.specs or {}).get("bandwidth_mbps")
            try:
                limit = float(bandwidth) * TRAFFIC_LIMIT_SHARE if bandwidth else None
            except (TypeError, ValueError):
                limit = None
        line = fit.line()
        fitted = slope = crossing = None
        state = _("no trend (too few values)")
        if line is not None:
            intercept, slope = line
            fitted = intercept + slope * period_days
            if limit is None:
                state = _("no limit")
            elif fitted >= limit:
                state = _("already above the limit")
            elif slope * period_days <= 1e-9 * max(1.0, abs(limit)):  # flat: rounding noise
                state = _("not rising")
            else:
                crossing = crossing_day(start_local, intercept, slope, limit)
                soon = crossing is not None and crossing <= period.last_day + timedelta(
                    days=SOON_DAYS
                )
                state = _("crosses within 180 days") if soon else _("crosses later")
        summary.append(
            {
                "tag": s.asset.asset_tag,
                "name": s.asset.name,
                "importance": importance(s.asset.importance),
                "metric": names[s.family],
                "unit": unit,
                "peak": s.peak,
                "p95": s.p95,
                "fitted": fitted,
                "growth": slope * 30 if slope is not None else None,
                "limit": limit,
                "crossing": crossing,
                "state": state,
                "hot": state in (_("already above the limit"), _("crosses within 180 days")),
            }
        )
    # a core server or database without any load values in the period is listed too: the
    # customer sees that it is not monitored rather than wondering why it is missing
    seen = {s.asset.id for s in ordered}
    for a in assets:
        if a.id not in seen:
            summary.append(
                dict.fromkeys(("unit", "peak", "p95", "fitted", "growth", "limit", "crossing"))
                | {
                    "tag": a.asset_tag,
                    "name": a.name,
                    "importance": importance(a.importance),
                    "metric": "",
                    "state": _("no monitoring data in the period"),
                    "hot": False,
                }
            )
    ctx.headline[_("Core servers and databases")] = len(assets)
    ctx.headline[_("Load limits crossed or crossing within 180 days")] = sum(
        1 for r in summary if r["hot"]
    )
    value_cols = ("peak", "p95", "fitted", "growth", "limit")
    sheets = [
        Sheet(
            _("Load summary"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("importance", _("Importance")),
                Col("metric", _("Metric")),
                Col("unit", _("Unit")),
                Col("peak", _("Peak"), NUMBER),
                Col("p95", _("Highest weekly 95th percentile"), NUMBER),
                Col("fitted", _("Trend value at period end"), NUMBER),
                Col("growth", _("Growth per 30 days"), NUMBER),
                Col("limit", _("Limit"), NUMBER),
                Col("crossing", _("Forecast to cross the limit"), DATE),
                Col("state", _("Forecast")),
            ],
            [_as_unit(r, value_cols) for r in summary],
            highlight=lambda r: r["hot"],
            note=_(
                "Trend: least squares over the hourly averages of %(period)s; highlighted: "
                "above the limit or crossing it within 180 days.",
                period=period.text,
            ),
        ),
        Sheet(
            _("Weekly load"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("metric", _("Metric")),
                Col("week", _("Week from"), DATE),
                Col("peak", _("Peak"), NUMBER),
                Col("p95", _("95th percentile"), NUMBER),
                Col("unit", _("Unit")),
            ],
            weekly(),
        ),
    ]
    for family, by_week in trends.items():
        if not by_week:
            continue
        totals: dict[str, float] = {}
        for values in by_week.values():
            for tag, v in values.items():
                totals[tag] = max(totals.get(tag, v), v)
        top = sorted(totals, key=lambda t: (-totals[t], t))[:TREND_TOP]
        sheets.append(
            Sheet(
                _("Trend %(metric)s", metric=short_names()[family]),
                [Col("week", _("Week from"), DATE)]
                + [Col(f"a{i}", tag, NUMBER) for i, tag in enumerate(top)],
                [
                    {"week": week} | {f"a{i}": by_week[week].get(tag) for i, tag in enumerate(top)}
                    for week in sorted(by_week)
                ],
                note=_(
                    "Weekly 95th percentile of %(metric)s, the %(n)s highest assets.",
                    metric=names[family],
                    n=len(top),
                ),
                charts=[
                    {
                        "type": "line",
                        "category": "week",
                        "values": [f"a{i}" for i in range(len(top))],
                        "title": names[family],
                    }
                ],
            )
        )
    return sheets


def _as_unit(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Round for display to two decimals (percent points or Mbit/s)."""
    return row | {k: round(row[k], 2) if row[k] is not None else None for k in keys}


KIND = Kind(_l("Server and database load"), load)
