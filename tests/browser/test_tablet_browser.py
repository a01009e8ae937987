"""The tablet's ergonomics, measured in real Chromium on an iPad held both ways (landscape
1024x768, portrait 768x1024, zh-CN), on the demo site's data (the registry, two weeks of
readings, alerts, rounds and the logbook that a new engineer sees):

- every visible tappable element of every main page is at least 44 x 44 CSS px;
- the asset table keeps tags, dates, IPs and status words on one line and fits the screen, and
  the search box shows its whole placeholder, upright;
- a percentage's chart axis ends at 100 and an uptime is drawn in days;
- the topology's visible labels never overlap;
- /favicon.ico, the app icons and the manifest answer without login, every page links them, and
  no page asks for anything that answers 404.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from opskit import db
from opskit.server import build_server
from tests.browser.conftest import guarded_context, screenshot
from tests.conftest import copy_demo, make_test_app

# one demo site per module fixture: its tests share one worker
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("tablet")]

MIN_TAP = 44  # CSS px (Apple: 44 pt; WCAG 2.5.5)
VIEWPORTS = {"landscape": "iPad Mini landscape", "portrait": "iPad Mini"}  # 1024x768, 768x1024

# Every visible tappable element, measured with getBoundingClientRect. A checkbox or radio that is
# visually hidden (Bootstrap's .btn-check) is tapped through its label, so the label is measured.
# Disabled links (pointer-events: none) are not targets.
MEASURE_JS = """
(minimum) => {
  const selector = 'a[href], button, input[type=checkbox], input[type=radio], input[type=submit],'
    + ' select, summary, label:has(> input[type=checkbox]), label:has(> input[type=radio]),'
    + ' [role=button]';
  const hidden = (st) => st.clip === 'rect(0px, 0px, 0px, 0px)' || st.clipPath === 'inset(50%)';
  const out = [];
  for (let el of document.querySelectorAll(selector)) {
    let st = getComputedStyle(el);
    if (el.matches('input') && hidden(st)) {
      const label = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
      if (!label) continue;
      el = label;
      st = getComputedStyle(el);
    } else if (hidden(st) || st.pointerEvents === 'none') {
      continue;
    }
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || st.visibility === 'hidden') continue;
    if (r.width >= minimum && r.height >= minimum) continue;
    const classes = typeof el.className === 'string' && el.className.trim()
      ? '.' + el.className.trim().split(/\\s+/).slice(0, 3).join('.') : '';
    const text = (el.innerText || el.value || el.getAttribute('aria-label') || '').trim()
      .replace(/\\s+/g, ' ').slice(0, 30);
    out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${classes} "${text}"`
      + ` ${Math.round(r.width)}x${Math.round(r.height)}`);
  }
  return out;
}
"""

# How many lines an element's text takes (its text boxes grouped by their top edge).
LINES_JS = """
(el) => {
  const tops = [];
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    if (!walker.currentNode.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(walker.currentNode);
    for (const r of range.getClientRects()) {
      if (r.width && !tops.some((t) => Math.abs(t - r.top) < 4)) tops.push(r.top);
    }
  }
  return tops.length;
}
"""

# Each body row's cells: innerText, lines (LINES_JS) and whether it is
# visible as Playwright means it (a non-empty box, not visibility: hidden).
CELLS_JS = (
    """
(table) => {
  const lines = """
    + LINES_JS.strip()
    + """;
  return [...table.querySelectorAll('tbody tr')].map((row) =>
    [...row.querySelectorAll(':scope > td')].map((td) => {
      const box = td.getBoundingClientRect();
      const visible = box.width > 0 && box.height > 0
        && getComputedStyle(td).visibility !== 'hidden';
      return {text: td.innerText, lines: lines(td), visible};
    }));
}
"""
)


# Does the placeholder fit the box it is typed in? (its text measured in the input's own font)
PLACEHOLDER_JS = """
(input) => {
  const st = getComputedStyle(input);
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = st.font;
  const room = input.clientWidth - parseFloat(st.paddingLeft) - parseFloat(st.paddingRight);
  return {text: ctx.measureText(input.placeholder).width, room};
}
"""

# The topology's visible labels (zrender text elements) that overlap one another.
OVERLAPS_JS = """
() => {
  const chart = echarts.getInstanceByDom(document.getElementById('topology'));
  const boxes = [];
  chart.getZr().storage.getDisplayList(true).forEach((el) => {
    if ((el.type !== 'text' && el.type !== 'tspan') || el.ignore || el.invisible) return;
    if (!el.style || !el.style.text) return;
    const r = el.getBoundingRect().clone();
    if (el.transform) r.applyTransform(el.transform);
    boxes.push([el.style.text, r]);
  });
  const where = boxes.map(([t, r]) => `${t}@${Math.round(r.x)},${Math.round(r.y)}`).join(';');
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (ra.x < rb.x + rb.width && rb.x < ra.x + ra.width
          && ra.y < rb.y + rb.height && rb.y < ra.y + ra.height) overlaps.push(`${a} / ${b}`);
    }
  }
  return {labels: boxes.length, overlaps, where};
}
"""


@dataclass
class DemoSite:
    app: Flask
    url: str
    pages: dict[str, str]  # name -> path
    ups: int  # ZJ-UPS-A1: battery charge (a percentage)
    server: int  # ZJ-SRV-003: uptime


def _pages() -> tuple[dict[str, str], int, int]:
    from assets.models import Asset, Prefix, Rack
    from inspections.logbook.models import AccessEntry, PowerEvent
    from inspections.models import PatrolPlan, PatrolRound
    from inspections.vulns.models import VulnFinding, VulnScan
    from monitors.models import Monitor
    from opskit.alerts.models import Alert, Incident
    from opskit.models import User

    s = db.session()

    def first(column, *where):
        value = s.scalar(select(column).where(*where).order_by(column).limit(1))
        assert value is not None, f"the demo has no {column}"
        return value

    ups = first(Asset.id, Asset.asset_tag == "ZJ-UPS-A1")
    server = first(Asset.id, Asset.asset_tag == "ZJ-SRV-003")
    round_ = first(PatrolRound.client_id, PatrolRound.status != "draft")
    pages = {
        "home": "/",
        "asset list": "/assets/",
        "asset detail (UPS)": f"/assets/{ups}",
        "asset detail (server)": f"/assets/{server}",
        "asset form": f"/assets/{server}/edit",
        "rack": f"/assets/racks/{first(Rack.id)}",
        "locations": "/assets/locations/",
        "prefixes": "/assets/prefixes/",
        "prefix": f"/assets/prefixes/{first(Prefix.id)}",
        "links": "/assets/links/",
        "labels": "/labels/",
        "warranty": "/assets/warranty",
        "scan": "/scan",
        "import": "/assets/excel/",
        "monitors": "/monitoring/",
        "monitor form": f"/monitoring/monitors/{first(Monitor.id)}/edit",
        "topology": "/monitoring/topology",
        "patrol": "/patrol/",
        "patrol today": "/patrol/today",
        "patrol history": "/patrol/history",
        "patrol round": f"/patrol/rounds/{round_}",
        "new round": "/patrol/rounds/new",
        "findings": "/patrol/findings",
        "trends": "/patrol/trends",
        "patrol plans": "/patrol/admin/plans",
        "plan form": f"/patrol/admin/plans/{first(PatrolPlan.id)}",
        "new plan": "/patrol/admin/plans/new",
        "checklists": "/patrol/admin/checklists",
        "checklist": "/patrol/admin/checklists/room_environment",
        "logbook": "/patrol/logbook/",
        "access form": "/patrol/logbook/access/new",
        "access correction": f"/patrol/logbook/access/{first(AccessEntry.id)}/edit",
        "power form": "/patrol/logbook/power/new",
        "power correction": f"/patrol/logbook/power/{first(PowerEvent.id)}/edit",
        "alerts": "/alerts/",
        "alert": f"/alerts/{first(Alert.id, Alert.status == 'firing')}",
        "incidents": "/incidents/",
        "incident": f"/incidents/{first(Incident.id)}",
        "reports": "/reports/",
        "vulnerabilities": "/vulns/",
        "scan history": "/vulns/scans",
        "scan import": "/vulns/import",
        "vulnerability": f"/vulns/findings/{first(VulnFinding.id)}",
        "scan page": f"/vulns/scans/{first(VulnScan.id)}",
        "account": "/account",
        "users": "/admin/users",
        "user form": f"/admin/users/{first(User.id, User.username == 'engineer')}",
    }
    return pages, ups, server


@pytest.fixture(scope="session")  # once per worker: see tests/conftest.py
def demo_site(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[DemoSite]:
    """The demo site (what `opskit demo` creates) served on a free port, for this module."""
    tmp = tmp_path_factory.mktemp("tablet")
    app = make_test_app(copy_demo(demo_template, tmp), tmp / "instance", None)
    with app.app_context():
        pages, ups, server_id = _pages()
    server = build_server(app, "127.0.0.1", 0, threads=8)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield DemoSite(app, f"http://127.0.0.1:{server.bind_addr[1]}", pages, ups, server_id)
    finally:
        server.stop()
        thread.join(timeout=10)
        app.extensions["opskit.engine"].dispose()


@contextlib.contextmanager
def _ipad(demo_site: DemoSite, playwright_session, browser, held: str) -> Iterator[tuple]:
    """The admin logged in on an iPad held ``held`` (landscape or portrait): (page, guard).

    Every answer of 400 or more is listed in ``page.failed`` (url, status)."""
    settings = dict(playwright_session.devices[VIEWPORTS[held]])
    settings.pop("default_browser_type", None)
    # sizes are measured, not offline use: the patrol pages' service worker stays out (its own
    # requests do not carry the emulated iPad's user agent, which a server session may check)
    settings["service_workers"] = "block"
    context, guard = guarded_context(browser, settings)
    try:
        page = context.new_page()
        page.failed = []
        page.on(
            "response",
            lambda r: page.failed.append((r.url, r.status)) if r.status >= 400 else None,
        )
        page.network = _Network(page)
        page.goto(f"{demo_site.url}/login?next=/")
        page.fill("#username", "admin")
        page.fill("#password", "admin-password-1")
        page.locator("#login-submit").click()
        page.wait_for_url(f"{demo_site.url}/")
        yield page, guard
    finally:
        context.close()


@pytest.fixture(params=list(VIEWPORTS))
def tablet(request, demo_site: DemoSite, playwright_session, browser) -> Iterator[tuple]:
    """The admin logged in on an iPad held ``landscape`` or ``portrait``: (page, guard, name)."""
    with _ipad(demo_site, playwright_session, browser, request.param) as (page, guard):
        yield page, guard, request.param


@pytest.fixture
def ipad(demo_site: DemoSite, playwright_session, browser) -> Iterator[tuple]:
    """The admin on an iPad held landscape, to be turned (``_turn``): (page, guard)."""
    with _ipad(demo_site, playwright_session, browser, "landscape") as pair:
        yield pair


def _turn(page, playwright_session, held: str) -> None:
    """Hold the iPad ``held``: the viewport changes as when it turns (no reload), and the
    measuring waits until the page has laid itself out again."""
    size = playwright_session.devices[VIEWPORTS[held]]["viewport"]
    page.set_viewport_size(size)
    page.evaluate(
        "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )


class _Network:
    """The page's requests: how many it has made, and which are still in flight."""

    def __init__(self, page) -> None:
        self.started = 0
        self.in_flight: set = set()
        page.on("request", self._start)
        page.on("requestfinished", self._end)
        page.on("requestfailed", self._end)

    def _start(self, request) -> None:
        self.started += 1
        self.in_flight.add(request)

    def _end(self, request) -> None:
        self.in_flight.discard(request)


#: how long no request may be in flight or start before a loaded page counts as settled
QUIET_MS = 150


def _visit(page, url: str) -> None:
    """Open ``url`` and wait until it has settled: loaded, and nothing it fetches once loaded
    (htmx fragments, chart data) in flight or started for QUIET_MS. (Playwright's
    ``networkidle`` waits 500 ms of quiet: a third of the 44 px walk's time.)"""
    network = page.network
    page.goto(url, wait_until="load")
    for _ in range(30_000 // QUIET_MS):  # Playwright's own bound: 30 s
        started = network.started
        page.wait_for_timeout(QUIET_MS)  # Playwright delivers the page's events meanwhile
        if not network.in_flight and network.started == started:
            return
    pytest.fail(f"{url} still fetching after 30 s: {[r.url for r in network.in_flight]}")


def test_every_tappable_element_is_at_least_44_px(
    demo_site: DemoSite, ipad, playwright_session
) -> None:
    """Each page is loaded once and measured held both ways (turned, as an engineer does)."""
    page, guard = ipad
    offenders: list[str] = []
    unlinked: list[str] = []
    for title, path in demo_site.pages.items():
        _visit(page, demo_site.url + path)
        assert "/login" not in page.url, f"{title}: {path} sent to the login page"
        for held in ("landscape", "portrait"):
            _turn(page, playwright_session, held)
            small = page.evaluate(MEASURE_JS, MIN_TAP)
            offenders += [f"{title} ({path}, {held}): {what}" for what in small]
        _turn(page, playwright_session, "landscape")
        links = page.evaluate(
            "() => ['icon', 'apple-touch-icon', 'manifest']"
            ".filter((rel) => !document.querySelector(`head link[rel=${rel}]`))"
        )
        if links:
            unlinked.append(f"{title}: no {', '.join(links)}")
    # portrait: the navigation folds into the menu button: open it, measure it
    _turn(page, playwright_session, "portrait")
    _visit(page, demo_site.url + "/")
    page.locator(".navbar-toggler").click()
    page.locator("#nav-main.show").wait_for()
    page.wait_for_timeout(400)  # the collapse animation
    offenders += [f"menu (portrait): {what}" for what in page.evaluate(MEASURE_JS, MIN_TAP)]
    assert not offenders, (
        f"{len(offenders)} tappable elements under {MIN_TAP}x{MIN_TAP} px on the iPad:\n"
        + "\n".join(offenders)
    )
    assert not unlinked, unlinked
    assert page.failed == [], page.failed  # no 404 (favicon, icons) on any page
    assert guard.external == []


def test_asset_table_keeps_tags_dates_and_ips_on_one_line(demo_site: DemoSite, tablet) -> None:
    page, _guard, name = tablet
    _visit(page, demo_site.url + "/assets/")
    table = page.locator("#asset-table")
    lines = {"tag": [], "date": [], "IP": [], "status": []}
    # every cell's text, line count and visibility in one round trip (a call per cell took 20 s)
    rows = table.evaluate(CELLS_JS)
    for cells in rows:
        lines["tag"].append((cells[0]["text"], cells[0]["lines"]))
        for cell in cells[1:]:
            text = cell["text"].strip()
            kind = (
                "date"
                if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)
                else "IP"
                if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", text)
                else "status"
                if text in {"在用", "备件", "维修中", "已退役", "已报废"}
                else None
            )
            if kind and cell["visible"]:
                lines[kind].append((text, cell["lines"]))
    for kind, found in lines.items():
        assert found, f"no {kind} in the asset table"
        broken = [text for text, n in found if n != 1]
        assert not broken, f"{kind} broken over lines at {name}: {broken}"
    assert any(text.startswith("ZJ-ENV-") for text, _ in lines["tag"])
    # the table reflows: no sideways scrolling, in its box or on the page
    wrapper = page.locator("#asset-results .table-responsive")
    assert wrapper.evaluate("(el) => el.scrollWidth - el.clientWidth") <= 0
    assert page.evaluate("document.documentElement.scrollWidth - innerWidth") <= 0
    # the search box shows its whole placeholder
    fit = page.locator("#q").evaluate(PLACEHOLDER_JS)
    assert fit["text"] <= fit["room"], f"search placeholder cut off at {name}: {fit}"
    if name == "portrait":
        screenshot(page, "tablet-assets-portrait")


def _chart(page, metric: str):
    chart = page.locator(f'.opskit-trend[data-src*="metric={metric}"]')
    chart.and_(page.locator("[data-points]")).wait_for()
    return chart


def test_percent_axes_end_at_100_and_uptime_is_in_days(demo_site: DemoSite, tablet) -> None:
    page, _guard, _name = tablet
    _visit(page, f"{demo_site.url}/assets/{demo_site.ups}")
    charge = _chart(page, "ups.battery.charge_percent")
    axis = charge.evaluate(
        """(el) => {
        const chart = echarts.getInstanceByDom(el);
        const y = chart.getOption().yAxis[0];
        return {min: y.min, max: y.max,
                extent: chart.getModel().getComponent('yAxis', 0).axis.scale.getExtent(),
                label: y.axisLabel.formatter(100)};
    }"""
    )
    assert axis["max"] == 100 and axis["min"] == 0, axis
    assert axis["extent"] == [0, 100], axis
    assert axis["label"] == "100%"

    _visit(page, f"{demo_site.url}/assets/{demo_site.server}")
    uptime = _chart(page, "host.uptime_seconds")
    assert uptime.get_attribute("data-shown-unit") == "天"
    heading = page.locator('#asset-charts div[data-metric="host.uptime_seconds"]')
    assert "(天)" in heading.inner_text() and "秒" not in heading.inner_text()
    shown = uptime.evaluate(
        """async (el) => {
        const chart = echarts.getInstanceByDom(el);
        const raw = await (await fetch(el.dataset.src + '&range=24h')).json();
        const option = chart.getOption();
        return {raw: raw.points.map((p) => p[1]), drawn: option.series[0].data.map((p) => p[1]),
                label: option.yAxis[0].axisLabel.formatter(194),
                extent: chart.getModel().getComponent('yAxis', 0).axis.scale.getExtent()};
    }"""
    )
    assert shown["raw"] and len(shown["drawn"]) == len(shown["raw"])
    assert min(shown["raw"]) > 86400  # the demo's servers have been up for months
    for raw, drawn in zip(shown["raw"], shown["drawn"], strict=True):
        assert drawn == pytest.approx(raw / 86400)
    assert shown["label"] == "194 天"
    assert shown["extent"][1] < 1000  # days on the axis, not 16,780,000 seconds


def test_topology_labels_do_not_overlap(demo_site: DemoSite, tablet) -> None:
    page, _guard, name = tablet
    _visit(page, demo_site.url + "/monitoring/topology")
    page.locator("#topology[data-nodes]").wait_for()
    nodes = int(page.locator("#topology").get_attribute("data-nodes"))
    # measured once the drawing holds still (two looks 250 ms apart agree): a busy CI machine
    # measured the labels while the graph was still being drawn and zoomed to fit (two crossing)
    found = page.evaluate(OVERLAPS_JS)
    for _ in range(20):  # at most 5 s
        page.wait_for_timeout(250)
        again = page.evaluate(OVERLAPS_JS)
        if again["where"] == found["where"]:
            break
        found = again
    assert found["overlaps"] == [], f"overlapping labels at {name}: {found['overlaps']}"
    assert found["labels"] >= nodes * 0.75, (found["labels"], nodes)  # most names still shown
    if name == "portrait":
        screenshot(page, "tablet-topology-portrait")


def test_icons_and_manifest_are_served_without_login(app: Flask) -> None:
    client = app.test_client()

    def get(path: str) -> tuple[int, str, bytes]:
        with client.get(path) as response:
            return response.status_code, response.mimetype, response.get_data()

    status, mimetype, data = get("/favicon.ico")
    assert (status, mimetype) == (200, "image/vnd.microsoft.icon")
    assert Image.open(io.BytesIO(data)).ico.sizes() >= {(16, 16), (32, 32), (48, 48)}

    status, mimetype, data = get("/manifest.webmanifest")
    assert (status, mimetype) == (200, "application/manifest+json")
    body = json.loads(data)
    assert body["name"] == "opskit" and body["start_url"] == "/"
    sizes = set()
    for icon in body["icons"]:
        status, mimetype, data = get(icon["src"])
        assert (status, mimetype) == (200, "image/png"), icon
        width, height = Image.open(io.BytesIO(data)).size
        assert icon["sizes"] == f"{width}x{height}"
        sizes.add(width)
    assert {192, 512} <= sizes

    for path in ("/apple-touch-icon.png", "/apple-touch-icon-precomposed.png"):
        status, _mimetype, data = get(path)
        assert status == 200 and Image.open(io.BytesIO(data)).size == (180, 180)

    _status, _mimetype, data = get("/login")  # linked before anyone logs in
    login = data.decode()
    for rel in ("icon", "apple-touch-icon", "manifest"):
        link = re.search(rf'<link rel="{rel}" href="([^"]+)"', login)
        assert link, rel
        assert get(link.group(1).replace("&amp;", "&"))[0] == 200, link.group(1)
