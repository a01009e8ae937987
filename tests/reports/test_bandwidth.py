"""The 线路带宽 kind on a seeded 2026Q3 (clock set to 2026-10-10), read back with openpyxl: a
line linked to a router port with 5-minute traffic rollups (and another port's traffic that must
not count), a line linked to a port without traffic, a line without a link. The 95th
percentile (nearest rank) and the peak are computed here from the seeded values. SQLite and
PostgreSQL."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from flask import Flask
from flask_babel import force_locale
from pytest import approx

from assets import services as registry
from monitors.models import Reading, Resolution
from opskit import clock, db
from reports.build import build_pack
from reports.kinds import KINDS, Context
from reports.periods import parse_period
from tests import factories
from tests.reports.rollups import five_minute

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 10, 10, 0, tzinfo=TZ)
START = datetime(2026, 7, 1, tzinfo=TZ)
FIVE = int(Resolution.FIVE_MINUTES)
MBPS = 1_000_000


def traffic(k: int, scale: float) -> float:
    """Bits per second of slot ``k``: 20–95 Mbit/s times ``scale`` in a pattern of 97."""
    return round(scale * (20 + (k * 31) % 97 * 0.78) * MBPS, 1)


def seed() -> dict[str, list[float]]:
    sess = db.session()
    rack = factories.rack(room="A机房", name="A01")
    router = factories.asset("RT-1", kind="router", name="出口路由器", rack=rack)
    ct = factories.asset("LINE-CT", kind="line", name="电信专线", room=rack.room)
    cu = factories.asset("LINE-CU", kind="line", name="联通专线", room=rack.room)
    cm = factories.asset("LINE-CM", kind="line", name="移动专线", room=rack.room)
    registry.save_line(ct, {"carrier": "中国电信", "circuit_id": "CT-1", "bandwidth_mbps": 100})
    registry.save_line(cu, {"carrier": "中国联通", "circuit_id": "CU-1", "bandwidth_mbps": 50})
    registry.save_line(cm, {"carrier": "中国移动", "circuit_id": "CM-1"})
    registry.save_link(ct, "A端", router, "GE0/0/1", medium="光纤")
    registry.save_link(router, "GE0/0/2", cu, "A端")
    sess.flush()
    got: dict[str, list[float]] = {"in": [], "out": []}
    days = [START + timedelta(days=d) for d in (1, 40, 80)]
    rows = []
    k = 0
    for day in days:
        for i in range(288):
            at = day + timedelta(minutes=5 * i)
            value_in, value_out = traffic(k, 1.0), traffic(k + 7, 0.5)
            got["in"].append(value_in)
            got["out"].append(value_out)
            rows.append(five_minute(router.id, "if.in_bps", "GE0/0/1", at, value_in))
            rows.append(five_minute(router.id, "if.out_bps", "GE0/0/1", at, value_out))
            rows.append(five_minute(router.id, "if.in_bps", "GE0/0/3", at, 999 * MBPS))  # no line's
            k += 1
    # after the quarter: not counted
    rows.append(
        five_minute(router.id, "if.in_bps", "GE0/0/1", datetime(2026, 10, 2, tzinfo=TZ), 1e9)
    )
    sess.add_all(rows)
    sess.add(  # the unlinked port GE0/0/2's traffic is stored under another spelling: ge0/0/2
        Reading(
            asset_id=router.id,
            metric="if.in_bps",
            instance="ge 0/0/2",
            at=datetime(2026, 8, 1, 12, 0, tzinfo=TZ),
            value=10 * MBPS,
        )
    )
    sess.commit()
    return got


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def test_line_bandwidth(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q3.xlsx"
    with db_app.test_request_context("/"), clock.frozen(NOW):
        got = seed()
        build_pack(parse_period("2026Q3", TZ), out, ["bandwidth"])
    ws = openpyxl.load_workbook(out)["线路带宽"]
    header = [c.value for c in ws[3]]
    assert header[:6] == ["资产编号", "名称", "运营商", "电路编号", "带宽（Mbit/s）", "设备端口"]
    rows: dict[Any, Any] = {r[0]: r for r in ws.iter_rows(min_row=4, values_only=True)}
    p_in, p_out = nearest_rank(got["in"], 0.95), nearest_rank(got["out"], 0.95)
    ct = rows["LINE-CT"]
    assert ct[1:6] == ("电信专线", "中国电信", "CT-1", 100, "RT-1 GE0/0/1")
    assert ct[6:12] == (
        round(p_in / MBPS, 2),
        round(p_out / MBPS, 2),
        approx(p_in / (100 * MBPS)),
        approx(p_out / (100 * MBPS)),
        round(max(got["in"]) / MBPS, 2),
        round(max(got["out"]) / MBPS, 2),
    )
    assert ct[12] is None
    # the port's name stored another way (case, blanks): found; one raw 5-minute slot
    cu = rows["LINE-CU"]
    assert cu[4:9] == (50, "RT-1 GE0/0/2", 10.0, None, approx(0.2))
    cm = rows["LINE-CM"]
    assert cm[4:6] == (None, None) and cm[6] is None and cm[12] == "未登记到设备端口的连接"


def test_p95_high_finding_for_the_direction_above_80_percent(db_app: Flask) -> None:
    with db_app.test_request_context("/"), clock.frozen(NOW), force_locale("zh_CN"):
        got = seed()
        ctx = Context(period=parse_period("2026Q3", TZ), now=NOW.astimezone(UTC), headline={})
        found = KINDS["bandwidth"].findings(ctx)  # type: ignore[misc]
    p_in, p_out = nearest_rank(got["in"], 0.95), nearest_rank(got["out"], 0.95)
    assert p_in / (100 * MBPS) > 0.8 and p_out / (100 * MBPS) <= 0.8  # the seed's two sides
    # LINE-CU: 10 Mbit/s of 50 (20 %); LINE-CM: no link: neither is a finding
    assert [(f.key, f.subject, f.figures) for f in found] == [
        (
            "bandwidth.p95_high",
            "电信专线 (LINE-CT)",
            {
                "tag": "LINE-CT",
                "name": "电信专线",
                "direction": "入向",
                "p95": round(p_in / MBPS, 2),
                "capacity": 100,
                "use_pct": round(p_in / MBPS, 1),
                "port": "RT-1 GE0/0/1",
            },
        )
    ]
