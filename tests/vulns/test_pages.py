"""The vulnerability scan pages (inspections/vulns/views.py) on SQLite and PostgreSQL: the
upload (summary in words, the hosts to register, the same file twice, a dry run, a bad file
writing nothing, the size bound), the findings list's filters, a finding's page and its state
form (roles, CSRF, a refused form keeping what was typed), the scan page's inventory against
the registry, and the asset page's 安全 section."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from inspections.vulns.models import VulnFinding, VulnScan
from monitors.models import Monitor
from opskit import clock, db
from opskit.models import AuditLog, User
from tests import factories
from tests.conftest import login, post_form
from tests.vulns.scans import Item, ScanHost, nessus

# the scans carry fixed instants and the clock is frozen on them
pytestmark = pytest.mark.dateless

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 on site, 2 March
NOW = T0 + timedelta(hours=2)
NMAP = """<?xml version="1.0"?>
<nmaprun scanner="nmap" start="1772503200" version="7.93" xmloutputversion="1.05">
<host><status state="up"/><address addr="10.0.0.1" addrtype="ipv4"/>
<hostnames><hostname name="db01.example.com" type="PTR"/></hostnames><ports>
<port protocol="tcp" portid="22"><state state="open"/>
<service name="ssh" product="OpenSSH" version="9.2p1"/></port>
<port protocol="tcp" portid="3306"><state state="open"/>
<service name="mysql" product="MariaDB"/></port>
</ports></host>
<host><status state="up"/><address addr="10.0.0.50" addrtype="ipv4"/>
<hostnames><hostname name="cam07.example.com" type="PTR"/></hostnames><ports>
<port protocol="tcp" portid="80"><state state="open"/><service name="http"/></port>
</ports></host>
<runstats><finished time="1772503300"/></runstats>
</nmaprun>
"""


@pytest.fixture
def app(db_app: Flask) -> Flask:
    """The pages on every database under test (their list queries order and count in SQL)."""
    return db_app


@pytest.fixture
def site(app: Flask, tmp_path: Path) -> dict[str, int]:
    """A core database server (a TCP check on 22), a general web server, English pages."""
    with app.app_context():
        core = factories.asset("SRV-001", name="db01", importance="core", mgmt_ip="10.0.0.1")
        web = factories.asset("SRV-002", name="web02", importance="general")
        bare = factories.asset("UPS-001", kind="ups", name="ups01")
        db.session().add(
            Monitor(asset_id=core.id, kind="tcp", settings={"host": "10.0.0.1", "port": 22})
        )
        db.session().execute(update(User).values(locale="en"))
        db.session().commit()
        return {"core": core.id, "web": web.id, "bare": bare.id}


def _scan_file(folder: Path) -> Path:
    return nessus(
        folder / "march.nessus",
        T0,
        [
            ScanHost(
                "10.0.0.1",
                items=[
                    Item("1001", 443, 4, name="OpenSSL heap overflow", cves=("CVE-2024-3094",)),
                    Item("1002", 22, 2, name="Weak SSH ciphers"),
                ],
            ),
            ScanHost("10.0.0.2", fqdn="web02.example.com", items=[Item("1003", 80, 3)]),
            ScanHost(
                "10.0.0.9",
                fqdn="printer9.example.com",
                items=[Item("1004", 161, 1, protocol="udp")],
            ),
        ],
    )


def _upload(client: FlaskClient, path: Path, **form: str):
    data = {"scanner": "auto", **form, "file": (io.BytesIO(path.read_bytes()), path.name)}
    return post_form(client, "/vulns/import", data, content_type="multipart/form-data")


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def _finding_id(app: Flask, plugin: str) -> int:
    with app.app_context():
        found = db.session().scalar(select(VulnFinding.id).where(VulnFinding.plugin_id == plugin))
        assert found is not None
        return found


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_upload_says_what_it_did_lists_hosts_to_register_and_knows_the_file_again(
    app: Flask, client: FlaskClient, site: dict[str, int], tmp_path: Path
) -> None:
    path = _scan_file(tmp_path)
    login(client, "engineer")
    with clock.frozen(NOW):
        dry = _upload(client, path, dry_run="1")
        assert dry.status_code == 200
        assert "nothing was written" in _text(dry)
        assert _count(app, VulnScan) == 0 and _count(app, VulnFinding) == 0

        page = _text(_upload(client, path))
    assert "Imported march.nessus (Nessus)." in page
    assert "3 host(s) scanned: 2 registered, 1 not registered." in page
    assert "Findings: 4 new, 0 seen again, 0 fixed (not found again), 0 opened again." in page
    assert "1 alert(s) raised" in page  # the critical one on the core server
    # the host no one registered, with a link to register it, prefilled
    rows = re.findall(r'<tr data-host="([^"]+)">', page)
    assert rows == ["10.0.0.9"]
    link = re.search(r'href="(/assets/new\?[^"]+)" data-register="10.0.0.9"', page)
    assert link is not None
    form = _text(client.get(link.group(1).replace("&amp;", "&")))
    assert re.search(r'name="name"[^>]*value="printer9"', form)
    assert re.search(r'name="mgmt_ip"[^>]*value="10.0.0.9"', form)
    assert _count(app, VulnScan) == 1 and _count(app, VulnFinding) == 4

    with clock.frozen(NOW):
        again = _text(_upload(client, path))
    assert "march.nessus was imported before: nothing new was written." in again
    assert _count(app, VulnScan) == 1 and _count(app, VulnFinding) == 4


def test_a_bad_file_is_refused_naming_where_and_keeps_nothing(
    app: Flask, client: FlaskClient, site: dict[str, int], tmp_path: Path
) -> None:
    good = _scan_file(tmp_path)
    cut = tmp_path / "cut.nessus"
    cut.write_text(good.read_text(encoding="utf-8")[:900], encoding="utf-8")
    login(client, "engineer")
    with clock.frozen(NOW):
        response = _upload(client, cut, scanner="nessus", dry_run="")
        assert response.status_code == 422
        page = _text(response)
        assert "Nothing was imported: cut.nessus was refused." in page
        reason = re.search(r'id="vulns-refused-reason">([^<]+)<', page)
        assert reason is not None and "(line " in reason.group(1), page
        assert 'name="scanner" id="vulns-scanner"' in page
        assert re.search(r'<option value="nessus" selected>', page)  # the choice is kept
        # the scanner named does not match the file: refused, saying what the file is
        wrong = _upload(client, good, scanner="nmap")
        assert wrong.status_code == 422
        assert "&lt;NessusClientData_v2&gt;" in _text(wrong)
        # no file chosen
        empty = post_form(client, "/vulns/import", {"scanner": "auto"})
        assert empty.status_code == 400
        assert 'data-field="file"' in _text(empty)
    assert _count(app, VulnScan) == 0 and _count(app, VulnFinding) == 0

    app.config["MAX_CONTENT_LENGTH"] = 2048  # the app's bound on any upload
    big = tmp_path / "big.csv"
    big.write_bytes(b"x" * 4096)
    assert _upload(client, big).status_code == 413
    assert _count(app, VulnScan) == 0


@pytest.fixture
def imported(app: Flask, site: dict[str, int], tmp_path: Path) -> dict[str, int]:
    from inspections.vulns import services

    with app.app_context(), clock.frozen(NOW):
        services.import_file(_scan_file(tmp_path))
        db.session().commit()
    return site


def test_findings_list_by_severity_and_age_with_filters(
    app: Flask, client: FlaskClient, imported: dict[str, int]
) -> None:
    login(client, "viewer")
    with clock.frozen(NOW + timedelta(days=20)):  # the critical one on core (7 days) is overdue
        page = _text(client.get("/vulns/"))
        ids = re.findall(r'<tr data-finding="(\d+)"', page)
        plugins = {_finding_id(app, p): p for p in ("1001", "1002", "1003", "1004")}
        assert [plugins[int(i)] for i in ids] == ["1001", "1003", "1002", "1004"]  # by severity
        assert "OpenSSL heap overflow" in page and "SRV-001" in page
        assert "printer9.example.com" in page and "not registered" in page
        overdue = _text(client.get("/vulns/?overdue=1"))
        assert [plugins[int(i)] for i in re.findall(r'data-finding="(\d+)"', overdue)] == ["1001"]
        assert 'class="badge text-bg-danger">overdue<' in overdue
        core = _text(client.get("/vulns/?importance=core&sort=age"))
        assert sorted(plugins[int(i)] for i in re.findall(r'data-finding="(\d+)"', core)) == [
            "1001",
            "1002",
        ]
        unregistered = _text(client.get("/vulns/?importance=unregistered"))
        assert [plugins[int(i)] for i in re.findall(r'data-finding="(\d+)"', unregistered)] == [
            "1004"
        ]
        high = _text(client.get("/vulns/?severity=high"))
        assert [plugins[int(i)] for i in re.findall(r'data-finding="(\d+)"', high)] == ["1003"]
        assert _text(client.get("/vulns/?state=fixed")).count("data-finding=") == 0
        with app.app_context():
            db.session().execute(update(User).values(locale="zh_CN"))
            db.session().commit()
        zh = _text(client.get("/vulns/"))
    assert "严重" in zh and "待处理" in zh and "漏洞" in zh
    assert 'data-state="open">待处理<' in zh


def test_a_finding_page_and_its_state_changes_by_role(
    app: Flask, client: FlaskClient, imported: dict[str, int]
) -> None:
    critical = _finding_id(app, "1001")
    url = f"/vulns/findings/{critical}"
    with clock.frozen(NOW + timedelta(days=1)):
        login(client, "viewer")
        page = _text(client.get(url))
        assert "CVE-2024-3094" in page and "Patch 1001." in page
        assert 'data-field="due">2026-03-09' in page  # critical on core: 7 days
        assert 'id="finding-state-form"' not in page  # a viewer reads only
        assert post_form(client, f"{url}/state", {"state": "in_progress"}).status_code == 403
        post_form(client, "/logout")

        login(client, "engineer")
        page = _text(client.get(url))
        assert '<option value="accepted"' not in page  # not the engineer's to accept
        assert client.post(f"{url}/state", data={"state": "in_progress"}).status_code == 400
        refused = post_form(
            client, f"{url}/state", {"state": "accepted", "reason": "分区隔离，下季度升级"}
        )
        assert refused.status_code == 400
        assert "Only a supervisor or an admin may accept a risk." in _text(refused)
        assert "分区隔离，下季度升级</textarea>" in _text(refused)  # what was typed is kept
        missing = post_form(client, f"{url}/state", {"state": "false_positive"})
        assert missing.status_code == 400 and 'data-field="reason"' in _text(missing)
        done = post_form(client, f"{url}/state", {"state": "in_progress"})
        assert done.status_code == 302
        post_form(client, "/logout")

        login(client, "supervisor")
        typed = {"state": "accepted", "reason": "分区隔离", "approver": "", "accepted_until": ""}
        refused = post_form(client, f"{url}/state", typed)
        page = _text(refused)
        assert refused.status_code == 400
        assert 'data-field="approver"' in page and 'data-field="accepted_until"' in page
        assert "分区隔离</textarea>" in page
        typed |= {"approver": "王主任", "accepted_until": "2026-06-30"}
        assert post_form(client, f"{url}/state", typed).status_code == 302
        page = _text(client.get(url))
    with app.app_context():
        row = db.session().get(VulnFinding, critical)
        assert row is not None
        assert (row.state, row.state_reason, row.approver) == ("accepted", "分区隔离", "王主任")
        assert row.accepted_until == date(2026, 6, 30)
        audited = db.session().scalars(
            select(AuditLog.actor).where(
                AuditLog.object_type == "vuln_finding", AuditLog.object_id == str(critical)
            )
        )
        assert {"engineer", "supervisor"} <= set(audited)
    assert 'data-field="approver">王主任<' in page
    assert "Pending fix → Fixing" in page and "Fixing → Risk accepted" in page


def test_scan_pages_and_the_inventory_against_the_registry(
    app: Flask, client: FlaskClient, imported: dict[str, int], tmp_path: Path
) -> None:
    path = tmp_path / "inventory.xml"
    path.write_text(NMAP, encoding="utf-8")
    login(client, "engineer")
    with clock.frozen(NOW):
        assert _upload(client, path).status_code == 200
    with app.app_context():
        scans = {s.scanner: s.id for s in db.session().scalars(select(VulnScan))}
    listing = _text(client.get("/vulns/scans"))
    assert re.findall(r'<tr data-scan="(\d+)"', listing) == [
        str(scans["nmap"]),
        str(scans["nessus"]),
    ]  # the nmap scan ran a day later: the latest first
    assert re.search(
        rf'data-scan="{scans["nessus"]}">.*?data-field="hosts">3 \(2\)<.*?data-field="new">4<',
        listing,
        re.S,
    )
    page = _text(client.get(f"/vulns/scans/{scans['nmap']}"))
    unregistered = page[
        page.index('id="inventory-unregistered"') : page.index('id="inventory-unwatched"')
    ]
    assert re.findall(r'<tr data-host="([^"]+)">', unregistered) == ["10.0.0.50"]
    assert (
        '80/tcp <span class="scanner-text">http</span>' in unregistered
        and 'data-register="10.0.0.50"' in unregistered
    )
    unwatched = page[page.index('id="inventory-unwatched"') :]
    # 22 is checked by the server's TCP monitor; 3306 is open and nobody registered it
    assert re.findall(r'data-service="([^"]+)"', unwatched) == ["10.0.0.1:3306/tcp"]
    assert 'data-count="unwatched">1<' in page


def test_the_asset_page_has_a_security_section(
    app: Flask, client: FlaskClient, imported: dict[str, int]
) -> None:
    login(client, "viewer")
    core = imported["core"]
    assert f"/vulns/panel/{core}" in _text(client.get(f"/assets/{core}"))
    with clock.frozen(NOW):
        panel = _text(client.get(f"/vulns/panel/{core}"))
    assert '<h2 class="h5 mb-0">Security</h2>' in panel
    counts = dict(re.findall(r'data-count="(\w+)">.*?</span> (\d+)</a>', panel))
    assert counts == {"critical": "1", "high": "0", "medium": "1", "low": "0", "info": "0"}
    assert re.findall(r'data-finding="(\d+)"', panel) == [
        str(_finding_id(app, "1001")),
        str(_finding_id(app, "1002")),
    ]
    assert _text(client.get(f"/vulns/panel/{imported['bare']}")) == ""  # never scanned
    mine = _text(client.get(f"/vulns/?asset={core}&state=all"))
    assert len(re.findall(r"<tr data-finding=", mine)) == 2


def test_the_menu_has_the_security_entry(client: FlaskClient, site: dict[str, int]) -> None:
    login(client, "viewer")
    page = _text(client.get("/"))
    assert re.search(r'href="/vulns/" data-nav="vulns">.*?>Security<', page, re.S)
