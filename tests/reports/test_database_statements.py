"""The database workload kind's top statements (数据库耗时语句) on seeded statement hours: the
period's sums, order, mean and share computed here from the seeded rows (hours outside the
period left out), the servers without statements saying why in both languages, and R-DB-08
firing on a statement that takes most of a busy server's time and staying quiet on an idle
server's.
"""

from __future__ import annotations

import zlib
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from flask import Flask
from pytest import approx
from sqlalchemy import insert

from monitors.models import Monitor, StatementHour, StatementState
from opskit import db
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories
from tests.reports.test_database_load import NOW, table
from tests.reports.test_pack import START, TZ
from tests.reports.test_summary import summary_of

HOURS = 72  # three days of the quarter with statements
LOOKUP = "SELECT qty FROM item WHERE id = $1"
REPORT = "SELECT customer_id, sum(total) FROM orders GROUP BY customer_id"


def per_hour(h: int) -> dict[str, tuple[int, float, int]]:
    """DB-A's statements in hour ``h``: text → (calls, total ms, rows)."""
    out = {LOOKUP: (100, 500.0, 100)}
    if h % 3 == 0:
        out[REPORT] = (1, 5000.0, 40)
    for i in range(3, 13):  # ten small ones: the sheet keeps ten of the twelve
        out[f"SELECT {i}"] = (1, float(i), 1)
    return out


def _row(monitor: Monitor, hour: Any, text: str, figures: tuple[int, float, int]) -> dict:
    sid = "*" if text == "*" else str(zlib.crc32(text.encode()))
    return {
        "monitor_id": monitor.id,
        "asset_id": monitor.asset_id,
        "hour": hour,
        "database": "" if text == "*" else "shop",
        "statement_id": sid,
        "text": "" if text == "*" else text,
        "calls": figures[0],
        "total_ms": figures[1],
        "rows": figures[2],
    }


def seed() -> None:
    sess = db.session()
    monitors = {}
    for tag, kind in (
        ("DB-A", "postgresql"),
        ("DB-B", "mysql"),
        ("DB-C", "postgresql"),
        ("DB-D", "postgresql"),
        ("DB-E", "mysql"),
    ):
        asset = factories.asset(tag, name=tag.lower())
        sess.flush()
        monitors[tag] = Monitor(asset_id=asset.id, kind=kind, name=kind, settings={})
    sess.add_all(monitors.values())
    sess.flush()
    rows = []
    for h in range(HOURS):
        hour = (START + timedelta(hours=h)).astimezone(UTC)
        stmts = per_hour(h)
        for text, figures in stmts.items():
            rows.append(_row(monitors["DB-A"], hour, text, figures))
        every = (sum(f[0] for f in stmts.values()) + 50, sum(f[1] for f in stmts.values()) + 100)
        rows.append(_row(monitors["DB-A"], hour, "*", (every[0], every[1], 0)))
    # outside the period: left out
    before = (START - timedelta(hours=1)).astimezone(UTC)
    rows.append(_row(monitors["DB-A"], before, LOOKUP, (10**6, 10.0**9, 0)))
    rows.append(_row(monitors["DB-A"], before, "*", (10**6, 10.0**9, 0)))
    # an idle server: one statement is most of its time, but there is little time at all
    hour = (START + timedelta(days=3)).astimezone(UTC)
    rows.append(_row(monitors["DB-E"], hour, "SELECT `a` FROM `t`", (10, 900.0, 10)))
    rows.append(_row(monitors["DB-E"], hour, "*", (12, 1000.0, 12)))
    sess.execute(insert(StatementHour), rows)
    why = {
        "DB-B": "performance_schema is OFF (performance_schema=ON in the server's configuration, "
        "then a restart)",
        "DB-C": "pg_stat_statements is not installed in database postgres "
        "(shared_preload_libraries, then CREATE EXTENSION pg_stat_statements)",
    }
    for tag, reason in why.items():
        sess.add(
            StatementState(
                monitor_id=monitors[tag].id, at=NOW, reset="", counters={"missing": reason}
            )
        )
    sess.commit()


def expected() -> tuple[dict[str, tuple[int, float, int]], float]:
    """DB-A's statements summed over the period, and every statement's total ms."""
    sums: dict[str, list[float]] = {}
    every = 0.0
    for h in range(HOURS):
        stmts = per_hour(h)
        for text, (calls, ms, rows) in stmts.items():
            got = sums.setdefault(text, [0, 0.0, 0])
            got[0] += calls
            got[1] += ms
            got[2] += rows
        every += sum(f[1] for f in stmts.values()) + 100
    return {t: (int(c), m, int(r)) for t, (c, m, r) in sums.items()}, every


def test_top_statements_of_a_seeded_period(db_app: Flask, tmp_path: Path) -> None:
    zh, en = tmp_path / "zh.xlsx", tmp_path / "en.xlsx"
    period = parse_period("2026Q3", TZ)
    with db_app.test_request_context("/"):
        seed()
        build_pack(period, zh, ["database_load"], now=NOW)
        build_pack(period, en, ["database_load"], lang="en", now=NOW)

    sums, every = expected()
    ranked = sorted(sums.items(), key=lambda kv: -kv[1][1])[:10]
    _h, rows = table(openpyxl.load_workbook(zh)["数据库耗时语句"])
    a = [r for r in rows if r["资产编号"] == "DB-A"]
    assert [r["语句"] for r in a] == [text for text, _f in ranked]
    assert [r["排名"] for r in a] == list(range(1, 11))
    for row, (_text, (calls, ms, _rows)) in zip(a, ranked, strict=True):
        assert row["数据库"] == "shop"
        assert row["执行次数"] == calls
        assert row["总耗时（秒）"] == approx(round(ms / 1000, 3))
        assert row["平均耗时（毫秒）"] == approx(round(ms / calls, 3))
        assert row["占服务器语句总耗时比例"] == approx(ms / every)
    remarks = {r["资产编号"]: r["备注"] for r in rows if r["资产编号"] != "DB-A"}
    assert remarks == {
        "DB-B": "未开启 performance_schema",
        "DB-C": "未开启 pg_stat_statements",
        "DB-D": "本期没有语句统计数据",
        "DB-E": None,
    }

    # R-DB-08: the report statement is most of DB-A's time; DB-E's share is high, its time not
    calls, ms, _r = sums[REPORT]
    share = round(ms / every * 100, 1)
    _lines, _header, recs = summary_of(zh)
    fired = [r[1] for r in recs if r[0] == "R-DB-08"]
    assert fired == [
        "db-a (DB-A)（PostgreSQL）在2026年第3季度有一条语句占用了全部语句执行时间的 "
        f"{share} %（执行 {calls} 次，共 {round(ms / 1000, 1)} 秒，"
        f"平均每次 {round(ms / calls, 2)} 毫秒）："
        f"「{REPORT}」。请检查其执行计划（EXPLAIN）、索引以及应用调用它的频率。"
    ]

    book = openpyxl.load_workbook(en)
    _h, rows = table(book["Database top statements"])
    first = next(r for r in rows if r["Asset tag"] == "DB-A")
    assert (first["Statement"], first["Calls"]) == (REPORT, calls)
    assert first["Share of the server's statement time"] == approx(ms / every)
    remarks = {r["Asset tag"]: r["Remark"] for r in rows if r["Asset tag"] in ("DB-B", "DB-C")}
    assert remarks == {
        "DB-B": "performance_schema is not enabled",
        "DB-C": "pg_stat_statements is not enabled",
    }
    _lines, _header, recs = summary_of(en)
    assert [r[1] for r in recs if r[0] == "R-DB-08"] == [
        f"One statement took {share} % of the statement time of db-a (DB-A) (PostgreSQL) in "
        f"2026Q3 ({calls} calls, {round(ms / 1000, 1)} s in all, {round(ms / calls, 2)} ms "
        f"each): “{REPORT}”. Review its plan (EXPLAIN), its indexes and how often the "
        "application runs it."
    ]
