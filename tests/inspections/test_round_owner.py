"""Only the engineer who started a round changes it: a shared tablet never records one user's
queued work as another's (answers, photos, start and submission refused with a clear 403)."""

from __future__ import annotations

import io

from flask import Flask
from sqlalchemy import func, select

from inspections import queries, services
from inspections.models import PatrolAnswer, PatrolPhoto, PatrolRound
from opskit import db
from opskit.audit import acting_as
from opskit.models import User
from tests import factories
from tests.conftest import csrf_token, login
from tests.inspections.test_rounds import answers, png

ANSWER = {
    "target": "room",
    "checklist": "room_environment",
    "item": "cold_aisle_temperature",
    "value": "23",
}


def _user_id(app: Flask, name: str) -> int:
    with app.app_context():
        return db.session().scalar(select(User.id).where(User.username == name))


def _count(app: Flask, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def _engineer_round(app: Flask, client_id: str) -> int:
    with app.app_context():
        room_id = factories.rack().room_id
        db.session().commit()
    engineer_id = _user_id(app, "engineer")
    with app.test_request_context("/"), acting_as("engineer", engineer_id):
        services.start_round(client_id, room_id=room_id, checklist_keys=["room_environment"])
        db.session().commit()
    return room_id


def _client(app: Flask, name: str):
    client = app.test_client()
    login(client, name)
    return client, csrf_token(client, "/")


def test_another_user_cannot_change_a_round_they_did_not_start(app: Flask) -> None:
    room_id = _engineer_round(app, "owned-round-01")
    with app.app_context():
        engineer = db.session().get(User, _user_id(app, "engineer"))
        engineer.display_name = "张工"
        db.session().commit()
    other, token = _client(app, "supervisor")
    headers = {"X-CSRFToken": token}
    base = "/patrol/rounds/owned-round-01"

    answer = other.post(f"{base}/answers", json=ANSWER, headers=headers)
    assert answer.status_code == 403
    assert answer.json["error"] == "not_owner"
    assert answer.json["owner"] == {"id": _user_id(app, "engineer"), "name": "张工"}
    assert "张工" in answer.json["message"]
    photo = other.post(
        f"{base}/photos",
        data={
            "photo_id": "owned-photo-0001",
            "target": "room",
            "checklist": "room_environment",
            "item": "cold_aisle_temperature",
            "photo": (io.BytesIO(png()), "p.png", "image/png"),
        },
        headers=headers,
    )
    assert photo.status_code == 403 and photo.json["error"] == "not_owner"
    body = {"answers": answers(), "signature_name": "主管"}
    submitted = other.post(f"{base}/submit", json=body, headers=headers)
    assert submitted.status_code == 403 and submitted.json["error"] == "not_owner"
    start = {"room_id": room_id, "checklist_keys": ["room_environment"]}
    started = other.post(f"{base}/start", json=start, headers=headers)
    assert started.status_code == 403 and started.json["error"] == "not_owner"

    assert _count(app, PatrolAnswer) == 0 and _count(app, PatrolPhoto) == 0
    with app.app_context():
        assert queries.find_round("owned-round-01").status == "draft"
    # their page of it is the read-only view, not a form whose every save is refused
    page = other.get(base).get_data(as_text=True)
    assert 'id="patrol-round-view"' in page and 'id="patrol-submit"' not in page

    owner, owner_token = _client(app, "engineer")
    mine = owner.post(f"{base}/answers", json=ANSWER, headers={"X-CSRFToken": owner_token})
    assert mine.status_code == 200
    assert 'id="patrol-submit"' in owner.get(base).get_data(as_text=True)


def test_an_entry_queued_for_another_user_is_refused(app: Flask) -> None:
    """The tablet names the user an entry was queued for; another logged-in user's session
    does not send it as theirs, not even the start of a round the server has not seen."""
    with app.app_context():
        room_id = factories.rack().room_id
        db.session().commit()
    client, token = _client(app, "supervisor")
    engineer_id = _user_id(app, "engineer")
    queued_for_engineer = {"X-CSRFToken": token, "X-Opskit-Queued-By": str(engineer_id)}
    start = {"room_id": room_id, "checklist_keys": ["room_environment"]}

    refused = client.post(
        "/patrol/rounds/queued-new-01/start", json=start, headers=queued_for_engineer
    )
    assert refused.status_code == 403 and refused.json["error"] == "queued_by_other"
    assert refused.json["message"]
    body = {**start, "answers": answers(), "signature_name": "x"}
    refused = client.post(
        "/patrol/rounds/queued-new-01/submit", json=body, headers=queued_for_engineer
    )
    assert refused.status_code == 403 and refused.json["error"] == "queued_by_other"
    assert _count(app, PatrolRound) == 0 and _count(app, PatrolAnswer) == 0

    own = {"X-CSRFToken": token, "X-Opskit-Queued-By": str(_user_id(app, "supervisor"))}
    started = client.post("/patrol/rounds/queued-new-01/start", json=start, headers=own)
    assert started.status_code == 200
    with app.app_context():
        patrol = queries.find_round("queued-new-01")
        assert (patrol.engineer, patrol.engineer_id) == ("supervisor", _user_id(app, "supervisor"))
