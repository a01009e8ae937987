"""Probing real agents: snmpsim serving the recordings in ./fixtures (see conftest.py)."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from monitors import snmp
from monitors.probe import probe
from opskit.cli import cli
from tests.monitors.conftest import V3_AUTH_KEY, V3_PRIV_KEY, V3_USER, Agent

FIXTURES = Path(__file__).with_name("fixtures")


def recording(name: str) -> dict[str, str]:
    """OID -> raw value text of one recording."""
    out = {}
    for line in (FIXTURES / f"{name}.snmprec").read_text(encoding="utf-8").splitlines():
        oid, _kind, value = line.split("|", 2)
        out[oid] = value
    return out


def v2c(agent: Agent, community: str) -> dict:
    return probe(
        agent.host, agent.port, snmp.Credentials(community=community), timeout=2, retries=1
    )


def metrics(result: dict) -> dict[tuple[str, str], dict]:
    return {(m["metric"], m["instance"]): m for m in result["metrics"]}


def value(result: dict, metric: str, instance: str = "") -> object:
    return metrics(result)[(metric, instance)]["value"]


def test_rfc1628_ups_over_v2c(snmp_agent: Agent) -> None:
    rec = recording("ups_rfc1628")
    result = v2c(snmp_agent, "ups_rfc1628")
    assert result["sys_name"] == rec["1.3.6.1.2.1.1.5.0"] == "ups-a1"
    assert result["sys_descr"] == rec["1.3.6.1.2.1.1.1.0"]
    assert result["sys_object_id"] == rec["1.3.6.1.2.1.1.2.0"]
    assert result["sys_uptime_seconds"] == int(rec["1.3.6.1.2.1.1.3.0"]) / 100
    assert "ups_mib" in result["profiles"]
    assert "apc_ups" not in result["profiles"]
    got = metrics(result)
    assert got[("ups.output.load_percent", "1")] == {
        "metric": "ups.output.load_percent",
        "instance": "1",
        "value": int(rec["1.3.6.1.2.1.33.1.4.4.1.5.1"]),
        "unit": "%",
        "status": None,
    }
    assert value(result, "ups.output.load_percent", "1") == 42
    assert value(result, "ups.battery.runtime_minutes") == int(rec["1.3.6.1.2.1.33.1.2.3.0"]) == 37
    assert value(result, "ups.battery.charge_percent") == 100
    assert value(result, "ups.battery.temperature_c") == 27
    assert got[("ups.battery.temperature_c", "")]["unit"] == "°C"
    assert value(result, "ups.input.voltage_v", "1") == 229
    assert value(result, "ups.input.frequency_hz", "1") == 49.9  # 499 tenths of a hertz
    assert value(result, "ups.output.voltage_v", "1") == 230
    assert value(result, "ups.alarms.count") == 0
    assert got[("ups.output.source", "")]["value"] == "normal"
    assert got[("ups.output.source", "")]["status"] == "ok"
    assert got[("ups.battery.status", "")]["value"] == "normal"
    assert result["inventory"] == {"model": "SEP 3000", "serial": None, "firmware": "SWM054-01-02"}
    # A UPS card without IF-MIB/HOST-RESOURCES data: empty sections, not errors.
    assert result["interfaces"] == [] and result["storage"] == [] and result["arp"] == []
    assert not any(m["metric"].startswith("host.") for m in result["metrics"])


def test_rfc1628_ups_on_battery_three_phase(snmp_agent: Agent) -> None:
    result = v2c(snmp_agent, "ups_rfc1628_on_battery")
    got = metrics(result)
    assert got[("ups.output.source", "")]["value"] == "battery"
    assert got[("ups.output.source", "")]["status"] == "critical"
    assert got[("ups.battery.status", "")]["value"] == "low"
    assert got[("ups.battery.status", "")]["status"] == "critical"
    assert value(result, "ups.battery.runtime_minutes") == 12
    assert value(result, "ups.battery.charge_percent") == 35
    loads = {
        m["instance"]: m["value"]
        for m in result["metrics"]
        if m["metric"] == "ups.output.load_percent"
    }
    assert loads == {"1": 40, "2": 45, "3": 38}
    assert value(result, "ups.alarms.count") == 2


def test_linux_host_storage_interfaces_cpu(snmp_agent: Agent) -> None:
    rec = recording("linux_host")
    result = v2c(snmp_agent, "linux_host")
    assert "host_resources" in result["profiles"] and "ups_mib" not in result["profiles"]
    assert "ucd" in result["profiles"]  # Net-SNMP: UCD-SNMP-MIB beside HOST-RESOURCES
    hr = "1.3.6.1.2.1.25.2.3.1."
    for index, volume in (("31", "/"), ("36", "/var/lib/postgresql")):
        size, units = (int(rec[f"{hr}{c}.{index}"]) for c in (5, 4))
        assert value(result, "host.storage.size_bytes", volume) == size * units
    assert value(result, "host.storage.size_bytes", "/") == 10 * 1024**3
    # Used space as df shows it: UCD dskPercent, used / (used + available to users), 5 % of
    # each volume reserved for root; hrStorage alone would say 25 and 90 (used / size).
    assert value(result, "host.storage.used_percent", "/") == 27
    assert value(result, "host.storage.used_percent", "/var/lib/postgresql") == 95
    assert rec["1.3.6.1.4.1.2021.9.1.9.2"] == "95"
    # RAM and swap rows are not volumes
    volumes = {
        m["instance"] for m in result["metrics"] if m["metric"] == "host.storage.used_percent"
    }
    assert volumes == {"/", "/var/lib/postgresql"}
    # Memory as `free` counts it: 16 GiB less 4 GiB free, 0.5 GiB buffers and 3.5 GiB cache
    # (hrStorage's "Physical memory" counts buffers and cache as used: 75 %).
    assert value(result, "host.memory.used_percent") == 50
    # CPU: 100 - ssCpuIdle (78); hrProcessorLoad's mean of 20, 40, 30, 10 would be 25.
    assert value(result, "host.cpu.load_percent") == 22
    assert value(result, "host.load.1min") == 1.52  # laLoadInt 152, 98, 71 (load x 100)
    assert value(result, "host.load.5min") == 0.98
    assert value(result, "host.load.15min") == 0.71
    assert metrics(result)[("host.load.1min", "")]["unit"] == ""
    assert value(result, "host.uptime_seconds") == 315360  # hrSystemUptime, not sysUpTime
    storage = {s["descr"]: s for s in result["storage"]}
    assert storage["/"] == {
        "index": 31,
        "descr": "/",
        "type": "fixed_disk",
        "allocation_units": 4096,
        "size_bytes": 2621440 * 4096,
        "used_bytes": 655360 * 4096,
        "used_percent": 25,
    }
    assert storage["Physical memory"]["type"] == "ram"
    eno1 = next(i for i in result["interfaces"] if i["name"] == "eno1")
    assert eno1 == {
        "index": 2,
        "name": "eno1",
        "descr": "Intel Corporation Ethernet Controller X710",
        "alias": "uplink to sw-core-1 Gi1/0/12",
        "type": 6,
        "speed_bps": 10_000_000_000,  # ifHighSpeed, since ifSpeed saturates
        "mac": "3c:fd:fe:1a:2b:3c",
        "admin_status": "up",
        "oper_status": "up",
        "in_octets": 12345678901,  # the 64-bit counter
        "out_octets": 98765432101,
    }
    assert [i["name"] for i in result["interfaces"]] == ["lo", "eno1"]
    assert value(result, "if.oper_status", "eno1") == "up"
    assert value(result, "if.in_octets", "eno1") == 12345678901


def test_switch_lldp_arp_inventory(snmp_agent: Agent) -> None:
    result = v2c(snmp_agent, "switch_lldp")
    assert {"lldp", "arp", "entity", "if_mib"} <= set(result["profiles"])
    assert result["lldp_neighbors"] == [
        {
            "local_port": "Gi1/0/1",
            "remote_sys_name": "db01",
            "remote_port": "eno1",
            "remote_chassis_id": "3c:fd:fe:00:00:01",
        }
    ]
    assert result["arp"] == [
        {"ip": "10.0.10.21", "mac": "3c:fd:fe:1a:2b:3c", "interface": "Vl10"},
        {"ip": "10.0.10.22", "mac": "00:1b:21:aa:bb:cc", "interface": "Vl10"},
        {"ip": "fe80::3efd:feff:fe1a:2b3c", "mac": "3c:fd:fe:1a:2b:3c", "interface": "Vl10"},
    ]
    assert result["inventory"] == {
        "model": "WS-C2960X-48TS-L",
        "serial": "FOC1234X5YZ",
        "firmware": "15.2(7)E8",
    }
    assert value(result, "if.oper_status", "Gi1/0/2") == "down"


def test_apc_ups_with_environment_probe(snmp_agent: Agent) -> None:
    result = v2c(snmp_agent, "apc_ups")
    assert "apc_ups" in result["profiles"] and "ups_mib" not in result["profiles"]
    assert value(result, "ups.battery.runtime_minutes") == 45  # 270000 TimeTicks
    assert value(result, "ups.output.load_percent") == 33
    assert value(result, "ups.output.source") == "normal"
    assert value(result, "env.temperature_c", "Cold aisle A") == 23
    assert value(result, "env.humidity_percent", "Cold aisle A") == 45
    assert result["inventory"]["serial"] == "AS1234567890"


def test_precision_ac(snmp_agent: Agent) -> None:
    result = v2c(snmp_agent, "precision_ac")
    assert "apc_inrow" in result["profiles"] and "apc_ups" not in result["profiles"]
    assert value(result, "ac.supply_temperature_c") == 20.2  # 202 tenths
    assert value(result, "ac.return_temperature_c") == 31.9
    assert metrics(result)[("ac.return_temperature_c", "")]["unit"] == "°C"
    state = metrics(result)[("ac.state", "")]  # airIRRCUnitStatusOperateMode on(2)
    assert (state["value"], state["status"]) == ("on", "ok")


def test_rack_pdu(snmp_agent: Agent) -> None:
    result = v2c(snmp_agent, "rack_pdu")
    assert "apc_pdu" in result["profiles"]
    assert value(result, "pdu.power_w") == 270  # 27 hundredths of a kW
    currents = {
        m["instance"]: m["value"] for m in result["metrics"] if m["metric"] == "pdu.current_a"
    }
    assert currents == {"1": 1.3, "2": 2.1, "3": 0.8}


def test_snmp_v1(snmp_agent: Agent) -> None:
    creds = snmp.Credentials(version="1", community="ups_rfc1628_on_battery")
    result = probe(snmp_agent.host, snmp_agent.port, creds, timeout=2, retries=1)
    assert result["sys_name"] == "ups-b2"
    assert value(result, "ups.output.source") == "battery"
    loads = {
        m["instance"]: m["value"]
        for m in result["metrics"]
        if m["metric"] == "ups.output.load_percent"
    }
    assert loads == {"1": 40, "2": 45, "3": 38}


def test_v3_auth_priv(snmp_agent: Agent) -> None:
    creds = snmp.Credentials(
        version="3",
        user=V3_USER,
        auth_proto="SHA",
        auth_key=V3_AUTH_KEY,
        priv_proto="AES",
        priv_key=V3_PRIV_KEY,
        context="ups_rfc1628",
    )
    result = probe(snmp_agent.host, snmp_agent.port, creds, timeout=2, retries=1)
    assert result["sys_name"] == "ups-a1"
    assert value(result, "ups.output.load_percent", "1") == 42


def test_v3_wrong_key_is_an_error(snmp_agent: Agent) -> None:
    creds = snmp.Credentials(
        version="3",
        user=V3_USER,
        auth_proto="SHA",
        auth_key="not-the-auth-key",
        priv_proto="AES",
        priv_key=V3_PRIV_KEY,
        context="ups_rfc1628",
    )
    with pytest.raises(snmp.SnmpError) as info:
        probe(snmp_agent.host, snmp_agent.port, creds, timeout=1, retries=0)
    assert "\n" not in str(info.value)


def _invoke(app, *args: str):
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def test_cli_probe_json(app, snmp_agent: Agent) -> None:
    result = _invoke(
        app,
        "snmp",
        "probe",
        snmp_agent.host,
        "--port",
        str(snmp_agent.port),
        "--community",
        "linux_host",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {
        "sys_name",
        "sys_descr",
        "sys_object_id",
        "profiles",
        "metrics",
        "interfaces",
        "lldp_neighbors",
        "arp",
        "storage",
        "inventory",
    }
    assert data["sys_name"] == "db01"
    assert {
        "metric": "host.memory.used_percent",
        "instance": "",
        "value": 50,
        "unit": "%",
        "status": None,
    } in data["metrics"]
    assert {
        "metric": "host.load.5min",
        "instance": "",
        "value": 0.98,
        "unit": "",
        "status": None,
    } in data["metrics"]
    assert "ucd" in data["profiles"]
    assert data["matched_because"]["ucd"] == (
        "the agent answers under 1.3.6.1.4.1.2021.10 (1.3.6.1.4.1.2021.10.1.1.1)"
    )
    assert data["matched_because"]["if_mib"] == "always"


def test_cli_probe_v3_text(app, snmp_agent: Agent) -> None:
    result = _invoke(
        app,
        "snmp",
        "probe",
        snmp_agent.host,
        "--port",
        str(snmp_agent.port),
        "--v3-user",
        V3_USER,
        "--auth-proto",
        "SHA",
        "--auth-key",
        V3_AUTH_KEY,
        "--priv-proto",
        "AES",
        "--priv-key",
        V3_PRIV_KEY,
        "--context",
        "apc_ups",
    )
    assert result.exit_code == 0, result.output
    assert "apc-ups-b1" in result.output
    assert (
        "    apc_ups: the agent answers under 1.3.6.1.4.1.318.1.1.1 (" in result.output
    )  # v3 GETNEXT
    assert "env.temperature_c[Cold aisle A] = 23 °C" in result.output


def test_cli_rejects_v3_options_without_user(app) -> None:
    result = _invoke(app, "snmp", "probe", "127.0.0.1", "--auth-proto", "SHA", "--auth-key", "k")
    assert result.exit_code == 2
    assert "--v3-user" in result.output


def test_dead_agent_exits_non_zero_quickly(app) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the socket is closed: nothing listens on that port now
    started = time.monotonic()
    result = _invoke(
        app,
        "snmp",
        "probe",
        "127.0.0.1",
        "--port",
        str(port),
        "--timeout",
        "0.5",
        "--retries",
        "1",
        "--json",
    )
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: 127.0.0.1:{port}: ")
    assert "timeout" in lines[0].lower()
    assert elapsed < 0.5 * 2 + 2
