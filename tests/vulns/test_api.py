"""Vulnerability scans through the JSON API on SQLite and PostgreSQL: the scans and the findings
listed with their filters (state, severity, importance, asset by id or tag, overdue, due before
a day) and paged, one finding with its words; a finding moved as its page does (accepting a risk
is a supervisor's: an engineer's token gets 403 and nothing changes; wrong fields are 422 by
name), audited with the token's user; its fix request opened once; viewers read only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from inspections.vulns import services
from inspections.vulns.models import VulnFinding
from monitors.configs.upgrades.models import ConfigUpgrade
from opskit import auth, clock, db
from opskit.models import AuditLog, User
from opskit.servicedesk.models import ServiceRequest
from tests import factories
from tests.vulns.scans import Item, ScanHost, nessus

pytestmark = pytest.mark.xdist_group("vulns_api")


@pytest.fixture
def api(db_app: Flask, tmp_path: Path) -> dict[str, Any]:
    """A core server with a critical and a medium finding, a general one with a high finding,
    a host no one registered with a low one; Bearer headers of each persona."""
    with db_app.test_request_context("/"):
        sess = db.session()
        core = factories.asset("SRV-001", name="db01", importance="core", mgmt_ip="10.0.0.1")
        web = factories.asset("SRV-002", name="web02", importance="general", mgmt_ip="10.0.0.2")
        sess.flush()
        started = clock.now() - timedelta(hours=2)
        path = nessus(
            tmp_path / "scan.nessus",
            started,
            [
                ScanHost(
                    "10.0.0.1",
                    items=[
                        Item("1001", 443, 4, name="OpenSSL heap overflow", cves=("CVE-2024-3094",)),
                        Item("1002", 22, 2, name="Weak SSH ciphers"),
                    ],
                ),
                ScanHost("10.0.0.2", items=[Item("1003", 80, 3, name="Old Apache")]),
                ScanHost(
                    "10.0.0.9", items=[Item("1004", 161, 1, name="SNMP public", protocol="udp")]
                ),
            ],
        )
        services.import_file(path)
        ids: dict[str, Any] = dict(
            sess.execute(select(VulnFinding.plugin_id, VulnFinding.id)).all()
        )
        ids["core"], ids["web"] = core.id, web.id
        for name in ("engineer", "supervisor", "viewer"):
            user = sess.scalars(select(User).where(User.username == name)).one()
            ids[name] = {"Authorization": f"Bearer {auth.create_token(user, 'script')}"}
        sess.commit()
    return ids


def _finding(app: Flask, finding_id: int) -> VulnFinding:
    with app.app_context():
        found = db.session().get(VulnFinding, finding_id)
        assert found is not None
        db.session().expunge(found)
        return found


def test_scans_and_findings_are_listed_with_their_filters(
    db_client: FlaskClient, api: dict[str, Any]
) -> None:
    scans = db_client.get("/api/v1/vulns/scans", headers=api["viewer"]).get_json()
    assert scans["total"] == 1
    scan = scans["items"][0]
    assert (scan["scanner"], scan["scanner_label"], scan["hosts_scanned"]) == (
        "nessus",
        "Nessus",
        3,
    )
    assert (scan["hosts_matched"], scan["findings_new"], scan["findings_count"]) == (2, 4, 4)
    one = db_client.get(f"/api/v1/vulns/scans/{scan['id']}", headers=api["viewer"])
    assert one.status_code == 200 and one.get_json()["file_name"] == "scan.nessus"

    def names(**params: Any) -> list[str]:
        got = db_client.get("/api/v1/vulns/findings", query_string=params, headers=api["viewer"])
        assert got.status_code == 200, got.get_json()
        return [f["name"] for f in got.get_json()["items"]]

    # most severe first
    assert names() == ["OpenSSL heap overflow", "Old Apache", "Weak SSH ciphers", "SNMP public"]
    assert names(severity="high") == ["Old Apache"]
    assert names(asset_tag="SRV-001") == ["OpenSSL heap overflow", "Weak SSH ciphers"]
    assert names(asset_id=api["core"], severity="medium") == ["Weak SSH ciphers"]
    assert names(importance="unregistered") == ["SNMP public"]
    assert names(importance="core", state="active") == ["OpenSSL heap overflow", "Weak SSH ciphers"]
    assert names(state="fixed") == []
    assert names(overdue="true") == []  # found two hours ago
    far = (clock.site_today() + timedelta(days=400)).isoformat()
    assert len(names(due_before=far)) == 4
    assert names(due_before=clock.site_today().isoformat()) == []
    paged = db_client.get(
        "/api/v1/vulns/findings", query_string={"per_page": 3, "page": 2}, headers=api["viewer"]
    ).get_json()
    assert (paged["total"], [f["name"] for f in paged["items"]]) == (4, ["SNMP public"])

    got = db_client.get(f"/api/v1/vulns/findings/{api['1001']}", headers=api["viewer"]).get_json()
    assert (got["asset_tag"], got["severity_label"], got["state_label"]) == (
        "SRV-001",
        "严重",
        "待处理",
    )
    assert got["cves"] == ["CVE-2024-3094"] and got["solution"] == "Patch 1001."
    assert got["due_date"] is not None and got["overdue"] is False

    for params, field in (
        ({"state": "gone"}, "state"),
        ({"asset_tag": "NOPE-1"}, "asset_tag"),
        ({"due_before": "2026-13-01"}, "due_before"),
        ({"per_page": 10_000_000}, "per_page"),
        ({"colour": "red"}, "colour"),
    ):
        bad = db_client.get("/api/v1/vulns/findings", query_string=params, headers=api["viewer"])
        assert bad.status_code == 422 and field in bad.get_json()["fields"], params
    assert db_client.get("/api/v1/vulns/findings/999999", headers=api["viewer"]).status_code == 404


def test_a_finding_is_moved_as_its_page_does(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/vulns/findings/{api['1003']}/state"
    assert (
        db_client.post(url, json={"state": "in_progress"}, headers=api["viewer"]).status_code == 403
    )
    last_day = (clock.site_today() + timedelta(days=90)).isoformat()
    accept = {
        "state": "accepted",
        "reason": "内网隔离",
        "approver": "王经理",
        "accepted_until": last_day,
    }
    refused = db_client.post(url, json=accept, headers=api["engineer"])
    assert refused.status_code == 403 and "state" in refused.get_json()["fields"]
    assert _finding(db_app, api["1003"]).state == "open"
    missing = db_client.post(url, json={"state": "false_positive"}, headers=api["engineer"])
    assert missing.status_code == 422 and list(missing.get_json()["fields"]) == ["reason"]
    past = {**accept, "accepted_until": (clock.site_today() - timedelta(days=1)).isoformat()}
    late = db_client.post(url, json=past, headers=api["supervisor"])
    assert late.status_code == 422 and "accepted_until" in late.get_json()["fields"]
    hand = db_client.post(url, json={"state": "fixed"}, headers=api["engineer"])
    assert hand.status_code == 422 and "state" in hand.get_json()["fields"]
    assert _finding(db_app, api["1003"]).state == "open"

    moving = db_client.post(url, json={"state": "in_progress"}, headers=api["engineer"])
    assert moving.status_code == 200 and moving.get_json()["state_label"] == "修复中"
    accepted = db_client.post(url, json=accept, headers=api["supervisor"])
    assert accepted.status_code == 200, accepted.get_json()
    body = accepted.get_json()
    assert (body["state"], body["approver"], body["accepted_until"]) == (
        "accepted",
        "王经理",
        last_day,
    )
    with db_app.app_context():
        actors = db.session().scalars(
            select(AuditLog.actor)
            .where(AuditLog.object_type == "vuln_finding", AuditLog.object_id == str(api["1003"]))
            .order_by(AuditLog.id)
        )
        assert list(actors)[-2:] == ["engineer", "supervisor"]


def test_a_fix_request_is_opened_once(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/vulns/findings/{api['1001']}/request"
    assert db_client.post(url, json={}, headers=api["viewer"]).status_code == 403
    first = db_client.post(url, json={"client_id": "script-1"}, headers=api["engineer"])
    assert first.status_code == 200, first.get_json()
    made = first.get_json()
    assert made["created"] is True and made["request_number"].startswith("SR-")
    assert made["finding"]["request_id"] == made["request_id"]
    assert made["finding"]["state"] == "in_progress"
    again = db_client.post(url, json={"client_id": "script-1"}, headers=api["engineer"]).get_json()
    assert (again["created"], again["request_id"]) == (False, made["request_id"])
    with db_app.app_context():
        count = db.session().scalar(select(func.count()).select_from(ServiceRequest))
        assert count == 1
    # a false positive gets none
    other = f"/api/v1/vulns/findings/{api['1002']}"
    moved = db_client.post(
        f"{other}/state",
        json={"state": "false_positive", "reason": "禁用"},
        headers=api["engineer"],
    )
    assert moved.status_code == 200
    refused = db_client.post(f"{other}/request", json={}, headers=api["engineer"])
    assert refused.status_code == 409


def test_an_upgrade_record_of_its_asset_is_linked_as_the_fix(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    with db_app.app_context():
        mine = ConfigUpgrade(asset_id=api["core"], from_version="1.0", to_version="1.1")
        other = ConfigUpgrade(asset_id=api["web"], from_version="2.0", to_version="2.1")
        db.session().add_all([mine, other])
        db.session().commit()
        ids = {"mine": mine.id, "other": other.id}
    url = f"/api/v1/vulns/findings/{api['1001']}/upgrade"
    assert (
        db_client.post(url, json={"upgrade_id": ids["mine"]}, headers=api["viewer"]).status_code
        == 403
    )
    wrong = db_client.post(url, json={"upgrade_id": ids["other"]}, headers=api["engineer"])
    assert wrong.status_code == 422 and "upgrade_id" in wrong.get_json()["fields"]
    assert _finding(db_app, api["1001"]).upgrade_id is None
    linked = db_client.post(url, json={"upgrade_id": ids["mine"]}, headers=api["engineer"])
    assert linked.status_code == 200, linked.get_json()
    assert (linked.get_json()["upgrade_id"], linked.get_json()["state"]) == (
        ids["mine"],
        "in_progress",
    )
    unlinked = db_client.post(url, json={"upgrade_id": None}, headers=api["engineer"])
    assert unlinked.status_code == 200 and unlinked.get_json()["upgrade_id"] is None
