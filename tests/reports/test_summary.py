"""The 综述 (summary) sheet and the recommendations engine.

A seeded 2026Q3 (the pack tests' seed, plus servers, volumes, warranties, alerts, incidents and
a patrol finding chosen so that each shipped rule has a case that fires and one that stays
quiet); every sentence and recommendation is checked against figures computed here from the
seed. The override file (replace, add, turn off) and bad files, in Chinese and English.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from assets.models import Asset, Room
from monitors.models import Reading, Resolution, Rollup
from opskit import db
from opskit.alerts import incidents, services
from reports import recommendations as rec
from reports.build import ReportError, build_pack
from reports.findings import Finding
from reports.periods import parse_period
from tests import factories
from tests.reports.test_pack import START, TZ, local, seed

KINDS = ["config_storage", "patrol", "alerts", "service_requests", "load", "warranty"]
NOW = local("2026-10-09 09:00")  # the quarter is over: judged as of its end
END = local("2026-10-01 00:00")  # the quarter's end (the "as of" instant)
HOURS = 92 * 24


def cpu_rollups(asset_id: int, avg_at: Any, hours: range = range(HOURS)) -> list[Rollup]:
    """Hourly CPU rollups: ``avg_at(days since 07-01)`` the hour's mean, its peak 5 above."""
    return [
        Rollup(
            asset_id=asset_id,
            metric="host.cpu.load_percent",
            instance="",
            resolution=int(Resolution.HOUR),
            bucket=(START + timedelta(hours=h)).astimezone(UTC),
            count=60,
            min=avg_at(h / 24) - 5,
            max=avg_at(h / 24) + 5,
            avg=avg_at(h / 24),
            last=avg_at(h / 24),
        )
        for h in hours
    ]


def crossing_day(base: float, slope: float) -> date:
    """The day a series whose daily peak on day d is ``base + slope * (d + 23/24)`` reaches 80
    (the CPU limit): the first whole day at or above it."""
    return date(2026, 7, 1) + timedelta(days=math.ceil((80 - base) / slope - 23 / 24))


def seed_summary() -> dict[str, Any]:
    """test_pack's seed (SRV-DB's CPU crossing 80 % on 2026-10-19, its /data at 86 %, the
    patrol plan with 3 of 184 rounds done and one finding closed, APP-DB a database without
    load values) and, for the rules' other cases: SRV-B's CPU crossing in about 170 days,
    SRV-HOT's flat above the limit, SRV-NEW's five days of values, SRV-B's /logs at 95 %,
    warranties expired / ending in 46 days / ending in 92 days, ten alerts (one A, one B, eight
    C: five on SRV-HOT, two on SRV-DB), two incidents and a patrol finding left open."""
    seed()
    sess = db.session()
    srv_b = factories.asset("SRV-B", name="文件服务器", importance="core")
    hot = factories.asset("SRV-HOT", name="计算服务器", importance="core")
    new = factories.asset("SRV-NEW", name="新上线服务器", importance="core")
    old = factories.asset("OLD-1", name="旧服务器", warranty_end=date(2026, 9, 1))
    factories.asset("SOON-1", name="存储阵列", warranty_end=date(2026, 11, 15))
    factories.asset("LATE-1", name="备份服务器", warranty_end=date(2026, 12, 31))
    sess.flush()
    sess.add_all(cpu_rollups(srv_b.id, lambda d: 10 + 0.25 * d))
    sess.add_all(cpu_rollups(hot.id, lambda d: 85.0))
    sess.add_all(cpu_rollups(new.id, lambda d: 30.0, range(HOURS - 5 * 24, HOURS)))
    for when, used in (("2026-07-03 10:00", 60.0), ("2026-09-20 10:00", 95.0)):
        sess.add(
            Reading(
                asset_id=srv_b.id,
                metric="host.storage.used_percent",
                instance="/logs",
                at=local(when),
                value=used,
            )
        )
    sess.commit()

    def alert(key, urgency, first, ack=None, onsite=None, resolved=None, asset_id=None):
        a = services.raise_alert(
            key,
            source="monitor",
            rule="r." + key,
            urgency=urgency,
            message=f"告警 {key}",
            asset_id=asset_id,
            at=local(first),
        )
        a.acknowledged_at = local(ack) if ack else None
        a.onsite_at = local(onsite) if onsite else None
        if resolved:
            services.resolve(a, "处理完毕", at=local(resolved))

    # as tests/reports/test_reports.py's quarter: a1 all met; b1 acknowledge and on site
    # breached, resolve met; c1 (5x8, over National Day) on site met, resolve breached
    alert("a1", "A", "2026-07-10 10:00", "2026-07-10 10:03", "2026-07-10 11:30", "2026-07-10 12:30")
    alert("b1", "B", "2026-08-01 02:00", "2026-08-01 02:10", "2026-08-01 04:10", "2026-08-01 04:50")
    alert("c1", "C", "2026-09-30 16:00", "2026-09-30 16:04", "2026-10-08 10:30", "2026-10-08 14:30")
    alert("later", "A", "2026-10-02 09:00")  # next quarter: not counted
    srv_db = next(a for a in _assets() if a.asset_tag == "SRV-DB")
    for n in range(5):  # on a Monday's working hours, each handled within a minute: all met
        at = f"2026-09-07 1{n}:00"
        done = f"2026-09-07 1{n}:01"
        alert(f"hot{n}", "C", at, done, done, done, asset_id=hot.id)
    for n in range(2):
        at = f"2026-09-08 1{n}:00"
        done = f"2026-09-08 1{n}:01"
        alert(f"db{n}", "C", at, done, done, done, asset_id=srv_db.id)
    serious = incidents.open_incident(
        "核心交换机宕机", grade="serious", urgency="A", at=local("2026-09-20 08:00")
    )
    general = incidents.open_incident(
        "打印服务中断", grade="general", urgency="C", at=local("2026-07-05 09:00")
    )
    sess.commit()
    open_finding_at = seed_open_finding()
    return {
        "old": old,
        "serious": serious,
        "general": general,
        "open_finding_at": open_finding_at,
    }


def _assets() -> list[Any]:
    return list(db.session().scalars(select(Asset).order_by(Asset.asset_tag)))


def seed_open_finding() -> datetime:
    """An ad hoc patrol round on 09-15 with the cold aisle at 31 °C: a finding left open."""
    from inspections import services as patrol
    from inspections.models import PatrolFinding
    from opskit.audit import acting_as
    from tests.reports.test_pack import NORMAL

    room_id = db.session().scalars(select(Room.id)).first()
    with acting_as("engineer"):
        answers = [
            {"target": "room", "checklist": "room_environment", "item": k, "value": v}
            | ({"note": "冷通道温度偏高"} if k == "cold_aisle_temperature" else {})
            for k, v in {**NORMAL, "cold_aisle_temperature": "31"}.items()
        ]
        patrol.start_round(
            "round-open",
            room_id=room_id,
            checklist_keys=["room_environment"],
            started_at=local("2026-09-15 10:00"),
        )
        patrol.submit_round("round-open", {"answers": answers, "signature_name": "张工"})
    sess = db.session()
    finding = sess.scalars(select(PatrolFinding).where(PatrolFinding.closed_at.is_(None))).one()
    finding.opened_at = local("2026-09-15 10:10")
    sess.commit()
    return finding.opened_at


def summary_of(path: Path) -> tuple[list[str], list[str], list[tuple]]:
    """The sheet right after the cover: its sentences (column A down to the first blank row),
    the recommendations' header and rows (after the note and a blank row)."""
    ws = openpyxl.load_workbook(path).worksheets[1]
    rows = [tuple(c.value for c in r) for r in ws.iter_rows()]
    blank = next(i for i, r in enumerate(rows) if all(v is None for v in r))
    assert rows[blank + 1][0] and all(v is None for v in rows[blank + 2])  # the note, a gap
    return [r[0] for r in rows[:blank]], list(rows[blank + 3]), rows[blank + 4 :]


def hours_open(opened: datetime) -> float:
    return round((END - opened).total_seconds() / 3600, 1)


def expected_zh(seeded: dict[str, Any]) -> list[str]:
    """The sentences, from the seed's own arithmetic: alerts A 1, B 1, C 1 + 5 + 2; every
    on-site clock decided and met but b1's; breached b1's acknowledge and on site, c1's resolve;
    184 patrol slots (2 a day, 92 days) and 3 rounds done; the load kind's five servers and
    databases (SRV-DB, SRV-B, SRV-HOT, SRV-NEW core, APP-DB a database); three volumes, two at
    or above 85 % (SRV-DB /data 86, SRV-B /logs 95); warranties as of 09-30."""
    alerts = {"A": 1, "B": 1, "C": 1 + 5 + 2}
    total = sum(alerts.values())
    decided, met, breached = total, total - 1, 3
    planned, done = 2 * 92, 3
    serious, general = seeded["serious"], seeded["general"]
    crossing = 2  # SRV-DB and SRV-B's CPU, both within 180 days of 09-30
    insufficient = 3  # SRV-NEW's CPU (5 days), SRV-DB's /data (3 days), SRV-B's /logs (2)
    expired = sum(1 for d in (date(2026, 9, 1),) if d < date(2026, 9, 30))
    soon = sum(
        1 for d in (date(2026, 11, 15), date(2026, 12, 31)) if (d - date(2026, 9, 30)).days <= 90
    )
    return [
        "本报告覆盖2026年第3季度（2026-07-01 至 2026-09-30）。",
        f"本期共产生告警 {total} 条，其中 A 级 {alerts['A']} 条、B 级 {alerts['B']} 条、"
        f"C 级 {alerts['C']} 条。",
        f"已判定到场时限的告警 {decided} 条，其中达标 {met} 条（{met / decided * 100:.1f}%）；"
        f"SLA 时限超时共 {breached} 项。",
        f"本期发生事件 2 起，最严重的：{serious.number} 核心交换机宕机（重大，历时 "
        f"{hours_open(local('2026-09-20 08:00'))} 小时）；{general.number} 打印服务中断"
        f"（一般，历时 {hours_open(local('2026-07-05 09:00'))} 小时）。",
        f"计划巡检 {planned} 次，完成 {done} 次（{done / planned * 100:.1f}%），漏检 "
        f"{planned - done} 次；发现巡检异常 2 项，其中 1 项仍未关闭。",
        f"核心服务器和数据库共 5 台：预计达到限值的资源 {crossing} 项（其中 180 天内 {crossing} "
        f"项），已超过限值 1 项，数据不足无法预测 {insufficient} 项。",
        "其中 1 台本期没有负载数据。",
        "监控的存储卷共 3 个，其中 2 个使用率达到或超过 85%。",
        f"截至 2026-09-30，已过保设备 {expired} 台，90 天内到期 {soon} 台。",
        "本期受理服务请求 0 件，已解决 0 件；服务请求 SLA 时限超时 0 项。",
    ]


def test_summary_sentences_and_recommendations_of_a_seeded_quarter(
    db_app: Flask, tmp_path: Path
) -> None:
    zh, en = tmp_path / "zh.xlsx", tmp_path / "en.xlsx"
    with db_app.test_request_context("/"):
        seeded = seed_summary()
        build_pack(parse_period("2026Q3", TZ), zh, KINDS, now=NOW)
        build_pack(parse_period("2026Q3", TZ), en, KINDS, lang="en", now=NOW)
    book = openpyxl.load_workbook(zh)
    assert book.sheetnames[:3] == ["封面", "综述", "月度概况"]
    lines, header, rows = summary_of(zh)
    assert lines == expected_zh(seeded)
    assert header == ["建议编号", "建议", "依据", "优先级"]

    # --- which rules fired, on what: each rule's quiet case is in the same quarter
    fired = [(r[0], r[1]) for r in rows]
    ids = [i for i, _t in fired]
    db_cross = crossing_day(25, 0.5)  # SRV-DB: mean 20 + 0.5/day, peaks 5 above
    b_cross = crossing_day(15, 0.25)  # SRV-B: mean 10 + 0.25/day
    assert db_cross == date(2026, 10, 19) and b_cross == date(2027, 3, 18)
    db_days, b_days = (db_cross - date(2026, 9, 30)).days, (b_cross - date(2026, 9, 30)).days
    assert db_days <= 90 < b_days <= 365
    expected_texts = {
        # SRV-DB within 90 days: R-LOAD-01 (not R-LOAD-02); SRV-B the other way round
        (
            "R-LOAD-01",
            "数据库服务器 (SRV-DB)",
        ): f"数据库服务器 (SRV-DB) 的CPU最可能在 {db_cross}（最早 "
        f"{db_cross}）达到限值 80.0 %，距今 {db_days} 天：请立即扩容或迁出部分负载。",
        ("R-LOAD-02", "文件服务器 (SRV-B)"): f"文件服务器 (SRV-B) 的CPU每 30 天增长 {0.25 * 30} %，"
        f"最可能在 {b_cross} 达到限值 80.0 %：请在下一年度预算中安排扩容。",
        # SRV-HOT's flat 85 %: every weekly 95th percentile 85 (SRV-DB's last four weeks are
        # below 70, SRV-NEW has five days): R-LOAD-06 for SRV-HOT only
        ("R-LOAD-06", "计算服务器 (SRV-HOT)"): "计算服务器 (SRV-HOT) 的CPU最近 4 周每周 95 "
        "百分位均不低于 85.0 %（最高 85.0 %）：请查明占用CPU的进程，并在达到限值前扩容或分散负载。",
        ("R-LOAD-03", "计算服务器 (SRV-HOT)"): "计算服务器 (SRV-HOT) 的CPU已超过限值 80.0 %（峰值 "
        "90.0 %）：请查明原因并尽快缓解。",
        (
            "R-LOAD-05",
            "报表库 (APP-DB)",
        ): "报表库 (APP-DB) 是核心服务器或数据库，但2026年第3季度没有负载数据：请将其纳入监控。",
        (
            "R-STOR-01",
            "文件服务器 (SRV-B)",
        ): "文件服务器 (SRV-B) 的卷 /logs 已使用 95.0%：请立即清理或扩容。",
        (
            "R-STOR-02",
            "数据库服务器 (SRV-DB)",
        ): "数据库服务器 (SRV-DB) 的卷 /data 已使用 86.0%：请安排清理或扩容计划。",
        ("R-WAR-01", "旧服务器 (OLD-1)"): f"旧服务器 (OLD-1) 的保修已于 2026-09-01 到期"
        f"（{(date(2026, 9, 30) - date(2026, 9, 1)).days} 天前）：请续保或安排更换。",
        ("R-WAR-02", "存储阵列 (SOON-1)"): f"存储阵列 (SOON-1) 的保修将于 2026-11-15 到期（还有 "
        f"{(date(2026, 11, 15) - date(2026, 9, 30)).days} 天）：请尽早办理续保。",
        (
            "R-PAT-01",
            "计划巡检",
        ): "计划巡检 184 次，仅完成 3 次（1.6%，漏检 181 次）：请检查巡检计划与人员排班。",
        ("R-PAT-02", "A机房"): f"A机房 的巡检异常“冷通道温度”于 2026-09-15 发现，已 "
        f"{(END - seeded['open_finding_at']).days} 天未关闭：请处理并记录措施。",
        (
            "R-ALERT-02",
            "计算服务器 (SRV-HOT)",
        ): "计算服务器 (SRV-HOT) 在2026年第3季度共产生 5 条告警：请查找根本原因，而非逐条处理。",
    }
    for (rule, subject), text in expected_texts.items():
        got = [t for i, t in fired if i == rule]
        assert got == [text], (rule, subject, got)
    # B's acknowledge and on-site clocks breached (R-ALERT-01); C's resolve breach is quiet
    assert [t for i, t in fired if i == "R-ALERT-01"] == [
        f"B 级告警（一级服务）中有 1 条（共 1 条）未达到“{clock}”时限：请复核值班与升级安排。"
        for clock in ("确认", "到场")
    ]
    # too little data: SRV-NEW's CPU (5 days), SRV-DB's /data (3), SRV-B's /logs (2);
    # SRV-DB's CPU (92 days) is quiet
    too_little = sorted(t for i, t in fired if i == "R-LOAD-04")
    assert len(too_little) == 3 and not any("SRV-DB) 的CPU" in t for t in too_little)
    assert any("新上线服务器 (SRV-NEW) 的CPU只有 5 天" in t for t in too_little)
    assert any("数据库服务器 (SRV-DB) 的存储（最满的卷）只有 3 天" in t for t in too_little)
    # the quiet cases named: SRV-DB's 2 alerts, LATE-1's 92 days, the closed patrol finding,
    # SRV-APP's /var at 50 %, the A alert all met, SRV-NEW monitored
    assert not any(s in t for _i, t in fired for s in ("LATE-1", "/var", "A 级告警", "SRV-NEW) 是"))
    assert not any(i == "R-ALERT-02" and "SRV-DB" in t for i, t in fired)
    # B's acknowledge and on-site clocks met for none of its one alert (R-SLA-01); C's resolve
    # is slow too, but the rule is for A and B only
    slow = [t.split("（平均")[0] for i, t in fired if i == "R-SLA-01"]
    assert slow == [
        f"2026年第3季度 B 级告警（一级服务）的“{clock}”时限达成率仅 0.0 %"
        for clock in ("确认", "到场")
    ]
    assert sorted(set(ids)) == sorted(
        {rule for rule, _s in expected_texts} | {"R-ALERT-01", "R-LOAD-04", "R-SLA-01"}
    )
    # high first, then medium, then low; evidence beside each, in words
    words = [r[3] for r in rows]
    assert words == sorted(words, key=["高", "中", "低"].index)
    evidence = {r[0]: r[2] for r in rows}
    assert evidence["R-STOR-01"] == "文件服务器 (SRV-B)：卷 /logs 使用率 95%；2026年第3季度"
    assert evidence["R-WAR-01"] == "旧服务器 (OLD-1)：保修截止 2026-09-01；截至 2026-09-30"
    assert evidence["R-LOAD-01"] == (
        f"数据库服务器 (SRV-DB)：CPU最可能达到限值的日期 {db_cross}；"
        "2026-07-02 至 2026-09-30 的日峰值"
    )
    assert evidence["R-PAT-02"].startswith("A机房：冷通道温度 31")

    # --- the same in English: the sentences' figures and the rules' English texts
    lines, header, rows = summary_of(en)
    assert openpyxl.load_workbook(en).sheetnames[:2] == ["Cover", "Summary"]
    assert lines[0] == "This report covers 2026Q3, 2026-07-01 to 2026-09-30."
    assert lines[1] == "10 alerts were raised: 1 of urgency A, 1 of urgency B and 8 of urgency C."
    assert lines[4] == (
        "3 of 184 planned patrol rounds were done (1.6 %), 181 missed; 2 patrol findings were "
        "raised, 1 of them still open."
    )
    assert lines[7] == "3 volumes were monitored; 2 are at or above 85 % used."
    assert header == ["Recommendation id", "Recommendation", "Evidence", "Priority"]
    english = {(r[0], r[1]) for r in rows}
    assert (
        "R-STOR-01",
        "Volume /logs of 文件服务器 (SRV-B) is 95.0 % full: free space or extend it now.",
    ) in english
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert {r[3] for r in rows} == {"High priority", "Medium priority", "Low priority"}


# --- the rules, one by one ------------------------------------------------------------------


def finding(key: str, **figures: Any) -> Finding:
    return Finding(
        key, "数据库服务器 (SRV-DB)", "指标", figures.get("value"), "2026年第3季度", figures
    )


LOAD = {"resource": "CPU", "limit": 80.0, "unit": "%", "peak": 70.0, "tag": "SRV-DB"}
CROSSING = LOAD | {"likeliest": "2026-10-19", "earliest": "2026-10-10", "latest": "2026-11-01"}
ROOM_TEMP = {"room": "A机房", "low": 18, "high": 27, "min": 16.5, "max": 29.0, "unit": "°C"}
ROOM_HUMID = {"room": "A机房", "low": 40, "high": 60, "min": 35.0, "max": 58.0, "unit": "%RH"}
LINE = {"direction": "入向", "capacity": 100, "port": "RT-1 GE0/0/1"}
SLOW = {"clock": "到场", "met": 2, "breached": 1, "recorded": 3, "mean": 95.0, "p90": 130.0}
SUSTAINED = {"tag": "SRV-DB", "name": "数据库服务器", "weeks": 4}
DB = {"tag": "SRV-DB", "name": "数据库服务器", "engine": "PostgreSQL"}
SLOWER = {"weeks": 4, "value": 3.0}
DB_VOLUME = DB | {
    "volume": "/var/lib/postgresql",
    "limit": 85.0,
    "used": 80.5,
    "earliest": "2026-11-20",
    "latest": "",
    "growth": 1.5,
}
OVERDUE = {
    "tag": "ZJ-UPS-A1",
    "ip": "10.10.1.11",
    "vuln": "APC 网络管理卡远程代码执行漏洞",
    "severity": "严重",
    "due": "2026-08-20",
    "days_overdue": 41,
    "cves": "CVE-2022-22805",
}
TOP_STATEMENT = DB | {
    "statement": "SELECT * FROM orders WHERE customer_id = $1",
    "database": "shop",
    "calls": 120000,
    "total_s": 30.1,
    "mean_ms": 0.25,
}
#: each shipped rule: a finding it fires on, and one of the same key it stays quiet on (None:
#: the rule has no condition, so its quiet case is a finding of another key)
CASES: dict[str, tuple[Finding, Finding]] = {
    "R-LOAD-01": (
        finding("load.forecast_limit", **CROSSING, days_left=19, growth=15.0),
        finding("load.forecast_limit", **CROSSING, days_left=91, growth=15.0),
    ),
    "R-LOAD-02": (
        finding("load.forecast_limit", **CROSSING, days_left=169, growth=7.5),
        finding("load.forecast_limit", **CROSSING, days_left=400, growth=1.0),
    ),
    "R-LOAD-03": (
        finding("load.above_limit", **LOAD),
        finding("load.insufficient_data", **LOAD, days=5, needed=28),
    ),
    "R-LOAD-04": (
        finding("load.insufficient_data", **LOAD, days=5, needed=28),
        finding("load.above_limit", **LOAD),
    ),
    "R-LOAD-05": (finding("load.no_data", tag="APP-DB"), finding("load.summary", assets=1)),
    "R-LOAD-06": (
        finding("load.cpu_sustained", **SUSTAINED, sustained_p95=70.1, highest_p95=88.0),
        finding("load.cpu_sustained", **SUSTAINED, sustained_p95=70.0, highest_p95=95.0),
    ),
    "R-DB-01": (
        finding("db.connections", **DB, peak=85.1, p95=60.0, value=85.1),
        finding("db.connections", **DB, peak=85.0, p95=80.0, value=85.0),
    ),
    "R-DB-02": (
        finding("db.cache_hit", **DB, p5=94.9, lowest=80.2, value=94.9),
        finding("db.cache_hit", **DB, p5=95.0, lowest=60.0, value=95.0),
    ),
    "R-DB-03": (
        finding("db.replication_lag", **DB, p95=60.5, peak=300.0, value=60.5),
        finding("db.replication_lag", **DB, p95=60.0, peak=900.0, value=60.0),
    ),
    "R-DB-04": (
        finding("db.slow_queries", **DB, **SLOWER, first=2.0, last=3.0, rise=1.0, rise_pct=50.0),
        finding("db.slow_queries", **DB, **SLOWER, first=2.0, last=2.9, rise=0.9, rise_pct=45.0),
    ),
    "R-DB-05": (
        finding("db.deadlocks", **DB, hours=1, peak=2.0, about=2),
        finding("db.deadlocks", **DB, hours=0, peak=0.0, about=0),
    ),
    "R-DB-06": (
        finding("db.volume_forecast", **DB_VOLUME, days_left=92, likeliest="2026-12-31"),
        finding("db.volume_forecast", **DB_VOLUME, days_left=93, likeliest="2027-01-01"),
    ),
    "R-DB-07": (
        finding("db.no_data", **DB),
        finding("db.connections", **DB, peak=10.0, p95=5.0),
    ),
    "R-DB-08": (
        finding("db.top_statement", **TOP_STATEMENT, share=50.1, server_s=60.0),
        finding("db.top_statement", **TOP_STATEMENT, share=50.0, server_s=7200.0),
    ),
    "R-STOR-01": (
        finding("storage.volume_use", volume="/data", used_pct=90.0),
        finding("storage.volume_use", volume="/data", used_pct=89.9),
    ),
    "R-STOR-02": (
        finding("storage.volume_use", volume="/data", used_pct=80.0),
        finding("storage.volume_use", volume="/data", used_pct=79.9),
    ),
    "R-WAR-01": (
        finding("warranty.expired", end="2026-09-01", days_ago=29, days_left=-29),
        finding("warranty.expiring", end="2026-11-15", days_ago=0, days_left=46),
    ),
    "R-WAR-02": (
        finding("warranty.expiring", end="2026-12-29", days_ago=0, days_left=90),
        finding("warranty.expiring", end="2026-12-30", days_ago=0, days_left=91),
    ),
    "R-PAT-01": (
        finding("patrol.completion", planned=184, done=174, missed=10, done_pct=94.6),
        finding("patrol.completion", planned=184, done=175, missed=9, done_pct=95.1),
    ),
    "R-PAT-02": (
        finding(
            "patrol.open_finding",
            item="冷通道温度",
            room="A机房",
            opened="2026-09-15",
            days_open=15,
        ),
        finding("patrol.summary", findings=1, still_open=0),
    ),
    "R-ALERT-01": (
        finding(
            "alerts.sla_breached", urgency="B", level="一级服务", clock="到场", breached=1, total=1
        ),
        finding(
            "alerts.sla_breached", urgency="C", level="二级服务", clock="解决", breached=1, total=1
        ),
    ),
    "R-ALERT-02": (
        finding("alerts.repeated", count=5, tag="SRV-DB"),
        finding("alerts.repeated", count=4, tag="SRV-DB"),
    ),
    "R-ENV-01": (
        finding("environment.temperature_out_of_range", **ROOM_TEMP, hours=1.0),
        finding("environment.temperature_out_of_range", **ROOM_TEMP, hours=0.92),
    ),
    "R-ENV-02": (
        finding("environment.humidity_out_of_range", **ROOM_HUMID, hours=3.5),
        finding("environment.humidity_out_of_range", **ROOM_HUMID, hours=0.5),
    ),
    "R-ENV-03": (
        finding("environment.ups_on_battery", tag="UPS-1", episodes=2, minutes=18.5, longest=12.0),
        finding("environment.ups_load_high", tag="UPS-1", p95=79.9, peak=85.0),
    ),
    "R-ENV-04": (
        finding("environment.ups_load_high", tag="UPS-1", p95=80.0, peak=88.0),
        finding("environment.ups_load_high", tag="UPS-1", p95=79.9, peak=85.0),
    ),
    "R-ENV-05": (
        finding("environment.pdu_overload", rack="A01", p95=13.0, rated=16, load_pct=81.3),
        finding("environment.pdu_overload", rack="A01", p95=12.7, rated=16, load_pct=79.4),
    ),
    "R-CAP-01": (
        finding("capacity.room_over", resource="机柜 U 位", resource_key="u", used_pct=85.0),
        finding("capacity.room_over", resource="制冷", resource_key="cooling", used_pct=92.0),
    ),
    "R-CAP-02": (
        finding(
            "capacity.forecast_80",
            resource="电力",
            resource_key="power",
            likeliest="2027-03-01",
            days_left=180,
        ),
        finding(
            "capacity.forecast_80",
            resource="电力",
            resource_key="power",
            likeliest="2027-06-01",
            days_left=181,
        ),
    ),
    "R-AVL-01": (
        finding(
            "availability.below_target",
            check="SNMP 代理",
            availability_pct=99.812,
            target_pct=99.9,
            outages=3,
            down_minutes=250.0,
            longest=180.0,
        ),
        finding("availability.summary", core_pct=99.99, outages=1),
    ),
    "R-BW-01": (
        finding("bandwidth.p95_high", **LINE, p95=92.0, use_pct=92.0),
        finding("bandwidth.p95_high", **LINE, p95=89.9, use_pct=89.9),
    ),
    "R-BW-02": (
        finding("bandwidth.p95_high", **LINE, p95=85.0, use_pct=85.0),
        finding("bandwidth.p95_high", **LINE, p95=90.0, use_pct=90.0),
    ),
    "R-SLA-01": (
        finding("sla.response_slow", **SLOW, urgency="A", level="一级服务", within_pct=66.7),
        finding("sla.response_slow", **SLOW, urgency="C", level="二级服务", within_pct=50.0),
    ),
    "R-VULN-01": (
        finding("vulns.overdue", **OVERDUE, importance="核心", importance_key="core"),
        finding("vulns.overdue", **OVERDUE, importance="重要", importance_key="important"),
    ),
    "R-VULN-02": (
        finding("vulns.no_scan", last="2026-05-12"),
        finding("vulns.summary", scans=2, new=3, fixed=1, open=2, overdue=1, accepted=1),
    ),
    "R-REQ-01": (
        finding("requests.sla_breached", level="一级服务", clock="到场", missed=2, total=5),
        finding("requests.summary", total=5, resolved=5, missed=0),
    ),
}


def test_every_shipped_rule_fires_on_its_case_and_stays_quiet_on_the_other(app: Flask) -> None:
    rules = rec.load()
    assert sorted(r.id for r in rules) == sorted(CASES)  # a new rule needs its cases here
    for locale in ("zh_CN", "en"):
        with app.test_request_context("/"), force_locale(locale):
            for rule in rules:
                fire, quiet = CASES[rule.id]
                got = rec.recommend([fire, quiet], rules)
                mine = [r for r in got if r.rule.id == rule.id]
                assert [r.finding for r in mine] == [fire], (rule.id, locale)
                text = mine[0].text
                assert "{" not in text and "}" not in text, (rule.id, text)
                # the words around the figures are in the pack's language
                words = text
                for value in [fire.subject, fire.period, fire.metric, *fire.figures.values()]:
                    words = words.replace(str(value), "")
                cjk = any("\u4e00" <= ch <= "\u9fff" for ch in words)
                assert cjk == (locale == "zh_CN"), (rule.id, locale, text)


# --- the instance's file and bad files ------------------------------------------------------


def write_rules(path: Path, rules: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"rules": rules}, allow_unicode=True), encoding="utf-8")
    return path


def test_instance_file_replaces_adds_and_turns_off(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "pack.xlsx"
    instance = Path(db_app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    write_rules(
        instance / rec.INSTANCE_FILE,
        [
            {  # replaced: another threshold and text
                "id": "R-STOR-02",
                "when": "storage.volume_use",
                "where": {"used_pct": {"min": 85, "below": 90}},
                "priority": "high",
                "text": "Volume {volume} above 85 %",
                "text_zh": "卷 {volume} 使用率 {used_pct}% 已超过 85%，请本周处理",
            },
            {  # added: the site's own
                "id": "R-SITE-01",
                "when": "storage.volume_use",
                "where": {"peak_pct": {"min": 60}},
                "priority": "low",
                "text": "Watch {volume}",
                "text_zh": "请关注 {subject} 的卷 {volume}（峰值 {peak_pct}%）",
            },
            {"id": "R-LOAD-04", "enabled": False},  # turned off
        ],
    )
    try:
        with db_app.test_request_context("/"):
            seed()
            build_pack(parse_period("2026Q3", TZ), out, KINDS, now=NOW)
    finally:
        (instance / rec.INSTANCE_FILE).unlink()
    _lines, _header, rows = summary_of(out)
    by_id: dict[str, list[tuple]] = {}
    for r in rows:
        by_id.setdefault(r[0], []).append(r)
    # SRV-DB's /data at 86 %: the replacement's text and priority
    assert [(r[1], r[3]) for r in by_id["R-STOR-02"]] == [
        ("卷 /data 使用率 86.0% 已超过 85%，请本周处理", "高")
    ]
    # peaks: SRV-DB /data 90, SRV-APP /var 60 (the 99 is next quarter's): both at or above 60
    assert sorted(r[1] for r in by_id["R-SITE-01"]) == [
        "请关注 应用服务器 (SRV-APP) 的卷 /var（峰值 60.0%）",
        "请关注 数据库服务器 (SRV-DB) 的卷 /data（峰值 90.0%）",
    ]
    assert "R-LOAD-04" not in by_id  # SRV-DB's /data has 3 days of peaks: would have fired
    assert "R-LOAD-01" in by_id  # the others as shipped


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            [{"id": "R-X-01", "when": "storage.volume_use", "priority": "urgent", "text": "t"}],
            "rule R-X-01: priority: expected one of high, medium, low, got 'urgent'",
        ),
        (
            [{"id": "R-X-01", "when": "storage.volume_use", "priority": "low"}],
            "rule R-X-01: text: expected the recommendation in words",
        ),
        (
            [{"id": "R-X-01", "when": "storage", "priority": "low", "text": "t"}],
            "rule R-X-01: when: expected a finding key",
        ),
        (
            [{"id": "x1", "when": "storage.volume_use", "priority": "low", "text": "t"}],
            "rule 1: id: expected R- and upper-case letters",
        ),
        (
            [
                {
                    "id": "R-X-01",
                    "when": "storage.volume_use",
                    "priority": "low",
                    "text": "t",
                    "where": {"used_pct": {"over": 3}},
                }
            ],
            "rule R-X-01: where.used_pct: over: unknown comparison",
        ),
        (
            [
                {
                    "id": "R-X-01",
                    "when": "storage.volume_use",
                    "priority": "low",
                    "text": "t",
                    "where": {"used_pct": {"min": "90"}},
                }
            ],
            "rule R-X-01: where.used_pct: min: expected a number, got '90'",
        ),
        (
            [
                {
                    "id": "R-X-01",
                    "when": "storage.volume_use",
                    "priority": "low",
                    "text": "{subject.__class__.__mro__}",
                }
            ],
            "rule R-X-01: text: {subject.__class__.__mro__}: expected a figure's plain name",
        ),
        (
            [
                {
                    "id": "R-X-01",
                    "when": "storage.volume_use",
                    "priority": "low",
                    "text_zh": "{volume!r}",
                    "text": "t",
                }
            ],
            "rule R-X-01: text_zh: {volume}: unsupported format",
        ),
        (
            [{"id": "R-X-01", "when": "storage.volume_use", "priority": "low", "text": "{volume"}],
            "rule R-X-01: text: braces not closed",
        ),
        (
            [
                {
                    "id": "R-X-01",
                    "when": "storage.volume_use",
                    "priority": "low",
                    "text": "t",
                    "colour": "red",
                }
            ],
            "rule R-X-01: colour: unknown field",
        ),
        ([{"id": "R-X-01", "enabled": "no"}], "rule R-X-01: enabled: expected true or false"),
        (
            [{"id": "R-X-01", "enabled": False}, {"id": "R-X-01", "enabled": False}],
            "rule R-X-01: id: used twice in this file",
        ),
    ],
)
def test_bad_rule_files_are_refused_naming_the_file_rule_and_field(
    tmp_path: Path, rules: list[dict[str, Any]], message: str
) -> None:
    path = write_rules(tmp_path / "recommendations.yaml", rules)
    with pytest.raises(rec.RecommendationError) as caught:
        rec.load(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_a_bad_instance_file_stops_the_build_before_anything_is_written(
    db_app: Flask, tmp_path: Path
) -> None:
    out = tmp_path / "pack.xlsx"
    instance = Path(db_app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / rec.INSTANCE_FILE
    path.write_text("rules:\n  - id: R-STOR-01\n    when: storage.volume_use\n", encoding="utf-8")
    try:
        with db_app.test_request_context("/"), pytest.raises(ReportError) as caught:
            build_pack(parse_period("2026Q3", TZ), out, ["warranty"], now=NOW)
        # a figure the finding lacks, named in a text: refused when the rule meets a finding
        write_rules(
            path,
            [
                {
                    "id": "R-WAR-01",
                    "when": "warranty.expired",
                    "priority": "high",
                    "text": "{colour}",
                }
            ],
        )
        with db_app.test_request_context("/"):
            factories.asset("OLD-1", name="旧服务器", warranty_end=date(2026, 9, 1))
            db.session().commit()
            with pytest.raises(ReportError) as unknown:
                build_pack(parse_period("2026Q3", TZ), out, ["warranty"], lang="en", now=NOW)
    finally:
        path.unlink()
    assert str(caught.value).startswith(f"{path}: rule R-STOR-01: priority: expected one of")
    assert str(unknown.value).startswith(f"{path}: rule R-WAR-01: text: no figure 'colour'")
    assert not out.exists() and not list(tmp_path.glob(".report-*"))


# --- the rules' cases that need a pack of their own -----------------------------------------


def test_patrol_rules_stay_quiet_when_every_round_is_done(db_app: Flask, tmp_path: Path) -> None:
    """A daily 09:00 plan from 2026-09-29, both of its rounds done, no finding: neither patrol
    rule fires, and the summary says so in its sentence and its closing line."""
    from inspections import services as patrol
    from opskit.audit import acting_as
    from tests.reports.test_pack import NORMAL

    out = tmp_path / "pack.xlsx"
    with db_app.test_request_context("/"):
        room_id = factories.rack().room_id
        with acting_as("engineer"):
            plan = patrol.save_plan(
                {
                    "name": "日常巡检",
                    "room_id": room_id,
                    "checklist_keys": ["room_environment"],
                    "schedule_times": "09:00",
                }
            )
            plan.created_at = local("2026-09-29 00:00")
            db.session().commit()
            for day in ("2026-09-29", "2026-09-30"):
                patrol.start_round(
                    f"round-{day}",
                    room_id=room_id,
                    checklist_keys=["room_environment"],
                    plan_id=plan.id,
                    scheduled_for=local(f"{day} 09:00"),
                    started_at=local(f"{day} 09:05"),
                )
                answers = [
                    {"target": "room", "checklist": "room_environment", "item": k, "value": v}
                    for k, v in NORMAL.items()
                ]
                patrol.submit_round(f"round-{day}", {"answers": answers, "signature_name": "张工"})
        build_pack(parse_period("2026-09", TZ), out, ["patrol"], now=NOW)
    lines, _header, rows = summary_of(out)
    assert lines == [
        "本报告覆盖2026年9月（2026-09-01 至 2026-09-30）。",
        "计划巡检 2 次，完成 2 次（100.0%），漏检 0 次；发现巡检异常 0 项，其中 0 项仍未关闭。",
        "本期无建议：未发现需要处理的事项。",
    ]
    assert rows == []


def test_request_rule_fires_for_each_level_and_clock_with_a_breach(
    db_app: Flask, tmp_path: Path
) -> None:
    """The service desk tests' seeded quarter: R-REQ-01 once per level and clock with a
    request clock missed, computed with that test's own clock arithmetic."""
    from collections import Counter, defaultdict

    from opskit import clock
    from opskit.alerts.queries import current_policy
    from reports.periods import previous_period
    from tests.reports import test_servicedesk_reports as desk

    out = tmp_path / "q.xlsx"
    with db_app.test_request_context("/"):
        period = previous_period("quarter", clock.site_today(), clock.site_tz())
        calendar = current_policy().calendar
        span = [period.first_day + timedelta(days=i) for i in range(-20, 120)]
        workdays = {d for d in span if calendar.is_workday(d)}
        in_quarter = sorted(d for d in workdays if period.first_day <= d <= period.last_day)
        seeded = desk.seed(period, in_quarter)
        build_pack(period, out, ["service_requests"])
    rows = [r for r in seeded["requests"] if desk.in_period(r["raised"], period)]
    counts: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        for name in desk.CLOCK_WORDS:
            outcome = desk.outcome(row, name, period.end, workdays)
            counts[(desk.level(row["urgency"]), name)][outcome] += 1
    expected = sorted(
        f"{desk.LEVEL_NAMES[lv]} 的服务请求中有 {c['missed']} 项（共 {sum(c.values())} 项）未达到"
        f"“{desk.CLOCK_WORDS[name]}”要求：请复核人员安排与工单交接。"
        for (lv, name), c in counts.items()
        if c["missed"]
    )
    assert expected  # (every clock of this seed has a miss; the quiet case is in CASES)
    lines, _header, table = summary_of(out)
    assert sorted(r[1] for r in table if r[0] == "R-REQ-01") == expected
    assert {r[0] for r in table} == {"R-REQ-01"}
    resolved = sum(1 for r in rows if desk.moments(r)["resolved"] is not None)
    missed = sum(c["missed"] for c in counts.values())
    assert lines[1] == (
        f"本期受理服务请求 {len(rows)} 件，已解决 {resolved} 件；"
        f"服务请求 SLA 时限超时 {missed} 项。"
    )


def test_texts_are_filled_with_formats_and_empty_figures_never_evaluated() -> None:
    fields = {"share": 91.456, "growth": None, "volume": "/data", "n": 3}
    assert rec.fill("{volume}: {share:.1f} %, {growth:.2f}/30 d", fields) == (
        "/data: 91.5 %, —/30 d"
    )
    assert rec.fill("{volume:.1f} {{literal}} {n:d}", fields) == "/data {literal} 3"


def test_rules_command_lists_the_rules_and_names_a_bad_file(app: Flask) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from opskit.cli import cli

    runner, info = CliRunner(), ScriptInfo(create_app=lambda: app)
    shipped = runner.invoke(cli, ["report", "rules"], obj=info)
    assert shipped.exit_code == 0, shipped.output
    listed = [line.split(":")[0] for line in shipped.output.splitlines()]
    assert listed == [r.id for r in rec.load()] and len(listed) == len(CASES)
    assert "R-STOR-01: high, on storage.volume_use where used_pct min 90" in shipped.output
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    path = write_rules(instance / rec.INSTANCE_FILE, [{"id": "R-STOR-01", "when": "x.y"}])
    try:
        bad = runner.invoke(cli, ["report", "rules"], obj=info)
    finally:
        path.unlink()
    assert bad.exit_code == 1
    assert f"{path}: rule R-STOR-01: priority: expected one of high, medium, low" in bad.output


def test_a_period_still_running_says_as_of_when(db_app: Flask, tmp_path: Path) -> None:
    """Built on 2026-08-20 10:30 (site time): the summary's first sentence and the evidence
    say the instant the states were taken; warranties are judged on that day."""
    out, now = tmp_path / "pack.xlsx", local("2026-08-20 10:30")
    with db_app.test_request_context("/"):
        factories.asset("OLD-1", name="旧服务器", warranty_end=date(2026, 8, 1))
        factories.asset("SOON-1", name="存储阵列", warranty_end=date(2026, 9, 30))
        srv = factories.asset("SRV-X", name="应用服务器")
        db.session().flush()
        for at, used in (("2026-08-10 10:00", 92.0), ("2026-08-25 10:00", 70.0)):  # 2nd: later
            db.session().add(
                Reading(
                    asset_id=srv.id,
                    metric="host.storage.used_percent",
                    instance="/data",
                    at=local(at),
                    value=used,
                )
            )
        db.session().commit()
        build_pack(parse_period("2026Q3", TZ), out, ["warranty", "config_storage"], now=now)
    lines, _header, rows = summary_of(out)
    assert lines[0] == (
        "本报告覆盖2026年第3季度（2026-07-01 至 2026-09-30）。本期尚未结束：截至 2026-08-20 10:30。"
    )
    assert "截至 2026-08-20，已过保设备 1 台，90 天内到期 1 台。" in lines
    assert [(r[0], r[1], r[2]) for r in rows if r[0] == "R-STOR-01"] == [
        (
            "R-STOR-01",
            "应用服务器 (SRV-X) 的卷 /data 已使用 92.0%：请立即清理或扩容。",
            "应用服务器 (SRV-X)：卷 /data 使用率 92%；2026年第3季度（截至 2026-08-20 10:30）",
        )
    ]
    assert [(r[0], r[1]) for r in rows if r[0] != "R-STOR-01"] == [
        ("R-WAR-01", "旧服务器 (OLD-1) 的保修已于 2026-08-01 到期（19 天前）：请续保或安排更换。"),
        (
            "R-WAR-02",
            "存储阵列 (SOON-1) 的保修将于 2026-09-30 到期（还有 41 天）：请尽早办理续保。",
        ),
    ]
