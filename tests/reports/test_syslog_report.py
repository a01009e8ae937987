"""Report kind 日志分析: messages seeded through the syslog writer (asset matching, rules and
their alerts included), the workbook read back with openpyxl; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from flask import Flask

from monitors.syslog import store
from monitors.syslog.parsing import Message
from opskit import db
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories

TZ = ZoneInfo("Asia/Shanghai")
SHEETS = [
    "日志级别统计",
    "日志来源排行",
    "程序与助记符排行",
    "日志规则命中",
    "日志高峰时段",
    "日志按小时分布",
]
EVIL_TAG = "=SUM(A1)"
EVIL_TEXT = '=HYPERLINK("http://evil","x")'


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def message(at: datetime, source: str, severity: int, program: str, text: str) -> Message:
    return Message(at, source, 23, severity, "", program, text)


def _seed() -> None:
    """July 2026 (site time): a core switch's link flapping down 30 times then up, an access
    switch's password guessing (12 failures in 12 s: two bursts of 5), an unregistered sender's
    NTP chatter and one message whose tag and text look like formulas; one message on each side
    of the month."""
    factories.asset("SW-CORE-01", kind="switch", name="核心交换机", mgmt_ip="10.1.0.1")
    factories.asset("SW-ACC-07", kind="switch", name="接入交换机", mgmt_ip="10.1.0.7")
    db.session().commit()
    down = "Interface GigabitEthernet0/1, changed state to down"
    up = "Interface GigabitEthernet0/1, changed state to up"
    batch = [
        message(
            local("2026-07-10 09:00") + timedelta(seconds=i), "10.1.0.1", 3, "LINK-3-UPDOWN", down
        )
        for i in range(30)
    ]
    batch.append(message(local("2026-07-10 09:50"), "10.1.0.1", 5, "LINK-3-UPDOWN", up))
    batch += [
        message(
            local("2026-07-11 14:00") + timedelta(seconds=i),
            "10.1.0.7",
            4,
            "sshd",
            f"Failed password for root from 192.0.2.{i} port 22",
        )
        for i in range(12)
    ]
    batch += [
        message(local("2026-07-12 03:10") + timedelta(minutes=i), "10.9.9.9", 6, "ntpd", "step")
        for i in range(5)
    ]
    batch.append(message(local("2026-07-12 03:30"), "10.9.9.9", 6, EVIL_TAG, EVIL_TEXT))
    batch.append(message(local("2026-06-30 23:59"), "10.1.0.1", 0, "before", "June"))
    batch.append(message(local("2026-08-01 00:00"), "10.1.0.1", 0, "after", "August"))
    writer = store.Writer()
    assert writer.store(batch) == len(batch)


def _rows(ws: Any, first: int = 4) -> list[tuple[Any, ...]]:
    """The data rows of a sheet with a note (note, blank line, header, rows), shares rounded
    to 4 places (a float read back from XML may differ in its last bit)."""
    return [
        tuple(round(v, 4) if isinstance(v, float) else v for v in row)
        for row in ws.iter_rows(min_row=first, values_only=True)
    ]


def share(n: int) -> float:
    return round(n / 49, 4)


def test_log_analysis_sheets(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "july.xlsx"
    with db_app.test_request_context("/"):
        _seed()
        written = build_pack(
            parse_period("2026-07", TZ), out, ["syslog"], now=local("2026-08-05 09:00")
        )
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["封面", "综述", *SHEETS]
    assert written["日志来源排行"] == 3

    cover = {row[0]: row[1] for row in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert cover["网络运行日志条数"] == 49 and cover["警告及以上日志条数"] == 42

    severities = book["日志级别统计"]
    assert "收到网络运行日志 49 条，其中警告及以上 42 条" in severities["A1"].value
    assert _rows(severities) == [
        ("紧急", 0, 0, 0),
        ("告警", 1, 0, 0),
        ("严重", 2, 0, 0),
        ("错误", 3, 30, share(30)),
        ("警告", 4, 12, share(12)),
        ("通知", 5, 1, share(1)),
        ("信息", 6, 6, share(6)),
        ("调试", 7, 0, 0),
    ]

    sources = _rows(book["日志来源排行"])
    assert sources == [
        (1, "SW-CORE-01", "核心交换机", "交换机", "10.1.0.1", 31, 30, share(31)),
        (2, "SW-ACC-07", "接入交换机", "交换机", "10.1.0.7", 12, 12, share(12)),
        (3, None, "未登记设备", None, "10.9.9.9", 6, 0, share(6)),
    ]

    programs = book["程序与助记符排行"]
    assert [r[:6] for r in _rows(programs)] == [
        (1, "LINK-3-UPDOWN", 31, "错误", 1, share(31)),
        (2, "sshd", 12, "警告", 1, share(12)),
        (3, "ntpd", 5, "信息", 1, share(5)),
        (4, EVIL_TAG, 1, "信息", 1, share(1)),
    ]
    assert programs["G4"].value.startswith("Interface GigabitEthernet0/1, changed state to up")
    # text from the devices that looks like a formula stays text
    assert programs["B7"].value == EVIL_TAG and programs["B7"].data_type == "s"
    assert programs["G7"].value == EVIL_TEXT and programs["G7"].data_type == "s"

    hits = {row[0]: row[1:] for row in _rows(book["日志规则命中"])}
    assert hits["接口链路断开"] == ("B", 1, 30, 1, 0, "SW-CORE-01")
    assert hits["多次登录失败"] == ("B", 1, 2, 0, 1, "SW-ACC-07")
    assert list(hits)[:2] == ["接口链路断开", "多次登录失败"]  # most alerts first
    # every rule in force is listed, by its title, the quiet ones with zeros
    assert hits["电源模块故障"] == ("A", 0, 0, 0, 0, None)
    assert not any(name.startswith("syslog.") or "_" in name for name in hits)

    assert _rows(book["日志高峰时段"]) == [
        (local("2026-07-10 09:00").replace(tzinfo=None), 31, 30, share(31)),
        (local("2026-07-11 14:00").replace(tzinfo=None), 12, 12, share(12)),
        (local("2026-07-12 03:00").replace(tzinfo=None), 6, 0, share(6)),
    ]

    by_hour = {row[0]: row[1:] for row in _rows(book["日志按小时分布"], first=2)}
    assert len(by_hour) == 24
    assert by_hour["09:00–10:00"] == (31, 1.0, 30)
    assert by_hour["14:00–15:00"] == (12, 0.4, 12)
    assert by_hour["03:00–04:00"] == (6, 0.2, 0)
    assert by_hour["00:00–01:00"] == (0, 0, 0)
    assert sum(v[0] for v in by_hour.values()) == 49


def test_log_analysis_of_a_quiet_period_and_in_english(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q.xlsx"
    with db_app.test_request_context("/"):
        _seed()
        build_pack(
            parse_period("2026-09", TZ), out, ["syslog"], lang="en", now=local("2026-10-09 09:00")
        )
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[2:] == [
        "Log severities",
        "Top log sources",
        "Top programs",
        "Log rule hits",
        "Busiest log hours",
        "Log messages by hour of day",
    ]
    assert [r[:3] for r in _rows(book["Log severities"])][3:5] == [
        ("Error", 3, 0),
        ("Warning", 4, 0),
    ]
    assert _rows(book["Top log sources"]) == []
    hits = {row[0]: row[1:] for row in _rows(book["Log rule hits"])}
    assert hits["Interface link down"] == ("B", 0, 0, 0, 0, None)
