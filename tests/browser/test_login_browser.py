"""Log in on an iPad, see the navigation in Chinese, switch to English (real Chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

NAV_ZH = ["资产", "巡检", "监控", "安全", "告警", "服务台", "报表"]
NAV_EN = ["Assets", "Patrol", "Monitoring", "Security", "Alerts", "Service desk", "Reports"]


def test_login_chinese_navigation_and_switch_to_english(live_server: str, ipad) -> None:
    page, guard = ipad
    page.goto(live_server + "/")
    expect(page).to_have_url(f"{live_server}/login?next=/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#login-submit")).to_have_text("登录")
    screenshot(page, "login")

    page.fill("#username", "engineer")
    page.fill("#password", "wrong-password")
    page.tap("#login-submit")
    expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")
    expect(page.locator("#username")).to_have_value("engineer")  # what was typed is kept

    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")
    expect(page).to_have_url(live_server + "/")
    nav = page.locator("#nav-sections a")
    labels = page.locator("#nav-sections a .nav-label")
    expect(labels).to_have_text(NAV_ZH)
    # measured once the stylesheets have loaded (a busy machine: layout asked for before them is
    # the unstyled page's, with links 24 px tall)
    page.wait_for_load_state("load")
    for i in range(nav.count()):  # touch targets: at least 44 px tall
        box = nav.nth(i).bounding_box()
        assert box is not None and box["height"] >= 44, (NAV_ZH[i], box)
    logout_box = page.locator("#nav-logout").bounding_box()
    assert logout_box is not None and logout_box["height"] >= 44
    screenshot(page, "home-zh")

    page.locator("#language-switch button[value=en]").first.tap()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(labels).to_have_text(NAV_EN)
    expect(page.locator("#nav-logout")).to_have_text("Log out")
    screenshot(page, "home-en")

    page.locator("#nav-sections a[data-nav=assets]").tap()
    expect(page.locator("h1")).to_have_text("Assets")

    assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"
    assert any("/static/vendor/bootstrap/" in url for url in guard.requests)
    assert any("/static/vendor/htmx.org/" in url for url in guard.requests)
