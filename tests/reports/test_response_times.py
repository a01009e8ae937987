"""响应时间统计 in the 告警与事件 kind: per urgency and clock, the alerts, the times recorded,
their mean and 90th percentile (nearest rank) and the share within SLA, on alerts of 2026Q3
written out here (clock set to 2026-10-10). Level 1 (A, B) runs 7x24; the C alerts fall on a
Tuesday morning inside working hours, so their working minutes are wall-clock minutes. Every
expected figure is computed here from the table below. SQLite and PostgreSQL."""

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

from opskit import clock, db
from opskit.alerts.models import Alert
from reports.build import build_pack
from reports.kinds import KINDS, Context
from reports.periods import parse_period

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 10, 10, 0, tzinfo=TZ)
#: the shipped policy's targets in minutes (level 1: A, B; level 2: C)
TARGETS = {"acknowledge": 5, "onsite": 120, "resolve": 180}
TARGETS_C = {"acknowledge": 5, "onsite": 240, "resolve": 420}
CLOCKS = ("acknowledge", "onsite", "resolve")
#: urgency, first seen (local), minutes to acknowledge / on site / resolve, silenced
ALERTS: list[tuple[str, str, int | None, int | None, int | None, bool]] = [
    ("A", "2026-07-05 02:00", 3, 60, 150, False),
    ("A", "2026-07-20 23:00", 8, 130, 200, False),
    ("A", "2026-08-10 12:00", 4, None, 100, False),  # on site not recorded: resolved counts
    ("A", "2026-09-01 03:00", 2, 50, 90, True),  # silenced: times count, no SLA judgement
    ("B", "2026-08-15 20:00", 1, 30, 60, False),
    ("C", "2026-08-04 09:00", 10, 200, 300, False),  # a Tuesday
    ("C", "2026-08-04 10:00", 2, None, None, False),  # never resolved: past its deadlines
]


def seed() -> None:
    sess = db.session()
    for n, (urgency, first, ack, onsite, resolve, silenced) in enumerate(ALERTS):
        seen = datetime.fromisoformat(first).replace(tzinfo=TZ)

        def after(m: int | None, seen: datetime = seen) -> datetime | None:
            return None if m is None else seen + timedelta(minutes=m)

        sess.add(
            Alert(
                dedup_key=f"k{n}",
                source="monitor",
                rule="ups.load",
                urgency=urgency,
                message="UPS 负载过高",
                status="resolved" if resolve is not None else "acknowledged",
                first_seen=seen,
                last_seen=seen,
                silenced=silenced,
                acknowledged_at=after(ack),
                onsite_at=after(onsite),
                resolved_at=after(resolve),
            )
        )
    sess.commit()


def nearest_rank(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def expected() -> list[tuple[Any, ...]]:
    out = []
    for urgency, level in (("A", "一级服务"), ("B", "一级服务"), ("C", "二级服务")):
        mine = [a for a in ALERTS if a[0] == urgency]
        targets = TARGETS_C if urgency == "C" else TARGETS
        for i, clock_key in enumerate(CLOCKS):
            took: list[int | None] = [(a[2], a[3], a[4])[i] for a in mine]
            times = [t for t in took if t is not None]
            met = breached = 0
            for a, t in zip(mine, took, strict=True):
                if a[5]:
                    continue
                done = t if t is not None else a[4]  # else: when resolved
                if done is not None and done <= targets[clock_key]:
                    met += 1
                else:
                    breached += 1  # over its target, or never done by the quarter's end
            out.append(
                (
                    urgency,
                    level,
                    {"acknowledge": "确认", "onsite": "到场", "resolve": "解决"}[clock_key],
                    len(mine),
                    len(times),
                    approx(round(sum(times) / len(times), 1)) if times else None,
                    nearest_rank(times, 0.9) if times else None,
                    met,
                    breached,
                    approx(met / (met + breached)) if met + breached else None,
                )
            )
    return out


def test_response_times_per_urgency(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q3.xlsx"
    with db_app.test_request_context("/"), clock.frozen(NOW):
        seed()
        build_pack(parse_period("2026Q3", TZ), out, ["alerts"])
    book = openpyxl.load_workbook(out)
    assert book.sheetnames.index("响应时间统计") == book.sheetnames.index("SLA 达成") + 1
    ws = book["响应时间统计"]
    assert [c.value for c in ws[3]] == [
        "紧急程度",
        "级别",
        "时限",
        "告警",
        "有记录数",
        "平均（分钟）",
        "90 百分位（分钟）",
        "达成",
        "超时",
        "SLA 达成率",
    ]
    rows: list[Any] = [r for r in ws.iter_rows(min_row=4, values_only=True)]
    assert rows == expected()
    # the A row's judgement agrees with the SLA sheet's level-1 figures (A and B together)
    sla = {
        r[1]: r
        for r in book["SLA 达成"].iter_rows(min_row=2, values_only=True)
        if r[0] == "一级服务"
    }
    for clock_word in ("确认", "到场", "解决"):
        mine = [r for r in rows if r[1] == "一级服务" and r[2] == clock_word]
        assert (sla[clock_word][5], sla[clock_word][6]) == (
            sum(r[7] for r in mine),
            sum(r[8] for r in mine),
        )


def test_slow_responses_are_findings(db_app: Flask) -> None:
    with db_app.test_request_context("/"), clock.frozen(NOW), force_locale("zh_CN"):
        seed()
        ctx = Context(period=parse_period("2026Q3", TZ), now=NOW.astimezone(UTC), headline={})
        found = [f for f in KINDS["alerts"].findings(ctx) if f.key == "sla.response_slow"]  # type: ignore[misc]
    rows = expected()
    # every urgency and clock met for less than 90 % of its judged alerts; B (all met) is quiet
    slow = [r for r in rows if r[9] is not None and r[7] / (r[7] + r[8]) < 0.9]
    assert [(f.figures["urgency"], f.figures["clock"]) for f in found] == [
        (r[0], r[2]) for r in slow
    ]
    assert {r[0] for r in slow} == {"A", "C"}
    first = found[0]
    assert first.subject == "A 级告警（一级服务）"
    assert first.figures == {
        "urgency": "A",
        "level": "一级服务",
        "clock": "确认",
        "within_pct": round(2 / 3 * 100, 1),
        "met": 2,
        "breached": 1,
        "recorded": 4,
        "mean": 4.2,
        "p90": 8.0,
    }
