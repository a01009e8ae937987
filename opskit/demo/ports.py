"""The access switches' interfaces, for the capacity model's free ports (``opskit plan``).

The demo's access switches (one per IT rack but the network rack) are not simulated devices, so
their interface states are written here as a poll of the last minutes would have stored them:
the ports a server or storage is linked to (``registry._links``: XGigabitEthernet1/0/1 on) and
the uplink (1/0/49) up with traffic, the other 10G ports up to 1/0/12 down without traffic
(free), except 1/0/12, unplugged three days ago: down, but with traffic in the window (not
free: the server behind it may come back).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from assets.models import Link
from monitors.models import Reading
from opskit import db
from opskit.demo.registry import Built

CORE = ("ZJ-SW-001", "ZJ-SW-002", "ZJ-SW-010")
PORTS = 12  # XGigabitEthernet1/0/1 .. 1/0/12
UPLINK = "XGigabitEthernet1/0/49"
UNPLUGGED = PORTS  # the port with traffic three days ago


def seed(built: Built, now: datetime) -> int:
    """Write the access switches' interface readings; returns how many."""
    switches = {
        a.id: a
        for tag, a in built.assets.items()
        if a.kind == "switch" and a.rack is not None and tag not in CORE
    }
    linked = {
        (asset_id, port)
        for a_id, a_port, b_id, b_port in db.session().execute(
            select(Link.a_asset_id, Link.a_port, Link.b_asset_id, Link.b_port)
        )
        for asset_id, port in ((a_id, a_port), (b_id, b_port))
        if asset_id in switches
    }
    at = (now - timedelta(minutes=5)).replace(microsecond=0)
    rows: list[dict[str, Any]] = []

    def reading(asset_id: int, metric: str, port: str, when: datetime, **value: Any) -> None:
        rows.append({"asset_id": asset_id, "metric": metric, "instance": port, "at": when, **value})

    for asset_id in sorted(switches):
        names = [f"XGigabitEthernet1/0/{n}" for n in range(1, PORTS + 1)] + [UPLINK]
        for port in names:
            up = (asset_id, port) in linked or port == UPLINK
            reading(asset_id, "if.oper_status", port, at, text="up" if up else "down")
            reading(asset_id, "if.admin_status", port, at, text="up")
            reading(asset_id, "if.speed_bps", port, at, value=10_000_000_000.0)
            if up:
                reading(asset_id, "if.in_bps", port, at, value=120_000_000.0)
                reading(asset_id, "if.out_bps", port, at, value=80_000_000.0)
        unplugged = f"XGigabitEthernet1/0/{UNPLUGGED}"
        if (asset_id, unplugged) not in linked:
            reading(asset_id, "if.in_bps", unplugged, at - timedelta(days=3), value=2_000_000.0)
    db.session().execute(insert(Reading), rows)
    return len(rows)
