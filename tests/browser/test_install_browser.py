"""Installing a plan on the iPad in zh-CN (real Chromium): four 2U servers planned on
/assets/plan and reserved, then one installed by a photo of its new label (a tag printed before
it was registered): the asset is in the registry at the reserved units, the other three still
reserved."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from assets import labels, services
from assets.models import Asset, Reservation, ReservedUnit
from opskit import db
from tests.browser.conftest import screenshot
from tests.browser.test_tablet_browser import MEASURE_JS, MIN_TAP

pytestmark = pytest.mark.browser

PLAN = """room: A机房
devices:
  - {name: OA-01, u: 2, watts: 600, feeds: 2}
  - {name: OA-02, u: 2, watts: 600, feeds: 2}
  - {name: OA-03, u: 2, watts: 600, feeds: 2}
  - {name: OA-04, u: 2, watts: 600, feeds: 2}
"""


def _seed(app: Flask) -> None:
    with app.app_context():
        site, _ = services.get_or_create_site("总部")
        room, _ = services.get_or_create_room(site, "A机房")
        services.save_rack(
            {
                "room": room,
                "name": "A01",
                "u_height": 42,
                "power_a_watts": 7360,
                "power_b_watts": 7360,
            }
        )
        db.session().commit()


def _label_png(tag: str, live_server: str) -> bytes:
    out = io.BytesIO()
    labels.qr_code(labels.label_url(tag, live_server)).save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def test_plan_reserve_and_install_one_by_its_label_on_ipad(
    app: Flask, live_server: str, ipad
) -> None:
    page: Page
    page, guard = ipad
    _seed(app)
    page.goto(f"{live_server}/login?next=/assets/plan")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")

    page.fill("#plan-text", PLAN)
    page.tap("#plan-submit")
    first = page.locator('[data-candidate="1"]')
    expect(first).to_contain_text("U1–U2")
    first.locator('input[name="name"]').fill("OA 系统上线")
    first.locator('[data-accept="1"]').tap()

    expect(page.locator("#reservation-title")).to_have_text("规划 OA 系统上线")
    expect(page.locator("#reservation-facts")).to_contain_text("已安装 0 / 4 台设备。")
    expect(page.locator("#device-1")).to_be_checked()
    page.wait_for_load_state("load")
    assert page.evaluate(MEASURE_JS, MIN_TAP) == []

    # the new server's label, printed before it was registered, read from a photo
    page.set_input_files(
        "#scan-photo",
        {
            "name": "label.png",
            "mimeType": "image/png",
            "buffer": _label_png("OA-SRV-01", live_server),
        },
    )
    expect(page.locator(".alert-success").first).to_contain_text(
        "OA-01 已作为 OA-SRV-01 安装在机柜 A01 U1–U2。", timeout=20_000
    )
    expect(page.locator("#reservation-facts")).to_contain_text("已安装 1 / 4 台设备。")
    expect(page.locator('[data-device="OA-01"]')).to_contain_text("已安装为")
    expect(page.locator("#device-2")).to_be_checked()  # the next device waits for its label
    screenshot(page, "plan-install")

    with app.app_context():
        sess = db.session()
        asset = sess.scalar(select(Asset).where(Asset.asset_tag == "OA-SRV-01"))
        assert asset is not None
        assert (asset.name, asset.rack.name, asset.u_position, asset.u_height) == (
            "OA-01",
            "A01",
            1,
            2,
        )
        assert asset.specs == {"power_watts": 600}
        held = sorted(sess.execute(select(ReservedUnit.device, ReservedUnit.unit)).all())
        assert [tuple(r) for r in held] == [
            ("OA-02", 3),
            ("OA-02", 4),
            ("OA-03", 5),
            ("OA-03", 6),
            ("OA-04", 7),
            ("OA-04", 8),
        ]
        assert sess.scalars(select(Reservation.status)).all() == ["reserved"]

    page.goto(f"{live_server}/assets/{asset.id}")
    expect(page.get_by_text("OA-SRV-01").first).to_be_visible()
    assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"
