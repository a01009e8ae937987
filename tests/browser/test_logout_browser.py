"""Logging out of a shared tablet (real Chromium, iPad): the pages kept for offline use are gone,
unsent patrol work stays on the tablet for the engineer who made it, is never sent by the next
user's pages, and is sent when that engineer logs in again."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect
from sqlalchemy import select

from inspections import queries, services
from inspections.models import PatrolAnswer
from opskit import db
from opskit.audit import acting_as
from opskit.models import User
from tests.browser.test_patrol_browser import _check, _count, _item, _reading, _room, _wait_for

pytestmark = pytest.mark.browser

CACHES = "async () => await caches.keys()"
WORKERS = "async () => (await navigator.serviceWorker.getRegistrations()).length"
# the outbox read without idb (the login page does not load it) and without creating the database
OUTBOX = """async () => {
  const names = (await indexedDB.databases()).map((d) => d.name);
  if (!names.includes("opskit-patrol")) return null;
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("opskit-patrol"); r.onsuccess = () => ok(r.result); r.onerror = fail;
  });
  const all = await new Promise((ok, fail) => {
    const r = db.transaction("outbox").objectStore("outbox").getAll();
    r.onsuccess = () => ok(r.result); r.onerror = fail;
  });
  db.close();
  return all.map((e) => [e.kind, e.user && e.user.name, (e.json || {}).item, (e.json || {}).value]);
}"""
# the answers kept as typed (a copy for the page), by their key "<round>|<field>"
KEPT_ANSWERS = """async () => {
  const db = await new Promise((ok, fail) => {
    const r = indexedDB.open("opskit-patrol"); r.onsuccess = () => ok(r.result); r.onerror = fail;
  });
  const keys = await new Promise((ok, fail) => {
    const r = db.transaction("answers").objectStore("answers").getAllKeys();
    r.onsuccess = () => ok(r.result); r.onerror = fail;
  });
  db.close();
  return keys.map((k) => k.split("/").pop());
}"""
CONTROLLED = """async () => {
  for (let i = 0; i < 100 && !navigator.serviceWorker.controller; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return navigator.serviceWorker.controller !== null;
}"""


def _engineer_round(app: Flask, client_id: str) -> None:
    room_id = _room(app)
    with app.app_context():
        engineer_id = db.session().scalar(select(User.id).where(User.username == "engineer"))
    with app.test_request_context("/"), acting_as("engineer", engineer_id):
        services.start_round(client_id, room_id=room_id, checklist_keys=["room_environment"])
        db.session().commit()


def _login(page, live_server: str, user: str, next_path: str) -> None:
    page.goto(f"{live_server}/login?next={next_path}")
    expect(page.locator("html")).to_have_attribute("data-offline-forgotten", "1")
    page.fill("#username", user)
    page.fill("#password", f"{user}-password-1")
    page.tap("#login-submit")


def _open_round(page, live_server: str, user: str, client_id: str) -> None:
    _login(page, live_server, user, f"/patrol/rounds/{client_id}")
    # the page keeps itself and its scripts for offline use first (slow on a busy machine)
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1", timeout=20_000)
    assert page.evaluate(CONTROLLED)


def _flushed(page) -> int:
    return int(page.evaluate("() => document.documentElement.dataset.patrolFlushes || '0'"))


def test_logout_deletes_the_pages_kept_for_offline_use(app: Flask, live_server: str, ipad) -> None:
    _engineer_round(app, "logout-cache-01")
    page, guard = ipad
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    _open_round(page, live_server, "engineer", "logout-cache-01")
    _reading(page, "cold_aisle_temperature", "24")
    _wait_for(page, lambda: _count(app, PatrolAnswer) == 1)
    assert page.evaluate(CACHES) == ["opskit-patrol-v1"]
    kept = page.evaluate(
        """async () => (await (await caches.open("opskit-patrol-v1")).keys())
             .map((r) => new URL(r.url).pathname)"""
    )
    assert "/patrol/rounds/logout-cache-01" in kept
    assert page.evaluate(WORKERS) == 1
    assert page.evaluate(KEPT_ANSWERS) == ["cold_aisle_temperature"]
    # offline, the round page comes from the service worker's cache
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#patrol-round")).to_be_visible()
    page.context.set_offline(False)
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1", timeout=20_000)

    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.tap("#nav-logout")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator(".alert-info[role=status]")).to_have_text("您已退出登录。")
    # Chromium's own report of the logout answer's header (Playwright sees no event for the
    # fetch's unfollowed redirect)
    assert f"Clear-Site-Data header on '{live_server}/logout': Cleared data types: \"cache\"." in (
        console
    )
    expect(page.locator("html")).to_have_attribute("data-offline-forgotten", "1")
    assert dialogs == []  # nothing was waiting: no question asked
    assert page.evaluate(CACHES) == []
    assert page.evaluate(WORKERS) == 0
    assert page.evaluate(OUTBOX) == []
    assert page.evaluate(KEPT_ANSWERS) == []  # it is on the server: the tablet's copy goes

    page.context.set_offline(True)
    with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
        page.goto(f"{live_server}/patrol/rounds/logout-cache-01")
    assert guard.external == []


def test_unsent_entries_wait_for_their_engineer_across_logout(
    app: Flask, live_server: str, ipad
) -> None:
    _engineer_round(app, "logout-queue-01")
    page, guard = ipad
    dialogs: list[str] = []
    answer = {"dismiss": True}

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        if answer["dismiss"]:
            dialog.dismiss()
        else:
            dialog.accept()

    page.on("dialog", on_dialog)
    _open_round(page, live_server, "engineer", "logout-queue-01")
    # a dead zone for the answers only: they queue on the tablet, the logout still gets through
    page.route("**/patrol/rounds/*/answers", lambda route: route.abort("internetdisconnected"))
    _check(page, "no_water_leak", "pass")
    _check(page, "lighting", "fail")
    expect(page.locator("#patrol-net")).to_have_attribute("data-state", "offline")
    _wait_for(page, lambda: len(page.evaluate(OUTBOX) or []) == 2)
    assert page.evaluate(OUTBOX) == [
        ["answer", "Engineer", "no_water_leak", "pass"],
        ["answer", "Engineer", "lighting", "fail"],
    ]

    page.tap("#nav-logout")  # asked first; "cancel" keeps the engineer logged in
    _wait_for(page, lambda: len(dialogs) == 1)
    assert "2" in dialogs[0] and "Engineer" in dialogs[0] and "尚未发送" in dialogs[0]
    expect(page.locator("#nav-logout")).to_be_enabled()
    expect(page).to_have_url(f"{live_server}/patrol/rounds/logout-queue-01")
    assert page.evaluate(CACHES) == ["opskit-patrol-v1"]

    answer["dismiss"] = False
    page.tap("#nav-logout")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("html")).to_have_attribute("data-offline-forgotten", "1")
    assert len(dialogs) == 2 and dialogs[1] == dialogs[0]
    page.unroute("**/patrol/rounds/*/answers")
    assert page.evaluate(CACHES) == [] and page.evaluate(WORKERS) == 0
    assert len(page.evaluate(OUTBOX)) == 2  # kept on the tablet for the engineer
    assert sorted(page.evaluate(KEPT_ANSWERS)) == ["lighting", "no_water_leak"]
    expect(page.locator("#outbox-waiting")).to_contain_text("Engineer 的 2 条巡检记录")

    # the next user, on the same round and on the start page: nothing of it is sent as theirs
    _login(page, live_server, "supervisor", "/patrol/rounds/logout-queue-01")
    expect(page.locator("#patrol-round-view")).to_be_visible()  # someone else's round
    expect(page.locator("#outbox-waiting")).to_be_visible()
    expect(page.locator("#outbox-waiting")).to_contain_text("Engineer 的 2 条巡检记录")
    expect(page.locator("#outbox-waiting")).to_contain_text("Engineer 登录后自动发送")
    page.goto(f"{live_server}/patrol/rounds/new")
    expect(page.locator("html")).to_have_attribute("data-patrol-ready", "1", timeout=20_000)
    _wait_for(page, lambda: _flushed(page) >= 1)  # the page went through the outbox
    assert _count(app, PatrolAnswer) == 0
    assert not any("/answers" in url for url in guard.requests)
    assert len(page.evaluate(OUTBOX)) == 2
    page.tap("#nav-logout")
    expect(page).to_have_url(f"{live_server}/login")
    assert len(dialogs) == 2  # the supervisor had nothing waiting

    # the engineer is back: the queue goes out, as the engineer, and the notice is gone
    _open_round(page, live_server, "engineer", "logout-queue-01")
    _wait_for(page, lambda: _count(app, PatrolAnswer) == 2)
    expect(page.locator("#outbox-waiting")).to_be_hidden()
    with app.app_context():
        patrol = queries.find_round("logout-queue-01")
        values = {a.item_key: (a.value, a.answered_by) for a in patrol.answers}
        assert values == {"no_water_leak": ("pass", "engineer"), "lighting": ("fail", "engineer")}
    _wait_for(page, lambda: page.evaluate(OUTBOX) == [])
    expect(_item(page, "lighting").locator("input[value=fail]")).to_be_checked()
    assert guard.external == []


def test_logout_without_the_server_says_so(app: Flask, live_server: str, ipad) -> None:
    """No network when 退出登录 is tapped: the kept pages are removed all the same, and the
    engineer is told the server did not log them out (rather than a browser error page)."""
    _engineer_round(app, "logout-offline-01")
    page, _guard = ipad
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    _open_round(page, live_server, "engineer", "logout-offline-01")
    assert page.evaluate(CACHES) == ["opskit-patrol-v1"]
    # the logout request fails as in a Wi-Fi dead zone (a route, not set_offline: Playwright's
    # offline mode now and then lets a request of a service-worker-controlled page through)
    page.route(f"{live_server}/logout", lambda route: route.abort("internetdisconnected"))
    page.tap("#nav-logout")
    _wait_for(page, lambda: len(dialogs) == 1)
    assert "无法连接服务器，您仍处于登录状态" in dialogs[0]
    expect(page.locator("#nav-logout")).to_be_enabled()
    assert page.evaluate(CACHES) == [] and page.evaluate(WORKERS) == 0

    page.unroute(f"{live_server}/logout")
    page.tap("#nav-logout")
    expect(page).to_have_url(f"{live_server}/login")
    assert len(dialogs) == 1
