"""The registry's pages: list, detail with history, forms with errors beside the field, rack
elevation, prefix view, warranty reminders, and that viewers may look but not write."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assets import services
from assets.models import Asset, CommunicationLine, IPAddress, Link, Rack, RackUnit, Room, Site
from opskit import clock, db
from opskit.models import AuditLog
from tests import factories
from tests.conftest import login, post_form


def _asset_in(rack: Rack, tag: str, **values) -> Asset:
    return factories.asset(tag, rack=rack, room=rack.room, **values)


def _seed(app: Flask, build) -> object:
    with app.test_request_context("/"):
        result = build()
        db.session().commit()
        return result


def _count(app: Flask, model) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(model)) or 0


def _rows(html: str) -> list[str]:
    """Asset tags of the list's rows, in page order."""
    return re.findall(r'<tr data-asset-id="\d+">\s*<td[^>]*><a [^>]*>([^<]+)</a>', html)


def _field_error(html: str, field: str) -> list[str]:
    return re.findall(rf'class="invalid-feedback" data-field="{field}">([^<]*)<', html)


def _input_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    if not match:
        return None
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def _selected(html: str, name: str) -> str | None:
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', html, re.S)
    assert select_html, name
    chosen = re.search(r'<option selected value="([^"]*)"', select_html.group(0)) or re.search(
        r'<option value="([^"]*)" selected', select_html.group(0)
    )
    return chosen.group(1) if chosen else None


ASSET_FORM = {
    "asset_tag": "SRV-NEW",
    "name": "新服务器",
    "kind": "server",
    "status": "in_service",
    "importance": "core",
    "vendor": "Huawei",
    "model": "2288H V5",
    "serial": "SN-12345",
    "owner": "",
    "contact": "",
    "room": "",
    "rack": "",
    "u_position": "",
    "u_height": "1",
    "mgmt_ip": "",
    "purchase_date": "",
    "warranty_end": "",
    "support_level": "",
    "specs": "",
    "notes": "",
}


# --- list -----------------------------------------------------------------------------------


@pytest.fixture
def sixty(db_app: Flask) -> Flask:
    def build():
        rack = factories.rack()
        for n in range(1, 56):
            factories.asset(f"SRV-{n:03d}", vendor="Dell", model="R740", name=f"app{n:03d}")
        for n in range(1, 6):
            factories.asset(f"SW-{n}", kind="switch", vendor="H3C", rack=rack, u_position=n)
        return rack.id

    db_app.config["rack_id"] = _seed(db_app, build)
    return db_app


def test_list_pages_fifty_at_a_time(sixty: Flask) -> None:
    client = sixty.test_client()
    login(client, "viewer")
    first = client.get("/assets/").get_data(as_text=True)
    assert len(_rows(first)) == 50
    assert _rows(first)[:2] == ["SRV-001", "SRV-002"]
    assert 'data-page="1" data-pages="2"' in first
    assert re.search(r'href="/assets/\?[^"]*page=2"', first)
    second = client.get("/assets/?page=2").get_data(as_text=True)
    assert _rows(second) == [f"SRV-{n:03d}" for n in range(51, 56)] + [
        f"SW-{n}" for n in range(1, 6)
    ]
    assert 'data-page="2" data-pages="2"' in second


def test_list_search_filter_and_sort(sixty: Flask) -> None:
    client = sixty.test_client()
    login(client, "viewer")
    html = client.get("/assets/?q=srv-05").get_data(as_text=True)
    assert _rows(html) == [f"SRV-{n:03d}" for n in range(50, 56)]
    assert _input_value(html, "q") == "srv-05"  # the filter form shows what was asked

    html = client.get("/assets/?kind=switch&sort=asset_tag&dir=desc").get_data(as_text=True)
    assert _rows(html) == ["SW-5", "SW-4", "SW-3", "SW-2", "SW-1"]
    assert _selected(html, "kind") == "switch"
    assert "交换机" in html  # kind label in the user's language

    rack_id = sixty.config["rack_id"]
    html = client.get(f"/assets/?rack={rack_id}&q=H3C").get_data(as_text=True)
    assert len(_rows(html)) == 5
    assert _rows(client.get("/assets/?q=nothing-like-this").get_data(as_text=True)) == []

    html = client.get("/assets/?sort=name&dir=desc").get_data(as_text=True)
    assert _rows(html)[:2] == ["SRV-055", "SRV-054"]  # names "app055", "app054" ... "SW-1"
    html = client.get("/assets/?sort=name&dir=asc").get_data(as_text=True)
    assert _rows(html)[:2] == ["SW-1", "SW-2"]


def test_list_answers_only_the_table_to_htmx(sixty: Flask) -> None:
    client = sixty.test_client()
    login(client, "viewer")
    response = client.get("/assets/?kind=switch", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="asset-filter"' not in html
    assert len(_rows(html)) == 5
    assert "HX-Request" in response.headers["Vary"]
    restore = client.get(
        "/assets/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in restore.get_data(as_text=True)


def test_list_ignores_bad_parameters(sixty: Flask) -> None:
    client = sixty.test_client()
    login(client, "viewer")
    response = client.get("/assets/?kind=bogus&sort=password&dir=x&page=-3&room=abc")
    assert response.status_code == 200
    assert len(_rows(response.get_data(as_text=True))) == 50


# --- create, edit, detail -------------------------------------------------------------------


def test_create_with_occupied_unit_is_refused_beside_u_position(db_client: FlaskClient) -> None:
    app = db_client.application
    rack_id = _seed(
        app,
        lambda: (
            factories.asset("SRV-OLD", rack=factories.rack(), u_position=10, u_height=2).rack_id
        ),
    )
    login(db_client, "engineer")
    data = {**ASSET_FORM, "rack": str(rack_id), "u_position": "11", "mgmt_ip": "10.9.9.9"}
    response = post_form(db_client, "/assets/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_error(html, "u_position") == ["机柜 A01 的 U11 已被 SRV-OLD 占用。"]
    assert 'name="u_position"' in html and "is-invalid" in html
    for name in ("asset_tag", "name", "vendor", "model", "serial", "mgmt_ip", "u_position"):
        assert _input_value(html, name) == data[name], name
    assert _selected(html, "rack") == str(rack_id)
    assert _selected(html, "importance") == "core"
    assert _count(app, Asset) == 1

    response = post_form(db_client, "/assets/new", {**data, "u_position": "20"})
    assert response.status_code == 302
    with app.app_context():
        asset = db.session().scalar(select(Asset).where(Asset.asset_tag == "SRV-NEW"))
        assert asset is not None and asset.room_id is not None  # the rack implied the room
        units = db.session().scalars(select(RackUnit.unit).where(RackUnit.asset_id == asset.id))
        assert sorted(units) == [20]
        assert response.headers["Location"] == f"/assets/{asset.id}"


def test_form_errors_and_retried_create(db_client: FlaskClient) -> None:
    app = db_client.application
    login(db_client, "engineer")
    bad = {**ASSET_FORM, "asset_tag": "", "u_height": "abc", "specs": "no colon here"}
    response = post_form(db_client, "/assets/new", bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _field_error(html, "asset_tag")
    assert _field_error(html, "u_height")
    assert "第 1 行" in _field_error(html, "specs")[0] or "Line 1" in _field_error(html, "specs")[0]
    assert "no colon here" in html

    good = {**ASSET_FORM, "specs": "CPU: 2x Xeon\n内存: 256G", "warranty_end": "2027-06-30"}
    assert post_form(db_client, "/assets/new", good).status_code == 302
    again = post_form(db_client, "/assets/new", good)  # a retried submission
    assert again.status_code == 400
    assert "SRV-NEW" in _field_error(again.get_data(as_text=True), "asset_tag")[0]
    assert _count(app, Asset) == 1
    with app.app_context():
        asset = db.session().scalar(select(Asset))
        assert asset.specs == {"cpu_model": "2x Xeon", "memory_gb": 256}  # the vocabulary
        assert asset.warranty_end == date(2027, 6, 30)


def test_detail_shows_everything_and_history_after_edit(db_client: FlaskClient) -> None:
    app = db_client.application

    def build():
        rack = factories.rack()
        a = factories.asset(
            "SRV-001", rack=rack, u_position=5, name="old-name", mgmt_ip="10.1.20.5"
        )
        p = factories.prefix("10.1.20.0/24")
        services.save_address({"address": "10.1.20.5", "asset": a, "interface": "eth0"})
        b = factories.asset("SW-001", kind="switch")
        services.save_link(a, "eth0", b, "Gi1/0/1", medium="Cat6")
        return a.id, rack.id, p.id

    asset_id, rack_id, prefix_id = _seed(app, build)
    login(db_client, "engineer")
    form = db_client.get(f"/assets/{asset_id}/edit").get_data(as_text=True)
    assert _input_value(form, "name") == "old-name"
    assert _selected(form, "rack") == str(rack_id)
    data = {**ASSET_FORM, "asset_tag": "SRV-001", "name": "new-name", "rack": str(rack_id)}
    data.update(u_position="7", mgmt_ip="10.1.20.5", vendor="Dell", model="R740", serial="S1")
    response = post_form(db_client, f"/assets/{asset_id}/edit", data)
    assert response.status_code == 302, response.get_data(as_text=True)

    html = db_client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert 'id="asset-extra"' in html
    assert f'href="/assets/racks/{rack_id}"' in html and "U7" in html
    assert "10.1.20.5" in html and f"/assets/prefixes/{prefix_id}" in html
    assert "SW-001" in html and "Gi1/0/1" in html
    history = re.search(r'id="asset-history".*?</table>', html, re.S).group(0)
    assert ">Engineer</td>" in history  # who, by full name (the login is "engineer")
    assert "old-name → new-name" in history
    assert "5 → 7" in history
    assert "名称" in history  # field labels in the user's language
    assert 'href="/labels/"' in html and 'href="/assets/excel/"' in html


def test_detail_history_includes_the_creation(db_client: FlaskClient) -> None:
    login(db_client, "engineer")
    assert post_form(db_client, "/assets/new", ASSET_FORM).status_code == 302
    with db_client.application.app_context():
        asset_id = db.session().scalar(select(Asset.id))
    html = db_client.get(f"/assets/{asset_id}").get_data(as_text=True)
    history = re.search(r'id="asset-history".*?</table>', html, re.S).group(0)
    assert ">Engineer</td>" in history and "新服务器" in history


def test_line_details(db_client: FlaskClient) -> None:
    app = db_client.application
    login(db_client, "engineer")
    data = {**ASSET_FORM, "asset_tag": "LINE-1", "kind": "line", "circuit_id": ""}
    response = post_form(db_client, "/assets/new", data)
    assert response.status_code == 400
    assert _field_error(response.get_data(as_text=True), "circuit_id")
    assert _count(app, Asset) == 0
    data.update(
        circuit_id="CT-2024-001", carrier="电信", bandwidth_mbps="100", a_end="A", z_end="Z"
    )
    assert post_form(db_client, "/assets/new", data).status_code == 302
    with app.app_context():
        line = db.session().scalar(select(CommunicationLine))
        assert (line.circuit_id, line.bandwidth_mbps) == ("CT-2024-001", 100)
        asset_id = line.asset_id
    html = db_client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "CT-2024-001" in html and "电信" in html


def test_delete_asks_then_frees_units(db_client: FlaskClient) -> None:
    app = db_client.application
    asset_id = _seed(app, lambda: factories.asset("SRV-1", rack=factories.rack(), u_position=3).id)
    login(db_client, "engineer")
    page = db_client.get(f"/assets/{asset_id}/delete")
    assert page.status_code == 200 and "SRV-1" in page.get_data(as_text=True)
    assert _count(app, Asset) == 1
    response = post_form(db_client, f"/assets/{asset_id}/delete")
    assert response.status_code == 302
    assert _count(app, Asset) == 0
    assert _count(app, RackUnit) == 0
    assert db_client.get(f"/assets/{asset_id}").status_code == 404


# --- viewers --------------------------------------------------------------------------------


def test_viewer_sees_pages_but_every_post_is_refused(client: FlaskClient) -> None:
    app = client.application

    def build():
        rack = factories.rack()
        a = factories.asset("SRV-1", rack=rack, u_position=1)
        p = factories.prefix("10.0.0.0/24")
        ip = services.save_address({"address": "10.0.0.9"})
        db.session().flush()
        return {
            "asset": a.id,
            "rack": rack.id,
            "room": rack.room_id,
            "site": rack.room.site_id,
            "prefix": p.id,
            "ip": ip.id,
        }

    ids = _seed(app, build)
    login(client, "viewer")
    pages = [
        "/assets/",
        f"/assets/{ids['asset']}",
        "/assets/locations/",
        f"/assets/racks/{ids['rack']}",
        "/assets/prefixes/",
        f"/assets/prefixes/{ids['prefix']}",
        "/assets/links/",
        "/assets/warranty",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "/assets/new" not in response.get_data(as_text=True), path  # no write buttons
    posts = [
        "/assets/new",
        f"/assets/{ids['asset']}/edit",
        f"/assets/{ids['asset']}/delete",
        "/assets/sites/new",
        f"/assets/sites/{ids['site']}/edit",
        "/assets/rooms/new",
        f"/assets/rooms/{ids['room']}/edit",
        "/assets/racks/new",
        f"/assets/racks/{ids['rack']}/edit",
        "/assets/prefixes/new",
        f"/assets/prefixes/{ids['prefix']}/edit",
        f"/assets/prefixes/{ids['prefix']}/addresses/new",
        f"/assets/addresses/{ids['ip']}/edit",
        "/assets/links/new",
    ]
    before = _count(app, AuditLog)
    for path in posts:
        response = post_form(client, path, {**ASSET_FORM, "name": "hacked", "cidr": "10.9.0.0/16"})
        assert response.status_code == 403, path
    assert _count(app, AuditLog) == before
    assert _count(app, Asset) == 1


# --- racks and locations --------------------------------------------------------------------


def _slots(html: str) -> list[tuple[int, int, str | None]]:
    """(unit, height, asset tag) of each drawn slot, top of the drawing first."""
    out = []
    for chunk in html.split('<div class="rack-slot"')[1:]:
        head = re.match(r'[^>]*data-unit="(\d+)" data-height="(\d+)">', chunk)
        assert head, chunk[:200]
        body = chunk.split("</div>\n      </div>")[0] if "</div>\n      </div>" in chunk else chunk
        tag = re.search(r'data-asset-tag="([^"]+)"', body)
        out.append((int(head.group(1)), int(head.group(2)), tag.group(1) if tag else None))
    return out


def test_rack_elevation_shows_assets_in_their_units(db_client: FlaskClient) -> None:
    app = db_client.application

    def build():
        rack = factories.rack(u_height=12)
        factories.asset("SRV-A", rack=rack, u_position=10, u_height=2)
        factories.asset("SW-B", kind="switch", rack=rack, u_position=1)
        factories.asset("PDU-C", kind="pdu", rack=rack, u_position=1, u_height=0)
        down = factories.rack(name="B02", u_height=4)
        down.descending_units = True
        factories.asset("SRV-D", rack=down, u_position=2, u_height=2)
        return rack.id, down.id

    rack_id, down_id = _seed(app, build)
    login(db_client, "viewer")
    html = db_client.get(f"/assets/racks/{rack_id}").get_data(as_text=True)
    slots = _slots(html)
    assert slots[0] == (12, 1, None)  # top of the rack first
    assert (10, 2, "SRV-A") in slots
    assert slots[-1] == (1, 1, "SW-B")
    assert sum(h for _u, h, _t in slots) == 12
    assert len(slots) == 12 - 3 + 2
    assert "PDU-C" in re.search(r'id="rack-unplaced".*?</ul>', html, re.S).group(0)
    assert 'data-used="3" data-size="12"' in html

    down = _slots(db_client.get(f"/assets/racks/{down_id}").get_data(as_text=True))
    assert down == [(1, 1, None), (2, 2, "SRV-D"), (4, 1, None)]  # U1 at the top


def test_free_unit_links_to_a_prefilled_form(client: FlaskClient) -> None:
    rack_id = _seed(client.application, lambda: factories.rack(u_height=4).id)
    login(client, "engineer")
    html = client.get(f"/assets/racks/{rack_id}").get_data(as_text=True)
    assert f'href="/assets/new?rack={rack_id}&amp;u_position=3"' in html
    form = client.get(f"/assets/new?rack={rack_id}&u_position=3").get_data(as_text=True)
    assert _selected(form, "rack") == str(rack_id)
    assert _input_value(form, "u_position") == "3"


def test_labels_follow_the_users_language(client: FlaskClient) -> None:
    _seed(client.application, lambda: factories.asset("SW-1", kind="switch", status="spare"))
    login(client, "viewer")
    assert "交换机" in client.get("/assets/").get_data(as_text=True)
    post_form(client, "/language", {"locale": "en"})
    html = client.get("/assets/").get_data(as_text=True)
    assert ">Switch<" in html and ">Spare<" in html


def test_locations_page_and_forms(db_client: FlaskClient) -> None:
    app = db_client.application
    login(db_client, "engineer")
    assert (
        post_form(db_client, "/assets/sites/new", {"name": "总部", "address": "北京"}).status_code
        == 302
    )
    again = post_form(db_client, "/assets/sites/new", {"name": "总部"})
    assert again.status_code == 400 and _field_error(again.get_data(as_text=True), "name")
    with app.app_context():
        site_id = db.session().scalar(select(Site.id))
    assert (
        post_form(
            db_client, "/assets/rooms/new", {"site": str(site_id), "name": "A机房"}
        ).status_code
        == 302
    )
    with app.app_context():
        room_id = db.session().scalar(select(Room.id))
    bad = post_form(
        db_client, "/assets/racks/new", {"room": str(room_id), "name": "A01", "u_height": "61"}
    )
    assert bad.status_code == 400 and _field_error(bad.get_data(as_text=True), "u_height")
    assert _input_value(bad.get_data(as_text=True), "name") == "A01"
    response = post_form(
        db_client, "/assets/racks/new", {"room": str(room_id), "name": "A01", "u_height": "10"}
    )
    assert response.status_code == 302
    with app.app_context():
        rack = db.session().scalar(select(Rack))
        assert (rack.name, rack.u_height, rack.room_id) == ("A01", 10, room_id)
        rack_id = rack.id
    _seed(
        app,
        lambda: _asset_in(db.session().get(Rack, rack_id), "SRV-1", u_position=8, u_height=2),
    )
    shrink = post_form(
        db_client,
        f"/assets/racks/{rack_id}/edit",
        {"room": str(room_id), "name": "A01", "u_height": "6"},
    )
    assert (
        shrink.status_code == 400
        and "U9" in _field_error(shrink.get_data(as_text=True), "u_height")[0]
    )

    html = db_client.get("/assets/locations/").get_data(as_text=True)
    row = re.search(rf'<tr data-rack="{rack_id}">.*?</tr>', html, re.S).group(0)
    assert "2 / 10 (20.0%)" in row
    assert "总部" in html and "A机房" in html and f"/assets/racks/{rack_id}" in row


# --- prefixes, addresses, links -------------------------------------------------------------


def test_prefix_page_utilisation_free_ranges_and_next_free(db_client: FlaskClient) -> None:
    app = db_client.application

    def build():
        p = factories.prefix("10.1.20.0/29", gateway="10.1.20.1", vlan=120, purpose="管理网")
        services.save_address({"address": "10.1.20.2"})
        services.save_address({"address": "10.1.20.3", "status": "free"})
        services.save_address({"address": "10.1.20.5", "status": "reserved"})
        return p.id

    prefix_id = _seed(app, build)
    login(db_client, "viewer")
    html = db_client.get(f"/assets/prefixes/{prefix_id}").get_data(as_text=True)
    # usable .1-.6; used: gateway .1, .2, .5 (the "free" .3 does not count)
    assert 'data-used="3" data-size="6" data-percent="50.0"' in html
    assert re.search(r'id="next-free">10\.1\.20\.3<', html)
    ranges = re.findall(
        r"<tr><td[^>]*>([\d.]+)</td><td[^>]*>([\d.]+)</td><td>(\d+)</td></tr>",
        re.search(r'id="free-ranges".*?</table>', html, re.S).group(0),
    )
    assert ranges == [("10.1.20.3", "10.1.20.4", "2"), ("10.1.20.6", "10.1.20.6", "1")]
    assert "管理网" in html and "120" in html
    listing = db_client.get("/assets/prefixes/").get_data(as_text=True)
    assert "3 / 6 (50.0%)" in listing


def test_assign_next_free_address(db_client: FlaskClient) -> None:
    app = db_client.application

    def build():
        factories.asset("SRV-1")
        return factories.prefix("10.1.30.0/24", gateway="10.1.30.1").id

    prefix_id = _seed(app, build)
    login(db_client, "engineer")
    page = db_client.get(f"/assets/prefixes/{prefix_id}").get_data(as_text=True)
    assert f"/assets/prefixes/{prefix_id}/addresses/new?address=10.1.30.2" in page
    form = db_client.get(f"/assets/prefixes/{prefix_id}/addresses/new").get_data(as_text=True)
    assert _input_value(form, "address") == "10.1.30.2"

    path = f"/assets/prefixes/{prefix_id}/addresses/new"
    data = {"address": "10.1.30.2", "status": "active", "asset": "NOPE", "mac": "zz"}
    bad = post_form(db_client, path, data)
    assert bad.status_code == 400
    assert _field_error(bad.get_data(as_text=True), "asset")
    outside = post_form(db_client, path, {**data, "asset": "SRV-1", "address": "10.9.9.9"})
    assert outside.status_code == 400 and _field_error(outside.get_data(as_text=True), "address")
    assert _input_value(outside.get_data(as_text=True), "address") == "10.9.9.9"
    ok = post_form(db_client, path, {**data, "asset": "SRV-1", "mac": "AA-BB-CC-00-11-22"})
    assert ok.status_code == 302
    with app.app_context():
        ip = db.session().scalar(select(IPAddress))
        assert (ip.address, ip.mac, ip.asset.asset_tag) == (
            "10.1.30.2",
            "aa:bb:cc:00:11:22",
            "SRV-1",
        )
        ip_id = ip.id
    html = db_client.get(f"/assets/prefixes/{prefix_id}").get_data(as_text=True)
    assert re.search(r'id="next-free">10\.1\.30\.3<', html)
    edit = post_form(
        db_client,
        f"/assets/addresses/{ip_id}/edit",
        {"address": "10.1.30.2", "status": "reserved", "asset": ""},
    )
    assert edit.status_code == 302
    with app.app_context():
        ip = db.session().get(IPAddress, ip_id)
        assert (ip.status, ip.asset_id) == ("reserved", None)


def test_links_list_and_add(db_client: FlaskClient) -> None:
    app = db_client.application
    _seed(app, lambda: (factories.asset("SRV-1"), factories.asset("SW-1", kind="switch")))
    login(db_client, "engineer")
    data = {"a_asset": "SRV-1", "a_port": "eth0", "b_asset": "SW-1", "b_port": "Gi1/0/1"}
    assert post_form(db_client, "/assets/links/new", data).status_code == 302
    taken = post_form(db_client, "/assets/links/new", {**data, "b_port": "Gi1/0/2"})
    assert taken.status_code == 400
    assert "eth0" in " ".join(
        _field_error(taken.get_data(as_text=True), "a_port")
        + _field_error(taken.get_data(as_text=True), "b_port")
    )
    unknown = post_form(db_client, "/assets/links/new", {**data, "b_asset": "NOPE"})
    assert unknown.status_code == 400 and _field_error(unknown.get_data(as_text=True), "b_asset")
    assert _count(app, Link) == 1
    html = db_client.get("/assets/links/?q=gi1").get_data(as_text=True)
    assert "SRV-1" in html and "Gi1/0/1" in html


# --- warranty -------------------------------------------------------------------------------


def test_warranty_reminders_page(db_client: FlaskClient) -> None:
    app = db_client.application
    with app.app_context():
        today = clock.site_today()

    def build():
        factories.asset("OLD", warranty_end=today - timedelta(days=3), support_level="7x24")
        factories.asset("SOON", warranty_end=today + timedelta(days=20))
        factories.asset("LATER", warranty_end=today + timedelta(days=60))
        factories.asset("FINE", warranty_end=today + timedelta(days=400))
        factories.asset("GONE", warranty_end=today - timedelta(days=3), status="retired")

    _seed(app, build)
    login(db_client, "viewer")
    html = db_client.get("/assets/warranty").get_data(as_text=True)
    rows = re.findall(r'<tr data-state="(\w+)">\s*<td[^>]*><a [^>]*>([^<]+)</a>', html)
    assert rows == [("expired", "OLD"), ("30", "SOON"), ("90", "LATER")]
    assert "7x24" in html and "已过保" in html
    html = db_client.get("/assets/warranty?sort=warranty_end&dir=desc").get_data(as_text=True)
    assert [
        t for _s, t in re.findall(r'<tr data-state="(\w+)">\s*<td[^>]*><a [^>]*>([^<]+)</a>', html)
    ] == [
        "LATER",
        "SOON",
        "OLD",
    ]
    html = db_client.get("/assets/warranty?state=30").get_data(as_text=True)
    assert re.findall(r'<tr data-state="(\w+)">', html) == ["30"]


def test_rack_filter_lists_only_the_chosen_rooms_racks(app, client) -> None:
    """The list page must not grow with the site: no rack options until a room is chosen."""
    with app.test_request_context("/"):
        a01 = factories.rack(room="A机房", name="A01")
        factories.rack(room="B机房", name="B01")
        db.session().commit()
        room_id, rack_id = a01.room_id, a01.id
    login(client, "viewer")
    page = client.get("/assets/").get_data(as_text=True)
    rack_select = page.split('id="f-rack"')[1].split("</select>")[0]
    assert "disabled" in rack_select and "A01" not in rack_select
    page = client.get(f"/assets/?room={room_id}").get_data(as_text=True)
    rack_select = page.split('id="f-rack"')[1].split("</select>")[0]
    assert "A01" in rack_select and "B01" not in rack_select
    partial = client.get(f"/assets/?room={room_id}&rack={rack_id}", headers={"HX-Request": "1"})
    body = partial.get_data(as_text=True)
    assert 'hx-swap-oob="true"' in body and f'value="{rack_id}" selected' in body
