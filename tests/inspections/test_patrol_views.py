"""Today / history / trends pages and the Excel export of rounds, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime
from typing import Any

import openpyxl
from sqlalchemy import update

from inspections import services
from opskit import db
from opskit.audit import acting_as
from opskit.models import User
from tests import factories
from tests.conftest import csrf_token, login

NORMAL = {
    "cold_aisle_temperature": "23.5",
    "cold_aisle_humidity": "48",
    "hot_aisle_temperature": "33",
    "no_water_leak": "pass",
    "no_smell_or_noise": "pass",
    "lighting": "pass",
    "cleanliness": "clean",
}


def answers(at: str, **changes: Any) -> list[dict[str, Any]]:
    return [
        {
            "target": "room",
            "checklist": "room_environment",
            "item": k,
            "value": v,
            "answered_at": at,
        }
        for k, v in {**NORMAL, **changes}.items()
    ]


def _rounds(app) -> int:
    """A plan at 09:00 and 15:00; on 11-20 the 09:00 round (one warning), an ad hoc draft;
    on 11-21 the 09:00 round (all normal)."""
    with app.test_request_context("/"), acting_as("engineer"):
        rack = factories.rack("总部", "A机房", "A01")
        plan = services.save_plan(
            {
                "name": "A机房日常巡检",
                "room_id": rack.room_id,
                "checklist_keys": ["room_environment"],
                "schedule_times": "09:00, 15:00",
            }
        )
        db.session().commit()
        room_id, plan_id = rack.room_id, plan.id
        services.start_round(
            "p2-round-0001",
            plan_id=plan_id,
            room_id=room_id,
            scheduled_for="2026-11-20T09:00:00+08:00",
            started_at="2026-11-20T09:05:00+08:00",
        )
        first = answers("2026-11-20T09:10:00+08:00", cold_aisle_temperature="30.5")
        first[0]["note"] = "=SUM(1+1) 北侧冷通道偏高"
        services.submit_round("p2-round-0001", {"answers": first, "signature_name": "张工"})
        services.start_round(
            "p2-round-0002",
            room_id=room_id,
            checklist_keys=["room_environment"],
            started_at="2026-11-20T10:30:00+08:00",
        )
        services.start_round(
            "p2-round-0003",
            plan_id=plan_id,
            room_id=room_id,
            scheduled_for="2026-11-21T09:00:00+08:00",
            started_at="2026-11-21T09:02:00+08:00",
        )
        second = answers("2026-11-21T09:06:00+08:00", cold_aisle_temperature="24")
        services.submit_round("p2-round-0003", {"answers": second, "signature_name": "李工"})
        db.session().commit()  # services flush, their caller commits
        return room_id


def test_today_history_trends_and_export(db_app, db_client) -> None:
    room_id = _rounds(db_app)
    with db_app.app_context():  # the rounds' engineer is shown by full name, not by login
        db.session().execute(
            update(User).where(User.username == "engineer").values(display_name="张伟")
        )
        db.session().commit()
    with db_app.test_request_context("/"):
        from datetime import date

        from inspections.queries import rounds_today

        rows = rounds_today(date(2026, 11, 20))
        assert [(r["title"], r["state"]) for r in rows] == [
            ("09:00 A机房日常巡检 · A机房", "done"),
            ("10:30 临时巡检 · A机房", "in_progress"),
            ("15:00 A机房日常巡检 · A机房", "overdue"),
        ]
    login(db_client, "viewer")
    today = db_client.get("/patrol/today?day=2026-11-20").get_data(as_text=True)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', today))
    assert counts == {"due": "0", "in_progress": "1", "done": "1", "overdue": "1"}
    states = re.findall(r'<tr data-state="(\w+)">', today)
    assert states == ["done", "in_progress", "overdue"]  # 09:00, 10:30 ad hoc, 15:00
    assert "A机房日常巡检" in today and "临时巡检" in today and "已逾期" in today
    assert 'href="/patrol/rounds/p2-round-0001"' in today  # the round page of the slot
    assert 'id="today-start"' not in today  # viewers start no round
    assert ">张伟</td>" in today and ">engineer<" not in today
    other = db_client.get("/patrol/today?day=2026-11-20&room=999").get_data(as_text=True)
    assert re.findall(r'<tr data-state="(\w+)">', other) == []

    history = db_client.get(
        f"/patrol/history?start=2026-11-20&end=2026-11-21&room={room_id}"
    ).get_data(as_text=True)
    assert "共 3 次巡检" in history
    days = re.findall(r'<h2 class="h6 mt-3">([\d-]+)</h2>', history)
    assert days == ["2026-11-21", "2026-11-20"]  # newest day first
    assert '<span class="badge text-bg-danger">1</span>' in history
    assert ">张伟</td>" in history and ">engineer<" not in history
    submitted = db_client.get("/patrol/history?start=2026-11-20&end=2026-11-21&status=draft")
    assert "共 1 次巡检" in submitted.get_data(as_text=True)

    # a room override is drawn as a limit line too
    with db_app.app_context():
        from inspections import limits

        checklist = limits.site_checklists().checklists["room_environment"]
        limits.save_override(
            checklist, "cold_aisle_temperature", "room", room_id, {"warning_high": "29"}
        )
        db.session().commit()
    page = db_client.get(
        "/patrol/trends?item=room_environment.cold_aisle_temperature"
        f"&start=2026-11-19&end=2026-11-22&room={room_id}"
    ).get_data(as_text=True)
    raw = re.search(r'<script type="application/json" id="trend-data">(.*?)</script>', page, re.S)
    chart = json.loads(raw.group(1))
    assert chart["unit"] == "°C"
    assert chart["series"] == [
        {
            "name": "机房",
            "data": [["2026-11-20 09:10", 30.5, "warning"], ["2026-11-21 09:06", 24.0, "ok"]],
        }
    ]
    assert {(line["kind"], line["side"], line["value"]) for line in chart["limits"]} == {
        ("normal", "min", 18),
        ("normal", "max", 27),
        ("warning", "high", 29),
        ("critical", "low", 15),
        ("critical", "high", 32),
    }
    assert "js/patrol_trends.js" in page and "<script>" not in page
    assert "告警上限: 29°C" in page
    unknown = db_client.get("/patrol/trends?asset=NOPE-9").get_data(as_text=True)
    assert "NOPE-9" in unknown and 'id="trend-error"' in unknown

    response = db_client.get("/patrol/export.xlsx?month=2026-11")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    rounds, answered, findings = book.worksheets
    assert [c.value for c in rounds[1]][:6] == [
        "开始时间",
        "巡检计划",
        "机房",
        "计划时间",
        "工程师",
        "状态",
    ]
    round_rows = [[c.value for c in row] for row in rounds.iter_rows(min_row=2)]
    assert [(r[0], r[1], r[5], r[7]) for r in round_rows] == [
        (datetime(2026, 11, 20, 9, 5), "A机房日常巡检", "已提交", 1),
        (datetime(2026, 11, 20, 10, 30), "临时巡检", "进行中", 0),
        (datetime(2026, 11, 21, 9, 2), "A机房日常巡检", "已提交", 0),
    ]
    assert round_rows[0][3] == datetime(2026, 11, 20, 9, 0)
    assert {r[4] for r in round_rows} == {"张伟"}  # the engineer's full name
    warm = [row for row in answered.iter_rows(min_row=2) if row[6].value == 30.5]
    assert len(warm) == 1
    assert warm[0][4].value == "冷通道温度" and warm[0][8].value == "警告"
    assert warm[0][9].value == "=SUM(1+1) 北侧冷通道偏高" and warm[0][9].data_type == "s"
    assert answered.max_row == 1 + 2 * len(NORMAL)
    by_item = {row[4].value: row for row in answered.iter_rows(min_row=2)}
    assert by_item["地板下及空调周边无漏水"][5].value == "合格"  # a check as a word, not "pass"
    assert by_item["机房整洁度"][5].value == "整洁"  # a choice by its label, not "clean"
    assert {row[12].value for row in answered.iter_rows(min_row=2)} == {"张伟"}
    finding_rows = [[c.value for c in row] for row in findings.iter_rows(min_row=2)]
    assert len(finding_rows) == 1 and finding_rows[0][4] == "冷通道温度"
    day = db_client.get("/patrol/export.xlsx?day=2026-11-21")
    assert openpyxl.load_workbook(io.BytesIO(day.data)).worksheets[0].max_row == 2
    assert db_client.get("/patrol/export.xlsx?month=11/2026").status_code == 400
    assert csrf_token(db_client, "/patrol/today")  # every page renders for a viewer
