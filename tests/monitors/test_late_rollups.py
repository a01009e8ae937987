"""Readings stored long after they were measured are rolled up by the poller's own rollup runs
(``poller.maintain`` with its ``rollups.Arrivals``), up to 7 days back; on SQLite and
PostgreSQL, "now" from ``opskit.clock``."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, insert, select

from monitors import poller, rollups
from monitors.models import Reading, Rollup
from opskit import clock, db
from tests import factories

M = "env.temperature_c"
FIVE, HOUR = 300, 3600


def add(asset_id: int, when: datetime, value: float) -> None:
    row = {"asset_id": asset_id, "metric": M, "instance": "probe1", "at": when, "value": value}
    db.session().execute(insert(Reading), [row])
    db.session().commit()


def bucket(resolution: int, start: datetime) -> tuple[int, float, float, float, float] | None:
    db.session().expire_all()
    row = db.session().scalar(
        select(Rollup).where(Rollup.resolution == resolution, Rollup.bucket == start)
    )
    return None if row is None else (row.count, row.min, row.max, row.avg, row.last)


def rollup_rows() -> int:
    return db.session().scalar(select(func.count()).select_from(Rollup)) or 0


def test_the_pollers_rollups_put_late_readings_in_their_buckets(
    db_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    # 50 minutes into the current hour, so the poller's window (15 minutes before its newest
    # 5-minute bucket) starts at :30 of this hour
    now = rollups.floor(clock.now(), HOUR) + timedelta(minutes=50)
    hour = rollups.floor(now, HOUR)
    then = rollups.floor(now - timedelta(days=2), HOUR)  # an hour two days ago
    with db_app.app_context(), clock.frozen(now):
        a = factories.asset("ROOM-SENSOR-LATE")
        db.session().commit()
        add(a.id, then + timedelta(minutes=10), 10)
        add(a.id, then + timedelta(minutes=11), 20)
        add(a.id, now - timedelta(minutes=1), 25)
        last: dict[str, float] = {}
        arrivals = rollups.Arrivals()
        poller.maintain(last, 1000.0, arrivals)  # the first run rolls everything up
        assert bucket(FIVE, then + timedelta(minutes=10)) == (2, 10, 20, 15, 20)
        assert bucket(HOUR, then) == (2, 10, 20, 15, 20)
        assert bucket(FIVE, now - timedelta(minutes=5)) == (1, 25, 25, 25, 25)

        # Stored now, measured long ago: in a bucket already rolled up, in a new bucket of
        # that hour, in this hour before the window, and 8 days ago (beyond the limit).
        add(a.id, then + timedelta(minutes=12), 60)
        add(a.id, then + timedelta(minutes=40), 30)
        add(a.id, hour + timedelta(minutes=10), 40)
        eight_days = now - timedelta(days=8)
        add(a.id, eight_days, 99)
        add(a.id, now - timedelta(seconds=30), 27)  # on time

        poller.maintain(last, 1100.0, arrivals)  # not due yet: nothing changes
        assert bucket(FIVE, then + timedelta(minutes=10)) == (2, 10, 20, 15, 20)

        with caplog.at_level(logging.WARNING, logger="monitors.rollups"):
            poller.maintain(last, 1000.0 + poller.ROLLUP_EVERY_S, arrivals)
        assert bucket(FIVE, then + timedelta(minutes=10)) == (3, 10, 60, 30, 60)
        assert bucket(FIVE, then + timedelta(minutes=40)) == (1, 30, 30, 30, 30)
        assert bucket(HOUR, then) == (4, 10, 60, 30, 30)
        assert bucket(FIVE, hour + timedelta(minutes=10)) == (1, 40, 40, 40, 40)
        count, low, high, mean, newest = bucket(HOUR, hour) or (0, 0, 0, 0, 0)
        assert (count, low, high, newest) == (3, 25, 40, 27) and abs(mean - 92 / 3) < 1e-9
        # beyond 7 days: not rolled up, said in the log with what to run
        assert bucket(FIVE, rollups.floor(eight_days, FIVE)) is None
        assert arrivals.caught == 3 and arrivals.left == 1
        warning = "\n".join(r.getMessage() for r in caplog.records)
        assert "1 readings arrived measured before" in warning
        assert f"opskit rollup --since {eight_days.date().isoformat()}" in warning

        # The next run looks at the same ids again (one run of overlap) and changes nothing.
        rows = rollup_rows()
        poller.maintain(last, 1000.0 + 2 * poller.ROLLUP_EVERY_S, arrivals)
        assert rollup_rows() == rows
        assert bucket(HOUR, then) == (4, 10, 60, 30, 30)

        # A poller started afresh (no memory) still catches a reading stored late since the
        # previous process's last run.
        add(a.id, then + timedelta(minutes=13), 0)
        poller.maintain({}, 0.0, rollups.Arrivals())
        assert bucket(FIVE, then + timedelta(minutes=10)) == (4, 0, 60, 22.5, 0)
        assert bucket(HOUR, then) == (5, 0, 60, 24, 30)
