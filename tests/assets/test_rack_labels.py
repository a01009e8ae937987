"""Rack labels (``assets.rack_labels``) on SQLite and PostgreSQL: a rack's label and a whole
room's, each with the site, room and rack name and a QR code that holds exactly the rack's
label URL (decoded module by module, as the asset labels' tests do), under the asset labels'
OPSKIT_BASE_URL rules; the URL leads to the rack's page; a move step takes the scanned label
as its rack."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from assets.moves import services as moves
from assets.rack_labels import rack_names
from opskit import clock, db
from tests import factories
from tests.assets.test_labels import LAN_HOST, from_the_lan, segno_matrix, svg_matrix
from tests.assets.test_moves import seed, two_steps
from tests.conftest import login

BASE = "https://opskit.lan:8443"
A01 = f"{BASE}/r?site=%E6%80%BB%E9%83%A8&room=A%E6%9C%BA%E6%88%BF&rack=A01"


def _seed(db_app: Flask) -> dict[str, int]:
    with db_app.app_context():
        a01 = factories.rack(site="总部", room="A机房", name="A01")
        a02 = factories.rack(site="总部", room="A机房", name="A02 冷通道#2")
        b01 = factories.rack(site="总部", room="B机房", name="B01")
        db.session().commit()
        return {"a01": a01.id, "a02": a02.id, "b01": b01.id, "room_a": a01.room_id}


def _labels(html: str) -> list[dict[str, str]]:
    """Each printed rack label: its data-url, the texts shown, and its QR code's SVG."""
    found = []
    for block in re.findall(
        r'<div class="label rack-label".*?</svg>.*?</div>\s*</div>\s*</div>', html, flags=re.S
    ):
        url = unescape(re.search(r'data-url="([^"]*)"', block).group(1))  # type: ignore[union-attr]
        svg = re.search(r"<svg.*?</svg>", block, flags=re.S).group(0)  # type: ignore[union-attr]
        texts = [
            unescape(t) for t in re.findall(r'<div class="label-[a-z]+"[^>]*>([^<]*)</div>', block)
        ]
        found.append({"url": url, "svg": svg, "text": " | ".join(texts)})
    return found


def test_a_rack_label_and_a_room_of_them(db_app: Flask, db_client: FlaskClient) -> None:
    ids = _seed(db_app)
    db_app.config["BASE_URL"] = BASE
    login(db_client, "viewer")
    # from the rack's page
    page = db_client.get(f"/assets/racks/{ids['a01']}").get_data(as_text=True)
    assert f'href="/labels/racks?rack_id={ids["a01"]}" id="rack-label"' in page
    response = db_client.get("/labels/racks", query_string={"rack_id": ids["a01"]})
    assert response.status_code == 200
    (label,) = _labels(response.get_data(as_text=True))
    assert label["url"] == A01
    assert label["text"] == "机柜 | A01 | A机房 | 总部"
    assert svg_matrix(label["svg"]) == segno_matrix(A01)  # the code holds exactly that URL
    assert rack_names(A01) == ("总部", "A机房", "A01")
    # a whole room: its racks by name, not the other room's
    rooms = db_client.get("/assets/locations/").get_data(as_text=True)
    assert f'href="/labels/racks?room_id={ids["room_a"]}"' in rooms
    html = db_client.get("/labels/racks", query_string={"room_id": ids["room_a"]}).get_data(
        as_text=True
    )
    printed = _labels(html)
    a02 = A01.replace("rack=A01", "rack=A02%20%E5%86%B7%E9%80%9A%E9%81%93%232")  # 冷通道#2
    assert [p["url"] for p in printed] == [A01, a02]
    assert printed[1]["text"] == "机柜 | A02 冷通道#2 | A机房 | 总部"
    assert svg_matrix(printed[1]["svg"]) == segno_matrix(a02)
    assert rack_names(a02) == ("总部", "A机房", "A02 冷通道#2")
    assert 'data-columns="2" data-rows="4"' in html  # door-sized, 8 per A4
    # the labels lead to the racks' pages
    for rack_id, url in ((ids["a01"], A01), (ids["a02"], a02)):
        resolved = db_client.get(url.removeprefix(BASE))
        assert resolved.status_code == 302
        assert resolved.headers["Location"] == f"/assets/racks/{rack_id}"
    unknown = db_client.get("/r", query_string={"site": "总部", "room": "A机房", "rack": "Z9"})
    assert unknown.status_code == 404
    assert "没有机柜 总部 / A机房 / Z9" in unknown.get_data(as_text=True)
    assert db_client.get("/labels/racks?rack_id=99999").status_code == 404
    assert db_client.get("/labels/racks").status_code == 404


def test_rack_labels_follow_the_asset_labels_base_url_rules(
    db_app: Flask, db_client: FlaskClient
) -> None:
    ids = _seed(db_app)
    login(db_client, "engineer")
    # opened on this computer with OPSKIT_BASE_URL unset: refused, saying why, nothing printed
    refused = db_client.get("/labels/racks", query_string={"rack_id": ids["a01"]})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "<svg" not in html and "OPSKIT_BASE_URL" in html and "http://localhost/r?…" in html
    anyway = re.search(r'id="label-print-anyway" href="([^"]+)"', html)
    assert anyway
    printed = db_client.get(unescape(anyway.group(1)))
    assert printed.status_code == 200
    (label,) = _labels(printed.get_data(as_text=True))
    assert label["url"].startswith("http://localhost/r?site=")
    # opened from the address the tablets use: that address
    from_the_lan(db_app)
    tablet = db_app.test_client()
    login(tablet, "engineer")
    html = tablet.get("/labels/racks", query_string={"rack_id": ids["b01"]}).get_data(as_text=True)
    (label,) = _labels(html)
    assert (
        label["url"]
        == f"http://{LAN_HOST}/r?site=%E6%80%BB%E9%83%A8&room=B%E6%9C%BA%E6%88%BF&rack=B01"
    )
    assert svg_matrix(label["svg"]) == segno_matrix(label["url"])


def test_a_move_step_takes_the_scanned_rack_label(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        plan = db.write(lambda: moves.create_plan("north", two_steps(), "Engineer"))
        one = plan.steps[0]
        plan_id, step_id = plan.id, one.id
        site, room = one.to_rack.room.site.name, one.to_rack.room.name
        db.write(lambda: moves.power_off(plan_id, step_id, "SRV-1", clock.now()))

        def label(rack: str) -> str:
            return f"{BASE}/r?site={quote(site)}&room={quote(room)}&rack={quote(rack)}"

        wrong = label("A01")
        try:
            db.write(lambda: moves.finish_step(plan_id, step_id, wrong, "Engineer"))
        except moves.MoveRefused as exc:
            assert "goes to rack B01" in exc.errors["rack"][0]
        else:
            raise AssertionError("the wrong rack's label was taken")
        done = db.write(lambda: moves.finish_step(plan_id, step_id, label("B01"), "Engineer"))
        assert done.step.state == "done"
