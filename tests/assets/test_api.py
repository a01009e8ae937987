"""The registry's JSON API on SQLite and PostgreSQL: tokens, roles, paging, writes, errors."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assets import services
from assets.models import Asset, IPAddress, Site
from opskit import auth, db
from opskit.models import AuditLog, User
from tests import factories


def _token(app: Flask, username: str) -> dict[str, str]:
    with app.app_context():
        sess = db.session()
        user = sess.scalar(select(User).where(User.username == username))
        token = auth.create_token(user, "test")
        sess.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seeded(db_app: Flask) -> dict[str, int]:
    with db_app.test_request_context("/"):
        rack = factories.rack("总部", "A机房", "A01")
        for n in range(1, 8):
            factories.asset(f"SRV-{n:03d}", rack=rack, u_position=n * 2, u_height=1)
        factories.asset("SW-001", kind="switch", rack=rack, u_position=40)
        factories.asset("UPS-001", kind="ups", room=rack.room, status="spare")
        factories.prefix("10.1.20.0/24", vlan=20)
        db.session().commit()
        return {"rack": rack.id, "room": rack.room_id, "site": rack.room.site_id}


@pytest.fixture
def engineer(db_app: Flask) -> dict[str, str]:
    return _token(db_app, "engineer")


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def test_every_call_needs_a_bearer_token(db_client: FlaskClient, seeded) -> None:
    for path in ("/api/v1/assets", "/api/v1/sites", "/api/v1/openapi.json"):
        response = db_client.get(path)
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"
    response = db_client.get("/api/v1/assets", headers={"Authorization": "Bearer opk_wrong"})
    assert response.status_code == 401


def test_list_pages_and_filters(db_client: FlaskClient, seeded, engineer) -> None:
    page = db_client.get("/api/v1/assets?per_page=3&page=2", headers=engineer).get_json()
    assert page["total"] == 9 and page["page"] == 2 and page["per_page"] == 3
    assert [a["asset_tag"] for a in page["items"]] == ["SRV-004", "SRV-005", "SRV-006"]
    first = page["items"][0]
    assert first["rack"] == "A01" and first["room"] == "A机房" and first["site"] == "总部"
    assert first["rack_id"] == seeded["rack"] and first["u_position"] == 8

    spare = db_client.get("/api/v1/assets?status=spare", headers=engineer).get_json()
    assert [a["asset_tag"] for a in spare["items"]] == ["UPS-001"]
    assert spare["total"] == 1 and spare["items"][0]["rack_id"] is None

    switches = db_client.get("/api/v1/assets?kind=switch&q=SW", headers=engineer).get_json()
    assert [a["asset_tag"] for a in switches["items"]] == ["SW-001"]

    bad = db_client.get("/api/v1/assets?per_page=501&kind=toaster", headers=engineer)
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"per_page", "kind"}

    # an empty choice or number is refused, not taken as "no filter"; an empty search is none
    empty = db_client.get("/api/v1/assets?kind=&status=&page=", headers=engineer)
    assert empty.status_code == 422
    assert set(empty.get_json()["fields"]) == {"kind", "status", "page"}
    assert db_client.get("/api/v1/assets?q=", headers=engineer).get_json()["total"] == 9

    racks = db_client.get(f"/api/v1/racks?room_id={seeded['room']}", headers=engineer).get_json()
    assert [(r["name"], r["used_units"], r["u_height"]) for r in racks["items"]] == [("A01", 8, 42)]


def test_create_answers_201_and_writes_the_row(db_app: Flask, db_client, seeded, engineer) -> None:
    response = db_client.post(
        "/api/v1/assets",
        json={
            "asset_tag": "SRV-100",
            "name": "数据库服务器",
            "kind": "server",
            "rack_id": seeded["rack"],
            "u_position": 20,
            "u_height": 2,
            "mgmt_ip": "10.1.20.30",
            "warranty_end": "2027-06-30",
            "specs": {"cpu": "2x Xeon", "ram_gb": 256},
        },
        headers=engineer,
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/assets/{body['id']}"
    assert body["room_id"] == seeded["room"] and body["warranty_end"] == "2027-06-30"
    with db_app.app_context():
        asset = db.session().scalar(select(Asset).where(Asset.asset_tag == "SRV-100"))
        assert asset is not None
        assert asset.name == "数据库服务器" and asset.rack_id == seeded["rack"]
        assert list(asset.occupied_units) == [20, 21]
        assert str(asset.warranty_end) == "2027-06-30"
        assert asset.specs == {"cpu_model": "2x Xeon", "memory_gb": 256}  # the vocabulary
    again = db_client.get(response.headers["Location"], headers=engineer)
    assert again.get_json() == body

    site = db_client.post("/api/v1/sites", json={"name": "分部"}, headers=engineer)
    assert site.status_code == 201
    with db_app.app_context():
        assert db.session().scalar(select(Site.id).where(Site.name == "分部")) is not None


def test_update_is_partial_and_audited(db_app: Flask, db_client, seeded, engineer) -> None:
    with db_app.app_context():
        asset_id = db.session().scalar(select(Asset.id).where(Asset.asset_tag == "SRV-001"))
    response = db_client.patch(
        f"/api/v1/assets/{asset_id}",
        json={"name": "新名字", "status": "repair"},
        headers=engineer,
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["u_position"] == 2  # untouched fields stay
    with db_app.app_context():
        sess = db.session()
        asset = sess.get(Asset, asset_id)
        assert asset.name == "新名字" and asset.status == "repair" and asset.u_position == 2
        entry = sess.scalars(
            select(AuditLog)
            .where(AuditLog.object_type == "asset", AuditLog.action == "update")
            .order_by(AuditLog.id.desc())
        ).first()
        assert entry is not None and entry.actor == "engineer"
        assert entry.object_id == str(asset_id)
        assert entry.changes["name"] == ["SRV-001", "新名字"]
        assert entry.changes["status"] == ["in_service", "repair"]


def test_occupied_unit_is_refused_naming_u_position(db_app, db_client, seeded, engineer) -> None:
    before = _count(db_app, Asset)
    response = db_client.post(
        "/api/v1/assets",
        json={"asset_tag": "SRV-200", "name": "x", "kind": "server", "rack_id": seeded["rack"]}
        | {"u_position": 4, "u_height": 1},
        headers=engineer,
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation"
    assert list(body["fields"]) == ["u_position"]
    assert "SRV-002" in body["fields"]["u_position"][0]
    assert _count(db_app, Asset) == before


def test_clearing_the_rack_of_a_placed_asset_names_u_position(
    db_app, db_client, seeded, engineer
) -> None:
    with db_app.app_context():
        asset_id = db.session().scalar(select(Asset.id).where(Asset.asset_tag == "SRV-001"))
    response = db_client.patch(
        f"/api/v1/assets/{asset_id}", json={"rack_id": None}, headers=engineer
    )
    assert response.status_code == 422
    assert list(response.get_json()["fields"]) == ["u_position"]
    cleared = db_client.patch(
        f"/api/v1/assets/{asset_id}", json={"rack_id": None, "u_position": None}, headers=engineer
    )
    assert cleared.status_code == 200
    assert cleared.get_json()["rack_id"] is None and cleared.get_json()["room_id"] == seeded["room"]


def test_address_outside_every_prefix_is_refused(db_app, db_client, seeded, engineer) -> None:
    response = db_client.post(
        "/api/v1/ip-addresses", json={"address": "192.168.9.9"}, headers=engineer
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert list(fields) == ["address"] and "192.168.9.9" in fields["address"][0]
    assert _count(db_app, IPAddress) == 0
    ok = db_client.post("/api/v1/ip-addresses", json={"address": "10.1.20.9"}, headers=engineer)
    assert ok.status_code == 201 and ok.get_json()["prefix"] == "10.1.20.0/24"


def test_bad_input_names_the_field_and_type(db_client, seeded, engineer) -> None:
    response = db_client.post(
        "/api/v1/racks",
        json={"room_id": "1", "name": "A09", "u_height": 61, "colour": "red"},
        headers=engineer,
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert set(fields) == {"room_id", "u_height", "colour"}
    assert "number" in fields["room_id"][0] or "整数" in fields["room_id"][0]
    for body in (b"{not json", b"[1, 2]", b'{"name": NaN}'):
        bad = db_client.post(
            "/api/v1/sites", data=body, headers={**engineer, "Content-Type": "application/json"}
        )
        assert bad.status_code == 400, body
    assert db_client.get("/api/v1/assets/999999", headers=engineer).status_code == 404
    assert (
        db_client.patch("/api/v1/sites/99999999999", json={}, headers=engineer).status_code == 404
    )


def test_viewer_reads_but_cannot_write(db_app: Flask, db_client, seeded) -> None:
    viewer = _token(db_app, "viewer")
    assert db_client.get("/api/v1/assets", headers=viewer).get_json()["total"] == 9
    before = _count(db_app, Asset)
    response = db_client.post(
        "/api/v1/assets", json={"asset_tag": "V-1", "name": "v", "kind": "server"}, headers=viewer
    )
    assert response.status_code == 403
    assert _count(db_app, Asset) == before
    with db_app.app_context():
        assert db.session().scalar(select(Asset).where(Asset.asset_tag == "V-1")) is None


def test_delete_asset_frees_its_units(db_app: Flask, db_client, seeded, engineer) -> None:
    with db_app.test_request_context("/"):
        sess = db.session()
        a = sess.scalar(select(Asset).where(Asset.asset_tag == "SRV-001"))
        b = sess.scalar(select(Asset).where(Asset.asset_tag == "SW-001"))
        services.save_link(a, "eth0", b, "Gi1/0/1")
        sess.commit()
        asset_id = a.id
    assert db_client.delete(f"/api/v1/assets/{asset_id}", headers=engineer).status_code == 204
    assert db_client.get(f"/api/v1/assets/{asset_id}", headers=engineer).status_code == 404
    links = db_client.get("/api/v1/links", headers=engineer).get_json()
    assert links["total"] == 0
    taken = db_client.post(
        "/api/v1/assets",
        json={"asset_tag": "SRV-300", "name": "x", "kind": "server", "rack_id": seeded["rack"]}
        | {"u_position": 2},
        headers=engineer,
    )
    assert taken.status_code == 201


def test_openapi_document_lists_the_registry(db_client, engineer) -> None:
    doc = db_client.get("/api/v1/openapi.json", headers=engineer).get_json()
    assert doc["openapi"] == "3.1.0"
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path in ("sites", "rooms", "racks", "assets", "prefixes", "ip-addresses", "links"):
        assert {"get", "post"} <= set(doc["paths"][f"/api/v1/{path}"])
    create = doc["components"]["schemas"]["AssetCreate"]
    assert create["properties"]["asset_tag"]["maxLength"] == 64
    assert create["properties"]["u_height"]["maximum"] == 60
    assert "line" in create["properties"]["kind"]["enum"]
    assert create["properties"]["warranty_end"]["anyOf"] == [
        {"type": "string", "format": "date"},
        {"type": "null"},
    ]
    vlan = doc["components"]["schemas"]["PrefixCreate"]["properties"]["vlan"]["anyOf"][0]
    assert vlan["maximum"] == 4094


def test_405_names_the_allowed_methods(db_client, engineer) -> None:
    answer = db_client.put("/api/v1/assets", headers=engineer, json={})
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) >= {"GET", "POST"}
    page = db_client.delete("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


def test_a_spec_that_cannot_be_read_is_refused_naming_it(db_app, db_client, engineer) -> None:
    response = db_client.post(
        "/api/v1/assets",
        json={"asset_tag": "SRV-300", "name": "x", "kind": "server"}
        | {"specs": {"内存": "很多", "CPU": "2x Xeon"}},
        headers=engineer,
    )
    assert response.status_code == 422
    fields = response.get_json()["fields"]
    assert list(fields) == ["specs"] and "“很多”" in fields["specs"][0]
    assert fields["specs"][0].startswith(("内存（GB）", "Memory (GB)"))
    assert _count(db_app, Asset) == 0
