"""Scan a printed label on an iPad: a fake camera shows the QR code, the asset's page opens.

Chromium's fake camera plays a Y4M clip made here from the label's own QR code (labels.qr_code,
the function the sheet prints with): RGB converted to I420 by hand, a white quiet zone around
it, the code large in a 640x480 frame. Decoding runs in the page with the vendored
BarcodeDetector polyfill; its wasm must come from /static/vendor/zxing-wasm/.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect

from assets import labels
from assets.models import Rack
from assets.rack_labels import rack_label_url
from opskit import db
from tests import factories
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, new_context, screenshot

pytestmark = pytest.mark.browser

WIDTH, HEIGHT, FRAMES = 640, 480, 5
WASM = "/static/vendor/zxing-wasm/zxing_reader.wasm"
TAG = "SRV-A01-07"


def qr_rgb(content: str, width: int = WIDTH, height: int = HEIGHT) -> list[bytes]:
    """Rows of RGB pixels: the QR code of ``content``, as large as fits, centred on white."""
    matrix = [list(row) for row in labels.qr_code(content).matrix_iter(border=4)]
    modules = len(matrix)
    scale = int(min(width, height) * 0.9) // modules
    left, top = (width - modules * scale) // 2, (height - modules * scale) // 2
    white, black = b"\xff\xff\xff", b"\x00\x00\x00"
    rows = []
    for y in range(height):
        my = (y - top) // scale
        row = bytearray(white * width)
        if 0 <= y - top < modules * scale:
            for mx, dark in enumerate(matrix[my]):
                if dark:
                    x0 = (left + mx * scale) * 3
                    row[x0 : x0 + scale * 3] = black * scale
        rows.append(bytes(row))
    return rows


def rgb_to_i420(rows: list[bytes]) -> bytes:
    """Full-range BT.601 (what Y4M ``C420jpeg`` means): Y per pixel, U and V per 2x2 block."""
    height, width = len(rows), len(rows[0]) // 3
    y_plane = bytearray()
    for row in rows:
        for x in range(width):
            r, g, b = row[3 * x], row[3 * x + 1], row[3 * x + 2]
            y_plane.append(round(0.299 * r + 0.587 * g + 0.114 * b))
    u_plane, v_plane = bytearray(), bytearray()
    for y in range(0, height, 2):
        for x in range(0, width, 2):
            px = [rows[y + dy][3 * (x + dx) : 3 * (x + dx) + 3] for dy in (0, 1) for dx in (0, 1)]
            r = sum(p[0] for p in px) / 4
            g = sum(p[1] for p in px) / 4
            b = sum(p[2] for p in px) / 4
            u_plane.append(min(255, max(0, round(-0.168736 * r - 0.331264 * g + 0.5 * b + 128))))
            v_plane.append(min(255, max(0, round(0.5 * r - 0.418688 * g - 0.081312 * b + 128))))
    return bytes(y_plane + u_plane + v_plane)


def write_y4m(path: Path, content: str) -> Path:
    frame = rgb_to_i420(qr_rgb(content))
    assert len(frame) == WIDTH * HEIGHT * 3 // 2
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(FRAMES):
            out.write(b"FRAME\n" + frame)
    return path


@pytest.fixture
def seeded(app: Flask) -> dict[str, int]:
    with app.app_context():
        rack = factories.rack(site="总部", room="A机房", name="A01")
        ids = {}
        for n, (tag, name, kind) in enumerate(
            [
                (TAG, "数据库服务器", "server"),
                ("SW-A01-42", "接入交换机", "switch"),
                ("FW-A01-40", "出口防火墙", "firewall"),
                ("UPS-A-01", "UPS 主机 1#", "ups"),
                ("PDU-A01-L", "机柜 PDU 左", "pdu"),
            ]
        ):
            u_height = 0 if kind == "pdu" else 1
            asset = factories.asset(
                tag, kind=kind, name=name, rack=rack, u_position=7 + 3 * n, u_height=u_height
            )
            ids[tag] = asset.id
        db.session().commit()
        ids["rack"] = rack.id
        return ids


@pytest.fixture
def camera_page(playwright_session, live_server: str, tmp_path: Path, seeded) -> Iterator:
    """A separate Chromium whose camera shows the label of TAG; iPad Mini, zh-CN, camera allowed."""
    clip = write_y4m(tmp_path / "label.y4m", labels.label_url(TAG, live_server))
    browser = playwright_session.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            *CHROMIUM_ARGS,
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}",
        ],
    )
    context, guard = new_context(playwright_session, browser, "iPad Mini landscape")
    context.grant_permissions(["camera"], origin=live_server)
    page = context.new_page()
    try:
        yield page, guard
    finally:
        context.close()
        browser.close()


def log_in(page, live_server: str, name: str = "engineer") -> None:
    page.goto(live_server + "/login")
    page.fill("#username", name)
    page.fill("#password", f"{name}-password-1")
    page.tap("#login-submit")
    expect(page).to_have_url(live_server + "/")


def expect_asset_page(page, app: Flask, live_server: str, asset_id: int) -> None:
    expect(page).to_have_url(f"{live_server}/assets/{asset_id}", timeout=20_000)
    if "assets.detail" in app.view_functions:  # the detail page is built in parallel
        expect(page.get_by_text(TAG).first).to_be_visible()


def test_scan_label_with_camera_opens_the_asset(
    camera_page, live_server: str, app: Flask, seeded
) -> None:
    page, guard = camera_page
    log_in(page, live_server)

    # printed from 127.0.0.1, so the labels lead to this computer only: confirmed on purpose
    page.goto(f"{live_server}/labels/sheet?rack_id={seeded['rack']}&layout=a4-3x8&print_anyway=1")
    expect(page.locator(".label[data-tag]")).to_have_count(5)
    expect(page.locator("#label-loopback")).to_be_visible()
    expect(page.locator(f'.label[data-tag="{TAG}"] .label-location')).to_have_text(
        "总部 / A机房 / A01 / U7"
    )
    box = page.locator(".label-page").first.bounding_box()
    assert box is not None and abs(box["width"] - 210 * 96 / 25.4) < 2  # 210 mm at 96 px/in
    screenshot(page, "label-sheet")

    page.goto(live_server + "/scan")
    expect(page.locator("h1")).to_have_text("扫描标签")
    start = page.locator("#scan-start")
    start_box = start.bounding_box()
    assert start_box is not None and start_box["height"] >= 44
    start.tap()
    expect_asset_page(page, app, live_server, seeded[TAG])

    assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"
    assert any(url.startswith(live_server + WASM) for url in guard.requests), guard.requests
    assert any("/barcode-detector/barcode-detector.polyfill.js" in u for u in guard.requests)


def test_photo_of_the_label_opens_the_asset(ipad, live_server: str, app: Flask, seeded) -> None:
    """The fallback for plain HTTP: a photo (here a PNG of the label's code) is decoded too."""
    page, guard = ipad
    log_in(page, live_server, "viewer")
    page.goto(live_server + "/scan")
    png = io.BytesIO()
    labels.qr_code(labels.label_url(TAG, live_server)).save(png, kind="png", scale=10, border=4)
    page.set_input_files(
        "#scan-photo", {"name": "label.png", "mimeType": "image/png", "buffer": png.getvalue()}
    )
    expect_asset_page(page, app, live_server, seeded[TAG])
    assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"


def test_photo_of_a_rack_label_opens_the_rack(ipad, live_server: str, app: Flask, seeded) -> None:
    """A rack's door label (``assets.rack_labels``: ``<base>/r?site=&room=&rack=``) scanned on
    /scan opens the rack's page."""
    page, guard = ipad
    log_in(page, live_server, "viewer")
    with app.app_context():
        url = rack_label_url(db.session().get(Rack, seeded["rack"]), live_server)
    assert "/r?site=" in url
    page.goto(live_server + "/scan")
    png = io.BytesIO()
    labels.qr_code(url).save(png, kind="png", scale=10, border=4)
    page.set_input_files(
        "#scan-photo", {"name": "rack.png", "mimeType": "image/png", "buffer": png.getvalue()}
    )
    expect(page).to_have_url(f"{live_server}/assets/racks/{seeded['rack']}", timeout=20_000)
    assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"


def _photo_of_a_foreign_code(page) -> None:
    """The engineer takes a photo of a QR code that is not an opskit label (a Wi-Fi code)."""
    foreign = io.BytesIO()
    labels.qr_code("WIFI:S:guest;;").save(foreign, kind="png", scale=10, border=4)
    page.set_input_files(
        "#scan-photo", {"name": "x.png", "mimeType": "image/png", "buffer": foreign.getvalue()}
    )


def test_photo_without_a_label_says_so(ipad, live_server: str, seeded) -> None:
    page, guard = ipad
    log_in(page, live_server)
    page.goto(live_server + "/scan")
    _photo_of_a_foreign_code(page)
    expect(page.locator("#scan-status")).to_have_text("这不是 opskit 标签：WIFI:S:guest;;")
    expect(page).to_have_url(live_server + "/scan")

    page.fill("#scan-tag", TAG)
    page.tap("#scan-type-submit")
    expect(page).to_have_url(f"{live_server}/assets/{seeded[TAG]}")
    assert guard.external == []


def test_a_slow_camera_check_does_not_hide_what_the_photo_found(
    ipad, live_server: str, seeded
) -> None:
    """The camera check finishes after a photo was read (a busy tablet): the photo's message
    stays, the missing camera still disables the camera button."""
    page, guard = ipad
    page.add_init_script(
        """(() => {
          const real = navigator.mediaDevices.enumerateDevices.bind(navigator.mediaDevices);
          let release;
          const released = new Promise((resolve) => { release = resolve; });
          window.__releaseDevices = release;
          navigator.mediaDevices.enumerateDevices = async () => { await released; return real(); };
        })()"""
    )
    log_in(page, live_server)
    page.goto(live_server + "/scan")
    _photo_of_a_foreign_code(page)
    status = page.locator("#scan-status")
    expect(status).to_have_text("这不是 opskit 标签：WIFI:S:guest;;")
    page.evaluate("window.__releaseDevices()")
    expect(page.locator("#scan-start")).to_be_disabled()  # the check has finished
    expect(status).to_have_text("这不是 opskit 标签：WIFI:S:guest;;")
    assert guard.external == []
