"""Monitors in the JSON API on SQLite and PostgreSQL: CRUD, the kinds' own settings rules,
write-only credentials (never in any answer), roles, audit."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

from monitors.models import Monitor, Reading
from opskit import auth, clock, db
from opskit.models import AuditLog, User
from tests import factories

COMMUNITY = "s3cret-Community-7f2a"
AUTH_KEY = "v3-Auth-Key-9c41d2"
PRIV_KEY = "v3-Priv-Key-5e77b0"
PASSWORD = "db-Pass-word-3318"
SECRETS = (COMMUNITY, AUTH_KEY, PRIV_KEY, PASSWORD)


class Api:
    """The test client with one persona's token; every answer is checked for the secrets."""

    def __init__(self, app: Flask, username: str) -> None:
        self.client: FlaskClient = app.test_client()
        with app.app_context():
            user = db.session().scalars(select(User).where(User.username == username)).one()
            token = auth.create_token(user, "test")
            db.session().commit()
        self.headers = {"Authorization": f"Bearer {token}"}

    def __call__(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.open(path, method=method, headers=self.headers, **kwargs)
        body = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in body, f"{method} {path} answered a credential"
        return response


@pytest.fixture
def seeded(db_app: Flask) -> dict[str, int]:
    with db_app.test_request_context("/"):
        ups = factories.asset("UPS-001", kind="ups", mgmt_ip="192.0.2.10")
        dbs = factories.asset("DB-001", kind="server", mgmt_ip="192.0.2.20")
        db.session().commit()
        return {"ups": ups.id, "db": dbs.id}


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Monitor)) or 0


def _snmp(asset_id: int, **extra: Any) -> dict[str, Any]:
    body = {
        "asset_id": asset_id,
        "kind": "snmp",
        "name": "UPS SNMP",
        "settings": {"host": "192.0.2.10", "port": 161, "version": "2c"},
        "credentials": {"community": COMMUNITY},
        "interval_s": 60,
    }
    return body | extra


def test_create_get_list_credentials_write_only(db_app: Flask, seeded: dict[str, Any]) -> None:
    api = Api(db_app, "engineer")
    created = api("POST", "/api/v1/monitors", json=_snmp(seeded["ups"]))
    assert created.status_code == 201, created.get_data(as_text=True)
    mon = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/monitors/{mon['id']}")
    assert mon["asset_tag"] == "UPS-001" and mon["kind"] == "snmp" and mon["name"] == "UPS SNMP"
    assert mon["settings"] == {
        "host": "192.0.2.10",
        "port": 161,
        "version": "2c",
        "timeout": 2.0,
        "retries": 1,
    }
    assert mon["credentials_set"] == ["community"] and "credentials" not in mon
    assert mon["target"] == "192.0.2.10:161" and mon["state"] == "unknown" and mon["enabled"]

    # a retry is the same monitor, nothing added
    again = api("POST", "/api/v1/monitors", json=_snmp(seeded["ups"]))
    assert again.status_code == 201 and again.get_json()["id"] == mon["id"]
    assert _count(db_app) == 1

    ping = api(
        "POST",
        "/api/v1/monitors",
        json={"asset_id": seeded["db"], "kind": "ping", "settings": {"host": "192.0.2.20"}},
    )
    assert ping.status_code == 201
    pg = api(
        "POST",
        "/api/v1/monitors",
        json={
            "asset_id": seeded["db"],
            "kind": "postgresql",
            "settings": {"host": "192.0.2.20", "user": "opskit_monitor"},
            "credentials": {"password": PASSWORD},
            "enabled": False,
        },
    )
    assert pg.status_code == 201 and pg.get_json()["enabled"] is False
    assert pg.get_json()["credentials_set"] == ["password"]

    one = api("GET", f"/api/v1/monitors/{mon['id']}").get_json()
    assert one == mon
    listed = api("GET", "/api/v1/monitors").get_json()
    assert listed["total"] == 3
    assert [(m["asset_tag"], m["kind"]) for m in listed["items"]] == [
        ("UPS-001", "snmp"),
        ("DB-001", "ping"),
        ("DB-001", "postgresql"),
    ]
    by_kind = api("GET", "/api/v1/monitors?kind=ping").get_json()
    assert [m["kind"] for m in by_kind["items"]] == ["ping"]
    of_asset = api("GET", f"/api/v1/monitors?asset_id={seeded['db']}&enabled=false").get_json()
    assert [m["kind"] for m in of_asset["items"]] == ["postgresql"]
    unknown = api("GET", "/api/v1/monitors?state=unknown&per_page=2").get_json()
    assert unknown["total"] == 3 and len(unknown["items"]) == 2
    bad = api("GET", "/api/v1/monitors?state=sideways&colour=red&per_page=501")
    assert bad.status_code == 422
    assert set(bad.get_json()["fields"]) == {"state", "colour", "per_page"}
    assert api("GET", "/api/v1/monitors/999999").status_code == 404
    kinds = api("GET", "/api/v1/monitor-kinds").get_json()["items"]
    snmp = next(k for k in kinds if k["kind"] == "snmp")
    assert snmp["credentials"] == ["community", "auth_key", "priv_key"]
    assert [f["name"] for f in snmp["settings"]][:3] == ["host", "port", "version"]

    # stored encrypted: the column's raw value holds no secret; the audit log only "changed"
    with db_app.app_context():
        raw = db.session().execute(text("SELECT secret FROM monitor")).scalars().all()
        assert raw and all(s is None or not any(x in s for x in SECRETS) for s in raw)
        rows = db.session().scalars(select(AuditLog).where(AuditLog.object_type == "monitor"))
        logged = list(rows)
        assert {r.actor for r in logged} == {"engineer"}
        assert not any(secret in str(r.changes) for r in logged for secret in SECRETS)


def test_the_kinds_rules_by_field_nothing_written(db_app: Flask, seeded: dict[str, Any]) -> None:
    api = Api(db_app, "engineer")
    cases = [
        (_snmp(seeded["ups"], settings={"host": "192.0.2.10", "port": 70000}), "settings.port"),
        (_snmp(seeded["ups"], settings={"host": "192.0.2.10", "colour": 1}), "settings.colour"),
        (_snmp(seeded["ups"], settings={"version": "2c"}), "settings.host"),
        (_snmp(seeded["ups"], credentials={}), "credentials.community"),
        (_snmp(seeded["ups"], credentials={"pin": "1"}), "credentials.pin"),
        (
            _snmp(
                seeded["ups"],
                settings={"host": "192.0.2.10", "version": "3", "user": "ops"}
                | {"auth_proto": "SHA"},
                credentials={},
            ),
            "credentials.auth_key",
        ),
        (_snmp(seeded["ups"], kind="telnet"), "kind"),
        (_snmp(999_999), "asset_id"),
        (_snmp(seeded["ups"], interval_s=1), "interval_s"),
        (_snmp(seeded["ups"], interval_s="60"), "interval_s"),
        (_snmp(seeded["ups"], owner="me"), "owner"),
    ]
    for body, field in cases:
        response = api("POST", "/api/v1/monitors", json=body)
        assert response.status_code == 422, (field, response.get_data(as_text=True))
        assert field in response.get_json()["fields"], (field, response.get_json())
    assert _count(db_app) == 0


def test_roles_viewer_and_supervisor_may_only_read(db_app: Flask, seeded: dict[str, Any]) -> None:
    viewer, supervisor, admin = (Api(db_app, n) for n in ("viewer", "supervisor", "admin"))
    for api in (viewer, supervisor):
        response = api("POST", "/api/v1/monitors", json=_snmp(seeded["ups"]))
        assert response.status_code == 403
    assert _count(db_app) == 0
    created = admin("POST", "/api/v1/monitors", json=_snmp(seeded["ups"])).get_json()
    path = f"/api/v1/monitors/{created['id']}"
    for api in (viewer, supervisor):
        assert api("PATCH", path, json={"enabled": False}).status_code == 403
        assert api("DELETE", path).status_code == 403
        assert api("GET", path).get_json()["enabled"] is True
    assert _count(db_app) == 1


def test_change_disable_and_delete(db_app: Flask, seeded: dict[str, Any]) -> None:
    api = Api(db_app, "engineer")
    mon = api("POST", "/api/v1/monitors", json=_snmp(seeded["ups"])).get_json()
    path = f"/api/v1/monitors/{mon['id']}"

    # settings merge; an empty credential keeps the stored one
    changed = api(
        "PATCH", path, json={"settings": {"port": 1161}, "credentials": {"community": ""}}
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["settings"]["port"] == 1161
    assert changed.get_json()["credentials_set"] == ["community"]

    # to SNMPv3: the keys are needed, the community goes
    refused = api(
        "PATCH", path, json={"settings": {"version": "3", "user": "ops", "auth_proto": "SHA"}}
    )
    assert refused.status_code == 422 and "credentials.auth_key" in refused.get_json()["fields"]
    v3 = api(
        "PATCH",
        path,
        json={
            "settings": {"version": "3", "user": "ops", "auth_proto": "SHA", "priv_proto": "AES"},
            "credentials": {"auth_key": AUTH_KEY, "priv_key": PRIV_KEY},
        },
    ).get_json()
    assert v3["settings"]["version"] == "3" and v3["credentials_set"] == ["auth_key", "priv_key"]
    with db_app.app_context():
        stored = db.session().get(Monitor, mon["id"])
        assert stored is not None and stored.secret is not None
        assert AUTH_KEY in stored.secret and COMMUNITY not in stored.secret  # decrypted by ORM

    # null removes a setting (its default applies); a wrong one changes nothing
    back = api("PATCH", path, json={"settings": {"port": None}, "name": "UPS-A"}).get_json()
    assert back["settings"]["port"] == 161 and back["name"] == "UPS-A"
    wrong = api("PATCH", path, json={"settings": {"timeout": 999}, "name": "lost"})
    assert wrong.status_code == 422 and set(wrong.get_json()["fields"]) == {"settings.timeout"}
    assert api("GET", path).get_json()["name"] == "UPS-A"

    # disabled as on the page; enabled again
    off = api("PATCH", path, json={"enabled": False}).get_json()
    assert off["enabled"] is False
    assert (
        api("PATCH", path, json={"enabled": True, "interval_s": 120}).get_json()["interval_s"]
        == 120
    )

    # deleted: its readings stay with the asset
    with db_app.app_context():
        db.session().add(
            Reading(
                asset_id=seeded["ups"],
                monitor_id=mon["id"],
                metric="ups.output.load_percent",
                instance="",
                at=clock.now(),
                value=40.0,
            )
        )
        db.session().commit()
    assert api("DELETE", path).status_code == 204
    assert api("GET", path).status_code == 404
    assert api("DELETE", path).status_code == 404
    with db_app.app_context():
        kept = db.session().scalars(select(Reading)).all()
        assert [(r.asset_id, r.monitor_id, r.value) for r in kept] == [(seeded["ups"], None, 40.0)]
        actions = db.session().scalars(
            select(AuditLog.action).where(AuditLog.object_type == "monitor")
        )
        assert "delete" in set(actions)
