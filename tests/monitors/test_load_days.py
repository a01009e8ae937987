"""Daily load rows (``monitors.load``) kept from the hourly rollups, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from monitors import load, rollups
from monitors.models import LoadDay, Reading
from opskit import db
from tests import factories

# 23:00 on 26 November in the site's zone (Asia/Shanghai, UTC+8): the next hour is the 27th
T = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


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


def days() -> dict[tuple[str, date], tuple]:
    db.session().expire_all()
    out = {}
    for r in db.session().scalars(select(LoadDay)):
        slots = {
            s: (v, p)
            for s, (v, p) in enumerate(zip(load.unpack(r.avgs), load.unpack(r.peaks), strict=True))
            if v != load.NONE
        }
        out[(r.family, r.day)] = (r.n, r.peak, r.sum_y, r.sum_s, r.sum_ss, r.sum_sy, slots)
    return out


def test_days_follow_the_hourly_rollups_in_site_time(db_app: Flask) -> None:
    with db_app.app_context():
        a = factories.asset("SRV-LOAD")
        other = factories.asset("SENSOR")
        db.session().commit()
        add(a.id, "host.cpu.load_percent", "", at(10), 40)
        add(a.id, "host.cpu.load_percent", "", at(20), 60)  # hour: avg 50, max 60
        add(a.id, "host.cpu.load_percent", "", at(65), 30)  # 00:05 on the 27th
        add(a.id, "host.cpu.load_percent", "", at(125), 34)  # 01:05 on the 27th
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
        assert done["load_days"] == 4  # cpu on two days, storage, traffic
        assert days() == {
            ("cpu", date(2026, 11, 26)): (1, 60.0, 50.0, 23.0, 529.0, 1150.0, {23: (50.0, 60.0)}),
            ("cpu", date(2026, 11, 27)): (
                2,
                34.0,
                64.0,
                1.0,
                1.0,
                34.0,
                {0: (30.0, 30.0), 1: (34.0, 34.0)},
            ),
            ("storage", date(2026, 11, 26)): (
                1,
                80.0,
                80.0,
                23.0,
                529.0,
                1840.0,
                {23: (80.0, 80.0)},
            ),
            ("traffic", date(2026, 11, 26)): (
                1,
                160.0,
                160.0,
                23.0,
                529.0,
                3680.0,
                {23: (160.0, 160.0)},
            ),
        }

        # A late reading in the first hour of the 27th: refreshing only that hour changes its
        # slot and keeps the other hour of the day from the stored row.
        add(a.id, "host.cpu.load_percent", "", at(90), 50)  # hour: (30 + 50) / 2 = 40
        rollups.run(at(130), since=at(60))
        assert load.refresh(db.session(), at(60), at(120)) == 1
        db.session().commit()
        assert days()[("cpu", date(2026, 11, 27))] == (
            2,
            50.0,
            74.0,
            1.0,
            1.0,
            34.0,
            {0: (40.0, 50.0), 1: (34.0, 34.0)},
        )
        # Re-running changes nothing.
        before = days()
        rollups.run(at(130), since=T)
        assert days() == before

        # The report's reading: the period's days, in asset, family and day order.
        read = [
            (r[1], r[2], r[3])
            for r in load.days([a.id, other.id], date(2026, 11, 26), date(2026, 11, 26))
        ]
        assert read == [
            ("cpu", date(2026, 11, 26), 1),
            ("storage", date(2026, 11, 26), 1),
            ("traffic", date(2026, 11, 26), 1),
        ]

        # Retention: the days go with the hourly rollups.
        keep = rollups.Retention(raw_days=1, five_minute_days=1, hourly_days=1)
        gone = rollups.prune(at(26 * 60), keep)  # cut: 16:00 UTC on the 26th = 00:00 on the 27th
        assert gone["load_days"] == 3
        assert set(days()) == {("cpu", date(2026, 11, 27))}
