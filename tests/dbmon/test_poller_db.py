"""A database monitor through the poller: its counters kept between polls as the interface
counters are (``counter_state``), rates stored as readings, the password stored encrypted.

Runs on SQLite and PostgreSQL (db_app); the monitored server is the machine's PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from monitors import kinds, poller
from monitors.models import CounterState, Monitor, Reading
from opskit import db
from tests import factories
from tests.dbmon.conftest import pg_connect, wait_until

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)

# what the servers count does not depend on the date: left out of the shifted-clock runs
pytestmark = pytest.mark.dateless


def _values(monitor_id: int, at: datetime) -> dict[tuple[str, str], Any]:
    rows = db.session().scalars(
        select(Reading).where(Reading.monitor_id == monitor_id, Reading.at == at)
    )
    return {(r.metric, r.instance): r.value for r in rows}


@pytest.fixture
def own_db(pg_name: str) -> Iterator[str]:
    """A database of this test's own: another test's pg_stat_reset() on the run's database
    moments ago would rightly withhold the rate (its counters are younger than the interval)."""
    name = f"{pg_name}_{uuid.uuid4().hex[:6]}"
    with pg_connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield name
    with pg_connect("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_poller_stores_database_rates_from_two_polls(db_app: Flask, own_db: str) -> None:
    pg_name = own_db
    with db_app.app_context():
        server = factories.asset("DB-1")
        db.session().commit()
        monitor = Monitor(
            asset_id=server.id,
            kind="postgresql",
            settings=kinds.validate("postgresql", {"host": "127.0.0.1", "database": "postgres"}),
            secret=json.dumps({"password": "unused-with-trust"}),
            next_due_at=NOW - timedelta(seconds=1),
            interval_s=10,
        )
        db.session().add(monitor)
        db.session().commit()
        mid = monitor.id
        # the password is stored encrypted, like an SNMP community
        raw = db.session().execute(text("SELECT secret FROM monitor WHERE id = :id"), {"id": mid})
        assert "unused-with-trust" not in str(raw.scalar())

        assert poller.poll_once(NOW)["up"] == 1
        first = _values(mid, NOW)
        assert first[("db.size_bytes", pg_name)] > 0
        assert ("db.transactions_per_s", pg_name) not in first  # nothing to compare with yet
        assert ("db.transactions", pg_name) not in first  # the counters are state, not readings
        state = db.session().get(CounterState, mid)
        assert state is not None
        before = state.counters[f"db.transactions|{pg_name}"][0]

        with pg_connect(pg_name) as conn:
            for _ in range(30):
                conn.execute("SELECT 1")

        def counted() -> bool:
            with pg_connect("postgres") as conn:
                row = conn.execute(
                    "SELECT xact_commit FROM pg_stat_database WHERE datname = %s", (pg_name,)
                ).fetchone()
            return row is not None and row[0] >= before + 30

        wait_until(counted, "counted by the server")
        later = NOW + timedelta(seconds=10)  # the poller's clock says 10 s passed
        assert poller.poll_once(later)["up"] == 1
        second = _values(mid, later)
        done = second[("db.transactions_per_s", pg_name)] * 10
        assert 30 <= round(done) <= 33  # the load and its connection's start
        assert second[("db.deadlocks_per_h", pg_name)] == 0
        assert db.session().scalar(select(Monitor.state).where(Monitor.id == mid)) == "up"
