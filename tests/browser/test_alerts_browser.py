"""Alerts on an iPad (real Chromium): acknowledge from the list and watch a clock count down;
a 5x8 clock paused on a Sunday; an overdue clock in red; acknowledge and on site pressed on the
alert's own page.

"Now" on the server is set with ``clock.set_now`` (the live server runs in this process, in a
thread) and moves on in real time from there; the browser's own clock is never the server's.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from flask import Flask
from playwright.sync_api import expect

from opskit import clock, db
from opskit.alerts import services
from opskit.alerts.models import Alert
from opskit.audit import acting_as
from tests import factories
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    h, m, s = (int(x) for x in text.lstrip("-").split(":"))
    return sign * (h * 3600 + m * 60 + s)


def _login(page, live_server: str, next_path: str) -> None:
    page.goto(f"{live_server}/login?next={next_path}")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")


@pytest.fixture
def server_now(app: Flask) -> Iterator:
    """``set(moment)``: the server's now is ``moment`` and runs on in real time from there."""

    def set_now(moment: datetime) -> None:
        started = time.monotonic()
        clock.set_now(lambda: moment + timedelta(seconds=time.monotonic() - started))

    try:
        yield set_now
    finally:
        clock.set_now(None)


def _rest_sunday(app: Flask) -> date:
    """The latest Sunday up to the site's today that is a rest day followed by a working
    Monday (not a make-up working Sunday, not before a holiday)."""
    from opskit.alerts.queries import current_policy

    with app.app_context():
        calendar = current_policy().calendar
        day = clock.site_today()
        day -= timedelta(days=(day.weekday() + 1) % 7)  # back to the last Sunday (or today)
        while calendar.is_workday(day) or not calendar.is_workday(day + timedelta(days=1)):
            day -= timedelta(days=7)
        return day


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
    _login(page, live_server, "/alerts/")
    card = page.locator(f"#alert-{alert_id}")
    expect(card).to_contain_text("UPS-01 市电中断，电池供电")
    expect(card).to_contain_text("监控 · UPS 电池供电")  # the rule by its title
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


def test_c_alert_on_a_sunday_shows_its_clock_paused_until_monday(
    app: Flask, live_server: str, ipad, server_now
) -> None:
    sunday = _rest_sunday(app)
    tz = clock.site_tz()
    raised = datetime.combine(sunday, datetime.min.time(), tz) + timedelta(minutes=52)  # 00:52
    server_now(datetime.combine(sunday, datetime.min.time(), tz) + timedelta(hours=10))
    with app.test_request_context("/"), acting_as("poller"):
        alert = services.raise_alert(
            "patrol:room_environment.hot_aisle_temperature:room=1",
            source="patrol",
            rule="patrol.room_environment.hot_aisle_temperature",
            urgency="C",
            message="A机房 热通道温度 36 ℃",
            at=raised,
        )
        db.session().commit()
        alert_id = alert.id
    page, guard = ipad
    _login(page, live_server, f"/alerts/{alert_id}")
    expect(page.locator("h1")).to_contain_text("A机房 热通道温度 36 ℃")
    expect(page.locator("#alert-facts")).to_contain_text("巡检 · 机房环境 · 热通道温度")
    monday = sunday + timedelta(days=1)
    ack = page.locator('[data-clock="acknowledge"]')
    # acknowledge due Monday 08:05 (5 working minutes), the clock stands still until 08:00
    expect(ack).to_contain_text(f"{monday.year}/{monday.month}/{monday.day} 08:05")
    for which in ("acknowledge", "onsite", "resolve"):
        one = page.locator(f'[data-clock="{which}"]')
        expect(one).to_have_attribute("data-drawn", "1")  # the page script has drawn it
        expect(one.locator(".opskit-paused")).to_have_text("暂停（非工作时间）")
        expect(one.locator(".opskit-resume")).to_have_text(f"{WEEKDAYS[0]} 08:00 恢复计时")
        expect(one.locator(".opskit-countdown")).to_have_count(0)
    page.wait_for_timeout(2200)  # the live countdown does not start counting on its own
    expect(ack.locator(".opskit-paused")).to_have_text("暂停（非工作时间）")
    expect(ack.locator(".opskit-resume")).to_have_text("周一 08:00 恢复计时")
    expect(ack.locator(".opskit-countdown")).to_have_count(0)
    expect(ack).to_have_attribute("data-paused", "1")
    expect(ack.locator(".opskit-clock-left")).not_to_contain_text("-")
    screenshot(page, "alert-paused")
    assert guard.external == []


def test_overdue_clock_and_acknowledge_and_on_site_on_the_alert_page(
    app: Flask, live_server: str, ipad, server_now
) -> None:
    base = datetime.combine(clock.site_today(), datetime.min.time(), clock.site_tz())
    now = base + timedelta(hours=10)
    server_now(now)
    with app.test_request_context("/"), acting_as("poller"):
        late = services.raise_alert(
            "monitor:ups:late",
            source="monitor",
            rule="ups.on_battery",
            urgency="A",
            message="UPS-02 电池供电",
            at=now - timedelta(hours=2, minutes=30),
        )
        soon = services.raise_alert(
            "monitor:ac:soon",
            source="monitor",
            rule="cooling.failure",
            urgency="A",
            message="精密空调 3 号故障",
            at=now - timedelta(minutes=4, seconds=56),  # acknowledge due in 4 s
        )
        db.session().commit()
        late_id, soon_id = late.id, soon.id
    page, guard = ipad
    _login(page, live_server, f"/alerts/{late_id}")
    overdue = page.locator('[data-clock="acknowledge"] .opskit-overdue')
    expect(overdue).to_have_text("已超时 2 小时 25 分钟")
    expect(overdue).to_have_css("color", "rgb(220, 53, 69)")  # red
    expect(page.locator('[data-clock="onsite"] .opskit-overdue')).to_have_text("已超时 30 分钟")
    expect(page.locator('[data-clock="resolve"] .opskit-countdown')).to_have_text(
        re.compile(r"^0:(29|30):\d\d$")
    )
    expect(page.locator("#alert-clocks")).not_to_contain_text("-0:")

    # a clock running out while the page is open turns to "overdue" by itself, in red
    page.goto(f"{live_server}/alerts/{soon_id}")
    ack = page.locator('[data-clock="acknowledge"]')
    expect(ack.locator(".opskit-overdue")).to_have_text("已超时 不到 1 分钟", timeout=10_000)
    expect(ack).to_have_attribute("data-state", "breached")

    # acknowledge and on site, pressed on the alert's own page
    page.locator("#alert-actions [data-action=acknowledge]").tap()
    expect(page).to_have_url(f"{live_server}/alerts/{soon_id}")
    expect(page.locator("[data-field=status]")).to_have_text("已确认")
    expect(page.locator("#alert-actions [data-action=acknowledge]")).to_have_count(0)
    button = page.locator("#alert-actions [data-action=onsite]")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 44  # a finger-sized button
    button.tap()
    expect(page).to_have_url(f"{live_server}/alerts/{soon_id}")
    expect(page.locator("#alert-actions [data-action=onsite]")).to_have_count(0)
    expect(page.locator('[data-field="onsite"]')).to_contain_text("Engineer")  # the full name
    history = page.locator("#alert-history tbody tr [data-field=event]")
    expect(history).to_have_text(["已产生", "已确认", "已到场"])
    with app.app_context():
        alert = db.session().get(Alert, soon_id)
        assert (alert.status, alert.acknowledged_by, alert.onsite_by) == (
            "acknowledged",
            "engineer",
            "engineer",
        )
        kinds = factories.event_kinds(soon_id)
        assert kinds == ["raised", "acknowledged", "onsite"]
        assert db.session().get(Alert, late_id).status == "firing"
    assert guard.external == []
