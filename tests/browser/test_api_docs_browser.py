"""The API reference (/api-docs) in real Chromium on a desktop: a logged-in viewer sees every
tag's section with each of its operations (the ones the OpenAPI document declares), the
readings' answer as its two layouts, switches to English; nothing is loaded from off the
machine."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale
from playwright.sync_api import Browser, expect

from opskit import openapi
from opskit.version import __version__
from tests.browser.conftest import guarded_context, screenshot

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1366, "height": 900}}


def _operations(app: Flask) -> dict[str, list[str]]:
    """Each tag's operation ids, as the document declares them."""
    with app.test_request_context("/"), force_locale("en"):
        document = openapi.document("opskit API", __version__)
    tags: dict[str, list[str]] = {}
    for methods in document["paths"].values():
        for op in methods.values():
            tags.setdefault(op["tags"][0], []).append(op["operationId"])
    return tags


def test_a_viewer_reads_every_tag_and_switches_to_english(
    app: Flask, live_server: str, browser: Browser
) -> None:
    tags = _operations(app)
    assert len(tags) > 5 and "readings" in tags and "listReadings" in tags["readings"]
    context, guard = guarded_context(browser, DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/api-docs")
        expect(page).to_have_url(f"{live_server}/login?next=/api-docs")
        page.fill("#username", "viewer")
        page.fill("#password", "viewer-password-1")
        page.locator("#login-submit").click()
        expect(page).to_have_url(f"{live_server}/api-docs")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator("h1")).to_contain_text("API 参考")

        for tag, ids in tags.items():
            section = page.locator(f"#tag-{tag.replace(' ', '-')}")
            expect(section).to_be_visible()
            expect(section.locator("article.card")).to_have_count(len(ids))
            for op_id in ids:
                expect(section.locator(f"article#{op_id}")).to_have_count(1)

        readings = page.locator("article#listReadings")
        expect(readings).to_contain_text("Readings, ReadingColumns 之一，以 layout 区分")
        expect(readings.locator("caption")).to_contain_text(
            ["参数", "应答 200：Readings", "应答 200：ReadingColumns"]
        )
        expect(readings.locator("td code", has_text="layout").first).to_be_visible()
        readings.scroll_into_view_if_needed()

        page.locator("#language-switch button[value=en]").first.click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("h1")).to_contain_text("API reference")
        readings = page.locator("article#listReadings")
        expect(readings).to_contain_text("Read one metric over a time range")
        expect(readings).to_contain_text("one of Readings, ReadingColumns, told apart by layout")
        for tag, ids in tags.items():
            section = page.locator(f"#tag-{tag.replace(' ', '-')}")
            expect(section.locator("article.card")).to_have_count(len(ids))
        page.wait_for_load_state("load")
        screenshot(page, "api-docs", full_page=False, at=readings)

        assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"
        assert any("/static/vendor/bootstrap/" in url for url in guard.requests)
    finally:
        context.close()
