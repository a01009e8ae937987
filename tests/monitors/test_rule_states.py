"""A poll reads its asset's alert rule states once: one query whatever the readings and rules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from flask import Flask
from sqlalchemy import event, select

from monitors import poller
from monitors.models import MonitorState
from opskit import db
from opskit.alerts.models import Alert, RuleState
from tests import factories
from tests.monitors.test_poller import NOW, add_monitor


@contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements run on the session's engine while inside."""
    seen: list[str] = []
    engine = db.engine()

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def rule_state_reads(seen: list[str]) -> int:
    return sum(1 for s in seen if s.lstrip().upper().startswith("SELECT") and "rule_state" in s)


def test_one_query_of_rule_states_per_poll(db_app: Flask) -> None:
    with db_app.app_context():
        ups = factories.asset("UPS-RS1", kind="ups")
        db.session().commit()
        monitor_id = add_monitor(ups.id, "tcp", {"host": "127.0.0.1", "port": 9})
        session = db.session()
        monitor = session.get(poller.Monitor, monitor_id)
        job = poller._job(session, monitor)
        session.expunge_all()
        probes = [f"probe {i}" for i in range(12)]
        outcome_readings = [
            {"metric": "env.temperature_c", "instance": p, "value": 35.0, "unit": "°C"}
            for p in probes
        ] + [
            {"metric": "env.humidity_percent", "instance": p, "value": 50.0, "unit": "%"}
            for p in probes
        ]
        outcome_readings += [
            {"metric": "ups.output.source", "instance": "", "value": "battery", "unit": ""},
            {"metric": "ups.output.load_percent", "instance": "", "value": 95.0, "unit": "%"},
        ]
        for minute in range(3):  # new states, then existing ones, then alerts raised
            at = NOW + timedelta(minutes=10 * minute)
            outcome = poller.Outcome(
                MonitorState.DOWN, "refused", [dict(r) for r in outcome_readings]
            )
            with statements() as seen:
                poller._store(session, job, outcome, at)
                session.commit()
            assert rule_state_reads(seen) == 1, seen
            job.state = MonitorState.DOWN
        states = session.scalars(select(RuleState).where(RuleState.asset_id == ups.id)).all()
        assert len(states) > 26  # one per rule and instance: each read by that one query
        fired = {a.rule for a in session.scalars(select(Alert).where(Alert.asset_id == ups.id))}
        assert {"device.unreachable", "ups.on_battery"} <= fired
