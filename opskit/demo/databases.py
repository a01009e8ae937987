"""The demo's database servers: a ``postgresql`` monitor on each Linux database server
(``DATABASES``) and a history of its ``db.*`` readings, so the database workload report and
the asset pages have something to show.

The demo has no database server to poll (a laptop running ``opskit demo`` has none, and the
simulated devices answer SNMP only), so these monitors are added **disabled**: the poller
never checks them, the pages show them as "disabled" beside their history, and the demo is
not shown as broken by a check that can only fail. They point at the server's own demo
address (as its SNMP monitor does) with the default port; an engineer who enables one sees
the real reason it fails (connection refused).

The history is written like ``history.seed_readings`` writes the devices' (the ``reading``
table in batches, no monitor id): every 2 hours, every 30 minutes over the last two days, and
now. ``ZJ-SRV-003`` is the busy one: connections near the server's maximum in the morning
peak, a nightly batch that drops the buffer cache hit rate below 95 % and runs long
statements, a few deadlocks in the peak hours; ``ZJ-SRV-004`` stays inside every limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from monitors import services as monitor_services
from monitors.models import Monitor, Reading
from opskit import clock, db
from opskit.demo.devices import address, by_tag
from opskit.demo.history import _history_times
from opskit.demo.registry import Built

#: the demo's database monitors' name (the site's words: shown to viewers)
DB_MONITOR_NAME = "PostgreSQL（演示：仅历史数据）"
GIB = 1024**3


@dataclass(frozen=True)
class Database:
    tag: str  # the Linux database server's asset tag (a simulated device of ``devices``)
    busy: bool  # the busy one: its history makes the R-DB rules fire
    max_connections: int
    sizes: tuple[tuple[str, float, float], ...]  # (database, GiB at the start, GiB per day)


DATABASES: tuple[Database, ...] = (
    Database("ZJ-SRV-003", True, 200, (("erp", 180.0, 0.6), ("report", 42.0, 0.15))),
    Database("ZJ-SRV-004", False, 300, (("hr", 12.0, 0.02),)),
)


def seed_monitors(built: Built) -> int:
    """A disabled ``postgresql`` monitor per demo database server (see the module's docstring)."""
    for d in DATABASES:
        settings = {"host": address(by_tag(d.tag)), "port": 5432, "database": "postgres"}
        monitor, _created = monitor_services.add_monitor(
            built.assets[d.tag].id,
            "postgresql",
            {**settings, "user": "opskit_monitor"},
            interval_s=60,
            name=DB_MONITOR_NAME,
        )
        monitor.enabled = False
    return len(DATABASES)


def _wobble(day: int, hour: int) -> float:
    """A repeatable 0..1 variation by day and hour (the demo's history is the same each seed)."""
    return ((day * 7 + hour * 3) % 11) / 10


def values_at(d: Database, at: datetime, first: datetime) -> dict[tuple[str, str], float]:
    """The readings of database server ``d`` at ``at`` (``first``: the history's start):
    (metric, instance) → value. The shape follows the site's local hours."""
    local = at.astimezone(clock.site_tz())
    hour, day = local.hour, (at - first).days
    w = _wobble(day, hour)
    peak = 9 <= hour <= 11  # the morning's business peak
    office = 8 <= hour <= 18
    batch = 1 <= hour <= 4  # the nightly reporting batch
    if d.busy:
        conn = 86.0 + 6 * w if peak else (55.0 + 15 * w if office else 18.0 + 8 * w)
        tps = 900.0 + 200 * w if office else (350.0 + 50 * w if batch else 120.0 + 30 * w)
        hit = 91.0 + 2.5 * w if batch else 99.0 + 0.6 * w
        longest = 40.0 + 30 * w if batch else 1.5 + 3 * w
        locks = 2.0 + round(3 * w) if peak else 0.0
        deadlocks = 1.0 + round(2 * w) if peak and day % 2 == 0 else 0.0
        temp = 4e5 + 4e5 * w if batch else 2e4
    else:
        conn = 30.0 + 10 * w if office else 8.0 + 4 * w
        tps = 150.0 + 40 * w if office else 20.0 + 10 * w
        hit = 99.4 + 0.5 * w
        longest = 0.5 + w
        locks = deadlocks = 0.0
        temp = 0.0
    days = (at - first).total_seconds() / 86400
    out = {
        ("db.connections.used_percent", ""): round(conn, 2),
        ("db.connections.used", ""): float(round(conn * d.max_connections / 100)),
        ("db.transactions_per_s", ""): round(tps, 2),
        ("db.queries_per_s", ""): round(tps * 6.5, 2),
        ("db.cache_hit_percent", ""): round(hit, 2),
        ("db.longest_query_s", ""): round(longest, 2),
        ("db.locks.waiting", ""): locks,
        ("db.deadlocks_per_h", ""): deadlocks,
        ("db.temp_bytes_per_s", ""): round(temp, 1),
    }
    for name, start, per_day in d.sizes:
        out[("db.size_bytes", name)] = float(round((start + per_day * days) * GIB))
    return out


def seed_readings(built: Built, now: datetime, days: int) -> int:
    """The database servers' ``db.*`` history over ``days`` up to ``now``; returns how many."""
    times = _history_times(now, days)
    if not times:
        return 0
    monitors = {
        m.asset_id: m.id
        for m in db.session().scalars(select(Monitor).where(Monitor.name == DB_MONITOR_NAME))
    }
    rows: list[dict[str, Any]] = []
    for d in DATABASES:
        asset_id = built.assets[d.tag].id
        for at in times:
            for (metric, instance), value in values_at(d, at, times[0]).items():
                rows.append(
                    {
                        "asset_id": asset_id,
                        "monitor_id": monitors.get(asset_id),
                        "metric": metric,
                        "instance": instance,
                        "at": at,
                        "value": value,
                        "text": None,
                    }
                )
    sess = db.session()
    for start in range(0, len(rows), 5000):
        sess.execute(Reading.__table__.insert(), rows[start : start + 5000])
    return len(rows)
