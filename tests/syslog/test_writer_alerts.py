"""The syslog writer and the trap store hand each batch's raises and clears to the desk as one
list (``opskit.alerts.conditions.apply``): whatever order raises, clears and a person's resolve
come in, within a batch and across batches, the alerts in the database are the ones the
messages call for. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import func, select

from monitors.models import SnmpTrap
from monitors.syslog import store
from monitors.syslog.parsing import Message
from monitors.traps import store as trap_store
from monitors.traps.receiver import Trap
from opskit import clock, db
from opskit.alerts import services as alerts
from opskit.alerts.models import Alert
from tests import factories

DOWN = "Interface GigabitEthernet0/1, changed state to down"
UP = "Interface GigabitEthernet0/1, changed state to up"


def _alerts(prefix: str) -> list[tuple[str, int]]:
    """(status, count) of the alerts whose key starts with ``prefix``, oldest first."""
    rows = db.session().execute(
        select(Alert.status, Alert.count)
        .where(Alert.dedup_key.startswith(prefix))
        .order_by(Alert.id)
    )
    return [(status, count) for status, count in rows]


def test_syslog_link_down_up_across_batches_and_a_person_resolving(db_app: Flask) -> None:
    with db_app.app_context():
        asset = factories.asset("SW-1", kind="switch", mgmt_ip="10.1.0.1")
        db.session().commit()
        key = f"syslog:asset{asset.id}:link_down:GigabitEthernet0/1"
        start = clock.now()
        n = iter(range(1000))

        def msg(text: str) -> Message:
            at = start + timedelta(seconds=next(n))
            return Message(at, "10.1.0.1", 23, 3, "", "LINK-3-UPDOWN", text)

        writer = store.Writer()
        writer.store([msg(UP)])  # up while nothing is down: nothing to resolve
        assert _alerts(key) == []
        writer.store([msg(DOWN), msg(DOWN)])
        assert _alerts(key) == [("firing", 2)]
        writer.store([msg(UP), msg(UP)])
        assert _alerts(key) == [("resolved", 2)]
        # in one batch: down, up, down: open at the end
        writer.store([msg(DOWN), msg(UP), msg(DOWN)])
        statuses = [status for status, _count in _alerts(key)]
        assert statuses.count("firing") == 1
        # a person resolves it; the next down opens a new one and the up resolves that
        opened = db.session().scalar(
            select(Alert).where(Alert.dedup_key == key, Alert.status == "firing")
        )
        assert opened is not None
        alerts.resolve(opened, "fixed the cable", at=start + timedelta(seconds=next(n)))
        db.session().commit()
        writer.store([msg(UP)])
        writer.store([msg(DOWN)])
        assert _alerts(key)[-1][0] == "firing"
        writer.store([msg(UP)])
        assert all(status == "resolved" for status, _count in _alerts(key))


def test_trap_link_down_up_across_batches(db_app: Flask) -> None:
    with db_app.app_context():
        asset = factories.asset("SW-2", kind="switch", mgmt_ip="10.1.0.2")
        db.session().commit()
        key = f"trap:asset{asset.id}:link_down:3"
        start: datetime = clock.now()
        n = iter(range(1000))

        def trap(oid: str) -> Trap:
            at = start + timedelta(seconds=next(n))
            return Trap(at, "10.1.0.2", "2c", oid, "", [("1.3.6.1.2.1.2.2.1.1.3", 3)])

        down, up = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
        trap_store.store([trap(up)], {})
        assert _alerts(key) == []
        trap_store.store([trap(down), trap(down)], {})
        assert _alerts(key) == [("firing", 2)]
        trap_store.store([trap(up)], {})
        assert _alerts(key) == [("resolved", 2)]
        trap_store.store([trap(down), trap(up), trap(down)], {})
        assert [s for s, _c in _alerts(key)].count("firing") == 1
        trap_store.store([trap(up)], {})
        assert all(status == "resolved" for status, _count in _alerts(key))
        stored = db.session().scalar(select(func.count()).select_from(SnmpTrap))
        assert stored == 8
