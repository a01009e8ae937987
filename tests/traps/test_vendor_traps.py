"""The vendors' trap mappings in the profiles (APC PowerNet UPS and air conditioners, Liebert
GP conditions, Eaton XUPS, SNMPv2-MIB warmStart): each trap sent by pysnmp to the running
receiver raises its alert, and its clearing trap resolves it. On SQLite: a profile's mapping
adds no query, and the receiver's raising and resolving run on PostgreSQL in test_receiver.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from monitors.models import SnmpTrap
from opskit import db
from tests.traps.test_receiver import (
    Running,
    _open_alert,
    _resolved,
    _send,
    _trap_with,
    _v1,
    _v2c,
    _wait,
    run_receiver,
)

APC = "1.3.6.1.4.1.318.0."
MTRAPARGS_STRING = "1.3.6.1.4.1.318.2.3.3.0"  # PowerNet-MIB mtrapargsString
LGP_ADDED, LGP_REMOVED = "1.3.6.1.4.1.476.1.42.3.3.0.1", "1.3.6.1.4.1.476.1.42.3.3.0.2"
LGP_ID, LGP_DESCR = "1.3.6.1.4.1.476.1.42.3.2.3.1.1", "1.3.6.1.4.1.476.1.42.3.2.3.1.2"
LGP_WELL_KNOWN = "1.3.6.1.4.1.476.1.42.3.2.1."
XUPS = "1.3.6.1.4.1.534.1.11.4.1.0."


@pytest.fixture
def running(app: Flask) -> Iterator[Running]:
    """test_receiver.py's UPS, monitors and running receiver, on SQLite."""
    yield from run_receiver(app)


def _text(value: str) -> Any:
    from pysnmp.proto.rfc1902 import OctetString

    return OctetString(value.encode())


def _lgp(row: int, condition: str) -> list[tuple[str, Any]]:
    """lgpConditionId and lgpConditionDescr of a conditions-table row, as the card sends them."""
    from pysnmp.proto.rfc1902 import ObjectName, Unsigned32

    return [
        (f"{LGP_ID}.{row}", Unsigned32(row)),
        (f"{LGP_DESCR}.{row}", ObjectName(LGP_WELL_KNOWN + condition)),
    ]


# (v1?, raising trap, its varbinds, clearing trap, its varbinds, condition[:instance], urgency)
CASES = {
    "apc ups overload": (True, APC + "2", [], APC + "33", [], "ups_overload", "B"),
    "apc ups switched bypass": (True, APC + "22", [], APC + "23", [], "ups_on_bypass", "B"),
    "apc air critical": (
        True,
        APC + "306",
        [(MTRAPARGS_STRING, _text("Cooling failure"))],
        APC + "307",
        [(MTRAPARGS_STRING, _text("Cooling failure cleared"))],
        "ac_critical",
        "A",
    ),
    "apc air warning": (True, APC + "308", [], APC + "309", [], "ac_warning", "C"),
    "liebert compressor 1A head pressure": (
        False, LGP_ADDED, "6:7.1.1", LGP_REMOVED, "6:7.1.1", "ac_compressor_fault:6", "B"
    ),
    "liebert airflow": (False, LGP_ADDED, "2:5", LGP_REMOVED, "2:5", "ac_airflow_lost:2", "A"),
    "liebert high temperature": (
        False, LGP_ADDED, "3:1", LGP_REMOVED, "3:1", "ac_high_temperature:3", "B"
    ),
    "liebert water under floor": (
        False, LGP_ADDED, "4:14", LGP_REMOVED, "4:14", "water_leak:4", "A"
    ),
    "liebert on bypass": (
        False, LGP_ADDED, "5:33.5", LGP_REMOVED, "5:33.5", "ups_on_bypass:5", "B"
    ),
    "eaton on battery": (False, XUPS + "3", [], XUPS + "5", [], "ups_on_battery", "A"),
    "eaton low battery": (False, XUPS + "4", [], XUPS + "6", [], "ups_battery_low", "A"),
    "eaton on bypass": (False, XUPS + "11", [], XUPS + "17", [], "ups_on_bypass", "B"),
}  # fmt: skip


def _varbinds(spec: Any) -> list[tuple[str, Any]]:
    if isinstance(spec, str):  # "ROW:CONDITION" of a Liebert conditions-table row
        row, condition = spec.split(":")
        return _lgp(int(row), condition)
    return list(spec)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_trap_raises_its_alert_and_the_clearing_trap_resolves_it(
    running: Running,
    case: str,
) -> None:
    v1, raising, raised_with, clearing, cleared_with, condition, urgency = CASES[case]
    auth = _v1() if v1 else _v2c()
    key = f"trap:asset{running.asset_id}:{condition}"
    _send(running.port, auth, raising, _varbinds(raised_with))
    alert = _wait(running.app, _open_alert(key), f"{case}: {raising} raising {condition}")
    assert alert.urgency == urgency
    assert alert.rule.startswith("trap.") and alert.rule.endswith("." + condition.split(":")[0])
    _send(running.port, auth, clearing, _varbinds(cleared_with))
    _wait(running.app, _resolved(key), f"{case}: {clearing} resolving {condition}")


def test_liebert_conditions_are_told_apart_by_their_row(
    running: Running,
) -> None:
    compressor = f"trap:asset{running.asset_id}:ac_compressor_fault"
    _send(running.port, _v2c(), LGP_ADDED, _lgp(6, "7.1.1"))  # compressor 1A high head pressure
    _send(running.port, _v2c(), LGP_ADDED, _lgp(7, "8.2"))  # compressor 2 overload
    _wait(running.app, _open_alert(f"{compressor}:6"), "row 6 raised")
    _wait(running.app, _open_alert(f"{compressor}:7"), "row 7 raised")
    _send(running.port, _v2c(), LGP_REMOVED, _lgp(6, "7.1.1"))
    _wait(running.app, _resolved(f"{compressor}:6"), "row 6 resolved")
    with running.app.app_context():
        db.session().rollback()
        assert _open_alert(f"{compressor}:7")() is not None  # the other compressor still alarms
    # a condition no rule lists (lgpConditionChangeFilter) is stored, and raises nothing
    _send(running.port, _v2c(), LGP_ADDED, _lgp(8, "6"))

    def unmapped() -> SnmpTrap | None:
        rows = db.session().scalars(select(SnmpTrap).where(SnmpTrap.trap_oid == LGP_ADDED))
        return next((r for r in rows if f"{LGP_DESCR}.8" in (r.varbinds or {})), None)

    trap = _wait(running.app, unmapped, "the change-filter condition stored")
    assert trap.actions == ""


def test_a_warm_start_is_a_restart_too(
    running: Running,
) -> None:
    _send(running.port, _v2c(), "1.3.6.1.6.3.1.1.5.2")  # warmStart
    alert = _wait(
        running.app,
        _open_alert(f"trap:asset{running.asset_id}:device_restarted"),
        "warmStart raising the restart alert",
    )
    assert (alert.urgency, alert.rule) == ("C", "trap.system.device_restarted")
    assert _trap_with("1.3.6.1.6.3.1.1.5.2")
