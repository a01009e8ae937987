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
    assert load and ">输出负载<" in load.group(0) and ">42%<" in load.group(0)  # label, unit
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


# On SQLite only (this and the next): the probe form's asset and the monitor it adds are read
# and written on PostgreSQL by test_probe_then_add_over_v2c; v3 and a dead agent are SNMP.
def test_probe_over_v3(app, client, snmp_agent: Agent) -> None:
    asset_id = _asset(app)
    login(client, "admin")
    form = {"host": "127.0.0.1", "port": str(snmp_agent.port), "version": "3", "user": V3_USER}
    form.update(auth_proto="SHA", auth_key=V3_AUTH_KEY, priv_proto="AES", priv_key=V3_PRIV_KEY)
    form.update(context="ups_rfc1628", interval_s="120", action="add")
    response = post_form(client, f"/monitoring/assets/{asset_id}/probe", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    [monitor] = _monitors(app, asset_id)
    assert monitor.settings["version"] == "3" and monitor.settings["user"] == V3_USER
    assert monitor.settings["auth_proto"] == "SHA" and monitor.settings["context"] == "ups_rfc1628"
    assert json.loads(monitor.secret) == {"auth_key": V3_AUTH_KEY, "priv_key": V3_PRIV_KEY}
    assert monitor.interval_s == 120


def test_failed_probe_keeps_what_was_typed(app, client) -> None:
    asset_id = _asset(app)
    login(client, "engineer")
    port = _dead_port()
    form = {"host": "127.0.0.1", "port": str(port), "version": "2c", "community": "private"}
    form.update(interval_s="30", action="add")
    response = post_form(client, f"/monitoring/assets/{asset_id}/probe", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="probe-problem"' in html and "探测失败" in html
    assert f'value="{port}"' in html and 'value="30"' in html and 'value="127.0.0.1"' in html
    assert "private" not in html and "沿用上次输入" in html  # kept, sealed, not shown
    assert _monitors(app, asset_id) == []

    # a bad field is named, and nothing is probed or added
    bad = {**form, "port": "http", "community": ""}
    response = post_form(client, f"/monitoring/assets/{asset_id}/probe", bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-error="port"' in html and 'data-error="community"' in html
    assert 'value="http"' in html
    assert _monitors(app, asset_id) == []


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
    assert "输出供电方式: 电池供电" in ups.group(0)  # translated label and state word
    assert "输出负载 [1]: 42%" in ups.group(0)
    assert 'title="ups.output.source"' in ups.group(0)  # the stable name, for alert rules
    only_down = db_client.get("/monitoring/?state=down").get_data(as_text=True)
    assert only_down.count('<tr id="monitor-') == 1

    live = db_client.get(f"/monitoring/assets/{s.sensor_id}/live").get_data(as_text=True)
    row = re.search(r'data-metric="env.temperature_c" data-instance="probe1">.*?</tr>', live, re.S)
    assert row and ">24.5°C<" in row.group(0) and ">环境温度<" in row.group(0)
    panel = db_client.get(f"/monitoring/assets/{s.sensor_id}/panel").get_data(as_text=True)
    assert 'class="opskit-trend"' in panel and 'data-range="7d"' in panel
    assert re.search(
        r'data-metric="env.temperature_c" title="env.temperature_c">环境温度 \[probe1\]', panel
    )
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


# --- labels ----------------------------------------------------------------------------------


def test_every_metric_has_a_label_and_every_state_a_word(app) -> None:
    from monitors import metrics

    assert set(metrics.LABELS) == set(metrics.METRICS)
    for name, entry in metrics.METRICS.items():
        if entry["kind"] == "state":
            assert set(entry["states"]) <= set(metrics.STATE_LABELS[name]), name
    with app.test_request_context("/"):
        assert metrics.label("ups.battery.charge_percent") == "电池剩余电量"
        assert metrics.state_label("ups.output.source", "bypass") == "旁路"
        assert metrics.state_label("if.oper_status", "lowerLayerDown") == "下层链路断开"
        assert metrics.label("no.such.metric") == "no.such.metric"  # never a crash


def test_asset_values_in_chinese_and_english(app, client) -> None:
    from monitors.formatting import display_value

    with app.app_context():
        s = seed()
    login(client, "viewer")
    live = client.get(f"/monitoring/assets/{s.ups_id}/live").get_data(as_text=True)
    cells = dict(
        re.findall(r'<span data-field="label">([^<]+)</span>.*?data-field="value">([^<]+)<', live)
    )
    assert cells["电池剩余电量"] == "87%"
    assert cells["电池后备时间"] == "23 分钟"
    assert cells["电池状态"] == "电池电量低"
    assert cells["输出供电方式"] == "电池供电"
    assert "ups.battery.charge_percent" in live  # the stable name stays, small, for rules
    with client.session_transaction() as session:
        session["locale"] = "en"
    live = client.get(f"/monitoring/assets/{s.ups_id}/live").get_data(as_text=True)
    cells = dict(
        re.findall(r'<span data-field="label">([^<]+)</span>.*?data-field="value">([^<]+)<', live)
    )
    assert cells["Battery charge"] == "87%" and cells["Battery runtime"] == "23 min"
    assert cells["Battery status"] == "Battery low" and cells["Output source"] == "On battery"
    with app.test_request_context("/"):
        assert display_value("host.storage.size_bytes", 512 * 1024**3) == "512 GB"
        assert display_value("if.in_bps", 125_400_000) == "125.4 Mbit/s"
        assert display_value("host.uptime_seconds", 3 * 86400 + 5 * 3600 + 7) == "3 天 5 小时"
        assert display_value("ac.supply_temperature_c", 18.25) == "18.25°C"


# --- add, edit, disable, delete ----------------------------------------------------------------


def _snmp_monitor(app, asset_id: int, community: str = "s3cret-community") -> int:
    from monitors import services

    with app.app_context():
        monitor, _ = services.add_monitor(
            asset_id, "snmp", {"host": "10.0.0.5", "port": 161}, {"community": community}
        )
        db.session().commit()
        return monitor.id


def _get(app, monitor_id: int) -> Monitor | None:
    with app.app_context():
        return db.session().get(Monitor, monitor_id)


def test_edit_keeps_secret_and_typed_input(db_app, db_client) -> None:
    from opskit.models import AuditLog

    asset_id = _asset(db_app)
    monitor_id = _snmp_monitor(db_app, asset_id)
    login(db_client, "engineer")
    page = db_client.get(f"/monitoring/monitors/{monitor_id}/edit").get_data(as_text=True)
    assert 'value="10.0.0.5"' in page and 'value="161"' in page and 'value="60"' in page
    assert "s3cret-community" not in page  # stored, not shown
    placeholders = dict(re.findall(r'name="(\w+)" type="password"[^>]*placeholder="([^"]*)"', page))
    assert placeholders == {"community": "已保存；留空则保持不变", "auth_key": "", "priv_key": ""}

    # a rejected form keeps what was typed, names each bad field, and changes nothing
    bad = {"host": "10.0.0.6", "port": "abc", "version": "2c", "interval_s": "2", "enabled": "1"}
    bad.update(timeout="", retries="", community="")
    response = post_form(db_client, f"/monitoring/monitors/{monitor_id}/edit", bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-error="port"' in html and 'data-error="interval_s"' in html
    assert 'value="10.0.0.6"' in html and 'value="abc"' in html and 'value="2"' in html
    assert "s3cret-community" not in html
    m = _get(db_app, monitor_id)
    assert m.settings["host"] == "10.0.0.5" and m.interval_s == 60

    # saved with the community left blank: the stored one is kept
    good = {**bad, "port": "1161", "interval_s": "120"}
    response = post_form(db_client, f"/monitoring/monitors/{monitor_id}/edit", good)
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/assets/{asset_id}"
    )
    m = _get(db_app, monitor_id)
    assert m.settings["host"] == "10.0.0.6" and m.settings["port"] == 1161
    assert m.interval_s == 120 and m.enabled
    assert json.loads(m.secret) == {"community": "s3cret-community"}

    # v3 with an auth protocol needs a key; the stored community does not count
    v3 = {**good, "version": "3", "user": "ops", "auth_proto": "SHA", "priv_proto": ""}
    response = post_form(db_client, f"/monitoring/monitors/{monitor_id}/edit", v3)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'data-error="auth_key"' in html
    assert 'value="ops"' in html and '<option value="SHA" selected>' in html
    # typed: replaced, and the unused community dropped
    response = post_form(
        db_client, f"/monitoring/monitors/{monitor_id}/edit", {**v3, "auth_key": "new-auth-key-1"}
    )
    assert response.status_code == 302
    m = _get(db_app, monitor_id)
    assert m.settings["version"] == "3" and json.loads(m.secret) == {"auth_key": "new-auth-key-1"}

    # the audit log has each change, the secret only as changed
    with db_app.app_context():
        rows = db.session().scalars(
            select(AuditLog).where(
                AuditLog.object_type == "monitor", AuditLog.object_id == str(monitor_id)
            )
        )
        rows = list(rows)
    assert [r.action for r in rows].count("update") == 2 and all(
        r.actor == "engineer" for r in rows if r.action == "update"
    )
    dumped = json.dumps([r.changes for r in rows], ensure_ascii=False)
    assert "new-auth-key-1" not in dumped and "s3cret-community" not in dumped
    for path in (
        f"/monitoring/monitors/{monitor_id}/edit",
        "/monitoring/",
        f"/monitoring/assets/{asset_id}/panel",
        f"/assets/{asset_id}",
    ):
        page = db_client.get(path).get_data(as_text=True)
        assert "new-auth-key-1" not in page and "s3cret-community" not in page, path


def test_disable_enable_and_delete_keeps_readings(db_app, db_client) -> None:
    from monitors.models import Reading, StatusFlip

    asset_id = _asset(db_app)
    monitor_id = _snmp_monitor(db_app, asset_id)
    with db_app.app_context():
        now = db.utcnow()
        m = db.session().get(Monitor, monitor_id)
        m.state = "down"
        m.next_due_at = now + timedelta(hours=1)
        db.session().add(
            Reading(
                asset_id=asset_id,
                monitor_id=monitor_id,
                metric="ups.output.load_percent",
                instance="1",
                at=now,
                value=40,
            )
        )
        db.session().add(StatusFlip(monitor_id=monitor_id, at=now, old="up", new="down"))
        db.session().commit()
    login(db_client, "engineer")
    r = post_form(db_client, f"/monitoring/monitors/{monitor_id}/enabled", {"enabled": "0"})
    assert r.status_code == 302 and _get(db_app, monitor_id).enabled is False
    listing = db_client.get("/monitoring/").get_data(as_text=True)
    row = re.search(rf'<tr id="monitor-{monitor_id}" .*?</tr>', listing, re.S).group(0)
    assert "已停用" in row
    with db_app.app_context():
        from monitors import queries

        assert queries.state_counts().get("down", 0) == 0  # disabled: out of the counts
    r = post_form(db_client, f"/monitoring/monitors/{monitor_id}/enabled", {"enabled": "1"})
    m = _get(db_app, monitor_id)
    assert m.enabled and m.next_due_at <= db.utcnow()  # due at once

    # delete needs the confirm box
    r = post_form(db_client, f"/monitoring/monitors/{monitor_id}/delete", {})
    assert r.status_code == 302 and _get(db_app, monitor_id) is not None
    r = post_form(db_client, f"/monitoring/monitors/{monitor_id}/delete", {"confirm": "1"})
    assert r.status_code == 302 and _get(db_app, monitor_id) is None
    with db_app.app_context():
        [kept] = db.session().scalars(select(Reading).where(Reading.asset_id == asset_id))
        assert kept.monitor_id is None and kept.value == 40  # the asset keeps its history
        assert db.session().scalars(select(StatusFlip)).all() == []
        from opskit.models import AuditLog

        actions = db.session().execute(
            select(AuditLog.action, AuditLog.actor).where(
                AuditLog.object_type == "monitor", AuditLog.object_id == str(monitor_id)
            )
        )
        assert {("update", "engineer"), ("delete", "engineer")} <= set(actions)
    page = db_client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert "其历史数据仍保留在资产下" in page
    # a retried delete is answered, not an error
    r = post_form(db_client, f"/monitoring/monitors/{monitor_id}/delete", {"confirm": "1"})
    assert r.status_code == 302
    assert "该监控已被删除" in db_client.get("/monitoring/").get_data(as_text=True)


def test_add_other_kinds_from_the_asset_page(db_app, db_client) -> None:
    asset_id = _asset(db_app, "WEB-01", kind="server")
    login(db_client, "admin")
    page = db_client.get(f"/monitoring/assets/{asset_id}/add?kind=tcp").get_data(as_text=True)
    assert 'value="127.0.0.1"' in page and 'name="port"' in page  # mgmt IP pre-filled
    url = f"/monitoring/assets/{asset_id}/add"
    # tcp without a port: named, typed input kept, nothing added
    r = post_form(
        db_client, url, {"kind": "tcp", "host": "10.1.1.1", "port": "", "interval_s": "30"}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-error="port"' in html
    assert 'value="10.1.1.1"' in html and 'value="30"' in html
    # http with a bad address
    r = post_form(db_client, url, {"kind": "http", "url": "ftp://x", "interval_s": "60"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-error="url"' in html and 'value="ftp://x"' in html
    assert _monitors(db_app, asset_id) == []

    ok = [
        {"kind": "tcp", "host": "10.1.1.1", "port": "443", "timeout": "2", "interval_s": "30"},
        {"kind": "ping", "host": "10.1.1.1", "count": "5", "interval": "", "timeout": ""},
        {"kind": "http", "url": "https://10.1.1.1/", "expect_status": "200", "verify_tls": "1"},
        {"kind": "http", "url": "https://10.1.1.1/health", "timeout": "5"},  # verify_tls off
        {"kind": "host", "name": "本机"},
    ]
    for form in ok:
        r = post_form(db_client, url, {"interval_s": "60", **form})
        assert r.status_code == 302, r.get_data(as_text=True)
    r = post_form(db_client, url, {"interval_s": "60", **ok[0]})  # retried: not duplicated
    assert r.status_code == 302
    made = {
        (m.kind, m.settings.get("url") or m.settings.get("host")): m
        for m in _monitors(db_app, asset_id)
    }
    assert len(made) == 5 and len(_monitors(db_app, asset_id)) == 5
    assert made[("tcp", "10.1.1.1")].settings["port"] == 443
    assert made[("tcp", "10.1.1.1")].interval_s == 30
    assert made[("ping", "10.1.1.1")].settings["count"] == 5
    assert made[("http", "https://10.1.1.1/")].settings["expect_status"] == 200
    assert made[("http", "https://10.1.1.1/")].settings["verify_tls"] is True
    assert made[("http", "https://10.1.1.1/health")].settings["verify_tls"] is False
    assert made[("host", None)].name == "本机"
    page = db_client.get(f"/monitoring/assets/{asset_id}/panel").get_data(as_text=True)
    assert 'id="add-monitor"' in page and page.count('data-action="edit"') == 5
    assert "https://10.1.1.1/health</span>" in page  # an HTTP monitor shows its URL

    # editing a second http monitor onto the first one's URL is refused
    second = made[("http", "https://10.1.1.1/health")]
    r = post_form(
        db_client,
        f"/monitoring/monitors/{second.id}/edit",
        {"url": "https://10.1.1.1/", "timeout": "5", "interval_s": "60", "enabled": "1"},
    )
    assert r.status_code == 422 and 'data-error="url"' in r.get_data(as_text=True)


def test_managing_monitors_is_for_engineers_and_admins(db_app) -> None:
    app = db_app
    asset_id = _asset(app)
    monitor_id = _snmp_monitor(app, asset_id)
    for role in ("viewer", "supervisor"):
        client = app.test_client()
        login(client, role)
        assert client.get(f"/monitoring/monitors/{monitor_id}/edit").status_code == 403
        assert client.get(f"/monitoring/assets/{asset_id}/add").status_code == 403
        for path, form in (
            (f"/monitoring/monitors/{monitor_id}/edit", {"host": "x", "interval_s": "60"}),
            (f"/monitoring/monitors/{monitor_id}/enabled", {"enabled": "0"}),
            (f"/monitoring/monitors/{monitor_id}/delete", {"confirm": "1"}),
            (f"/monitoring/assets/{asset_id}/add", {"kind": "ping", "host": "x"}),
        ):
            assert post_form(client, path, form).status_code == 403, (role, path)
        listing = client.get("/monitoring/").get_data(as_text=True)
        panel = client.get(f"/monitoring/assets/{asset_id}/panel").get_data(as_text=True)
        assert 'data-action="edit"' not in listing and 'data-action="edit"' not in panel
        assert 'id="add-monitor"' not in panel
    m = _get(app, monitor_id)
    assert m.enabled and m.settings["host"] == "10.0.0.5" and len(_monitors(app, asset_id)) == 1
    # CSRF: a form without the token is refused
    client = app.test_client()
    login(client, "engineer")
    r = client.post(f"/monitoring/monitors/{monitor_id}/delete", data={"confirm": "1"})
    assert r.status_code == 400 and _get(app, monitor_id) is not None
