"""The daily capacity snapshot (``assets/capacity_history.py``) on SQLite and PostgreSQL.

The seeded room 快照机房 (site 快照站), worked out by hand:

- rack K1: 42U, feed A 2,000 W, feed B 1,500 W (one feed must carry it: 1,500 W of capacity);
  a 2U server at U1 of 300 W (its nameplate), a 1U switch at U10 (no ``power_watts``: the
  stated 150 W of its kind): units 3 of 42, power 450 of 1,500 W;
- cooling: IT load 450 W, no air conditioner states a capacity: total None;
- ports: no switch port seen by the monitors: 0 of None;
- prefix 10.77.0.0/28 of the site: 14 usable, the gateway registered: 1 of 14.

Instants are the test's own "now" (the real clock) moved to the site's day boundaries
(Asia/Shanghai, UTC+8): 00:30 local is 16:30 UTC the day before, so the snapshot's day is the
site's, not UTC's.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from assets import capacity_history, services
from assets.models import Rack
from assets.snapshot_models import CapacitySnapshot
from opskit import clock, db, jobs
from tests import factories

pytestmark = pytest.mark.xdist_group("capacity_history")


def seed() -> dict[str, int]:
    site, _ = services.get_or_create_site("快照站")
    room, _ = services.get_or_create_room(site, "快照机房")
    rack = services.save_rack(
        {"room": room, "name": "K1", "u_height": 42, "power_a_watts": 2000, "power_b_watts": 1500}
    )
    factories.asset("K-SRV", rack=rack, u_position=1, u_height=2, specs={"power_watts": 300})
    factories.asset("K-SW", "switch", rack=rack, u_position=10, u_height=1)
    p = factories.prefix("10.77.0.0/28", gateway="10.77.0.1", site=site)
    db.session().commit()
    return {"room": room.id, "rack": rack.id, "prefix": p.id}


def snapshot(day: date) -> dict[tuple[str, str], tuple[float, float | None]]:
    rows = db.session().execute(
        select(
            CapacitySnapshot.scope,
            CapacitySnapshot.resource,
            CapacitySnapshot.used,
            CapacitySnapshot.total,
        ).where(CapacitySnapshot.day == day)
    )
    return {(scope, resource): (used, total) for scope, resource, used, total in rows}


def local(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=clock.site_tz())


def test_snapshot_once_a_site_day(db_app: Flask) -> None:
    with db_app.app_context():
        ids = seed()
        today = clock.site_today()
        room, prefix = f"room:{ids['room']}", f"prefix:{ids['prefix']}"
        early = local(today, 0, 30)
        assert early.astimezone(UTC).date() == today - timedelta(days=1)
        with clock.frozen(early):
            made = capacity_history.run_due()
        assert made == [f"{today.isoformat()}: 5 rows"]
        expected = {
            (room, "u"): (3.0, 42.0),
            (room, "power"): (450.0, 1500.0),
            (room, "cooling"): (450.0, None),
            (room, "ports"): (0.0, None),
            (prefix, "ip"): (1.0, 14.0),
        }
        assert snapshot(today) == expected
        assert snapshot(today - timedelta(days=1)) == {}

        # later the same site day, after a 4U server came in: the first snapshot stands
        rack = db.session().get(Rack, ids["rack"])
        factories.asset("K-SRV2", rack=rack, u_position=20, u_height=4, specs={"power_watts": 600})
        db.session().commit()
        with clock.frozen(local(today, 23, 50)):
            assert capacity_history.run_due() == []
        assert snapshot(today) == expected

        # the next site day takes a new one, with the server
        with clock.frozen(local(today + timedelta(days=1), 0, 10)):
            assert capacity_history.take() == 5
        after = snapshot(today + timedelta(days=1))
        assert after[(room, "u")] == (7.0, 42.0)
        assert after[(room, "power")] == (1050.0, 1500.0)
        assert snapshot(today) == expected


def test_a_second_writer_of_the_day_inserts_nothing(db_app: Flask) -> None:
    """Two notifiers that both found no snapshot of the day: the unique key lets one in."""
    with db_app.app_context():
        ids = seed()
        today = clock.site_today()
        rows = [
            {
                "scope": f"room:{ids['room']}",
                "room_id": ids["room"],
                "prefix_id": None,
                "resource": "u",
                "used": 3.0,
                "total": 42.0,
            }
        ]
        now = clock.now()
        assert db.write(lambda: capacity_history.write(today, rows, now)) == 1
        again = [{**rows[0], "used": 9.0}]
        assert db.write(lambda: capacity_history.write(today, again, now)) == 0
        assert snapshot(today) == {(f"room:{ids['room']}", "u"): (3.0, 42.0)}


def test_the_job_is_registered(db_app: Flask) -> None:
    assert jobs.JOBS[capacity_history.JOB].run is capacity_history.run_due
