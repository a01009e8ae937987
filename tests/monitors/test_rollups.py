"""Rollups (5-minute, hourly), retention and chart resolution, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import func, insert, select

from monitors import queries, rollups
from monitors.models import Reading, Rollup
from opskit import clock, db
from opskit.db import utcnow
from tests import factories

T = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
M = "env.temperature_c"


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def add(asset_id: int, when: datetime, value: float | None, instance: str = "probe1") -> None:
    db.session().execute(
        insert(Reading),
        [
            {
                "asset_id": asset_id,
                "metric": M if value is not None else "ups.output.source",
                "instance": instance if value is not None else "",
                "at": when,
                "value": value,
                "text": None if value is not None else "battery",
            }
        ],
    )
    db.session().commit()


def buckets(resolution: int) -> dict[tuple[str, datetime], tuple[int, float, float, float, float]]:
    db.session().expire_all()
    rows = db.session().scalars(select(Rollup).where(Rollup.resolution == resolution))
    return {(r.instance, r.bucket): (r.count, r.min, r.max, r.avg, r.last) for r in rows}


def test_rollups_exact_idempotent_late_data_and_retention(db_app: Flask) -> None:
    # "now" is two minutes after the last reading, for the rollups and the chart queries alike
    with db_app.app_context(), clock.frozen(at(62)):
        a = factories.asset("ROOM-SENSOR")
        db.session().commit()
        for minutes, value in ((50, 20), (51, 22), (54 + 59 / 60, 24), (55, 30), (57.5, 10)):
            add(a.id, at(minutes), value)
        add(a.id, at(60), 50)
        add(a.id, at(52), 5, instance="probe2")
        add(a.id, at(53), None)  # a state reading: not rolled up

        # Nothing is pruned before it has been rolled up, however old.
        far = T + timedelta(days=4000)
        assert rollups.prune(far) == {
            "raw": 0,
            "five_minute": 0,
            "hourly": 0,
            "load_weeks": 0,
            "statements": 0,
        }

        now = at(62)
        first = rollups.run(now)
        assert first == {"five_minute": 4, "hourly": 3, "load_weeks": 0}
        assert buckets(300) == {
            ("probe1", at(50)): (3, 20, 24, 22, 24),
            ("probe1", at(55)): (2, 10, 30, 20, 10),
            ("probe1", at(60)): (1, 50, 50, 50, 50),
            ("probe2", at(50)): (1, 5, 5, 5, 5),
        }
        assert buckets(3600) == {
            ("probe1", at(0)): (5, 10, 30, 21.2, 10),  # (3 x 22 + 2 x 20) / 5
            ("probe1", at(60)): (1, 50, 50, 50, 50),
            ("probe2", at(0)): (1, 5, 5, 5, 5),
        }

        # Re-running adds nothing and changes nothing.
        rollups.run(now)
        assert db.session().scalar(select(func.count()).select_from(Rollup)) == 7
        assert buckets(300)[("probe1", at(50))] == (3, 20, 24, 22, 24)

        # A late reading in an earlier bucket: the next run (default start) corrects the bucket
        # and its hour.
        add(a.id, at(53), 40)
        assert rollups.run(now) == {"five_minute": 4, "hourly": 3, "load_weeks": 0}
        assert buckets(300)[("probe1", at(50))] == (4, 20, 40, 26.5, 24)
        count, low, high, mean, last = buckets(3600)[("probe1", at(0))]
        assert (count, low, high, last) == (6, 10, 40, 10) and abs(mean - 146 / 6) < 1e-9
        assert db.session().scalar(select(func.count()).select_from(Rollup)) == 7

        # Charts: the resolution follows the span asked.
        assert queries.series(a.id, M, "probe1", since=now - timedelta(hours=1)) == [
            (at(50), 20.0),
            (at(51), 22.0),
            (at(53), 40.0),
            (at(54 + 59 / 60), 24.0),
            (at(55), 30.0),
            (at(57.5), 10.0),
            (at(60), 50.0),
        ]  # raw
        assert queries.series(a.id, M, "probe1", since=now - timedelta(days=7)) == [
            (at(50), 26.5),
            (at(55), 20.0),
            (at(60), 50.0),
        ]
        hourly = queries.series(a.id, M, "probe1", since=now - timedelta(days=90))
        assert [(t, round(v, 6)) for t, v in hourly] == [(at(0), round(146 / 6, 6)), (at(60), 50)]
        assert queries.series(a.id, M, "probe1", since=at(50), until=at(55), resolution=300) == [
            (at(50), 26.5)
        ]

        # Retention: a day later with 1-day raw / 1-day 5-minute retention.
        keep = rollups.Retention(raw_days=1, five_minute_days=1, hourly_days=3)
        gone = rollups.prune(at(24 * 60 + 58), keep)
        assert gone == {"raw": 8, "five_minute": 3, "hourly": 0, "load_weeks": 0, "statements": 0}
        left = db.session().execute(select(Reading.at, Reading.value)).all()
        assert left == [(at(60), 50.0)]
        assert set(buckets(300)) == {("probe1", at(60))}
        assert len(buckets(3600)) == 3
        # Three years on, the hourly rollups go too.
        gone = rollups.prune(at(4 * 365 * 24 * 60), keep)
        assert gone["hourly"] == 3


def test_rollup_command(app: Flask) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from opskit.cli import cli

    with app.app_context():
        a = factories.asset("ROOM-SENSOR-2")
        db.session().commit()
        now = utcnow()
        add(a.id, now - timedelta(days=20), 18.0)  # older than the 14 days raw readings are kept
        add(a.id, now - timedelta(minutes=10), 21.0)
    runner = CliRunner()
    obj = ScriptInfo(create_app=lambda: app)
    since = (now - timedelta(days=21)).strftime("%Y-%m-%d")
    result = runner.invoke(cli, ["rollup", "--since", since, "--prune"], obj=obj)
    assert result.exit_code == 0, result.output
    assert "rolled up: 2 5-minute, 2 hourly buckets, 0 load weeks" in result.output
    assert "pruned: 1 readings, 0 5-minute, 0 hourly buckets, 0 load weeks" in result.output
    with app.app_context():
        assert db.session().scalars(select(Reading.value)).all() == [21.0]
        assert db.session().scalar(select(func.count()).select_from(Rollup)) == 4


def test_rollups_with_nothing_to_do(db_app: Flask) -> None:
    with db_app.app_context():
        assert rollups.run() == {"five_minute": 0, "hourly": 0, "load_weeks": 0}
        assert rollups.prune() == {
            "raw": 0,
            "five_minute": 0,
            "hourly": 0,
            "load_weeks": 0,
            "statements": 0,
        }
        assert rollups.retention() == rollups.Retention(14, 180, 1095)


def test_the_poller_loop_rolls_up_and_prunes(app: Flask) -> None:
    import threading
    import time

    from monitors import poller

    with app.app_context():
        a = factories.asset("ROOM-SENSOR-3")
        db.session().commit()
        now = utcnow()
        add(a.id, now - timedelta(days=15), 19.0)  # beyond the raw retention
        add(a.id, now - timedelta(minutes=1), 23.0)
    stop = threading.Event()

    def loop() -> None:
        with app.app_context():
            poller.run(stop, idle_s=0.2)

    thread = threading.Thread(target=loop)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        with app.app_context():
            while time.monotonic() < deadline:
                db.session().expire_all()
                values = db.session().scalars(select(Reading.value)).all()
                if values == [23.0]:
                    break
                db.session().rollback()
                time.sleep(0.1)
            # rolled up on the loop's first pass, then the old reading pruned
            assert db.session().scalars(select(Reading.value)).all() == [23.0]
            assert (
                db.session().scalar(
                    select(func.count()).select_from(Rollup).where(Rollup.resolution == 300)
                )
                == 2
            )
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
