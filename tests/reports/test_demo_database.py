"""The living demo's database servers (``opskit.demo.databases``): their disabled PostgreSQL
monitors and seeded ``db.*`` history fill the database workload sheets of the demo's
current-quarter pack (its top statements too), and the busy server's history makes at least two
R-DB recommendations fire on the 综述 sheet. What should fire is worked out here from the seeded
readings."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
from pytest import approx
from sqlalchemy import select

from assets.models import Asset
from monitors.models import Monitor, Reading, StatementHour
from opskit import clock, db
from opskit.demo.databases import DATABASES, DB_MONITOR_NAME
from reports.build import build_pack
from reports.periods import current_period, parse_period
from tests.conftest import copy_demo, login, make_test_app
from tests.reports.test_database_load import table
from tests.reports.test_summary import summary_of


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(p * len(ordered)) - 1, 0)]


def hourly(readings: list[tuple[datetime, float]]) -> list[tuple[float, float]]:
    """(mean, peak) of each clock hour that has readings."""
    hours: dict[datetime, list[float]] = {}
    for at, value in readings:
        hours.setdefault(at.replace(minute=0, second=0, microsecond=0), []).append(value)
    return [(sum(vs) / len(vs), max(vs)) for vs in hours.values()]


def test_demo_database_server_in_the_quarter_pack(demo_template: Path, tmp_path: Path) -> None:
    app = make_test_app(copy_demo(demo_template, tmp_path), tmp_path / "instance", None)
    out = tmp_path / "pack.xlsx"
    busy = next(d for d in DATABASES if d.busy)
    with app.test_request_context("/"):
        now = db.utcnow()
        period = current_period("quarter", clock.site_today(), clock.site_tz())
        if now - period.start < timedelta(days=2):  # a quarter hours old: judge the last one
            before = period.first_day - timedelta(days=1)
            period = parse_period(f"{before.year}Q{(before.month - 1) // 3 + 1}", clock.site_tz())
        monitors = list(
            db.session().scalars(select(Monitor).where(Monitor.name == DB_MONITOR_NAME))
        )
        tags = dict(db.session().execute(select(Asset.id, Asset.asset_tag)).all())
        asset_id = next(i for i, t in tags.items() if t == busy.tag)
        series: dict[str, list[tuple[datetime, float]]] = {}
        until = min(period.end, now)
        for metric, at, value in db.session().execute(
            select(Reading.metric, Reading.at, Reading.value).where(
                Reading.asset_id == asset_id, Reading.instance == "", Reading.metric.like("db.%")
            )
        ):
            at = at.replace(tzinfo=now.tzinfo) if at.tzinfo is None else at
            if period.start <= at < until and value is not None:
                series.setdefault(metric, []).append((at, value))
        statements: dict[str, list[float]] = {}  # the busy server's, summed over the period
        for text, sid, hour, calls, total in db.session().execute(
            select(
                StatementHour.text,
                StatementHour.statement_id,
                StatementHour.hour,
                StatementHour.calls,
                StatementHour.total_ms,
            ).where(StatementHour.asset_id == asset_id)
        ):
            hour = hour.replace(tzinfo=now.tzinfo) if hour.tzinfo is None else hour
            if period.start <= hour < until:
                got = statements.setdefault(text if sid != "*" else "*", [0, 0.0])
                got[0] += calls
                got[1] += total
        build_pack(period, out, ["database_load"], now=now)

    # the monitors: one per demo database server, disabled (no server to poll in the demo)
    assert sorted(tags[m.asset_id] for m in monitors) == sorted(d.tag for d in DATABASES)
    assert all(m.kind == "postgresql" and not m.enabled for m in monitors)

    book = openpyxl.load_workbook(out)
    assert {"核心数据库工作压力", "数据库每周负载", "数据库大小", "数据库所在卷预测"} <= set(
        book.sheetnames
    )
    _h, summary = table(book["核心数据库工作压力"])
    by = {(r["资产编号"], r["指标"]): r for r in summary}
    connections = hourly(series["db.connections.used_percent"])
    conn = by[(busy.tag, "数据库连接使用率")]
    assert conn["峰值（缓冲命中率：最低小时均值）"] == approx(max(p for _m, p in connections))
    assert conn["95 百分位（缓冲命中率：5 百分位）"] == approx(
        nearest_rank([m for m, _p in connections], 0.95), abs=0.006
    )
    assert conn["有数据的小时数"] == len(connections)
    assert {r["资产编号"] for r in summary} == {d.tag for d in DATABASES}
    _h, sizes = table(book["数据库大小"])
    assert {(r["资产编号"], r["数据库"]) for r in sizes} == {
        (d.tag, name) for d in DATABASES for name, _s, _g in d.sizes
    }

    # the rules, from the seeded series: connections peaking above 85 %, cache hit p5 below
    # 95 %, deadlocks in some hours
    cache = [m for m, _p in hourly(series["db.cache_hit_percent"])]
    deadlocks = [m for m, _p in hourly(series["db.deadlocks_per_h"])]
    expected = {
        "R-DB-01": max(p for _m, p in connections) > 85,
        "R-DB-02": nearest_rank(cache, 0.05) < 95,
        "R-DB-05": sum(1 for v in deadlocks if v > 0) >= 1,
    }
    _lines, _header, rows = summary_of(out)
    fired = {r[0] for r in rows if r[0] and str(r[0]).startswith("R-DB") and busy.tag in r[1]}
    assert {rule for rule, fires in expected.items() if fires} <= fired
    assert {rule for rule, fires in expected.items() if not fires}.isdisjoint(fired)
    assert sum(expected.values()) >= 2  # the demo's history makes two or more fire
    # the top statements: the nightly report's takes most of the busy server's time (R-DB-08)
    _h, top = table(book["数据库耗时语句"])
    first = next(r for r in top if r["资产编号"] == busy.tag)
    every = statements.pop("*")[1]
    text, (calls, total) = max(statements.items(), key=lambda kv: kv[1][1])
    assert (first["语句"], first["执行次数"]) == (text, calls)
    assert first["占服务器语句总耗时比例"] == approx(total / every)
    assert total / every > 0.5 and "R-DB-08" in fired
    quiet = next(d for d in DATABASES if not d.busy)
    assert not any(r[0] == "R-DB-08" and quiet.tag in r[1] for r in rows if r[0])
    assert not any(
        r[0] in expected and quiet.tag in r[1] for r in rows if r[0]
    )  # the other server stays inside the limits


def test_demo_database_server_page_shows_its_database_load(
    demo_template: Path, tmp_path: Path
) -> None:
    """The asset page's monitoring panel of the busy demo database server: the disabled
    PostgreSQL monitor, and a section of database trends in words (not metric keys)."""
    app = make_test_app(copy_demo(demo_template, tmp_path), tmp_path / "instance", None)
    busy = next(d for d in DATABASES if d.busy)
    with app.app_context():
        asset_id = db.session().scalar(select(Asset.id).where(Asset.asset_tag == busy.tag))
    client = app.test_client()
    login(client, "viewer")
    zh = {"Accept-Language": "zh-CN"}
    panel = client.get(f"/monitoring/assets/{asset_id}/panel", headers=zh).get_data(as_text=True)
    assert DB_MONITOR_NAME in panel and "已停用" in panel
    section = panel[panel.index('id="asset-db-heading"') :]
    assert "数据库负载" in section[:80]
    charts = section[section.index('id="asset-db-charts"') :]
    labels = re.findall(r'data-metric="([^"]+)" title="[^"]+">([^<(\[]+)', charts)
    assert [m for m, _w in labels[:4]] == [
        "db.connections.used_percent",
        "db.transactions_per_s",
        "db.queries_per_s",
        "db.cache_hit_percent",
    ]
    words = {m: w.strip() for m, w in labels}
    assert words["db.connections.used_percent"] == "数据库连接使用率"
    assert words["db.cache_hit_percent"] == "缓冲区命中率"
    sizes = re.findall(r'data-metric="db.size_bytes" title="[^"]+">[^<]*\[([^\]]+)\]', charts)
    assert sorted(sizes) == sorted(name for name, _s, _g in busy.sizes)
    # the host's own trends stay in their section, without database metrics
    host = panel[panel.index('id="asset-charts"') : panel.index('id="asset-db-heading"')]
    assert 'data-metric="db.' not in host and 'data-metric="host.' in host


def test_demo_dashboard_database_tile(demo_template: Path, tmp_path: Path) -> None:
    """The dashboard's database tile: both demo database servers with their newest seeded
    connections used, transactions per second and cache hit, headed in words."""
    app = make_test_app(copy_demo(demo_template, tmp_path), tmp_path / "instance", None)
    newest: dict[tuple[str, str], float] = {}
    with app.app_context():
        tags = dict(db.session().execute(select(Asset.id, Asset.asset_tag)).all())
        for asset_id, metric, value in db.session().execute(
            select(Reading.asset_id, Reading.metric, Reading.value)
            .where(Reading.metric.like("db.%"), Reading.instance == "")
            .order_by(Reading.at)
        ):
            if value is not None:
                newest[(tags[asset_id], metric)] = value
    client = app.test_client()
    login(client, "viewer")
    tile = client.get("/tiles/databases", headers={"Accept-Language": "zh-CN"})
    html = tile.get_data(as_text=True)
    assert "数据库负载" in html
    head = html[html.index("<thead>") : html.index("</thead>")]
    assert all(w in head for w in ("数据库连接使用率", "每秒事务数", "缓冲区命中率"))
    assert re.findall(r'data-database="([^"]+)"', html) == sorted(d.tag for d in DATABASES)
    for d in DATABASES:
        row = html[html.index(f'data-database="{d.tag}"') :].split("</tr>")[0]
        conn = newest[(d.tag, "db.connections.used_percent")]
        assert f"{round(conn)}%" in row
        assert f"{round(newest[(d.tag, 'db.cache_hit_percent')], 1)}%" in row
        assert ("text-bg-warning" in row) == (
            conn > 85 or newest[(d.tag, "db.cache_hit_percent")] < 95
        )
