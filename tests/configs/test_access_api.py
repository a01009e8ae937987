"""A device's backup access and its SSH host key through the JSON API on SQLite and PostgreSQL,
as the access form and the admin's button: set up and changed by engineers and admins (a
supervisor or a viewer gets 403, an unknown asset 404, a wrong field 422 by its name, nothing
written), the passwords write-only — no answer, no error, no database column and no audit row
holds them, and a setting saved without them keeps them; a changed address forgets the pinned
key; a changed key accepted by an admin only, with the fingerprint checked, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import undefer

from monitors.configs.models import ConfigDevice
from opskit import auth, clock, db
from opskit.models import AuditLog, User
from tests import factories

SECRET = "Pa55-w0rd-XyZZy-7781"
ENABLE = "En4ble-QuuX-9931"


@pytest.fixture
def api(db_app: Flask) -> dict[str, Any]:
    """A core switch set up for backups (a key pinned, another offered), an access switch not
    set up; Bearer headers of each persona."""
    with db_app.test_request_context("/"):
        sess = db.session()
        core = factories.asset("SW-CORE-01", kind="switch", mgmt_ip="10.0.0.1")
        bare = factories.asset("SW-ACC-09", kind="switch", mgmt_ip="10.0.0.9")
        sess.add(
            ConfigDevice(
                asset_id=core.id,
                platform="cisco_ios",
                username="backup",
                host_key_type="ssh-ed25519",
                host_key="AAAAold",
                host_key_fingerprint="SHA256:oldoldold",
                offered_host_key_type="ssh-ed25519",
                offered_host_key="AAAAnew",
                offered_host_key_fingerprint="SHA256:newnewnew",
                offered_host_key_at=clock.now() - timedelta(hours=1),
                next_due_at=clock.now() + timedelta(days=1),
                consecutive_failures=1,
            )
        )
        ids: dict[str, Any] = {"core": core.id, "bare": bare.id}
        for name in ("admin", "engineer", "supervisor", "viewer"):
            user = sess.scalars(select(User).where(User.username == name)).one()
            ids[name] = {"Authorization": f"Bearer {auth.create_token(user, 'script')}"}
        sess.commit()
    return ids


def _device(app: Flask, asset_id: int) -> dict[str, Any] | None:
    with app.app_context():
        found = db.session().scalar(
            select(ConfigDevice)
            .options(undefer(ConfigDevice.password), undefer(ConfigDevice.enable_password))
            .where(ConfigDevice.asset_id == asset_id)
        )
        if found is None:
            return None
        return {
            c.key: getattr(found, c.key)
            for c in ConfigDevice.__table__.columns
            if c.key not in ("lease_until",)
        }


def _audit_count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(AuditLog)) or 0


def test_access_is_set_up_with_write_only_passwords(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/configs/devices/{api['bare']}"
    answers = []
    body = {
        "platform": "huawei_vrp",
        "username": "netbackup",
        "password": SECRET,
        "enable_password": ENABLE,
        "port": 2222,
        "interval_s": 43200,
    }
    saved = db_client.put(url, json=body, headers=api["engineer"])
    answers.append(saved)
    assert saved.status_code == 200, saved.get_json()
    device = saved.get_json()
    assert (device["asset_tag"], device["platform"], device["port"], device["interval_s"]) == (
        "SW-ACC-09",
        "huawei_vrp",
        2222,
        43200,
    )
    assert (device["transport"], device["host"], device["enabled"]) == ("ssh", "", True)
    stored = _device(db_app, api["bare"])
    assert stored is not None
    assert (stored["password"], stored["enable_password"]) == (SECRET, ENABLE)  # usable

    # saved again without the passwords (a retry, a port change): they are kept
    again = db_client.put(
        url, json={**body, "password": None, "enable_password": ""}, headers=api["admin"]
    )
    answers.append(again)
    assert again.status_code == 200
    del body["password"], body["enable_password"]
    answers.append(db_client.put(url, json={**body, "port": 22}, headers=api["engineer"]))
    assert answers[-1].get_json()["port"] == 22
    stored = _device(db_app, api["bare"])
    assert stored is not None and (stored["password"], stored["enable_password"]) == (
        SECRET,
        ENABLE,
    )

    # a refused write with a password in it: the password is not echoed
    answers.append(
        db_client.put(
            url, json={**body, "password": SECRET, "platform": "nope"}, headers=api["engineer"]
        )
    )
    assert answers[-1].status_code == 422
    answers.append(db_client.get(url, headers=api["viewer"]))
    answers.append(db_client.get("/api/v1/configs/devices", headers=api["viewer"]))
    for answer in answers:
        said = answer.get_data(as_text=True)
        assert SECRET not in said and ENABLE not in said
        assert '"password"' not in said and '"enable_password"' not in said
    with db_app.app_context():
        sess = db.session()
        columns = sess.execute(
            text("SELECT password, enable_password FROM config_device WHERE asset_id = :a"),
            {"a": api["bare"]},
        ).one()
        assert all(c and SECRET not in c and ENABLE not in c for c in columns)  # encrypted
        rows = sess.scalars(
            select(AuditLog).where(AuditLog.object_type == "config_device").order_by(AuditLog.id)
        ).all()
        said = " ".join(f"{r.summary} {r.changes}" for r in rows)
        assert SECRET not in said and ENABLE not in said
        created = next(r for r in rows if r.action == "create" and r.actor == "engineer")
        assert created.changes["password"] == [None, "******"]
        assert created.changes["username"] == [None, "netbackup"]


def test_wrong_fields_are_named_and_roles_are_the_forms(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/configs/devices/{api['core']}"
    good = {"platform": "cisco_ios", "username": "backup2", "password": SECRET}
    before = (_device(db_app, api["core"]), _device(db_app, api["bare"]), _audit_count(db_app))
    for change, field in (
        ({"platform": "nope"}, "platform"),
        ({"transport": "rsh"}, "transport"),
        ({"port": 70000}, "port"),
        ({"port": "22"}, "port"),
        ({"username": "  "}, "username"),
        ({"username": None}, "username"),
        ({"interval_s": 60}, "interval_s"),
        ({"timeout_s": 99999}, "timeout_s"),
        ({"commands": "show run"}, "commands"),
        ({"colour": "red"}, "colour"),
        ({"host": "h" * 256}, "host"),
    ):
        refused = db_client.put(url, json={**good, **change}, headers=api["engineer"])
        assert refused.status_code == 422, change
        assert field in refused.get_json()["fields"], (change, refused.get_json())
        assert SECRET not in refused.get_data(as_text=True)
    assert db_client.put(url, json=[good], headers=api["engineer"]).status_code == 400
    for who in ("supervisor", "viewer"):
        assert db_client.put(url, json=good, headers=api[who]).status_code == 403, who
    missing = db_client.put("/api/v1/configs/devices/999999", json=good, headers=api["admin"])
    assert missing.status_code == 404
    assert (
        _device(db_app, api["core"]),
        _device(db_app, api["bare"]),
        _audit_count(db_app),
    ) == before

    # a new address forgets the pinned key (the next fetch pins the new address's)
    moved = db_client.put(url, json={**good, "host": "10.9.9.9"}, headers=api["engineer"])
    assert moved.status_code == 200
    device = moved.get_json()
    assert (device["host"], device["host_key_fingerprint"], device["host_key_changed"]) == (
        "10.9.9.9",
        None,
        False,
    )


def test_only_an_admin_accepts_the_offered_key_once(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/configs/devices/{api['core']}/accept-key"
    shown = db_client.get(f"/api/v1/configs/devices/{api['core']}", headers=api["viewer"])
    assert shown.get_json()["offered_host_key_fingerprint"] == "SHA256:newnewnew"
    assert shown.get_json()["host_key_changed"] is True
    before = (_device(db_app, api["core"]), _audit_count(db_app))
    for who in ("engineer", "supervisor", "viewer"):
        refused = db_client.post(url, json={"fingerprint": "SHA256:newnewnew"}, headers=api[who])
        assert refused.status_code == 403, who
    other = db_client.post(url, json={"fingerprint": "SHA256:other"}, headers=api["admin"])
    assert other.status_code == 409 and "SHA256:newnewnew" in other.get_json()["message"]
    assert "host_key" in other.get_json()["fields"]
    bare = f"/api/v1/configs/devices/{api['bare']}/accept-key"
    assert db_client.post(bare, json={}, headers=api["admin"]).status_code == 404
    assert (_device(db_app, api["core"]), _audit_count(db_app)) == before

    accepted = db_client.post(url, json={"fingerprint": "SHA256:newnewnew"}, headers=api["admin"])
    assert accepted.status_code == 200, accepted.get_json()
    device = accepted.get_json()
    assert (device["host_key_fingerprint"], device["host_key_changed"]) == (
        "SHA256:newnewnew",
        False,
    )
    assert device["offered_host_key_fingerprint"] is None
    stored = _device(db_app, api["core"])
    assert stored is not None and stored["host_key"] == "AAAAnew"
    with db_app.app_context():
        row = (
            db.session()
            .scalars(
                select(AuditLog)
                .where(AuditLog.object_type == "config_device")
                .order_by(AuditLog.id.desc())
            )
            .first()
        )
        assert row is not None and row.actor == "admin"
        assert row.changes["host_key_fingerprint"] == ["SHA256:oldoldold", "SHA256:newnewnew"]
    after = (_device(db_app, api["core"]), _audit_count(db_app))

    retried = db_client.post(url, json={"fingerprint": "SHA256:newnewnew"}, headers=api["admin"])
    assert retried.status_code == 409 and "host_key" in retried.get_json()["fields"]
    assert (_device(db_app, api["core"]), _audit_count(db_app)) == after
