"""Patrol through the JSON API on SQLite and PostgreSQL: plans; rounds listed and filtered (site,
room, plan, status, period) and one with its answers and findings; a round submitted as the
tablet submits it — twice with the same client id is one round, a wrong answer a 422 naming the
item with nothing stored, someone else's round a 403, a viewer refused; findings filtered (open,
level, period)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from inspections import services
from inspections.models import PatrolAnswer, PatrolFinding, PatrolRound
from opskit import auth, db
from opskit.audit import acting_as
from opskit.models import AuditLog, User
from tests import factories
from tests.inspections.test_rounds import answers


def _count(model: Any) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def api(db_app: Flask) -> dict[str, Any]:
    """Tokens of 张伟 (engineer), 李娜 (engineer) and the viewer; two rooms in two sites, a
    plan of the first room; a submitted round with two findings (40 days ago) and a draft
    round (now) in room A, a submitted round without findings in room B."""
    with db_app.test_request_context("/"):
        sess = db.session()
        room_a = factories.rack(site="总部", room="A机房", name="A01").room
        room_b = factories.rack(site="分部", room="B机房", name="B01").room
        plan = services.save_plan(
            {
                "name": "每日环境巡检",
                "room_id": room_a.id,
                "checklist_keys": ["room_environment"],
                "schedule_times": "09:00",
            }
        )
        users = {}
        for login, name in (("zhangwei", "张伟"), ("lina", "李娜")):
            users[login] = User(username=login, display_name=name, role="engineer")
            users[login].password_hash = "x"
            sess.add(users[login])
        sess.flush()
        now = db.utcnow()
        with acting_as("zhangwei", users["zhangwei"].id):
            old = services.start_round(
                "old-round-01",
                room_id=room_a.id,
                plan_id=plan.id,
                started_at=now - timedelta(days=40),
            )
            payload: dict[str, Any] = {
                "answers": answers(cold_aisle_temperature="30.5", no_water_leak="fail"),
                "signature_name": "张伟",
            }
            payload["answers"][0]["note"] = "北侧冷通道温度偏高"
            payload["answers"][3]["note"] = "空调下方有积水"
            services.submit_round("old-round-01", payload)
            for finding in old.findings:
                finding.opened_at = now - timedelta(days=40)
            draft = services.start_round(
                "draft-round-1", room_id=room_a.id, checklist_keys=["room_environment"]
            )
        with acting_as("lina", users["lina"].id):
            other = services.start_round(
                "b-round-0001", room_id=room_b.id, checklist_keys=["room_environment"]
            )
            services.submit_round("b-round-0001", {"answers": answers(), "signature_name": "李娜"})
        viewer = sess.scalars(select(User).where(User.username == "viewer")).one()
        tokens = {
            "zhang": auth.create_token(users["zhangwei"], "tablet"),
            "lina": auth.create_token(users["lina"], "script"),
            "viewer": auth.create_token(viewer, "wall"),
        }
        ids = {
            "old": old.id,
            "draft": draft.id,
            "other": other.id,
            "plan": plan.id,
            "room_a": room_a.id,
            "room_b": room_b.id,
            "site_a": room_a.site_id,
            "findings": sorted(f.id for f in old.findings),
        }
        sess.commit()
    headers = {k: {"Authorization": f"Bearer {t}"} for k, t in tokens.items()}
    return {**headers, **ids}


def _items(client: FlaskClient, headers: dict[str, str], path: str) -> list[dict[str, Any]]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    items: list[dict[str, Any]] = response.get_json()["items"]
    return items


def test_plans(db_app: Flask, api: dict[str, Any]) -> None:
    client = db_app.test_client()
    plans = _items(client, api["viewer"], "/api/v1/patrol/plans")
    assert [(p["id"], p["name"], p["room_id"]) for p in plans] == [
        (api["plan"], "每日环境巡检", api["room_a"])
    ]
    assert plans[0]["checklist_keys"] == ["room_environment"]
    assert plans[0]["schedule_times"] == ["09:00"]
    assert "09:00" in plans[0]["recurrence_text"]
    assert _items(client, api["viewer"], f"/api/v1/patrol/plans?room_id={api['room_b']}") == []
    one = client.get(f"/api/v1/patrol/plans/{api['plan']}", headers=api["viewer"])
    assert one.get_json() == plans[0]
    assert client.get("/api/v1/patrol/plans/999", headers=api["viewer"]).status_code == 404


def test_rounds_filtered(db_app: Flask, api: dict[str, Any]) -> None:
    client = db_app.test_client()

    def ids(query: str = "") -> list[int]:
        return [r["id"] for r in _items(client, api["viewer"], f"/api/v1/patrol/rounds{query}")]

    assert ids() == [api["other"], api["draft"], api["old"]]  # newest first
    assert ids(f"?site_id={api['site_a']}") == [api["draft"], api["old"]]
    assert ids(f"?room_id={api['room_b']}") == [api["other"]]
    assert ids(f"?plan_id={api['plan']}") == [api["old"]]
    assert ids("?status=draft") == [api["draft"]]
    assert ids("?status=submitted") == [api["other"], api["old"]]
    with db_app.app_context():
        now = db.utcnow()
    since = quote((now - timedelta(days=50)).isoformat())
    until = quote((now - timedelta(days=30)).isoformat())
    assert ids(f"?since={since}&until={until}") == [api["old"]]
    assert ids("?per_page=1&page=2") == [api["draft"]]
    rows = _items(client, api["viewer"], f"/api/v1/patrol/rounds?room_id={api['room_a']}")
    old = rows[-1]
    assert (old["room"], old["plan"], old["engineer"], old["status"]) == (
        "A机房",
        "每日环境巡检",
        "zhangwei",
        "submitted",
    )
    assert old["findings_open"] == 2 and old["signature_name"] == "张伟"
    wrong = client.get("/api/v1/patrol/rounds?status=done&colour=red", headers=api["viewer"])
    assert wrong.status_code == 422
    assert set(wrong.get_json()["fields"]) == {"status", "colour"}
    since = quote((now - timedelta(days=50 * 365)).isoformat())
    assert client.get(f"/api/v1/patrol/rounds?since={since}", headers=api["viewer"]).get_json()[
        "fields"
    ].keys() == {"since"}


def test_round_with_answers_and_findings(db_app: Flask, api: dict[str, Any]) -> None:
    client = db_app.test_client()
    body = client.get(f"/api/v1/patrol/rounds/{api['old']}", headers=api["viewer"]).get_json()
    assert body["client_id"] == "old-round-01"
    by_item = {a["item"]: a for a in body["answers"]}
    assert len(by_item) == 7
    cold = by_item["cold_aisle_temperature"]
    assert (cold["value"], cold["number"], cold["note"]) == ("30.5", 30.5, "北侧冷通道温度偏高")
    assert cold["level"] in ("warning", "critical") and cold["item_title"]
    assert by_item["lighting"]["level"] == "ok"
    assert sorted(f["item"] for f in body["findings"]) == [
        "cold_aisle_temperature",
        "no_water_leak",
    ]
    assert all(f["open"] and f["round_id"] == api["old"] for f in body["findings"])
    assert client.get("/api/v1/patrol/rounds/99999", headers=api["viewer"]).status_code == 404


def _submission(room_id: int, **answer_changes: Any) -> dict[str, Any]:
    return {
        "client_id": "tablet-7f3a9c21",
        "room_id": room_id,
        "checklist_keys": ["room_environment"],
        "answers": answers(**answer_changes),
        "signature_name": "张伟",
    }


def test_submit_twice_is_one_round(db_app: Flask, api: dict[str, Any]) -> None:
    """The must-show: the same client id twice through the API is one round, and the second
    answer points at the round the first made."""
    client = db_app.test_client()
    body = _submission(api["room_b"], cold_aisle_temperature=23)  # a JSON number is fine
    first = client.post("/api/v1/patrol/rounds", json=body, headers=api["zhang"])
    assert first.status_code == 201, first.get_json()
    second = client.post("/api/v1/patrol/rounds", json=body, headers=api["zhang"])
    assert second.status_code == 201
    made = first.get_json()
    assert second.get_json()["id"] == made["id"]
    assert second.headers["Location"] == first.headers["Location"]
    assert first.headers["Location"].endswith(f"/api/v1/patrol/rounds/{made['id']}")
    assert (made["status"], made["engineer"], made["room_id"]) == (
        "submitted",
        "zhangwei",
        api["room_b"],
    )
    assert {a["item"]: a["value"] for a in made["answers"]}["cold_aisle_temperature"] == "23"
    with db_app.app_context():
        sess = db.session()
        rounds = sess.scalars(
            select(PatrolRound).where(PatrolRound.client_id == "tablet-7f3a9c21")
        ).all()
        assert [r.id for r in rounds] == [made["id"]]
        stored = select(func.count()).where(PatrolAnswer.round_id == made["id"])
        assert sess.scalar(stored) == 7
        audit = sess.scalars(
            select(AuditLog).where(
                AuditLog.object_type == "patrol_round", AuditLog.object_id == str(made["id"])
            )
        ).all()
        assert audit and {row.actor for row in audit} == {"zhangwei"}


def test_wrong_answer_names_the_item_and_stores_nothing(db_app: Flask, api: dict[str, Any]) -> None:
    client = db_app.test_client()
    with db_app.app_context():
        before = (_count(PatrolRound), _count(PatrolAnswer), _count(PatrolFinding))
    body = _submission(api["room_b"], cold_aisle_temperature="很热")
    response = client.post("/api/v1/patrol/rounds", json=body, headers=api["zhang"])
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert list(fields) == ["room/room_environment/cold_aisle_temperature"]
    unsigned = {**_submission(api["room_b"]), "signature_name": ""}
    response = client.post("/api/v1/patrol/rounds", json=unsigned, headers=api["zhang"])
    assert response.status_code == 422 and list(response.get_json()["fields"]) == ["signature"]
    unknown = _submission(api["room_b"])
    unknown["answers"][0]["item"] = "no_such_item"
    response = client.post("/api/v1/patrol/rounds", json=unknown, headers=api["zhang"])
    assert response.status_code == 422
    assert "no_such_item" in response.get_json()["fields"]["item"][0]
    typed = _submission(api["room_b"])
    typed["answers"][0]["colour"] = "red"
    typed["room_id"] = "1"
    response = client.post("/api/v1/patrol/rounds", json=typed, headers=api["zhang"])
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"answers.0.colour", "room_id"}
    with db_app.app_context():
        assert (_count(PatrolRound), _count(PatrolAnswer), _count(PatrolFinding)) == before


def test_submit_refused_for_others_round_and_viewers(db_app: Flask, api: dict[str, Any]) -> None:
    client = db_app.test_client()
    theirs = {**_submission(api["room_a"]), "client_id": "draft-round-1"}
    response = client.post("/api/v1/patrol/rounds", json=theirs, headers=api["lina"])
    assert response.status_code == 403 and response.get_json()["error"] == "not_owner"
    viewer = client.post(
        "/api/v1/patrol/rounds", json=_submission(api["room_b"]), headers=api["viewer"]
    )
    assert viewer.status_code == 403
    # the owner finishes the draft the tablet started: the same round, now submitted
    mine = client.post("/api/v1/patrol/rounds", json=theirs, headers=api["zhang"])
    assert mine.status_code == 201
    assert (mine.get_json()["id"], mine.get_json()["status"]) == (api["draft"], "submitted")
    with db_app.app_context():
        assert _count(PatrolRound) == 3


def test_findings_filtered(db_app: Flask, api: dict[str, Any]) -> None:
    client = db_app.test_client()

    def ids(query: str = "") -> list[int]:
        found = _items(client, api["viewer"], f"/api/v1/patrol/findings{query}")
        return sorted(f["id"] for f in found)

    assert ids() == api["findings"]
    assert ids("?open=true") == api["findings"]
    assert ids("?open=false") == []
    assert ids(f"?site_id={api['site_a']}") == api["findings"]
    assert ids(f"?room_id={api['room_b']}") == []
    with db_app.app_context():
        now = db.utcnow()
        levels = dict(db.session().execute(select(PatrolFinding.id, PatrolFinding.level)).all())
    for level in ("warning", "critical"):
        assert ids(f"?level={level}") == sorted(i for i, v in levels.items() if v == level)
    recent = quote((now - timedelta(days=7)).isoformat())
    assert ids(f"?since={recent}") == []
    one = client.get(f"/api/v1/patrol/findings/{api['findings'][0]}", headers=api["viewer"])
    assert one.status_code == 200 and one.get_json()["round_id"] == api["old"]
    assert (
        client.get("/api/v1/patrol/findings?level=info", headers=api["viewer"]).status_code == 422
    )
