"""The round pages over HTTP: start, save as entered, submit, review, roles, photos, the worker."""

from __future__ import annotations

import io
import re

from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from inspections import queries, services
from inspections.models import PatrolRound
from opskit import db
from opskit.alerts.models import Alert
from tests import factories
from tests.conftest import csrf_token, login, post_form
from tests.inspections.test_rounds import answers


def _room(app: Flask) -> int:
    with app.app_context():
        rack = factories.rack()
        db.session().commit()
        return rack.room_id


def _json(client, path: str, body: dict, token: str):
    return client.post(path, json=body, headers={"X-CSRFToken": token})


def test_round_over_http_with_roles(app: Flask) -> None:
    room_id = _room(app)
    viewer = app.test_client()
    login(viewer, "viewer")
    engineer = app.test_client()
    login(engineer, "engineer")

    page = engineer.get("/patrol/rounds/new")
    assert page.status_code == 200
    assert "临时巡检" in page.get_data(as_text=True)
    started = post_form(
        engineer,
        "/patrol/rounds/start",
        {"client_id": "web-round-01", "room_id": room_id, "checklist_keys": "room_environment"},
    )
    assert started.status_code == 302 and started.location.endswith("/patrol/rounds/web-round-01")
    again = post_form(
        engineer,
        "/patrol/rounds/start",
        {"client_id": "web-round-01", "room_id": room_id, "checklist_keys": "room_environment"},
    )
    assert again.location == started.location
    html = engineer.get("/patrol/rounds/web-round-01").get_data(as_text=True)
    assert 'data-field="room/room_environment/cold_aisle_temperature"' in html
    assert "冷通道温度" in html and 'id="patrol-submit"' in html

    token = csrf_token(engineer, "/")
    saved = _json(
        engineer,
        "/patrol/rounds/web-round-01/answers",
        {
            "target": "room",
            "checklist": "room_environment",
            "item": "cold_aisle_temperature",
            "value": "29.5",
        },
        token,
    )
    assert saved.status_code == 200, saved.get_data(as_text=True)
    assert saved.json["level"] == "warning" and saved.json["needs_note"] is True
    assert "27°C" in saved.json["message"]
    no_csrf = engineer.post("/patrol/rounds/web-round-01/answers", json={"value": "1"})
    assert no_csrf.status_code == 400
    viewer_token = csrf_token(viewer, "/")
    denied = _json(
        viewer,
        "/patrol/rounds/web-round-01/answers",
        {
            "target": "room",
            "checklist": "room_environment",
            "item": "cold_aisle_temperature",
            "value": "20",
        },
        viewer_token,
    )
    assert denied.status_code == 403
    # the viewer sees the round read-only
    view = viewer.get("/patrol/rounds/web-round-01").get_data(as_text=True)
    assert 'id="patrol-round-view"' in view and 'id="patrol-submit"' not in view

    refused = _json(
        engineer,
        "/patrol/rounds/web-round-01/submit",
        {"answers": answers(cold_aisle_temperature="29.5"), "signature_name": "张工"},
        token,
    )
    assert refused.status_code == 400
    assert list(refused.json["errors"]) == ["room/room_environment/cold_aisle_temperature"]
    body = {"answers": answers(cold_aisle_temperature="29.5"), "signature_name": "张工"}
    body["answers"][0]["note"] = "冷通道偏热"
    first = _json(engineer, "/patrol/rounds/web-round-01/submit", body, token)
    second = _json(engineer, "/patrol/rounds/web-round-01/submit", body, token)
    assert first.status_code == second.status_code == 200
    assert first.json == second.json and first.json["findings"] == 1
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(PatrolRound)) == 1
        alert = db.session().scalar(select(Alert))
        assert (alert.source, alert.urgency) == ("patrol", "C")

    # the finding is closed over HTTP with what was done; its alert is resolved
    view = engineer.get("/patrol/rounds/web-round-01").get_data(as_text=True)
    finding_id = int(re.search(r'id="finding-(\d+)"', view).group(1))
    assert (
        post_form(engineer, f"/patrol/findings/{finding_id}/close", {"note": " "}).status_code
        == 302
    )
    with app.app_context():
        assert db.session().scalar(select(Alert)).status == "firing"  # empty note refused
    after_repair = io.BytesIO()
    Image.new("RGB", (80, 60), (20, 160, 60)).save(after_repair, "PNG")
    closed = post_form(
        engineer,
        f"/patrol/findings/{finding_id}/close",
        {
            "note": "清洗滤网",
            "photo_id": "after-repair-001",
            "photo": (io.BytesIO(after_repair.getvalue()), "after.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert closed.status_code == 302
    with app.app_context():
        from inspections.models import PatrolPhoto

        photo = db.session().scalar(
            select(PatrolPhoto).where(PatrolPhoto.client_id == "after-repair-001")
        )
        assert (photo.finding_id, photo.answer_id, photo.width) == (finding_id, None, 80)
    with app.app_context():
        alert = db.session().scalar(select(Alert))
        assert (alert.status, alert.resolution_note) == ("resolved", "清洗滤网")
    assert "没有未关闭的问题" in engineer.get("/patrol/findings").get_data(as_text=True)

    # English UI: checklist and item labels in English
    post_form(engineer, "/language", {"locale": "en", "next": "/"})
    english = engineer.get("/patrol/rounds/web-round-01").get_data(as_text=True)
    assert "Cold-aisle temperature" in english and "Submitted" in english

    # only a supervisor (or admin) approves; then the round is read-only
    assert (
        post_form(
            engineer, "/patrol/rounds/web-round-01/review", {"action": "approve", "comment": "x"}
        ).status_code
        == 403
    )
    supervisor = app.test_client()
    login(supervisor, "supervisor")
    review_page = supervisor.get("/patrol/rounds/web-round-01").get_data(as_text=True)
    assert 'id="patrol-approve"' in review_page
    approved = post_form(
        supervisor, "/patrol/rounds/web-round-01/review", {"action": "approve", "comment": "已复核"}
    )
    assert approved.status_code == 302
    after = _json(engineer, "/patrol/rounds/web-round-01/answers", body["answers"][1], token)
    assert after.status_code == 409 and "read-only" in after.json["message"]  # English now
    with app.app_context():
        patrol = queries.find_round("web-round-01")
        assert (patrol.status, patrol.reviewer, patrol.review_comment) == (
            "approved",
            "supervisor",
            "已复核",
        )


def test_photos_and_worker_only_for_logged_in_users(app: Flask) -> None:
    room_id = _room(app)
    engineer = app.test_client()
    login(engineer, "engineer")
    post_form(
        engineer,
        "/patrol/rounds/start",
        {"client_id": "web-round-02", "room_id": room_id, "checklist_keys": "room_environment"},
    )
    token = csrf_token(engineer, "/")
    image = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(image, "PNG")
    upload = engineer.post(
        "/patrol/rounds/web-round-02/photos",
        data={
            "photo": (io.BytesIO(image.getvalue()), "lamp.png", "image/png"),
            "photo_id": "photo-web-0001",
            "target": "room",
            "checklist": "room_environment",
            "item": "no_water_leak",
        },
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200, upload.get_data(as_text=True)
    url = upload.json["url"]
    bad = engineer.post(
        "/patrol/rounds/web-round-02/photos",
        data={
            "photo": (io.BytesIO(b"%PDF-1.4"), "x.pdf", "application/pdf"),
            "photo_id": "photo-web-0002",
            "target": "room",
            "checklist": "room_environment",
            "item": "no_water_leak",
        },
        headers={"X-CSRFToken": token},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 400 and "photo" in bad.json["errors"]
    shown = engineer.get(url)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert shown.data[:3] == b"\xff\xd8\xff"
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert app.test_client().get("/sw.js").status_code == 302  # login first, like every page
    worker = engineer.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert "opskit-patrol" in worker.get_data(as_text=True)
    assert (app.instance_path + "/patrol-photos") in str(services_photo_path(app, "photo-web-0001"))


def services_photo_path(app: Flask, photo_client_id: str):
    from inspections.models import PatrolPhoto

    with app.app_context():
        photo = db.session().scalar(
            select(PatrolPhoto).where(PatrolPhoto.client_id == photo_client_id)
        )
        return queries.photo_file(photo)


def test_offline_start_page_and_queued_start(app: Flask) -> None:
    """The page a tablet keeps for each planned slot, and the start it queues: idempotent by
    the tablet's id, nothing written until the start arrives, refused plans named."""
    from opskit.audit import acting_as

    room_id = _room(app)
    with app.test_request_context("/"), acting_as("admin"):
        plan = services.save_plan(
            {
                "name": "配电室巡检",
                "room_id": room_id,
                "checklist_keys": "room_environment",
                "schedule_times": "09:00",
            }
        )
        db.session().commit()
        plan_id = plan.id
    engineer = app.test_client()
    login(engineer, "engineer")
    viewer = app.test_client()
    login(viewer, "viewer")
    slot = "2026-11-26T09:00:00+08:00"
    start_page = engineer.get("/patrol/rounds/new").get_data(as_text=True)
    assert f"/patrol/rounds/new/offline?plan_id={plan_id}&amp;room_id={room_id}" in start_page
    query = {"plan_id": plan_id, "room_id": room_id, "scheduled_for": slot}
    page = engineer.get("/patrol/rounds/new/offline", query_string=query)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-offline-start="CLIENTID"' in html
    assert 'data-start-url="/patrol/rounds/CLIENTID/start"' in html
    assert f'data-plan-id="{plan_id}"' in html and "配电室巡检" in html
    assert 'data-field="room/room_environment/cold_aisle_temperature"' in html
    assert _rounds(app) == 0  # rendering it creates nothing
    assert viewer.get("/patrol/rounds/new/offline", query_string=query).status_code == 403
    bad = engineer.get("/patrol/rounds/new/offline", query_string={**query, "plan_id": 999})
    assert bad.status_code == 400 and "未知的巡检计划" in bad.get_data(as_text=True)

    token = csrf_token(engineer, "/")
    body = {**query, "started_at": "2026-11-26T01:20:00Z", "checklist_keys": ["room_environment"]}
    first = _json(engineer, "/patrol/rounds/tablet-start-0001/start", body, token)
    second = _json(engineer, "/patrol/rounds/tablet-start-0001/start", body, token)
    assert first.status_code == second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]
    assert first.get_json()["url"] == "/patrol/rounds/tablet-start-0001"
    assert _rounds(app) == 1
    with app.app_context():
        patrol = queries.find_round("tablet-start-0001")
        assert (patrol.plan_id, patrol.status) == (plan_id, "draft")
        assert patrol.started_at.isoformat() == "2026-11-26T01:20:00+00:00"
    refused = _json(
        engineer, "/patrol/rounds/tablet-start-0002/start", {**body, "plan_id": 999}, token
    )
    assert refused.status_code == 400 and "plan_id" in refused.get_json()["errors"]
    assert _rounds(app) == 1


def test_offline_adhoc_page_holds_every_checklist(app: Flask) -> None:
    """The page the start page keeps per room for an ad hoc round without the server: every
    checklist's items, no plan, one kept URL per room; an unknown room is named (400)."""
    room_id = _room(app)
    engineer = app.test_client()
    login(engineer, "engineer")
    start_page = engineer.get("/patrol/rounds/new").get_data(as_text=True)
    url = f"/patrol/rounds/new/offline?room_id={room_id}&amp;adhoc=1"
    assert f'data-offline-url="{url}"' in start_page
    assert 'data-no-checklist="请至少选择一个检查表。"' in start_page
    query = {"room_id": room_id, "adhoc": "1"}
    page = engineer.get("/patrol/rounds/new/offline", query_string=query)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-offline-start="CLIENTID"' in html and 'data-plan-id=""' in html
    with app.app_context():
        keys = list(queries.checklists())
    assert len(keys) >= 6
    assert f'data-checklists="{",".join(keys)}"' in html
    section = r'<section class="card my-3 patrol-target" [^>]*data-checklist="([^"]+)"'
    sections = re.findall(section, html)
    assert set(sections) == set(keys)
    for key in keys:
        assert f'data-checklist="{key}" data-item=' in html
    assert 'data-field="room/room_environment/cold_aisle_temperature"' in html
    assert 'data-field="room/fire_security/cylinder_pressure"' in html
    assert _rounds(app) == 0  # rendering it creates nothing
    unknown = engineer.get("/patrol/rounds/new/offline", query_string={"room_id": 9999, "adhoc": 1})
    assert unknown.status_code == 400 and "请选择巡检的机房" in unknown.get_data(as_text=True)
    missing = engineer.get("/patrol/rounds/new/offline", query_string={"adhoc": 1})
    assert missing.status_code == 400

    # the ad hoc form as patrol.js posts it first: JSON answers, nothing flashed
    token = csrf_token(engineer, "/patrol/rounds/new")
    form = {"csrf_token": token, "client_id": "adhoc-json-0001", "room_id": str(room_id)}
    json_accept = {"Accept": "application/json"}
    refused = engineer.post("/patrol/rounds/start", data=form, headers=json_accept)
    assert refused.status_code == 400
    assert refused.get_json()["errors"]["checklist_keys"] == ["请至少选择一个检查表。"]
    assert "alert-danger" not in engineer.get("/patrol/rounds/new").get_data(as_text=True)
    form["checklist_keys"] = ["fire_security", "room_environment"]
    started = engineer.post("/patrol/rounds/start", data=form, headers=json_accept)
    assert started.status_code == 200
    assert started.get_json()["url"] == "/patrol/rounds/adhoc-json-0001"
    with app.app_context():
        patrol = queries.find_round("adhoc-json-0001")
        assert patrol.checklist_keys == ["fire_security", "room_environment"]
    plain = engineer.post("/patrol/rounds/start", data=form)  # a retried plain post: the same
    assert plain.status_code == 302 and plain.location.endswith("/patrol/rounds/adhoc-json-0001")
    assert _rounds(app) == 1


def _rounds(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(PatrolRound)) or 0
