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
statements, a few deadlocks in the peak hours; ``ZJ-SRV-004`` stays inside every limit. Their
top statements per hour (``db_statement_hour``) are seeded too: on ``ZJ-SRV-003`` the nightly
report's statement takes most of the statement time.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from monitors import services as monitor_services
from monitors.models import Monitor, Reading, StatementHour
from monitors.statements import ALL
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
    seed_statements(built, monitors, times[0], now)
    return len(rows)


#: the statements of each demo server: (database, text, calls and ms per call by local hour)
BUSY_STATEMENTS = (
    ("erp", "SELECT * FROM orders WHERE customer_id = $1 AND status = $2", 40000, 5000, 0.8),
    ("erp", "UPDATE stock SET qty = qty - $1 WHERE item_id = $2", 8000, 600, 1.5),
    (
        "erp",
        "INSERT INTO order_lines (order_id, item_id, qty, price) VALUES ($1, $2, $3, $4)",
        12000,
        900,
        0.4,
    ),
    (
        "report",
        "SELECT day, sum(amount) FROM daily_sales WHERE day >= $1 GROUP BY day",
        300,
        20,
        35.0,
    ),
)
#: the busy server's nightly report (1-4 h): four runs an hour, ten minutes each
BATCH = (
    "report",
    "SELECT r.region, sum(l.qty * l.price) FROM order_lines l JOIN orders o ON o.id = l.order_id "
    "JOIN regions r ON r.id = o.region_id WHERE o.created >= $1 GROUP BY r.region",
)
QUIET_STATEMENTS = (
    ("hr", "SELECT * FROM staff WHERE dept_id = $1", 3000, 200, 2.0),
    ("hr", "UPDATE attendance SET leave_at = $1 WHERE staff_id = $2 AND day = $3", 1500, 50, 3.0),
    ("hr", "SELECT count(*) FROM attendance WHERE day = $1 AND leave_at IS NULL", 400, 10, 12.0),
)


def statements_in(d: Database, hour: datetime) -> list[tuple[str, str, int, float]]:
    """Database server ``d``'s statements in the hour from ``hour``: (database, text, calls, total
    ms); the demo's statements are the same every day."""
    local = hour.astimezone(clock.site_tz()).hour
    office = 8 <= local <= 18
    out = []
    for database, text, busy_calls, calm_calls, ms in (
        BUSY_STATEMENTS if d.busy else QUIET_STATEMENTS
    ):
        calls = busy_calls if office else calm_calls
        out.append((database, text, calls, calls * ms))
    if d.busy and 1 <= local <= 4:
        out.append((*BATCH, 4, 4 * 600_000.0))
    return out


def seed_statements(built: Built, monitors: dict[int, int], first: datetime, now: datetime) -> int:
    """Hourly top statements (``db_statement_hour``) of the demo's database servers from
    ``first`` to ``now``, as the poller would have stored them from pg_stat_statements: the
    busy server's nightly report takes most of its statement time (R-DB-08)."""
    rows: list[dict[str, Any]] = []
    start = first.replace(minute=0, second=0, microsecond=0)
    for d in DATABASES:
        asset_id = built.assets[d.tag].id
        monitor_id = monitors.get(asset_id)
        if monitor_id is None:
            continue
        hour = start
        while hour <= now:
            found = statements_in(d, hour)
            for database, text, calls, total in found:
                rows.append(
                    _statement_row(monitor_id, asset_id, hour, database, text, calls, total)
                )
            calls = sum(f[2] for f in found) + 60  # and the monitor's own reads
            total = sum(f[3] for f in found) + 30.0
            rows.append(_statement_row(monitor_id, asset_id, hour, "", "", calls, total))
            hour += timedelta(hours=1)
    sess = db.session()
    for at in range(0, len(rows), 5000):
        sess.execute(StatementHour.__table__.insert(), rows[at : at + 5000])
    return len(rows)


def _statement_row(
    monitor_id: int, asset_id: int, hour: datetime, database: str, text: str, calls: int, ms: float
) -> dict[str, Any]:
    return {
        "monitor_id": monitor_id,
        "asset_id": asset_id,
        "hour": hour,
        "database": database,
        "statement_id": str(zlib.crc32(text.encode())) if text else ALL,
        "text": text,
        "calls": calls,
        "total_ms": ms,
        "rows": calls,
    }
