"""A repair on an iPad in zh-CN (real Chromium): recorded from the asset page with part rows
added and removed by tapping, signed by the engineer and the customer with a finger on the two
pads, its Word report downloaded and read; every tappable thing on the repair pages 44 px."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from docx import Document
from flask import Flask
from playwright.sync_api import expect

from opskit import clock, db
from opskit.servicedesk import queries
from tests import factories
from tests.browser.test_tablet_browser import MEASURE_JS, MIN_TAP

pytestmark = pytest.mark.browser


def _asset(app: Flask) -> int:
    with app.app_context():
        rack = factories.rack(site="总部", room="A机房", name="A01")
        server = factories.asset(
            "SRV-07", name="邮件服务器", rack=rack, u_position=5, vendor="浪潮", model="NF5280M6"
        )
        db.session().commit()
        return server.id


def _draw(page, selector: str, wobble: int) -> None:
    pad = page.locator(selector)
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + 120)
    page.mouse.down()
    for step in range(1, 14):
        page.mouse.move(box["x"] + 30 + step * 22, box["y"] + 120 - (step % 3) * wobble)
    page.mouse.up()


def _small(page) -> list[str]:
    # measured once the page and its style sheets have loaded: an element found by its text
    # may be laid out before the style sheets apply (a bare navbar measures 24 px high)
    page.wait_for_load_state("load")
    return page.evaluate(MEASURE_JS, MIN_TAP)


def test_a_repair_recorded_signed_and_its_report_downloaded_on_the_ipad(
    app: Flask, live_server: str, ipad
) -> None:
    page, guard = ipad
    asset_id = _asset(app)
    with app.app_context():
        tz = clock.site_tz()
    start = (clock.now() - timedelta(hours=5)).astimezone(tz).replace(second=0, microsecond=0)
    page.goto(f"{live_server}/login?next=/assets/{asset_id}/repairs/new")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")
    expect(page.locator("h1")).to_contain_text("SRV-07")
    small = _small(page)

    page.fill("#fault", "系统盘告警，服务器无法启动")
    page.fill("#work_done", "更换系统盘，重装系统")
    rows = page.locator("#repair-parts .repair-part")
    page.tap("#repair-part-add")
    page.tap("#repair-part-add")
    expect(rows).to_have_count(3)
    rows.nth(1).locator(".repair-part-remove").tap()  # one too many
    expect(rows).to_have_count(2)
    for n, (part, out, put_in) in enumerate(
        [("480GB SSD", "SSD-OUT-1", "SSD-IN-1"), ("硬盘托架", "", "")]
    ):
        rows.nth(n).locator('input[name="part"]').fill(part)
        rows.nth(n).locator('input[name="serial_out"]').fill(out)
        rows.nth(n).locator('input[name="serial_in"]').fill(put_in)
    page.fill("#downtime_start", f"{start:%Y-%m-%dT%H:%M}")
    page.fill("#downtime_end", f"{start + timedelta(hours=1, minutes=10):%Y-%m-%dT%H:%M}")
    page.fill("#cost", "860")
    page.tap("#repair-save")
    expect(page.locator("#repair-title")).to_contain_text("RP-")
    expect(page.locator("#report-parts")).to_contain_text("SSD-OUT-1")
    expect(page.locator("#report-timeline")).to_contain_text("1 小时 10 分钟")
    small += _small(page)

    page.tap("#repair-sign")
    expect(page.locator("#customer-pad")).to_be_visible()
    small += _small(page)
    _draw(page, "#engineer-pad", 20)
    _draw(page, "#customer-pad", 35)
    page.fill("#customer_name", "陈静")
    page.tap("#sign-save")
    expect(page.locator("#report-signatures img")).to_have_count(2)
    expect(page.locator("#report-signatures")).to_contain_text("陈静")

    with app.app_context():
        [repair] = queries.repairs_of_asset(asset_id)
        assert [(p.part, p.serial_out, p.serial_in) for p in repair.parts] == [
            ("480GB SSD", "SSD-OUT-1", "SSD-IN-1"),
            ("硬盘托架", "", ""),
        ]
        assert repair.downtime_start == start and repair.signed_by_engineer == "Engineer"
        assert repair.engineer_signature.startswith("data:image/png;base64,")
        assert repair.customer_signature.startswith("data:image/png;base64,")

    with page.expect_download() as download:
        page.tap("#repair-docx-link")
    document = Document(io.BytesIO(download.value.path().read_bytes()))
    text = "\n".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    )
    assert "SRV-07" in text and "SSD-IN-1" in text and "陈静" in text
    assert len(document.inline_shapes) == 2

    page.tap("#repair-report-link")
    expect(page.locator("h1")).to_have_text("维修情况书面报告")
    expect(page.locator("[data-print]")).to_be_visible()
    small += _small(page)
    assert small == [], small
    assert guard.external == []
