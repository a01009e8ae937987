"""The whole quarterly pack on a seeded quarter, read back with openpyxl.

Every expected figure is computed here from the seed, independently of the report code:
prefix utilisation, each IP conflict row, each topology difference, volume use, the load
kind's weekly peak / 95th percentile and the date a series of known slope crosses its limit.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask import Flask
from PIL import Image as PILImage
from pytest import approx
from sqlalchemy import delete, select

from assets import services as registry
from monitors import load
from monitors.models import ArpSighting, LldpNeighbor, Reading, Resolution, Rollup
from opskit import db
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 7, 1, tzinfo=TZ)  # 2026Q3 starts at local midnight
GIB = 1024**3


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def cpu_at(days: float) -> float:
    """The seeded CPU series of SRV-DB: 20 % rising 0.5 point a day."""
    return 20 + 0.5 * days


def seed() -> dict[str, int]:
    sess = db.session()
    core = factories.asset("SW-CORE", kind="switch", name="核心交换机", importance="core")
    acc = factories.asset("SW-ACC", kind="switch", name="接入交换机")
    dbs = factories.asset(
        "SRV-DB",
        name="数据库服务器",
        importance="core",
        specs={
            "cpu": "2x Xeon 6338",
            "memory_gb": 256,
            "disks": "4x 1.92TB SSD",
            "firmware": "BIOS 1.8",
        },
    )
    app = factories.asset("SRV-APP", name="应用服务器")
    factories.asset("EVIL-1", name='=HYPERLINK("http://evil","x")')
    factories.asset("APP-DB", name="报表库", specs={"role": "数据库"})  # a database, not core
    sess.flush()
    # links: seen / not seen / unchecked
    registry.save_link(core, "Gi1/0/1", acc, "Gi0/1", medium="光纤")
    registry.save_link(acc, "Gi0/2", app, "eth0")
    registry.save_link(dbs, "eth0", app, "eth1")
    seen_at = (local("2026-07-02 08:00"), local("2026-09-30 20:00"))
    for asset, port, name, rport, chassis, remote in (
        (core, "Gi1/0/1", "SW-ACC", "Gi0/1", "00:11:22:33:44:02", acc.id),
        (acc, "GigabitEthernet0/1", "SW-CORE", "Gi1/0/1", "00:11:22:33:44:01", core.id),
        (core, "Gi1/0/5", "db01", "eth0", "00:11:22:33:44:03", dbs.id),
        (core, "Gi1/0/9", "printer-3", "port1", "00:aa:bb:cc:dd:ee", None),
    ):
        sess.add(
            LldpNeighbor(
                asset_id=asset.id,
                local_port=port,
                remote_sys_name=name,
                remote_port=rport,
                remote_chassis_id=chassis,
                remote_asset_id=remote,
                first_seen=seen_at[0],
                last_seen=seen_at[1],
            )
        )
    sess.add(  # last seen before the quarter: not in it
        LldpNeighbor(
            asset_id=core.id,
            local_port="Gi1/0/7",
            remote_sys_name="old-switch",
            remote_port="1",
            remote_chassis_id="00:00:00:00:00:07",
            first_seen=local("2026-03-01 00:00"),
            last_seen=local("2026-06-30 23:00"),
        )
    )
    # prefixes and addresses
    p1 = factories.prefix("10.1.1.0/24", gateway="10.1.1.1", vlan=10, purpose="业务")
    factories.prefix("10.3.0.0/29")
    for address, status, asset, mac in (
        ("10.1.1.10", "active", dbs, "aa:aa:aa:aa:aa:01"),
        ("10.1.1.11", "active", app, "aa:aa:aa:aa:aa:02"),
        ("10.1.1.12", "active", None, None),
        ("10.1.1.13", "reserved", None, None),
        ("10.1.1.14", "free", None, None),
        ("10.1.1.15", "active", None, "ee:ee:ee:ee:ee:01"),
        ("10.3.0.2", "active", None, None),  # prefix no ARP table covers: no conflict
    ):
        registry.save_address({"address": address, "status": status, "asset": asset, "mac": mac})
    sess.flush()
    for ip, mac, first, last in (
        ("10.1.1.10", "AA-AA-AA-AA-AA-01", "2026-07-01 09:00", "2026-09-30 09:00"),
        ("10.1.1.11", "aa:aa:aa:aa:aa:02", "2026-07-01 09:00", "2026-09-30 09:00"),
        ("10.1.1.11", "bb:bb:bb:bb:bb:02", "2026-08-03 10:00", "2026-08-04 11:00"),
        ("10.1.1.50", "cc:cc:cc:cc:cc:50", "2026-09-01 12:00", "2026-09-02 12:00"),
        ("10.1.1.14", "dd:dd:dd:dd:dd:14", "2026-07-05 12:00", "2026-07-06 12:00"),
        ("10.1.1.15", "ee:ee:ee:ee:ee:99", "2026-07-05 12:00", "2026-07-06 12:00"),
        ("10.1.1.12", "12:12:12:12:12:12", "2026-05-01 12:00", "2026-06-30 23:59"),  # before
    ):
        sess.add(
            ArpSighting(
                asset_id=core.id, ip=ip, mac=mac, first_seen=local(first), last_seen=local(last)
            )
        )
    # load: SRV-DB CPU hourly rollups rising 0.5 point a day; storage raw readings
    hours = 92 * 24
    sess.add_all(
        Rollup(
            asset_id=dbs.id,
            metric="host.cpu.load_percent",
            instance="",
            resolution=int(Resolution.HOUR),
            bucket=(START + timedelta(hours=h)).astimezone(UTC),
            count=60,
            min=cpu_at(h / 24) - 5,
            max=cpu_at(h / 24) + 5,
            avg=cpu_at(h / 24),
            last=cpu_at(h / 24),
        )
        for h in range(hours)
    )
    for when, used in (("2026-07-02 10:00", 70.0), ("2026-08-15 10:00", 90.0)):
        sess.add(
            Reading(
                asset_id=dbs.id,
                metric="host.storage.used_percent",
                instance="/data",
                at=local(when),
                value=used,
            )
        )
    sess.add(
        Reading(
            asset_id=dbs.id,
            metric="host.storage.used_percent",
            instance="/data",
            at=local("2026-09-29 10:00"),
            value=86.0,
        )
    )
    for hour, metric, avg, peak, last in (  # a volume known only from hourly rollups
        ("2026-07-01 00:00", "host.storage.used_percent", 40.0, 41.0, 40.5),
        ("2026-08-01 00:00", "host.storage.used_percent", 55.0, 60.0, 58.0),
        ("2026-09-30 23:00", "host.storage.used_percent", 50.0, 51.0, 50.0),
        ("2026-09-30 23:00", "host.storage.size_bytes", 100 * GIB, 100 * GIB, 100 * GIB),
        ("2026-10-01 00:00", "host.storage.used_percent", 99.0, 99.0, 99.0),  # next quarter
    ):
        sess.add(
            Rollup(
                asset_id=app.id,
                metric=metric,
                instance="/var",
                resolution=int(Resolution.HOUR),
                bucket=local(hour),
                count=60,
                min=avg,
                max=peak,
                avg=avg,
                last=last,
            )
        )
    sess.add(
        Reading(
            asset_id=dbs.id,
            metric="host.storage.size_bytes",
            instance="/data",
            at=local("2026-09-29 10:00"),
            value=500 * GIB,
        )
    )
    sess.commit()
    seed_patrol(core.room_id if core.room_id else factories.rack().room_id, dbs)
    return {"prefix": p1.id}


NORMAL = {  # a normal answer for each required item of room_environment
    "cold_aisle_temperature": "23.5",
    "cold_aisle_humidity": "48",
    "hot_aisle_temperature": "33",
    "no_water_leak": "pass",
    "no_smell_or_noise": "pass",
    "lighting": "pass",
    "cleanliness": "clean",
}


def seed_patrol(room_id: int, asset) -> None:
    """Plan 09:00 and 15:00 daily; 07-01 both done (one finding, closed), 07-02 one done,
    07-03 none but an ad hoc round; the logbook has 2 visits and a restart in the quarter."""
    from inspections import services
    from inspections.logbook import services as logbook
    from inspections.models import PatrolFinding
    from opskit.audit import acting_as

    sess = db.session()
    with acting_as("engineer"):
        plan = services.save_plan(
            {
                "name": "日常巡检",
                "room_id": room_id,
                "checklist_keys": ["room_environment"],
                "schedule_times": "09:00, 15:00",
            }
        )
        plan.created_at = local("2026-06-01 00:00")
        sess.commit()

        def done(cid: str, slot: str | None, started: str, **changes: str) -> None:
            values = {**NORMAL, **changes}
            answers = [
                {"target": "room", "checklist": "room_environment", "item": k, "value": v}
                | ({"note": "北侧冷通道温度偏高"} if k in changes else {})
                for k, v in values.items()
            ]
            services.start_round(
                cid,
                room_id=room_id,
                checklist_keys=["room_environment"],
                plan_id=plan.id if slot else None,
                scheduled_for=local(slot) if slot else None,
                started_at=local(started),
            )
            services.submit_round(cid, {"answers": answers, "signature_name": "张工"})

        done("round-01", "2026-07-01 09:00", "2026-07-01 09:05")
        done("round-02", "2026-07-01 15:00", "2026-07-01 15:02", cold_aisle_temperature="30.5")
        done("round-03", "2026-07-02 09:00", "2026-07-02 09:10")
        done("round-adhoc", None, "2026-07-03 10:00")
        finding = sess.scalars(select(PatrolFinding)).one()
        finding.opened_at = local("2026-07-01 15:20")
        sess.commit()
        services.close_finding(finding, "调整空调设定温度，复测 24 °C")
        finding.closed_at = local("2026-07-01 17:50")
        sess.commit()
    tz = TZ
    now = local("2026-10-09 09:00")
    base = {"room_id": room_id, "organisation": "电信", "purpose": "巡检"}
    entry = logbook.record_entry({**base, "name": "赵一", "in_at": "2026-08-20 09:00"}, tz, now=now)
    logbook.sign_out(entry, local("2026-08-20 11:00"))
    logbook.record_entry({**base, "name": "钱二", "in_at": "2026-09-24 10:00"}, tz, now=now)
    logbook.record_entry({**base, "name": "孙三", "in_at": "2026-10-02 10:00"}, tz, now=now)
    logbook.record_power(
        {
            "asset_tag": asset.asset_tag,
            "action": "restart",
            "reason": "补丁",
            "performed_by": "孙三",
            "occurred_at": "2026-09-10 22:00",
        },
        tz,
        now=now,
    )
    sess.commit()


def rows(ws, header_row: int) -> list[tuple]:
    return [tuple(c.value for c in r) for r in ws.iter_rows(min_row=header_row + 1)]


def header(ws, row: int) -> list[str]:
    return [c.value for c in ws[row]]


@pytest.mark.parametrize("daily", [False, True], ids=["from-rollups", "from-load-days"])
def test_quarterly_pack_figures(db_app: Flask, tmp_path: Path, daily: bool) -> None:
    """The same figures whether the load kind reads the hourly rollups or the daily load rows
    the poller keeps from them (``monitors.load``)."""
    out = tmp_path / "pack.xlsx"
    with db_app.test_request_context("/"):
        seed()
        if daily:
            written = load.refresh(
                db.session(), START - timedelta(days=1), START + timedelta(days=93), TZ
            )
            # SRV-DB CPU in the quarter's 16 week pieces; SRV-APP /var in four
            assert written == 16 + 4
            # only the daily rows can give SRV-DB's CPU figures now
            db.session().execute(delete(Rollup).where(Rollup.metric == "host.cpu.load_percent"))
            db.session().commit()
        written = build_pack(
            parse_period("2026Q3", TZ), out, engineer="张工", now=local("2026-10-09 09:00")
        )
    book = openpyxl.load_workbook(out)
    assert written["IP 地址"] == 7
    # --- IP allocation: utilisation computed here
    prefixes = {r[0]: r for r in rows(book["网段"], 3)}
    used_1 = len({"10.1.1.10", "10.1.1.11", "10.1.1.12", "10.1.1.13", "10.1.1.15", "10.1.1.1"})
    assert prefixes["10.1.1.0/24"][4:8] == (254, used_1, 254 - used_1, approx(used_1 / 254))
    assert prefixes["10.3.0.0/29"][4:8] == (6, 1, 5, approx(1 / 6))
    assert book["网段"]["H4"].number_format == "0.0%" and book["网段"]._charts
    bars = book["网段"]._charts[0].series[0].cat.strRef  # the prefixes, as text labels
    assert [p.v for p in bars.strCache.pt] == list(prefixes)
    conflicts = [(r[0], r[1], r[2], r[3], r[5], r[6]) for r in rows(book["IP 冲突"], 3)]
    assert conflicts == [
        ("已发现未登记", "10.1.1.14", "10.1.1.0/24", None, None, "dd:dd:dd:dd:dd:14"),
        ("已发现未登记", "10.1.1.50", "10.1.1.0/24", None, None, "cc:cc:cc:cc:cc:50"),
        (
            "一个 IP 多个 MAC",
            "10.1.1.11",
            "10.1.1.0/24",
            "SRV-APP",
            "aa:aa:aa:aa:aa:02",
            "aa:aa:aa:aa:aa:02, bb:bb:bb:bb:bb:02",
        ),
        ("已登记在用但未发现", "10.1.1.12", "10.1.1.0/24", None, None, None),
        (
            "MAC 与登记不符",
            "10.1.1.15",
            "10.1.1.0/24",
            None,
            "ee:ee:ee:ee:ee:01",
            "ee:ee:ee:ee:ee:99",
        ),
    ]
    # --- topology
    links = {(r[0], r[2], r[3], r[5]): (r[7], r[8]) for r in rows(book["链路"], 3)}
    assert links == {
        ("SW-CORE", "Gi1/0/1", "SW-ACC", "Gi0/1"): ("登记", "已发现"),
        ("SW-ACC", "Gi0/2", "SRV-APP", "eth0"): ("登记", "未发现"),
        ("SRV-DB", "eth0", "SRV-APP", "eth1"): ("登记", "无 LLDP 数据"),
        ("SW-CORE", "Gi1/0/5", "SRV-DB", "eth0"): ("LLDP 发现，未登记", "已发现"),
        ("SW-CORE", "Gi1/0/9", "printer-3", "port1"): ("LLDP 发现，未登记", "已发现"),
    }
    unseen = rows(book["已登记未发现"], 3)
    assert [(r[0], r[2], r[3], r[5]) for r in unseen] == [("SW-ACC", "Gi0/2", "SRV-APP", "eth0")]
    extra = rows(book["已发现未登记"], 1)
    assert [(r[0], r[2], r[3], r[6]) for r in extra] == [
        ("SW-CORE", "Gi1/0/5", "db01", "SRV-DB"),
        ("SW-CORE", "Gi1/0/9", "printer-3", None),
    ]
    images = book["拓扑图"]._images
    assert len(images) == 1
    picture = PILImage.open(io.BytesIO(images[0]._data()))
    assert picture.format == "PNG" and picture.width >= 640
    # --- configuration and storage
    devices = {r[0]: r for r in rows(book["设备配置"], 3)}
    assert devices["SRV-DB"][6:12] == ("BIOS 1.8", "2x Xeon 6338", 256, "4x 1.92TB SSD", 1, 500)
    evil = devices["EVIL-1"]
    assert evil[1] == '=HYPERLINK("http://evil","x")'
    evil_cell = next(c for c in book["设备配置"]["B"] if c.value == evil[1])
    assert evil_cell.data_type == "s"  # text, not a formula
    volumes = rows(book["存储"], 3)
    assert volumes == [
        ("SRV-APP", "应用服务器", "/var", 100, 50, 50, 60, 10),  # rollups: first avg, last
        ("SRV-DB", "数据库服务器", "/data", 500, 86, 430, 90, 16),
    ]
    # --- load: SRV-DB is core; APP-DB is a database without data: one row saying so
    summary = {(r[0], r[3]): r for r in rows(book["负载汇总"], 3)}
    assert summary[("APP-DB", None)][4:] == (None,) * 7 + ("本期无监控数据",) + (None,) * 7
    assert {tag for tag, _metric in summary} == {"SRV-DB", "APP-DB"}
    cpu = summary[("SRV-DB", "CPU")]
    values = [cpu_at(h / 24) for h in range(92 * 24)]
    assert cpu[5] == round(max(values) + 5, 2)  # peak of the hourly maxima
    weeks: dict[date, list[float]] = {}  # Monday-based weeks of local time, cut at 07-01
    for h, value in enumerate(values):
        day = (START + timedelta(hours=h)).date()
        weeks.setdefault(max(day - timedelta(days=day.weekday()), date(2026, 7, 1)), []).append(
            value
        )
    p95s = {w: sorted(vs)[math.ceil(0.95 * len(vs)) - 1] for w, vs in weeks.items()}
    assert cpu[6] == round(max(p95s.values()), 2)  # highest weekly p95
    # the forecast: the daily peaks (hourly maxima) of the 91 days up to 09-30, the last day
    # with data: day k after 07-01 peaks at its 23:00 hour, cpu_at(k + 23/24) + 5, a straight
    # line (no band) reaching 80 on the first whole day with k ≥ (80 - 5 - 20 - 0.5·23/24) / 0.5
    crossing = date(2026, 7, 1) + timedelta(days=math.ceil((55 - 0.5 * 23 / 24) / 0.5))
    assert crossing == date(2026, 10, 19)
    at = datetime.combine(crossing, datetime.min.time())
    assert cpu[7] == 80 and cpu[8:12] == (at, at, at, "180 天内越限")
    assert cpu[12:15] == (15.0, 15.0, 15.0)  # growth per 30 days and its band
    assert cpu[15] == round(cpu_at(91 + 23 / 24) + 5, 2)  # the line on the last day
    assert cpu[16:] == (datetime(2026, 7, 2), datetime(2026, 9, 30), 91)
    storage = summary[("SRV-DB", "存储（最满的卷）")]  # three raw readings: no forecast
    assert storage[7:12] == (85, None, None, None, "数据不足（3 天日峰值，需 28 天）")
    assert storage[18] == 3
    weekly = [r for r in rows(book["每周负载"], 1) if r[0] == "SRV-DB" and r[2] == "CPU"]
    assert len(weekly) == 14  # Wed 07-01 … and 13 Mondays
    assert [(r[3].date(), r[5]) for r in weekly] == [(w, round(p95s[w], 2)) for w in sorted(weeks)]
    first = [cpu_at(h / 24) for h in range(5 * 24)]  # Wed 07-01 to Sun 07-05
    assert weekly[0][3] == datetime(2026, 7, 1) and weekly[1][3] == datetime(2026, 7, 6)
    assert weekly[0][4] == round(max(first) + 5, 2)
    assert weekly[0][5] == round(sorted(first)[math.ceil(0.95 * 120) - 1], 2)
    trend = book["趋势 CPU"]
    assert header(trend, 3) == ["周起始", "限值", "SRV-DB"] and trend._charts
    assert [r[1] for r in rows(trend, 3)] == [80] * 14  # the limit line
    projected = book["预测 CPU"]  # one chart per resource: peaks, limit, projection
    assert header(projected, 3) == ["日期", "SRV-DB 日峰值", "SRV-DB 限值", "SRV-DB 预测"]
    assert [len(c.series) for c in projected._charts] == [3]
    days = {r[0].date(): r[1:] for r in rows(projected, 3)}
    assert min(days) == date(2026, 7, 2) and max(days) == crossing
    assert days[date(2026, 9, 30)] == (round(cpu_at(91 + 23 / 24) + 5, 2), 80, cpu[15])
    assert days[crossing][:2] == (None, 80) and 80 <= days[crossing][2] < 80.5
    # --- patrol: 2 slots a day for 92 days; 3 done, the rest missed
    days = {r[0]: r[1:] for r in rows(book["巡检执行"], 3)}
    assert len(days) == 92
    assert days[datetime(2026, 7, 1)] == (2, 2, 0, 0, 1.0)
    assert days[datetime(2026, 7, 2)] == (2, 1, 1, 0, 0.5)
    assert days[datetime(2026, 7, 3)] == (2, 0, 2, 1, 0.0)
    assert sum(r[0] for r in days.values()) == 184 and sum(r[1] for r in days.values()) == 3
    findings = rows(book["巡检异常"], 1)
    assert len(findings) == 1
    f = findings[0]
    assert (f[0], f[2], f[3], f[4], f[5]) == (
        datetime(2026, 7, 1, 15, 20),
        "Engineer",  # the full name of the login "engineer"
        "冷通道温度",
        "30.5",
        "警告",
    )
    assert (f[8], f[9], f[10], f[11], f[12]) == (
        "已关闭",
        datetime(2026, 7, 1, 17, 50),
        "Engineer",
        "调整空调设定温度，复测 24 °C",
        2.5,
    )
    log = dict(rows(book["机房登记簿"], 1))
    assert (log["进入机房人次"], log["进入人数"], log["未登记离开"], log["设备重启"]) == (
        2,
        2,
        1,
        1,
    )
    # --- cover
    cover = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert cover["IP 冲突"] == 5 and cover["已发现未登记的链路"] == 2
    assert cover["核心服务器与数据库"] == 2
    assert cover["计划巡检次数"] == 184 and cover["完成巡检次数"] == 3
    assert cover["巡检完成率"] == approx(3 / 184)
    assert book["封面"]["A1"].value == "驻场服务季度报告"
    assert cover["站点"] == "总部"  # OPSKIT_SITE_NAME not set: the registry's sites
    # --- the quarter month by month: 2 slots a day; the 3 done rounds and the finding in July
    months = {r[0]: r[1:] for r in rows(book["月度概况"], 3)}
    assert list(months) == ["2026-07", "2026-08", "2026-09"]
    assert [m[:6] for m in months.values()] == [(0, 0, 0, 0, None, 0)] * 3  # no alerts
    assert [m[6:] for m in months.values()] == [
        (62, 3, approx(3 / 62), 1),
        (62, 0, 0.0, 0),
        (60, 0, 0.0, 0),
    ]
    assert book.sheetnames[:3] == ["封面", "综述", "月度概况"]


def test_schedule_builds_each_period_once_on_the_first_working_day(app: Flask, client) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from opskit.cli import cli
    from reports.schedule import due, next_builds, packs_dir

    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)

    def schedule(now: str) -> str:
        result = runner.invoke(cli, ["report", "schedule", "--now", now], obj=info)
        assert result.exit_code == 0, result.output
        return result.output

    def texts(pairs: list) -> list[tuple[str, date]]:
        return [(p.text, day) for p, day in pairs]

    def built(*names: str) -> str:
        return "".join(f"built {Path(app.instance_path) / 'reports' / n}\n" for n in names)

    # National Day: 10-01 … 10-07 are holidays, Thursday 10-08 is the first working day. At
    # 23:59 local on 10-07 only last year's pack is due (since 2026-01-04) and not there yet.
    assert schedule("2026-10-07T15:59:00+00:00") == built("opskit-2025-zh_CN.xlsx")
    assert schedule("2026-10-07T15:59:30+00:00") == "nothing due\n"
    with app.app_context():
        assert [p.name for p in packs_dir().iterdir()] == ["opskit-2025-zh_CN.xlsx"]
        assert texts(next_builds(local("2026-10-07 12:00"))) == [
            ("2026-09", date(2026, 10, 8)),  # 服务月报
            ("2026Q3", date(2026, 10, 8)),
            ("2026", date(2027, 1, 4)),  # 年度技术支持总结
        ]
        # a year the calendar package does not know yet still has New Year's Day
        assert texts(next_builds(local("2026-11-26 12:00"))) == [
            ("2026-11", date(2026, 12, 1)),
            ("2026Q4", date(2027, 1, 4)),
            ("2026", date(2027, 1, 4)),
        ]
        assert [p.text for p in due(local("2026-01-03 12:00"))] == []
        # the make-up working Sunday after New Year's Day: the month, the quarter and the year
        assert [p.text for p in due(local("2026-01-04 09:00"))] == ["2025-12", "2025Q4", "2025"]
        app.config["REPORT_SCHEDULE"] = ("quarter",)
        assert [p.text for p in due(local("2026-01-04 09:00"))] == ["2025Q4"]
        app.config["REPORT_SCHEDULE"] = ()
        assert due(local("2026-01-04 09:00")) == [] and next_builds() == []
        app.config["REPORT_SCHEDULE"] = ("month", "quarter", "year")
    assert schedule("2026-10-08T00:30:00+00:00") == built(  # 08:30 local
        "opskit-2026-09-zh_CN.xlsx", "opskit-2026Q3-zh_CN.xlsx"
    )
    assert schedule("2026-10-08T01:30:00+00:00") == "nothing due\n"  # idempotent
    with app.app_context():
        files = sorted(p.name for p in packs_dir().iterdir())
    assert files == [
        "opskit-2025-zh_CN.xlsx",
        "opskit-2026-09-zh_CN.xlsx",
        "opskit-2026Q3-zh_CN.xlsx",
    ]
    from tests.conftest import login

    login(client, "viewer")
    page = client.get("/reports/").get_data(as_text=True)
    assert "/reports/stored/opskit-2026Q3-zh_CN.xlsx" in page
    assert "/reports/stored/opskit-2026-09-zh_CN.xlsx" in page
    with client.get("/reports/stored/opskit-2026-09-zh_CN.xlsx") as response:
        month = openpyxl.load_workbook(io.BytesIO(response.data))
    assert month["封面"]["A1"].value == "服务月报"
    with client.get("/reports/stored/opskit-2026Q3-zh_CN.xlsx") as response:
        assert response.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book["封面"]["A1"].value == "驻场服务季度报告" and "链路" in book.sheetnames
    cover = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert cover["工程师"] == "Engineer" and cover["期间"] == "2026年第3季度"
    assert client.get("/reports/stored/..%2Fsecret.xlsx").status_code == 404
    assert client.get("/reports/stored/opskit-2026Q2-zh_CN.xlsx").status_code == 404


def test_a_month_still_running_counts_only_the_slots_that_have_come(
    app: Flask, tmp_path: Path
) -> None:
    """The month's pack built on 07-02 at 10:00: 07-01 had both slots, 07-02 its 09:00 one;
    the 15:00 slot and the rest of the month are not planned yet (not missed, not counted)."""
    out = tmp_path / "july.xlsx"
    with app.test_request_context("/"):
        seed_patrol(factories.rack().room_id, factories.asset("SRV-1"))
        build_pack(parse_period("2026-07", TZ), out, ["patrol"], now=local("2026-07-02 10:00"))
    book = openpyxl.load_workbook(out)
    days = {r[0].day: r[1:5] for r in rows(book["巡检执行"], 3)}
    assert days[1] == (2, 2, 0, 0) and days[2] == (1, 1, 0, 0)
    assert all(days[d][:3] == (0, 0, 0) for d in range(3, 32))
    cover = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert cover["计划巡检次数"] == 3 and cover["完成巡检次数"] == 3 and cover["巡检完成率"] == 1


def test_monthly_and_annual_packs_are_titled_by_their_length(app: Flask, tmp_path: Path) -> None:
    titles = {}
    with app.test_request_context("/"):
        for text in ("2026-07", "2026Q3", "2026"):
            out = tmp_path / f"{text}.xlsx"
            build_pack(parse_period(text, TZ), out, ["warranty"], now=local("2026-10-09 09:00"))
            titles[text] = openpyxl.load_workbook(out)["封面"]["A1"].value
        out = tmp_path / "en.xlsx"
        build_pack(parse_period("2026", TZ), out, ["patrol"], lang="en")
        english = openpyxl.load_workbook(out)
        month = tmp_path / "month.xlsx"
        build_pack(parse_period("2026-07", TZ), month, ["patrol", "alerts"])
        assert "月度概况" not in openpyxl.load_workbook(month).sheetnames  # one month: none
    assert titles == {
        "2026-07": "服务月报",
        "2026Q3": "驻场服务季度报告",
        "2026": "年度技术支持总结",
    }
    assert english["Cover"]["A1"].value == "Annual technical support summary"
    assert english.sheetnames == [
        "Cover",
        "Summary",
        "Month by month",
        "Patrol rounds per day",
        "Patrol findings",
        "Logbook",
    ]
    assert english["Patrol rounds per day"].max_row == 3 + 365  # note, blank, header, a row a day
    months = list(english["Month by month"].iter_rows(min_row=4, values_only=True))
    assert [m[0] for m in months] == [f"2026-{n:02d}" for n in range(1, 13)]
    assert all(m[1:7] == (None,) * 6 for m in months)  # no alerts in this pack: empty, not 0
    assert all(m[7:9] == (0, 0) and m[10] == 0 for m in months)  # no plan: nothing planned


def test_notifier_loop_builds_the_due_pack(app: Flask) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from opskit.cli import cli
    from reports.schedule import due, packs_dir, stored_name

    result = CliRunner().invoke(
        cli, ["notify", "run", "--once"], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        expected = sorted(stored_name(p, "zh_CN") for p in due())  # today's due packs
        built = sorted(p.name for p in packs_dir().glob("*.xlsx")) if packs_dir().exists() else []
    assert built == expected
    for name in expected:
        assert f"report pack built: {packs_dir_of(app) / name}" in result.output


def packs_dir_of(app: Flask) -> Path:
    return Path(app.instance_path) / "reports"


def test_streamed_rows_give_the_same_workbook_as_xlsxwriter_cells(
    db_app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer streams data rows as XML (``opskit.xlsx.rows``); with streaming off, every
    cell goes through xlsxwriter's own writers: the two workbooks are the same bytes."""
    import zipfile

    from opskit.xlsx import rows as xlsxrows

    streamed, cells = tmp_path / "streamed.xlsx", tmp_path / "cells.xlsx"
    with db_app.test_request_context("/"):
        seed()
        period, now = parse_period("2026Q3", TZ), local("2026-10-09 09:00")
        build_pack(period, streamed, engineer="张工", now=now)
        monkeypatch.setattr(xlsxrows, "supported", lambda ws: False)
        build_pack(period, cells, engineer="张工", now=now)
    with zipfile.ZipFile(streamed) as a, zipfile.ZipFile(cells) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        parts = [n for n in a.namelist() if n != "docProps/core.xml"]  # creation time
        assert len([n for n in parts if n.startswith("xl/worksheets/sheet")]) >= 20
        assert [n for n in parts if a.read(n) != b.read(n)] == []
