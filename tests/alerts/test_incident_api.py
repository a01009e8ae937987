"""An incident's steps through the JSON API on SQLite and PostgreSQL, as its page takes them: a
timeline line moving the phase, the arrival by an asset label (of the incident or in its rooms;
its open alerts get their arrival too), closing with cause and measures. Wrong fields are 422 by
name and a closed incident a 409, nothing written; an arrival retried is recorded once; each
step is the token's user's, in the timeline and in the audit log; viewers get 403, nothing
changed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from opskit import auth, db
from opskit.alerts import incidents, services
from opskit.alerts.models import Alert, Incident, IncidentEntry
from opskit.models import AuditLog, User
from tests import factories


@pytest.fixture
def api(db_app: Flask) -> dict[str, Any]:
    """An incident opened from UPS-01's alert (room A机房), a PDU in the same room, a server in
    another; Bearer headers of 张伟 (engineer), the supervisor and the viewer."""
    with db_app.test_request_context("/"):
        sess = db.session()
        rack = factories.rack(site="总部", room="A机房", name="A01")
        ups = factories.asset("UPS-01", kind="ups", room=rack.room)
        factories.asset("PDU-01", kind="pdu", room=rack.room)
        other = factories.rack(site="分部", room="B机房", name="B01")
        factories.asset("SRV-09", rack=other, u_position=1)
        alert = services.raise_alert(
            "monitor:ups:battery",
            source="monitor",
            rule="ups.on_battery",
            urgency="A",
            message="UPS-01 市电中断，电池供电",
            asset_id=ups.id,
            at=db.utcnow() - timedelta(minutes=10),
        )
        incident = incidents.open_from_alert(alert)
        zhang = User(username="zhangwei", display_name="张伟", role="engineer", password_hash="x")
        sess.add(zhang)
        sess.flush()
        ids: dict[str, Any] = {"incident": incident.id, "alert": alert.id}
        for name in ("supervisor", "viewer"):
            user = sess.scalars(select(User).where(User.username == name)).one()
            ids[name] = {"Authorization": f"Bearer {auth.create_token(user, 'script')}"}
        ids["zhang"] = {"Authorization": f"Bearer {auth.create_token(zhang, 'nms')}"}
        sess.commit()
    return ids


def _state(app: Flask, incident_id: int) -> tuple[Any, ...]:
    """What a refused step must leave as it was: the incident's columns and its timeline."""
    with app.app_context():
        sess = db.session()
        incident = sess.get_one(Incident, incident_id)
        entries = sess.scalars(
            select(IncidentEntry.note).where(IncidentEntry.incident_id == incident_id)
        ).all()
        audit = sess.scalar(select(func.count()).select_from(AuditLog))
        return (
            incident.phase,
            incident.status,
            incident.onsite_at,
            incident.onsite_by,
            incident.root_cause,
            tuple(entries),
            audit,
        )


def _audit_of(app: Flask, incident_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    with app.app_context():
        rows = db.session().scalars(
            select(AuditLog)
            .where(AuditLog.object_type == "incident", AuditLog.object_id == str(incident_id))
            .order_by(AuditLog.id)
        )
        return [(r.actor, r.action, r.changes) for r in rows]


def test_a_timeline_line_moves_the_phase_as_the_token_user(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/incidents/{api['incident']}/entries"
    before = _state(db_app, api["incident"])
    for body, field in (
        ({"phase": "boiling", "note": "x"}, "phase"),
        ({"phase": "contain", "note": "  "}, "note"),
        ({"phase": "contain"}, "note"),
        ({"phase": "contain", "note": "x", "colour": "red"}, "colour"),
        ({"phase": "contain", "note": 5}, "note"),
    ):
        refused = db_client.post(url, json=body, headers=api["zhang"])
        assert refused.status_code == 422, body
        assert field in refused.get_json()["fields"], (body, refused.get_json())
    assert db_client.post(url, json=["contain"], headers=api["zhang"]).status_code == 400
    assert _state(db_app, api["incident"]) == before

    response = db_client.post(
        url, json={"phase": "contain", "note": "切换至旁路供电"}, headers=api["zhang"]
    )
    assert response.status_code == 200, response.get_json()
    incident = response.get_json()
    assert (incident["phase"], incident["status"]) == ("contain", "open")
    last = incident["entries"][-1]
    assert (last["phase"], last["note"], last["actor"], last["actor_name"]) == (
        "contain",
        "切换至旁路供电",
        "zhangwei",
        "张伟",
    )
    assert incident["alert_ids"] == [api["alert"]]
    # the supervisor may too, as on the page
    by_supervisor = db_client.post(
        url, json={"phase": "eradicate", "note": "更换电池组"}, headers=api["supervisor"]
    )
    assert by_supervisor.status_code == 200
    assert by_supervisor.get_json()["entries"][-1]["actor"] == "supervisor"
    audit = _audit_of(db_app, api["incident"])
    assert ("zhangwei", "update", {"phase": ["detect", "contain"]}) in audit
    assert ("supervisor", "update", {"phase": ["contain", "eradicate"]}) in audit


def test_the_arrival_by_label_is_recorded_once(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/incidents/{api['incident']}/arrive"
    before = _state(db_app, api["incident"])
    unknown = db_client.post(url, json={"tag": "NOPE-1"}, headers=api["zhang"])
    assert unknown.status_code == 422 and "NOPE-1" in unknown.get_json()["fields"]["tag"][0]
    elsewhere = db_client.post(url, json={"tag": "SRV-09"}, headers=api["zhang"])
    assert elsewhere.status_code == 422 and "SRV-09" in elsewhere.get_json()["fields"]["tag"][0]
    assert db_client.post(url, json={}, headers=api["zhang"]).status_code == 422
    assert _state(db_app, api["incident"]) == before

    # a label in the incident's room that is not its asset: the engineer is on site
    arrived = db_client.post(url, json={"tag": "PDU-01"}, headers=api["zhang"])
    assert arrived.status_code == 200, arrived.get_json()
    incident = arrived.get_json()
    assert (incident["onsite_by"], incident["onsite_tag"]) == ("zhangwei", "PDU-01")
    assert incident["onsite_at"] is not None
    assert incident["clocks"]["onsite"]["done_at"] is not None
    (alert,) = incident["alerts"]
    assert (alert["onsite_by"], alert["status"]) == ("zhangwei", "firing")
    assert "PDU-01" in incident["entries"][-1]["note"]
    recorded = _state(db_app, api["incident"])

    # a retry (or a colleague) after the first: nothing written, the incident as it is
    again = db_client.post(url, json={"tag": "UPS-01"}, headers=api["supervisor"])
    assert again.status_code == 200
    assert (again.get_json()["onsite_by"], again.get_json()["onsite_tag"]) == (
        "zhangwei",
        "PDU-01",
    )
    assert _state(db_app, api["incident"]) == recorded
    with db_app.app_context():
        assert factories.event_kinds(api["alert"]) == ["raised", "onsite"]


def test_closing_takes_cause_and_measures_once(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    base = f"/api/v1/incidents/{api['incident']}"
    before = _state(db_app, api["incident"])
    partial = db_client.post(f"{base}/close", json={"root_cause": "电池老化"}, headers=api["zhang"])
    assert partial.status_code == 422 and set(partial.get_json()["fields"]) == {"measures"}
    blank = {"root_cause": " ", "measures": "更换电池"}
    refused = db_client.post(f"{base}/close", json=blank, headers=api["zhang"])
    assert refused.status_code == 422 and set(refused.get_json()["fields"]) == {"root_cause"}
    assert _state(db_app, api["incident"]) == before

    body = {"root_cause": "电池老化", "measures": "更换电池组，增加巡检"}
    closed = db_client.post(f"{base}/close", json=body, headers=api["zhang"])
    assert closed.status_code == 200, closed.get_json()
    incident = closed.get_json()
    assert (incident["status"], incident["phase"], incident["root_cause"]) == (
        "closed",
        "recover",
        "电池老化",
    )
    assert incident["closed_at"] is not None
    audit = _audit_of(db_app, api["incident"])
    actor, action, changes = audit[-1]
    assert (actor, action, changes["status"]) == ("zhangwei", "update", ["open", "closed"])
    after = _state(db_app, api["incident"])

    # a retried close and a line on the closed incident: 409, nothing written
    retried = db_client.post(f"{base}/close", json=body, headers=api["zhang"])
    assert retried.status_code == 409
    assert retried.get_json()["fields"]["status"] == ["该事件已关闭。"]
    line = db_client.post(
        f"{base}/entries", json={"phase": "recover", "note": "补记"}, headers=api["zhang"]
    )
    assert line.status_code == 409 and line.get_json()["error"] == "conflict"
    assert _state(db_app, api["incident"]) == after


def test_viewers_are_refused_and_unknown_incidents_are_404(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    base = f"/api/v1/incidents/{api['incident']}"
    before = _state(db_app, api["incident"])
    for step, body in (
        ("entries", {"phase": "contain", "note": "x"}),
        ("arrive", {"tag": "UPS-01"}),
        ("close", {"root_cause": "x", "measures": "y"}),
    ):
        refused = db_client.post(f"{base}/{step}", json=body, headers=api["viewer"])
        assert refused.status_code == 403, step
        missing = db_client.post(
            f"/api/v1/incidents/999999/{step}", json=body, headers=api["zhang"]
        )
        assert missing.status_code == 404, step
    assert _state(db_app, api["incident"]) == before
    with db_app.app_context():
        assert db.session().get_one(Alert, api["alert"]).onsite_at is None
