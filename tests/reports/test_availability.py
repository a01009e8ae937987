"""The 可用性 kind on a seeded 2026Q3 (clock set to 2026-10-10: the quarter is over), read back
with openpyxl; the state flips and maintenance windows are written out here and every figure is
computed here from them. An outage inside a maintenance window does not count, one partly
inside counts its part outside, and the sheet says so. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from flask import Flask
from flask_babel import force_locale
from pytest import approx
from sqlalchemy import select

from monitors.models import Monitor, StatusFlip
from opskit import clock, db
from opskit.alerts.models import MaintenanceWindow
from reports.build import build_pack
from reports.kinds import KINDS, Context
from reports.periods import parse_period
from tests import factories

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 10, 10, 0, tzinfo=TZ)
START = datetime(2026, 7, 1, tzinfo=TZ)
END = datetime(2026, 10, 1, tzinfo=TZ)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def monitor(asset_id: int, kind: str, name: str = "", enabled: bool = True) -> Monitor:
    m = Monitor(asset_id=asset_id, kind=kind, name=name, settings={}, enabled=enabled)
    db.session().add(m)
    db.session().flush()
    return m


def flips(m: Monitor, *changes: tuple[str, str, str]) -> None:
    for at, old, new in changes:
        db.session().add(StatusFlip(monitor_id=m.id, at=local(at), old=old, new=new))


def window(start: str, end: str, reason: str, **target: Any) -> None:
    db.session().add(
        MaintenanceWindow(starts_at=local(start), ends_at=local(end), reason=reason, **target)
    )


def seed() -> None:
    rack = factories.rack(room="A机房", name="A01")
    room = rack.room
    sw = factories.asset("SW-CORE", kind="switch", name="核心交换机", importance="core", rack=rack)
    line = factories.asset("LINE-1", kind="line", name="电信专线", room=room)
    web = factories.asset("SRV-WEB", name="门户服务器", rack=rack)
    other = factories.asset("SRV-X", name="普通服务器", rack=rack)
    m_sw = monitor(sw.id, "snmp", "SNMP 代理")
    flips(
        m_sw,
        ("2026-06-20 08:00", "unknown", "up"),
        ("2026-07-10 10:00", "up", "down"),  # 30 minutes, counted
        ("2026-07-10 10:30", "down", "up"),
        ("2026-08-05 02:00", "up", "down"),  # inside the switch's window: not counted
        ("2026-08-05 02:40", "down", "up"),
        ("2026-09-30 23:50", "up", "down"),  # still down at the quarter's end: 10 minutes
    )
    m_line = monitor(line.id, "ping", "对端网关")
    flips(
        m_line,
        ("2026-07-15 00:00", "unknown", "up"),  # no data before: 14 days
        ("2026-08-01 08:00", "up", "down"),  # 08:30–09:30 is the room's window: 30 min count
        ("2026-08-01 09:00", "down", "unknown"),
        ("2026-08-01 10:00", "unknown", "up"),
    )
    m_web = monitor(web.id, "http", "门户首页")
    flips(m_web, ("2026-05-01 00:00", "unknown", "up"))
    flips(monitor(other.id, "snmp"), ("2026-07-02 00:00", "unknown", "down"))  # not core
    flips(monitor(sw.id, "ping", "停用", enabled=False), ("2026-07-02 00:00", "up", "down"))
    window("2026-08-05 01:00", "2026-08-05 03:00", "核心交换机升级", asset_id=sw.id)
    window("2026-08-01 08:30", "2026-08-01 09:30", "机房配电检修", room_id=room.id)
    window("2026-05-01 08:30", "2026-05-01 09:30", "上季度", room_id=room.id)  # not in Q3
    db.session().commit()


def table(ws: Any) -> list[tuple[Any, ...]]:
    return [r for r in ws.iter_rows(min_row=4, values_only=True)]


def hours(td: timedelta) -> float:
    return round(td.total_seconds() / 3600, 2)


def test_availability_excludes_maintenance_windows(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q3.xlsx"
    with db_app.test_request_context("/"), clock.frozen(NOW):
        seed()
        build_pack(parse_period("2026Q3", TZ), out, ["availability"])
    book = openpyxl.load_workbook(out)
    total = END - START
    minute = timedelta(minutes=1)

    ws = book["可用性"]
    assert "已排除维护窗口" in ws["A1"].value and "本期 2 个" in ws["A1"].value
    rows = table(ws)
    assert [r[:5] for r in rows] == [
        ("核心设备", "SW-CORE", "核心交换机", "SNMP", "SNMP 代理"),
        ("通信线路", "LINE-1", "电信专线", "Ping", "对端网关"),
        ("应用检查", "SRV-WEB", "门户服务器", "HTTP(S) 地址", "门户首页"),
    ]
    rows = [(*r[:3], *r[4:]) for r in rows]  # as if without the kind column
    sw, line, web = rows
    # switch: its own 2 h window and the room's 1 h are excluded; 30 + 10 minutes down count
    sw_maint = timedelta(hours=3)
    sw_down = 40 * minute
    sw_up = total - sw_maint - sw_down
    assert sw[4:10] == (
        hours(sw_up + sw_down),
        hours(sw_up),
        hours(sw_down),
        3.0,
        0.0,
        approx(sw_up / (sw_up + sw_down)),
    )
    assert sw[10:] == (2, 30.0)
    # line: no data for 14 days; down 08:00–09:00 of which 30 minutes in the room's window;
    # unknown 09:00–10:00 of which 30 minutes in the window
    line_up = (local("2026-08-01 08:00") - local("2026-07-15 00:00")) + (
        END - local("2026-08-01 10:00")
    )
    line_down = 30 * minute
    assert line[4:12] == (
        hours(line_up + line_down),
        hours(line_up),
        0.5,
        1.0,
        hours(timedelta(days=14, minutes=30)),
        approx(line_up / (line_up + line_down)),
        1,
        30.0,
    )
    # the web server is in room A too: the room's hour is excluded
    web_up = total - timedelta(hours=1)
    assert web[4:12] == (hours(web_up), hours(web_up), 0.0, 1.0, 0.0, 1.0, 0, None)

    outages = [(*r[1:3], *r[4:]) for r in table(book["中断记录"])]
    assert outages == [
        (
            "SW-CORE",
            "核心交换机",
            "SNMP 代理",
            datetime(2026, 7, 10, 10, 0),
            datetime(2026, 7, 10, 10, 30),
            30.0,
            0.0,
            30.0,
            None,
        ),
        (
            "SW-CORE",
            "核心交换机",
            "SNMP 代理",
            datetime(2026, 8, 5, 2, 0),
            datetime(2026, 8, 5, 2, 40),
            40.0,
            40.0,
            0.0,
            "在维护窗口内：不计入",
        ),
        (
            "SW-CORE",
            "核心交换机",
            "SNMP 代理",
            datetime(2026, 9, 30, 23, 50),
            None,
            10.0,
            0.0,
            10.0,
            None,
        ),
        (
            "LINE-1",
            "电信专线",
            "对端网关",
            datetime(2026, 8, 1, 8, 0),
            datetime(2026, 8, 1, 9, 0),
            60.0,
            30.0,
            30.0,
            "部分在维护窗口内",
        ),
    ]
    assert "已排除维护窗口" in book["中断记录"]["A1"].value

    windows = table(book["维护窗口"])
    assert windows == [
        (
            "机房 A机房",
            datetime(2026, 8, 1, 8, 30),
            datetime(2026, 8, 1, 9, 30),
            1.0,
            "机房配电检修",
        ),
        (
            "SW-CORE 核心交换机",
            datetime(2026, 8, 5, 1, 0),
            datetime(2026, 8, 5, 3, 0),
            2.0,
            "核心交换机升级",
        ),
    ]
    front = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert front["核心设备可用率"] == approx(hours(sw_up) / hours(sw_up + sw_down))
    assert front["计入的中断次数"] == 3


def test_below_target_finding_fires_only_below_the_target(db_app: Flask) -> None:
    def found() -> dict[str, list[Any]]:
        ctx = Context(period=parse_period("2026Q3", TZ), now=NOW.astimezone(UTC), headline={})
        out: dict[str, list[Any]] = {}
        for f in KINDS["availability"].findings(ctx):  # type: ignore[misc]
            out.setdefault(f.key, []).append(f)
        return out

    with db_app.test_request_context("/"), clock.frozen(NOW), force_locale("zh_CN"):
        seed()
        first = found()
        # 40 counted minutes in 2205 judged hours: above 99.9 %
        assert "availability.below_target" not in first
        (summary,) = first["availability.summary"]
        up = timedelta(hours=2205) - timedelta(minutes=40)
        pct = round(100 * hours(up) / hours(up + timedelta(minutes=40)), 3)
        assert summary.figures["core_pct"] == pct
        assert summary.figures["text"].startswith(f"核心设备在统计时间内的可用率为 {pct:.3f} %")
        assert "已排除维护窗口 2 个" in summary.figures["text"]
        # four more hours down on 09-10: 280 minutes, below the target
        sw = db.session().scalar(select(Monitor).where(Monitor.name == "SNMP 代理"))
        assert sw is not None
        flips(sw, ("2026-09-10 00:00", "up", "down"), ("2026-09-10 04:00", "down", "up"))
        db.session().commit()
        (below,) = found()["availability.below_target"]
    up = timedelta(hours=2205) - timedelta(minutes=280)
    pct = round(100 * (up / (up + timedelta(minutes=280))), 3)
    assert below.subject == "核心交换机 (SW-CORE)"
    assert below.figures == {
        "category": "核心设备",
        "tag": "SW-CORE",
        "name": "核心交换机",
        "check": "SNMP 代理",
        "availability_pct": pct,
        "target_pct": 99.9,
        "outages": 3,
        "down_minutes": 280.0,
        "longest": 240.0,
    }
