"""Service requests through the JSON API on SQLite and PostgreSQL, as another helpdesk would use
it: create (201 + Location; the same client_id again is the same request), every wrong field
named (422), list with filters and paging, get, the steps of a request's life (a step the status
refuses is a 409 saying why), roles (viewer tokens read only; only supervisors assign)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from opskit import auth, db
from opskit.models import User
from opskit.servicedesk.models import ServiceRequest
from tests import factories


@pytest.fixture
def api(db_app: Flask) -> dict[str, dict[str, str]]:
    """Bearer headers of each persona; a server and a switch in two rooms."""
    with db_app.app_context():
        a1 = factories.rack(room="A机房", name="A01")
        b1 = factories.rack(room="B机房", name="B01")
        factories.asset("SRV-01", name="财务服务器", rack=a1, u_position=1)
        factories.asset("SW-01", kind="switch", name="接入交换机", rack=b1, u_position=1)
        headers = {}
        for name in ("engineer", "supervisor", "viewer"):
            user = db.session().scalar(select(User).where(User.username == name))
            headers[name] = {"Authorization": f"Bearer {auth.create_token(user, 'helpdesk')}"}
        db.session().commit()
    return headers


def _body(**values: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": "helpdesk-000123",
        "description": "财务服务器无法登录\n用户反映从 9 点开始",
        "category": "software",
        "channel": "email",
        "urgency": "B",
        "requester_name": "李雷",
        "requester_department": "财务部",
        "requester_phone": "010-62345678",
        "asset_tag": "SRV-01",
    }
    body.update(values)
    return body


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(ServiceRequest)) or 0


def _create(client: FlaskClient, headers: dict[str, str], **values: Any) -> dict[str, Any]:
    response = client.post("/api/v1/requests", json=_body(**values), headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_and_a_retry_is_the_same_request(db_client: FlaskClient, db_app: Flask, api) -> None:
    response = db_client.post("/api/v1/requests", json=_body(), headers=api["engineer"])
    assert response.status_code == 201
    made = response.get_json()
    assert response.headers["Location"] == f"/api/v1/requests/{made['id']}"
    assert made["number"].startswith("SR-") and made["status"] == "new"
    assert (made["title"], made["asset_tag"], made["channel"]) == (
        "财务服务器无法登录",
        "SRV-01",
        "email",
    )
    assert set(made["clocks"]) == {"acknowledge", "onsite", "resolve", "fix_by"}
    assert made["clocks"]["acknowledge"]["state"] in ("running", "overdue")
    assert made["needs_temporary_measure"] is False
    again = db_client.post("/api/v1/requests", json=_body(), headers=api["engineer"])
    assert again.status_code == 201 and again.get_json()["id"] == made["id"]
    assert _count(db_app) == 1
    got = db_client.get(response.headers["Location"], headers=api["viewer"])
    assert got.status_code == 200 and got.get_json()["number"] == made["number"]


def test_every_wrong_field_is_named(db_client: FlaskClient, db_app: Flask, api) -> None:
    response = db_client.post(
        "/api/v1/requests",
        json=_body(
            description=" ",
            category="printer",
            requester_phone="12345",
            asset_tag="NOPE-1",
            colour="red",
        ),
        headers=api["engineer"],
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {"description", "category", "colour"}  # the schema's checks first
    response = db_client.post(
        "/api/v1/requests",
        json=_body(requester_phone="12345", asset_tag="NOPE-1", client_id="x"),
        headers=api["engineer"],
    )
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"client_id"}
    response = db_client.post(
        "/api/v1/requests",
        json=_body(requester_phone="12345", asset_tag="NOPE-1"),
        headers=api["engineer"],
    )
    assert response.status_code == 422
    assert set(response.get_json()["fields"]) == {"requester_phone", "asset_tag"}
    bad = db_client.post("/api/v1/requests", json=["not", "an", "object"], headers=api["engineer"])
    assert bad.status_code == 400
    assert _count(db_app) == 0


def test_list_with_filters_and_paging(db_client: FlaskClient, api) -> None:
    one = _create(db_client, api["engineer"], client_id="helpdesk-1", urgency="A")
    two = _create(db_client, api["engineer"], client_id="helpdesk-2", asset_tag="SW-01")
    three = _create(db_client, api["engineer"], client_id="helpdesk-3", asset_tag=None)
    headers = api["viewer"]
    assert (
        db_client.post(
            f"/api/v1/requests/{one['id']}/respond", json={}, headers=api["engineer"]
        ).status_code
        == 200
    )

    def ids(query: str) -> list[int]:
        response = db_client.get(f"/api/v1/requests{query}", headers=headers)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("") == [three["id"], two["id"], one["id"]]  # newest first
    assert ids("?urgency=A") == [one["id"]]
    assert ids("?status=new") == [three["id"], two["id"]]
    assert ids(f"?asset_id={two['asset_id']}") == [two["id"]]
    assert ids("?assigned_to=engineer") == [one["id"]]
    assert ids("?open=true") == [three["id"], two["id"], one["id"]]
    page = db_client.get("/api/v1/requests?per_page=2&page=2", headers=headers).get_json()
    assert (page["total"], [i["id"] for i in page["items"]]) == (3, [one["id"]])
    assert db_client.get("/api/v1/requests?urgency=D", headers=headers).status_code == 422
    assert db_client.get("/api/v1/requests/999999", headers=headers).status_code == 404


def test_the_steps_of_a_request(db_client: FlaskClient, api) -> None:
    engineer, supervisor = api["engineer"], api["supervisor"]
    made = _create(db_client, engineer)
    url = f"/api/v1/requests/{made['id']}"

    def step(name: str, body: dict[str, Any], headers: dict[str, str] = engineer) -> Any:
        return db_client.post(f"{url}/{name}", json=body, headers=headers)

    responded = step("respond", {"note": "已电话回复"})
    assert responded.status_code == 200
    assert (responded.get_json()["status"], responded.get_json()["assigned_to"]) == (
        "responded",
        "engineer",
    )
    refused = step("respond", {})
    assert refused.status_code == 409 and "status" in refused.get_json()["fields"]
    assert step("start", {"mode": "onsite"}).get_json()["work_mode"] == "onsite"
    wrong = step("arrive", {"scanned_code": "SW-01"})
    assert wrong.status_code == 422 and set(wrong.get_json()["fields"]) == {"scanned_code"}
    arrived = step("arrive", {"scanned_code": "https://opskit.lan/a/SRV-01"})
    assert arrived.get_json()["clocks"]["onsite"]["done_at"] is not None
    assert step("suspend", {"reason": "waiting_vendor"}).get_json()["status"] == "suspended"
    assert step("resume", {}).get_json()["status"] == "in_progress"
    measure = step("temporary-measure", {"temporary_measure": "借用备机"})
    assert measure.get_json()["temporary_measure"] == "借用备机"
    assert step("assign", {"assigned_to": "supervisor"}).status_code == 403
    assert step("assign", {"assigned_to": "engineer"}, supervisor).status_code == 200
    no_cause = step("resolve", {"work_done": "更换内存"})
    assert no_cause.status_code == 422 and set(no_cause.get_json()["fields"]) == {"cause"}
    resolved = step("resolve", {"cause": "内存故障", "work_done": "更换内存"})
    assert resolved.get_json()["status"] == "resolved"
    assert step("close", {}).get_json()["status"] == "closed"
    assert step("reopen", {}).status_code == 422
    assert step("reopen", {"note": "又出现"}).get_json()["status"] == "in_progress"
    assert (
        db_client.post("/api/v1/requests/999999/respond", json={}, headers=engineer).status_code
        == 404
    )


def test_viewer_tokens_only_read(db_client: FlaskClient, db_app: Flask, api) -> None:
    made = _create(db_client, api["engineer"])
    viewer = api["viewer"]
    assert (
        db_client.post(
            "/api/v1/requests", json=_body(client_id="v-000001"), headers=viewer
        ).status_code
        == 403
    )
    assert (
        db_client.post(f"/api/v1/requests/{made['id']}/close", json={}, headers=viewer).status_code
        == 403
    )
    assert db_client.get(f"/api/v1/requests/{made['id']}", headers=viewer).status_code == 200
    assert _count(db_app) == 1
