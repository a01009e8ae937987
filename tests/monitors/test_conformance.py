"""Conformance over the shared real-device recordings (../shared/snmprec, LibreNMS, GPLv3).

`probe` must pick the right profile and read the values the recording holds: a UPS yields battery
charge and load, a cooling unit its temperatures, a sensor box each probe by name, a switch its
LLDP neighbours, a host its volumes, a PDU its current. Values are compared with the recording's
raw values (profile scale applied). Every recording in the folder must appear in one table below.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitors import probe as probe_mod
from monitors import snmp
from tests.monitors.conftest import Agent, running_snmpsim

# The shared folder lies beside the checkout (developers and CI alike); an override for others.
# recorded devices' values, decoded (dateless); one agent over the shared recordings per module
# fixture: its tests share one worker
pytestmark = [pytest.mark.dateless, pytest.mark.xdist_group("snmp_conformance")]

SHARED = Path(
    os.environ.get("OPSKIT_SHARED_SNMPREC")
    or Path(__file__).resolve().parents[3] / "shared" / "snmprec"
)
GENERIC = {"system", "if_mib", "arp", "entity", "host_resources", "lldp", "ucd"}

UPS = {  # recording → (profile, charge OID, load OID prefix, scale)
    "netmanplus_204": ("ups_mib", "1.3.6.1.2.1.33.1.2.4.0", "1.3.6.1.2.1.33.1.4.4.1.5.", 1),
    "huaweiups_ups2000": ("ups_mib", "1.3.6.1.2.1.33.1.2.4.0", "1.3.6.1.2.1.33.1.4.4.1.5.", 1),
    "generex-ups_cs141": ("ups_mib", "1.3.6.1.2.1.33.1.2.4.0", "1.3.6.1.2.1.33.1.4.4.1.5.", 1),
    "eaton-mgeups_9pxle": ("ups_mib", "1.3.6.1.2.1.33.1.2.4.0", "1.3.6.1.2.1.33.1.4.4.1.5.", 1),
    "apc_smt750x-nmc2": (
        "apc_ups",
        "1.3.6.1.4.1.318.1.1.1.2.3.1.0",
        "1.3.6.1.4.1.318.1.1.1.4.3.3.0",
        0.1,
    ),
}
SWITCHES = {  # recording → LLDP neighbours (the README's lldpRemSysName count)
    "dlink_dgs-3620-28sc": 10,
    "ios_ie32008t2s-ios17-12": 2,
    "arista_eos": 6,
    "fs-switch_s3900": 7,
    "edgecos_ecs4610-24f": 21,
    "routeros": 14,
    "junos_mx5t-isis": 4,
}
HOSTS = ("linux_powermon", "bison", "windows_svr_2019_1809")
PDUS = ("apc_ap8959eu3",)

L = "1.3.6.1.4.1.476.1.42.3.8."  # LIEBERT-GP-PDU-MIB
S = "1.3.6.1.4.1.29462.10.2.1."  # Stulz-WIB8000-MIB
M = "1.3.6.1.2.1.33.1."  # UPS-MIB upsObjects
# recording → (vendor profile, {metric: {instance: (raw OID, scale)}}): every reading of those
# metrics, no more and no less, each equal to the recording's raw value times the scale.
VENDORS: dict[str, tuple[str, dict[str, dict[str, tuple[str, float]]]]] = {
    # The README files this recording as a GXT2 UPS (its sysDescr), but what it holds is the
    # LIEBERT-GP-PDU-MIB of an MPH PDU with aux sensors: no UPS objects at all.
    "liebert": (
        "liebert_gp",
        {
            "pdu.power_w": {"": (L + "30.20.1.65.1.1", 1)},
            "pdu.current_a": {
                "Branch 1": (L + "40.20.1.130.1.1", 0.01),
                "Branch 2": (L + "40.20.1.130.1.2", 0.01),
                "Branch 3": (L + "40.20.1.130.1.3", 0.01),
            },
            "env.temperature_c": {
                "SNSR: 1-2": (L + "60.15.1.70.1.2.1", 0.1),
                "SNSR: 1-3": (L + "60.15.1.70.1.3.1", 0.1),
            },
            "env.humidity_percent": {
                "SNSR: 1-1": (L + "60.15.1.95.1.1.1", 0.1),
                "SNSR: 1-4": (L + "60.15.1.95.1.4.1", 0.1),
            },
        },
    ),
    "liebert_mph2rg": (
        "liebert_gp",
        {
            "pdu.power_w": {"": (L + "30.20.1.65.1.1", 1)},
            "pdu.current_a": {"MPH2RG-A": (L + "40.20.1.130.1.2", 0.01)},
        },
    ),
    # The UPS2000 card serves the RFC 1628 UPS-MIB only (no HUAWEI-UPS-MIB objects): ups_mib
    # reads it all. upsEstimatedMinutesRemaining 4294967295 is outside the MIB's range: skipped.
    "huaweiups_ups2000": (
        "ups_mib",
        {
            "ups.battery.charge_percent": {"": (M + "2.4.0", 1)},
            "ups.battery.runtime_minutes": {},
            "ups.battery.temperature_c": {"": (M + "2.7.0", 1)},
            "ups.input.frequency_hz": {"1": (M + "3.3.1.2.1", 0.1)},  # 500: 50 Hz
            "ups.input.voltage_v": {"1": (M + "3.3.1.3.1", 1)},
            "ups.output.voltage_v": {"1": (M + "4.4.1.2.1", 1)},
            "ups.output.load_percent": {"1": (M + "4.4.1.5.1", 1)},
        },
    ),
    "socomec-ups": (
        "socomec_ups",
        {
            "ups.battery.charge_percent": {"": ("1.3.6.1.4.1.4555.1.1.7.1.2.4.0", 1)},
            # runtime 65535 and battery temperature 0 mean "not measured": no reading
            "ups.battery.runtime_minutes": {},
            "ups.battery.temperature_c": {},
            "ups.input.voltage_v": {"1": ("1.3.6.1.4.1.4555.1.1.7.1.3.3.1.2.1", 0.1)},
            "ups.input.frequency_hz": {"": ("1.3.6.1.4.1.4555.1.1.7.1.3.2.0", 0.1)},
            "ups.output.voltage_v": {"1": ("1.3.6.1.4.1.4555.1.1.7.1.4.4.1.2.1", 0.1)},
            "ups.output.load_percent": {"1": ("1.3.6.1.4.1.4555.1.1.7.1.4.4.1.4.1", 1)},
            "ups.alarms.count": {"": ("1.3.6.1.4.1.4555.1.1.7.1.6.1.0", 1)},
        },
    ),
    "apc_inrow-dx": (
        "apc_cooling_unit",
        {  # rows "Supply Temperature" / "Return Temperature" / "Humidity" in °C and %RH
            "ac.supply_temperature_c": {"": ("1.3.6.1.4.1.318.1.1.27.1.4.1.2.1.3.1.9", 0.1)},
            "ac.return_temperature_c": {"": ("1.3.6.1.4.1.318.1.1.27.1.4.1.2.1.3.1.13", 0.1)},
            "ac.humidity_percent": {"": ("1.3.6.1.4.1.318.1.1.27.1.4.1.2.1.3.1.15", 0.1)},
        },
    ),
    "stulz_wib8000": (
        "stulz_wib",
        {
            metric: {f"UNIT-CA{n}": (f"{S}1.1.1.{column}.1.{n}.1", 0.1) for n in range(1, 9)}
            for metric, column in (
                ("ac.supply_temperature_c", "1.1.1.1193"),
                ("ac.return_temperature_c", "1.1.1.1192"),
                ("ac.humidity_percent", "2.1.1.1194"),
            )
        },
    ),
    "pcoweb-rittal-lcp-3311_lcp-dx-3311": (
        "rittal_lcp_pcoweb",
        {
            "ac.supply_temperature_c": {"": ("1.3.6.1.4.1.9839.2606.2.1.2.22.0", 0.1)},
            "ac.return_temperature_c": {"": ("1.3.6.1.4.1.9839.2606.2.1.2.21.0", 0.1)},
        },
    ),
    "apc_emu": (
        "apc_emu",
        {  # 3 probes communicating; only the first has a humidity sensor (0 = none)
            "env.temperature_c": {
                "Airco uitstroom": ("1.3.6.1.4.1.318.1.1.10.3.13.1.1.3.1", 1),
                "Airco kamer": ("1.3.6.1.4.1.318.1.1.10.3.13.1.1.3.2", 1),
                "Retour airco kamer": ("1.3.6.1.4.1.318.1.1.10.3.13.1.1.3.3", 1),
            },
            "env.humidity_percent": {
                "Airco uitstroom": ("1.3.6.1.4.1.318.1.1.10.3.13.1.1.6.1", 1),
            },
        },
    ),
    "akcp_serverprobe8": (
        "akcp",
        {  # 3 of 8 ports online
            "env.temperature_c": {
                "Temp.Sensor Carrier": ("1.3.6.1.4.1.3854.1.2.2.1.16.1.14.0", 0.1),
                "Temp.Sensor 2": ("1.3.6.1.4.1.3854.1.2.2.1.16.1.14.6", 0.1),
                "Temp.Sensor 1": ("1.3.6.1.4.1.3854.1.2.2.1.16.1.14.7", 0.1),
            },
            "env.humidity_percent": {
                "Custom Descr 1": ("1.3.6.1.4.1.3854.1.2.2.1.17.1.3.0", 1),
                "Custom Descr 2": ("1.3.6.1.4.1.3854.1.2.2.1.17.1.3.6", 1),
                "Custom Descr 3": ("1.3.6.1.4.1.3854.1.2.2.1.17.1.3.7", 1),
            },
        },
    ),
    "rittal-cmc-iii-pu_compact": (
        "rittal_cmc3",
        {  # "Temperature.Value" of device 1; the unit's own "System.Temperature" is not air
            "env.temperature_c": {"CMCIII-PU Compact": ("1.3.6.1.4.1.2606.7.4.2.2.1.11.1.2", 0.01)}
        },
    ),
    "hwg-poseidon": (
        "hwg_poseidon",
        {
            "env.temperature_c": {
                name: (f"1.3.6.1.4.1.21796.3.3.3.1.6.{i}", 0.1)
                for i, name in (
                    (5, "T.Network"),
                    (6, "T.C4c"),
                    (7, "T.Ambiente"),
                    (8, "T.Servidores"),
                )
            },
            "env.humidity_percent": {
                name: (f"1.3.6.1.4.1.21796.3.3.3.1.6.{i}", 0.1)
                for i, name in (
                    (1, "H.Servidores"),
                    (2, "H.Network"),
                    (3, "H.Ambiente"),
                    (4, "H.C4c"),
                )
            },
        },
    ),
}
# recording → [(state metric, instance, raw OID, raw value, state)]
STATES = {
    "huaweiups_ups2000": [
        ("ups.battery.status", "", "1.3.6.1.2.1.33.1.2.1.0", "2", "normal"),
        ("ups.output.source", "", "1.3.6.1.2.1.33.1.4.1.0", "3", "normal"),
    ],
    "socomec-ups": [
        ("ups.battery.status", "", "1.3.6.1.4.1.4555.1.1.7.1.2.1.0", "3", "normal"),  # charging
        ("ups.output.source", "", "1.3.6.1.4.1.4555.1.1.7.1.4.1.0", "3", "normal"),  # inverter
    ],
    "apc_inrow-dx": [("ac.state", "", "1.3.6.1.4.1.318.1.1.27.1.4.2.2.1.4.1.2", "6", "on")],
    "stulz_wib8000": [
        ("ac.state", "UNIT-CA1", S + "4.1.1.1.1013.1.1.1", "1", "on"),
        ("ac.state", "UNIT-CA3", S + "4.1.1.1.1013.1.3.1", "0", "off"),
    ],
    "pcoweb-rittal-lcp-3311_lcp-dx-3311": [
        ("ac.state", "", "1.3.6.1.4.1.9839.2606.2.1.3.13.0", "1", "on")
    ],
}


# A partial agent: the recording without the scalars a profile could key on, as real agents serve
# partial views: no upsIdent group (upsIdentManufacturer...), none of LLDP's local system
# scalars (lldpLocChassisId...; the local port table stays), and a sysObjectID of an enterprise
# no profile names.
PARTIAL = sorted(
    [name for name, (profile, *_rest) in UPS.items() if profile == "ups_mib"] + list(SWITCHES)
)
PARTIAL_DROPPED = ("1.3.6.1.2.1.33.1.1.", *(f"1.0.8802.1.1.2.1.3.{n}.0" for n in range(1, 7)))
UNKNOWN_VENDOR = "1.3.6.1.4.1.99999.1.1"


def _partial(lines: list[str]) -> str:
    kept = []
    for line in lines:
        oid = line.split("|", 1)[0]
        if oid.startswith(PARTIAL_DROPPED):
            continue
        if oid == "1.3.6.1.2.1.1.2.0":
            line = f"{oid}|6|{UNKNOWN_VENDOR}"
        kept.append(line)
    return "\n".join(kept) + "\n"


def _recording(name: str) -> dict[str, str]:
    values = {}
    for line in (SHARED / f"{name}.snmprec").read_text(encoding="utf-8").splitlines():
        oid, _type, value = line.split("|", 2)
        values[oid] = value
    return values


@pytest.fixture(scope="session")  # once per worker: see tests/conftest.py
def shared_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    if not SHARED.is_dir():
        raise RuntimeError(
            f"{SHARED} is missing: the shared recordings sit beside the checkout "
            "(or set OPSKIT_SHARED_SNMPREC)"
        )
    base = tmp_path_factory.mktemp("shared-snmpsim")
    data = base / "data"
    data.mkdir()
    for rec in SHARED.glob("*.snmprec"):
        text = rec.read_text(encoding="utf-8")
        # the README: anonymised "xx" OIDs stop snmpsim's walks; serve the numeric lines only
        lines = [ln for ln in text.splitlines() if ln.split("|", 1)[0].replace(".", "").isdigit()]
        (data / rec.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        if rec.stem in PARTIAL:
            (data / f"partial-{rec.name}").write_text(_partial(lines), encoding="utf-8")
    try:
        with running_snmpsim(base, b"bison") as agent:
            yield agent
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _probe(agent: Agent, community: str) -> dict:
    creds = snmp.Credentials(version="2c", community=community)
    return probe_mod.probe(agent.host, agent.port, creds, timeout=3, retries=1)


def _metric(result: dict, name: str) -> dict[str, float]:
    return {m["instance"]: m["value"] for m in result["metrics"] if m["metric"] == name}


@pytest.mark.parametrize("name", sorted(UPS))
def test_ups_recordings_yield_battery_and_load(shared_agent: Agent, name: str) -> None:
    profile, charge_oid, load_oid, scale = UPS[name]
    recording = _recording(name)
    result = _probe(shared_agent, name)
    assert profile in result["profiles"]
    (charge,) = _metric(result, "ups.battery.charge_percent").values()
    assert charge == pytest.approx(int(recording[charge_oid]) * scale)
    loads = _metric(result, "ups.output.load_percent")
    expected = {
        oid.removeprefix(load_oid): int(v) * scale
        for oid, v in recording.items()
        if oid.startswith(load_oid)
    }
    assert loads and sorted(loads.values()) == pytest.approx(sorted(expected.values()))


@pytest.mark.parametrize("name", sorted(SWITCHES))
def test_switch_recordings_yield_lldp_neighbours(shared_agent: Agent, name: str) -> None:
    result = _probe(shared_agent, name)
    assert "lldp" in result["profiles"] and "if_mib" in result["profiles"]
    neighbours = result["lldp_neighbors"]
    assert len(neighbours) == SWITCHES[name]
    names = {v for k, v in _recording(name).items() if k.startswith("1.0.8802.1.1.2.1.4.1.1.9.")}
    assert {n["remote_sys_name"] for n in neighbours} <= names | {""}
    if name != "routeros":  # RouterOS indexes lldpRemTable without time mark and local port
        assert all(n["local_port"] for n in neighbours)


@pytest.mark.parametrize("name", HOSTS)
def test_host_recordings_yield_volumes(shared_agent: Agent, name: str) -> None:
    recording = _recording(name)
    result = _probe(shared_agent, name)
    assert "host_resources" in result["profiles"]
    used = _metric(result, "host.storage.used_percent")
    sizes = _metric(result, "host.storage.size_bytes")
    assert used and set(used) == set(sizes)
    # recompute one fixed-disk volume from the raw hrStorage rows
    prefix = "1.3.6.1.2.1.25.2.3.1."
    for index in (k.removeprefix(prefix + "3.") for k in recording if k.startswith(prefix + "3.")):
        size = int(recording.get(f"{prefix}5.{index}", "0"))
        if size and recording.get(f"{prefix}3.{index}") in used:
            units = int(recording[f"{prefix}4.{index}"])
            label = recording[f"{prefix}3.{index}"]
            assert sizes[label] == size * units
            expected = 100.0 * int(recording[f"{prefix}6.{index}"]) / size
            assert used[label] == pytest.approx(expected, abs=0.01)
            break


def test_pdu_recording_yields_current(shared_agent: Agent) -> None:
    result = _probe(shared_agent, "apc_ap8959eu3")
    assert "apc_pdu" in result["profiles"]
    prefix = "1.3.6.1.4.1.318.1.1.26.6.3.1.5."  # rPDU2PhaseStatusCurrent, tenths of an ampere
    expected = {
        k.removeprefix(prefix): int(v) * 0.1
        for k, v in _recording("apc_ap8959eu3").items()
        if k.startswith(prefix)
    }
    currents = _metric(result, "pdu.current_a")
    assert expected and currents == pytest.approx(expected)


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_vendor_recordings_yield_their_readings(shared_agent: Agent, name: str) -> None:
    profile, expected = VENDORS[name]
    recording = _recording(name)
    result = _probe(shared_agent, name)
    assert profile in result["profiles"]
    assert set(result["profiles"]) - GENERIC == {profile}  # and no other vendor's profile
    for metric, instances in expected.items():
        got = _metric(result, metric)
        assert set(got) == set(instances), metric
        for instance, (oid, scale) in instances.items():
            assert got[instance] == pytest.approx(int(recording[oid]) * scale), (metric, instance)
    for metric, instance, oid, raw, state in STATES.get(name, []):
        assert recording[oid] == raw
        assert _metric(result, metric)[instance] == state


U = "1.3.6.1.4.1.2021."  # UCD-SNMP-MIB
# recording → does it have UCD memory (memTotalReal)? Every recording with laLoadInt is listed.
UCD = {
    "linux_powermon": False,
    "bison": False,
    "arista_eos": False,
    "liebert_mph2rg": True,
    "pcoweb-rittal-lcp-3311_lcp-dx-3311": True,
}


@pytest.mark.parametrize("name", sorted(UCD))
def test_ucd_recordings_yield_load_memory_cpu(shared_agent: Agent, name: str) -> None:
    recording = _recording(name)
    result = _probe(shared_agent, name)
    assert "ucd" in result["profiles"]
    for n, minutes in ((1, 1), (2, 5), (3, 15)):
        (load,) = _metric(result, f"host.load.{minutes}min").values()
        assert load == pytest.approx(int(recording[f"{U}10.1.5.{n}"]) / 100)
    cpu = _metric(result, "host.cpu.load_percent")
    if f"{U}11.11.0" in recording:  # ssCpuIdle
        assert cpu == {"": 100 - int(recording[f"{U}11.11.0"])}
    memory = _metric(result, "host.memory.used_percent")
    if UCD[name]:
        total, free, buffers, cache = (int(recording[f"{U}4.{c}.0"]) for c in (5, 6, 14, 15))
        expected = 100 * (total - free - buffers - cache) / total
        assert memory == {"": pytest.approx(expected, abs=0.0001)}
    else:  # no UCD memory in the recording: HOST-RESOURCES' figure, if any, stays
        assert f"{U}4.5.0" not in recording


def test_recordings_with_ucd_are_all_listed() -> None:
    with_load = {
        p.stem for p in SHARED.glob("*.snmprec") if f"\n{U}10.1.5.1|" in p.read_text("utf-8")
    }
    assert with_load == set(UCD)


def test_every_shared_recording_is_checked() -> None:
    checked = set(UPS) | set(SWITCHES) | set(HOSTS) | set(PDUS) | set(VENDORS)
    assert {p.stem for p in SHARED.glob("*.snmprec")} == checked


@pytest.mark.parametrize("name", PARTIAL)
def test_standard_mib_profiles_match_a_partial_agent(shared_agent: Agent, name: str) -> None:
    """The UPS-MIB and LLDP-MIB profiles match on whatever part of their MIB the agent serves
    (a GETNEXT of the subtree root lands inside it), not on one scalar or on the vendor."""
    recording = _recording(name)
    result = _probe(shared_agent, f"partial-{name}")
    assert result["sys_object_id"] == UNKNOWN_VENDOR
    if name in SWITCHES:
        assert "lldp" in result["profiles"]
        assert result["matched_because"]["lldp"].startswith(
            "the agent answers under 1.0.8802.1.1.2.1 (1.0.8802.1.1.2.1."
        )
        assert len(result["lldp_neighbors"]) == SWITCHES[name]
        assert "ups_mib" not in result["profiles"]
        return
    assert "ups_mib" in result["profiles"]
    assert result["matched_because"]["ups_mib"].startswith(
        "the agent answers under 1.3.6.1.2.1.33.1 (1.3.6.1.2.1.33.1.2."  # upsBattery, not upsIdent
    )
    _profile, charge_oid, _load, _scale = UPS[name]
    (charge,) = _metric(result, "ups.battery.charge_percent").values()
    assert charge == int(recording[charge_oid])
    assert _metric(result, "ups.output.load_percent")
    assert "lldp" not in result["profiles"]
