"""Topology and the asset page's monitoring in real Chromium on an iPad: tap a node of the
graph, land on its asset page, see its live values and a drawn trend chart, then its rack
coloured by device state."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.dashboard.seed import seed

pytestmark = pytest.mark.browser

NODE_POSITION = """(name) => {
  const chart = echarts.getInstanceByDom(document.getElementById("topology"));
  const data = chart.getModel().getSeriesByIndex(0).getData();
  for (let i = 0; i < data.count(); i++) {
    if (data.getName(i) === name) return data.getItemLayout(i);
  }
  return null;
}"""


def test_tap_topology_node_then_asset_monitoring(app, live_server: str, ipad) -> None:
    with app.app_context():
        s = seed()
    page, guard = ipad
    page.goto(live_server + "/login?next=/monitoring/topology")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")
    graph = page.locator("#topology")
    expect(graph).to_have_attribute("data-nodes", "2")
    expect(graph).to_have_attribute("data-edges", "1")
    page.wait_for_timeout(1500)  # let the force layout settle
    screenshot(page, "topology")
    box = graph.bounding_box()
    x, y = page.evaluate(NODE_POSITION, "SRV-01")
    page.mouse.click(box["x"] + x, box["y"] + y)
    expect(page).to_have_url(f"{live_server}/assets/{s.server_id}")

    # the monitoring panel arrives by htmx: live values, a trend chart, the probe form
    row = page.locator(
        '#asset-readings tr[data-metric="host.storage.used_percent"][data-instance="/var"]'
    )
    expect(row.locator('[data-field="value"]')).to_have_text("93.4%")
    expect(row.locator('[data-field="label"]')).to_have_text("存储使用率")
    chart = page.locator(".opskit-trend").first
    expect(chart).to_have_attribute("data-points", "1")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart).to_have_attribute("data-resolution", "0")
    page.locator('#trend-ranges [data-range="7d"]').tap()  # a week: from the 5-minute rollups
    expect(chart).to_have_attribute("data-resolution", "300")
    expect(chart).to_have_attribute("data-points", "1")  # no rollups yet: the raw reading
    expect(page.locator("#probe-form")).to_have_count(1)
    screenshot(page, "asset-monitoring")

    # its rack: every mounted device filled with its state
    page.locator("#asset-rack-link").tap()
    expect(page.locator('[data-asset-tag="SRV-02"]')).to_have_attribute("data-state", "down")
    expect(page.locator('[data-asset-tag="SW-01"]')).to_have_attribute("data-state", "up")
    colour = page.locator('[data-asset-tag="SRV-01"]').evaluate(
        "el => getComputedStyle(el).backgroundColor"
    )
    assert colour == "rgb(253, 126, 20)"  # open alert: orange
    screenshot(page, "rack-states")
    assert guard.external == []
