"""Weekly load rows (``monitors.load``) kept from the hourly rollups, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from monitors import load, rollups
from monitors.models import LoadWeek, Reading
from opskit import db
from tests import factories

# 23:00 on Monday 30 November in the site's zone (Asia/Shanghai, UTC+8): the next hour is
# Tuesday 1 December, in the next week piece (weeks are cut at month ends)
T = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T + timedelta(minutes=minutes)


def add(asset_id: int, metric: str, instance: str, when: datetime, value: float) -> None:
    db.session().execute(
        insert(Reading),
        [
            {
                "asset_id": asset_id,
                "metric": metric,
                "instance": instance,
                "at": when,
                "value": value,
            }
        ],
    )
    db.session().commit()


def weeks() -> dict[tuple[str, date], tuple]:
    db.session().expire_all()
    out = {}
    for r in db.session().scalars(select(LoadWeek)):
        slots = {
            s: (v, p)
            for s, (v, p) in enumerate(zip(load.unpack(r.avgs), load.unpack(r.peaks), strict=True))
            if v != load.NONE
        }
        out[(r.family, r.week)] = (r.n, r.peak, r.sum_y, r.sum_s, r.sum_ss, r.sum_sy, slots)
    return out


def test_weeks_follow_the_hourly_rollups_in_site_time(db_app: Flask) -> None:
    with db_app.app_context():
        a = factories.asset("SRV-LOAD")
        other = factories.asset("SENSOR")
        db.session().commit()
        add(a.id, "host.cpu.load_percent", "", at(10), 40)
        add(a.id, "host.cpu.load_percent", "", at(20), 60)  # hour: avg 50, max 60
        add(a.id, "host.cpu.load_percent", "", at(65), 30)  # 00:05 on 1 December
        add(a.id, "host.cpu.load_percent", "", at(125), 34)  # 01:05 on 1 December
        add(a.id, "host.storage.used_percent", "/a", at(10), 70)
        add(a.id, "host.storage.used_percent", "/b", at(10), 80)  # the fullest volume
        for metric, instance, value in (
            ("if.in_bps", "eth0", 100),
            ("if.out_bps", "eth0", 50),
            ("if.in_bps", "eth1", 10),
        ):
            add(a.id, metric, instance, at(10), value)  # traffic: the sum, 160
        add(other.id, "env.temperature_c", "probe", at(10), 22)  # not a load metric

        done = rollups.run(at(130))
        assert done["load_weeks"] == 4  # cpu in two week pieces, storage, traffic
        assert weeks() == {
            ("cpu", date(2026, 11, 30)): (1, 60.0, 50.0, 23.0, 529.0, 1150.0, {23: (50.0, 60.0)}),
            ("cpu", date(2026, 12, 1)): (
                2,
                34.0,
                64.0,
                1.0,
                1.0,
                34.0,
                {0: (30.0, 30.0), 1: (34.0, 34.0)},
            ),
            ("storage", date(2026, 11, 30)): (
                1,
                80.0,
                80.0,
                23.0,
                529.0,
                1840.0,
                {23: (80.0, 80.0)},
            ),
            ("traffic", date(2026, 11, 30)): (
                1,
                160.0,
                160.0,
                23.0,
                529.0,
                3680.0,
                {23: (160.0, 160.0)},
            ),
        }

        # A late reading in the first hour of December: refreshing only that hour changes its
        # slot and keeps the other hour of the piece from the stored row.
        add(a.id, "host.cpu.load_percent", "", at(90), 50)  # hour: (30 + 50) / 2 = 40
        rollups.run(at(130), since=at(60))
        assert load.refresh(db.session(), at(60), at(120)) == 1
        db.session().commit()
        assert weeks()[("cpu", date(2026, 12, 1))] == (
            2,
            50.0,
            74.0,
            1.0,
            1.0,
            34.0,
            {0: (40.0, 50.0), 1: (34.0, 34.0)},
        )
        # Re-running changes nothing.
        before = weeks()
        rollups.run(at(130), since=T)
        assert weeks() == before

        # The report's reading: the period's pieces, in asset, family and week order.
        read = [
            (r[1], r[2], r[3])
            for r in load.weeks([a.id, other.id], date(2026, 11, 30), date(2026, 11, 30))
        ]
        assert read == [
            ("cpu", date(2026, 11, 30), 1),
            ("storage", date(2026, 11, 30), 1),
            ("traffic", date(2026, 11, 30), 1),
        ]

        # Retention: a piece goes when all its days are past the hourly rollups' retention.
        keep = rollups.Retention(raw_days=1, five_minute_days=1, hourly_days=1)
        gone = rollups.prune(at(26 * 60), keep)  # cut: 01:00 on 1 December
        assert gone["load_weeks"] == 3
        assert set(weeks()) == {("cpu", date(2026, 12, 1))}


def test_week_pieces_are_monday_weeks_cut_at_month_ends() -> None:
    assert load.piece_of(date(2026, 7, 1)) == date(2026, 7, 1)  # a Wednesday, the 1st
    assert load.piece_of(date(2026, 7, 5)) == date(2026, 7, 1)
    assert load.piece_of(date(2026, 7, 6)) == date(2026, 7, 6)  # Monday
    assert load.piece_of(date(2026, 8, 2)) == date(2026, 8, 1)  # Sunday after Saturday the 1st
    assert load.piece_end(date(2026, 7, 27)) == date(2026, 8, 1)
    assert load.piece_end(date(2026, 8, 1)) == date(2026, 8, 3)
    assert load.piece_end(date(2026, 12, 28)) == date(2027, 1, 1)
    assert load.piece_end(date(2027, 2, 22)) == date(2027, 3, 1)
    # 2026Q3 has 16 pieces: 5 in July, 6 in August, 5 in September
    pieces, day = set(), date(2026, 7, 1)
    while day < date(2026, 10, 1):
        pieces.add(load.piece_of(day))
        day += timedelta(days=1)
    assert len(pieces) == 16
    assert all(load.piece_end(p) in pieces | {date(2026, 10, 1)} for p in pieces)
