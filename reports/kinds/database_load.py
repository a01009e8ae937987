"""Report kind 核心数据库工作压力 (database workload): every database server a ``postgresql`` or
``mysql`` monitor watches, on an asset not retired.

What, from the hourly values (``monitors.queries.hourly_values``: hourly rollups, raw readings
where a site has no rollups yet) of the server-wide series (instance ""), over the period up to
its "as of" instant:

- per week (Monday weeks in site time, cut at the period's edges) and over the period, for
  connections used (% of the server's maximum), transactions (PostgreSQL) or statements
  (MySQL/MariaDB) per second, slow statements per minute (MySQL/MariaDB), sessions waiting for
  locks, deadlocks per hour, the longest running statement, replication lag (replicas only) and
  temporary file writes (PostgreSQL): the peak (the highest reading) and the 95th percentile
  (nearest rank) of the hourly means; for the cache hit rate, where low is what matters, the
  lowest hourly mean and the 5th percentile of the hourly means instead;
- per database (``db.size_bytes``, instance = database): its size in the first and the last
  hour with a value, the growth and the growth per 30 days;
- per server, the volume holding its data: the asset's ``specs.db_volume`` when registered,
  else the monitored volume (``host.storage.used_percent``) whose mount point is the longest
  prefix of the engine's default data directory (``/var/lib/postgresql``, ``/var/lib/mysql``);
  its daily peaks forecast against the load kind's storage limit (85 %) by ``reports.forecast``
  (the method of the load sheet: least squares over the 13 weeks up to the last day with data,
  90 % band). A volume that cannot be found says why in its row.

- per server, its top statements of the period by total time (``reports.kinds.
  database_statements``: from pg_stat_statements / performance_schema, or why there are none).

A server without values in the period gets a row saying so. Findings (for the
recommendations, ``R-DB-*``): ``db.connections``, ``db.cache_hit``, ``db.replication_lag``,
``db.slow_queries``, ``db.deadlocks``, ``db.volume_forecast``, ``db.no_data``,
``db.top_statement``.

Rollups are kept per asset, not per monitor: two database monitors on one asset (a PostgreSQL
and a MariaDB on one host) share its series; the engine column lists both.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from monitors.queries import metric_label, monitor_kind_label
from opskit.xlsx.cover import Figure
from opskit.xlsx.writer import DATE, DATETIME, INT, NUMBER, PERCENT, Col, Sheet
from reports import forecast as fc
from reports.findings import Finding
from reports.kinds.base import Context, Kind, as_of_note, listed, period_words
from reports.kinds.database_data import GIB, METRICS, MIB, Server, Stats, computed
from reports.kinds.database_statements import statement_sheet, top_statement_findings
from reports.kinds.load_forecast import LIMITS, forecast_state, method_note, midnight

TREND_WEEKS = 4  # slow statements: the last weeks' mean against the first weeks'
#: the findings of a level: key → (metric, the names of its worst and percentile figures, the
#: figure that is the finding's value)
LEVELS = {
    "db.connections": ("db.connections.used_percent", ("peak", "p95"), "peak"),
    "db.cache_hit": ("db.cache_hit_percent", ("lowest", "p5"), "p5"),
    "db.replication_lag": ("db.replication.lag_s", ("peak", "p95"), "p95"),
}
SLOW_FLOOR = 0.01  # per minute: the first weeks' mean a rise is measured from, at least


def _engines(server: Server) -> str:
    return listed([monitor_kind_label(k) for k in server.engines])


def _unit(metric: str) -> str:
    unit = METRICS[metric][2]
    return {"/s": _("/s"), "/min": _("/min"), "/h": _("/h"), "s": _("s")}.get(unit, unit)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def database_load(ctx: Context) -> list[Sheet]:
    servers = computed(ctx)
    no_data = _("no monitoring data in the period")
    summary: list[dict[str, Any]] = []
    for s in servers:
        base = {"tag": s.asset.asset_tag, "name": s.asset.name, "engine": _engines(s)}
        if not s.stats:
            summary.append(base | {"state": no_data})
            continue
        for metric in METRICS:
            st = s.stats.get(metric)
            if st is None:
                continue
            summary.append(
                base
                | {
                    "metric": metric_label(metric),
                    "unit": _unit(metric),
                    "which": _("lowest hourly mean, 5th percentile")
                    if METRICS[metric][0]
                    else _("peak, 95th percentile"),
                    "worst": _r(st.worst),
                    "pct": _r(st.pct),
                    "hours": st.hours,
                    "state": "",
                }
            )

    def weekly() -> Iterator[dict[str, Any]]:
        for s in servers:
            for metric in METRICS:
                st = s.stats.get(metric)
                for week, (worst, pct, _mean) in sorted(st.weeks.items()) if st else ():
                    yield {
                        "tag": s.asset.asset_tag,
                        "name": s.asset.name,
                        "metric": metric_label(metric),
                        "week": week,
                        "worst": _r(worst),
                        "pct": _r(pct),
                        "unit": _unit(metric),
                    }

    sizes: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    for s in servers:
        base = {"tag": s.asset.asset_tag, "name": s.asset.name}
        if not s.sizes:
            sizes.append(base | {"database": "", "state": no_data})
        for z in sorted(s.sizes, key=lambda z: z.database):
            sizes.append(
                base
                | {
                    "database": z.database,
                    "from": z.first.astimezone(ctx.period.tz).replace(tzinfo=None),
                    "start": _r(z.start / MIB),
                    "to": z.last.astimezone(ctx.period.tz).replace(tzinfo=None),
                    "end": _r(z.end / MIB),
                    "growth": _r((z.end - z.start) / MIB),
                    "growth_pct": (z.end - z.start) / z.start if z.start else None,
                    "per_30": _r(z.per_30_days / MIB) if z.per_30_days is not None else None,
                    "state": "",
                }
            )
        v = s.volume
        assert v is not None
        f = v.forecast
        growth = f.growth() if f else None
        volumes.append(
            base
            | {
                "volume": v.name or "",
                "how": v.how,
                "size": _r(v.size / GIB) if v.size is not None else None,
                "used": _r(v.used),
                "limit": LIMITS["storage"] if v.name else None,
                "likeliest": midnight(f.likeliest) if f else None,
                "earliest": midnight(f.earliest) if f else None,
                "latest": midnight(f.latest) if f else None,
                "state": forecast_state(f) if f else "",
                "growth": _r(growth[0]) if growth else None,
                "db_growth": _r(sum(z.per_30_days or 0 for z in s.sizes) / MIB)
                if s.sizes
                else None,
                "days": f.days if f else None,
                "hot": bool(f and f.state in (fc.ABOVE, fc.CROSSES) and _days_left(f, ctx) <= 92),
            }
        )

    ctx.headline[_("Core database servers")] = len(servers)
    lowest = [
        s.stats["db.cache_hit_percent"].pct for s in servers if "db.cache_hit_percent" in s.stats
    ]
    ctx.headline[_("Lowest database cache hit rate (5th percentile)")] = Figure(
        min(lowest) / 100 if lowest else None, PERCENT
    )
    note_tail = as_of_note(ctx)
    return [
        Sheet(
            _("Database workload"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("engine", _("Engine")),
                Col("metric", _("Metric")),
                Col("unit", _("Unit")),
                Col("which", _("Figures")),
                Col("worst", _("Peak (cache hit: lowest hourly mean)"), NUMBER),
                Col("pct", _("95th percentile (cache hit: 5th)"), NUMBER),
                Col("hours", _("Hours with values"), INT),
                Col("state", _("Remark")),
            ],
            summary,
            note=_(
                "Per database server over %(period)s: the peak and the 95th percentile (nearest "
                "rank) of the hourly means; for the cache hit rate, where low matters, the "
                "lowest hourly mean and the 5th percentile.",
                period=period_words(ctx),
            )
            + note_tail,
        ),
        Sheet(
            _("Database weekly load"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("metric", _("Metric")),
                Col("week", _("Week from"), DATE),
                Col("worst", _("Peak (cache hit: lowest hourly mean)"), NUMBER),
                Col("pct", _("95th percentile (cache hit: 5th)"), NUMBER),
                Col("unit", _("Unit")),
            ],
            weekly(),
        ),
        Sheet(
            _("Database sizes"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("database", _("Database")),
                Col("from", _("First value at"), DATETIME),
                Col("start", _("Size at the start (MiB)"), NUMBER),
                Col("to", _("Last value at"), DATETIME),
                Col("end", _("Size at the end (MiB)"), NUMBER),
                Col("growth", _("Growth (MiB)"), NUMBER),
                Col("growth_pct", _("Growth"), PERCENT),
                Col("per_30", _("Growth per 30 days (MiB)"), NUMBER),
                Col("state", _("Remark")),
            ],
            sizes,
            note=_(
                "Each database's size in the first and the last hour with a value in the period."
            )
            + note_tail,
        ),
        Sheet(
            _("Database volume forecast"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("volume", _("Volume")),
                Col("how", _("How the volume was found")),
                Col("size", _("Volume size (GiB)"), NUMBER),
                Col("used", _("Used (%)"), NUMBER),
                Col("limit", _("Limit"), NUMBER),
                Col("likeliest", _("Likeliest day to reach the limit"), DATE),
                Col(
                    "earliest", _("Earliest (%(level)s %% band)", level=round(fc.LEVEL * 100)), DATE
                ),
                Col("latest", _("Latest (%(level)s %% band)", level=round(fc.LEVEL * 100)), DATE),
                Col("state", _("Forecast")),
                Col("growth", _("Growth per 30 days (points)"), NUMBER),
                Col("db_growth", _("Databases' growth per 30 days (MiB)"), NUMBER),
                Col("days", _("Daily peaks used"), INT),
            ],
            volumes,
            highlight=lambda r: bool(r["hot"]),
            note=method_note(),
        ),
        statement_sheet(servers, ctx),
    ]


def _days_left(f: fc.Forecast, ctx: Context) -> int:
    if f.state == fc.ABOVE or f.likeliest is None:
        return 0
    return max((f.likeliest - ctx.as_of_day).days, 0)


def _weekly_means(st: Stats) -> list[float]:
    return [mean for _w, (_worst, _pct, mean) in sorted(st.weeks.items())]


def _found(
    s: Server, period: str, key: str, metric: str, value: float, severity: int, **figures: Any
) -> list[Finding]:
    common = {"tag": s.asset.asset_tag, "name": s.asset.name, "engine": _engines(s)}
    return [
        Finding(key, s.subject, metric_label(metric), value, period, common | figures, severity)
    ]


def findings(ctx: Context) -> list[Finding]:
    """Per server with values: ``db.connections`` (peak, p95 in %), ``db.cache_hit`` (p5,
    lowest in %), ``db.replication_lag`` (peak, p95 in s), ``db.slow_queries`` (with at least
    2 × TREND_WEEKS weeks: first and last, the mean per minute of the first and the last
    TREND_WEEKS weeks' means, rise per minute, rise_pct from at least SLOW_FLOOR, weeks),
    ``db.deadlocks`` (hours with deadlocks, peak per hour, about: the deadlocks counted),
    ``db.volume_forecast`` (above or crossing the limit: volume, limit, used, likeliest,
    earliest, latest, days_left from the "as of" day, growth per 30 days in points); per
    server without values ``db.no_data``. Every finding has tag, name and engine. And the
    summary sentence ``db.summary`` (``_summary``)."""
    out: list[Finding] = []
    period = period_words(ctx)
    for s in computed(ctx):
        common = {"tag": s.asset.asset_tag, "name": s.asset.name, "engine": _engines(s)}
        if not s.stats:
            out.append(Finding("db.no_data", s.subject, _("Database metrics"), 0, period, common))
            continue

        for key, (metric, names, shown) in LEVELS.items():
            st = s.stats.get(metric)
            if st:
                figures = {names[0]: round(st.worst, 1), names[1]: round(st.pct, 1)}
                low = METRICS[metric][0]
                severity = int(100 - figures[shown] if low else figures[shown])
                out += _found(
                    s,
                    period,
                    key,
                    metric,
                    figures[shown],
                    severity,
                    **figures,
                    value_unit=_unit(metric),
                )
        st = s.stats.get("db.slow_queries_per_min")
        if st and len(st.weeks) >= 2 * TREND_WEEKS:
            means = _weekly_means(st)
            first = sum(means[:TREND_WEEKS]) / TREND_WEEKS
            last = sum(means[-TREND_WEEKS:]) / TREND_WEEKS
            out += _found(
                s,
                period,
                "db.slow_queries",
                "db.slow_queries_per_min",
                round(last, 2),
                int(last),
                first=round(first, 2),
                last=round(last, 2),
                rise=round(last - first, 2),
                rise_pct=round((last - first) / max(first, SLOW_FLOOR) * 100, 1),
                weeks=TREND_WEEKS,
                value_unit=_("/min"),
            )
        st = s.stats.get("db.deadlocks_per_h")
        if st:
            out += _found(
                s,
                period,
                "db.deadlocks",
                "db.deadlocks_per_h",
                st.nonzero,
                st.nonzero,
                hours=st.nonzero,
                peak=round(st.worst, 2),
                about=round(st.total),
            )
        v = s.volume
        f = v.forecast if v else None
        if v and f and f.state in (fc.ABOVE, fc.CROSSES) and f.last is not None:
            growth = f.growth()
            days_left = _days_left(f, ctx)
            out.append(
                Finding(
                    "db.volume_forecast",
                    s.subject,
                    _("volume %(volume)s, likeliest day to reach the limit", volume=v.name),
                    (f.likeliest or f.last).isoformat(),
                    _("daily peaks %(first)s to %(last)s", first=f.first, last=f.last),
                    common
                    | {
                        "volume": v.name,
                        "limit": f.limit,
                        "used": _r(v.used, 1),
                        "likeliest": (f.likeliest or f.last).isoformat(),
                        "earliest": f.earliest.isoformat() if f.earliest else "",
                        "latest": f.latest.isoformat() if f.latest else "",
                        "days_left": days_left,
                        "growth": round(growth[0], 2) if growth else None,
                    },
                    max(1000 - days_left, 1),
                )
            )
    out += top_statement_findings(computed(ctx), period)
    out.append(_summary(computed(ctx), period))
    return out


def _summary(servers: list[Server], period: str) -> Finding:
    """``db.summary``: the 综述 sheet's sentence (servers, no_data, databases, size_gib and
    growth_gib: the databases' sizes at the end and their growth in the period, GiB)."""
    sizes = [z for s in servers for z in s.sizes]
    figures = {
        "servers": len(servers),
        "no_data": sum(1 for s in servers if not s.stats),
        "databases": len(sizes),
        "size_gib": round(sum(z.end for z in sizes) / GIB, 2),
        "growth_gib": round(sum(z.end - z.start for z in sizes) / GIB, 2),
    }
    text = _(
        "%(servers)s database servers were monitored (%(no_data)s without database metrics); "
        "their %(databases)s databases hold %(size)s GiB, %(growth)s GiB more than at the "
        "start of the period.",
        servers=figures["servers"],
        no_data=figures["no_data"],
        databases=figures["databases"],
        size=f"{figures['size_gib']:.2f}",
        growth=f"{figures['growth_gib']:.2f}",
    )
    return Finding(
        "db.summary", "", _("Core database servers"), len(servers), period, figures | {"text": text}
    )


KIND = Kind(_l("Database workload"), database_load, findings=findings)
