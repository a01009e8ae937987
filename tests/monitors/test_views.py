"""Monitor screens over the Flask client, on SQLite and PostgreSQL: the monitors list, the
asset page's live values and series, topology, rack colours, and probe-and-add against the real
snmpsim agent (``snmp_agent`` in ./conftest.py)."""

from __future__ import annotations

import json
import re
import socket
from datetime import timedelta

from sqlalchemy import select, text

from monitors.models import LldpNeighbor, Monitor, Rollup
from opskit import db
from tests import factories
from tests.conftest import login, post_form
from tests.dashboard.seed import seed
from tests.monitors.conftest import V3_AUTH_KEY, V3_PRIV_KEY, V3_USER, Agent


def _asset(app, tag: str = "UPS-A1", kind: str = "ups") -> int:
    with app.app_context():
        a = factories.asset(tag, kind=kind, mgmt_ip="127.0.0.1")
        db.session().commit()
        return a.id


def _monitors(app, asset_id: int) -> list[Monitor]:
    with app.app_context():
        return list(db.session().scalars(select(Monitor).where(Monitor.asset_id == asset_id)))


def _dead_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_probe_then_add_over_v2c(db_app, db_client, snmp_agent: Agent) -> None:
    asset_id = _asset(db_app)
    login(db_client, "engineer")
    panel = db_client.get(f"/monitoring/assets/{asset_id}/panel").get_data(as_text=True)
    assert 'id="probe-form"' in panel and 'value="127.0.0.1"' in panel  # mgmt IP pre-filled
    form = {"host": "127.0.0.1", "port": str(snmp_agent.port), "version": "2c"}
    form.update(community="ups_rfc1628", interval_s="60", action="probe")
    response = post_form(db_client, f"/monitoring/assets/{asset_id}/probe", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert 'id="probe-result"' in html and ">ups-a1<" in html  # sysName from the recording
    assert ">ups_mib<" in html
    load = re.search(
        r'data-metric="ups.output.load_percent" data-instance="1">.*?</tr>', html, re.S
    )
    assert load and ">42 %<" in load.group(0)
    assert "ups_rfc1628" not in html  # the community is never written back into the page
    sealed = re.search(r'name="sealed" value="([^"]+)"', html).group(1)
    assert _monitors(db_app, asset_id) == []  # probing adds nothing

    # "Add": the community comes back sealed (encrypted), the password field left empty
    add = {**form, "community": "", "sealed": sealed, "action": "add"}
    response = post_form(db_client, f"/monitoring/assets/{asset_id}/probe", add)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/assets/{asset_id}"
    )
    [monitor] = _monitors(db_app, asset_id)
    assert monitor.kind == "snmp" and monitor.interval_s == 60
    assert monitor.settings["host"] == "127.0.0.1"
    assert monitor.settings["port"] == snmp_agent.port
    assert json.loads(monitor.secret) == {"community": "ups_rfc1628"}
    with db_app.app_context():  # encrypted at rest
        stored = db.session().execute(text("SELECT secret FROM monitor")).scalar_one()
    assert "ups_rfc1628" not in stored
    # a retried submission is not a second monitor
    response = post_form(db_client, f"/monitoring/assets/{asset_id}/probe", add)
    assert response.status_code == 302
    assert len(_monitors(db_app, asset_id)) == 1
    panel = db_client.get(f"/monitoring/assets/{asset_id}/panel").get_data(as_text=True)
    assert f'data-monitor="{monitor.id}"' in panel and "ups_rfc1628" not in panel
    assert stored not in panel


def test_probe_over_v3(db_app, db_client, snmp_agent: Agent) -> None:
    asset_id = _asset(db_app)
    login(db_client, "admin")
    form = {"host": "127.0.0.1", "port": str(snmp_agent.port), "version": "3", "user": V3_USER}
    form.update(auth_proto="SHA", auth_key=V3_AUTH_KEY, priv_proto="AES", priv_key=V3_PRIV_KEY)
    form.update(context="ups_rfc1628", interval_s="120", action="add")
    response = post_form(db_client, f"/monitoring/assets/{asset_id}/probe", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    [monitor] = _monitors(db_app, asset_id)
    assert monitor.settings["version"] == "3" and monitor.settings["user"] == V3_USER
    assert monitor.settings["auth_proto"] == "SHA" and monitor.settings["context"] == "ups_rfc1628"
    assert json.loads(monitor.secret) == {"auth_key": V3_AUTH_KEY, "priv_key": V3_PRIV_KEY}
    assert monitor.interval_s == 120


def test_failed_probe_keeps_what_was_typed(db_app, db_client) -> None:
    asset_id = _asset(db_app)
    login(db_client, "engineer")
    port = _dead_port()
    form = {"host": "127.0.0.1", "port": str(port), "version": "2c", "community": "private"}
    form.update(interval_s="30", action="add")
    response = post_form(db_client, f"/monitoring/assets/{asset_id}/probe", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="probe-problem"' in html and "探测失败" in html
    assert f'value="{port}"' in html and 'value="30"' in html and 'value="127.0.0.1"' in html
    assert "private" not in html and "沿用上次输入" in html  # kept, sealed, not shown
    assert _monitors(db_app, asset_id) == []

    # a bad field is named, and nothing is probed or added
    bad = {**form, "port": "http", "community": ""}
    response = post_form(db_client, f"/monitoring/assets/{asset_id}/probe", bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-error="port"' in html and 'data-error="community"' in html
    assert 'value="http"' in html
    assert _monitors(db_app, asset_id) == []


def test_probe_is_for_engineers_and_admins(app, client) -> None:
    asset_id = _asset(app)
    for role in ("viewer", "supervisor"):
        client = app.test_client()
        login(client, role)
        form = {"host": "127.0.0.1", "port": "161", "community": "public", "action": "probe"}
        assert post_form(client, f"/monitoring/assets/{asset_id}/probe", form).status_code == 403
        panel = client.get(f"/monitoring/assets/{asset_id}/panel").get_data(as_text=True)
        assert 'id="probe-form"' not in panel
    assert _monitors(app, asset_id) == []


def test_monitor_list_asset_live_values_and_series(db_app, db_client) -> None:
    with db_app.app_context():
        s = seed()
    login(db_client, "viewer")
    html = db_client.get("/monitoring/").get_data(as_text=True)
    rows = re.findall(r'<tr id="monitor-\d+" data-state="(\w+)">', html)
    assert rows[0] == "down" and sorted(rows) == ["down", "up", "up", "up", "up"]  # down first
    down = re.search(r'<tr id="monitor-\d+" data-state="down">.*?</tr>', html, re.S).group(0)
    assert "SRV-02" in down and "timeout after 2 s" in down and "离线" in down
    ups = re.search(
        r'<tr id="monitor-\d+" data-state="up">(?:(?!</tr>).)*UPS-01.*?</tr>', html, re.S
    )
    assert "ups.output.source = battery" in ups.group(0)
    assert "ups.output.load_percent[1] = 42" in ups.group(0)
    only_down = db_client.get("/monitoring/?state=down").get_data(as_text=True)
    assert only_down.count('<tr id="monitor-') == 1

    live = db_client.get(f"/monitoring/assets/{s.sensor_id}/live").get_data(as_text=True)
    row = re.search(r'data-metric="env.temperature_c" data-instance="probe1">.*?</tr>', live, re.S)
    assert row and ">24.5<" in row.group(0)
    panel = db_client.get(f"/monitoring/assets/{s.sensor_id}/panel").get_data(as_text=True)
    assert 'class="opskit-trend"' in panel and 'data-range="7d"' in panel
    assert 'id="probe-form"' not in panel  # a viewer does not probe
    url = f"/monitoring/assets/{s.sensor_id}/series.json?metric=env.temperature_c&instance=probe1"
    series = db_client.get(url).get_json()
    assert len(series["points"]) == 24 and series["points"][-1][1] == 24.5
    assert series["resolution"] == 0  # raw readings
    # a week is drawn from the 5-minute rollups
    with db_app.app_context():
        now = db.utcnow().replace(minute=0, second=0, microsecond=0)
        for days, avg in ((6, 21.5), (3, 22.5), (1, 23.5)):
            db.session().add(
                Rollup(
                    asset_id=s.sensor_id,
                    metric="env.temperature_c",
                    instance="probe1",
                    resolution=300,
                    bucket=now - timedelta(days=days),
                    count=5,
                    min=avg - 1,
                    max=avg + 1,
                    avg=avg,
                    last=avg,
                )
            )
        db.session().commit()
    week = db_client.get(url + "&range=7d").get_json()
    assert week["resolution"] == 300 and [p[1] for p in week["points"]] == [21.5, 22.5, 23.5]
    assert db_client.get("/monitoring/assets/999999/panel").status_code == 404


def test_topology_and_rack_colours(db_app, db_client) -> None:
    with db_app.app_context():
        s = seed()
        now = db.utcnow()
        core = factories.asset("SW-02", kind="switch", name="汇聚交换机")
        db.session().flush()
        for local, remote_id, name in (("Gi1/0/48", core.id, "sw-02"), ("Gi1/0/47", None, "ap-9")):
            db.session().add(
                LldpNeighbor(
                    asset_id=s.switch_id,
                    local_port=local,
                    remote_sys_name=name,
                    remote_port="Te1/1",
                    remote_chassis_id=name,
                    remote_asset_id=remote_id,
                    first_seen=now - timedelta(hours=2),
                    last_seen=now,
                )
            )
        db.session().commit()
    login(db_client, "viewer")
    assert 'id="topology"' in db_client.get("/monitoring/topology").get_data(as_text=True)
    data = db_client.get("/monitoring/topology.json").get_json()
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["SW-01"]["state"] == "up"
    assert nodes["SRV-01"]["state"] == "alert"  # up, but a C alert is open
    assert nodes["SRV-01"]["url"] == f"/assets/{s.server_id}"
    assert nodes["SW-02"]["state"] == "none"  # registered, not monitored
    assert nodes["ap-9"]["state"] == "unregistered" and nodes["ap-9"]["url"] is None
    edges = {(e["source"], e["target"], e["source_kind"]) for e in data["edges"]}
    sw, srv = f"a{s.switch_id}", f"a{s.server_id}"
    assert (sw, srv, "registered") in edges or (srv, sw, "registered") in edges
    assert (sw, f"a{core.id}", "lldp") in edges and (sw, "n:ap-9", "lldp") in edges
    assert len(data["edges"]) == 3

    rack = db_client.get(f"/assets/racks/{s.rack_id}").get_data(as_text=True)
    states = dict(re.findall(r'data-asset-tag="([\w-]+)" data-state="(\w+)"', rack))
    assert states == {"UPS-01": "down", "SRV-01": "alert", "SRV-02": "down", "SW-01": "up"}
