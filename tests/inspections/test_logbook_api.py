"""The logbook through the JSON API on SQLite and PostgreSQL: a visit and a power event recorded
as the tablet does (a retry with the same client id is one entry; audited with the token's
user), every wrong field named with nothing written, viewers read only, the lists filtered by
kind (power on/off/restart), room, site, asset by id or tag, the period, and paged; a visit
signed out once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from inspections.logbook.models import AccessEntry, PowerEvent
from opskit import auth, db
from opskit.models import AuditLog, User
from tests import factories


@pytest.fixture
def api(db_app: Flask) -> dict[str, Any]:
    """Bearer headers of the engineer and the viewer; two rooms in two sites, an asset each."""
    with db_app.test_request_context("/"):
        sess = db.session()
        a1 = factories.rack(site="总部", room="A机房", name="A01")
        b1 = factories.rack(site="分部", room="B机房", name="B01")
        factories.asset("SRV-01", rack=a1, u_position=1)
        factories.asset("SRV-02", rack=b1, u_position=1)
        headers = {}
        for name in ("engineer", "viewer"):
            user = sess.scalars(select(User).where(User.username == name)).one()
            headers[name] = {"Authorization": f"Bearer {auth.create_token(user, 'tablet')}"}
        ids = {"room_a": a1.room_id, "room_b": b1.room_id, "site_b": b1.room.site_id}
        sess.commit()
    return {**headers, **ids}


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def _iso(delta: timedelta) -> str:
    return (db.utcnow() + delta).isoformat()


def test_a_visit_recorded_twice_with_one_client_id_is_one_entry(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    body = {
        "client_id": "tablet-0001",
        "room_id": api["room_a"],
        "name": "李雷",
        "organisation": "某某科技",
        "purpose": "更换硬盘",
        "id_number": "110105199001011234",
        "in_at": _iso(-timedelta(minutes=30)),
    }
    first = db_client.post("/api/v1/logbook/access", json=body, headers=api["engineer"])
    assert first.status_code == 201, first.get_json()
    made = first.get_json()
    assert first.headers["Location"] == f"/api/v1/logbook/access/{made['id']}"
    assert (made["room"], made["name"], made["inside"], made["recorded_by"]) == (
        "A机房",
        "李雷",
        True,
        "engineer",
    )
    assert made["id_number_masked"] == "**************1234"
    assert "110105" not in first.get_data(as_text=True)
    again = db_client.post("/api/v1/logbook/access", json=body, headers=api["engineer"])
    assert again.status_code == 201 and again.get_json()["id"] == made["id"]
    assert _count(db_app, AccessEntry) == 1
    with db_app.app_context():
        audit = db.session().scalar(
            select(AuditLog).where(
                AuditLog.object_type == "access_entry", AuditLog.action == "create"
            )
        )
        assert audit is not None and audit.actor == "engineer"
    got = db_client.get(first.headers["Location"], headers=api["viewer"]).get_json()
    assert got["client_id"] == "tablet-0001" and got["purpose"] == "更换硬盘"
    url = f"/api/v1/logbook/access/{made['id']}/sign-out"
    out = db_client.post(url, json={}, headers=api["engineer"])
    assert out.status_code == 200 and out.get_json()["inside"] is False
    twice = db_client.post(url, json={}, headers=api["engineer"])
    assert twice.status_code == 409 and "out_at" in twice.get_json()["fields"]


def test_a_power_event_recorded_once_as_the_tablet_does(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    body = {"client_id": "tablet-0002", "asset_tag": "SRV-01", "action": "off", "reason": "换电源"}
    first = db_client.post("/api/v1/logbook/power", json=body, headers=api["engineer"])
    assert first.status_code == 201, first.get_json()
    made = first.get_json()
    assert (made["asset_tag"], made["action"], made["performed_by"]) == (
        "SRV-01",
        "off",
        "Engineer",
    )
    again = db_client.post("/api/v1/logbook/power", json=body, headers=api["engineer"])
    assert again.get_json()["id"] == made["id"]
    assert _count(db_app, PowerEvent) == 1


def test_every_wrong_field_is_named_and_nothing_written(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    engineer = api["engineer"]
    bad = db_client.post(
        "/api/v1/logbook/power",
        json={"client_id": "x", "asset_tag": " ", "action": "explode", "reason": "", "colour": 1},
        headers=engineer,
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"client_id", "asset_tag", "action", "reason", "colour"}
    body = {
        "client_id": "tablet-0003",
        "asset_tag": "NOPE-1",
        "action": "on",
        "reason": "上电",
        "occurred_at": _iso(timedelta(days=1)),
    }
    bad = db_client.post("/api/v1/logbook/power", json=body, headers=engineer)
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"asset_tag", "occurred_at"}
    visit = {
        "client_id": "tablet-0004",
        "room_id": 999_999,
        "name": "韩梅梅",
        "purpose": "巡检",
        "id_number": "??",
        "in_at": "2026-01-01T08:00:00",
    }
    bad = db_client.post("/api/v1/logbook/access", json=visit, headers=engineer)
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"in_at"}
    visit["in_at"] = _iso(-timedelta(hours=1))
    visit["out_at"] = _iso(-timedelta(hours=2))
    bad = db_client.post("/api/v1/logbook/access", json=visit, headers=engineer)
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"room_id", "id_number", "out_at"}
    viewer = db_client.post(
        "/api/v1/logbook/power",
        json={"client_id": "tablet-0005", "asset_tag": "SRV-01", "action": "on", "reason": "x"},
        headers=api["viewer"],
    )
    assert viewer.status_code == 403
    assert _count(db_app, PowerEvent) == 0 and _count(db_app, AccessEntry) == 0


def test_lists_filter_by_kind_room_site_asset_and_period(
    db_client: FlaskClient, api: dict[str, Any]
) -> None:
    engineer = api["engineer"]
    made: dict[str, int] = {}
    for n, (tag, action, hours) in enumerate(
        (("SRV-01", "off", 50), ("SRV-01", "on", 49), ("SRV-02", "restart", 2))
    ):
        body = {
            "client_id": f"tablet-p{n:04d}",
            "asset_tag": tag,
            "action": action,
            "reason": "维护",
            "occurred_at": _iso(-timedelta(hours=hours)),
        }
        response = db_client.post("/api/v1/logbook/power", json=body, headers=engineer)
        assert response.status_code == 201, response.get_json()
        made[action] = response.get_json()["id"]
    for n, (room, hours) in enumerate(((api["room_a"], 30), (api["room_b"], 1))):
        body = {
            "client_id": f"tablet-a{n:04d}",
            "room_id": room,
            "name": f"访客{n}",
            "purpose": "参观",
            "in_at": _iso(-timedelta(hours=hours)),
        }
        response = db_client.post("/api/v1/logbook/access", json=body, headers=engineer)
        assert response.status_code == 201, response.get_json()
        made[f"visit{n}"] = response.get_json()["id"]
    viewer = api["viewer"]

    def ids(path: str) -> list[int]:
        response = db_client.get(f"/api/v1/logbook/{path}", headers=viewer)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("power") == [made["restart"], made["on"], made["off"]]  # newest first
    assert ids("power?action=off") == [made["off"]]
    assert ids("power?asset_tag=SRV-01") == [made["on"], made["off"]]
    assert ids(f"power?room_id={api['room_b']}") == [made["restart"]]
    assert ids(f"power?site_id={api['site_b']}") == [made["restart"]]
    day = _iso(-timedelta(hours=24)).replace("+", "%2B")
    assert ids(f"power?since={day}") == [made["restart"]]
    assert ids(f"power?until={day}&per_page=1&page=2") == [made["off"]]
    assert ids("access") == [made["visit1"], made["visit0"]]
    assert ids(f"access?room_id={api['room_a']}") == [made["visit0"]]
    assert ids(f"access?site_id={api['site_b']}&inside=true") == [made["visit1"]]
    assert ids("access?inside=false") == []
    for path, field in (
        ("power?action=explode", "action"),
        ("power?asset_tag=NOPE", "asset_tag"),
        ("access?since=1990-01-01T00:00:00Z", "since"),
        ("access?per_page=10000000", "per_page"),
        ("access?kind=power", "kind"),
    ):
        response = db_client.get(f"/api/v1/logbook/{path}", headers=viewer)
        assert response.status_code == 422 and field in response.get_json()["fields"], path
    assert db_client.get("/api/v1/logbook/power/987654", headers=viewer).status_code == 404
