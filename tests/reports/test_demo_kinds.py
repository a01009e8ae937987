"""The living demo's seed fills the 机房环境与供电, 可用性 and 线路带宽 sheets: its rooms'
probes, UPS and PDU readings, its monitors' state changes with an outage inside a core
switch's maintenance window (not counted), its lines' pings (one line with a short outage) and
opskit's own application checks, and its lines linked to the core switches' ports whose
recorded counters give their traffic. Built for the month the seed's history is in."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from flask import Flask
from pytest import approx
from sqlalchemy import select

from assets.models import Asset
from monitors.models import Monitor, StatusFlip
from opskit import clock, db
from opskit.demo.cli import demo_cmd
from opskit.demo.devices import LINES
from opskit.demo.history import HEALTH_CHECK_NAME, LINE_PING_NAME, OPSKIT_HOST, SYSLOG_CHECK_NAME
from reports.build import build_pack
from reports.periods import current_period

MBPS = 1_000_000


def rows(ws: Any) -> list[tuple[Any, ...]]:
    return [r for r in ws.iter_rows(min_row=4, values_only=True)]


def _expected(flips: list[tuple[datetime, str]], start: datetime, until: datetime) -> float:
    """Up / (up + down) over [start, until) from a monitor's state changes, read here
    independently of the report (no maintenance window on these checks)."""
    spent = {"up": timedelta(0), "down": timedelta(0)}
    for (at, state), (end, _next) in zip(flips, [*flips[1:], (until, "")], strict=True):
        part = min(end, until) - max(at, start)
        if state in spent and part > timedelta(0):
            spent[state] += part
    return spent["up"] / (spent["up"] + spent["down"])


def test_demo_fills_the_new_sheets(app: Flask, tmp_path: Path) -> None:
    result = app.test_cli_runner().invoke(demo_cmd, ["--seed-only", "--snmp-port-base", "0"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "demo.xlsx"
    with app.test_request_context("/"):
        period = current_period("month", clock.site_today(), clock.site_tz())
        now = db.utcnow()
        build_pack(period, out, ["environment", "availability", "bandwidth"], now=now)
        checks = {
            (tag, m.name): [
                (f.at, f.new)
                for f in db.session().scalars(
                    select(StatusFlip).where(StatusFlip.monitor_id == m.id).order_by(StatusFlip.at)
                )
            ]
            for m, tag in db.session().execute(
                select(Monitor, Asset.asset_tag).join(Asset, Asset.id == Monitor.asset_id)
            )
        }
    book = openpyxl.load_workbook(out)
    rooms = rows(book["机房温湿度"])
    assert {r[1] for r in rooms} == {"一号机房", "二号机房"}
    assert all(r[11] > 0 for r in rooms)
    ups = {r[0]: r for r in rows(book["UPS负载与电池"])}
    assert set(ups) == {"ZJ-UPS-A1", "ZJ-UPS-A2", "ZJ-UPS-B1", "ZJ-UPS-B2"}
    assert all(r[3] is not None for r in ups.values())
    pdus = rows(book["PDU负载"])
    assert pdus and all(r[4] == 16 and r[5] is not None for r in pdus)

    uptime = {(r[1], r[4]): r for r in rows(book["可用性"])}
    assert ("ZJ-SW-001", "演示 SNMP 代理") in uptime
    # each line's ping and opskit's two application checks, their availability from the
    # seeded state changes (one line down for a quarter of an hour four days ago)
    app_checks = [(OPSKIT_HOST, HEALTH_CHECK_NAME), (OPSKIT_HOST, SYSLOG_CHECK_NAME)]
    for key in [(tag, LINE_PING_NAME) for tag in LINES] + app_checks:
        flips = [(at.replace(tzinfo=now.tzinfo), new) for at, new in checks[key]]
        start = max(period.start, flips[0][0])
        row = uptime[key]
        assert row[0] == ("通信线路" if key[1] == LINE_PING_NAME else "应用检查")
        assert row[10] == approx(_expected(flips, start, min(period.end, now)), abs=1e-9)
    assert len(checks[("ZJ-LINE-002", LINE_PING_NAME)]) == 3  # up, down, up again
    down_at = checks[("ZJ-LINE-002", LINE_PING_NAME)][1][0].replace(tzinfo=now.tzinfo)
    if down_at >= period.start:  # four days back: in this month unless the month is younger
        assert uptime[("ZJ-LINE-002", LINE_PING_NAME)][10] < 1
        line_outages = [r for r in rows(book["中断记录"]) if r[1] == "ZJ-LINE-002"]
        assert [r[7] for r in line_outages] == [15]
    outages = rows(book["中断记录"])
    in_window = [r for r in outages if r[1] == "ZJ-SW-001"]
    if in_window:  # the window is three days back: in this month unless the month is younger
        assert in_window[0][-1] == "在维护窗口内：不计入" and in_window[0][-2] == 0
        # (beside the windows of the demo's firmware upgrade, opskit.demo.configs)
        assert any(r[0].startswith("ZJ-SW-001") for r in rows(book["维护窗口"]))

    lines = {r[0]: r for r in rows(book["线路带宽"])}
    # the recorded counters: 4.5 MB/s in, 9 MB/s out on core A's 10GE1/0/7, a 200 Mbit/s line
    assert lines["ZJ-LINE-001"][4:6] == (200, "ZJ-SW-001 10GE1/0/7")
    assert lines["ZJ-LINE-001"][6:8] == (approx(36.0, abs=0.1), approx(72.0, abs=0.1))
    assert lines["ZJ-LINE-003"][5] == "ZJ-SW-002 10GE1/0/7"
    assert lines["ZJ-LINE-002"][12] == "本期该端口无流量数据"
