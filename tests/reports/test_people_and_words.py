"""Workbooks name people by their full names and answers by their words, in the book's language.

A round walked by the login ``engineer`` (full name 张伟) with a failed check, its finding
closed by the same person: the patrol pack's findings sheet and the patrol export show 张伟,
never ``engineer``, and 不合格 / Fail, never ``fail``.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
from flask import Flask
from sqlalchemy import select, update

from opskit import db
from opskit.models import User
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories
from tests.conftest import login

TZ = ZoneInfo("Asia/Shanghai")
NORMAL = {
    "cold_aisle_temperature": "23.5",
    "cold_aisle_humidity": "48",
    "hot_aisle_temperature": "33",
    "no_water_leak": "fail",  # water under the floor: a finding
    "no_smell_or_noise": "pass",
    "lighting": "pass",
    "cleanliness": "clean",
}


def _round_with_a_failed_check(app: Flask) -> None:
    from inspections import services
    from inspections.models import PatrolFinding
    from opskit.audit import acting_as

    with app.test_request_context("/"):
        db.session().execute(
            update(User).where(User.username == "engineer").values(display_name="张伟")
        )
        room_id = factories.rack().room_id
        engineer = db.session().scalar(select(User.id).where(User.username == "engineer"))
        db.session().commit()
        with acting_as("engineer", engineer):
            services.start_round(
                "words-round-1",
                room_id=room_id,
                checklist_keys=["room_environment"],
                started_at=datetime(2026, 7, 1, 9, 0, tzinfo=TZ),
            )
            answers = [
                {"target": "room", "checklist": "room_environment", "item": k, "value": v}
                | ({"note": "空调 2 号机下有积水"} if v == "fail" else {})
                for k, v in NORMAL.items()
            ]
            services.submit_round("words-round-1", {"answers": answers, "signature_name": "张伟"})
            finding = db.session().scalars(select(PatrolFinding)).one()
            finding.opened_at = datetime(2026, 7, 1, 9, 20, tzinfo=TZ)
            db.session().commit()
            services.close_finding(finding, "已擦干并报修")
            db.session().commit()


def _findings(path: Path, sheet: str) -> list[tuple]:
    book = openpyxl.load_workbook(path)
    return [tuple(c.value for c in row) for row in book[sheet].iter_rows(min_row=2)]


def test_patrol_pack_names_people_and_answers_in_the_books_language(
    app: Flask, tmp_path: Path
) -> None:
    _round_with_a_failed_check(app)
    with app.test_request_context("/"):
        build_pack(parse_period("2026-07", TZ), tmp_path / "zh.xlsx", ["patrol"])
        build_pack(parse_period("2026-07", TZ), tmp_path / "en.xlsx", ["patrol"], lang="en")
    (zh,) = _findings(tmp_path / "zh.xlsx", "巡检异常")
    (en,) = _findings(tmp_path / "en.xlsx", "Patrol findings")
    # found at, room, engineer, item, value, level ... closed by
    assert (zh[2], zh[4], zh[10]) == ("张伟", "不合格", "张伟")
    assert (en[2], en[4], en[10]) == ("张伟", "Fail", "张伟")
    assert "不合格" in zh[7] and "fail" not in zh[7]  # the finding's message says it too
    assert en[3] == "No water under the floor or around the AC units"


def test_patrol_export_names_people_and_answers(app: Flask) -> None:
    _round_with_a_failed_check(app)
    client = app.test_client()
    login(client, "viewer")
    response = client.get("/patrol/export.xlsx?month=2026-07")
    assert response.status_code == 200
    rounds, answers, findings = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets
    (round_row,) = [tuple(c.value for c in r) for r in rounds.iter_rows(min_row=2)]
    assert round_row[4] == "张伟"  # 工程师
    by_item = {r[4].value: r for r in answers.iter_rows(min_row=2)}
    assert by_item["地板下及空调周边无漏水"][5].value == "不合格"
    assert by_item["照明及应急照明正常"][5].value == "合格"
    assert {r[12].value for r in answers.iter_rows(min_row=2)} == {"张伟"}  # 填写人
    (finding,) = [tuple(c.value for c in r) for r in findings.iter_rows(min_row=2)]
    assert finding[10] == "张伟"  # 关闭人
