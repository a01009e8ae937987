"""Conformance of the vendor-family profiles over their real-device recordings (#16).

The recordings in ``tests/monitors/recordings/`` are unmodified LibreNMS test recordings (GPLv3,
see the README there). snmpsim serves them, one community per file; `probe` must pick the vendor's
profile (and no other vendor's) and read exactly the readings listed below, each equal to the
recording's raw value times the profile's scale (converted from °F where the profile reads °F).
Readings a recording holds but that cannot be real (outside their unit's range) must be dropped and
named in the probe's ``notes``. Every recording in the folder must appear in the tables.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitors import probe as probe_mod
from monitors import snmp
from monitors.profiles import Profile
from tests.monitors.conftest import Agent, running_snmpsim

# recorded devices' values, decoded (dateless); one agent per module: its tests share one worker
pytestmark = [pytest.mark.dateless, pytest.mark.xdist_group("snmp_vendor_conformance")]

RECORDINGS = Path(__file__).with_name("recordings")
# profiles of standard MIBs (not a vendor's): they may match beside the vendor profile
STANDARD = {"system", "if_mib", "arp", "entity", "host_resources", "lldp", "ucd", "ups_mib"}

F = "°F"  # the raw value is in degrees Fahrenheit: expected °C = (raw * scale - 32) * 5 / 9
X = "1.3.6.1.4.1.534.1."  # XUPS-MIB
U = "1.3.6.1.2.1.33.1."  # UPS-MIB
R = "1.3.6.1.4.1.13742.4."  # Raritan PDU-MIB
S = "1.3.6.1.4.1.1718.4.1."  # Sentry4-MIB
N = "1.3.6.1.4.1.52674.500.4.1."  # NetBotz50-MIB
P = "1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1."  # PDU2-MIB measurementsInletSensorValue, pdu 1 inlet 1
T = "1.3.6.1.4.1.1718.3.2."  # Sentry3-MIB systemTables
X2 = "1.3.6.1.4.1.935.1.1.1."  # XPPC-MIB (Megatec NetAgent) ups objects

Expected = dict[str, dict[str, tuple[str, float] | tuple[str, float, str]]]
# recording → (vendor profile, {metric: {instance: (raw OID, scale[, F])}}): every reading of those
# metrics, no more and no less. An empty mapping: the profile reads that metric, the recording has
# no (usable) value for it.
VENDORS: dict[str, tuple[str, Expected]] = {
    # ConnectUPS card: XUPS battery, input and output groups only (no load, runtime or source)
    "eatonups": (
        "eaton_xups",
        {
            "ups.battery.charge_percent": {"": (X + "2.4.0", 1)},
            "ups.input.frequency_hz": {"": (X + "3.1.0", 0.1)},
            "ups.input.voltage_v": {"1": (X + "3.4.1.2.1", 1)},
            "ups.output.voltage_v": {"1": (X + "4.4.1.2.1", 1)},
            "ups.output.load_percent": {},
            "ups.battery.runtime_minutes": {},
            "ups.alarms.count": {},
        },
    ),
    # Delta (Minuteman OEM) card: measurements through the UPS-MIB, identity through dupsIdent
    "deltaups": (
        "delta_ups",
        {
            "ups.battery.charge_percent": {"": (U + "2.4.0", 1)},
            "ups.battery.runtime_minutes": {"": (U + "2.3.0", 1)},
            "ups.battery.temperature_c": {"": (U + "2.7.0", 1)},
            "ups.input.frequency_hz": {"1": (U + "3.3.1.2.1", 0.1)},
            "ups.input.voltage_v": {"1": (U + "3.3.1.3.1", 1)},
            "ups.output.voltage_v": {"1": (U + "4.4.1.2.1", 1)},
            "ups.output.load_percent": {"1": (U + "4.4.1.5.1", 1)},
        },
    ),
    "raritan-pdu": (
        "raritan_px",
        {
            "pdu.current_a": {"L1": (R + "1.21.2.1.3.1.1", 0.001)},  # milliamperes
            "pdu.power_w": {"": (R + "1.20.2.1.9.1", 1)},
            "env.temperature_c": {"Temperature AEI8850418": (R + "3.3.1.41.3", 0.1)},
            "env.humidity_percent": {"Humidity AEI8850418": (R + "3.3.1.41.2", 1)},
        },
    ),
    "sentry4": (
        "servertech_sentry4",
        {
            "pdu.current_a": {
                f"AA:L{n}": (f"{S}4.3.1.3.1.1.{n}", 0.01) for n in (1, 2, 3)
            },  # hundredths of an ampere
            "pdu.power_w": {"": (S + "3.3.1.3.1.1", 1)},
            "env.temperature_c": {},  # -410: the MIB's "no reading" (skip)
            "env.humidity_percent": {},  # -1 %: impossible, dropped with a note (NOTES)
        },
    ),
    # STE2 recording without sensUnit or sensName: nothing says what its two values measure
    "hwg-ste2": ("hwg_ste", {"env.temperature_c": {}, "env.humidity_percent": {}}),
    "hwg-ste": ("hwg_ste", {"env.temperature_c": {}, "env.humidity_percent": {}}),
    "apc-netbotz_netbotz750": (
        "apc_netbotz",
        {
            "env.temperature_c": {
                "Appliance": (N + "1.1.9.314", 1, F),  # tempSensorValueIntF
                "AP9520TH": (N + "1.1.9.623", 1, F),
            },
            "env.humidity_percent": {
                "Appliance": (N + "2.1.8.316", 1),
                "AP9520TH": (N + "2.1.8.625", 1),
            },
        },
    ),
    # PX2: one inlet; rows end in the sensor type (1 rmsCurrent in mA, 5 activePower in W);
    # voltage (4) and frequency (23) rows are not read
    "raritan-pdu_px2": (
        "raritan_px2",
        {"pdu.current_a": {"I1": (P + "1", 0.001)}, "pdu.power_w": {"": (P + "5", 1)}},
    ),
    # Sentry3 CDU, two towers; the probes are set to °F (tempHumidSensorTempScale 1); tower B's
    # probes are notFound: -1 (the MIB's "not measured") in both columns, no reading; no
    # infeedPower in this recording
    "sentry3": (
        "servertech_sentry3",
        {
            "pdu.current_a": {
                "TowerA_InfeedA": (T + "2.1.7.1.1", 0.01),  # hundredths of an ampere
                "TowerB_InfeedA": (T + "2.1.7.2.1", 0.01),
            },
            "pdu.power_w": {},
            "env.temperature_c": {
                "Temp_Humid_Sensor_A1": (T + "5.1.6.1.1", 0.1, F),  # tenths of a °F
                "Temp_Humid_Sensor_A2": (T + "5.1.6.1.2", 0.1, F),
            },
            "env.humidity_percent": {
                "Temp_Humid_Sensor_A1": (T + "5.1.10.1.1", 1),
                "Temp_Humid_Sensor_A2": (T + "5.1.10.1.2", 1),
            },
        },
    ),
    # NetAgent II card: ten XPPC-MIB objects (no identity, output status or runtime recorded)
    "netagent2": (
        "megatec_netagent",
        {
            "ups.battery.charge_percent": {"": (X2 + "2.2.1.0", 1)},
            "ups.battery.temperature_c": {"": (X2 + "2.2.3.0", 0.1)},  # tenths of °C
            "ups.input.voltage_v": {"": (X2 + "3.2.1.0", 0.1)},  # 2545: 254.5 V
            "ups.input.frequency_hz": {"": (X2 + "3.2.4.0", 0.1)},
            "ups.output.voltage_v": {"": (X2 + "4.2.1.0", 0.1)},  # 2285: 228.5 V
            "ups.output.load_percent": {"": (X2 + "4.2.3.0", 1)},
        },
    ),
    # APC rack ATS AP4423: states only (STATES); no input voltage or output current rows recorded
    "apc_ats": ("apc_ats", {}),
}
# recording → [(state metric, instance, raw OID, raw value, state, status)]
A = "1.3.6.1.4.1.318.1.1.8.5.1."  # PowerNet-MIB atsStatusDeviceStatus
STATES = {
    "apc_ats": [
        ("ats.selected_source", "", A + "2.0", "1", "source_a", None),  # sourceA(1)
        ("ats.redundancy", "", A + "3.0", "2", "redundant", "ok"),  # atsFullyRedundant(2)
    ],
}
# recording → (asset kind the vendor profile implies, why it matched: the start of the probe's
# matched_because for it)
MATCHED = {
    "eatonups": ("ups", "sysObjectID 1.3.6.1.4.1.534.1 is under 1.3.6.1.4.1.534.1"),
    "deltaups": ("ups", "the agent answers under 1.3.6.1.4.1.2254.2.4.1 (1.3.6.1.4.1.2254.2.4.1."),
    "raritan-pdu": ("pdu", "sysObjectID 1.3.6.1.4.1.13742.4 is under 1.3.6.1.4.1.13742.4"),
    "raritan-pdu_px2": ("pdu", "sysObjectID 1.3.6.1.4.1.13742.6 is under 1.3.6.1.4.1.13742.6"),
    "sentry4": ("pdu", "sysObjectID 1.3.6.1.4.1.1718.4 is under 1.3.6.1.4.1.1718.4"),
    "sentry3": ("pdu", "sysObjectID 1.3.6.1.4.1.1718.3 is under 1.3.6.1.4.1.1718.3"),
    "hwg-ste2": ("sensor", "sysObjectID 1.3.6.1.4.1.21796.4.9 is under 1.3.6.1.4.1.21796.4.9"),
    "hwg-ste": ("sensor", "sysObjectID 1.3.6.1.4.1.21796.4.1 is under 1.3.6.1.4.1.21796.4.1"),
    "netagent2": (
        "ups",
        "the agent answers under 1.3.6.1.4.1.935.1.1.1 (1.3.6.1.4.1.935.1.1.1.2.2.1.0)",
    ),
    "apc_ats": (
        "pdu",
        "the agent answers under 1.3.6.1.4.1.318.1.1.8.5.1 (1.3.6.1.4.1.318.1.1.8.5.1.2.0)",
    ),
    "apc-netbotz_netbotz750": (
        "sensor",
        "the agent answers under 1.3.6.1.4.1.52674.500.4.1.1 (1.3.6.1.4.1.52674.500.4.1.1.",
    ),
}
# recording → [(metric, instance, raw OID)]: readings dropped as impossible, named in the notes
NOTES = {
    "sentry4": [
        ("env.humidity_percent", "Humid_Sensor_A1", S + "10.3.1.1.1.1"),
        ("env.humidity_percent", "Humid_Sensor_A2", S + "10.3.1.1.1.2"),
    ],
}
# recording → {inventory field: OID of the text the profile reports}
INVENTORY = {
    "deltaups": {"model": "1.3.6.1.4.1.2254.2.4.1.2.0", "firmware": "1.3.6.1.4.1.2254.2.4.1.3.0"},
    "apc-netbotz_netbotz750": {
        "model": "1.3.6.1.4.1.318.1.4.2.2.1.2.1",
        "serial": "1.3.6.1.4.1.318.1.4.2.2.1.3.1",
        "firmware": "1.3.6.1.4.1.318.1.4.2.4.1.4.1",
    },
    "apc_ats": {
        "model": "1.3.6.1.4.1.318.1.1.8.1.5.0",  # atsIdentModelNumber
        "serial": "1.3.6.1.4.1.318.1.1.8.1.6.0",  # anonymised upstream: <private>
        "firmware": "1.3.6.1.4.1.318.1.1.8.1.2.0",
    },
    "sentry3": {
        "model": T + "1.1.7.1",  # towerModelNumber
        "serial": T + "1.1.6.1",  # towerProductSN
        "firmware": "1.3.6.1.4.1.1718.3.1.1.0",  # systemVersion
    },
}


def _recording(name: str) -> dict[str, str]:
    values = {}
    for line in (RECORDINGS / f"{name}.snmprec").read_text(encoding="utf-8").splitlines():
        oid, _type, value = line.split("|", 2)
        values[oid] = value
    return values


@pytest.fixture(scope="module")
def vendor_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    base = tmp_path_factory.mktemp("vendor-snmpsim")
    data = base / "data"
    data.mkdir()
    for rec in RECORDINGS.glob("*.snmprec"):
        text = rec.read_text(encoding="utf-8")
        # anonymised "<private>"/"xx" OIDs stop snmpsim's walks: serve the numeric lines only
        lines = [ln for ln in text.splitlines() if ln.split("|", 1)[0].replace(".", "").isdigit()]
        (data / rec.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        with running_snmpsim(base, b"sentry4") as agent:
            yield agent
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _probe(agent: Agent, community: str) -> dict[str, Any]:
    creds = snmp.Credentials(version="2c", community=community)
    return probe_mod.probe(agent.host, agent.port, creds, timeout=3, retries=1)


def _metric(result: dict[str, Any], name: str) -> dict[str, float]:
    return {m["instance"]: m["value"] for m in result["metrics"] if m["metric"] == name}


def _profile(name: str) -> Profile:
    return next(p for p in probe_mod.load_profiles() if p.name == name)


def _expected(raw: str, scale: float, *unit: str) -> float:
    value = int(raw) * scale
    return (value - 32) * 5 / 9 if unit == (F,) else value


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_vendor_recordings_yield_their_readings(vendor_agent: Agent, name: str) -> None:
    profile, expected = VENDORS[name]
    recording = _recording(name)
    result = _probe(vendor_agent, name)
    assert set(result["profiles"]) - STANDARD == {profile}  # and no other vendor's profile
    kind, because = MATCHED[name]
    assert result["matched_because"][profile].startswith(because)
    assert _profile(profile).asset_kind == kind
    for metric, instances in expected.items():
        got = _metric(result, metric)
        assert set(got) == set(instances), metric
        for instance, (oid, scale, *unit) in instances.items():
            want = _expected(recording[oid], scale, *unit)
            assert got[instance] == pytest.approx(want, abs=1e-4), (metric, instance)
    notes = {(n["metric"], n["instance"]): n for n in result["notes"]}
    want_notes = NOTES.get(name, [])
    assert set(notes) == {(metric, instance) for metric, instance, _oid in want_notes}
    for metric, instance, oid in want_notes:
        note = notes[(metric, instance)]
        assert note["raw"] == int(recording[oid])
        assert note["why"].startswith("impossible: ")
        assert not any(
            m["metric"] == metric and m["instance"] == instance for m in result["metrics"]
        )
    for metric, instance, oid, raw, state, status in STATES.get(name, []):
        assert recording[oid] == raw
        (row,) = [
            m for m in result["metrics"] if (m["metric"], m["instance"]) == (metric, instance)
        ]
        assert (row["value"], row["status"]) == (state, status)
    for field, oid in INVENTORY.get(name, {}).items():
        assert result["inventory"][field] == recording[oid]


def test_netbotz_fahrenheit_agrees_with_its_celsius_column(vendor_agent: Agent) -> None:
    """The NetBotz gives each temperature twice, whole °C and whole °F: the °F column converted
    to °C lies within the °C column's rounding (half a degree)."""
    recording = _recording("apc-netbotz_netbotz750")
    temps = _metric(_probe(vendor_agent, "apc-netbotz_netbotz750"), "env.temperature_c")
    for index, label in (("314", "Appliance"), ("623", "AP9520TH")):
        celsius = int(recording[f"{N}1.1.8.{index}"])  # tempSensorValueInt
        assert abs(temps[label] - celsius) <= 0.5


def test_eaton_xups_profile_leaves_the_shared_9px_to_the_ups_mib() -> None:
    """The Network-M2 9PX (sysObjectID under 705) also serves XUPS objects; eaton_xups matches
    only the XUPS cards' sysObjectID, so its load is not read twice (xupsOutputLoad and
    upsOutputPercentLoad)."""
    profile = _profile("eaton_xups")
    assert not profile.matches("1.3.6.1.4.1.705.1", "Eaton 9PX 1000i RT 2U", {})
    assert profile.matches("1.3.6.1.4.1.534.1", "ConnectUPS Web/SNMP Card V4.38", {})


def test_every_recording_is_checked() -> None:
    assert {p.stem for p in RECORDINGS.glob("*.snmprec")} == set(VENDORS) == set(MATCHED)
    assert set(NOTES) | set(INVENTORY) | set(STATES) <= set(VENDORS)


def test_readme_names_every_recording_with_its_git_blob() -> None:
    """Provenance: each file is listed in the README with the git blob SHA-1 of its bytes, so a
    changed byte (the files are kept unmodified, GPLv3) shows."""
    readme = (RECORDINGS / "README.md").read_text(encoding="utf-8")
    assert "GPLv3" in readme
    for rec in sorted(RECORDINGS.glob("*.snmprec")):
        data = rec.read_bytes()
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
        row = re.search(rf"^\| `{re.escape(rec.name)}` \|.*$", readme, re.MULTILINE)
        assert row, rec.name
        assert blob in readme, rec.name
