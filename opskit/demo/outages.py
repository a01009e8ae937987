"""The demo's state history, for the 可用性 (availability) report: each monitor of the seed up
since the history began (one state change, as the poller writes on its first answer; the lines'
pings and opskit's application checks too), a few outages of the simulated devices and one of a
line, and a maintenance window of a core switch with an outage inside it, which the report leaves
out and says so.

The state changes are written as the poller writes them (``StatusFlip`` rows, in a batch like
the readings); the window through the desk's own ``add_maintenance``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from monitors.models import Monitor, StatusFlip
from opskit import db
from opskit.alerts import services as alert_services
from opskit.clock import site_tz
from opskit.demo.registry import Built

#: (asset tag, days before the seed's now, site hour, minute, minutes down)
OUTAGES = (
    ("ZJ-SW-002", 5, 14, 5, 12),
    ("ZJ-UPS-B1", 9, 3, 40, 6),
    ("ZJ-SRV-003", 2, 22, 10, 25),
    ("ZJ-LINE-002", 4, 10, 20, 15),  # the line's far end stopped answering the ping
)
#: the maintenance window: asset tag, days before now, site hour, hours long, reason; the
#: outage inside it starts half an hour in and lasts 20 minutes
WINDOW = ("ZJ-SW-001", 3, 1, 2, "核心交换机固件升级（变更单 CR-2026-131）")


def _at(now: datetime, days: int, hour: int, minute: int = 0) -> datetime:
    day = (now - timedelta(days=days)).astimezone(site_tz())
    return day.replace(hour=hour, minute=minute, second=0, microsecond=0)


def seed(built: Built, now: datetime, days: int) -> int:
    """The monitors' state changes over ``days`` before ``now`` and the maintenance window;
    returns how many state changes were written."""
    start = now - timedelta(days=days)
    ids = {a.id: tag for tag, a in built.assets.items()}
    monitors = list(
        db.session().scalars(
            select(Monitor).where(Monitor.asset_id.in_(list(ids))).order_by(Monitor.id)
        )
    )
    first_of: dict[str, int] = {}
    rows = []
    for m in monitors:
        first_of.setdefault(ids[m.asset_id], m.id)
        rows.append({"monitor_id": m.id, "at": start, "old": "unknown", "new": "up", "reason": ""})
    tag, ago, hour, length, reason = WINDOW
    opens = _at(now, ago, hour)
    alert_services.add_maintenance(
        opens, opens + timedelta(hours=length), asset_id=built.assets[tag].id, reason=reason
    )
    down = [(tag, opens + timedelta(minutes=30), 20)]
    down += [(t, _at(now, d, h, m), n) for t, d, h, m, n in OUTAGES]
    for tag, at, minutes in down:
        monitor_id = first_of.get(tag)
        if monitor_id is None or at <= start:
            continue
        back = at + timedelta(minutes=minutes)
        rows.append(
            {"monitor_id": monitor_id, "at": at, "old": "up", "new": "down", "reason": "timeout"}
        )
        rows.append(
            {"monitor_id": monitor_id, "at": back, "old": "down", "new": "up", "reason": ""}
        )
    db.session().execute(StatusFlip.__table__.insert(), rows)
    return len(rows)
