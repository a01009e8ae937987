"""A database server's statement hours are pruned with the hourly rollups' retention; its
statement counters are forgotten when the monitor is pointed at another server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from monitors import kinds, rollups, services
from monitors.models import Monitor, StatementHour, StatementState
from opskit import db
from tests import factories

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def test_statement_hours_older_than_the_hourly_retention_are_pruned(db_app: Flask) -> None:
    with db_app.app_context():
        asset = factories.asset("DB-PRUNE")
        db.session().flush()
        monitor = Monitor(asset_id=asset.id, kind="postgresql", settings={})
        db.session().add(monitor)
        db.session().flush()
        keep = rollups.Retention(raw_days=7, five_minute_days=30, hourly_days=90)
        cut = NOW - timedelta(days=90)
        hours = [cut - timedelta(hours=1), cut, cut + timedelta(hours=1)]
        db.session().execute(
            insert(StatementHour),
            [
                {"monitor_id": monitor.id, "asset_id": asset.id, "hour": hour, "database": "app"}
                | {"statement_id": "42", "text": "SELECT 1", "calls": 1, "total_ms": 1.0, "rows": 1}
                for hour in hours
            ],
        )
        db.session().commit()
        assert rollups.prune(NOW, keep)["statements"] == 1
        left = db.session().scalars(select(StatementHour.hour).order_by(StatementHour.hour))
        assert list(left) == hours[1:]


def test_another_server_starts_the_statement_counters_afresh(db_app: Flask) -> None:
    with db_app.app_context():
        asset = factories.asset("DB-MOVE")
        db.session().flush()
        settings = kinds.validate("mysql", {"host": "10.0.5.30"})
        monitor = Monitor(asset_id=asset.id, kind="mysql", settings=settings)
        db.session().add(monitor)
        db.session().flush()
        counters = {"at": "2026-11-26 08:00:00", "complete": True, "counters": {"s|d": [1, 2.0, 1]}}
        db.session().add(StatementState(monitor_id=monitor.id, at=NOW, counters=counters))
        db.session().commit()
        services.update_monitor(monitor, {**settings, "timeout": 10}, 60, True)
        db.session().commit()
        assert db.session().get(StatementState, monitor.id) is not None  # same server
        services.update_monitor(monitor, {**settings, "host": "10.0.5.31"}, 60, True)
        db.session().commit()
        assert db.session().get(StatementState, monitor.id) is None
