"""A phone request logged on an iPad (real Chromium, zh-CN) in under 30 seconds of taps: the
description typed, a person seen before picked (department and phone fill in), the category
tapped, the asset from a photo of its QR label; then responded, the arrival recorded by a photo
of the label, resolved. Every tappable thing of the three pages is at least 44 px.

The 30 seconds are the person's, simulated (``tests.browser.taps``): each tap, each character
typed and the photo taken cost what they cost a person on a tablet, so the test says whether the
form asks for too much, not how busy this machine is; the pages' answers are measured and
reported beside it, and none may hang.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from assets import labels
from opskit import clock, db
from opskit.audit import acting_as
from opskit.servicedesk import services
from tests import factories
from tests.browser.conftest import screenshot
from tests.browser.taps import Taps
from tests.browser.test_tablet_browser import MEASURE_JS, MIN_TAP

pytestmark = pytest.mark.browser

TAG = "SRV-A01-07"


def _label_png(live_server: str) -> bytes:
    """A photo of the asset's printed label: its QR code as the label sheet prints it."""
    out = io.BytesIO()
    labels.qr_code(labels.label_url(TAG, live_server)).save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def _too_small(page: Page) -> list[str]:
    # measured once the page has loaded (a page laid out before its style sheets apply shows
    # a bare 24 px navbar)
    page.wait_for_load_state("load")
    return page.evaluate(MEASURE_JS, MIN_TAP)


@pytest.fixture
def seeded(app: Flask) -> int:
    """A server with its label, and 王芳 of 财务部 who phoned before (a closed request)."""
    with app.test_request_context("/"), acting_as("system"):
        rack = factories.rack(site="总部", room="A机房", name="A01")
        server = factories.asset(TAG, name="财务服务器", rack=rack, u_position=7)
        before = services.open_request(
            description="财务部打印机卡纸",
            category="hardware",
            channel="phone",
            urgency="C",
            requester_name="王芳",
            requester_department="财务部",
            requester_phone="13800138000",
            raised_at=clock.now() - timedelta(days=30),
        )
        services.resolve(before, "取出卡纸")
        services.close(before)
        db.session().commit()
        return server.id


def test_log_a_phone_request_in_30_seconds_then_respond_arrive_and_resolve(
    app: Flask, live_server: str, ipad, seeded: int
) -> None:
    page, guard = ipad
    page.goto(f"{live_server}/login?next=/requests/")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")
    expect(page.locator("h1")).to_have_text("服务台")
    assert _too_small(page) == []
    png = _label_png(live_server)

    taps = Taps(page)
    taps.tap(page.locator("#new-request"))
    taps.wait("the form", page.locator("#request-form"))
    taps.type(page.locator("#description"), "财务服务器无法登录")
    taps.type(page.locator("#requester_name"), "王")
    suggestion = page.locator("[data-requester][data-name='王芳']")
    taps.wait("people seen before", suggestion)
    taps.tap(suggestion)
    expect(page.locator("#requester_department")).to_have_value("财务部")
    expect(page.locator("#requester_phone")).to_have_value("13800138000")
    taps.tap(page.locator("label[for='category-software']"))
    taps.photo("#scan-photo", png)
    taps.wait("the label read", page.locator("#asset-found [data-field=asset-found]"))
    expect(page.locator("#asset_tag")).to_have_value(TAG)
    expect(page.locator("#asset-found")).to_contain_text("财务服务器")
    expect(page.locator("#channel-phone")).to_be_checked()  # the defaults: a phone call, C
    expect(page.locator("#urgency-C")).to_be_checked()
    assert _too_small(page) == []
    taps.tap(page.locator("#request-save"))
    taps.wait("the request's page", page.locator("#request-number"))
    taps.check()

    number = page.locator("#request-number").inner_text()
    assert re.fullmatch(r"SR-\d{4}-\d{4}", number)
    expect(page.locator("[data-field=status]").first).to_have_text("新建")
    expect(page.locator("#request-facts [data-field=asset]")).to_contain_text("财务服务器")
    expect(page.locator("#request-clocks .opskit-clock")).to_have_count(4)

    page.locator("[data-action=respond]").tap()
    expect(page.locator("[data-field=status]").first).to_have_text("已响应")
    page.locator("[data-action=arrive]").tap()
    page.set_input_files(
        "#scan-photo", {"name": "label.png", "mimeType": "image/png", "buffer": png}
    )
    onsite = page.locator("#request-facts [data-field=onsite]")
    expect(onsite).to_contain_text(TAG, timeout=20_000)
    expect(page.locator("[data-field=status]").first).to_have_text("处理中")
    expect(page.locator('[data-clock="onsite"]')).to_have_attribute("data-state", "met")
    assert _too_small(page) == []
    screenshot(page, "requests-ipad")

    page.locator("[data-action=resolve]").tap()
    page.locator("#cause").fill("账号被锁定")
    page.locator("#work_done").fill("解锁账号并重置密码")
    page.locator("[data-action=resolve-submit]").tap()
    expect(page.locator("[data-field=status]").first).to_have_text("已解决")
    expect(page.locator("#request-facts [data-field=cause]")).to_have_text("账号被锁定")
    history = page.locator("#request-history tr[data-kind]")
    expect(history).to_have_count(5)  # the page after the step has loaded (not the one before)
    kinds = history.evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == ["opened", "responded", "assigned", "onsite", "resolved"]
    assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"


def test_the_scan_page_still_opens_the_asset_of_a_label_photo(
    live_server: str, ipad, seeded: int
) -> None:
    """The scan page shares the scanner's markup and script with the request pages."""
    page, guard = ipad
    page.goto(f"{live_server}/login?next=/scan")
    page.fill("#username", "viewer")
    page.fill("#password", "viewer-password-1")
    page.tap("#login-submit")
    expect(page.locator("h1")).to_have_text("扫描标签")
    page.set_input_files(
        "#scan-photo",
        {"name": "label.png", "mimeType": "image/png", "buffer": _label_png(live_server)},
    )
    expect(page).to_have_url(f"{live_server}/assets/{seeded}", timeout=20_000)
    assert guard.external == []
