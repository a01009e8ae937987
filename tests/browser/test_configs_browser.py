"""A configuration version's diff in real Chromium (zh-CN): side by side on an iPad held upright
(768 px wide), collapsing to the unified rows on a phone (390 px); long lines wrap inside the
screen instead of scrolling it sideways; every tappable thing on the page 44 px."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from playwright.sync_api import expect

from monitors.configs.models import ConfigDevice
from opskit import db
from tests import factories
from tests.browser.conftest import new_context, screenshot
from tests.browser.test_tablet_browser import MEASURE_JS, MIN_TAP
from tests.configs import stored

pytestmark = pytest.mark.browser

LONG = " description " + "上联到核心交换机-万兆端口-" * 8
OLD = "\n".join(["hostname CORE-SW1", "interface Ten1/0/1", LONG, "!", "ntp server 10.1.1.1"])
NEW = OLD.replace("ntp server 10.1.1.1", "ntp server 10.1.1.2\nlogging host 10.1.1.9")


def _seed(app: Flask) -> str:
    with app.app_context():
        asset = factories.asset("SW-CORE-01", kind="switch", mgmt_ip="10.0.0.1")
        db.session().add(ConfigDevice(asset_id=asset.id, platform="cisco_ios", username="b"))
        stored.version(asset.id, 1, datetime(2026, 3, 1, 1, 0, tzinfo=UTC), OLD)
        second = stored.version(asset.id, 2, datetime(2026, 3, 5, 2, 30, tzinfo=UTC), NEW)
        db.session().commit()
        return f"/configs/{asset.id}/versions/{second.id}"


@pytest.mark.parametrize(
    ("device", "split"), [("iPad Mini", True), ("iPhone 13", False)], ids=["ipad", "phone"]
)
def test_the_diff_fits_a_tablet_and_a_phone(
    app: Flask, live_server: str, playwright_session, browser, device: str, split: bool
) -> None:
    path = _seed(app)
    context, guard = new_context(playwright_session, browser, device)
    page = context.new_page()
    try:
        page.goto(f"{live_server}/login?next={path}")
        page.fill("#username", "viewer")
        page.fill("#password", "viewer-password-1")
        page.tap("#login-submit")
        expect(page.locator("h1")).to_contain_text("SW-CORE-01")
        page.wait_for_load_state("load")
        shown = page.locator("#version-split") if split else page.locator("#version-unified")
        hidden = page.locator("#version-unified") if split else page.locator("#version-split")
        expect(shown).to_be_visible()
        expect(hidden).to_be_hidden()
        rows = shown.locator("tr[data-kind]")
        if split:
            expect(shown.locator('tr[data-kind="changed"] td.right')).to_have_text(
                "ntp server 10.1.1.2"
            )
        else:
            expect(shown.locator('tr[data-kind="removed"]')).to_contain_text("ntp server 10.1.1.1")
        expect(rows.filter(has_text="logging host 10.1.1.9")).to_have_count(1)
        # the long description wraps: nothing wider than the screen
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], width
        assert page.evaluate(MEASURE_JS, MIN_TAP) == []
        expect(page.locator("main, body").first).to_contain_text("显示为 <masked>")
        screenshot(page, f"config-diff-{'ipad' if split else 'phone'}")
        # the unified view, chosen, on either screen
        page.tap('#version-views a[data-view="unified"]')
        expect(page.locator("#version-unified")).to_be_visible()
        expect(page.locator("#version-split")).to_have_count(0)
        assert guard.external == []
    finally:
        context.close()
