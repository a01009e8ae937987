"""Patrol plans that recur weekly, monthly, quarterly or on working days (#17), on SQLite and
PostgreSQL, every date written out by hand and the clock frozen: the one expansion
(``queries.expected_slots``), the day's slots and the dashboard's rows, the report's patrol
sheet, month by month and cover read back from the workbook, the plan form and list."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from inspections import queries, services
from inspections.models import PatrolPlan
from opskit import clock, db
from opskit.audit import acting_as
from opskit.validation import ValidationFailed
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories
from tests.conftest import csrf_token, login
from tests.inspections.test_rounds import answers

TZ = ZoneInfo("Asia/Shanghai")
#: the Mondays of 2026Q1, by hand from a wall calendar
MONDAYS_2026Q1 = [
    date(2026, 1, 5),
    date(2026, 1, 12),
    date(2026, 1, 19),
    date(2026, 1, 26),
    date(2026, 2, 2),
    date(2026, 2, 9),
    date(2026, 2, 16),
    date(2026, 2, 23),
    date(2026, 3, 2),
    date(2026, 3, 9),
    date(2026, 3, 16),
    date(2026, 3, 23),
    date(2026, 3, 30),
]
AFTER_Q1 = datetime(2026, 4, 10, 1, 0, tzinfo=UTC)  # 2026-04-10 09:00 on site


def table(sheet, first: str) -> tuple[list, list[tuple]]:
    """A sheet's header (the row starting with ``first``) and the rows below it."""
    rows = list(sheet.iter_rows(values_only=True))
    at = next(i for i, r in enumerate(rows) if r[0] == first)
    return list(rows[at]), [r for r in rows[at + 1 :] if r[0] is not None]


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def plan_with(name: str, room_id: int, times: str, **recurrence: object) -> PatrolPlan:
    plan = services.save_plan(
        {
            "name": name,
            "room_id": room_id,
            "checklist_keys": ["room_environment"],
            "schedule_times": times,
            "recurrence": recurrence,
        }
    )
    plan.created_at = local("2025-12-01 00:00")  # in force before the periods below
    db.session().commit()
    return plan


@pytest.fixture
def room_id(db_app: Flask) -> int:
    with db_app.app_context():
        rack = factories.rack("总部", "A机房", "A01")
        db.session().commit()
        return rack.room_id


def test_expansions_over_periods_written_out(db_app, room_id) -> None:
    with db_app.test_request_context("/"), clock.frozen(AFTER_Q1), acting_as("supervisor"):
        q1 = (local("2026-01-01 00:00"), local("2026-04-01 00:00"))
        weekly = plan_with("机柜告警灯周检", room_id, "16:30", freq="weekly", weekdays=[1])
        assert weekly.recurrence == {"freq": "weekly", "weekdays": [1]}
        assert queries.expected_slots(weekly, *q1) == [
            datetime(d.year, d.month, d.day, 16, 30, tzinfo=TZ) for d in MONDAYS_2026Q1
        ]
        last = plan_with("月末检查", room_id, "09:00", freq="monthly", day="last")
        assert queries.expected_slots(last, *q1) == [
            local("2026-01-31 09:00"),
            local("2026-02-28 09:00"),
            local("2026-03-31 09:00"),
        ]
        fifteenth = plan_with(
            "季度检查", room_id, "10:00, 14:00", freq="quarterly", month=2, day=15
        )
        year = (local("2026-01-01 00:00"), local("2027-01-01 00:00"))
        assert queries.expected_slots(fifteenth, *year) == [
            local("2026-02-15 10:00"),
            local("2026-02-15 14:00"),
            local("2026-05-15 10:00"),
            local("2026-05-15 14:00"),
            local("2026-08-15 10:00"),
            local("2026-08-15 14:00"),
            local("2026-11-15 10:00"),
            local("2026-11-15 14:00"),
        ]
        # the 2026 Spring Festival: 02-15 (Sun) to 02-23 (Mon) off; Saturdays 02-14 and 02-28
        # are make-up working days (国务院办公厅 2026 arrangement)
        workdays = plan_with("工作日巡检", room_id, "09:00", freq="workdays")
        festival = (local("2026-02-07 00:00"), local("2026-03-02 00:00"))
        assert [s.date() for s in queries.expected_slots(workdays, *festival)] == [
            date(2026, 2, 9),
            date(2026, 2, 10),
            date(2026, 2, 11),
            date(2026, 2, 12),
            date(2026, 2, 13),
            date(2026, 2, 14),
            date(2026, 2, 24),
            date(2026, 2, 25),
            date(2026, 2, 26),
            date(2026, 2, 27),
            date(2026, 2, 28),
        ]
        # a window cut inside a day keeps only the moments inside it
        daily = plan_with("日常巡检", room_id, "09:00, 15:00")
        assert daily.recurrence == {"freq": "daily"}
        cut = (local("2026-03-01 12:00"), local("2026-03-02 12:00"))
        assert queries.expected_slots(daily, *cut) == [
            local("2026-03-01 15:00"),
            local("2026-03-02 09:00"),
        ]
        assert queries.recurrence_text(weekly) == "每周一 16:30"
        assert queries.recurrence_text(last) == "每月最后一天 09:00"
        assert queries.recurrence_text(workdays) == "工作日 09:00"
        assert queries.recurrence_text(fifteenth) == "每季度第 2 个月 15 日 10:00, 14:00"
        assert queries.recurrence_text(daily) == "每天 09:00, 15:00"


def test_bad_recurrences_are_named_and_nothing_is_saved(db_app, room_id) -> None:
    base = {"name": "x", "room_id": room_id, "checklist_keys": "room_environment"}
    cases = [
        ({"frequency": "fortnightly"}, "frequency"),
        ({"frequency": "weekly"}, "weekdays"),
        ({"frequency": "weekly", "weekdays": ["8"]}, "weekdays"),
        ({"frequency": "monthly", "month_day": "31"}, "month_day"),
        ({"frequency": "quarterly", "month_day": "1", "quarter_month": "4"}, "quarter_month"),
    ]
    with db_app.test_request_context("/"), acting_as("supervisor"):
        for fields, field in cases:
            with pytest.raises(ValidationFailed) as bad:
                services.save_plan({**base, "schedule_times": "09:00", **fields})
            assert set(bad.value.errors) == {field}, fields
        with pytest.raises(ValidationFailed) as bad:
            services.save_plan({**base, "schedule_times": ""})
        assert set(bad.value.errors) == {"schedule_times"}
        db.session().rollback()
        assert db.session().scalars(select(PatrolPlan)).all() == []


def test_weekly_plan_counted_right_on_the_day_and_in_the_pack(
    db_app, db_client, room_id, tmp_path: Path
) -> None:
    """Mondays 16:30 over 2026Q1: 13 slots, 12 done, 1 missed (03-16), never six a week."""
    out = tmp_path / "q1.xlsx"
    with db_app.test_request_context("/"), clock.frozen(AFTER_Q1), acting_as("engineer"):
        plan = plan_with("机柜告警灯周检", room_id, "16:30", freq="weekly", weekdays=[1])
        for day in MONDAYS_2026Q1:
            if day == date(2026, 3, 16):
                continue
            slot = datetime(day.year, day.month, day.day, 16, 30, tzinfo=TZ)
            cid = f"weekly-{day:%Y%m%d}"
            services.start_round(cid, plan_id=plan.id, room_id=room_id, scheduled_for=slot)
            services.submit_round(cid, {"answers": answers(), "signature_name": "张工"})
        db.session().commit()
        # the day's slots and the dashboard: a Monday has the round, a Tuesday none
        monday = queries.rounds_for_day(date(2026, 3, 16))
        assert [(s.scheduled_for, s.state) for s in monday] == [
            (local("2026-03-16 16:30"), "overdue")
        ]
        assert [s.state for s in queries.rounds_for_day(date(2026, 3, 23))] == ["done"]
        assert queries.rounds_for_day(date(2026, 3, 17)) == []
        assert [r["title"] for r in queries.rounds_today(date(2026, 3, 30))] == [
            "16:30 机柜告警灯周检 · A机房"
        ]
        assert queries.rounds_today(date(2026, 3, 31)) == []
        build_pack(parse_period("2026Q1", TZ), out, ["patrol"])
    # the pages: the today page of a Monday and of a Tuesday, the dashboard on a Monday
    login(db_client, "engineer")
    monday_page = db_client.get("/patrol/today?day=2026-03-16").get_data(as_text=True)
    assert "机柜告警灯周检" in monday_page
    assert "机柜告警灯周检" not in db_client.get("/patrol/today?day=2026-03-17").get_data(
        as_text=True
    )
    with clock.frozen(datetime(2026, 3, 30, 2, 0, tzinfo=UTC)):  # Monday 10:00 on site
        dashboard = db_client.get("/").get_data(as_text=True)
    tile = re.search(r'<section[^>]*id="tile-patrol".*?</section>', dashboard, re.S)
    assert tile is not None and tile.group(0).count("16:30 机柜告警灯周检 · A机房") == 1
    book = openpyxl.load_workbook(out)
    header, body = table(book["巡检执行"], "日期")
    assert header[:5] == ["日期", "计划", "已完成", "漏检", "临时巡检"]
    days = {r[0].date(): r[1:4] for r in body}
    assert len(days) == 90  # every day of the quarter has its row
    planned = {d: v for d, v in days.items() if v[0]}
    assert sorted(planned) == MONDAYS_2026Q1
    assert planned[date(2026, 3, 16)] == (1, 0, 1)
    assert all(v == (1, 1, 0) for d, v in planned.items() if d != date(2026, 3, 16))
    assert sum(v[2] for v in days.values()) == 1  # one missed round in the quarter
    header, body = table(book["月度概况"], "月份")
    months = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert [
        (months[m]["计划巡检次数"], months[m]["完成巡检次数"])
        for m in ("2026-01", "2026-02", "2026-03")
    ] == [(4, 4), (4, 4), (5, 4)]
    cover = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert cover["计划巡检次数"] == 13
    assert cover["完成巡检次数"] == 12 and cover["巡检完成率"] == pytest.approx(12 / 13)


def test_plan_form_and_list_show_the_recurrence(db_app, db_client, room_id) -> None:
    login(db_client, "supervisor")
    token = csrf_token(db_client, "/patrol/admin/plans")
    form = {
        "csrf_token": token,
        "name": "月末检查",
        "where": f"room:{room_id}",
        "checklist_keys": ["room_environment"],
        "schedule_times": "09:00",
        "frequency": "monthly",
        "month_day": "31",
        "grace_minutes": "90",
        "enabled": "1",
    }
    bad = db_client.post("/patrol/admin/plans/new", data=form)
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert 'data-field="month_day"' in page and "1 至 28 日" in page
    assert 'value="月末检查"' in page and 'id="freq-monthly" value="monthly"' in page
    assert 'value="31" selected' in page  # what was typed is kept, named on its field
    assert 'id="freq-monthly" value="monthly" autocomplete="off" checked' in page
    with db_app.app_context():
        assert db.session().scalars(select(PatrolPlan)).all() == []
    assert (
        db_client.post("/patrol/admin/plans/new", data=form | {"month_day": "last"}).status_code
        == 303
    )
    weekly = form | {"name": "周检", "frequency": "weekly", "weekdays": ["1", "4"]}
    assert db_client.post("/patrol/admin/plans/new", data=weekly).status_code == 303
    with db_app.app_context():
        saved = {p.name: p.recurrence for p in db.session().scalars(select(PatrolPlan))}
        weekly_id = (
            db.session().scalars(select(PatrolPlan.id).where(PatrolPlan.name == "周检")).one()
        )
    assert saved == {
        "月末检查": {"freq": "monthly", "day": "last"},
        "周检": {"freq": "weekly", "weekdays": [1, 4]},
    }
    listing = db_client.get("/patrol/admin/plans").get_data(as_text=True)
    assert "每月最后一天 09:00" in listing and "每周一、周四 09:00" in listing
    edit = db_client.get(f"/patrol/admin/plans/{weekly_id}").get_data(as_text=True)
    assert 'id="wd-4" value="4" autocomplete="off" checked' in edit
    assert 'id="freq-weekly" value="weekly" autocomplete="off" checked' in edit
    with db_client.session_transaction() as session:
        session["locale"] = "en"
    english = db_client.get("/patrol/admin/plans").get_data(as_text=True)
    assert "Last day of the month 09:00" in english
    assert "Weekly on Mondays, Thursdays 09:00" in english
    # viewers and engineers read the list but do not write plans
    db_client.post("/logout", data={"csrf_token": token})
    login(db_client, "viewer")
    token = csrf_token(db_client, "/patrol/admin/plans")
    refused = db_client.post("/patrol/admin/plans/new", data=weekly | {"csrf_token": token})
    assert refused.status_code == 403
