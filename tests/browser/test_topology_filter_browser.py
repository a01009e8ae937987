"""The topology for one room in real Chromium on an iPad: pick a site, then a room, from the
touch-sized selects; the URL keeps the choice and the graph redraws with fewer devices, the
far ends of the room's uplinks drawn as outside the filter."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.monitors.test_topology_filter import seed_rooms

pytestmark = pytest.mark.browser


def test_pick_a_room_on_the_ipad(app, live_server: str, ipad) -> None:
    with app.app_context():
        s = seed_rooms()
    page, guard = ipad
    page.goto(live_server + "/login?next=/monitoring/topology")
    page.fill("#username", "viewer")
    page.fill("#password", "viewer-password-1")
    page.tap("#login-submit")
    graph = page.locator("#topology")
    expect(graph).to_have_attribute("data-nodes", "6")  # every site: 5 devices and an AP
    expect(graph).to_have_attribute("data-outside", "0")
    site, room = page.locator("#topology-site"), page.locator("#topology-room")
    assert site.bounding_box()["height"] >= 44 and room.bounding_box()["height"] >= 44
    expect(room.locator("option")).to_have_count(4)  # 全部机房 and the three rooms

    site.select_option(str(s.branch))
    expect(page).to_have_url(f"{live_server}/monitoring/topology?site={s.branch}")
    expect(room.locator("option")).to_have_text(["全部机房", "C机房"])
    expect(graph).to_have_attribute("data-nodes", "4")
    expect(graph).to_have_attribute("data-outside", "2")  # SW-B and SW-A, in 总部

    site.select_option(str(s.hq))  # another site: its rooms, none chosen
    expect(page).to_have_url(f"{live_server}/monitoring/topology?site={s.hq}")
    expect(room.locator("option")).to_have_text(["全部机房", "A机房", "B机房"])
    expect(graph).to_have_attribute("data-nodes", "6")
    room.select_option(str(s.room_a))
    expect(page).to_have_url(f"{live_server}/monitoring/topology?site={s.hq}&room={s.room_a}")
    expect(page.locator("#topology-scope")).to_have_text("总部 · A机房")
    expect(graph).to_have_attribute("data-nodes", "4")
    expect(graph).to_have_attribute("data-edges", "3")
    expect(graph).to_have_attribute("data-outside", "2")  # SW-B (room B), SRV-C (分部)
    expect(graph.locator("canvas")).to_have_count(1)

    room.select_option("")  # back to the whole site
    expect(page).to_have_url(re.compile(rf"/monitoring/topology\?site={s.hq}$"))
    expect(graph).to_have_attribute("data-nodes", "6")
    assert guard.external == []
