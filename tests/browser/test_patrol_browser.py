"""Patrol rounds on an iPad in zh-CN (real Chromium): a round with a finding end to end, and a
round answered offline, reloaded from the service worker and submitted when the network is back."""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select

from inspections import queries, services
from inspections.models import PatrolAnswer, PatrolFinding, PatrolPhoto, PatrolRound
from opskit import clock, db
from opskit.alerts.models import Alert
from opskit.audit import acting_as
from tests import factories
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

ENV = "room/room_environment/"


def _room(app: Flask) -> int:
    with app.app_context():
        rack = factories.rack(site="总部", room="A机房", name="A01")
        db.session().commit()
        return rack.room_id


def _login(page, live_server: str, next_path: str) -> None:
    page.goto(f"{live_server}/login?next={next_path}")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")


def _item(page, key: str):
    return page.locator(f'.patrol-item[data-field="{ENV}{key}"]')


def _check(page, key: str, value: str) -> None:
    _item(page, key).locator(f'label[for$="-{value}"]').tap()


def _reading(page, key: str, value: str) -> None:
    field = _item(page, key).locator(".patrol-value")
    field.fill(value)
    field.dispatch_event("change")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), (180, 40, 40)).save(out, "PNG")
    return out.getvalue()


def _controlled(page) -> bool:
    """Whether the service worker controls the page (waiting up to 10 s for it)."""
    return page.evaluate(
        """async () => {
          for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
          return navigator.serviceWorker.controller !== null;
        }"""
    )


def _wait_kept(page, item: str) -> None:
    """Wait until the tablet has kept the answer to ``item`` in IndexedDB: leaving or reloading
    the page within the same millisecond, as a test can, would cut off the write."""
    _wait_for(
        page,
        lambda: page.evaluate(
            f"""async () => (await (await idb.openDB("opskit-patrol", 1)).getAllKeys("answers"))
                 .some((key) => key.endsWith("/{item}"))"""
        ),
    )


def _submitted_and_kept(page) -> None:
    """The queued round reached the server, and its page has finished keeping itself for
    offline use: no request is cut off when the browser closes (werkzeug then leaks the file
    it was sending)."""
    expect(page.locator("#patrol-status")).to_have_text("已提交", timeout=20_000)
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")


def _offline(context, live_server: str, offline: bool, app: Flask | None = None) -> None:
    """The tablet loses (or gets back) the network. Besides Playwright's offline mode, every
    request to the server is aborted like in a Wi-Fi dead zone, and (``app`` given) the server
    itself answers every write with a 503 that is not JSON: Playwright's offline mode and routes
    sometimes let a request of a service-worker-controlled page through
    (microsoft/playwright#2311), and a write that arrived would make the test's "nothing
    reached the server" untrue. Reads may pass (the tablet shows its kept pages either way)."""
    pattern = f"{live_server}/**"
    if offline:
        context.route(pattern, lambda route: route.abort("internetdisconnected"))
    else:
        context.unroute(pattern)
    context.set_offline(offline)
    if app is None:
        return
    if offline:
        inner = app.wsgi_app

        def unplugged(environ, start_response):
            if environ["REQUEST_METHOD"] in ("GET", "HEAD"):
                return inner(environ, start_response)
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"offline (test)"]

        unplugged.inner = inner  # type: ignore[attr-defined]
        app.wsgi_app = unplugged  # type: ignore[method-assign]
    elif hasattr(app.wsgi_app, "inner"):
        app.wsgi_app = app.wsgi_app.inner  # type: ignore[method-assign]


def _count(app: Flask, model: Any) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def _wait_for(page, condition, timeout: float = 15.0) -> None:
    """Poll the database while Playwright keeps routing the page's requests."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        page.wait_for_timeout(100)


def test_round_with_out_of_range_temperature_note_photo_signature(
    app: Flask, live_server: str, ipad
) -> None:
    from assets.models import Room
    from monitors.models import Reading

    room_id = _room(app)
    with app.test_request_context("/"), acting_as("admin"):
        sensor = factories.asset(
            "ENV-A01", kind="sensor", name="温湿度传感器", room=db.session().get(Room, room_id)
        )
        polled = db.utcnow() - timedelta(minutes=3)
        for metric, value in (("env.temperature_c", 30.6), ("env.humidity_percent", 41.0)):
            db.session().add(Reading(asset_id=sensor.id, metric=metric, at=polled, value=value))
        db.session().commit()
    page, guard = ipad
    _login(page, live_server, "/patrol/rounds/new")
    expect(page.locator("h1")).to_contain_text("巡检")
    page.select_option("#adhoc-room", str(room_id))
    page.locator('label[for="adhoc-room_environment"]').tap()
    page.tap("#adhoc-start")
    expect(page.locator("#patrol-round")).to_be_visible()
    expect(page.locator("#patrol-progress")).to_have_text("0 / 8")

    temp = _item(page, "cold_aisle_temperature")
    expect(temp.locator(".patrol-monitored")).to_contain_text("30.6 °C")
    expect(temp.locator(".patrol-value")).to_have_attribute("placeholder", "30.6")
    _reading(page, "cold_aisle_temperature", "31")
    expect(temp.locator(".patrol-disagree")).to_be_hidden()  # within the 1.5 °C tolerance
    flag = temp.locator(".patrol-flag")
    expect(flag).to_be_visible()
    expect(flag).to_contain_text("异常")
    expect(flag).to_contain_text("27")
    expect(temp).to_have_attribute("data-level", "warning")
    temp.locator(".patrol-note").fill("北侧冷通道温度偏高，空调 2 号机回风滤网堵塞")
    temp.locator(".patrol-photo").set_input_files(
        files=[{"name": "aisle.png", "mimeType": "image/png", "buffer": _png()}]
    )
    expect(temp.locator(".patrol-thumb")).to_have_count(1)
    humidity = _item(page, "cold_aisle_humidity")
    humidity.locator(".patrol-use-monitored").tap()
    expect(humidity.locator(".patrol-value")).to_have_value("41")
    _reading(page, "cold_aisle_humidity", "48")
    expect(humidity.locator(".patrol-disagree")).to_be_visible()  # 7 %RH off, tolerance 5
    expect(humidity.locator(".patrol-disagree")).to_have_text("与监控值不符")
    _reading(page, "hot_aisle_temperature", "35")
    for key in ("no_water_leak", "no_smell_or_noise", "lighting"):
        _check(page, key, "pass")
    _check(page, "cleanliness", "clean")
    expect(page.locator("#patrol-progress")).to_have_text("7 / 8")  # remarks are optional
    pass_box = _item(page, "lighting").locator("label").first.bounding_box()
    assert pass_box is not None and pass_box["height"] >= 44

    page.tap("#patrol-one-by-one")  # one checklist/asset per screen, and back to the list
    expect(page.locator("#patrol-one-by-one")).to_have_text("全部显示")
    expect(page.locator("#patrol-page")).to_have_text("1 / 1")
    expect(temp).to_be_visible()
    page.tap("#patrol-one-by-one")
    expect(page.locator("#patrol-one-by-one")).to_have_text("逐台显示")
    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + 100)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 30 + step * 25, box["y"] + 100 - (step % 3) * 25)
    page.mouse.up()
    _wait_for(page, lambda: _count(app, PatrolPhoto) == 1)
    temp.scroll_into_view_if_needed()
    screenshot(page, "patrol-round")

    page.tap("#patrol-submit")
    expect(page.locator("#patrol-status")).to_have_text("已提交")
    expect(page.locator("#patrol-findings")).to_contain_text("31°C")
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")  # nothing cut off
    with app.app_context():
        patrol = db.session().scalar(select(PatrolRound))
        assert patrol.status == "submitted" and patrol.signature_name == "Engineer"
        assert patrol.signature_image.startswith("data:image/png;base64,")
        answers = {a.item_key: a for a in patrol.answers}
        assert answers["cold_aisle_temperature"].value == "31"
        assert answers["cold_aisle_humidity"].monitored_value == 41.0
        assert answers["cold_aisle_humidity"].disagrees is True
        assert answers["cold_aisle_temperature"].disagrees is False
        assert answers["cold_aisle_temperature"].note.startswith("北侧冷通道温度偏高")
        finding = db.session().scalar(select(PatrolFinding))
        assert finding.answer.item_key == "cold_aisle_temperature" and len(finding.photos) == 1
        photo = finding.photos[0]
        assert photo.content_type == "image/jpeg" and max(photo.width, photo.height) == 1600
        alert = db.session().get(Alert, finding.alert_id)
        assert (alert.source, alert.urgency, alert.status, alert.room_id) == (
            "patrol",
            "C",
            "firing",
            room_id,
        )
        assert "31°C" in alert.message and "北侧冷通道温度偏高" in alert.message
    assert guard.external == []


def test_offline_mid_round_reload_submit_and_sync(app: Flask, live_server: str, ipad) -> None:
    room_id = _room(app)
    with app.test_request_context("/"), acting_as("engineer"):
        services.start_round(
            "offline-browser-1", room_id=room_id, checklist_keys=["room_environment"]
        )
        db.session().commit()  # services flush, their caller commits
    page, guard = ipad
    context = page.context
    _login(page, live_server, "/patrol/rounds/offline-browser-1")
    expect(page.locator("#patrol-round")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    controlled = _controlled(page)
    assert controlled

    _reading(page, "cold_aisle_temperature", "24.5")
    _wait_for(page, lambda: _count(app, PatrolAnswer) == 1)

    _offline(context, live_server, True, app)
    _reading(page, "cold_aisle_humidity", "52")
    _check(page, "no_water_leak", "pass")
    expect(page.locator("#patrol-net")).to_have_attribute("data-state", "offline")
    _check(page, "no_smell_or_noise", "pass")
    # the tablet has kept the last answer before the page reloads (reloading within the same
    # millisecond, as a test can, would cut off the IndexedDB write)
    _wait_kept(page, "no_smell_or_noise")

    page.reload()  # answered by the service worker from its cache
    expect(page.locator("#patrol-round")).to_be_visible()
    expect(_item(page, "cold_aisle_humidity").locator(".patrol-value")).to_have_value("52")
    expect(_item(page, "no_water_leak").locator("input[value=pass]")).to_be_checked()
    _reading(page, "hot_aisle_temperature", "33")
    _check(page, "lighting", "pass")
    _check(page, "cleanliness", "clean")
    _item(page, "remarks").locator(".patrol-value").fill("断网期间完成")
    _item(page, "remarks").locator(".patrol-value").dispatch_event("change")
    page.tap("#patrol-submit")
    expect(page.locator("#patrol-banner")).to_contain_text("恢复连接后自动提交")
    assert _count(app, PatrolAnswer) == 1  # nothing reached the server while offline
    with app.app_context():
        assert queries.find_round("offline-browser-1").status == "draft"

    _offline(context, live_server, False, app)
    _submitted_and_kept(page)
    left = page.evaluate(
        """async () => {
          const db = await idb.openDB("opskit-patrol", 1);
          return [await db.count("outbox"), (await db.getAllKeys("answers")).length];
        }"""
    )
    assert left == [0, 0]  # the queue is drained and the tablet forgot the sent answers
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(PatrolRound)) == 1
        patrol = queries.find_round("offline-browser-1")
        assert patrol.status == "submitted"
        values = {a.item_key: a.value for a in patrol.answers}
        assert values == {
            "cold_aisle_temperature": "24.5",
            "cold_aisle_humidity": "52",
            "hot_aisle_temperature": "33",
            "no_water_leak": "pass",
            "no_smell_or_noise": "pass",
            "lighting": "pass",
            "cleanliness": "clean",
            "remarks": "断网期间完成",
        }
        assert db.session().scalar(select(func.count()).select_from(Alert)) == 0
    assert guard.external == []


class _Server:
    """opskit on a fixed port that can be stopped (connection refused) and started again."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.port = 0
        self.start()

    def start(self) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class OneRequestPerConnection(WSGIRequestHandler):
            pass

        self.httpd = make_server(
            "127.0.0.1",
            self.port,
            self.app,
            threaded=True,
            request_handler=OneRequestPerConnection,
        )
        # no keep-alive: once stopped, every new request is refused, like a server gone
        OneRequestPerConnection.protocol_version = "HTTP/1.0"
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        self.httpd.shutdown()
        self.thread.join(timeout=10)
        self.httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def test_server_gone_with_wifi_up_queues_and_resends(app: Flask, ipad) -> None:
    room_id = _room(app)
    with app.test_request_context("/"), acting_as("engineer"):
        services.start_round("server-gone-01", room_id=room_id, checklist_keys=["room_environment"])
        db.session().commit()  # services flush, their caller commits
    server = _Server(app)
    page, _guard = ipad
    try:
        _login(page, server.url, "/patrol/rounds/server-gone-01")
        expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
        for key, value in (("cold_aisle_temperature", "22"), ("cold_aisle_humidity", "45")):
            _reading(page, key, value)
        _wait_for(page, lambda: _count(app, PatrolAnswer) == 2)

        server.stop()
        assert page.evaluate("() => navigator.onLine") is True  # the Wi-Fi is still up
        _reading(page, "hot_aisle_temperature", "31")
        for key in ("no_water_leak", "no_smell_or_noise", "lighting"):
            _check(page, key, "pass")
        _check(page, "cleanliness", "debris")  # a finding, with its note
        _item(page, "cleanliness").locator(".patrol-note").fill("包装箱未清理")
        _item(page, "cleanliness").locator(".patrol-note").dispatch_event("change")
        expect(page.locator("#patrol-net")).to_have_attribute("data-state", "offline")
        page.tap("#patrol-submit")
        expect(page.locator("#patrol-banner")).to_contain_text("恢复连接后自动提交")
        assert _count(app, PatrolAnswer) == 2

        server.start()
        _submitted_and_kept(page)
        with app.app_context():
            assert db.session().scalar(select(func.count()).select_from(PatrolRound)) == 1
            patrol = queries.find_round("server-gone-01")
            values = {a.item_key: (a.value, a.note) for a in patrol.answers}
            assert values["hot_aisle_temperature"] == ("31", "")
            assert values["cleanliness"] == ("debris", "包装箱未清理")
            assert len(values) == 7
            alert = db.session().scalar(select(Alert))
            assert alert.source == "patrol" and "包装箱未清理" in alert.message
    finally:
        server.stop()


def test_round_started_offline_from_the_kept_start_page(app: Flask, live_server: str, ipad) -> None:
    """In a basement room without Wi-Fi: the start page (kept by the service worker) starts a
    planned round with an id made on the tablet; answers and the submission wait in IndexedDB;
    when the network is back the start, the answers and the submission reach the server once."""
    room_id = _room(app)
    with app.test_request_context("/"), acting_as("admin"):
        plan = services.save_plan(
            {
                "name": "地下配电室巡检",
                "room_id": room_id,
                "checklist_keys": "room_environment",
                "schedule_times": "09:00",
            }
        )
        db.session().commit()
        plan_id = plan.id
    page, guard = ipad
    context = page.context
    _login(page, live_server, "/patrol/rounds/new")
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    assert _controlled(page)

    _offline(context, live_server, True, app)
    page.reload()  # the start page itself comes from the service worker's cache
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    page.locator("#patrol-slots form.patrol-start button").tap()
    expect(page.locator("#patrol-round")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    expect(page.locator("h1")).to_contain_text("地下配电室巡检")
    client_id = page.evaluate("() => window.location.hash.slice(1)")
    assert len(client_id) == 32
    _reading(page, "cold_aisle_temperature", "24")
    _reading(page, "cold_aisle_humidity", "50")
    _check(page, "no_water_leak", "pass")
    expect(page.locator("#patrol-net")).to_have_attribute("data-state", "offline")
    # the tablet has kept the last answer before the engineer leaves the page (leaving within
    # the same millisecond, as a test can, would cut off the IndexedDB write)
    _wait_kept(page, "no_water_leak")

    # back on the kept start page, Start again: the same round (not a second one), with its
    # answers restored from IndexedDB
    page.goto(f"{live_server}/patrol/rounds/new")
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    page.locator("#patrol-slots form.patrol-start button").tap()
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    expect(_item(page, "cold_aisle_humidity").locator(".patrol-value")).to_have_value("50")
    assert page.evaluate("() => window.location.hash.slice(1)") == client_id
    _reading(page, "hot_aisle_temperature", "30")
    for key in ("no_smell_or_noise", "lighting"):
        _check(page, key, "pass")
    _check(page, "cleanliness", "clean")
    page.tap("#patrol-submit")
    expect(page.locator("#patrol-banner")).to_contain_text("恢复连接后自动提交")
    assert _count(app, PatrolRound) == 0  # nothing reached the server yet

    _offline(context, live_server, False, app)
    _submitted_and_kept(page)
    with app.app_context():
        assert _count(app, PatrolRound) == 1
        patrol = queries.find_round(client_id)
        assert (patrol.plan_id, patrol.room_id, patrol.status) == (plan_id, room_id, "submitted")
        assert patrol.scheduled_for is not None
        assert patrol.scheduled_for.astimezone(clock.site_tz()).strftime("%H:%M") == "09:00"
        assert patrol.engineer == "engineer"
        values = {a.item_key: a.value for a in patrol.answers}
        assert values == {
            "cold_aisle_temperature": "24",
            "cold_aisle_humidity": "50",
            "hot_aisle_temperature": "30",
            "no_water_leak": "pass",
            "no_smell_or_noise": "pass",
            "lighting": "pass",
            "cleanliness": "clean",
        }
    assert guard.external == []


FIRE = "room/fire_security/"


def test_adhoc_round_started_offline_from_the_kept_start_page(
    app: Flask, live_server: str, ipad
) -> None:
    """No Wi-Fi and no planned round: the kept start page starts an ad hoc round of the chosen
    room and checklists from the room's kept page; only those checklists are shown, counted
    and required, and the server creates the round with exactly them when the network is back."""
    room_id = _room(app)
    page, guard = ipad
    context = page.context
    _login(page, live_server, "/patrol/rounds/new")
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    page.tap("#adhoc-start")  # online and no checklist: the server's error, as before
    expect(page.locator(".alert-danger")).to_contain_text("请至少选择一个检查表。")
    assert _count(app, PatrolRound) == 0
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    assert _controlled(page)

    _offline(context, live_server, True, app)
    page.reload()  # the start page itself comes from the service worker's cache
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    page.select_option("#adhoc-room", str(room_id))
    page.tap("#adhoc-start")  # no checklist: the error is shown, the room stays chosen
    expect(page.locator("#adhoc-checklists-error")).to_have_text("请至少选择一个检查表。")
    expect(page.locator("#adhoc-room")).to_have_value(str(room_id))
    page.locator('label[for="adhoc-room_environment"]').tap()
    page.locator('label[for="adhoc-fire_security"]').tap()
    page.tap("#adhoc-start")
    expect(page.locator("#patrol-round")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    client_id = page.evaluate("() => window.location.hash.slice(1).split(';')[0]")
    assert len(client_id) == 32
    expect(page.locator(".patrol-target")).to_have_count(2)
    expect(page.locator('.patrol-item[data-checklist="ups"]')).to_have_count(0)
    expect(page.locator("#patrol-progress")).to_have_text("0 / 16")

    _reading(page, "cold_aisle_temperature", "24")
    _reading(page, "cold_aisle_humidity", "50")
    _reading(page, "hot_aisle_temperature", "30")
    for key in ("no_water_leak", "no_smell_or_noise", "lighting"):
        _check(page, key, "pass")
    _check(page, "cleanliness", "clean")
    page.locator(f'.patrol-item[data-field="{FIRE}fire_panel"] label[for$="-normal"]').tap()
    cylinder = page.locator(f'.patrol-item[data-field="{FIRE}cylinder_pressure"] .patrol-value')
    cylinder.fill("2.5")
    cylinder.dispatch_event("change")
    fire_checks = (
        "gas_system_auto",
        "extinguisher_pressure",
        "exits_clear",
        "access_control",
        "cctv",
        "visitor_log",
    )
    for key in fire_checks:
        page.locator(f'.patrol-item[data-field="{FIRE}{key}"] label[for$="-pass"]').tap()
    expect(page.locator("#patrol-progress")).to_have_text("15 / 16")  # remarks are optional
    expect(page.locator("#patrol-net")).to_have_attribute("data-state", "offline")
    # the tablet has kept the last answer before anything leaves the page
    _wait_kept(page, "visitor_log")
    page.tap("#patrol-submit")
    expect(page.locator("#patrol-banner")).to_contain_text("恢复连接后自动提交")
    assert _count(app, PatrolRound) == 0  # nothing reached the server
    assert _count(app, PatrolAnswer) == 0

    _offline(context, live_server, False, app)
    _submitted_and_kept(page)
    with app.app_context():
        assert _count(app, PatrolRound) == 1
        patrol = queries.find_round(client_id)
        assert (patrol.room_id, patrol.plan_id, patrol.status) == (room_id, None, "submitted")
        assert patrol.checklist_keys == ["fire_security", "room_environment"]  # the form's order
        assert {t["checklist"] for t in patrol.targets} == {"room_environment", "fire_security"}
        answers = {(a.checklist_key, a.item_key): a.value for a in patrol.answers}
        assert len(answers) == 15
        assert answers[("room_environment", "cold_aisle_temperature")] == "24"
        assert answers[("fire_security", "cylinder_pressure")] == "2.5"
        assert answers[("fire_security", "fire_panel")] == "normal"
        assert all(answers[("fire_security", key)] == "pass" for key in fire_checks)
    assert guard.external == []


def test_adhoc_round_offline_for_a_room_whose_page_is_not_kept(
    app: Flask, live_server: str, ipad
) -> None:
    """No Wi-Fi, and the chosen room's round page is not on the tablet (a room added since the
    tablet was last online): the start page says so and keeps the choice; nothing is opened
    or sent."""
    room_id = _room(app)
    page, guard = ipad
    context = page.context
    _login(page, live_server, "/patrol/rounds/new")
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    assert _controlled(page)
    url = page.locator(f'#adhoc-room option[value="{room_id}"]').get_attribute("data-offline-url")
    kept = """async (url) => {
      let n = 0;
      for (const key of await caches.keys()) {
        if (await (await caches.open(key)).delete(url)) n++;
      }
      return n;
    }"""
    assert page.evaluate(kept, url) >= 1  # it was kept: forget it, as if never kept

    _offline(context, live_server, True, app)
    page.reload()  # the start page itself comes from the service worker's cache
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    page.select_option("#adhoc-room", str(room_id))
    page.locator('label[for="adhoc-room_environment"]').tap()
    page.tap("#adhoc-start")
    expect(page.locator("#adhoc-room-error")).to_have_text(
        "此机房的巡检页面尚未保存在本平板上：请在有网络时先打开一次本页面。"
    )
    assert page.url.endswith("/patrol/rounds/new")
    expect(page.locator("#adhoc-room")).to_have_value(str(room_id))
    expect(page.locator("#adhoc-room_environment")).to_be_checked()
    expect(page.locator("#adhoc-start")).to_be_enabled()  # may be tried again
    _offline(context, live_server, False, app)
    assert _count(app, PatrolRound) == 0
    assert guard.external == []


PDU_LIMITS = {  # the site's mains limits the iPad showed only the normal range of (issue #19)
    "normal": [214, 226],
    "warning": {"low": 209, "high": 231},
    "critical": {"low": 200, "high": 240},
}


def test_limits_shown_and_values_marked_as_they_are_judged(
    app: Flask, live_server: str, ipad
) -> None:
    """The form shows the normal range and the warning and critical limits a reading is judged
    by; a monitored value outside the normal range is marked before anything is typed, a typed
    value as it is typed (offline too), and the submitted round's findings are what was shown."""
    from assets.models import Room
    from inspections import limits
    from inspections.limits import LimitOverride
    from monitors.models import Reading

    room_id = _room(app)
    with app.test_request_context("/"), acting_as("admin"):
        room = db.session().get(Room, room_id)
        pdu = factories.asset("PDU-A01", kind="pdu", name="列头柜 A01", room=room)
        db.session().add_all(
            [
                LimitOverride(
                    checklist="power_distribution",
                    item="mains_voltage",
                    scope="site",
                    target_id=room.site_id,
                    limits=PDU_LIMITS,
                ),
                LimitOverride(  # this room's branches may run up to 25 A before a warning
                    checklist="power_distribution",
                    item="current_l1",
                    scope="room",
                    target_id=room_id,
                    limits={"warning": {"high": 25}},
                ),
            ]
        )
        polled = db.utcnow() - timedelta(minutes=3)
        for metric, value in (
            ("pdu.input.voltage_v", 230.0),
            ("pdu.phase1.current_a", 23.5),
            ("pdu.phase2.current_a", 12.0),
            ("pdu.phase3.current_a", 12.0),
        ):
            db.session().add(Reading(asset_id=pdu.id, metric=metric, at=polled, value=value))
        db.session().commit()
        pdu_id = pdu.id
        item = queries.get_checklist("power_distribution").item("mains_voltage")
        judged = limits.limits_for("power_distribution", item, asset_id=pdu_id)
    page, guard = ipad
    context = page.context
    _login(page, live_server, "/patrol/rounds/new")
    page.select_option("#adhoc-room", str(room_id))
    page.locator('label[for="adhoc-power_distribution"]').tap()
    page.tap("#adhoc-start")
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    assert _controlled(page)

    def item_of(key: str):
        return page.locator(f'.patrol-item[data-field="asset:{pdu_id}/power_distribution/{key}"]')

    mains = item_of("mains_voltage")
    badge = mains.locator(".patrol-band")
    value = mains.locator(".patrol-value")
    expect(mains.locator(".patrol-limits")).to_contain_text(
        "正常 214–226 V · 警告 < 209 / > 231 V · 严重 < 200 / > 240 V"
    )
    # the monitored 230 V (offered, nothing typed yet) is outside the normal range: marked
    expect(value).to_have_attribute("placeholder", "230")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("超出正常范围")
    expect(badge).to_have_attribute("data-source", "monitored")
    expect(item_of("current_l1").locator(".patrol-band")).to_have_text("超出正常范围")
    expect(item_of("current_l2").locator(".patrol-band")).to_be_hidden()

    value.fill("220")  # inside the normal range: the mark goes
    expect(badge).to_be_hidden()
    expect(badge).to_have_attribute("data-band", "normal")
    value.fill("232")  # beyond the warning limit: the stronger mark
    expect(badge).to_have_text("超出警告范围")
    expect(badge).to_have_attribute("data-source", "entered")
    expect(mains).to_have_attribute("data-level", "warning")
    value.fill("241")
    expect(badge).to_have_text("超出严重范围")
    expect(mains).to_have_attribute("data-level", "critical")
    # patrol.js marks each value as the server judges it, at every limit and just beyond
    probes = [199.9, 200, 208.9, 209, 213.9, 214, 220, 226, 226.1, 231, 231.1, 240, 240.1]
    marked = page.evaluate(
        """([field, values]) => {
          const el = document.querySelector(`.patrol-item[data-field="${field}"]`);
          const input = el.querySelector(".patrol-value");
          return values.map((v) => {
            input.value = String(v);
            input.dispatchEvent(new Event("input"));
            return el.querySelector(".patrol-band").dataset.band;
          });
        }""",
        [f"asset:{pdu_id}/power_distribution/mains_voltage", probes],
    )
    with app.test_request_context("/"):
        assert marked == [limits.band_of(item, judged, f"{v:g}") for v in probes]
    assert marked == [
        *("critical", "warning", "warning", "outside_normal", "outside_normal"),
        *("normal", "normal", "normal", "outside_normal", "outside_normal"),
        *("warning", "warning", "critical"),
    ]

    # offline, on the page the service worker keeps: the marks come from the page alone
    _offline(context, live_server, True, app)
    value.fill("")  # nothing typed: the monitored value's mark again
    expect(badge).to_have_text("超出正常范围")
    expect(badge).to_have_attribute("data-source", "monitored")
    value.fill("232")
    expect(badge).to_have_text("超出警告范围")
    mains.locator(".patrol-note").fill("市电电压偏高，已通知供电所")
    _wait_kept(page, "mains_voltage")
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    expect(value).to_have_value("232")
    expect(badge).to_have_text("超出警告范围")
    _offline(context, live_server, False, app)

    item_of("current_l1").locator(".patrol-use-monitored").tap()  # 23.5 A: outside normal only
    expect(item_of("current_l1").locator(".patrol-band")).to_have_text("超出正常范围")
    current_l2 = item_of("current_l2")
    current_l2.locator(".patrol-value").fill("30")  # above the critical 28.8 A
    expect(current_l2.locator(".patrol-band")).to_have_text("超出严重范围")
    current_l2.locator(".patrol-note").fill("L2 相负载过高，已转移部分负载")
    item_of("current_l3").locator(".patrol-use-monitored").tap()
    for key in ("breakers", "no_overheating", "panel_meters"):
        item_of(key).locator('label[for$="-pass"]').tap()
    item_of("spd_indicator").locator('label[for$="-green"]').tap()
    expect(page.locator("#patrol-progress")).to_have_text("8 / 8")
    shown = {
        key: item_of(key).locator(".patrol-band").get_attribute("data-band")
        for key in ("mains_voltage", "current_l1", "current_l2", "current_l3")
    }
    assert shown == {
        "mains_voltage": "warning",
        "current_l1": "outside_normal",
        "current_l2": "critical",
        "current_l3": "normal",
    }
    page.tap("#patrol-submit")
    _submitted_and_kept(page)
    with app.app_context():
        patrol = db.session().scalar(select(PatrolRound))
        assert patrol.status == "submitted"
        answers = {a.item_key: a for a in patrol.answers}
        assert {k: limits.band_for(answers[k].level, answers[k].code) for k in shown} == shown
        assert answers["mains_voltage"].value == "232"
        findings = {f.answer.item_key: f.level for f in patrol.findings}
        assert findings == {"mains_voltage": "warning", "current_l2": "critical"}
    assert guard.external == []


def test_submission_reset_on_the_connection_waits_in_the_outbox_and_is_stored_once(
    app: Flask, live_server: str, ipad
) -> None:
    """A server too busy to accept (issue #13: a listen queue overflowing) resets the
    connection: the tablet takes it as offline, keeps the submission in its outbox and sends
    it again until it goes through; the round is stored once."""
    room_id = _room(app)
    with app.test_request_context("/"), acting_as("engineer"):
        services.start_round("reset-round-01", room_id=room_id, checklist_keys=["room_environment"])
        db.session().commit()  # services flush, their caller commits
    page, guard = ipad
    _login(page, live_server, "/patrol/rounds/reset-round-01")
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1")
    for key, value in (
        ("cold_aisle_temperature", "22"),
        ("cold_aisle_humidity", "45"),
        ("hot_aisle_temperature", "31"),
    ):
        _reading(page, key, value)
    for key in ("no_water_leak", "no_smell_or_noise", "lighting"):
        _check(page, key, "pass")
    _check(page, "cleanliness", "clean")
    page.fill("#signature-name", "张工")
    _wait_for(page, lambda: _count(app, PatrolAnswer) == 7)

    tries: list[str] = []

    def reset_twice(route) -> None:
        tries.append(route.request.method)
        if len(tries) <= 2:
            route.abort("connectionreset")
        else:
            route.continue_()

    submit_url = f"{live_server}/patrol/rounds/reset-round-01/submit"
    page.context.route(submit_url, reset_twice)
    page.tap("#patrol-submit")
    expect(page.locator("#patrol-banner")).to_contain_text("恢复连接后自动提交")
    expect(page.locator("#patrol-net")).to_have_attribute("data-state", "offline")
    _submitted_and_kept(page)  # the outbox sent it again and the page shows the stored round
    assert len(tries) == 3
    page.context.unroute(submit_url)
    outbox = page.evaluate(
        """async () => (await (await idb.openDB("opskit-patrol", 1)).getAll("outbox")).length"""
    )
    assert outbox == 0
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(PatrolRound)) == 1
        patrol = queries.find_round("reset-round-01")
        assert patrol.status == "submitted" and patrol.signature_name == "张工"
        assert len(patrol.answers) == 7
    assert guard.external == []
