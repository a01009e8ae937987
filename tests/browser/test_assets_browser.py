"""On an iPad (zh-CN): register an asset in a taken rack unit, correct it in place."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from playwright.sync_api import expect

from opskit import db
from tests import factories
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def _seed(app: Flask) -> None:
    with app.test_request_context("/"):
        rack = factories.rack(site="总部", room="A机房", name="A01", u_height=24)
        factories.rack(site="总部", room="A机房", name="A02", u_height=42)
        room = rack.room
        placed = [
            ("SRV-OLD", "server", "数据库主机", 10, 2, "Dell", "R740"),
            ("SW-CORE-1", "switch", "核心交换机", 22, 1, "H3C", "S6850"),
            ("FW-1", "firewall", "出口防火墙", 20, 1, "Hillstone", "SG-6000"),
            ("STO-1", "storage", "存储阵列", 2, 4, "Huawei", "OceanStor 5300"),
            ("UPS-1", "ups", "机柜 UPS", 1, 1, "APC", "SRT3K"),
        ]
        for tag, kind, name, u, h, vendor, model in placed:
            factories.asset(
                tag,
                kind=kind,
                name=name,
                rack=rack,
                room=room,
                u_position=u,
                u_height=h,
                vendor=vendor,
                model=model,
                warranty_end=date(2027, 6, 30),
            )
        factories.asset("PDU-A", kind="pdu", name="竖装 PDU", rack=rack, room=room, u_height=0)
        factories.asset("AC-1", kind="precision_ac", name="精密空调 1", room=room, vendor="Vertiv")
        db.session().commit()


def test_create_asset_with_error_corrected_in_place(live_server: str, app: Flask, ipad) -> None:
    _seed(app)
    page, guard = ipad
    page.goto(live_server + "/login")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")
    expect(page).to_have_url(live_server + "/")

    page.goto(live_server + "/assets/new")
    expect(page.locator("h1")).to_have_text("新增资产")
    page.fill("#asset_tag", "SRV-NEW-01")
    page.fill("#name", "应用服务器 01")
    page.select_option("#kind", "server")
    page.fill("#vendor", "Inspur")
    page.fill("#model", "NF5280M6")
    page.fill("#serial", "SN-2024-0001")
    page.fill("#mgmt_ip", "10.1.20.31")
    page.select_option("#rack", label="A机房 / A01")
    expect(page.locator("#room")).not_to_have_value("")  # the rack chose its room
    page.fill("#u_position", "11")  # SRV-OLD takes U10-U11
    expect(page.locator("#line-fields")).to_be_hidden()
    page.tap("#asset-save")

    error = page.locator('.invalid-feedback[data-field="u_position"]')
    expect(error).to_be_visible()
    expect(error).to_have_text("机柜 A01 的 U11 已被 SRV-OLD 占用。")
    expect(page.locator("#u_position")).to_have_class(re.compile(r"\bis-invalid\b"))
    for selector, value in (
        ("#asset_tag", "SRV-NEW-01"),
        ("#name", "应用服务器 01"),
        ("#vendor", "Inspur"),
        ("#model", "NF5280M6"),
        ("#serial", "SN-2024-0001"),
        ("#mgmt_ip", "10.1.20.31"),
        ("#u_position", "11"),
    ):
        expect(page.locator(selector)).to_have_value(value)
    expect(page.locator("#rack option:checked")).to_have_text("A机房 / A01")
    error_box = error.bounding_box()
    field_box = page.locator("#u_position").bounding_box()
    assert error_box and field_box and 0 <= error_box["y"] - field_box["y"] < 120  # beside it
    screenshot(page, "asset-form-error")

    page.fill("#u_position", "14")
    page.tap("#asset-save")
    expect(page).to_have_url(re.compile(r"/assets/\d+$"))
    expect(page.locator("#asset-title")).to_contain_text("SRV-NEW-01")
    expect(page.locator("#asset-units")).to_contain_text("U14")
    expect(page.locator("#asset-history")).to_contain_text(
        "Engineer"
    )  # who created it, by full name
    expect(page.locator("#asset-history")).to_contain_text("应用服务器 01")
    screenshot(page, "asset-detail")

    page.locator("#asset-rack-link").tap()
    expect(page.locator("h1")).to_contain_text("A01")
    block = page.locator('#rack-elevation [data-asset-tag="SRV-NEW-01"]')
    expect(block).to_be_visible()
    expect(page.locator('.rack-slot[data-unit="14"]')).to_contain_text("SRV-NEW-01")
    expect(page.locator('.rack-slot[data-unit="10"][data-height="2"]')).to_contain_text("SRV-OLD")
    screenshot(page, "rack-elevation")

    page.goto(live_server + "/assets/")
    rows = page.locator("#asset-table tbody tr[data-asset-id]")
    expect(rows).to_have_count(8)
    page.fill("#q", "SRV-")  # htmx: the table is replaced and the address follows
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/assets/\?.*q=SRV-"))
    page.fill("#q", "")
    expect(rows).to_have_count(8)
    screenshot(page, "asset-list")

    assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"
