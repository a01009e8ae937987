"""The demo site's simulated SNMP devices: which recording each one answers with.

Every device is one snmpsim data file ``<community>.snmprec`` rendered from a template in
``recordings/`` with the device's own sysName; all of them are served by one snmpsim process on
one UDP port and told apart by their community. Each device also has its own loopback address
(:func:`address`: 127.0.0.101, .102, ... in the order below; on Linux all of 127.0.0.0/8 is
this machine), on which snmpsim listens too and from which the device sends its traps and
syslog (``emitters``). The registry asset with the same ``tag`` gets an SNMP monitor pointing
at that address with that community: so ``opskit traps`` and ``opskit syslog receive``, which
name the sender's asset by the monitor host it sends from, tell the devices apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from opskit.demo import recordings


@dataclass(frozen=True)
class Device:
    tag: str  # asset tag of the registry asset
    community: str  # snmpsim data file name = SNMP community
    template: str  # recordings/<template>.snmprec
    sys_name: str
    interval_s: int = 30


DEVICES: tuple[Device, ...] = (
    Device("ZJ-UPS-A1", "demo-ups-a1", "apc_ups_room_a", "zj-ups-a1"),
    Device("ZJ-UPS-A2", "demo-ups-a2", "ups_rfc1628_battery_test", "zj-ups-a2"),
    Device("ZJ-UPS-B1", "demo-ups-b1", "apc_ups_room_b", "zj-ups-b1"),
    Device("ZJ-UPS-B2", "demo-ups-b2", "ups_rfc1628_steady", "zj-ups-b2"),
    Device("ZJ-AC-A1", "demo-ac-a1", "apc_inrow_room_a", "zj-ac-a1"),
    Device("ZJ-AC-A2", "demo-ac-a2", "apc_inrow_room_a", "zj-ac-a2"),
    Device("ZJ-AC-B1", "demo-ac-b1", "apc_inrow_room_b", "zj-ac-b1"),
    Device("ZJ-AC-B2", "demo-ac-b2", "apc_inrow_room_b", "zj-ac-b2"),
    Device("ZJ-ENV-A1", "demo-env-a1", "akcp_sensor_room_a", "zj-env-a1"),
    Device("ZJ-ENV-B1", "demo-env-b1", "akcp_sensor_room_b", "zj-env-b1"),
    Device("ZJ-PDU-A01", "demo-pdu-a01", "apc_pdu_light", "zj-pdu-a01", 60),
    Device("ZJ-PDU-A02", "demo-pdu-a02", "apc_pdu_light", "zj-pdu-a02", 60),
    Device("ZJ-PDU-A03", "demo-pdu-a03", "apc_pdu_heavy", "zj-pdu-a03", 60),
    Device("ZJ-PDU-A04", "demo-pdu-a04", "apc_pdu_heavy", "zj-pdu-a04", 60),
    Device("ZJ-PDU-A05", "demo-pdu-a05", "apc_pdu_light", "zj-pdu-a05", 60),
    Device("ZJ-PDU-B01", "demo-pdu-b01", "apc_pdu_heavy", "zj-pdu-b01", 60),
    Device("ZJ-PDU-B02", "demo-pdu-b02", "apc_pdu_light", "zj-pdu-b02", 60),
    Device("ZJ-PDU-B03", "demo-pdu-b03", "apc_pdu_light", "zj-pdu-b03", 60),
    Device("ZJ-SW-001", "demo-core-01", "huawei_core_switch_a", "zj-core-01", 60),
    Device("ZJ-SW-002", "demo-core-02", "huawei_core_switch_b", "zj-core-02", 60),
    Device("ZJ-SRV-003", "demo-db-03", "linux_db_server", "zj-db-03", 60),
    Device("ZJ-SRV-004", "demo-db-04", "linux_db_server", "zj-db-04", 60),
)

#: The UPS whose values never move: the demo test compares the dashboard with it.
STEADY_UPS = "ZJ-UPS-B2"
#: The UPS that goes on battery for a few minutes every hour.
BATTERY_TEST_UPS = "ZJ-UPS-A2"


#: the first device's loopback address is 127.0.0.<FIRST_ADDRESS>
FIRST_ADDRESS = 101


def address(device: Device) -> str:
    """The device's own loopback address (127.0.0.101 for the first device, and on)."""
    return f"127.0.0.{FIRST_ADDRESS + DEVICES.index(device)}"


#: the communication lines' far ends, each a loopback address of its own after the devices'
#: (127.0.0.123 ...): the demo's ping of a line answers while the demo runs (all of 127.0.0.0/8
#: is this machine on Linux; elsewhere ``history.point_checks_at`` moves them to 127.0.0.1)
LINES = ("ZJ-LINE-001", "ZJ-LINE-002", "ZJ-LINE-003")


def line_end(tag: str) -> str:
    """The loopback address standing for the far end of the line ``tag``."""
    return f"127.0.0.{FIRST_ADDRESS + len(DEVICES) + LINES.index(tag)}"


def addresses() -> dict[str, str]:
    """Asset tag → the device's loopback address, for every device."""
    return {device.tag: address(device) for device in DEVICES}


def by_tag(tag: str) -> Device:
    for device in DEVICES:
        if device.tag == tag:
            return device
    raise KeyError(tag)


def recording(device: Device) -> str:
    return recordings.render(device.template, device.sys_name)


def write_data_dir(data: Path) -> list[Path]:
    """Write one ``<community>.snmprec`` per device into ``data`` (created, old files replaced)."""
    data.mkdir(parents=True, exist_ok=True)
    for old in data.glob("*.snmprec"):
        old.unlink()
    written = []
    for device in DEVICES:
        path = data / f"{device.community}.snmprec"
        path.write_text(recording(device), encoding="utf-8")
        written.append(path)
    return written
