"""The daily capacity snapshot (容量历史): what the 容量规划 sheet's 80 % forecast is fitted to.

Once per site day (the site's calendar, ``SITE_TIMEZONE``; "now" from ``opskit.clock``) the
job "capacity snapshot" (registered by ``assets.init_app`` into ``opskit.jobs``, so the
notifier, ``opskit notify run`` or the demo's, runs it every 10 minutes) records from the
capacity model (``assets.capacity.load``, the model ``opskit plan`` answers on):

- per **room**: rack units, power, cooling and switch ports, each as ``used`` of ``total``
  (``RoomCapacity.figures`` says how each is counted);
- per **IP prefix**: its used addresses (registered plus held by reservations) of its usable
  size.

**Exactly once a day, the first snapshot stands.** The table's unique key is (day, scope,
resource). A run that finds any row of today does nothing, without loading the model (one
indexed query: the job is cheap the other 143 times a day); two runs at once (two notifiers on
PostgreSQL) both insert with ``ON CONFLICT DO NOTHING``, so exactly one row per key survives.
A later run the same day does not overwrite: the day's figure is then always taken at the
same moment (the first turn after local midnight) rather than drifting to whenever the last
run of the day happened, and a forecast's points stay comparable day to day. A room added
during a day appears from the next day.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from assets import capacity, queries
from assets.snapshot_models import CapacitySnapshot
from opskit import clock, db

JOB = "capacity snapshot"


def site_day(now: datetime) -> date:
    """The site's calendar day at the instant ``now``."""
    return now.astimezone(clock.site_tz()).date()


def figures(model: capacity.Capacity) -> list[dict[str, Any]]:
    """The snapshot's rows (without day and time) from a capacity model."""
    rows: list[dict[str, Any]] = []
    for room in model.rooms.values():
        for resource, (used, total) in room.figures(model.racks).items():
            rows.append(
                {
                    "scope": f"room:{room.id}",
                    "room_id": room.id,
                    "prefix_id": None,
                    "resource": resource,
                    "used": round(used, 2),
                    "total": total,
                }
            )
    prefixes = queries.list_prefixes()
    usage = queries.prefix_utilisations(prefixes)
    for p in prefixes:
        rows.append(
            {
                "scope": f"prefix:{p.id}",
                "room_id": None,
                "prefix_id": p.id,
                "resource": "ip",
                "used": float(usage[p.id].used + model.held_addresses.get(p.id, 0)),
                "total": float(usage[p.id].size) or None,
            }
        )
    return rows


def write(day: date, rows: Iterable[dict[str, Any]], taken_at: datetime) -> int:
    """Insert ``rows`` as ``day``'s snapshot, skipping any (day, scope, resource) already
    there; returns how many were inserted. The caller commits."""
    values = [{**row, "day": day, "taken_at": taken_at} for row in rows]
    if not values:
        return 0
    sess = db.session()
    dialect = postgresql if sess.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(CapacitySnapshot)
        .values(values)
        .on_conflict_do_nothing(index_elements=["day", "scope", "resource"])
        .returning(CapacitySnapshot.id)  # the rows inserted (a rowcount is -1 on psycopg)
    )
    return len(sess.execute(statement).all())


def taken(day: date) -> bool:
    """Whether ``day`` has its snapshot."""
    found = db.session().scalar(
        select(CapacitySnapshot.id).where(CapacitySnapshot.day == day).limit(1)
    )
    return found is not None


def take(now: datetime | None = None) -> int:
    """Take the snapshot of the site day of ``now`` (default the clock's) unless it is taken;
    returns the rows written (0: already taken today)."""
    now = now or clock.now()
    day = site_day(now)
    if taken(day):
        return 0
    rows = figures(capacity.load(now=now))
    return db.write(lambda: write(day, rows, now))


def run_due() -> list[str]:
    """The periodic job: today's snapshot, once."""
    now = clock.now()
    written = take(now)
    return [f"{site_day(now).isoformat()}: {written} rows"] if written else []
