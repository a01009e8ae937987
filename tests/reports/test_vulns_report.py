"""Report kind 漏洞扫描与修补 (reports/kinds/vulns.py) on a seeded 2026Q3: four Nessus scans
imported through the import service (March, two in the quarter, one in October), an accepted
risk; the workbook read back with openpyxl and every figure checked against what the seed
below says, worked out by hand in the comments; then the running 2026Q4 (as of its build
time). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask import Flask

from inspections.vulns import queries, services
from opskit import clock, db
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories
from tests.vulns.scans import Item, ScanHost, nessus

pytestmark = pytest.mark.dateless  # every instant is the scans' own or a given "now"

TZ = ZoneInfo("Asia/Shanghai")
HOT = "FCE4D6"  # the writer's highlight
UPS, WEB, PC, STRAY = "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.9"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


#: the scans: when, and each host's findings (plugin, port, Nessus severity 4 critical … 1 low)
SCANS: list[tuple[str, dict[str, list[tuple[str, int, int]]]]] = [
    # Q1: P1 critical on the core UPS (due 7 days later), P2 medium on the important web server
    ("2026-03-10 10:00", {UPS: [("P1", 443, 4)], WEB: [("P2", 22, 2)]}),
    # Q3: P2 gone (fixed, late: due 05-09); P3 high on the UPS (due 07-20), P4 low on the web
    # server (accepted below), P5 high on a general PC (due 09-03), P6 medium on a host no one
    # registered (due 10-03)
    (
        "2026-07-05 10:00",
        {
            UPS: [("P1", 443, 4), ("P3", 22, 3)],
            WEB: [("P4", 80, 1)],
            PC: [("P5", 3389, 3)],
            STRAY: [("P6", 23, 2)],
        },
    ),
    # Q3: P1 gone (fixed, late); the rest seen again
    (
        "2026-08-20 10:00",
        {UPS: [("P3", 22, 3)], WEB: [("P4", 80, 1)], PC: [("P5", 3389, 3)], STRAY: [("P6", 23, 2)]},
    ),
    # Q4: P3 gone (fixed after the quarter)
    (
        "2026-10-03 10:00",
        {UPS: [], WEB: [("P4", 80, 1)], PC: [("P5", 3389, 3)], STRAY: [("P6", 23, 2)]},
    ),
]


def _seed(folder: Path) -> None:
    with clock.frozen(local("2026-03-01 09:00")):
        factories.asset("UPS-01", name="1号UPS", kind="ups", importance="core", mgmt_ip=UPS)
        factories.asset("WEB-01", name="门户网站", importance="important", mgmt_ip=WEB)
        factories.asset("PC-07", name="值班电脑", importance="general", mgmt_ip=PC)
        db.session().commit()
    for n, (at, hosts) in enumerate(SCANS):
        start = local(at)
        path = nessus(
            folder / f"scan{n}.nessus",
            start,
            [
                ScanHost(ip, items=[Item(p, port, sev, name=f"漏洞 {p}") for p, port, sev in items])
                for ip, items in hosts.items()
            ],
        )
        with clock.frozen(start + timedelta(hours=1)):
            services.import_file(path)
            db.session().commit()
        if n == 1:  # the web server's low finding: a risk accepted until the year's end
            with clock.frozen(start + timedelta(days=1)):
                (p4,) = [
                    f
                    for f in queries.findings_first_seen_before(start + timedelta(1))
                    if f.plugin_id == "P4"
                ]
                services.set_state(
                    p4,
                    "accepted",
                    reason="厂商已停止支持，端口仅内网可达",
                    approver="王主任",
                    accepted_until=date(2026, 12, 31),
                )
                db.session().commit()


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(min_row=4, values_only=True))


def _hot(ws: Any) -> list[Any]:
    return [
        r[5].value for r in ws.iter_rows(min_row=4) if (r[0].fill.fgColor.rgb or "").endswith(HOT)
    ]


def test_vulnerability_report_of_a_quarter(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q3.xlsx"
    with db_app.test_request_context("/"):
        _seed(tmp_path)
        build_pack(parse_period("2026Q3", TZ), out, ["vulns"], now=local("2026-10-05 09:00"))
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "封面",
        "综述",
        "漏洞扫描",
        "漏洞按风险等级统计",
        "已修复漏洞",
        "逾期未修复漏洞",
        "接受的风险",
        "漏洞趋势",
    ]
    cover = {row[0]: row[1] for row in book["封面"].iter_rows(min_row=3, values_only=True)}
    # scans in Q3: July and August; found in Q3: P3-P6; fixed in Q3: P2 (July), P1 (August);
    # open at the end: P3, P5 (high), P6 (P4 accepted); overdue on 09-30: P3 and P5
    assert cover["发现的漏洞"] == 4
    assert cover["已修复并验证的漏洞"] == 2
    assert cover["逾期未修复漏洞"] == 2

    scans = book["漏洞扫描"]
    assert "共扫描 2 次；发现漏洞 4 个，经后续扫描确认修复 2 个，未关闭 3 个，逾期 2 个" in (
        scans["A1"].value
    )
    assert [(r[0], r[1], r[4], r[5]) for r in _rows(scans)] == [
        (datetime(2026, 7, 5, 10, 0), "Nessus", 4, 5),  # P1 and P3-P6
        (datetime(2026, 8, 20, 10, 0), "Nessus", 4, 4),
    ]

    by_severity = book["漏洞按风险等级统计"]
    header = [c.value for c in by_severity[3]]
    assert header == [
        "级别",
        "本期发现",
        "已修复并验证",
        "未关闭",
        "核心资产上未关闭",
        "重要资产上未关闭",
        "一般资产上未关闭",
        "未登记主机上未关闭",
        "已逾期",
        "接受风险",
    ]
    assert [r[1:] for r in _rows(by_severity)] == [
        (0, 1, 0, 0, 0, 0, 0, 0, 0),  # critical: P1 fixed
        (2, 0, 2, 1, 0, 1, 0, 2, 0),  # high: P3 (core), P5 (general), both overdue
        (1, 1, 1, 0, 0, 0, 1, 0, 0),  # medium: P6 new (unregistered), P2 fixed
        (1, 0, 0, 0, 0, 0, 0, 0, 1),  # low: P4 new and accepted
    ]

    fixed = book["已修复漏洞"]
    rows = _rows(fixed)
    assert [(r[0], r[5], r[10], r[11], r[12]) for r in rows] == [
        (
            "WEB-01",
            "漏洞 P2",
            datetime(2026, 5, 9),
            datetime(2026, 7, 5, 10),
            datetime(2026, 7, 5, 10),
        ),
        (
            "UPS-01",
            "漏洞 P1",
            datetime(2026, 3, 17),
            datetime(2026, 8, 20, 10),
            datetime(2026, 8, 20, 10),
        ),
    ]
    assert [r[3] for r in rows] == ["重要", "核心"]
    assert _hot(fixed) == ["漏洞 P2", "漏洞 P1"]  # both after their due dates

    late = book["逾期未修复漏洞"]
    assert [(r[0], r[5], r[10], r[11], r[12]) for r in _rows(late)] == [
        ("UPS-01", "漏洞 P3", datetime(2026, 7, 20), "此后已于 2026-10-03 修复", 72),
        ("PC-07", "漏洞 P5", datetime(2026, 9, 3), "待处理", 27),
    ]

    accepted = book["接受的风险"]
    assert [(r[0], r[5], r[11], r[12], r[13]) for r in _rows(accepted)] == [
        ("WEB-01", "漏洞 P4", "厂商已停止支持，端口仅内网可达", "王主任", datetime(2026, 12, 31))
    ]

    trend = book["漏洞趋势"]
    # open at each quarter's end: none in 2025Q4; P1 and P2 in Q1 and Q2; P3, P5, P6 in Q3
    assert _rows(trend) == [
        ("2025年第4季度", 0, 0, 0, 0),
        ("2026年第1季度", 1, 0, 1, 0),
        ("2026年第2季度", 1, 0, 1, 0),
        ("2026年第3季度", 0, 2, 1, 0),
    ]
    charts = trend._charts  # type: ignore[attr-defined]
    assert [len(chart.series) for chart in charts] == [4]  # a series per severity

    # the recommendations: R-VULN-01 for the core UPS's overdue high finding, not the PC's
    summary = "\n".join(
        str(c) for row in book["综述"].iter_rows(values_only=True) for c in row if c is not None
    )
    assert "R-VULN-01" in summary and "核心资产 1号UPS (UPS-01)（10.0.0.1）" in summary
    assert "值班电脑" not in summary and "R-VULN-02" not in summary
    assert "本期共扫描 2 次，发现漏洞 4 个；经后续扫描确认修复 2 个；仍有 3 个未关闭" in summary

    # the running quarter, as of its build time (10-05): the October scan proved P3 fixed; P5
    # and P6 (due 10-03) are overdue; in English
    out4 = tmp_path / "q4.xlsx"
    with db_app.test_request_context("/"):
        build_pack(
            parse_period("2026Q4", TZ), out4, ["vulns"], lang="en", now=local("2026-10-05 09:00")
        )
    book = openpyxl.load_workbook(out4)
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(min_row=3, values_only=True)}
    assert cover["Vulnerabilities found"] == 0
    assert cover["Vulnerabilities fixed and verified"] == 1
    assert cover["Vulnerabilities overdue"] == 2
    late = book["Vulnerabilities overdue"]
    assert [(r[0], r[4], r[11], r[12]) for r in _rows(late)] == [
        ("PC-07", "3389/tcp", "Pending fix", 32),
        (None, "23/tcp", "Pending fix", 2),
    ]
    assert _rows(late)[1][1] == "not registered"
    assert _rows(book["Vulnerability trend"])[-1] == ("2026Q4", 0, 1, 1, 0)
