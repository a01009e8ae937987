"""A two-asset move on the iPad in zh-CN (real Chromium): the plan typed on the new-plan page,
each asset scanned from a photo of its label, powered off, its new rack scanned (typed) and
racked; the second step's U taken meanwhile is refused naming who holds it, moved to another
U, and the plan is done; both asset pages show the move."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from assets import labels
from assets.models import Asset, Rack
from inspections.logbook.models import PowerEvent
from opskit import db
from tests import factories
from tests.browser.conftest import screenshot
from tests.browser.test_tablet_browser import MEASURE_JS, MIN_TAP

pytestmark = pytest.mark.browser


def _label_png(tag: str, live_server: str) -> bytes:
    out = io.BytesIO()
    labels.qr_code(labels.label_url(tag, live_server)).save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def _seed(app: Flask) -> None:
    with app.app_context():
        a01 = factories.rack("总部", "A机房", "A01")
        b01 = factories.rack("总部", "A机房", "B01")
        factories.asset("SRV-1", name="财务数据库", rack=a01, u_position=10, u_height=2)
        factories.asset("SRV-2", name="财务应用", rack=a01, u_position=20, u_height=1)
        factories.asset("OLD", name="旧存储", rack=b01, u_position=5, u_height=1)
        db.session().commit()


def _photo(page: Page, code: str, live_server: str) -> None:
    page.set_input_files(
        "#scan-photo",
        {"name": "label.png", "mimeType": "image/png", "buffer": _label_png(code, live_server)},
    )


def _scan_asset(page: Page, tag: str, live_server: str) -> None:
    _photo(page, tag, live_server)
    expect(page.locator("#move-step")).to_contain_text(tag, timeout=20_000)


def _too_small(page: Page) -> list[str]:
    page.wait_for_load_state("load")
    return page.evaluate(MEASURE_JS, MIN_TAP)


def test_two_asset_move_with_a_collision_on_ipad(app: Flask, live_server: str, ipad) -> None:
    page, guard = ipad
    _seed(app)
    page.goto(f"{live_server}/login?next=/moves/new")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")

    # the plan: SRV-1 to B01 U10, SRV-2 to B01 U20
    page.fill("#move-name", "财务系统搬迁")
    page.fill("#asset-0", "SRV-1")
    page.fill("#to_rack-0", "B01")
    page.fill("#to_u-0", "10")
    page.fill("#asset-1", "SRV-2")
    page.fill("#to_rack-1", "B01")
    page.fill("#to_u-1", "20")
    page.tap("#move-save")
    expect(page.locator("#move-progress")).to_contain_text("已搬迁 0 / 2")
    page.tap("#move-carry")
    expect(page.locator("#move-scan-form")).to_be_visible()

    # step 1: the label of SRV-1, power off, the new rack, rack it and power on
    assert _too_small(page) == []
    _scan_asset(page, "SRV-1", live_server)
    expect(page.locator("#move-target")).to_have_text("B01 U10-U11")
    assert _too_small(page) == []
    page.tap("#move-off")
    expect(page.locator("#move-step")).to_contain_text("已关机")
    # out of order: the label of SRV-2 while SRV-1 is off
    page.goto(f"{live_server}{page.url.split(live_server)[1].split('?')[0]}?tag=SRV-2")
    expect(page.locator("#move-refusal")).to_contain_text("扫描到 SRV-2，但第 1 步（SRV-1）已关机")
    # the rack's label (a QR of <base>/a/<rack name>) read from a photo
    assert _too_small(page) == []
    _photo(page, "B01", live_server)
    expect(page.locator("#rack_code")).to_have_value("B01", timeout=20_000)
    page.tap("#move-finish")
    expect(page.locator("#move-progress")).to_contain_text("已搬迁 1 / 2")

    # meanwhile someone racks NEW at B01 U20
    with app.app_context():
        b01 = db.session().scalar(select(Rack).where(Rack.name == "B01"))
        factories.asset("NEW", name="新交换机", rack=b01, u_position=20, u_height=1)
        db.session().commit()

    # step 2: refused naming NEW, nothing changed; another U, then done
    _scan_asset(page, "SRV-2", live_server)
    page.tap("#move-off")
    page.fill("#rack_code", "B01")
    page.tap("#move-finish")
    alert = page.locator(".alert-danger")
    expect(alert).to_contain_text("冲突")
    expect(alert).to_contain_text("NEW")
    expect(page.locator("#move-progress")).to_contain_text("已搬迁 1 / 2")
    with app.app_context():
        srv2 = db.session().scalar(select(Asset).where(Asset.asset_tag == "SRV-2"))
        assert (srv2.rack.name, srv2.u_position) == ("A01", 20)
    screenshot(page, "moves-tablet")
    page.locator("#move-other-u summary").tap()
    page.fill("#to_u", "21")
    page.tap("#move-change-u")
    expect(page.locator("#move-target")).to_have_text("B01 U21")
    page.fill("#rack_code", "B01")
    page.tap("#move-finish")
    expect(page.locator("#move-finished")).to_be_visible()
    expect(page.locator("#move-progress")).to_contain_text("已搬迁 2 / 2")
    expect(page.locator("#move-state")).to_have_text("已完成")

    with app.app_context():
        srv2 = db.session().scalar(select(Asset).where(Asset.asset_tag == "SRV-2"))
        assert (srv2.rack.name, srv2.u_position) == ("B01", 21)
        actions = db.session().scalars(
            select(PowerEvent.action).where(PowerEvent.asset_id == srv2.id).order_by(PowerEvent.id)
        )
        assert list(actions) == ["off", "on"]
        srv2_id = srv2.id

    # the asset page keeps the move
    page.goto(f"{live_server}/assets/{srv2_id}")
    moves = page.locator("#asset-moves")
    expect(moves).to_contain_text("财务系统搬迁")
    expect(moves).to_contain_text("A01 U20")
    expect(moves).to_contain_text("B01 U21")
    expect(moves).to_contain_text("已搬迁")
    assert guard.external == []
