"""The database workload kind's data (``reports.kinds.database_load``), gathered once a pack:
the database servers (assets not retired with a ``postgresql`` or ``mysql`` monitor), per
server its metrics' weekly and period statistics from the hourly values, its databases' sizes
and the volume holding its data with that volume's forecast. The method is described in the
kind's docstring.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _

from assets.queries import assets_for_report
from monitors.queries import (
    PeriodStatement,
    hourly_values,
    instances_of,
    monitors,
    top_in_period,
    withheld_reasons,
)
from reports import forecast as fc
from reports.kinds.base import Context, listed
from reports.kinds.load import percentile
from reports.kinds.load_forecast import LIMITS

ENGINES = ("postgresql", "mysql")
#: the server-wide metrics of the weekly sheet, in order: metric → (low is worse, scale, unit)
METRICS: dict[str, tuple[bool, float, str]] = {
    "db.connections.used_percent": (False, 1.0, "%"),
    "db.transactions_per_s": (False, 1.0, "/s"),
    "db.queries_per_s": (False, 1.0, "/s"),
    "db.cache_hit_percent": (True, 1.0, "%"),
    "db.slow_queries_per_min": (False, 1.0, "/min"),
    "db.locks.waiting": (False, 1.0, ""),
    "db.deadlocks_per_h": (False, 1.0, "/h"),
    "db.longest_query_s": (False, 1.0, "s"),
    "db.replication.lag_s": (False, 1.0, "s"),
    "db.temp_bytes_per_s": (False, 1e-6, "MB/s"),
}
SIZE = "db.size_bytes"
VOLUME_USED, VOLUME_SIZE = "host.storage.used_percent", "host.storage.size_bytes"
MIB, GIB = 1024**2, 1024**3
#: where each engine keeps its data unless told otherwise (Debian/Ubuntu, RHEL)
DATA_DIRS = {"postgresql": ("/var/lib/postgresql", "/var/lib/pgsql"), "mysql": ("/var/lib/mysql",)}
TOP_STATEMENTS = 10  # per server on the top statements sheet


@dataclass
class Stats:
    """One metric of one server over the period: per week (worst, percentile, mean of the
    hourly means) and over the period (worst, percentile), its hours, the hours with a mean
    above zero and the sum of the hourly means (a per-hour rate's count)."""

    metric: str
    weeks: dict[date, tuple[float, float, float]]
    worst: float
    pct: float
    hours: int
    nonzero: int
    total: float


@dataclass
class Size:
    database: str
    first: datetime
    start: float
    last: datetime
    end: float

    @property
    def per_30_days(self) -> float | None:
        days = (self.last - self.first).total_seconds() / 86400
        return (self.end - self.start) / days * 30 if days > 0 else None


@dataclass
class Volume:
    """The volume holding a server's data: its name and how it was found, or why not."""

    name: str | None
    how: str
    forecast: fc.Forecast | None = None
    used: float | None = None  # the last hour's mean
    size: float | None = None  # bytes, the last hour's mean


@dataclass
class Server:
    asset: Any
    engines: list[str]
    stats: dict[str, Stats] = field(default_factory=dict)
    sizes: list[Size] = field(default_factory=list)
    volume: Volume | None = None
    #: the period's top statements by total time, and every statement's sum (None: none stored)
    statements: list[PeriodStatement] = field(default_factory=list)
    statements_all: PeriodStatement | None = None
    #: (kind, reason) of its monitors whose last check could not read the statements
    statements_withheld: list[tuple[str, str]] = field(default_factory=list)

    @property
    def subject(self) -> str:
        return f"{self.asset.name} ({self.asset.asset_tag})"


def _servers() -> list[Server]:
    kinds: dict[int, list[str]] = {}
    for m in monitors():
        if m.kind in ENGINES and m.kind not in kinds.setdefault(m.asset_id, []):
            kinds[m.asset_id].append(m.kind)
    engines = [asset_id for asset_id, found in kinds.items() if found]
    return [Server(a, kinds[a.id]) for a in assets_for_report(ids=engines)]  # not retired, by tag


def _hours(
    ids: list[int],
    metrics: list[str],
    start: datetime,
    end: datetime,
    instances: list[str] | None = None,
) -> Iterator[tuple[tuple[int, str, str], list[tuple[datetime, float, float]]]]:
    """((asset, metric, instance), [(hour, mean, peak), ...]) one series at a time (of
    ``instances`` only, when given)."""
    key: tuple[int, str, str] | None = None
    hours: list[tuple[datetime, float, float]] = []
    series = hourly_values(ids, metrics, start, end, instances)
    for asset_id, metric, instance, hour, avg, peak in series:
        if (asset_id, metric, instance) != key:
            if key is not None:
                yield key, hours
            key, hours = (asset_id, metric, instance), []
        hours.append((hour, avg, peak))
    if key is not None:
        yield key, hours


def _stats(metric: str, hours: list[tuple[datetime, float, float]], ctx: Context) -> Stats:
    low, scale, _unit = METRICS[metric]
    means: dict[date, list[float]] = {}
    peaks: dict[date, float] = {}
    first = ctx.period.first_day
    for hour, avg, peak in hours:
        day = hour.astimezone(ctx.period.tz).date()
        week = max(day - timedelta(days=day.weekday()), first)
        means.setdefault(week, []).append(avg * scale)
        peaks[week] = max(peaks.get(week, peak * scale), peak * scale)
    every = [avg * scale for _h, avg, _p in hours]
    weeks = {
        week: (
            min(vs) if low else peaks[week],
            percentile(vs, 0.05 if low else 0.95),
            sum(vs) / len(vs),
        )
        for week, vs in means.items()
    }
    return Stats(
        metric,
        weeks,
        min(every) if low else max(peaks.values()),
        percentile(every, 0.05 if low else 0.95),
        len(every),
        sum(1 for v in every if v > 0),
        sum(every),
    )


def _volume(server: Server, ctx: Context, start: datetime, until: datetime) -> Volume:
    """The volume holding the server's data (see the module's docstring) and its forecast."""
    asset = server.asset
    window = start - timedelta(days=fc.WINDOW_DAYS)
    names = instances_of(asset.id, VOLUME_USED, window, until)
    registered = str((asset.specs or {}).get("db_volume") or "").strip()
    if registered:
        if registered not in names:
            return Volume(
                None,
                _(
                    "volume %(volume)s (registered) has no readings of its use",
                    volume=registered,
                ),
            )
        name, how = registered, _("registered (db_volume)")
    elif not names:
        return Volume(None, _("the host's volumes are not monitored (no storage readings)"))
    else:
        dirs = [d for e in server.engines for d in DATA_DIRS[e]]
        holding = [
            n for n in names if any(d == n or d.startswith(n.rstrip("/") + "/") for d in dirs)
        ]
        if not holding:
            return Volume(
                None,
                _(
                    "no monitored volume holds %(dirs)s; register the asset's db_volume",
                    dirs=listed(dirs),
                ),
            )
        name = max(holding, key=len)
        how = _("holds the default data directory %(dirs)s", dirs=listed(dirs))
    peaks: dict[date, float] = {}
    used = size = None
    for (_a, metric, _i), hours in _hours(
        [asset.id], [VOLUME_USED, VOLUME_SIZE], window, until, [name]
    ):
        if metric == VOLUME_SIZE:
            size = hours[-1][1]
            continue
        used = hours[-1][1]
        for hour, _avg, peak in hours:
            day = hour.astimezone(ctx.period.tz).date()
            peaks[day] = max(peaks.get(day, peak), peak)
    return Volume(
        name, how, fc.forecast(sorted(peaks.items()), LIMITS["storage"]), used=used, size=size
    )


def computed(ctx: Context) -> list[Server]:
    def compute() -> list[Server]:
        servers = _servers()
        start, until = ctx.period.start, min(ctx.period.end, ctx.as_of)
        by_id = {s.asset.id: s for s in servers}
        ids = sorted(by_id)
        # the server-wide series only (each database's own are not reported here)
        for (asset_id, metric, _i), hours in _hours(ids, list(METRICS), start, until, [""]):
            if hours:
                by_id[asset_id].stats[metric] = _stats(metric, hours, ctx)
        for (asset_id, _m, instance), hours in _hours(ids, [SIZE], start, until):
            if hours:
                first, last = hours[0], hours[-1]
                by_id[asset_id].sizes.append(Size(instance, first[0], first[1], last[0], last[1]))
        for asset_id, (top, every) in top_in_period(ids, start, until, TOP_STATEMENTS).items():
            by_id[asset_id].statements, by_id[asset_id].statements_all = top, every
        for asset_id, reasons in withheld_reasons(ids).items():
            by_id[asset_id].statements_withheld = reasons
        for s in servers:
            s.volume = _volume(s, ctx, start, until)
        return servers

    return ctx.once("database_load", compute)
