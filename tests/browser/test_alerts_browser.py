"""Acknowledge an A alert on an iPad and watch its on-site clock count down (real Chromium)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from opskit import db
from opskit.alerts import services
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    h, m, s = (int(x) for x in text.lstrip("-").split(":"))
    return sign * (h * 3600 + m * 60 + s)


def test_acknowledge_a_alert_and_watch_onsite_clock(app, live_server: str, ipad) -> None:
    with app.test_request_context("/"):
        alert = services.raise_alert(
            "monitor:ups:1",
            source="monitor",
            rule="ups.on_battery",
            urgency="A",
            message="UPS-01 市电中断，电池供电",
            at=db.utcnow() - timedelta(minutes=30),
        )
        db.session().commit()
        alert_id = alert.id
    page, guard = ipad
    page.goto(live_server + "/login?next=/alerts/")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")
    card = page.locator(f"#alert-{alert_id}")
    expect(card).to_contain_text("UPS-01 市电中断，电池供电")
    expect(card.locator("[data-field=status]")).to_have_text("告警中")

    card.locator("[data-action=acknowledge]").tap()
    card = page.locator(f"#alert-{alert_id}")
    expect(card.locator("[data-field=status]")).to_have_text("已确认")
    expect(card.locator("[data-action=acknowledge]")).to_have_count(0)
    ack = card.locator('[data-clock="acknowledge"]')
    expect(ack).to_have_attribute("data-state", "breached")  # 5 min allowed, 30 min passed

    countdown = card.locator('[data-clock="onsite"] .opskit-countdown')
    expect(countdown).to_have_text(re.compile(r"^1:(29|30):\d\d$"))
    first = _seconds(countdown.inner_text())
    page.wait_for_timeout(2200)
    second = _seconds(countdown.inner_text())
    assert first - second in range(1, 5), (first, second)  # counts down once a second
    box = card.locator("[data-action=onsite]").bounding_box()
    assert box is not None and box["height"] >= 44
    screenshot(page, "alerts")
    assert guard.external == []
