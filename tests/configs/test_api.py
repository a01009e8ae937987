"""Configuration backups through the JSON API on SQLite and PostgreSQL: the devices with their
backup state (never a password), a device's versions paged, a version's masked text only, the
diff with the version before or another, and "fetch now" refused to viewers and supervisors and
for an asset with no device set up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from monitors.configs.models import ConfigDevice
from opskit import auth, clock, db
from opskit.models import User
from tests import factories
from tests.configs import stored

V1 = "\n".join(
    ["hostname CORE-SW1", "enable secret 5 $1$abcd$SECRETHASH1", "ntp server 10.1.1.1", "end"]
)
V2 = V1.replace("ntp server 10.1.1.1", "ntp server 10.1.1.2\nlogging host 10.1.1.9")
V3 = V2.replace("hostname CORE-SW1", "hostname CORE-SW-01")


def _masked(text: str) -> str:
    return text.replace("$1$abcd$SECRETHASH1", "<masked>")


@pytest.fixture
def api(db_app: Flask) -> dict[str, Any]:
    with db_app.test_request_context("/"):
        sess = db.session()
        core = factories.asset("SW-CORE-01", kind="switch", mgmt_ip="10.0.0.1")
        bare = factories.asset("SW-ACC-09", kind="switch", mgmt_ip="10.0.0.9")
        now = clock.now()
        sess.add(
            ConfigDevice(
                asset_id=core.id,
                platform="cisco_ios",
                username="backup",
                password="Pa55-stored",
                enable_password="En-stored",
                host_key_fingerprint="SHA256:oldoldold",
                last_success_at=now - timedelta(days=1),
                last_attempt_at=now - timedelta(hours=1),
                last_reason="auth",
                last_error="Authentication failed for backup",
                consecutive_failures=2,
            )
        )
        ids: dict[str, Any] = {"core": core.id, "bare": bare.id}
        previous = None
        for number, text in enumerate((V1, V2, V3), start=1):
            at = now - timedelta(days=4 - number)
            row = stored.version(core.id, number, at, text, _masked(text))
            row.previous_id = previous
            previous = ids[f"v{number}"] = row.id
        for name in ("engineer", "supervisor", "viewer"):
            user = sess.scalars(select(User).where(User.username == name)).one()
            ids[name] = {"Authorization": f"Bearer {auth.create_token(user, 'script')}"}
        sess.commit()
    return ids


def test_devices_versions_texts_and_diffs_are_read_masked(
    db_client: FlaskClient, api: dict[str, Any]
) -> None:
    listed = db_client.get("/api/v1/configs/devices", headers=api["viewer"])
    assert listed.status_code == 200, listed.get_json()
    body = listed.get_json()
    assert body["total"] == 1
    device = body["items"][0]
    assert (device["asset_tag"], device["platform"], device["versions"]) == (
        "SW-CORE-01",
        "cisco_ios",
        3,
    )
    assert (device["last_reason"], device["last_reason_label"]) == ("auth", "用户名或密码错误")
    assert device["consecutive_failures"] == 2 and device["host_key_changed"] is False
    assert "Pa55" not in listed.get_data(as_text=True) and "password" not in device
    failing = db_client.get(
        "/api/v1/configs/devices", query_string={"failing": "false"}, headers=api["viewer"]
    )
    assert failing.get_json()["total"] == 0
    one = db_client.get(f"/api/v1/configs/devices/{api['core']}", headers=api["viewer"])
    assert one.get_json()["asset_id"] == api["core"]
    assert (
        db_client.get(f"/api/v1/configs/devices/{api['bare']}", headers=api["viewer"]).status_code
        == 404
    )

    versions = db_client.get(
        f"/api/v1/configs/devices/{api['core']}/versions",
        query_string={"per_page": 2},
        headers=api["viewer"],
    ).get_json()
    assert versions["total"] == 3 and [v["number"] for v in versions["items"]] == [3, 2]
    assert "masked_text" not in versions["items"][0]

    url = f"/api/v1/configs/devices/{api['core']}/versions/{api['v2']}"
    text = db_client.get(url, headers=api["viewer"])
    assert text.get_json()["masked_text"] == _masked(V2)
    assert "SECRETHASH1" not in text.get_data(as_text=True)
    diff = db_client.get(f"{url}/diff", headers=api["viewer"]).get_json()
    assert (diff["from_version_id"], diff["added"], diff["removed"], diff["too_big"]) == (
        api["v1"],
        2,
        1,
        False,
    )
    assert "-ntp server 10.1.1.1\n+ntp server 10.1.1.2\n+logging host 10.1.1.9" in diff["unified"]
    assert diff["unified"].startswith("--- v1\n+++ v2\n")
    against = db_client.get(
        f"/api/v1/configs/devices/{api['core']}/versions/{api['v3']}/diff",
        query_string={"against": api["v1"]},
        headers=api["viewer"],
    ).get_json()
    assert (against["added"], against["removed"]) == (3, 2)
    first = db_client.get(
        f"/api/v1/configs/devices/{api['core']}/versions/{api['v1']}/diff", headers=api["viewer"]
    ).get_json()
    assert first["from_version_id"] is None and first["added"] == 4
    other_device = f"/api/v1/configs/devices/{api['bare']}/versions/{api['v1']}"
    assert db_client.get(other_device, headers=api["viewer"]).status_code == 404
    bad = db_client.get(f"{url}/diff", query_string={"against": "x"}, headers=api["viewer"])
    assert bad.status_code == 422 and "against" in bad.get_json()["fields"]


def test_fetch_now_is_for_engineers_and_a_device_set_up(
    db_client: FlaskClient, api: dict[str, Any]
) -> None:
    url = f"/api/v1/configs/devices/{api['core']}/fetch"
    assert db_client.post(url, headers=api["viewer"]).status_code == 403
    refused = db_client.post(url, headers=api["supervisor"])
    assert refused.status_code == 403 and "工程师" in refused.get_json()["message"]
    missing = db_client.post(
        f"/api/v1/configs/devices/{api['bare']}/fetch", headers=api["engineer"]
    )
    assert missing.status_code == 404
