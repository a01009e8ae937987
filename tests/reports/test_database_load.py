"""The database workload kind (核心数据库工作压力) on a seeded quarter: a PostgreSQL server and a
MariaDB server with a quarter of hourly rollups, a database server without readings and a
retired one. Every figure of the sheets is computed here from the seeded series (weekly peak and
nearest-rank 95th percentile, the cache hit rate's lowest hourly mean and 5th percentile, the
sizes and their growth, the volume's crossing day of an exact line), and the R-DB rules that
fire on them are read back from the summary sheet in Chinese and English.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
from flask import Flask
from pytest import approx
from sqlalchemy import insert

from monitors.models import Monitor, Reading, Resolution, Rollup
from opskit import db
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories
from tests.reports.test_pack import START, TZ, local
from tests.reports.test_summary import summary_of

NOW = local("2026-10-09 09:00")  # the quarter is over: judged as of its end
HOURS = 92 * 24
MIB, GIB = 1024**2, 1024**3
FIRST_DAY, LAST_DAY = date(2026, 7, 1), date(2026, 9, 30)

#: the seeded series: metric, instance → (hour → mean, spread of the peak above the mean)
Series = dict[tuple[str, str], tuple[Callable[[int], float], float]]
PG: Series = {
    ("db.connections.used_percent", ""): (lambda h: 50 + 30 * ((h * 7) % 24) / 23, 6.0),
    ("db.transactions_per_s", ""): (lambda h: 100.0 + h % 50, 20.0),
    ("db.transactions_per_s", "app"): (lambda h: 1e6, 0.0),  # one database: not the server's
    ("db.cache_hit_percent", ""): (lambda h: 90.0 if h % 10 == 0 else 99.0 + (h % 7) / 10, 0.0),
    ("db.deadlocks_per_h", ""): (lambda h: 2.0 if h % 500 == 7 else 0.0, 0.0),
    ("db.locks.waiting", ""): (lambda h: float(h % 4), 1.0),
    ("db.temp_bytes_per_s", ""): (lambda h: 2e6 + 1000.0 * (h % 24), 5e5),
    ("db.size_bytes", "app"): (lambda h: GIB + h * MIB, 0.0),
    ("db.size_bytes", "postgres"): (lambda h: 8.0 * MIB, 0.0),
    ("host.storage.used_percent", "/"): (lambda h: 40.0, 0.0),
    ("host.storage.used_percent", "/var/lib/postgresql"): (lambda h: 50 + 0.35 * h / 24, 0.5),
    ("host.storage.size_bytes", "/var/lib/postgresql"): (lambda h: 500.0 * GIB, 0.0),
}
MY: Series = {
    ("db.connections.used_percent", ""): (lambda h: 20 + h % 20, 2.0),
    ("db.queries_per_s", ""): (lambda h: 300.0 + (h % 100) * 2, 50.0),
    ("db.cache_hit_percent", ""): (lambda h: 99.5, 0.0),
    ("db.slow_queries_per_min", ""): (lambda h: 0.5 + 1.5 * h / HOURS, 1.0),
    ("db.replication.lag_s", ""): (lambda h: 5.0 + h % 3, 25.0),
    ("db.size_bytes", "shop"): (lambda h: 200.0 * MIB + 0.5 * MIB * h, 0.0),
}


def seed() -> None:
    sess = db.session()
    pg = factories.asset("DB-PG", name="核心库")
    my = factories.asset("DB-MY", name="商城库", specs={"role": "database"})
    idle = factories.asset("DB-IDLE", name="备用库")
    gone = factories.asset("DB-OLD", name="旧库", status="retired")
    sess.flush()
    for asset, kind in ((pg, "postgresql"), (my, "mysql"), (idle, "mysql"), (gone, "postgresql")):
        sess.add(Monitor(asset_id=asset.id, kind=kind, name=kind, settings={"host": "127.0.0.1"}))
    rows = []
    for asset_id, series in ((pg.id, PG), (my.id, MY), (gone.id, PG)):
        for (metric, instance), (mean, spread) in series.items():
            for h in range(HOURS):
                value = mean(h)
                rows.append(
                    {
                        "asset_id": asset_id,
                        "metric": metric,
                        "instance": instance,
                        "resolution": int(Resolution.HOUR),
                        "bucket": (START + timedelta(hours=h)).astimezone(UTC),
                        "count": 60,
                        "min": value - spread,
                        "max": value + spread,
                        "avg": value,
                        "last": value,
                    }
                )
    sess.execute(insert(Rollup), rows)
    sess.commit()


def nearest_rank(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def week_of(h: int) -> date:
    day = (START + timedelta(hours=h)).date()
    return max(day - timedelta(days=day.weekday()), FIRST_DAY)


def weekly(series: Series, metric: str, low: bool = False) -> dict[date, tuple[float, float]]:
    """week → (peak, 95th percentile of the hourly means); ``low``: (lowest mean, 5th)."""
    mean, spread = series[(metric, "")]
    means: dict[date, list[float]] = {}
    for h in range(HOURS):
        means.setdefault(week_of(h), []).append(mean(h))
    return {
        w: (min(vs), nearest_rank(vs, 0.05)) if low else (max(vs) + spread, nearest_rank(vs, 0.95))
        for w, vs in means.items()
    }


def table(ws: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """The header and the rows (as header → value) of a sheet, below its note."""
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    top = next(i for i, r in enumerate(rows) if r[0] in ("资产编号", "Asset tag"))
    header = [str(c) for c in rows[top] if c is not None]
    return header, [dict(zip(header, r, strict=False)) for r in rows[top + 1 :]]


def test_database_workload_of_a_seeded_quarter(db_app: Flask, tmp_path: Path) -> None:
    zh, en = tmp_path / "zh.xlsx", tmp_path / "en.xlsx"
    period = parse_period("2026Q3", TZ)
    with db_app.test_request_context("/"):
        seed()
        build_pack(period, zh, ["database_load"], now=NOW)
        build_pack(period, en, ["database_load"], lang="en", now=NOW)
    book = openpyxl.load_workbook(zh)
    assert book.sheetnames == [
        "封面",
        "综述",
        "核心数据库工作压力",
        "数据库每周负载",
        "数据库大小",
        "数据库所在卷预测",
        "数据库耗时语句",
    ]

    # --- the period's figures per server and metric; the idle server says it has none
    _h, summary = table(book["核心数据库工作压力"])
    by = {(r["资产编号"], r["指标"]): r for r in summary}
    assert [r["资产编号"] for r in summary if r["备注"] == "本期无监控数据"] == ["DB-IDLE"]
    assert not any(r["资产编号"] == "DB-OLD" for r in summary)  # retired
    pg_conn = [PG[("db.connections.used_percent", "")][0](h) for h in range(HOURS)]
    row = by[("DB-PG", "数据库连接使用率")]
    assert row["引擎"] == "PostgreSQL" and row["单位"] == "%"
    assert row["峰值（缓冲命中率：最低小时均值）"] == approx(round(max(pg_conn) + 6, 2))
    assert row["95 百分位（缓冲命中率：5 百分位）"] == approx(round(nearest_rank(pg_conn, 0.95), 2))
    assert row["有数据的小时数"] == HOURS
    cache = [PG[("db.cache_hit_percent", "")][0](h) for h in range(HOURS)]
    row = by[("DB-PG", "缓冲区命中率")]
    assert row["口径"] == "最低小时均值、5 百分位"
    assert row["峰值（缓冲命中率：最低小时均值）"] == approx(min(cache))
    assert row["95 百分位（缓冲命中率：5 百分位）"] == approx(nearest_rank(cache, 0.05))
    tps = [PG[("db.transactions_per_s", "")][0](h) for h in range(HOURS)]
    assert by[("DB-PG", "每秒事务数")]["峰值（缓冲命中率：最低小时均值）"] == max(tps) + 20
    temp = by[("DB-PG", "临时文件写入速率")]
    assert temp["单位"] == "MB/s"
    assert temp["峰值（缓冲命中率：最低小时均值）"] == approx(round((2e6 + 23000 + 5e5) / 1e6, 2))
    assert by[("DB-MY", "每秒语句数")]["引擎"] == "MySQL / MariaDB"

    # --- every week of every metric
    _h, weeks = table(book["数据库每周负载"])
    got = {
        (r["资产编号"], r["指标"], r["周起始"].date()): (
            r["峰值（缓冲命中率：最低小时均值）"],
            r["95 百分位（缓冲命中率：5 百分位）"],
        )
        for r in weeks
    }
    expected: dict[tuple[str, str, date], tuple[float, float]] = {}
    for tag, series, metric, word, low in (
        ("DB-PG", PG, "db.connections.used_percent", "数据库连接使用率", False),
        ("DB-PG", PG, "db.cache_hit_percent", "缓冲区命中率", True),
        ("DB-PG", PG, "db.deadlocks_per_h", "每小时死锁数", False),
        ("DB-MY", MY, "db.slow_queries_per_min", "每分钟慢查询数", False),
        ("DB-MY", MY, "db.replication.lag_s", "复制延迟", False),
    ):
        for w, (worst, pct) in weekly(series, metric, low).items():
            expected[(tag, word, w)] = (round(worst, 2), round(pct, 2))
    assert {k: got[k] for k in expected} == expected
    assert len({k[2] for k in got}) == 14  # 07-01 (a Wednesday) to the week from 09-28

    # --- sizes: the first and the last hour, the growth
    _h, sizes = table(book["数据库大小"])
    app = next(r for r in sizes if r["数据库"] == "app")
    first, last = GIB, GIB + (HOURS - 1) * MIB
    assert app["期初大小（MiB）"] == approx(first / MIB)
    assert app["期末大小（MiB）"] == approx(last / MIB)
    assert app["增长（MiB）"] == approx((last - first) / MIB)
    assert app["增长率"] == approx((last - first) / first)
    assert app["每 30 天增长（MiB）"] == approx(
        round((last - first) / MIB / ((HOURS - 1) / 24) * 30, 2)
    )
    assert app["首个数值时间"] == START.replace(tzinfo=None)
    assert [r["数据库"] for r in sizes if r["资产编号"] == "DB-PG"] == ["app", "postgres"]
    assert [r["备注"] for r in sizes if r["资产编号"] == "DB-IDLE"] == ["本期无监控数据"]

    # --- the volume holding the data: the longest mount prefix; an exact line crosses 85 %
    _h, volumes = table(book["数据库所在卷预测"])
    vol = {r["资产编号"]: r for r in volumes}
    pg = vol["DB-PG"]
    assert pg["卷"] == "/var/lib/postgresql" and pg["卷容量（GiB）"] == 500
    # daily peak on day d: 50.5 + 0.35 (d + 23/24); the first whole day after 09-30 at 85
    cross = FIRST_DAY + timedelta(days=math.ceil((85 - 50.5) / 0.35 - 23 / 24))
    assert pg["最可能越限日期"].date() == cross
    assert pg["最早（90% 区间）"].date() == cross
    assert pg["每 30 天增长（百分点）"] == approx(0.35 * 30)
    assert pg["已使用（%）"] == approx(round(50 + 0.35 * (HOURS - 1) / 24, 2))
    assert vol["DB-MY"]["卷"] is None
    assert "未监控" in vol["DB-MY"]["卷的确定方式"]

    # --- the rules: fired on these series, and quiet where the series stay inside
    lines, _header, rows = summary_of(zh)
    ends = [GIB + (HOURS - 1) * MIB, 8 * MIB, 200 * MIB + 0.5 * MIB * (HOURS - 1)]
    grown = [(HOURS - 1) * MIB, 0, 0.5 * MIB * (HOURS - 1)]
    assert lines[1] == (
        "本期监控核心数据库服务器 3 台（其中 1 台没有数据库指标）；其 3 个数据库共 "
        f"{sum(ends) / GIB:.2f} GiB，较期初增长 {sum(grown) / GIB:.2f} GiB。"
    )
    fired = {r[0]: r[1] for r in rows}
    days_left = (cross - LAST_DAY).days
    peak = round(max(pg_conn) + 6, 1)
    assert fired["R-DB-01"] == (
        f"核心库 (DB-PG)（PostgreSQL）在2026年第3季度的连接数峰值达到最大连接数的 {peak} %（95 "
        f"百分位 {round(nearest_rank(pg_conn, 0.95), 1)} %）：请在应用侧使用连接池，或在内存允许时"
        "调高 max_connections，避免新连接被拒绝。"
    )
    assert fired["R-DB-02"].startswith(
        f"核心库 (DB-PG)（PostgreSQL）在2026年第3季度的缓冲命中率 5 百分位为 "
        f"{nearest_rank(cache, 0.05)} %"
    )
    deadlock_hours = sum(1 for h in range(HOURS) if h % 500 == 7)
    assert f"有 {deadlock_hours} 个小时发生死锁（共约 {2 * deadlock_hours} 次" in fired["R-DB-05"]
    assert fired["R-DB-06"].startswith(
        f"核心库 (DB-PG)（PostgreSQL）数据所在的卷 /var/lib/postgresql 已使用 "
        f"{round(50 + 0.35 * (HOURS - 1) / 24, 1)} %，最可能在 {cross}（最早 {cross}）达到限值 "
        f"85.0 %，距今 {days_left} 天"
    )
    slow = [sum(m) / len(m) for _w, m in sorted(_weekly_means(MY, "db.slow_queries_per_min"))]
    first4, last4 = sum(slow[:4]) / 4, sum(slow[-4:]) / 4
    rise = round((last4 - first4) / first4 * 100, 1)
    assert fired["R-DB-04"].startswith(
        f"商城库 (DB-MY)（MySQL / MariaDB）的慢语句由每分钟 {round(first4, 2)} 条升至 "
        f"{round(last4, 2)} 条（前 4 周与后 4 周均值，+{rise} %）"
    )
    assert fired["R-DB-07"].startswith("备用库 (DB-IDLE) 已配置数据库监控（MySQL / MariaDB）")
    assert "R-DB-03" not in fired  # DB-MY's lag: 95th percentile 7 s
    assert not any("DB-MY" in t for i, t in fired.items() if i in ("R-DB-01", "R-DB-02"))

    # --- English: words translated, the same figures
    book = openpyxl.load_workbook(en)
    assert book.sheetnames[2:] == [
        "Database workload",
        "Database weekly load",
        "Database sizes",
        "Database volume forecast",
        "Database top statements",
    ]
    header, summary = table(book["Database workload"])
    assert header[:4] == ["Asset tag", "Name", "Engine", "Metric"]
    row = next(
        r for r in summary if r["Asset tag"] == "DB-PG" and r["Metric"] == "Buffer cache hit rate"
    )
    assert row["Figures"] == "lowest hourly mean, 5th percentile"
    assert row["95th percentile (cache hit: 5th)"] == approx(nearest_rank(cache, 0.05))
    _lines, _header, rows = summary_of(en)
    english = {r[0]: r[1] for r in rows}
    assert english["R-DB-06"].startswith(
        "Volume /var/lib/postgresql holding the data of 核心库 (DB-PG) (PostgreSQL)"
    )
    assert sorted(english) == sorted(fired)
    cover = dict(
        (r[0], r[1]) for r in openpyxl.load_workbook(zh)["封面"].iter_rows(values_only=True)
    )
    assert cover["核心数据库服务器"] == 3
    assert cover["数据库缓冲命中率最低值（5 百分位）"] == approx(nearest_rank(cache, 0.05) / 100)


def _weekly_means(series: Series, metric: str) -> list[tuple[date, list[float]]]:
    mean, _spread = series[(metric, "")]
    out: dict[date, list[float]] = {}
    for h in range(HOURS):
        out.setdefault(week_of(h), []).append(mean(h))
    return list(out.items())


def test_the_volume_holding_the_data_or_why_it_is_not_found(app: Flask, tmp_path: Path) -> None:
    """From raw readings (no rollups yet): a registered ``db_volume`` is used when it has
    readings and named when it has none; a host whose volumes hold no default data directory,
    and a host without volume readings, say so in their rows."""
    out = tmp_path / "pack.xlsx"
    with app.test_request_context("/"):
        sess = db.session()
        hosts = {
            "DB-REG": ({"db_volume": "/srv/pg"}, "postgresql", ["/", "/srv/pg"]),
            "DB-LOST": ({"db_volume": "/data"}, "postgresql", ["/"]),
            "DB-WIN": ({}, "mysql", ["C:\\"]),
            "DB-BARE": ({}, "mysql", []),
        }
        for tag, (specs, kind, volumes) in hosts.items():
            asset = factories.asset(tag, name=tag.lower(), specs=specs)
            sess.flush()
            sess.add(Monitor(asset_id=asset.id, kind=kind, name=kind, settings={}))
            at = local("2026-09-10 10:00")
            sess.add(
                Reading(asset_id=asset.id, metric="db.connections.used_percent", at=at, value=12.5)
            )
            for volume in volumes:
                sess.add(
                    Reading(
                        asset_id=asset.id,
                        metric="host.storage.used_percent",
                        instance=volume,
                        at=at,
                        value=61.0,
                    )
                )
        sess.commit()
        build_pack(parse_period("2026Q3", TZ), out, ["database_load"], lang="en", now=NOW)
    book = openpyxl.load_workbook(out)
    _h, rows = table(book["Database volume forecast"])
    got = {
        r["Asset tag"]: (r["Volume"], r["How the volume was found"], r["Used (%)"]) for r in rows
    }
    assert got == {
        "DB-BARE": (None, "the host's volumes are not monitored (no storage readings)", None),
        "DB-LOST": (None, "volume /data (registered) has no readings of its use", None),
        "DB-REG": ("/srv/pg", "registered (db_volume)", 61.0),
        "DB-WIN": (
            None,
            "no monitored volume holds /var/lib/mysql; register the asset's db_volume",
            None,
        ),
    }
    forecast = {r["Asset tag"]: r["Forecast"] for r in rows}
    assert forecast["DB-REG"] == "not enough data (1 days of daily peaks, 28 needed)"
    _h, rows = table(book["Database workload"])
    assert {
        (r["Asset tag"], r["Metric"], r["Peak (cache hit: lowest hourly mean)"]) for r in rows
    } == {(tag, "Database connections used", 12.5) for tag in hosts}
