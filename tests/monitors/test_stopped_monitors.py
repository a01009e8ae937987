"""A monitor disabled or deleted no longer keeps its asset's "unreachable" alert open."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from monitors import services
from monitors.models import MonitorState
from opskit import db
from opskit.alerts import rules
from opskit.alerts.models import Alert
from opskit.db import utcnow
from tests import factories


def states(asset_id: int) -> dict[str, str]:
    db.session().expire_all()
    return {
        a.rule: a.status
        for a in db.session().scalars(select(Alert).where(Alert.asset_id == asset_id))
    }


def down(asset_id: int) -> None:
    now = utcnow()
    rules.device_status(asset_id, False, now - timedelta(minutes=4), "timeout")
    rules.device_status(asset_id, False, now - timedelta(minutes=1), "timeout")
    rules.data_age(asset_id, now - timedelta(minutes=30), now)


def test_disabling_or_deleting_the_monitor_settles_its_alerts(db_app: Flask) -> None:
    with db_app.app_context():
        one = factories.asset("SW-ONE", kind="switch")
        two = factories.asset("SW-TWO", kind="switch")
        db.session().flush()
        m1, _ = services.add_monitor(one.id, "ping", {"host": "192.0.2.1"})
        m2, _ = services.add_monitor(two.id, "ping", {"host": "192.0.2.2"})
        # SW-TWO has a second monitor, also down
        m3, _ = services.add_monitor(two.id, "tcp", {"host": "192.0.2.2", "port": 22})
        for m in (m1, m2, m3):
            m.state = MonitorState.DOWN
        down(one.id)
        down(two.id)
        db.session().commit()
        firing = {"device.unreachable": "firing", "data.stale": "firing"}
        assert states(one.id) == firing and states(two.id) == firing

        services.set_enabled(m1, False)
        db.session().commit()
        assert states(one.id) == {"device.unreachable": "resolved", "data.stale": "resolved"}

        # another enabled monitor still reports SW-TWO down: its alerts stay
        services.delete_monitor(m2)
        db.session().commit()
        assert states(two.id) == firing
        services.update_monitor(m3, dict(m3.settings), m3.interval_s, enabled=False)
        db.session().commit()
        assert states(two.id) == {"device.unreachable": "resolved", "data.stale": "resolved"}
