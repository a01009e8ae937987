"""QR labels: the QR code holds the label URL, /a/<tag> resolves, the sheet prints the choice."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

import pytest
import segno
from flask import Flask
from flask.testing import FlaskClient

from assets import labels
from assets.models import Asset
from opskit import db
from tests import factories
from tests.conftest import login, post_form

A4_WIDTH, A4_HEIGHT = 210.0, 297.0

#: The server's address on the machine room's network, as a tablet would open it.
LAN_HOST = "192.168.10.5:5000"


def from_the_lan(app: Flask) -> None:
    """Requests of the app's test clients come in on LAN_HOST instead of ``localhost`` (a label
    sheet printed from ``localhost`` is refused unless confirmed)."""
    app.config["SERVER_NAME"] = LAN_HOST


@pytest.fixture
def seeded(db_app: Flask) -> dict[str, int]:
    """Three assets: two in rack A01 of room A机房, one in room B机房 without a rack."""
    with db_app.app_context():
        rack = factories.rack(site="总部", room="A机房", name="A01")
        other = factories.rack(site="总部", room="B机房", name="B01")
        a = factories.asset("SRV-001", name="应用服务器 1", rack=rack, u_position=10, u_height=2)
        b = factories.asset("SW-CORE", kind="switch", name="核心交换机", rack=rack, u_position=40)
        c = factories.asset("机房/UPS#1", kind="ups", name="UPS 主机", room=other.room)
        db.session().commit()
        return {"a": a.id, "b": b.id, "c": c.id, "rack": rack.id, "room_b": other.room.id}


def svg_matrix(svg: str) -> list[list[bool]]:
    """The dark modules of a segno SVG (one stroked path of horizontal runs), border included."""
    size = int(re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).group(1))  # type: ignore[union-attr]
    path = re.search(r'<path class="qrline"[^>]* d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    grid = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, args in re.findall(r"([MmHhVvZz])([^MmHhVvZz]*)", path):
        nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if op == "M":
            x, y = nums
        elif op == "m":
            x, y = x + nums[0], y + nums[1]
        elif op == "h":
            for col in range(int(x), int(x + nums[0])):
                grid[int(y)][col] = True
            x += nums[0]
        else:
            raise AssertionError(f"unexpected path command {op}")
    return grid


def segno_matrix(content: str) -> list[list[bool]]:
    qr = segno.make_qr(content, error=labels.QR_ERROR)
    return [[bool(v) for v in row] for row in qr.matrix_iter(border=4)]


def label_cells(html: str) -> list[tuple[str, str]]:
    """(tag, location) of every printed label, in sheet order."""
    found = re.findall(
        r'<div class="label" data-tag="([^"]*)".*?'
        r'(?:<div class="label-location">([^<]*)</div>|</div>\s*</div>)',
        html,
        flags=re.S,
    )
    return [(unescape(tag), unescape(loc)) for tag, loc in found]


# --- the QR code ------------------------------------------------------------------------------


def test_qr_svg_is_a_normal_qr_of_the_label_url(db_client: FlaskClient, seeded) -> None:
    login(db_client, "viewer")
    response = db_client.get(f"/labels/qr/{seeded['a']}.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)

    expected_url = "http://localhost/a/SRV-001"
    qr = segno.make_qr(expected_url, error=labels.QR_ERROR)
    assert not qr.is_micro and qr.version >= 1
    assert svg_matrix(svg) == segno_matrix(expected_url)  # the served code holds exactly that URL
    assert svg_matrix(svg) != segno_matrix("http://localhost/a/SRV-002")


def test_label_url_quotes_the_tag_and_follows_base_url(db_app: Flask, seeded) -> None:
    client = db_app.test_client()
    login(client, "engineer")
    db_app.config["BASE_URL"] = "https://opskit.lan:8443/"
    svg = client.get(f"/labels/qr/{seeded['c']}.svg").get_data(as_text=True)
    url = "https://opskit.lan:8443/a/" + quote("机房/UPS#1", safe="")
    assert url.endswith("/a/%E6%9C%BA%E6%88%BF%2FUPS%231")
    assert svg_matrix(svg) == segno_matrix(url)


def test_short_content_still_makes_a_normal_qr() -> None:
    assert segno.make("A1").is_micro  # why labels.qr_code insists on make_qr
    qr = labels.qr_code("A1")
    assert not qr.is_micro and qr.version == 1
    assert qr.error in ("Q", "H")  # at least Q; segno raises it when that costs no version


def test_qr_of_unknown_asset_is_404(client: FlaskClient) -> None:
    login(client, "viewer")
    assert client.get("/labels/qr/999.svg").status_code == 404


# --- where a label leads ----------------------------------------------------------------------


def test_label_url_redirects_to_the_asset(db_client: FlaskClient, seeded) -> None:
    login(db_client, "viewer")
    response = db_client.get("/a/SRV-001")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/assets/{seeded['a']}"
    # a tag with "/", "#" and Chinese, percent-encoded as on the label
    response = db_client.get("/a/" + quote("机房/UPS#1", safe=""))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/assets/{seeded['c']}"


def test_unknown_tag_is_a_clear_404(db_client: FlaskClient, seeded) -> None:
    login(db_client, "engineer")
    response = db_client.get("/a/NOPE-404")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert 'id="scan-not-found"' in page
    assert "没有标签为“NOPE-404”的资产" in page
    assert 'value="NOPE-404"' in page  # what was scanned is in the box to correct it


def test_typed_tag_opens_the_asset(db_client: FlaskClient, seeded) -> None:
    login(db_client, "viewer")
    response = db_client.get("/a/", query_string={"tag": " SW-CORE "})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/assets/{seeded['b']}"
    assert db_client.get("/a/", query_string={"tag": ""}).headers["Location"] == "/scan"


def test_label_requires_login(client: FlaskClient) -> None:
    response = client.get("/a/SRV-001")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --- the sheet --------------------------------------------------------------------------------


def test_sheet_prints_exactly_the_ticked_assets(
    db_app: Flask, db_client: FlaskClient, seeded
) -> None:
    from_the_lan(db_app)
    login(db_client, "viewer")
    response = db_client.get(
        "/labels/sheet", query_string={"ids": f"{seeded['c']},{seeded['a']}", "layout": "a4-4x10"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert label_cells(html) == [
        ("SRV-001", "总部 / A机房 / A01 / U10-U11"),
        ("机房/UPS#1", "总部 / B机房"),
    ]
    assert html.count('class="label-page"') == 1
    assert 'data-columns="4" data-rows="10"' in html
    assert "--cols: 4; --w: 48.5mm; --h: 25.4mm; --mt: 21.5mm; --ml: 8mm;" in html
    assert "应用服务器 1" in html and "核心交换机" not in html
    assert f'data-url="http://{LAN_HOST}/a/SRV-001"' in html
    assert html.count("<svg") == 2  # each label carries its QR code inline
    assert 'id="label-loopback"' not in html and "OPSKIT_BASE_URL" not in html


def test_sheet_checkboxes_send_repeated_ids(db_app: Flask, db_client: FlaskClient, seeded) -> None:
    from_the_lan(db_app)
    login(db_client, "viewer")
    html = db_client.get(
        f"/labels/sheet?scope=ticked&ids={seeded['b']}&ids={seeded['a']}&layout=a4-2x7"
    ).get_data(as_text=True)
    assert [tag for tag, _ in label_cells(html)] == ["SRV-001", "SW-CORE"]
    assert 'data-columns="2" data-rows="7"' in html


def test_sheet_of_a_rack_and_of_a_room(db_app: Flask, db_client: FlaskClient, seeded) -> None:
    from_the_lan(db_app)
    login(db_client, "viewer")
    html = db_client.get(f"/labels/sheet?rack_id={seeded['rack']}").get_data(as_text=True)
    assert label_cells(html) == [
        ("SRV-001", "总部 / A机房 / A01 / U10-U11"),
        ("SW-CORE", "总部 / A机房 / A01 / U40"),
    ]
    assert 'data-columns="3" data-rows="8"' in html  # the default layout
    html = db_client.get(f"/labels/sheet?room_id={seeded['room_b']}").get_data(as_text=True)
    assert [tag for tag, _ in label_cells(html)] == ["机房/UPS#1"]
    # "print all listed" with no filter prints everything, ignoring stray ticks
    html = db_client.get(f"/labels/sheet?scope=all&ids={seeded['a']}").get_data(as_text=True)
    assert len(label_cells(html)) == 3


def test_sheet_skips_used_labels_and_fills_pages(db_app: Flask) -> None:
    with db_app.app_context():
        for n in range(1, 24):
            factories.asset(f"S-{n:02d}")
        db.session().commit()
    from_the_lan(db_app)
    client = db_app.test_client()
    login(client, "viewer")
    html = client.get("/labels/sheet?all=1&layout=a4-2x7&skip=10").get_data(as_text=True)
    assert html.count('class="label-page"') == 3  # 10 used + 23 labels = 33 positions, 14 a sheet
    assert html.count('class="label label-skipped"') == 10
    pages = html.split('class="label-page"')[1:]
    assert [len(label_cells(p)) for p in pages] == [4, 14, 5]
    assert label_cells(pages[0])[0][0] == "S-01"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("ids=1,abc", "ids", "资产 ID 必须是数字"),
        ("ids=999", "ids", "没有 ID 为 999 的资产"),
        ("", "ids", "请至少勾选一个资产"),
        ("scope=ticked&room_id=1", "ids", "请至少勾选一个资产"),
        ("all=1&layout=a4-9x9", "layout", "a4-9x9"),
        ("all=1&skip=14&layout=a4-2x7", "skip", "14"),
        ("room_id=x", "room_id", "x"),
        ("kind=spaceship", "kind", "spaceship"),
    ],
)
def test_bad_sheet_choice_says_which_field(
    client: FlaskClient, app: Flask, query: str, field: str, message: str
) -> None:
    with app.app_context():
        factories.asset("SRV-001")
        db.session().commit()
    login(client, "viewer")
    response = client.get(f"/labels/sheet?{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = re.findall(r'<div data-field="([^"]+)">([^<]*)</div>', html)
    assert any(f == field and message in unescape(m) for f, m in errors), errors
    assert 'id="labels-print"' in html  # the chooser again, with the choice kept


def test_bad_choice_keeps_the_ticks(db_client: FlaskClient, seeded) -> None:
    login(db_client, "viewer")
    html = db_client.get(f"/labels/sheet?scope=ticked&ids={seeded['a']}&layout=nope").get_data(
        as_text=True
    )
    assert f'id="tick-{seeded["a"]}" checked' in html
    assert f'id="tick-{seeded["b"]}" checked' not in html


def test_layouts_fit_on_a4() -> None:
    assert len(labels.LAYOUTS) >= 3
    for name, layout in labels.LAYOUTS.items():
        right = layout.margin_left + layout.columns * layout.width
        right += (layout.columns - 1) * layout.gap_x
        bottom = layout.margin_top + layout.rows * layout.height + (layout.rows - 1) * layout.gap_y
        assert right <= A4_WIDTH + 0.01, name
        assert bottom <= A4_HEIGHT + 0.01, name
        assert 15 <= layout.qr_mm <= layout.height - 3, name  # big enough to scan
        assert layout.tag_mm > layout.text_mm, name  # the tag is the largest text


# --- labels that would lead to this computer only -------------------------------------------


def _errors(html: str) -> dict[str, str]:
    return {f: unescape(m) for f, m in re.findall(r'<div data-field="([^"]+)">([^<]*)</div>', html)}


def test_sheet_refuses_labels_that_lead_to_this_computer(
    db_client: FlaskClient, seeded, monkeypatch
) -> None:
    """Printed from http://localhost/ (the server's own browser under `make run`) with
    OPSKIT_BASE_URL unset, every label would lead a tablet to itself: refused, saying why and
    how to fix it, with this machine's LAN address as the example."""
    monkeypatch.setattr(labels, "lan_ipv4_addresses", lambda: ["192.168.10.5"])
    login(db_client, "viewer")
    response = db_client.get(f"/labels/sheet?scope=ticked&ids={seeded['a']}&layout=a4-2x7")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'class="label"' not in html and "<svg" not in html  # nothing printable
    message = _errors(html)["print_anyway"]
    assert "http://localhost/a/…" in message  # what the labels would hold
    assert "OPSKIT_BASE_URL" in message and "http://192.168.10.5" in message  # the fix
    assert "平板" in message  # why, in the UI's language
    # the chooser again, with the choice kept and the box that confirms
    assert f'id="tick-{seeded["a"]}" checked' in html
    assert '<option value="a4-2x7" selected>' in html
    assert re.search(
        r'<input class="form-check-input is-invalid" type="checkbox" '
        r'name="print_anyway" value="1" id="print-anyway">',
        html,
    )


def test_base_url_of_this_computer_is_refused_from_any_address(
    db_app: Flask, db_client: FlaskClient, seeded
) -> None:
    from_the_lan(db_app)
    db_app.config["BASE_URL"] = "http://127.0.0.1:5000"
    login(db_client, "engineer")
    response = db_client.get(f"/labels/sheet?ids={seeded['b']}")
    assert response.status_code == 400
    message = _errors(response.get_data(as_text=True))["print_anyway"]
    assert "http://127.0.0.1:5000/a/…" in message and "OPSKIT_BASE_URL" in message


def test_sheet_prints_anyway_when_confirmed(db_client: FlaskClient, seeded) -> None:
    login(db_client, "viewer")
    response = db_client.get(f"/labels/sheet?scope=ticked&ids={seeded['a']}&print_anyway=1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert label_cells(html) == [("SRV-001", "总部 / A机房 / A01 / U10-U11")]
    assert 'data-url="http://localhost/a/SRV-001"' in html
    warning = re.search(
        r'<div class="alert alert-warning mb-0" role="alert" '
        r'id="label-loopback">([^<]*)</div>',
        html,
    )
    assert warning, html[:3000]
    assert "http://localhost/a/…" in unescape(warning.group(1))
    assert "OPSKIT_BASE_URL" in warning.group(1)


def test_chooser_warns_before_printing_from_this_computer(
    db_app: Flask, db_client: FlaskClient, seeded
) -> None:
    login(db_client, "viewer")
    html = db_client.get("/labels/").get_data(as_text=True)
    warning = re.search(
        r'<div class="alert alert-warning" role="alert" id="labels-loopback">'
        r'\s*<p class="mb-2">([^<]*)</p>',
        html,
    )
    assert warning and "OPSKIT_BASE_URL" in warning.group(1)
    assert 'id="print-anyway"' in html
    # with OPSKIT_BASE_URL set to an address the tablets use: no warning, nothing to confirm
    db_app.config["BASE_URL"] = "https://opskit.lan:8443"
    html = db_client.get("/labels/").get_data(as_text=True)
    assert 'id="labels-loopback"' not in html and 'id="print-anyway"' not in html
    response = db_client.get(f"/labels/sheet?ids={seeded['a']}")
    assert response.status_code == 200
    assert 'data-url="https://opskit.lan:8443/a/SRV-001"' in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:5000/", True),
        ("http://127.8.9.10/", True),
        ("http://localhost/", True),
        ("https://LOCALHOST.:8443/", True),
        ("http://opskit.localhost/", True),
        ("http://[::1]:5000/", True),
        ("http://[::ffff:127.0.0.1]/", True),
        ("http://192.168.10.5:5000/", False),
        ("https://opskit.lan:8443/", False),
        ("http://localhost.example.com/", False),
        ("http://[fe80::1]/", False),
    ],
)
def test_which_label_addresses_lead_to_this_computer(url: str, loopback: bool) -> None:
    from opskit.server import is_loopback_url

    assert is_loopback_url(url) is loopback


# --- the chooser and the scan page ------------------------------------------------------------


def test_chooser_filters_by_room(db_client: FlaskClient, seeded) -> None:
    login(db_client, "viewer")
    html = db_client.get(f"/labels/?room_id={seeded['room_b']}").get_data(as_text=True)
    ticks = re.findall(r'name="ids" value="(\d+)"', html)
    assert ticks == [str(seeded["c"])]
    assert f'<input type="hidden" name="room_id" value="{seeded["room_b"]}">' in html
    assert "打印列出的全部 1 个资产" in html


def test_viewer_can_print_labels_but_not_post(client: FlaskClient, app: Flask) -> None:
    with app.app_context():
        asset = factories.asset("SRV-001")
        db.session().commit()
        asset_id = asset.id
    from_the_lan(app)
    login(client, "viewer")
    paths = ("/labels/", f"/labels/sheet?ids={asset_id}", f"/labels/qr/{asset_id}.svg", "/scan")
    for path in paths:
        assert client.get(path).status_code == 200, path
    assert post_form(client, "/labels/sheet", {"ids": str(asset_id)}).status_code in (403, 405)


def test_scan_page_serves_the_decoder_locally(client: FlaskClient) -> None:
    login(client, "engineer")
    html = client.get("/scan").get_data(as_text=True)
    assert 'data-wasm-base="/static/vendor/zxing-wasm/"' in html
    assert 'data-polyfill="/static/vendor/barcode-detector/barcode-detector.polyfill.js' in html
    assert 'data-label-prefix="/a/"' in html
    assert 'type="file" accept="image/*" capture="environment" id="scan-photo"' in html
    assert re.search(r'<script src="/static/js/scan\.js\?v=[^"]+"></script>', html)
    assert "<script>" not in html  # no inline script (CSP)
    wasm = client.get("/static/vendor/zxing-wasm/zxing_reader.wasm")
    assert wasm.status_code == 200 and wasm.mimetype == "application/wasm"
    wasm.close()


def test_location_text_of_a_zero_u_asset(app: Flask) -> None:
    with app.app_context():
        rack = factories.rack()
        pdu = factories.asset("PDU-A", kind="pdu", rack=rack, u_position=1, u_height=0)
        assert labels.location_text(pdu) == "总部 / A机房 / A01 / U1"
        assert labels.location_text(Asset(asset_tag="X", name="X", kind="other")) == ""
