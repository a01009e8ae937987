"""Importing a scanner file through the JSON API on SQLite and PostgreSQL, as the upload page:
an nmap XML file as the body makes one scan (its hosts matched to the registry, its services,
the token's user as the importer); the same file again is that scan, nothing written twice; a
dry run writes nothing; a bad file (truncated, empty, of another scanner, sent as a form, too
large) is a 4xx naming what was wrong, nothing written; supervisors and viewers get 403."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from inspections.vulns.models import VulnScan, VulnScanHost, VulnService
from opskit import auth, clock, db
from opskit.models import User
from tests import factories

pytestmark = pytest.mark.xdist_group("vulns_api")

URL = "/api/v1/vulns/scans"
XML = {"Content-Type": "application/xml"}


def _nmap(hosts: dict[str, list[tuple[int, str]]], minutes_ago: int = 60) -> bytes:
    """nmap -sV -oX of ``hosts`` (address → open ports and their service), started
    ``minutes_ago`` (the clock's now, never a fixed day)."""
    start = int((clock.now() - timedelta(minutes=minutes_ago)).timestamp())
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<nmaprun scanner="nmap" start="{start}" version="7.93" xmloutputversion="1.05">',
    ]
    for ip, ports in hosts.items():
        parts.append(f'<host><status state="up"/><address addr="{ip}" addrtype="ipv4"/><ports>')
        parts += [
            f'<port protocol="tcp" portid="{port}"><state state="open"/>'
            f'<service name="{name}" product="{name.upper()}d"/></port>'
            for port, name in ports
        ]
        parts.append("</ports></host>")
    parts.append(f'<runstats><finished time="{start + 30}"/></runstats></nmaprun>')
    return "\n".join(parts).encode()


@pytest.fixture
def api(db_app: Flask) -> dict[str, Any]:
    with db_app.test_request_context("/"):
        sess = db.session()
        core = factories.asset("SRV-001", name="db01", importance="core", mgmt_ip="10.0.0.1")
        ids: dict[str, Any] = {"core": core.id}
        for name in ("admin", "engineer", "supervisor", "viewer"):
            user = sess.scalars(select(User).where(User.username == name)).one()
            ids[f"{name}_id"] = user.id
            ids[name] = {"Authorization": f"Bearer {auth.create_token(user, 'script')}"}
        sess.commit()
    return ids


def _written(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        sess = db.session()
        return tuple(  # type: ignore[return-value]
            sess.scalar(select(func.count()).select_from(model)) or 0
            for model in (VulnScan, VulnScanHost, VulnService)
        )


def test_an_nmap_file_is_one_scan_however_often_it_is_sent(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    scan = _nmap({"10.0.0.1": [(22, "ssh"), (5432, "postgresql")], "10.0.0.50": [(80, "http")]})
    response = db_client.post(
        URL,
        data=scan,
        query_string={"file_name": "lan-0601.xml"},
        headers={**api["engineer"], **XML},
    )
    assert response.status_code == 200, response.get_json()
    summary = response.get_json()
    assert (summary["scanner"], summary["hosts"], summary["hosts_matched"]) == ("nmap", 2, 1)
    assert summary["unmatched_hosts"] == [{"ip": "10.0.0.50", "hostname": "", "mac": ""}]
    assert (summary["services"], summary["already_imported"], summary["dry_run"]) == (
        3,
        False,
        False,
    )
    scan_id = summary["scan_id"]
    assert _written(db_app) == (1, 2, 3)
    with db_app.app_context():
        row = db.session().get_one(VulnScan, scan_id)
        assert (row.scanner, row.file_name, row.imported_by_id) == (
            "nmap",
            "lan-0601.xml",
            api["engineer_id"],
        )
    listed = db_client.get(URL, headers=api["viewer"]).get_json()
    assert [(s["id"], s["hosts_matched"]) for s in listed["items"]] == [(scan_id, 1)]

    # the same file again, as curl --data-binary sends it (a form's content type): that scan
    again = db_client.post(
        URL,
        data=scan,
        headers={**api["admin"], "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert again.status_code == 200, again.get_json()
    assert (again.get_json()["already_imported"], again.get_json()["scan_id"]) == (True, scan_id)
    assert _written(db_app) == (1, 2, 3)

    # a dry run of another file: what it would do, nothing written
    other = _nmap({"10.0.0.1": [(22, "ssh")]}, minutes_ago=10)
    dry = db_client.post(
        URL, data=other, query_string={"dry_run": "true"}, headers={**api["engineer"], **XML}
    )
    assert dry.status_code == 200
    assert (dry.get_json()["dry_run"], dry.get_json()["scan_id"], dry.get_json()["hosts"]) == (
        True,
        None,
        1,
    )
    assert _written(db_app) == (1, 2, 3)


def test_a_bad_file_is_named_and_writes_nothing(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    scan = _nmap({"10.0.0.1": [(22, "ssh")]})
    engineer = {**api["engineer"], **XML}
    for data, query, field, words in (
        (scan[: len(scan) // 2], {}, "file", "ends before its XML does"),
        (b"", {}, "file", "empty"),
        (scan, {"scanner": "nessus"}, "file", "<nmaprun>"),
        (b"<report><x/></report>", {}, "file", "<report>"),
        (scan, {"scanner": "qualys"}, "scanner", ""),
        (scan, {"dry_run": "maybe"}, "dry_run", ""),
        (scan, {"colour": "red"}, "colour", ""),
    ):
        refused = db_client.post(URL, data=data, query_string=query, headers=engineer)
        assert refused.status_code == 422, (query, refused.get_json())
        messages = refused.get_json()["fields"][field]
        assert words in " ".join(messages), (query, messages)
    form = db_client.post(
        URL, data={"file": (io.BytesIO(scan), "scan.xml")}, headers=api["engineer"]
    )
    assert form.status_code == 422 and "file" in form.get_json()["fields"]
    db_app.config["MAX_CONTENT_LENGTH"] = len(scan) - 1
    too_large = db_client.post(URL, data=scan, headers=engineer)
    assert too_large.status_code == 413 and too_large.is_json
    db_app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    for who in ("supervisor", "viewer"):
        refused = db_client.post(URL, data=scan, headers={**api[who], **XML})
        assert refused.status_code == 403, who
    assert _written(db_app) == (0, 0, 0)
    assert db_client.post(URL, data=scan, headers=engineer).status_code == 200
