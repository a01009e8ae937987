"""The topology for one site or room at a time, over the Flask client on SQLite and PostgreSQL:
``/monitoring/topology.json?site=&room=`` keeps the links (registered and LLDP) with at least one
end there and marks the far end ``outside``; the page's selects offer the sites and the chosen
site's rooms; unknown ids and a room of another site answer 404 with a message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from assets import services
from monitors.models import LldpNeighbor
from opskit import db
from tests import factories
from tests.conftest import login


@dataclass
class Seeded:
    hq: int
    branch: int
    room_a: int
    room_b: int
    room_c: int
    ids: dict[str, str]  # asset tag -> node id


def _neighbour(asset_id: int, local: str, name: str, remote_id: int | None, age_h: int) -> None:
    now = db.utcnow()
    db.session().add(
        LldpNeighbor(
            asset_id=asset_id,
            local_port=local,
            remote_sys_name=name,
            remote_port="Gi0/1",
            remote_chassis_id=name,
            remote_asset_id=remote_id,
            first_seen=now - timedelta(hours=age_h + 1),
            last_seen=now - timedelta(hours=age_h),
        )
    )


def seed_rooms() -> Seeded:
    """总部 with rooms A机房 and B机房, 分部 with C机房; a switch in each room, a server in A and
    C; links inside A and C, an uplink A-B and one B-C (across sites); LLDP: SW-A sees SW-B (the
    registered uplink again), SW-B an unregistered AP, SRV-C sees SW-A (no link registered),
    and SW-C a device last seen two days ago."""
    a01 = factories.rack(site="总部", room="A机房", name="A01")
    b01 = factories.rack(site="总部", room="B机房", name="B01")
    c01 = factories.rack(site="分部", room="C机房", name="C01")
    sw_a = factories.asset("SW-A", kind="switch", rack=a01, u_position=40)
    srv_a = factories.asset("SRV-A", kind="server", rack=a01, u_position=10)
    sw_b = factories.asset("SW-B", kind="switch", rack=b01, u_position=40)
    sw_c = factories.asset("SW-C", kind="switch", rack=c01, u_position=40)
    srv_c = factories.asset("SRV-C", kind="server", rack=c01, u_position=10)
    services.save_link(sw_a, "Gi1/0/1", srv_a, "eth0")
    services.save_link(sw_a, "Te1/1", sw_b, "Te1/1")
    services.save_link(sw_b, "Te1/2", sw_c, "Te1/1")
    services.save_link(sw_c, "Gi1/0/1", srv_c, "eth0")
    db.session().flush()
    _neighbour(sw_a.id, "Te1/1", "sw-b", sw_b.id, 0)
    _neighbour(sw_b.id, "Gi1/0/9", "ap-b", None, 0)
    _neighbour(srv_c.id, "eth1", "sw-a", sw_a.id, 1)
    _neighbour(sw_c.id, "Gi1/0/9", "old-c", None, 48)
    db.session().commit()
    assets = (sw_a, srv_a, sw_b, sw_c, srv_c)
    return Seeded(
        hq=a01.room.site_id,
        branch=c01.room.site_id,
        room_a=a01.room_id,
        room_b=b01.room_id,
        room_c=c01.room_id,
        ids={a.asset_tag: f"a{a.id}" for a in assets} | {"ap-b": "n:ap-b"},
    )


def _graph(client, query: str) -> tuple[dict[str, bool], set[tuple[frozenset[str], str]]]:
    """(node id -> outside, {({end, end}, source kind)}) of topology.json with ``query``."""
    response = client.get("/monitoring/topology.json" + query)
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    nodes = {n["id"]: n["outside"] for n in data["nodes"]}
    assert len(nodes) == len(data["nodes"])
    edges = {(frozenset((e["source"], e["target"])), e["source_kind"]) for e in data["edges"]}
    assert len(edges) == len(data["edges"])
    return nodes, edges


def _edge(ids: dict[str, str], a: str, b: str, kind: str) -> tuple[frozenset[str], str]:
    return frozenset((ids[a], ids[b])), kind


def test_topology_json_per_site_and_room(db_app, db_client) -> None:
    with db_app.app_context():
        s = seed_rooms()
    login(db_client, "viewer")
    i = s.ids
    link_a = _edge(i, "SW-A", "SRV-A", "registered")
    uplink_ab = _edge(i, "SW-A", "SW-B", "registered")
    uplink_bc = _edge(i, "SW-B", "SW-C", "registered")
    link_c = _edge(i, "SW-C", "SRV-C", "registered")
    ap_b = _edge(i, "SW-B", "ap-b", "lldp")
    lldp_ca = _edge(i, "SRV-C", "SW-A", "lldp")

    nodes, edges = _graph(db_client, "")  # no filter: everything, nothing outside
    assert nodes == {i[t]: False for t in ("SW-A", "SRV-A", "SW-B", "SW-C", "SRV-C", "ap-b")}
    assert edges == {link_a, uplink_ab, uplink_bc, link_c, ap_b, lldp_ca}
    assert _graph(db_client, "?site=&room=") == (nodes, edges)
    assert _graph(db_client, "?site=all") == (nodes, edges)

    nodes, edges = _graph(db_client, f"?site={s.hq}")
    assert nodes == {
        i["SW-A"]: False,
        i["SRV-A"]: False,
        i["SW-B"]: False,
        i["ap-b"]: False,
        i["SW-C"]: True,  # the far end of the B-C uplink, in 分部
        i["SRV-C"]: True,  # sees SW-A over LLDP from 分部
    }
    assert edges == {link_a, uplink_ab, uplink_bc, ap_b, lldp_ca}

    nodes, edges = _graph(db_client, f"?site={s.hq}&room={s.room_a}")
    assert nodes == {i["SW-A"]: False, i["SRV-A"]: False, i["SW-B"]: True, i["SRV-C"]: True}
    assert edges == {link_a, uplink_ab, lldp_ca}

    # a room alone names its site; SW-A's LLDP report of SW-B is the registered uplink again
    nodes, edges = _graph(db_client, f"?room={s.room_b}")
    assert nodes == {i["SW-B"]: False, i["ap-b"]: False, i["SW-A"]: True, i["SW-C"]: True}
    assert edges == {uplink_ab, uplink_bc, ap_b}

    for query in (f"?site={s.branch}", f"?site={s.branch}&room={s.room_c}"):
        nodes, edges = _graph(db_client, query)
        assert nodes == {i["SW-C"]: False, i["SRV-C"]: False, i["SW-B"]: True, i["SW-A"]: True}
        assert edges == {uplink_bc, link_c, lldp_ca}  # old-c: not seen for two days


def test_topology_unknown_ids_answer_404(db_app, db_client) -> None:
    with db_app.app_context():
        s = seed_rooms()
    login(db_client, "viewer")
    for query, field, message in (
        ("?site=999999", "site", "没有编号为 999999 的站点"),
        ("?site=abc", "site", "没有编号为 abc 的站点"),
        (f"?site={s.hq}&room=999999", "room", "没有编号为 999999 的机房"),
        (f"?site={s.hq}&room={s.room_c}", "room", "机房 C机房 不在站点 总部"),
    ):
        response = db_client.get("/monitoring/topology.json" + query)
        assert response.status_code == 404, query
        body = response.get_json()
        assert body["field"] == field and message in body["error"], body
        page = db_client.get("/monitoring/topology" + query)
        assert page.status_code == 404, query
        html = page.get_data(as_text=True)
        assert 'id="topology-unknown"' in html and message in html
        assert 'id="topology"' not in html  # no graph, but the selects to choose again
        assert _options(html, "topology-site")[0] == ("", "全部站点")


def _options(html: str, select_id: str) -> list[tuple[str, str]]:
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', html, re.S)
    assert select, f"no {select_id}"
    return re.findall(r'<option value="(\d*)"[^>]*>([^<]*)<', select.group(0))


def _selected(html: str, select_id: str) -> str:
    select = re.search(rf'<select[^>]*id="{select_id}".*?</select>', html, re.S)
    assert select, f"no {select_id}"
    return re.search(r'<option value="(\d*)" selected>', select.group(0))[1]


def test_topology_page_selects(db_app, db_client) -> None:
    with db_app.app_context():
        s = seed_rooms()
    login(db_client, "viewer")
    sites = [("", "全部站点"), (str(s.branch), "分部"), (str(s.hq), "总部")]

    html = db_client.get("/monitoring/topology").get_data(as_text=True)
    assert _options(html, "topology-site") == sites and _selected(html, "topology-site") == ""
    assert _options(html, "topology-room") == [
        ("", "全部机房"),
        (str(s.room_c), "分部 · C机房"),
        (str(s.room_a), "总部 · A机房"),
        (str(s.room_b), "总部 · B机房"),
    ]
    assert 'data-src="/monitoring/topology.json"' in html

    html = db_client.get(f"/monitoring/topology?site={s.hq}").get_data(as_text=True)
    assert _selected(html, "topology-site") == str(s.hq)
    assert _options(html, "topology-room") == [
        ("", "全部机房"),
        (str(s.room_a), "A机房"),
        (str(s.room_b), "B机房"),
    ]  # only the chosen site's rooms
    assert _selected(html, "topology-room") == ""
    assert f'data-src="/monitoring/topology.json?site={s.hq}"' in html

    html = db_client.get(f"/monitoring/topology?room={s.room_c}").get_data(as_text=True)
    assert _selected(html, "topology-site") == str(s.branch)  # the room names its site
    assert _options(html, "topology-room") == [("", "全部机房"), (str(s.room_c), "C机房")]
    assert _selected(html, "topology-room") == str(s.room_c)
    assert f'data-src="/monitoring/topology.json?site={s.branch}&amp;room={s.room_c}"' in html
    assert '<span id="topology-scope">分部 · C机房</span>' in html
