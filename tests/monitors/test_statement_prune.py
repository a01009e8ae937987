"""A database server's statement hours are pruned with the hourly rollups' retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from monitors import rollups
from monitors.models import Monitor, StatementHour
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
