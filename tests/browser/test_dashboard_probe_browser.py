"""Probe and add from an asset page on an iPad, against the real snmpsim agent: the probe
result swaps in without a reload, a failed probe keeps the form, "Add" lands back on the asset
page with the new SNMP monitor."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from monitors.models import Monitor
from opskit import db
from tests import factories
from tests.monitors.conftest import Agent, snmp_agent  # noqa: F401  (the session agent)

pytestmark = pytest.mark.browser


def test_probe_and_add_on_an_ipad(app, live_server: str, ipad, snmp_agent: Agent) -> None:  # noqa: F811
    with app.app_context():
        asset = factories.asset("UPS-B1", kind="ups", name="二号UPS", mgmt_ip="127.0.0.1")
        db.session().commit()
        asset_id = asset.id
    page, guard = ipad
    page.goto(f"{live_server}/login?next=/assets/{asset_id}")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")
    expect(page.locator("#asset-no-monitor")).to_be_visible()  # the panel arrived by htmx
    expect(page.locator("#probe-host")).to_have_value("127.0.0.1")
    page.evaluate("window.__notReloaded = 'yes'")

    page.fill("#probe-port", "1")  # nobody answers there
    page.fill("#probe-community", "ups_rfc1628")
    page.tap("#probe-submit")
    expect(page.locator("#probe-problem")).to_contain_text(
        "探测失败", timeout=15000
    )  # 2 s x 2 tries
    expect(page.locator("#probe-port")).to_have_value("1")
    expect(page.locator("#probe-community")).to_have_value("")  # kept sealed, not shown

    page.fill("#probe-port", str(snmp_agent.port))
    page.tap("#probe-submit")  # the sealed community is used again
    expect(page.locator('#probe-result [data-field="sys_name"]')).to_have_text("ups-a1")
    expect(page.locator("#probe-result [data-field=profiles]")).to_contain_text("ups_mib")
    assert page.evaluate("window.__notReloaded") == "yes"

    page.tap("#probe-add")
    expect(page.locator(".alert-success")).to_contain_text("已添加 SNMP 监控")
    expect(page.locator("#asset-monitors")).to_contain_text(f"SNMP 127.0.0.1:{snmp_agent.port}")
    with app.app_context():
        monitors = list(db.session().scalars(select(Monitor).where(Monitor.asset_id == asset_id)))
    assert [m.kind for m in monitors] == ["snmp"]
    assert guard.external == []
