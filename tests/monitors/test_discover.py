"""Subnet discovery over real SNMP agents on this machine: snmpsim serves three recordings on
127.0.77.2 (an RFC 1628 UPS), .3 (an APC rack PDU) and .4 (a Cisco switch with ENTITY-MIB and
LLDP), all on one port with the community ``public``; 127.0.77.5 has no agent (Linux answers
ICMP on every 127.0.0.0/8 address, so it answers ping only). Sweeps, proposals, the one-step
registration (SQLite and PostgreSQL), the command and the screen."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import func, select, text

from assets.models import Asset
from monitors import snmp
from monitors.discover import proposals as found
from monitors.discover import sweep as sweeping
from monitors.discover.register import register
from monitors.models import ArpSighting, LldpNeighbor, Monitor
from opskit import db
from opskit.cli import cli
from opskit.db import utcnow
from opskit.validation import ValidationFailed
from tests import factories
from tests.conftest import login, post_form
from tests.monitors.conftest import (
    FIXTURES,
    V3_AUTH_KEY,
    V3_PRIV_KEY,
    V3_USER,
    _v3_args,
    running_snmpsim,
)

pytestmark = pytest.mark.xdist_group("snmp_discover")

NET = "127.0.77"
AGENTS = {f"{NET}.2": "ups_rfc1628", f"{NET}.3": "rack_pdu", f"{NET}.4": "switch_lldp"}
PUBLIC = snmp.Credentials(community="public")


def _free_port() -> int:
    """A UDP port free on the agents' addresses."""
    for _ in range(20):
        with contextlib.ExitStack() as stack:
            first = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            first.bind((f"{NET}.2", 0))
            port = first.getsockname()[1]
            try:
                for address in list(AGENTS)[1:]:
                    s = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
                    s.bind((address, port))
            except OSError:
                continue
            return port
    raise RuntimeError("no UDP port free on the agents' addresses")


@pytest.fixture(scope="session")
def agents(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """The three agents; yields their port."""
    port = _free_port()
    with contextlib.ExitStack() as stack:
        for address, recording in AGENTS.items():
            base = tmp_path_factory.mktemp(f"sweep-{recording}")
            (base / "data").mkdir()
            shutil.copy(FIXTURES / f"{recording}.snmprec", base / "data" / "public.snmprec")
            v3 = _v3_args(V3_AUTH_KEY, V3_PRIV_KEY)  # SNMPv3 too: context "public"
            stack.enter_context(running_snmpsim(base, b"public", v3, host=address, port=port))
        yield port


@pytest.fixture(scope="session")
def swept(agents: int) -> sweeping.Sweep:
    """127.0.77.0/29 swept once by ICMP and SNMP (the sweep reads no database)."""
    return sweeping.sweep(f"{NET}.0/29", PUBLIC, port=agents, timeout=8)


def _by_address(proposals: list[found.Proposal]) -> dict[str, found.Proposal]:
    return {p.address: p for p in proposals}


# --- the range -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("10.1.1.0/21", "10.1.0.0/21 has 2,048 addresses; at most 1024"),
        ("10.1.1.0/33", "10.1.1.0/33 is not a network. Expected a network such as 10.1.1.0/24"),
        ("10.1.1.50-10.1.1.10", "must run from a lower to a higher address"),
        ("10.1.1.1-fe80::1", "must run from a lower to a higher address"),
        ("10.1.1.x-12", "10.1.1.x-12 is not a range"),
        ("", "Enter the addresses to sweep"),
    ],
)
def test_a_bad_or_oversize_range_is_refused_naming_the_field(typed: str, says: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        sweeping.parse_range(typed)
    assert list(info.value.errors) == ["range"]
    assert says in info.value.errors["range"][0]


def test_ranges_are_read_as_people_write_them() -> None:
    assert [str(a) for a in sweeping.parse_range("10.1.1.10-12")] == [
        "10.1.1.10",
        "10.1.1.11",
        "10.1.1.12",
    ]
    hosts = sweeping.parse_range("10.1.1.5/30")  # host bits allowed; network/broadcast left out
    assert [str(a) for a in hosts] == ["10.1.1.5", "10.1.1.6"]
    assert len(sweeping.parse_range("10.1.0.0/22")) == 1022  # the largest: 1024 addresses


# --- the sweep and its proposals ---------------------------------------------------------------


def test_the_sweep_finds_the_agents_and_the_addresses_that_answer_ping(
    swept: sweeping.Sweep,
) -> None:
    assert swept.icmp and swept.unfinished == 0
    answered = {r.address: r.answered_by for r in swept.responders}
    for address in AGENTS:
        assert answered[address] == ["icmp", "snmp"]
    assert answered[f"{NET}.5"] == ["icmp"]  # no agent there: ping only
    assert swept.summary() == (
        f"3 SNMP agent(s) and 3 address(es) answering ping only in range {NET}.0/29."
    )


def test_without_icmp_an_address_without_an_agent_is_not_proposed(agents: int) -> None:
    result = sweeping.sweep(f"{NET}.2-5", PUBLIC, port=agents, timeout=6, icmp=False)
    assert [r.address for r in result.responders] == list(AGENTS)
    assert "ICMP was switched off" in result.summary()


# On SQLite only: its proposing and registering run on PostgreSQL in
# test_the_chosen_are_registered_in_one_step_and_never_twice; v3 adds SNMP, not queries.
def test_a_v3_sweep_proposes_v3_monitors_with_their_keys(app, agents: int) -> None:
    v3 = snmp.Credentials(
        version="3",
        user=V3_USER,
        auth_proto="SHA",
        auth_key=V3_AUTH_KEY,
        priv_proto="AES",
        priv_key=V3_PRIV_KEY,
        context="public",
    )
    result = sweeping.sweep(f"{NET}.2-4", v3, port=agents, timeout=8, icmp=False)
    assert [r.address for r in result.responders] == list(AGENTS)
    with app.app_context():
        ups = _by_address(found.propose(result))[f"{NET}.2"]
        assert (ups.name, ups.kind) == ("ups-a1", "ups")
        assert ups.monitor["settings"]["version"] == "3"
        assert ups.monitor["settings"]["user"] == V3_USER
        secret = found.snmp_secret(v3)
        db.write(lambda: register([ups], secret, None, result.range))
        monitor = db.session().scalar(select(Monitor))
        assert (monitor.settings["auth_proto"], monitor.settings["context"]) == ("SHA", "public")
        assert json.loads(monitor.secret) == {"auth_key": V3_AUTH_KEY, "priv_key": V3_PRIV_KEY}
        wrong = snmp.Credentials(version="3", user=V3_USER, auth_proto="SHA", auth_key="not-it-1")
        nobody = sweeping.sweep(f"{NET}.2", wrong, port=agents, timeout=4, icmp=False)
        assert nobody.responders == []


def test_a_range_with_no_answer_finishes_and_says_so(agents: int) -> None:
    nobody = sweeping.sweep(
        f"{NET}.0/30", snmp.Credentials(community="wrong"), port=agents, timeout=4, icmp=False
    )
    assert nobody.responders == [] and nobody.unfinished == 0
    assert nobody.summary().startswith(f"No answer in range {NET}.0/30.")
    pinged = sweeping.sweep(
        f"{NET}.0/30", snmp.Credentials(community="wrong"), port=agents, timeout=4
    )
    assert pinged.summary() == (
        f"No SNMP agent answered in range {NET}.0/30; 2 address(es) answered ping only."
    )


def test_a_sweep_stops_at_its_time_limit_and_counts_what_was_left(agents: int) -> None:
    # 254 silent addresses, 4 at a time, 2 x 0.25 s each: far beyond the 1 s limit
    result = sweeping.sweep(
        "127.0.78.0/24", PUBLIC, port=agents, timeout=1, concurrency=4, icmp=False
    )
    assert result.responders == [] and result.unfinished > 200
    assert f"{result.unfinished} address(es) were not finished within the 1 s timeout" in (
        result.summary()
    )


def test_proposals_name_kind_model_and_monitor_and_mark_what_is_registered(
    db_app, swept: sweeping.Sweep
) -> None:
    with db_app.app_context():
        factories.asset("PDU-A03", kind="pdu", name="Rack PDU A03", mgmt_ip=f"{NET}.3")
        db.session().commit()
        proposals = _by_address(found.propose(swept))
    ups, pdu, switch, quiet = (proposals[f"{NET}.{i}"] for i in (2, 3, 4, 5))
    assert (ups.name, ups.asset_tag, ups.kind, ups.kind_from) == (
        "ups-a1",
        "ups-a1",
        "ups",
        "ups_mib",
    )
    assert (ups.model, ups.firmware) == ("SEP 3000", "SWM054-01-02")
    assert ups.monitor == {
        "kind": "snmp",
        "settings": {
            "host": f"{NET}.2",
            "port": swept.port,
            "version": "2c",
            "timeout": 2.0,
            "retries": 1,
        },
    }
    assert "community" not in json.dumps(ups.to_json())  # the credentials stay with the sweep
    assert pdu.registered is not None and pdu.registered["asset_tag"] == "PDU-A03"
    assert (switch.kind, switch.kind_from) == ("other", "")  # no profile says "switch"
    assert (switch.model, switch.serial) == ("WS-C2960X-48TS-L", "FOC1234X5YZ")
    assert "lldp" in switch.profiles and "entity" in switch.profiles
    assert (quiet.answered_by, quiet.kind, quiet.name) == (["icmp"], "other", f"{NET}.5")
    assert quiet.monitor is not None and quiet.monitor["kind"] == "ping"
    assert quiet.asset_tag == f"ip-{NET}.5"


def test_the_chosen_are_registered_in_one_step_and_never_twice(
    db_app, swept: sweeping.Sweep
) -> None:
    with db_app.app_context():
        room = factories.rack(site="总部", room="A机房").room
        factories.asset("PDU-A03", kind="pdu", mgmt_ip=f"{NET}.3")
        db.session().commit()
        proposals = _by_address(found.propose(swept))
        chosen = [proposals[f"{NET}.2"], proposals[f"{NET}.4"], proposals[f"{NET}.5"]]
        chosen[1].kind = "switch"
        secret = found.snmp_secret(PUBLIC)
        outcome = db.write(lambda: register(chosen, secret, room, swept.range))
        assert [a.asset_tag for a, _m in outcome.created] == ["ups-a1", "sw-core-1", f"ip-{NET}.5"]
        assets = {a.mgmt_ip: a for a in db.session().scalars(select(Asset))}
        assert (assets[f"{NET}.2"].kind, assets[f"{NET}.2"].model) == ("ups", "SEP 3000")
        assert assets[f"{NET}.2"].specs == {"firmware": "SWM054-01-02"}  # assets.specs' key
        assert assets[f"{NET}.2"].room is not None and assets[f"{NET}.2"].room.name == "A机房"
        assert (assets[f"{NET}.4"].kind, assets[f"{NET}.4"].serial) == ("switch", "FOC1234X5YZ")
        assert f"由网段发现（{NET}.0/29）" in assets[f"{NET}.2"].notes  # the default language
        monitors = {m.settings["host"]: m for m in db.session().scalars(select(Monitor))}
        assert monitors[f"{NET}.2"].kind == "snmp" and monitors[f"{NET}.5"].kind == "ping"
        assert json.loads(monitors[f"{NET}.2"].secret or "") == {"community": "public"}
        stored = (
            db.session()
            .execute(
                text("SELECT secret FROM monitor WHERE id = :id"), {"id": monitors[f"{NET}.2"].id}
            )
            .scalar_one()
        )
        assert stored.startswith("fernet:") and "public" not in stored  # encrypted at rest

        # the same registration again: the screen skips what is there, the command refuses
        again = _by_address(found.propose(swept))
        assert again[f"{NET}.2"].registered["asset_tag"] == "ups-a1"  # marked from now on
        retried = [proposals[f"{NET}.2"], proposals[f"{NET}.4"]]
        outcome = db.write(lambda: register(retried, secret, None, swept.range))
        assert outcome.created == [] and len(outcome.skipped) == 2
        with pytest.raises(ValidationFailed) as info:
            db.write(lambda: register(retried, secret, None, "", refuse_registered=True))
        assert f"{NET}.2 已登记：ups-a1 ups-a1。" in info.value.errors[f"{NET}.2"]
        assert db.session().scalar(select(func.count()).select_from(Asset)) == 4
        assert db.session().scalar(select(func.count()).select_from(Monitor)) == 3


def test_a_refused_row_writes_nothing(db_app, swept: sweeping.Sweep) -> None:
    with db_app.app_context():
        proposals = _by_address(found.propose(swept))
        good, bad = proposals[f"{NET}.2"], proposals[f"{NET}.4"]
        bad.kind = "toaster"
        with pytest.raises(ValidationFailed) as info:
            db.write(lambda: register([good, bad], {"community": "public"}, None, ""))
        assert list(info.value.errors) == [f"{NET}.4"]
        assert info.value.errors[f"{NET}.4"][0].startswith("kind: ")
        assert db.session().scalar(select(func.count()).select_from(Asset)) == 0
        assert db.session().scalar(select(func.count()).select_from(Monitor)) == 0


# --- LLDP neighbours no asset matches ----------------------------------------------------------


def test_unregistered_lldp_neighbours_are_offered_and_registered_the_same_way(db_app) -> None:
    now = utcnow()
    with db_app.app_context():
        switch = factories.asset("SW-CORE-1", kind="switch", name="sw-core-1")
        factories.asset("SRV-DB01", kind="server", name="db01")
        sess = db.session()
        seen = {"asset_id": switch.id, "first_seen": now - timedelta(days=1), "last_seen": now}
        sess.add_all(
            [
                LldpNeighbor(
                    local_port="Gi1/0/1",
                    remote_sys_name="db01.example.com",
                    remote_chassis_id="aa:bb:cc:00:00:01",
                    **seen,
                ),
                LldpNeighbor(
                    local_port="Gi1/0/2",
                    remote_sys_name="ap-floor3",
                    remote_chassis_id="aa:bb:cc:00:00:02",
                    **seen,
                ),
                LldpNeighbor(
                    local_port="Gi1/0/3",
                    remote_sys_name="old-phone",
                    remote_chassis_id="aa:bb:cc:00:00:03",
                    first_seen=now - timedelta(days=40),
                    last_seen=now - timedelta(days=30),
                    asset_id=switch.id,
                ),
                ArpSighting(ip="127.0.79.9", mac="aa:bb:cc:00:00:02", interface="Vlan10", **seen),
            ]
        )
        sess.commit()
        offers = found.lldp_offers()
        assert [(o.name, o.chassis, o.address) for o in offers] == [
            ("ap-floor3", "aa:bb:cc:00:00:02", "127.0.79.9")  # db01 is registered; old-phone old
        ]
        assert offers[0].seen_by == ["SW-CORE-1 Gi1/0/2"] and offers[0].monitor["kind"] == "ping"
        db.write(lambda: register(offers, {}, None, ""))
        made = sess.scalar(select(Asset).where(Asset.name == "ap-floor3"))
        assert made is not None and made.mgmt_ip == "127.0.79.9" and made.kind == "other"
        assert "LLDP 机箱 ID：aa:bb:cc:00:00:02" in made.notes
        assert found.lldp_offers() == []  # registered: offered no more


# --- the command -------------------------------------------------------------------------------


def _invoke(app, *args: str, stdin: str | None = None):
    runner = CliRunner()
    return runner.invoke(cli, list(args), input=stdin, obj=ScriptInfo(create_app=lambda: app))


def test_the_command_prints_json_and_registers_in_one_step(app, agents: int) -> None:
    with app.app_context():
        factories.asset("PDU-A03", kind="pdu", mgmt_ip=f"{NET}.3")
        db.session().commit()
    common = ("discover", f"{NET}.2-4", "--port", str(agents), "--timeout", "6", "--no-icmp")
    result = _invoke(app, *common, "--secrets-stdin", "--json", stdin="public\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["message"] == (
        f"3 SNMP agent(s) and 0 address(es) answering ping only in range {NET}.2-4. "
        "ICMP was switched off for this sweep."
    )
    by = {p["address"]: p for p in data["proposals"]}
    assert (
        by[f"{NET}.2"]["kind"] == "ups" and by[f"{NET}.3"]["registered"]["asset_tag"] == "PDU-A03"
    )
    assert "public" not in result.output

    result = _invoke(
        app, *common, "--secrets-stdin", "--register", f"{NET}.3,{NET}.4", stdin="public\n"
    )
    assert result.exit_code == 1
    assert f"refused: {NET}.3: {NET}.3 is already registered: PDU-A03 PDU-A03." in result.output
    assert "nothing was registered" in result.output

    result = _invoke(
        app,
        *common,
        "--secrets-stdin",
        "--register",
        f"{NET}.2,{NET}.4",
        "--kind",
        f"{NET}.4=switch",
        "--json",
        stdin="public\n",
    )
    assert result.exit_code == 0, result.output
    made = {r["address"]: r for r in json.loads(result.output)["registered"]}
    assert made[f"{NET}.4"]["asset_tag"] == "sw-core-1"
    assert [m["kind"] for m in made[f"{NET}.2"]["monitors"]] == ["snmp"]
    with app.app_context():
        assert (
            db.session().scalar(select(Asset.kind).where(Asset.mgmt_ip == f"{NET}.4")) == "switch"
        )


def test_the_command_names_what_is_wrong(app) -> None:
    result = _invoke(app, "discover", "10.0.0.0/16")
    assert result.exit_code == 2
    assert "10.0.0.0/16 has 65,536 addresses" in result.output and "RANGE" in result.output
    result = _invoke(app, "discover", f"{NET}.2", "--room", "Nowhere")
    assert result.exit_code == 2 and "no room 'Nowhere' is registered" in result.output
    result = _invoke(app, "discover", f"{NET}.2", "--kind", "x=toaster")
    assert result.exit_code == 2 and "--kind" in result.output


def test_a_silent_range_exits_1_and_says_so(app, agents: int) -> None:
    result = _invoke(
        app, "discover", "127.0.78.0/30", "--port", str(agents), "--timeout", "3", "--no-icmp"
    )
    assert result.exit_code == 1
    assert "No answer in range 127.0.78.0/30." in result.output


# --- the screen --------------------------------------------------------------------------------


def _sweep_form(agents: int, **extra: str) -> dict[str, str]:
    form = {"range": f"{NET}.2-5", "port": str(agents), "version": "2c", "timeout": "8"}
    form.update(community="public", icmp="1", **extra)
    return form


def test_the_screen_sweeps_proposes_and_registers_the_chosen_once(
    db_app, db_client, agents: int
) -> None:
    with db_app.app_context():
        factories.asset("PDU-A03", kind="pdu", name="Rack PDU A03", mgmt_ip=f"{NET}.3")
        db.session().commit()
    login(db_client, "engineer")
    monitors_page = db_client.get("/monitoring/").get_data(as_text=True)
    assert 'id="nav-discover"' in monitors_page and "/monitoring/discover/" in monitors_page
    page = db_client.get("/monitoring/discover/").get_data(as_text=True)
    assert 'id="sweep-form"' in page and "发现设备" in page

    response = post_form(db_client, "/monitoring/discover/sweep", _sweep_form(agents))
    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "public" not in html  # the community is never written back into the page
    rows = {
        m.group(1): m.group(0)
        for m in re.finditer(
            r'<tr data-address="([^"]+)" data-row="\d+" data-registered="[a-z]+".*?</tr>',
            html,
            re.S,
        )
    }
    assert set(rows) == {f"{NET}.2", f"{NET}.3", f"{NET}.4", f"{NET}.5"}
    ups = rows[f"{NET}.2"]
    assert 'value="ups" selected' in ups and "UPS（RFC 1628 UPS-MIB）" in ups  # words, not keys
    assert "SEP 3000" in ups and ">ups-a1<" in ups
    assert 'data-registered="yes"' in rows[f"{NET}.3"] and 'name="chosen"' not in rows[f"{NET}.3"]
    assert ">PDU-A03<" in rows[f"{NET}.3"]  # linked to the registered asset
    assert (
        'data-answered="icmp"' in rows[f"{NET}.5"]
        and 'data-answered="snmp"' not in rows[f"{NET}.5"]
    )
    sealed = re.search(r'name="sealed" value="([^"]+)"', html).group(1)
    index = {a: re.search(r'data-row="(\d+)"', row).group(1) for a, row in rows.items()}

    chosen = {"sealed": sealed, "chosen": [index[f"{NET}.2"], index[f"{NET}.4"]]}
    chosen[f"kind-{index[f'{NET}.4']}"] = "switch"
    response = post_form(db_client, "/monitoring/discover/register", chosen)
    assert response.status_code == 302
    done = db_client.get("/monitoring/discover/").get_data(as_text=True)
    assert "ups-a1" in done and "sw-core-1" in done  # the flash names the new assets
    with db_app.app_context():
        kinds = dict(db.session().execute(select(Asset.mgmt_ip, Asset.kind)).all())
        assert kinds == {f"{NET}.2": "ups", f"{NET}.3": "pdu", f"{NET}.4": "switch"}
        assert db.session().scalar(select(func.count()).select_from(Monitor)) == 2

    response = post_form(db_client, "/monitoring/discover/register", chosen)  # a retried POST
    assert response.status_code == 302
    again = db_client.get("/monitoring/discover/").get_data(as_text=True)
    assert f"{NET}.2 已登记（ups-a1 ups-a1），已跳过。" in again
    assert f"{NET}.4 已登记（sw-core-1 sw-core-1），已跳过。" in again
    with db_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Asset)) == 3
        assert db.session().scalar(select(func.count()).select_from(Monitor)) == 2


def test_the_screen_keeps_the_form_and_names_a_bad_field(db_client) -> None:
    login(db_client, "engineer")
    form = {"range": "10.0.0.0/8", "port": "161", "version": "2c", "timeout": "8"}
    response = post_form(db_client, "/monitoring/discover/sweep", form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-error="range"' in html and 'value="10.0.0.0/8"' in html
    assert 'data-error="community"' in html  # v2c needs the community
    sealed = {"sealed": "fernet:not-what-was-sealed", "chosen": ["0"]}
    response = post_form(db_client, "/monitoring/discover/register", sealed)
    assert response.status_code == 302  # back to the form, saying to sweep again
    with db_client.application.app_context():
        assert db.session().scalar(select(func.count()).select_from(Asset)) == 0


@pytest.mark.parametrize("role", ["viewer", "supervisor"])
def test_only_engineers_and_admins_sweep_and_register(db_client, role: str) -> None:
    login(db_client, role)
    page = db_client.get("/monitoring/discover/").get_data(as_text=True)
    assert 'id="sweep-form"' not in page and 'id="register-submit"' not in page
    assert 'id="discover-readonly"' in page
    form = {"range": f"{NET}.2", "community": "public"}
    assert post_form(db_client, "/monitoring/discover/sweep", form).status_code == 403
    assert post_form(db_client, "/monitoring/discover/register", {"chosen": "0"}).status_code == 403


def test_sweep_without_csrf_is_refused(db_client) -> None:
    login(db_client, "engineer")
    response = db_client.post("/monitoring/discover/sweep", data={"range": f"{NET}.2"})
    assert response.status_code in (400, 403)
