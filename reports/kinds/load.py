"""Report kind 服务器与数据库负载, over 500 lines: the kind's sheets and its findings share one
computation. Core servers' and databases' load with a growth forecast.

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
- a forecast of when the daily peaks reach the limit (CPU 80 %, memory 90 %, storage 85 % like
  the ``storage.full`` rule, traffic 80 % of ``specs.bandwidth_mbps`` when registered) by
  ``reports.forecast``: least squares over the daily peaks of the 13 weeks ending on the
  series' last day with data in the period (not the period's end: the month's and the
  quarter's pack give the same answer), with a 90 % band (earliest, likeliest, latest day and
  the growth per 30 days with its band), "not enough data" below 28 days of peaks, "not
  reached" for a flat or falling line or beyond two years; daily peaks from the weekly load
  rows' hourly maxima, else the hourly values. A server or database without values gets a row;
- per family, a forecast sheet charting the eight most urgent resources' daily peaks, limit
  and projection (``load_forecast``); the weekly trend charts draw the limit too.

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
from monitors.queries import hourly_values, load_daily_peaks, load_families, load_weeks
from opskit.xlsx.writer import DATE, INT, NUMBER, Col, Sheet
from reports import forecast as fc
from reports.findings import Finding
from reports.kinds.base import Context, Kind, labeller, period_words, phrase
from reports.kinds.load_forecast import (
    LIMIT_LINE,
    LIMITS,
    SOON_DAYS,
    Drawn,
    forecast_sheet,
    forecast_state,
    limit_of,
    method_note,
    midnight,
    most_urgent,
    soon,
)

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
DATABASE_ROLES = {"database", "db", "数据库"}
TREND_TOP = 8  # assets per trend chart
SUSTAINED_WEEKS = 4  # load.cpu_sustained: the last weeks' 95th percentiles


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


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (the smallest value with at least ``share`` of values ≤ it)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


@dataclass
class Series:
    asset: Any
    family: str
    hours: dict[datetime, list[float]] = field(default_factory=dict)  # hour → [avg, max]


def _series(assets: list[Any], start: datetime, end: datetime) -> Iterator[Series]:
    by_id = {a.id: a for a in assets}
    family_of = {m: f for f, (ms, *_r) in FAMILIES.items() for m in ms}
    metrics = sorted(family_of)
    current: Series | None = None
    for asset_id, metric, _inst, hour, avg, peak in hourly_values(
        sorted(by_id), metrics, start, end
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
    """One asset's one family over the period: weekly (peak, p95), overall, its last day."""

    asset: Any
    family: str
    weeks: dict[date, tuple[float, float]]
    peak: float
    p95: float
    last: date | None = None  # the last local day with a value
    rows: bool = True  # from the weekly load rows (else from the hourly values)


def _weekly_stats(assets: list[Any], ctx: Context) -> dict[tuple[int, str], Stats]:
    """Weekly statistics from the weekly load rows (``monitors.queries.load_weeks``).

    A row is a Monday week cut at month ends; a report week (cut at the period's edges, which
    are month starts) is one or two of them. A row holds its hourly values (for the 95th
    percentiles; slot ``s``: the hour ``s`` hours after the row's first midnight, which gives
    the series' last day). Periods not starting on the 1st of a month (none so far) are left to
    the hourly rollups."""
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

    latest: tuple[date, array[float]] | None = None  # the series' last piece and its slots

    def close() -> None:
        if stats is None:
            return
        if latest is not None:
            piece, slots = latest
            s = next(i for i in range(len(slots) - 1, -1, -1) if slots[i] != float("-inf"))
            midnight = datetime.combine(piece, datetime.min.time(), period.tz).timestamp()
            stats.last = datetime.fromtimestamp(midnight + s * 3600, period.tz).date()
        scale = FAMILIES[stats.family][2]
        for week, slots in values.items():
            n = counts[week]
            ordered = sorted(slots)  # the empty slots (-inf) first, then the n values
            p95 = ordered[len(ordered) - n + (95 * n + 99) // 100 - 1] * scale  # ceil(0.95 n)
            stats.weeks[week] = (stats.weeks[week][0], p95)
            if p95 > stats.p95:
                stats.p95 = p95
        out[(stats.asset.id, stats.family)] = stats

    for asset_id, family, piece, n, peak, *_sums, hours in load_weeks(
        sorted(by_id), first, period.last_day
    ):
        if (asset_id, family) != key:
            close()
            key = (asset_id, family)
            stats = Stats(by_id[asset_id], family, {}, float("-inf"), 0.0)
            values, counts = {}, {}
        assert stats is not None
        latest = (piece, hours)
        scale = FAMILIES[family][2]
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
    out: dict[tuple[int, str], Stats] = {}
    for s in _series(assets, period.start, period.end):
        scale = FAMILIES[s.family][2]
        values: dict[date, list[float]] = {}
        peaks: dict[date, float] = {}
        for hour, (avg, peak) in sorted(s.hours.items()):
            local = hour.astimezone(period.tz).replace(tzinfo=None)
            day = local.date()
            week = max(day - timedelta(days=day.weekday()), period.first_day)
            values.setdefault(week, []).append(avg * scale)
            peaks[week] = max(peaks.get(week, peak * scale), peak * scale)
        out[(s.asset.id, s.family)] = Stats(
            s.asset,
            s.family,
            {w: (peaks[w], percentile(vs, 0.95)) for w, vs in values.items()},
            max(peaks.values()),
            max(percentile(vs, 0.95) for vs in values.values()),
            max(s.hours).astimezone(period.tz).date(),
            rows=False,
        )
    return out


def _peak_series(
    stats: dict[tuple[int, str], Stats], ctx: Context, keys: set[tuple[int, str]] | None = None
) -> Iterator[tuple[tuple[int, str], list[tuple[date, float]]]]:
    """((asset, family), its daily peaks) one series at a time (memory stays one series'),
    scaled to the unit, over the forecast windows (``reports.forecast.WINDOW_DAYS`` days up to
    each series' last day): from the weekly load rows where the series' statistics came from
    them, else from the hourly values; only the series in ``keys`` when given."""
    chosen = {k: s for k, s in stats.items() if keys is None or k in keys}
    lasts = [s.last for s in chosen.values() if s.last is not None]
    if not lasts:
        return
    first = min(lasts) - timedelta(days=fc.WINDOW_DAYS - 1)
    last = max(lasts)
    from_rows = sorted({k[0] for k, s in chosen.items() if s.rows})
    key: tuple[int, str] | None = None
    points: list[tuple[date, float]] = []
    for asset_id, family, days in load_daily_peaks(from_rows, first, last):
        if (asset_id, family) != key:
            if key in chosen and chosen[key].rows:
                yield key, points
            key, points = (asset_id, family), []
        scale = FAMILIES[family][2]
        points.extend(days if scale == 1.0 else [(day, peak * scale) for day, peak in days])
    if key in chosen and chosen[key].rows:
        yield key, points
    others = {k[0]: s.asset for k, s in chosen.items() if not s.rows}
    if others:
        tz = ctx.period.tz
        start = datetime.combine(first, datetime.min.time(), tz)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tz)
        for series in _series(list(others.values()), start, end):
            key = (series.asset.id, series.family)
            if key not in chosen or chosen[key].rows:
                continue
            scale = FAMILIES[series.family][2]
            peaks: dict[date, float] = {}
            for hour, (_avg, peak) in series.hours.items():
                day = hour.astimezone(tz).date()
                peaks[day] = max(peaks.get(day, peak * scale), peak * scale)
            yield key, sorted(peaks.items())


def _forecasts(
    stats: dict[tuple[int, str], Stats], ctx: Context
) -> dict[tuple[int, str], fc.Forecast]:
    """(asset, family) → the forecast of each series in ``stats``."""
    out = {
        key: fc.forecast(points, limit_of(stats[key].asset, key[1]))
        for key, points in _peak_series(stats, ctx)
    }
    for key, s in stats.items():
        if key not in out:
            out[key] = fc.forecast([], limit_of(s.asset, s.family))
    return out


def _computed(
    ctx: Context,
) -> tuple[list[Any], dict[tuple[int, str], Stats], dict[tuple[int, str], fc.Forecast]]:
    """The core servers and databases, their series' statistics and forecasts, once a pack."""

    def compute() -> tuple[
        list[Any], dict[tuple[int, str], Stats], dict[tuple[int, str], fc.Forecast]
    ]:
        assets = core_assets()
        stats = _stats(assets, ctx)
        return assets, stats, _forecasts(stats, ctx)

    return ctx.once("load", compute)


def forecasts(ctx: Context) -> dict[tuple[int, str], fc.Forecast]:
    """(asset id, family) → the forecast of each core server's and database's load series
    with values in the period: what the load sheet shows, for other readers (e.g. the
    recommendations)."""
    return _computed(ctx)[2]


def _stats(assets: list[Any], ctx: Context) -> dict[tuple[int, str], Stats]:
    stats = _weekly_stats(assets, ctx)
    missing = [a for a in assets if any((a.id, f) not in stats for f in FAMILIES)]
    if missing:
        stats |= {k: v for k, v in _python_stats(missing, ctx).items() if k not in stats}
    return stats


def load(ctx: Context) -> list[Sheet]:
    names = family_names()
    assets, stats, results = _computed(ctx)
    summary: list[dict[str, Any]] = []
    #: family → week → asset tag → p95 (for the trend charts)
    trends: dict[str, dict[date, dict[str, float]]] = {f: {} for f in FAMILIES}
    importance = labeller(importance_labels())
    ordered = [stats[(a.id, f)] for a in assets for f in FAMILIES if (a.id, f) in stats]
    drawn: dict[str, list[Drawn]] = {}  # family → the resources with a line to draw

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
        for week, (_peak, p95) in s.weeks.items():
            trends[s.family].setdefault(week, {})[s.asset.asset_tag] = p95
        key = (s.asset.id, s.family)
        f = results[key]
        growth = f.growth()
        if f.state in (fc.ABOVE, fc.NOT_REACHED, fc.CROSSES):
            drawn.setdefault(s.family, []).append(Drawn(s.asset.asset_tag, s.asset.name, f, key))
        state = forecast_state(f)
        summary.append(
            {
                "tag": s.asset.asset_tag,
                "name": s.asset.name,
                "importance": importance(s.asset.importance),
                "metric": names[s.family],
                "unit": unit,
                "peak": s.peak,
                "p95": s.p95,
                "limit": f.limit,
                "likeliest": midnight(f.likeliest),
                "earliest": midnight(f.earliest),
                "latest": midnight(f.latest),
                "state": state,
                "growth": growth[0] if growth else None,
                "growth_low": growth[1] if growth else None,
                "growth_high": growth[2] if growth else None,
                "fitted": f.intercept,
                "first": midnight(f.first),
                "last": midnight(f.last),
                "days": f.days,
                "hot": soon(f),
            }
        )
    # a core server or database without any load values in the period is listed too: the
    # customer sees that it is not monitored rather than wondering why it is missing
    seen = {s.asset.id for s in ordered}
    for a in assets:
        if a.id not in seen:
            summary.append(  # the other columns stay empty
                {
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
    value_cols = ("peak", "p95", "limit", "growth", "growth_low", "growth_high", "fitted")
    band = round(fc.LEVEL * 100)
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
                Col("limit", _("Limit"), NUMBER),
                Col("likeliest", _("Likeliest day to reach the limit"), DATE),
                Col("earliest", _("Earliest (%(level)s %% band)", level=band), DATE),
                Col("latest", _("Latest (%(level)s %% band)", level=band), DATE),
                Col("state", _("Forecast")),
                Col("growth", _("Growth per 30 days"), NUMBER),
                Col("growth_low", _("Growth per 30 days, low (%(level)s %%)", level=band), NUMBER),
                Col(
                    "growth_high", _("Growth per 30 days, high (%(level)s %%)", level=band), NUMBER
                ),
                Col("fitted", _("Trend value on the last day"), NUMBER),
                Col("first", _("Forecast window from"), DATE),
                Col("last", _("Forecast window to (last day with data)"), DATE),
                Col("days", _("Daily peaks used"), INT),
            ],
            [_as_unit(r, value_cols) for r in summary],
            highlight=lambda r: r["hot"],
            note=method_note(),
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
        limit = LIMITS.get(family)  # traffic's differ by asset: no line
        limit_cols = [Col("limit", _("Limit"), NUMBER)] if limit is not None else []
        sheets.append(
            Sheet(
                _("Trend %(metric)s", metric=short_names()[family]),
                [Col("week", _("Week from"), DATE)]
                + limit_cols
                + [Col(f"a{i}", tag, NUMBER) for i, tag in enumerate(top)],
                [
                    {"week": week, "limit": limit}
                    | {f"a{i}": by_week[week].get(tag) for i, tag in enumerate(top)}
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
                        "values": [c.key for c in limit_cols] + [f"a{i}" for i in range(len(top))],
                        "title": names[family],
                        "lines": {"limit": LIMIT_LINE},
                    }
                ],
            )
        )
    # the charts' daily peaks read again for the few drawn (the forecasts kept no points)
    charted = {family: most_urgent(items) for family, items in drawn.items()}
    wanted = {d.key for items in charted.values() for d in items}
    points = dict(_peak_series(stats, ctx, wanted)) if wanted else {}
    for family in FAMILIES:
        if family in charted:
            title = _("Forecast %(metric)s", metric=short_names()[family])
            unit = FAMILIES[family][3]
            sheets.append(forecast_sheet(title, names[family], unit, charted[family], points))
    return sheets


def _as_unit(row: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """Round for display to two decimals (percent points or Mbit/s)."""
    return row | {k: round(row[k], 2) if row.get(k) is not None else None for k in keys}


def findings(ctx: Context) -> list[Finding]:
    """From the same forecasts as the load summary, per core server's or database's resource:
    ``load.forecast_limit`` (crossing its limit: resource, limit, unit, likeliest, earliest,
    latest, days_left from the "as of" day, growth per 30 days), ``load.above_limit``
    (resource, limit, unit), ``load.insufficient_data`` (resource, days, needed); per asset
    without values ``load.no_data``; per server's CPU with at least SUSTAINED_WEEKS weeks
    ``load.cpu_sustained`` (sustained_p95: the lowest weekly 95th percentile of the last
    SUSTAINED_WEEKS weeks, highest_p95, weeks); and ``load.summary`` (assets, crossing,
    crossing_soon within soon_days, above, insufficient, no_data)."""
    assets, stats, results = _computed(ctx)
    names = family_names()
    today = ctx.as_of_day
    period = period_words(ctx)
    # said per series: translated once (a pack has hundreds of series)
    daily_peaks = phrase(_("daily peaks %(first)s to %(last)s"))
    crossing = {
        f: _("%(metric)s, likeliest day to reach the limit", metric=n) for f, n in names.items()
    }
    trend = {f: _("%(metric)s, trend value on the last day", metric=n) for f, n in names.items()}
    peaks = {f: _("%(metric)s, daily peaks", metric=n) for f, n in names.items()}
    out = []
    for (asset_id, family), f in sorted(results.items()):
        s = stats[(asset_id, family)]
        unit = FAMILIES[family][3]
        window = daily_peaks(first=f.first, last=f.last) if f.first and f.last else period
        common = {
            "resource": names[family],
            "tag": s.asset.asset_tag,
            "name": s.asset.name,
            "limit": f.limit,
            "unit": unit,
            "peak": round(s.peak, 1),
        }
        subject = f"{s.asset.name} ({s.asset.asset_tag})"
        if f.state == fc.CROSSES and f.likeliest is not None:
            growth = f.growth()
            days_left = (f.likeliest - today).days
            out.append(
                Finding(
                    key="load.forecast_limit",
                    subject=subject,
                    metric=crossing[family],
                    value=f.likeliest.isoformat(),
                    period=window,
                    figures=common
                    | {
                        "likeliest": f.likeliest.isoformat(),
                        "earliest": f.earliest.isoformat() if f.earliest else "",
                        "latest": f.latest.isoformat() if f.latest else "",
                        "days_left": days_left,
                        "growth": round(growth[0], 2) if growth else None,
                    },
                    severity=max(1000 - days_left, 1),
                )
            )
        elif f.state == fc.ABOVE:
            out.append(
                Finding(
                    key="load.above_limit",
                    subject=subject,
                    metric=trend[family],
                    value=round(f.intercept, 1) if f.intercept is not None else None,
                    period=window,
                    figures=common | {"value_unit": unit},
                    severity=1000,
                )
            )
        elif f.state == fc.INSUFFICIENT:
            out.append(
                Finding(
                    key="load.insufficient_data",
                    subject=subject,
                    metric=peaks[family],
                    value=f.days,
                    period=period,
                    figures=common | {"days": f.days, "needed": fc.MIN_POINTS},
                )
            )
    lowest_p95 = phrase(_("CPU, lowest weekly 95th percentile of the last %(n)s weeks"))
    weeks_from = phrase(_("weeks from %(first)s to %(last)s"))
    for (_asset_id, family), s in sorted(stats.items(), key=lambda kv: kv[0]):
        weeks = sorted(s.weeks.items())[-SUSTAINED_WEEKS:]
        if family != "cpu" or len(weeks) < SUSTAINED_WEEKS:
            continue
        sustained = min(p95 for _w, (_peak, p95) in weeks)
        out.append(
            Finding(
                key="load.cpu_sustained",
                subject=f"{s.asset.name} ({s.asset.asset_tag})",
                metric=lowest_p95(n=len(weeks)),
                value=round(sustained, 1),
                period=weeks_from(first=weeks[0][0], last=weeks[-1][0]),
                figures={
                    "tag": s.asset.asset_tag,
                    "name": s.asset.name,
                    "weeks": len(weeks),
                    "sustained_p95": round(sustained, 1),
                    "highest_p95": round(max(p95 for _w, (_peak, p95) in weeks), 1),
                    "value_unit": "%",
                },
                severity=int(sustained),
            )
        )
    seen = {asset_id for asset_id, _f in stats}
    for a in assets:
        if a.id not in seen:
            out.append(
                Finding(
                    key="load.no_data",
                    subject=f"{a.name} ({a.asset_tag})",
                    metric=_("Load values"),
                    value=0,
                    period=period_words(ctx),
                    figures={"tag": a.asset_tag, "name": a.name},
                )
            )
    counted = [x.key for x in out]
    out.append(
        Finding(
            key="load.summary",
            subject="",
            metric=_("Core servers and databases"),
            value=len(assets),
            period=period_words(ctx),
            figures={
                "assets": len(assets),
                "crossing_soon": sum(
                    1 for f in results.values() if f.state == fc.CROSSES and soon(f)
                ),
                "soon_days": SOON_DAYS,
                "crossing": counted.count("load.forecast_limit"),
                "above": counted.count("load.above_limit"),
                "insufficient": counted.count("load.insufficient_data"),
                "no_data": counted.count("load.no_data"),
            },
        )
    )
    return out


KIND = Kind(_l("Server and database load"), load, findings=findings)
