"""服务请求统计 and 维修记录 on a seeded quarter, built through the pack builder and read back
with openpyxl, on every database under test (#15).

The quarter is the last one before today (``clock``), so the suite run 45 days ahead or at a
month's or year's end seeds another quarter; the working days a 5x8 request is raised on are
picked from the working calendar, nothing else is a fixed date.

Every expected figure is computed here from the seed rows (``SEED`` below, plain dictionaries
of times) with arithmetic of its own: the clocks met / missed / running from the contract's
targets (7x24 wall time minus the suspension, 5x8 working time 08:00-17:00 of working days),
the time to resolve, the suspended time, the satisfaction figures, the repairs by importance,
the annual summary's recurring problems and departments — never through the desk's queries.
A service-desk notice (an alert of source ``servicedesk``) changes no figure of the alert
report.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from pytest import approx
from sqlalchemy import update

from opskit import clock, db
from opskit.alerts import services as alert_services
from opskit.alerts.queries import current_policy
from opskit.alerts.wording import notice_request
from opskit.models import User
from opskit.servicedesk.models import (
    Loan,
    Repair,
    RepairPart,
    RequestSuspension,
    ServiceRequest,
    Survey,
)
from reports.build import build_pack
from reports.kinds.service_requests import RECURRING_OVER
from reports.periods import Period, parse_period, previous_period
from tests import factories
from tests.conftest import login

H = timedelta(hours=1)
M = timedelta(minutes=1)

# the contract's request targets (sla_policy.yaml): level 1 = A/B around the clock, level 2 = C
# in working time, 08:00-17:00 of working days
TARGETS = {
    1: {"acknowledge": 5 * M, "onsite": 2 * H, "resolve": 3 * H},
    2: {"acknowledge": 5 * M, "onsite": 4 * H, "resolve": 7 * H},
}
LEVEL_NAMES = {1: "一级服务", 2: "二级服务"}
HOURS_WORDS = {1: "7x24", 2: "工作时间（5x8）"}
CLOCK_WORDS = {
    "acknowledge": "响应",
    "onsite": "到场",
    "resolve": "解决",
    "fix_by": "最迟排除时限",
}
STATE_WORDS = {"met": "达成", "missed": "超时完成", "overdue": "已逾期", "running": "计时中"}
CATEGORIES = {"hardware": "硬件", "software": "软件", "network": "网络", "account": "账号权限"}
CATEGORIES["other"] = "其他"
CHANNELS = {
    "phone": "电话",
    "walk_in": "现场报修",
    "wechat": "微信/企业微信",
    "email": "电子邮件",
    "alert": "监控告警",
    "patrol": "巡检发现",
}
URGENCIES = {"A": "A · 系统无法使用", "B": "B · 系统遭到严重破坏", "C": "C · 有问题但不太严重"}
IMPORTANCE = {"core": "核心", "important": "重要", "general": "一般"}


def level(urgency: str) -> int:
    return 2 if urgency == "C" else 1


# --- the seed: plain rows -------------------------------------------------------------------


def seed_rows(period: Period, workdays: list[date]) -> tuple[list[dict], list[dict]]:
    """The requests and repairs of the test as plain dictionaries of aware times; ``fix`` is
    the fix-by cap's outcome by construction (resolved within hours: met; after 20 days or
    never, long after the 2nd working day: missed; raised an hour before the end: running)."""
    tz = period.tz

    def at(day: date, hh: int, mm: int = 0) -> datetime:
        return datetime.combine(day, time(hh, mm), tz)

    first, last = period.first_day, period.last_day
    d = [first + timedelta(days=i) for i in range(0, 80, 5)]  # any days (7x24 requests)
    w = workdays
    requests = [
        # A, phone, remote work answers the on-site clock: all met
        dict(
            key="r1",
            urgency="A",
            category="hardware",
            channel="phone",
            dept="财务部",
            asset="SRV-01",
            raised=at(d[0], 9),
            responded=2 * M,
            remote=20 * M,
            resolved=40 * M,
            closed=2 * H,
            fix="met",
            requester="王芳",
        ),
        # A at night: resolve missed (4 h > 3 h)
        dict(
            key="r2",
            urgency="A",
            category="hardware",
            channel="alert",
            dept="财务部",
            asset="SRV-01",
            raised=at(d[1], 20),
            responded=2 * M,
            onsite=90 * M,
            resolved=4 * H,
            fix="met",
            requester="王芳",
        ),
        # A suspended 5 h waiting for the vendor: resolve met (7 h - 5 h = 2 h)
        dict(
            key="r3",
            urgency="A",
            category="hardware",
            channel="wechat",
            dept="人事部",
            asset="SRV-01",
            raised=at(d[2], 10),
            responded=3 * M,
            onsite=60 * M,
            suspended=(70 * M, 6 * H + 10 * M),
            resolved=7 * H,
            closed=8 * H,
            fix="met",
            requester="李娜",
        ),
        # B: acknowledge missed (7 min), on site missed (2 h 30), resolved after 20 days with a
        # spare lent as the temporary measure: resolve and fix-by missed
        dict(
            key="r4",
            urgency="B",
            category="network",
            channel="email",
            dept="行政部",
            asset="SW-01",
            raised=at(d[3], 11),
            responded=7 * M,
            onsite=150 * M,
            measure=(2 * H, "借出备机 SPARE-01 临时替代"),
            loan=("SPARE-01", 2 * H, 19 * 24 * H),
            resolved=20 * 24 * H,
            fix="missed",
            requester="赵强",
        ),
        # B network, phone: all met
        dict(
            key="r5",
            urgency="B",
            category="network",
            channel="phone",
            dept="行政部",
            asset="SW-01",
            raised=at(d[4], 14),
            responded=1 * M,
            onsite=30 * M,
            resolved=2 * H,
            closed=3 * H,
            fix="met",
            requester="赵强",
        ),
        # C on a working day: all met, 5 working hours to resolve
        dict(
            key="r6",
            urgency="C",
            category="software",
            channel="walk_in",
            dept="人事部",
            asset=None,
            raised=at(w[10], 9),
            responded=3 * M,
            onsite=2 * H,
            resolved=5 * H,
            closed=6 * H,
            fix="met",
            requester="李娜",
        ),
        # C at 15:00, resolved at 12:00 of the next working day: 6 working hours, met
        dict(
            key="r7",
            urgency="C",
            category="software",
            channel="phone",
            dept="财务部",
            asset="PRN-01",
            raised=at(w[20], 15),
            responded=4 * M,
            onsite_at=at(w[21], 9, 30),
            resolved_at=at(w[21], 12),
            fix="met",
            requester="=SUM(1,2)",
        ),
        # C: acknowledge (10 min) and on site (5 h) missed, resolve met (6 h)
        dict(
            key="r8",
            urgency="C",
            category="account",
            channel="patrol",
            dept="",
            asset=None,
            raised=at(w[30], 9),
            responded=10 * M,
            onsite=5 * H,
            resolved=6 * H,
            fix="met",
            requester="周敏",
        ),
        # C never resolved, no temporary measure: resolve and fix-by missed, highlighted
        dict(
            key="r9",
            urgency="C",
            category="hardware",
            channel="phone",
            dept="财务部",
            asset="PRN-01",
            raised=at(w[1], 10),
            responded=2 * M,
            onsite=1 * H,
            fix="missed",
            requester="王芳",
        ),
        # A an hour before the period's end, untouched: acknowledge missed, the rest running
        dict(
            key="r10",
            urgency="A",
            category="other",
            channel="phone",
            dept="人事部",
            asset="SW-01",
            raised=at(last, 23),
            fix="running",
            requester="李娜",
        ),
        # a request of the day before the quarter: not in it (in the year when Q2-Q4)
        dict(
            key="r0",
            urgency="B",
            category="hardware",
            channel="phone",
            dept="工程部",
            asset="SRV-01",
            raised=at(first - timedelta(days=1), 10),
            responded=2 * M,
            onsite=1 * H,
            resolved=2 * H,
            closed=3 * H,
            fix="met",
            requester="孙伟",
        ),
    ]
    repairs = [
        # core: a disk under a vendor case with an RMA, for r3
        dict(
            key="p1",
            asset="SRV-01",
            request="r3",
            start=at(d[2], 11),
            down=2.5 * H,
            parts=[("600GB SAS 硬盘", "WX-OLD-1", "WX-NEW-2", 1)],
            vendor="华为",
            case="C-2026-0815",
            rma="RMA-77881",
            opened=at(d[2], 11),
            closed=at(d[3], 9),
            cost=Decimal("1200.50"),
        ),
        # core: two power supplies, no request, no vendor
        dict(
            key="p2",
            asset="SRV-01",
            request=None,
            start=at(d[5], 8),
            down=1 * H,
            parts=[("电源模块", "PS-1", "PS-2", 2)],
            cost=Decimal("300"),
        ),
        # important: a vendor case without RMA, no cost
        dict(
            key="p3",
            asset="SW-01",
            request="r4",
            start=at(d[3], 13),
            down=45 * M,
            parts=[],
            vendor="新华三",
            case="H3C-5521",
            opened=at(d[3], 13),
        ),
        # general: no downtime, recorded in the quarter
        dict(
            key="p4",
            asset="PRN-01",
            request=None,
            start=None,
            created=at(d[6], 10),
            parts=[("定影组件", "", "", 1)],
            cost=Decimal("50"),
        ),
        # before the quarter: not in it
        dict(
            key="p5",
            asset="SRV-01",
            request=None,
            start=at(first - timedelta(days=15), 9),
            down=3 * H,
            parts=[],
            cost=Decimal("10"),
        ),
    ]
    return requests, repairs


def moments(row: dict) -> dict[str, datetime | None]:
    """The request's moments as aware datetimes (offsets from the raise resolved)."""
    raised = row["raised"]

    def when(name: str) -> datetime | None:
        if f"{name}_at" in row:
            return row[f"{name}_at"]
        return raised + row[name] if name in row else None

    return {
        "raised": raised,
        "responded": when("responded"),
        "onsite": when("onsite"),
        "remote": when("remote"),
        "resolved": when("resolved"),
        "closed": when("closed"),
    }


def status(row: dict) -> str:
    m = moments(row)
    if m["closed"]:
        return "closed"
    if m["resolved"]:
        return "resolved"
    if m["onsite"] or m["remote"]:
        return "in_progress"
    return "responded" if m["responded"] else "new"


def seed(period: Period, workdays: list[date]) -> dict[str, Any]:
    """The rows stored; returns the plain rows with their ids."""
    sess = db.session()
    sess.execute(update(User).where(User.username == "engineer").values(display_name="张伟"))
    rack = factories.rack(room="A机房", name="A01")
    assets = {
        "SRV-01": factories.asset(
            "SRV-01", name="财务服务器", importance="core", rack=rack, u_position=1
        ),
        "SW-01": factories.asset(
            "SW-01",
            kind="switch",
            name="接入交换机",
            importance="important",
            rack=rack,
            u_position=3,
        ),
        "PRN-01": factories.asset("PRN-01", kind="other", name="打印机", rack=rack, u_position=5),
        "SPARE-01": factories.asset(
            "SPARE-01", name="备机 1", rack=rack, u_position=7, status="spare"
        ),
    }
    requests, repairs = seed_rows(period, workdays)
    ids: dict[str, int] = {}
    for row in requests:
        m = moments(row)
        req = ServiceRequest(
            client_id=f"report-{row['key']}",
            requester_name=row["requester"],
            requester_department=row["dept"],
            requester_phone="13800138000",
            channel=row["channel"],
            category=row["category"],
            asset_id=assets[row["asset"]].id if row["asset"] else None,
            urgency=row["urgency"],
            title=f"请求 {row['key']}",
            description="描述",
            status=status(row),
            work_mode="remote" if m["remote"] else "onsite" if m["onsite"] else None,
            raised_at=m["raised"],
            responded_at=m["responded"],
            responded_by="engineer" if m["responded"] else None,
            remote_at=m["remote"],
            onsite_at=m["onsite"],
            resolved_at=m["resolved"],
            resolved_by="engineer" if m["resolved"] else None,
            closed_at=m["closed"],
            assigned_to="engineer",
            created_by="engineer",
            created_at=m["raised"],
        )
        if "measure" in row:
            offset, text = row["measure"]
            req.temporary_measure = text
            req.temporary_measure_at = m["raised"] + offset
            req.temporary_measure_by = "engineer"
        sess.add(req)
        sess.flush()
        ids[row["key"]] = req.id
        row["id"] = req.id
        if "suspended" in row:
            begin, end = row["suspended"]
            sess.add(
                RequestSuspension(
                    request_id=req.id,
                    started_at=m["raised"] + begin,
                    ended_at=m["raised"] + end,
                    reason="waiting_vendor",
                    status_before="in_progress",
                    started_by="engineer",
                )
            )
        if "loan" in row:
            tag, lent, returned = row["loan"]
            sess.add(
                Loan(
                    asset_id=assets[tag].id,
                    request_id=req.id,
                    lent_at=m["raised"] + lent,
                    lent_by="engineer",
                    returned_at=m["raised"] + returned,
                    returned_by="engineer",
                )
            )
    for row in repairs:
        start = row["start"]
        repair = Repair(
            client_id=f"report-{row['key']}",
            request_id=ids[row["request"]] if row["request"] else None,
            asset_id=assets[row["asset"]].id,
            fault="故障",
            diagnosis="原因",
            work_done="处理",
            vendor=row.get("vendor", ""),
            vendor_case_number=row.get("case", ""),
            rma_number=row.get("rma", ""),
            vendor_engineer="李工" if row.get("vendor") else "",
            vendor_opened_at=row.get("opened"),
            vendor_closed_at=row.get("closed"),
            downtime_start=start,
            downtime_end=start + row["down"] if start else None,
            cost=row.get("cost"),
            result="已修复",
            created_by="engineer",
            created_at=row.get("created") or start,
        )
        repair.parts = [
            RepairPart(part=p, serial_out=o, serial_in=i, quantity=q) for p, o, i, q in row["parts"]
        ]
        sess.add(repair)
        sess.flush()
        row["id"] = repair.id
        row["when"] = start or row["created"]
    # surveys: answered in the quarter (5, 4, 5, 2), one sent and never answered, one sent
    # before the quarter and answered in it (counts as an answer, not as sent in the quarter)
    surveys = [
        ("r1", period.start + 3 * 24 * H, 1 * H, 5),
        ("r3", period.start + 10 * 24 * H, 2 * H, 4),
        ("r5", period.start + 20 * 24 * H, 3 * H, 5),
        ("r6", period.start + 30 * 24 * H, 1 * H, 2),
        ("r2", period.start + 40 * 24 * H, None, None),
        ("r0", period.start - 2 * H, 4 * H, 3),
    ]
    survey_rows = []
    for n, (key, created, answered_after, score) in enumerate(surveys):
        answered = created + answered_after if answered_after else None
        sess.add(
            Survey(
                request_id=ids[key],
                token_nonce=f"nonce-{n}",
                created_at=created,
                expires_at=created + 7 * 24 * H,
                used_at=answered,
                score=score,
                answered_at=answered,
                via="link" if answered else None,
            )
        )
        survey_rows.append({"created": created, "answered": answered, "score": score})
    sess.commit()
    return {"requests": requests, "repairs": repairs, "surveys": survey_rows, "assets": assets}


# --- the expected figures, by arithmetic ----------------------------------------------------


def working_time(start: datetime, end: datetime, workdays: set[date]) -> timedelta:
    """Working time 08:00-17:00 of ``workdays`` between two moments (site time)."""
    tz = clock.site_tz()
    a, b = start.astimezone(tz), end.astimezone(tz)
    total = timedelta(0)
    day = a.date()
    while day <= b.date():
        if day in workdays:
            lo = max(a, datetime.combine(day, time(8), tz))
            hi = min(b, datetime.combine(day, time(17), tz))
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return total


def running_time(row: dict, end: datetime, workdays: set[date]) -> timedelta:
    m = moments(row)
    if level(row["urgency"]) == 2:
        return working_time(m["raised"], end, workdays)
    took = end - m["raised"]
    if "suspended" in row:
        begin, stop = (m["raised"] + x for x in row["suspended"])
        took -= max(min(end, stop) - max(m["raised"], begin), timedelta(0))
    return took


def outcome(row: dict, clock_name: str, judged: datetime, workdays: set[date]) -> str:
    """met / missed / running of one clock, judged at ``judged``."""
    if clock_name == "fix_by":
        return row["fix"]
    m = moments(row)
    done = {
        "acknowledge": m["responded"],
        "onsite": min((x for x in (m["onsite"], m["remote"], m["resolved"]) if x), default=None),
        "resolve": m["resolved"],
    }[clock_name]
    target = TARGETS[level(row["urgency"])][clock_name]
    if done is not None:
        return "met" if running_time(row, done, workdays) <= target else "missed"
    return "missed" if running_time(row, judged, workdays) > target else "running"


def in_period(moment: datetime | None, period: Period) -> bool:
    return moment is not None and period.start <= moment < period.end


def local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(clock.site_tz()).replace(tzinfo=None)


def number(row: dict) -> str:
    return f"SR-{row['raised'].astimezone(clock.site_tz()):%Y}-{row['id']:04d}"


def repair_number(row: dict) -> str:
    created = row.get("created") or row["start"]
    return f"RP-{created.astimezone(clock.site_tz()):%Y}-{row['id']:04d}"


# --- reading the workbook -------------------------------------------------------------------


def table(book: Any, name: str) -> list[dict[str, Any]]:
    """A sheet's rows as {header: value}; the note line above the header skipped."""
    rows = list(book[name].iter_rows(values_only=True))
    start = 0 if rows and rows[0][1:2] and rows[0][1] is not None else 2
    header = rows[start]
    return [dict(zip(header, r, strict=False)) for r in rows[start + 1 :]]


def cover(book: Any) -> dict[str, Any]:
    return {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True) if r[0]}


#: stored keys of the desk that must never show in a cell
KEYS = {
    *CATEGORIES,
    *CHANNELS,
    *IMPORTANCE,
    "new",
    "responded",
    "in_progress",
    "suspended",
    "resolved",
    "closed",
    "met",
    "missed",
    "overdue",
    "running",
    "paused",
    "acknowledge",
    "onsite",
    "resolve",
    "fix_by",
    "engineer",
    "waiting_vendor",
    "remote",
}


def words_not_keys(book: Any, sheets: list[str]) -> None:
    for name in sheets:
        for row in book[name].iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str):
                    shown = set(re.findall(r"[a-z_]+", value))
                    assert not shown & KEYS, f"{name}: {value!r}"


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture
def quarter(db_app: Flask, tmp_path: Path) -> dict[str, Any]:
    """The last quarter seeded and its pack built (zh, every kind of the desk)."""
    with db_app.test_request_context("/"):
        period = previous_period("quarter", clock.site_today(), clock.site_tz())
        calendar = current_policy().calendar
        span = [period.first_day + timedelta(days=i) for i in range(-20, 120)]
        workdays = {d for d in span if calendar.is_workday(d)}
        in_quarter = sorted(d for d in workdays if period.first_day <= d <= period.last_day)
        seeded = seed(period, in_quarter)
        build_pack(period, tmp_path / "q.xlsx")
    return {
        "period": period,
        "workdays": workdays,
        "book": openpyxl.load_workbook(tmp_path / "q.xlsx"),
        **seeded,
    }


def test_quarterly_pack_holds_both_kinds_in_pack_order(quarter: dict[str, Any]) -> None:
    names = quarter["book"].sheetnames
    desk = ["请求分类统计", "服务请求 SLA", "解决时长", "临时应急措施", "满意度", "服务请求明细"]
    repairs = ["维修按重要性", "厂商工单", "维修记录明细"]
    assert all(n in names for n in desk + repairs), names
    # after the alerts' sheets, before the load's; the annual sheets only in a year's pack
    assert names.index("事件") < names.index(desk[0]) < names.index(repairs[0])
    assert "重复问题" not in names and "报修部门排行" not in names
    words_not_keys(quarter["book"], desk + repairs)


def test_requests_by_category_urgency_channel_department(quarter: dict[str, Any]) -> None:
    period = quarter["period"]
    rows = [r for r in quarter["requests"] if in_period(r["raised"], period)]
    got = {
        (r["统计维度"], r["项目"]): (r["服务请求"], r["占比"])
        for r in table(quarter["book"], "请求分类统计")
    }
    expected: dict[tuple[str, str], int] = {}
    for dimension, key, words in (
        ("类别", "category", CATEGORIES),
        ("紧急程度", "urgency", URGENCIES),
        ("渠道", "channel", CHANNELS),
    ):
        counts = Counter(r[key] for r in rows)
        expected |= {(dimension, words[k]): counts[k] for k in words}  # zeros listed too
    departments = Counter(r["dept"] or "（未填写）" for r in rows)
    expected |= {("部门", d): n for d, n in departments.items()}
    assert {k: v[0] for k, v in got.items()} == expected
    assert all(share == approx(n / len(rows)) for n, share in got.values())
    assert cover(quarter["book"])["服务请求"] == len(rows) == 10


def test_request_clocks_met_missed_running_per_level(quarter: dict[str, Any]) -> None:
    period, workdays = quarter["period"], quarter["workdays"]
    rows = [r for r in quarter["requests"] if in_period(r["raised"], period)]
    counts: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for row in rows:
        for name in CLOCK_WORDS:
            counts[(level(row["urgency"]), name)][outcome(row, name, period.end, workdays)] += 1
    got = {(r["级别"], r["时限"]): r for r in table(quarter["book"], "服务请求 SLA")}
    assert len(got) == 8  # both levels, four clocks each
    for (lv, name), c in counts.items():
        row = got[(LEVEL_NAMES[lv], CLOCK_WORDS[name])]
        decided = c["met"] + c["missed"]
        assert (row["服务请求"], row["达成"], row["超时"], row["计时中"]) == (
            sum(c.values()),
            c["met"],
            c["missed"],
            c["running"],
        ), (lv, name)
        assert row["达成率"] == (approx(c["met"] / decided) if decided else None)
        assert row["服务时段"] == HOURS_WORDS[lv]
    # the seed covers every outcome
    assert {o for c in counts.values() for o in c} == {"met", "missed", "running"}
    assert got[("一级服务", "到场")]["目标时限"] == "2 小时"
    assert got[("二级服务", "最迟排除时限")]["目标时限"] == "报修日后第 2 个工作日下班前"


def test_time_to_resolve_per_level(quarter: dict[str, Any]) -> None:
    period, workdays = quarter["period"], quarter["workdays"]
    took: dict[int, list[float]] = defaultdict(list)
    for row in quarter["requests"]:
        resolved = moments(row)["resolved"]
        if in_period(row["raised"], period) and resolved:
            hours = running_time(row, resolved, workdays).total_seconds() / 3600
            took[level(row["urgency"])].append(hours)
    assert sorted(took[2]) == [5.0, 6.0, 6.0]  # C: working hours, by construction
    got = {r["级别"]: r for r in table(quarter["book"], "解决时长")}
    for lv, values in took.items():
        row = got[LEVEL_NAMES[lv]]
        ordered = sorted(values)
        p90 = ordered[-(-len(ordered) * 9 // 10) - 1]  # nearest rank
        assert row["已解决"] == len(values)
        assert row["中位数（小时）"] == approx(statistics.median(values), abs=0.01)
        assert row["90 百分位（小时）"] == approx(p90, abs=0.01)
        assert row["平均值（小时）"] == approx(sum(values) / len(values), abs=0.01)
    assert got["一级服务"]["计时方式"] == "自然时间（7x24）"
    assert got["二级服务"]["计时方式"] == "工作时间（5x8，按工作日历）"


def test_temporary_measures_and_suspended_time(quarter: dict[str, Any]) -> None:
    period = quarter["period"]
    rows = [r for r in quarter["requests"] if in_period(r["raised"], period)]
    past_cap = [r for r in rows if r["fix"] == "missed"]
    carrying = [r for r in rows if "measure" in r]
    got = {r["服务请求"]: r for r in table(quarter["book"], "临时应急措施")}
    assert set(got) == {number(r) for r in past_cap + carrying}
    r4 = next(r for r in rows if r["key"] == "r4")
    row = got[number(r4)]
    assert row["超过最迟时限"] == "是"
    assert row["临时应急措施"] == "借出备机 SPARE-01 临时替代"
    assert row["借出备机"] == "SPARE-01 备机 1"
    assert row["借出时间"] == local(r4["raised"] + r4["loan"][1])
    assert row["归还时间"] == local(r4["raised"] + r4["loan"][2])
    r9 = next(r for r in rows if r["key"] == "r9")
    assert got[number(r9)]["临时应急措施"] is None and got[number(r9)]["超过最迟时限"] == "是"
    suspended = sum(
        (r["suspended"][1] - r["suspended"][0] for r in rows if "suspended" in r), timedelta(0)
    )
    front = cover(quarter["book"])
    assert front["超过最迟排除时限的请求"] == len(past_cap)
    assert front["已采取临时应急措施的请求"] == len(carrying)
    assert front["挂起过的服务请求"] == sum(1 for r in rows if "suspended" in r) == 1
    assert front["挂起时长（小时）"] == approx(suspended.total_seconds() / 3600)


def test_satisfaction(quarter: dict[str, Any]) -> None:
    period = quarter["period"]
    answered = [s["score"] for s in quarter["surveys"] if in_period(s["answered"], period)]
    sent = [s for s in quarter["surveys"] if in_period(s["created"], period)]
    responded = [s for s in sent if s["answered"]]
    got = {r["评分"]: r for r in table(quarter["book"], "满意度")}
    assert list(got) == [5, 4, 3, 2, 1]
    for score, row in got.items():
        assert row["份数"] == answered.count(score)
        assert row["占比"] == approx(answered.count(score) / len(answered))
    front = cover(quarter["book"])
    assert front["满意度调查回复"] == len(answered) == 5
    assert front["平均满意度（1-5）"] == approx(round(sum(answered) / len(answered), 2))
    assert front["满意度调查回复率"] == approx(len(responded) / len(sent))  # shown as 80.0%


def test_request_list_in_words_and_full_names(quarter: dict[str, Any]) -> None:
    period, workdays = quarter["period"], quarter["workdays"]
    rows = [r for r in quarter["requests"] if in_period(r["raised"], period)]
    book = quarter["book"]
    got = {r["服务请求"]: r for r in table(book, "服务请求明细")}
    assert set(got) == {number(r) for r in rows}
    names = {"SRV-01": "SRV-01 财务服务器", "SW-01": "SW-01 接入交换机", "PRN-01": "PRN-01 打印机"}
    statuses = {"closed": "已关闭", "resolved": "已解决", "in_progress": "处理中", "new": "新建"}
    for row in rows:
        m, line = moments(row), got[number(row)]
        assert line["报修时间"] == local(m["raised"])
        assert line["解决时间"] == local(m["resolved"])
        assert line["报修人"] == row["requester"]
        assert line["部门"] == (row["dept"] or None)
        assert line["类别"] == CATEGORIES[row["category"]]
        assert line["渠道"] == CHANNELS[row["channel"]]
        assert line["紧急程度"] == URGENCIES[row["urgency"]]
        assert line["状态"] == statuses[status(row)]
        assert line["资产"] == (names[row["asset"]] if row["asset"] else None)
        assert line["工程师"] == "张伟"
        for name, header in (
            ("acknowledge", "响应时限"),
            ("onsite", "到场时限"),
            ("resolve", "解决时限"),
            ("fix_by", "最迟排除时限"),
        ):
            expected = outcome(row, name, period.end, workdays)
            shown = line[header]
            if expected == "met":
                assert shown == "达成", (row["key"], name)
            elif expected == "missed":  # done late, or past its deadline undone
                assert shown in ("超时完成", "已逾期"), (row["key"], name, shown)
            else:
                assert shown in ("计时中", "已暂停"), (row["key"], name, shown)
    # a formula-like name is text, never a formula
    ws = book["服务请求明细"]
    cells = [c for r in ws.iter_rows() for c in r if c.value == "=SUM(1,2)"]
    assert cells and all(c.data_type == "s" for c in cells)


def test_repairs_by_importance_and_vendor_cases(quarter: dict[str, Any]) -> None:
    period = quarter["period"]
    repairs = [r for r in quarter["repairs"] if in_period(r["when"], period)]
    importance = {"SRV-01": "core", "SW-01": "important", "PRN-01": "general"}
    got = {r["重要性"]: r for r in table(quarter["book"], "维修按重要性")}
    assert list(got) == ["核心", "重要", "一般", "合计"]

    def figures(rows: list[dict]) -> tuple:
        return (
            len({r["asset"] for r in rows}),
            len(rows),
            round(sum(r["down"].total_seconds() / 3600 for r in rows if r["start"]), 2),
            sum(q for r in rows for *_p, q in r["parts"]),
            sum(1 for r in rows if r.get("case") or r.get("rma")),
            sum(1 for r in rows if r.get("rma")),
            float(sum(r.get("cost") or 0 for r in rows)),
        )

    for key, word in IMPORTANCE.items():
        expected = figures([r for r in repairs if importance[r["asset"]] == key])
        row = got[word]
        assert (
            row["维修设备数"],
            row["维修"],
            row["停机时长（小时）"],
            row["更换部件"],
            row["厂商工单"],
            row["RMA 数"],
            row["费用（元）"],
        ) == approx(expected), word
    total = figures(repairs)
    assert got["合计"]["维修"] == total[1] == 4
    assert got["合计"]["停机时长（小时）"] == approx(total[2])
    assert got["合计"]["费用（元）"] == approx(total[6])
    front = cover(quarter["book"])
    assert front["维修"] == 4 and front["维修费用（元）"] == approx(total[6])

    cases = {r["维修记录"]: r for r in table(quarter["book"], "厂商工单")}
    with_case = [r for r in repairs if r.get("case") or r.get("rma")]
    assert set(cases) == {repair_number(r) for r in with_case}
    p1 = next(r for r in repairs if r["key"] == "p1")
    row = cases[repair_number(p1)]
    assert (row["厂商"], row["厂商工单号"], row["RMA 号"], row["开单时间"], row["结单时间"]) == (
        "华为",
        "C-2026-0815",
        "RMA-77881",
        local(p1["opened"]),
        local(p1["closed"]),
    )
    assert row["资产编号"] == "SRV-01" and row["重要性"] == "核心"

    listed = {r["维修记录"]: r for r in table(quarter["book"], "维修记录明细")}
    assert set(listed) == {repair_number(r) for r in repairs}
    line = listed[repair_number(p1)]
    r3 = next(r for r in quarter["requests"] if r["key"] == "r3")
    assert line["服务请求"] == number(r3)
    assert line["更换部件"] == "600GB SAS 硬盘 ×1（WX-OLD-1 → WX-NEW-2）"
    assert line["停机开始"] == local(p1["start"])
    assert line["停机时长（小时）"] == approx(2.5)
    assert line["工程师"] == "张伟"


def test_english_pack_in_english_words(
    quarter: dict[str, Any], db_app: Flask, tmp_path: Path
) -> None:
    with db_app.test_request_context("/"):
        build_pack(quarter["period"], tmp_path / "en.xlsx", ["service_requests", "repairs"], "en")
    book = openpyxl.load_workbook(tmp_path / "en.xlsx")
    by_kind = {
        (r["Grouped by"], r["Group"]): r["Requests"] for r in table(book, "Requests by kind")
    }
    assert by_kind[("Category", "Hardware")] == 4
    assert by_kind[("Channel", "Phone")] == 5
    importance = [r["Importance"] for r in table(book, "Repairs by importance")]
    assert importance == ["Core", "Important", "General", "Total"]
    listed = table(book, "Request list")
    assert {r["Engineer"] for r in listed} == {"张伟"}
    assert {r["Status"] for r in listed} >= {"Closed", "Being handled"}


def test_annual_summary_lists_recurring_problems_and_departments(
    quarter: dict[str, Any], db_app: Flask, tmp_path: Path
) -> None:
    year = parse_period(str(quarter["period"].first_day.year), clock.site_tz())
    with db_app.test_request_context("/"):
        build_pack(year, tmp_path / "y.xlsx", ["service_requests", "repairs"])
    book = openpyxl.load_workbook(tmp_path / "y.xlsx")
    assert book["封面"]["A1"].value == "年度技术支持总结"
    rows = [r for r in quarter["requests"] if in_period(r["raised"], year)]
    repairs = [r for r in quarter["repairs"] if in_period(r["when"], year)]
    keys = {r["key"]: r for r in rows}
    # an asset: its requests, and its repairs of none of those requests
    by_asset: Counter[str] = Counter(r["asset"] for r in rows if r["asset"])
    for repair in repairs:
        request = keys.get(repair["request"] or "")
        if request is None or request["asset"] != repair["asset"]:
            by_asset[repair["asset"]] += 1
    by_category = Counter(r["category"] for r in rows)
    names = {"SRV-01": "SRV-01 财务服务器", "SW-01": "SW-01 接入交换机", "PRN-01": "PRN-01 打印机"}
    expected = {("资产", names[a]): n for a, n in by_asset.items() if n > RECURRING_OVER}
    expected |= {("类别", CATEGORIES[c]): n for c, n in by_category.items() if n > RECURRING_OVER}
    got = {(r["统计维度"], r["设备或类别"]): r["次数"] for r in table(book, "重复问题")}
    assert got == expected
    assert ("资产", "SRV-01 财务服务器") in got  # 3 requests and a repair of no request
    assert ("类别", "网络") not in got  # twice only
    ranked = sorted(Counter(r["dept"] for r in rows).items(), key=lambda x: (-x[1], x[0]))
    departments = table(book, "报修部门排行")
    assert [(r["排名"], r["部门"], r["服务请求"]) for r in departments] == [
        (n, dept or "（未填写）", count) for n, (dept, count) in enumerate(ranked, start=1)
    ]
    assert departments[0]["部门"] == "财务部"
    words_not_keys(book, ["重复问题", "报修部门排行"])


def test_a_service_desk_notice_changes_no_alert_figure(db_app: Flask, tmp_path: Path) -> None:
    """The alert report (and its month-by-month sheet) of a quarter with one alert is the same
    after the desk sends a notice in it; the alert list calls it 服务台通知."""
    with db_app.test_request_context("/"):
        period = previous_period("quarter", clock.site_today(), clock.site_tz())
        moment = period.start + 10 * 24 * H
        asset = factories.asset("SRV-09", name="应用服务器")
        alert = alert_services.raise_alert(
            "monitor:srv-09:down",
            source="monitor",
            rule="device.down",
            urgency="A",
            message="SRV-09 不可达",
            asset_id=asset.id,
            at=moment,
        )
        alert_services.acknowledge(alert, at=moment + 3 * M)
        db.session().commit()
        now = clock.now()
        build_pack(period, tmp_path / "before.xlsx", ["alerts"], now=now)
        notice = alert_services.send_notice(
            "servicedesk:request=42:onsite:sla_breached",
            source="servicedesk",
            rule="servicedesk.request.onsite",
            urgency="A",
            message="SR-2026-0042: 到场 deadline missed",
            asset_id=asset.id,
            at=moment + H,
        )
        db.session().commit()
        assert notice_request(notice.source, notice.dedup_key) == 42
        assert notice_request(alert.source, alert.dedup_key) is None
        build_pack(period, tmp_path / "after.xlsx", ["alerts"], now=now)
    before = openpyxl.load_workbook(tmp_path / "before.xlsx")
    after = openpyxl.load_workbook(tmp_path / "after.xlsx")
    assert before.sheetnames == after.sheetnames
    for name in before.sheetnames:
        assert list(before[name].iter_rows(values_only=True)) == list(
            after[name].iter_rows(values_only=True)
        ), name
    assert cover(after)["告警"] == 1

    # the request's page (the desk's, or this stand-in while there is none) is linked
    db_app.add_url_rule("/requests/<int:request_id>", "stand_in_request", lambda request_id: "")
    client = db_app.test_client()
    login(client, "viewer")
    page = client.get("/alerts/?status=resolved").get_data(as_text=True)
    assert "服务台通知" in page and "SR-2026-0042" in page
    assert re.search(r'<a href="/requests/42" data-field="source">服务台通知', page), page
