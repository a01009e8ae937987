"""The dashboard in real Chromium on an iPad (landscape, portrait), a phone and a 1920x1080 wall
screen (kiosk): every tile with the seeded values, a tile refreshed in place by htmx after a new
reading (no reload), no horizontal scrolling, nothing requested off the machine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from monitors.models import Reading
from opskit import db
from tests.browser.conftest import guarded_context, screenshot
from tests.dashboard.seed import seed, seed_two_sites

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "ipad-landscape": ("iPad Mini landscape", "/"),
    "ipad-portrait": ("iPad Mini", "/"),
    "phone": ("Pixel 7", "/"),
    "wall-1920": ({"viewport": {"width": 1920, "height": 1080}}, "/kiosk"),
}


def _ups_load(app, asset_id: int, percent: float) -> None:
    """A new UPS load reading arrives (as the poller would write it)."""
    with app.app_context():
        db.session().add(
            Reading(
                asset_id=asset_id,
                metric="ups.output.load_percent",
                instance="1",
                at=db.utcnow(),
                value=percent,
            )
        )
        db.session().commit()


@pytest.mark.parametrize("name", list(VIEWPORTS))
def test_dashboard_tiles_refresh_in_place(
    name: str, app, live_server: str, playwright_session, browser
) -> None:
    device, path = VIEWPORTS[name]
    if isinstance(device, str):
        settings = dict(playwright_session.devices[device])
        settings.pop("default_browser_type", None)
    else:
        settings = device
    app.config["DASHBOARD_REFRESH_S"] = 2
    with app.app_context():
        s = seed()
    context, guard = guarded_context(browser, settings)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login?next={path}")
        page.fill("#username", "viewer")
        page.fill("#password", "viewer-password-1")
        page.locator("#login-submit").click()

        alerts = page.locator("#tile-alerts")
        expect(alerts.locator('[data-urgency="A"] [data-count]')).to_have_text("1")
        expect(alerts.locator('[data-field="nearest-deadline"]')).to_contain_text("UPS-01 市电中断")
        ups = page.locator('#tile-ups [data-ups="UPS-01"]')
        expect(ups.locator('[data-field="source"]')).to_have_text("电池供电")
        expect(ups.locator('[data-field="load"]')).to_have_text("42%")
        expect(ups.locator('[data-field="charge"]')).to_have_text("87%")
        expect(ups.locator('[data-field="runtime"]')).to_have_text("23 分钟")
        room = page.locator('#tile-environment [data-room="A机房"]')
        expect(room.locator('[data-metric="env.temperature_c"][data-level="ok"]')).to_have_text(
            "24.5 °C"
        )
        expect(
            room.locator('.opskit-sparkline[data-metric="env.temperature_c"] svg')
        ).to_have_count(1)
        devices = page.locator("#tile-devices")
        expect(devices.locator('[data-state="down"] [data-count]')).to_have_text("1")
        expect(devices.locator('[data-field="down-list"]')).to_contain_text("SRV-02")
        expect(page.locator('#tile-storage [data-volume="SRV-01:/var"]')).to_contain_text("93.4%")
        expect(page.locator('#tile-warranty [data-asset="SRV-01"]')).to_contain_text("20 天")
        expect(page.locator("#tile-patrol [data-round-state]")).to_have_count(2)
        expect(page.locator("#tile-patrol [data-field=round-list]")).to_contain_text("每日机房巡检")
        expect(page.locator("#tile-logbook [data-entry]").first).to_contain_text("张三")
        if path == "/kiosk":
            expect(page.locator("#nav-sections")).to_have_count(0)
            assert page.evaluate("getComputedStyle(document.body).fontSize") == "20px"

        # new data arrives: the UPS tile changes in place, the page is not reloaded
        page.evaluate("window.__notReloaded = 'yes'")
        _ups_load(app, s.ups_id, 77)
        expect(ups.locator('[data-field="load"]')).to_have_text("77%", timeout=8000)
        assert page.evaluate("window.__notReloaded") == "yes"

        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"horizontal scrolling on {name}: {overflow}px"
        screenshot(page, f"dashboard-{name}")
        assert guard.external == []
        assert any("/tiles/ups" in url for url in guard.requests)
    finally:
        context.close()


@pytest.fixture
def two_sites(app, live_server: str, playwright_session, browser) -> Iterator[tuple]:
    """Two sites seeded, the engineer logged in on an iPad, tiles refreshed every 2 s:
    (page, guard, seeded)."""
    settings = dict(playwright_session.devices["iPad Mini landscape"])
    settings.pop("default_browser_type", None)
    app.config["DASHBOARD_REFRESH_S"] = 2
    with app.app_context():
        s = seed_two_sites()
    context, guard = guarded_context(browser, settings)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login?next=/")
        page.fill("#username", "engineer")
        page.fill("#password", "engineer-password-1")
        page.locator("#login-submit").click()
        yield page, guard, s
    finally:
        context.close()


def test_switching_site_on_the_ipad(app, live_server: str, two_sites) -> None:
    """Two sites: the engineer picks the site on the iPad, every tile changes to it, a tile
    refreshed in place stays on it, and the choice is still there on the next visit."""
    page, guard, s = two_sites
    select = page.locator("#site-select")
    expect(select).to_have_value("all")
    box = select.bounding_box()
    assert box and box["height"] >= 44, box  # a touch target
    ups = page.locator("#tile-ups")
    expect(ups.locator("[data-ups]")).to_have_count(2)
    expect(page.locator("#tile-devices [data-state=down] [data-count]")).to_have_text("2")

    select.select_option(str(s.site_b))
    page.wait_for_url(f"**/?site={s.site_b}")
    expect(select).to_have_value(str(s.site_b))
    expect(ups.locator("[data-ups]")).to_have_count(1)
    expect(ups.locator('[data-ups="UPS-B1"] [data-field="load"]')).to_have_text("15%")
    expect(page.locator("#tile-alerts")).to_contain_text("B机房 地板下漏水")
    expect(page.locator("#tile-alerts")).not_to_contain_text("UPS-01")
    expect(page.locator("#tile-patrol [data-round-state]")).to_have_count(1)
    room = page.locator('#tile-environment [data-room="B机房"]')
    temperature = room.locator('[data-metric="env.temperature_c"][data-level]')
    expect(temperature).to_have_text("21.0 °C")
    expect(page.locator("#tile-environment [data-room]")).to_have_count(1)
    devices = page.locator("#tile-devices")
    expect(devices.locator("[data-state=down] [data-count]")).to_have_text("1")
    expect(devices.locator('[data-field="down-list"]')).to_contain_text("SW-B1")
    expect(page.locator('#tile-storage [data-volume="SRV-B1:/data"]')).to_contain_text("97.2%")
    expect(page.locator("#tile-warranty [data-asset]")).to_have_count(1)
    expect(page.locator("#tile-logbook [data-entry]")).to_have_count(2)
    expect(page.locator("#tile-logbook")).to_contain_text("李四")

    # a refresh in place keeps the site: the new load shows, the other site's UPS does not
    page.evaluate("window.__notReloaded = 'yes'")
    _ups_load(app, s.ups_b, 33)
    expect(ups.locator('[data-ups="UPS-B1"] [data-field="load"]')).to_have_text("33%", timeout=8000)
    expect(ups.locator("[data-ups]")).to_have_count(1)
    assert page.evaluate("window.__notReloaded") == "yes"
    assert any(f"/tiles/ups?site={s.site_b}" in url for url in guard.requests)

    # the session remembers: the home page again, without a parameter
    page.goto(f"{live_server}/")
    expect(select).to_have_value(str(s.site_b))
    expect(ups.locator("[data-ups]")).to_have_count(1)

    select.select_option("all")
    page.wait_for_url("**/?site=all")
    expect(ups.locator("[data-ups]")).to_have_count(2)
    expect(page.locator("#tile-patrol [data-round-state]")).to_have_count(3)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"horizontal scrolling: {overflow}px"
    assert guard.external == []


def test_site_chosen_before_the_script_has_loaded(live_server: str, two_sites) -> None:
    """A quick finger on a slow tablet: the site is chosen while dashboard.js is still on its
    way (its change event fires with nobody listening); when the script arrives it shows the
    chosen site instead of losing the choice."""
    page, guard, s = two_sites
    expect(page.locator("#site-select")).to_have_value("all")

    held = []

    def hold(route) -> None:  # the first request waits for the test, later ones go on
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/static/js/dashboard.js*", hold)
    page.goto(f"{live_server}/?site=all", wait_until="commit")
    select = page.locator("#site-select")
    expect(select).to_have_value("all")
    page.wait_for_function("() => document.readyState === 'loading'")  # the script is held
    assert len(held) == 1, held
    select.select_option(str(s.site_b))
    assert page.url.endswith("/?site=all")  # nobody listened: still the old page
    held[0].continue_()
    page.wait_for_url(f"**/?site={s.site_b}")
    expect(page.locator("#site-select")).to_have_value(str(s.site_b))
    expect(page.locator("#tile-ups [data-ups]")).to_have_count(1)

    # and a page that loads without a new choice stays where it is
    page.goto(f"{live_server}/")
    expect(page.locator("#site-select")).to_have_attribute("data-state", "ready")
    expect(page.locator("#site-select")).to_have_value(str(s.site_b))
    assert page.url == f"{live_server}/"
    assert guard.external == []


def test_back_after_choosing_a_site_shows_that_pages_site(live_server: str, two_sites) -> None:
    """Back from the chosen site to the page of all sites: that page, with 全部站点 in its
    selector. (A browser restoring the selector's last choice on the way back would make the
    page act on it again and go forward to the chosen site: Back would not work.)"""
    page, guard, s = two_sites
    expect(page.locator("#site-select")).to_have_value("all")
    page.goto(f"{live_server}/?site=all")
    expect(page.locator("#tile-ups [data-ups]")).to_have_count(2)
    page.locator("#site-select").select_option(str(s.site_b))
    page.wait_for_url(f"**/?site={s.site_b}")
    expect(page.locator("#tile-ups [data-ups]")).to_have_count(1)

    page.go_back()
    expect(page).to_have_url(f"{live_server}/?site=all")
    # the page script has looked at the selector and found nothing new to act on
    expect(page.locator("#site-select")).to_have_attribute("data-state", "ready")
    expect(page).to_have_url(f"{live_server}/?site=all")
    expect(page.locator("#site-select")).to_have_value("all")
    expect(page.locator("#tile-ups [data-ups]")).to_have_count(2)
    assert guard.external == []
