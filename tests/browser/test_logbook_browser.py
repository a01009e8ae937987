"""Logbook and reading trends on an iPad in zh-CN (real Chromium): sign a visitor in and out with
taps, record a power-off from a typed tag, and see a reading's trend drawn with its limit lines."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from inspections.logbook.models import AccessEntry, PowerEvent
from opskit import db
from tests import factories
from tests.browser.conftest import screenshot
from tests.inspections.test_patrol_views import _rounds

pytestmark = pytest.mark.browser


def test_logbook_and_trends_on_ipad(app, live_server, ipad) -> None:
    page, guard = ipad
    room_id = _rounds(app)
    with app.app_context():
        rack = factories.rack("总部", "A机房", "A01")
        factories.asset("SRV-001", name="数据库服务器", rack=rack)
        db.session().commit()
    page.goto(f"{live_server}/login?next=/patrol/logbook/access/new?room={room_id}")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")

    # sign a visitor in: the room is pre-selected, an empty purpose is refused and kept
    expect(page.locator("#room_id")).to_have_value(str(room_id))
    page.fill("#name", "张伟")
    page.fill("#organisation", "华为技术服务")
    page.tap("#access-save")
    expect(page.locator('.invalid-feedback[data-field="purpose"]')).to_have_text("必填。")
    expect(page.locator("#name")).to_have_value("张伟")
    page.fill("#purpose", "更换故障硬盘")
    page.fill("#escort", "李工")
    page.fill("#in_at", "2026-11-26T09:30")  # a fixed time keeps the screenshot stable
    page.tap("#access-save")
    inside = page.locator("#people-inside")
    expect(inside).to_contain_text("张伟")
    expect(inside).to_contain_text("华为技术服务")
    screenshot(page, "logbook")
    page.locator("#people-inside button").first.tap()
    expect(page.locator("#people-inside")).to_have_count(0)
    expect(page.locator("#access-table")).to_contain_text("更换故障硬盘")

    # power off a server by its typed tag, action chosen with one tap
    page.tap("#logbook-power")
    page.fill("#asset_tag", "SRV-001")
    page.locator('label[for="action-off"]').tap()
    page.fill("#reason", "更换硬盘前下电")
    page.fill("#change_ref", "CHG-2026-118")
    page.tap("#power-save")
    expect(page.locator("#power-table")).to_contain_text("CHG-2026-118")
    expect(page.locator("#power-table")).to_contain_text("下电")
    with app.app_context():
        entry = db.session().scalars(select(AccessEntry)).one()
        assert entry.out_at is not None and entry.escort == "李工"
        event = db.session().scalars(select(PowerEvent)).one()
        assert (event.action, event.asset.asset_tag) == ("off", "SRV-001")

    # the trend of the cold-aisle temperature, with its limits as lines
    page.goto(
        f"{live_server}/patrol/trends?item=room_environment.cold_aisle_temperature"
        "&start=2026-11-19&end=2026-11-22"
    )
    chart = page.locator("#trend-chart svg")
    expect(chart).to_have_count(1)
    expect(chart.locator("path").first).to_be_attached()
    expect(chart).to_contain_text("正常上限 27°C")
    expect(chart).to_contain_text("严重上限 32°C")
    expect(page.locator("#trend-limits")).to_contain_text("正常下限: 18°C")
    screenshot(page, "patrol-trends")
    assert guard.external == []
