"""Conformance over the shared real-device recordings (../shared/snmprec, LibreNMS, GPLv3).

`probe` must pick the right profile and read the values the recording holds: a UPS yields battery
charge and load, a switch its LLDP neighbours, a host its volumes, a PDU its current. Recordings
without a vendor profile yet are listed in NOT_YET; the test fails when one of them starts to
match a specific profile, so the list is kept honest.
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
SHARED = Path(
    os.environ.get("OPSKIT_SHARED_SNMPREC")
    or Path(__file__).resolve().parents[3] / "shared" / "snmprec"
)
GENERIC = {"system", "if_mib", "arp", "entity", "host_resources", "lldp"}

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
NOT_YET = (  # vendor profiles still to write (issue #4)
    "liebert",
    "socomec-ups",
    "apc_inrow-dx",
    "stulz_wib8000",
    "pcoweb-rittal-lcp-3311_lcp-dx-3311",
    "apc_emu",
    "akcp_serverprobe8",
    "rittal-cmc-iii-pu_compact",
    "hwg-poseidon",
    "liebert_mph2rg",
)


def _recording(name: str) -> dict[str, str]:
    values = {}
    for line in (SHARED / f"{name}.snmprec").read_text(encoding="utf-8").splitlines():
        oid, _type, value = line.split("|", 2)
        values[oid] = value
    return values


@pytest.fixture(scope="module")
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
    assert _metric(result, "pdu.current_a")


@pytest.mark.parametrize("name", NOT_YET)
def test_recordings_without_a_vendor_profile_are_listed(shared_agent: Agent, name: str) -> None:
    result = _probe(shared_agent, name)
    specific = set(result["profiles"]) - GENERIC
    assert not specific, f"{name} now matches {specific}: move it into the tables above"
