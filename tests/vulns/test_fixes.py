"""A finding's fix (inspections/vulns/fixes.py): the service request opened for it once, linked
both ways, its urgency from severity × importance, and an upgrade record of the asset linked as
the fix — the service on SQLite and PostgreSQL, the finding's and the request's pages once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from inspections.vulns import fixes, services, tracking
from inspections.vulns.models import VulnFinding
from monitors.configs.upgrades.models import ConfigUpgrade
from opskit import clock, db
from opskit.models import User
from opskit.servicedesk import services as desk
from opskit.servicedesk.models import ServiceRequest
from tests import factories
from tests.conftest import login, post_form
from tests.vulns.scans import Item, ScanHost, nessus

# the scan carries fixed instants and the clock is frozen on them
pytestmark = [pytest.mark.dateless, pytest.mark.xdist_group("vulns_fixes")]

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=2)


def _seed(app: Flask, folder: Path) -> dict[str, int]:
    """A core server with a critical and a medium finding, a general one with a high finding,
    and an upgrade record on each server."""
    with app.app_context(), clock.frozen(NOW):
        core = factories.asset("SRV-001", name="db01", importance="core", mgmt_ip="10.0.0.1")
        web = factories.asset("SRV-002", name="web02", importance="general", mgmt_ip="10.0.0.2")
        upgrades = {
            name: ConfigUpgrade(asset_id=asset.id, from_version="1.0", to_version=to)
            for name, asset, to in (("core", core, "1.1"), ("web", web, "2.0"))
        }
        db.session().add_all(upgrades.values())
        db.session().execute(update(User).values(locale="en"))
        path = nessus(
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
                ScanHost("10.0.0.2", items=[Item("1003", 80, 3, name="Old Apache")]),
            ],
        )
        services.import_file(path)
        db.session().commit()
        ids = dict(db.session().execute(select(VulnFinding.plugin_id, VulnFinding.id)).all())
        return {
            "critical": ids["1001"],
            "medium": ids["1002"],
            "high": ids["1003"],
            "upgrade_core": upgrades["core"].id,
            "upgrade_web": upgrades["web"].id,
        }


def _requests(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(ServiceRequest)) or 0


def test_the_urgency_of_a_fix_request_is_data() -> None:
    rules = tracking.rules()
    assert rules.request_urgency("critical", "core") == "A"
    assert rules.request_urgency("high", "general") == "C"
    assert rules.request_urgency("medium", "core") == "B"
    assert rules.request_urgency("low", "core") == "C"  # a pair not named
    assert rules.request_urgency("critical", None) == "B"  # a host no one registered
    with pytest.raises(ValueError, match=r"request_urgency\.high\.core: 'Z' is not allowed"):
        tracking.parse_rules({"request_urgency": {"high": {"core": "Z"}}})


def test_a_fix_request_is_opened_once_and_linked_both_ways(db_app: Flask, tmp_path: Path) -> None:
    ids = _seed(db_app, tmp_path)
    with db_app.app_context(), clock.frozen(NOW):
        finding = db.session().get(VulnFinding, ids["critical"])
        assert finding is not None and finding.state == "open"
        req, created = fixes.open_fix_request(finding, client_id="form-0001")
        db.session().commit()
        assert created
        assert (req.urgency, req.vuln_finding_id, req.asset_id) == (
            "A",
            finding.id,
            finding.asset_id,
        )
        assert req.title == "SRV-001 OpenSSL heap overflow（严重）"  # the site's language
        assert "CVE-2024-3094" in req.description and "10.0.0.1" in req.description
        db.session().refresh(finding)
        assert (finding.request_id, finding.state) == (req.id, "in_progress")
        # the same form again, and a second form: the request it already has
        again, created = fixes.open_fix_request(finding, client_id="form-0001")
        other, created_other = fixes.open_fix_request(finding, client_id="form-0002")
        db.session().commit()
        assert (again.id, other.id, created, created_other) == (req.id, req.id, False, False)
        # resolved while the finding still needs work: the next ask opens the next request
        desk.resolve(req, cause="OpenSSL 3.0.13")
        db.session().commit()
        assert fixes.open_fix_request(finding, client_id="form-0001")[0].id == req.id  # a retry
        later, created = fixes.open_fix_request(finding, client_id="form-0003")
        db.session().commit()
        assert created and later.id != req.id and finding.request_id == later.id

        # a medium one on the core server: urgency B
        medium = db.session().get(VulnFinding, ids["medium"])
        assert medium is not None
        assert fixes.open_fix_request(medium)[0].urgency == "B"
        # a false positive gets none
        high = db.session().get(VulnFinding, ids["high"])
        assert high is not None
        services.set_state(high, "false_positive", reason="a reverse proxy answers")
        with pytest.raises(fixes.FixRefused):
            fixes.open_fix_request(high)
        db.session().commit()
    assert _requests(db_app) == 3


def test_an_upgrade_record_of_the_asset_is_linked_as_the_fix(db_app: Flask, tmp_path: Path) -> None:
    ids = _seed(db_app, tmp_path)
    with db_app.app_context(), clock.frozen(NOW):
        finding = db.session().get(VulnFinding, ids["critical"])
        assert finding is not None
        assert [u.id for u in fixes.upgrade_choices(finding)] == [ids["upgrade_core"]]
        with pytest.raises(fixes.FixRefused, match="请选择本资产的一条升级记录"):
            fixes.link_upgrade(finding, ids["upgrade_web"])  # another asset's
        db.session().rollback()
        fixes.link_upgrade(finding, ids["upgrade_core"])
        db.session().commit()
        db.session().refresh(finding)
        assert (finding.upgrade_id, finding.state) == (ids["upgrade_core"], "in_progress")
        assert fixes.current_upgrade(finding).to_version == "1.1"
        fixes.link_upgrade(finding, None)
        db.session().commit()
        db.session().refresh(finding)
        assert finding.upgrade_id is None

    # the command does the same
    runner = db_app.test_cli_runner()
    with clock.frozen(NOW):
        args = ["vulns", "fix", str(ids["high"]), "--upgrade", str(ids["upgrade_web"])]
        linked = runner.invoke(args=[*args, "--request"])
        assert linked.exit_code == 0, linked.output
        assert "upgrade record" in linked.output and "opened SR-2026-" in linked.output
        again = runner.invoke(args=["vulns", "fix", str(ids["high"]), "--request"])
        assert again.exit_code == 0 and "has SR-2026-" in again.output
        wrong = runner.invoke(args=["vulns", "fix", str(ids["high"]), "--upgrade", "999"])
        assert wrong.exit_code == 2 and "请选择本资产的一条升级记录" in wrong.output
    with db_app.app_context():
        high = db.session().get(VulnFinding, ids["high"])
        assert high is not None and high.upgrade_id == ids["upgrade_web"]
        assert high.request_id is not None and _requests(db_app) == 1


def test_the_pages_open_the_request_link_an_upgrade_and_show_both_ways(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    ids = _seed(app, tmp_path)
    url = f"/vulns/findings/{ids['critical']}"
    with clock.frozen(NOW):
        login(client, "viewer")
        page = client.get(url).get_data(as_text=True)
        assert 'id="finding-fix"' in page and 'id="fix-request-form"' not in page
        assert post_form(client, f"{url}/request", {"client_id": "viewer-001"}).status_code == 403
        post_form(client, "/logout")
        login(client, "engineer")
        page = client.get(url).get_data(as_text=True)
        client_id = re.search(r'name="client_id" value="([^"]+)"', page)
        assert client_id is not None
        # no CSRF token: refused, nothing opened
        assert (
            client.post(f"{url}/request", data={"client_id": client_id.group(1)}).status_code == 400
        )
        assert _requests(app) == 0
        first = post_form(client, f"{url}/request", {"client_id": client_id.group(1)})
        retried = post_form(client, f"{url}/request", {"client_id": client_id.group(1)})
        assert first.status_code == retried.status_code == 302
        assert _requests(app) == 1
        page = client.get(url).get_data(as_text=True)
        assert "already has service request SR-2026-0001" in page  # the retry's message
        shown = re.search(
            r'data-field="fix-request"><a href="(/requests/\d+)">SR-2026-0001</a>', page
        )
        assert shown is not None, page
        assert "New" in page and 'id="fix-request-form"' not in page
        # the request's page names the finding it came from, linking back
        request_page = client.get(shown.group(1)).get_data(as_text=True)
        assert "From the vulnerability finding" in request_page
        assert f'href="{url}"' in request_page

        # an upgrade record: another asset's is refused on the page, the asset's own is linked
        refused = post_form(client, f"{url}/upgrade", {"upgrade_id": str(ids["upgrade_web"])})
        assert refused.status_code == 400
        assert "Choose one of this asset&#39;s upgrade records." in refused.get_data(as_text=True)
        linked = post_form(client, f"{url}/upgrade", {"upgrade_id": str(ids["upgrade_core"])})
        assert linked.status_code == 302
        page = client.get(url).get_data(as_text=True)
        assert re.search(
            rf'data-field="fix-upgrade"><a href="/configs/upgrades/{ids["upgrade_core"]}">'
            rf"#{ids['upgrade_core']}</a> 1.0 → 1.1",
            page,
        )
        assert "Fixing" in page

        # in Chinese
        with app.app_context():
            db.session().execute(update(User).values(locale="zh_CN"))
            db.session().commit()
        page = client.get(url).get_data(as_text=True)
        assert "服务请求" in page and "升级记录" in page
