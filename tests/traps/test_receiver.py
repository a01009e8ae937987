"""``opskit traps`` against real traps: pysnmp (v1, v2c, v3 authPriv) and net-snmp's
``snmptrap`` sent to the receiver running on a free 127.0.0.1 port, its writer storing into
the test database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from monitors import services as monitor_services
from monitors.models import SnmpTrap
from monitors.traps import store
from monitors.traps.receiver import BindError, Receiver, open_socket
from opskit import db
from opskit.alerts.models import Alert
from tests import factories
from tests.conftest import login

COMMUNITY = "ups-trap-c0mmunity"
EXTRA_COMMUNITY = "site-wide-traps"
V3_USER = "trapper"
V3_AUTH = "trapper-auth-key-1"
V3_PRIV = "trapper-priv-key-1"
ON_BATTERY = "1.3.6.1.2.1.33.2.1"  # upsTrapOnBattery
ALARM_REMOVED = "1.3.6.1.2.1.33.2.4"  # upsAlarmEntryRemoved
ALARM_DESCR = "1.3.6.1.2.1.33.1.6.2.1.2"  # upsAlarmDescr
ALARM_ON_BATTERY = "1.3.6.1.2.1.33.1.6.3.2"  # upsAlarmOnBattery
DEADLINE_S = 2.0  # the promise: on battery -> an A alert within 2 s (the must-show test)
#: the other tests wait this long for a trap's effect: a bound for a hung receiver, not a speed
#: goal (the suite runs browsers and PostgreSQL beside it on two cores)
ARRIVAL_S = 10.0


@dataclass
class Running:
    app: Flask
    receiver: Receiver
    port: int
    asset_id: int


@pytest.fixture
def running(db_app: Flask) -> Iterator[Running]:
    """A UPS with a v2c and a v3 SNMP monitor on 127.0.0.1, and the receiver with its writer."""
    yield from run_receiver(db_app)


def run_receiver(db_app: Flask) -> Iterator[Running]:
    with db_app.app_context():
        ups = factories.asset("UPS-T1", "ups", mgmt_ip="127.0.0.1")
        monitor_services.add_monitor(
            ups.id, "snmp", {"host": "127.0.0.1", "version": "2c"}, {"community": COMMUNITY}
        )
        monitor_services.add_monitor(
            ups.id,
            "snmp",
            {
                "host": "127.0.0.1",
                "port": 1161,
                "version": "3",
                "user": V3_USER,
                "auth_proto": "SHA",
                "priv_proto": "AES",
            },
            {"auth_key": V3_AUTH, "priv_key": V3_PRIV},
        )
        db.session().commit()
        asset_id = ups.id
    rx = Receiver("127.0.0.1", 0, queue_size=1000)
    rx.start()
    stop = threading.Event()
    failed: list[BaseException] = []

    def writer() -> None:
        with db_app.app_context():
            try:
                store.run(rx, stop, (EXTRA_COMMUNITY,), refresh_s=0.5)
            except BaseException as exc:  # the test says why the writer stopped
                failed.append(exc)
                raise

    thread = threading.Thread(target=writer, name="trap-writer", daemon=True)
    thread.start()
    try:
        yield Running(db_app, rx, rx.port, asset_id)
    finally:
        stop.set()
        thread.join(10)
        rx.stop()
    assert not failed, failed


def _wait(app: Flask, found: Callable[[], Any], what: str, limit: float = ARRIVAL_S) -> Any:
    """Poll the database until ``found()`` is truthy; fail after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    with app.app_context():
        while True:
            db.session().rollback()  # a fresh look at what the writer committed
            value = found()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"not within {limit} s: {what}")
            time.sleep(0.05)


def _open_alert(key: str) -> Callable[[], Alert | None]:
    def find() -> Alert | None:
        return db.session().scalar(
            select(Alert).where(Alert.dedup_key == key, Alert.status != "resolved")
        )

    return find


def _resolved(key: str) -> Callable[[], Alert | None]:
    def find() -> Alert | None:
        return db.session().scalar(
            select(Alert).where(Alert.dedup_key == key, Alert.status == "resolved")
        )

    return find


def _trap_with(oid: str) -> Callable[[], SnmpTrap | None]:
    def find() -> SnmpTrap | None:
        return db.session().scalar(select(SnmpTrap).where(SnmpTrap.trap_oid == oid).limit(1))

    return find


# --- senders ---------------------------------------------------------------------------------


#: the MIB compiler the first sending engine attached to its MIB builder, handed to the next
#: ones: pysnmp attaches one to each engine that resolves a name, and making it (pysmi's parser)
#: cost each trap sent about a second; one compiler serves every engine (the names resolved are
#: in the MIBs pysnmp ships compiled)
_MIB_COMPILER: list[Any] = []


def _send(
    port: int,
    auth: Any,
    oid: str,
    varbinds: list[tuple[str, Any]] = (),  # type: ignore[assignment]
    times: int = 1,
) -> None:
    """A notification sent by pysnmp's notification originator (``times`` over, from one
    engine)."""
    from pysnmp.hlapi.v3arch.asyncio import (
        ContextData,
        NotificationType,
        ObjectIdentity,
        SnmpEngine,
        UdpTransportTarget,
        send_notification,
    )
    from pysnmp.smi.compiler import DEFAULT_DEST

    async def go() -> None:
        engine = SnmpEngine()
        builder = engine.get_mib_builder()
        if _MIB_COMPILER:
            builder.set_mib_compiler(_MIB_COMPILER[0], DEFAULT_DEST)
        target = await UdpTransportTarget.create(("127.0.0.1", port), timeout=1, retries=0)
        for _ in range(times):
            notification = NotificationType(ObjectIdentity(oid)).add_varbinds(*varbinds)
            error, *_ = await send_notification(
                engine, auth, target, ContextData(), "trap", notification
            )
            assert not error, error
        engine.close_dispatcher()
        if not _MIB_COMPILER and builder.get_mib_compiler() is not None:
            _MIB_COMPILER.append(builder.get_mib_compiler())

    asyncio.run(go())


def _v2c(community: str = COMMUNITY) -> Any:
    from pysnmp.hlapi.v3arch.asyncio import CommunityData

    return CommunityData(community, mpModel=1)  # noqa: S508 - v2c traps are what UPS cards send


def _v1(community: str = COMMUNITY) -> Any:
    from pysnmp.hlapi.v3arch.asyncio import CommunityData

    return CommunityData(community, mpModel=0)  # noqa: S508 - v1 traps are what UPS cards send


def _v3(user: str = V3_USER) -> Any:
    from pysnmp.hlapi.v3arch.asyncio import (
        USM_AUTH_HMAC96_SHA,
        USM_PRIV_CFB128_AES,
        UsmUserData,
    )

    return UsmUserData(
        user,
        V3_AUTH,
        V3_PRIV,
        authProtocol=USM_AUTH_HMAC96_SHA,
        privProtocol=USM_PRIV_CFB128_AES,
    )


def _descr(alarm: str) -> list[tuple[str, Any]]:
    from pysnmp.proto.rfc1902 import ObjectName

    return [(f"{ALARM_DESCR}.7", ObjectName(alarm))]


def _raw(port: int, data: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(data, ("127.0.0.1", port))


# --- tests -----------------------------------------------------------------------------------


def test_v2c_on_battery_raises_an_a_alert_and_its_clear_resolves_it(running: Running) -> None:
    key = f"trap:asset{running.asset_id}:ups_on_battery"
    _send(running.port, _v2c(), ON_BATTERY)
    alert = _wait(running.app, _open_alert(key), "upsTrapOnBattery raising an A alert", DEADLINE_S)
    assert (alert.urgency, alert.asset_id, alert.rule) == (
        "A",
        running.asset_id,
        "trap.ups_mib.ups_on_battery",
    )
    assert "UPS 电池供电" in alert.message  # the title in the site's language
    _send(running.port, _v2c(), ALARM_REMOVED, _descr(ALARM_ON_BATTERY))
    _wait(running.app, _resolved(key), "upsAlarmEntryRemoved(upsAlarmOnBattery) resolving it")
    with running.app.app_context():
        stored = db.session().scalar(select(SnmpTrap).where(SnmpTrap.trap_oid == ON_BATTERY))
        assert stored is not None
        assert (stored.source, stored.version, stored.asset_id) == (
            "127.0.0.1",
            "2c",
            running.asset_id,
        )
        assert stored.actions == "raise ups_on_battery"


def test_v3_authpriv_on_battery_raises_the_alert(running: Running) -> None:
    key = f"trap:asset{running.asset_id}:ups_on_battery"
    _send(running.port, _v3(), ON_BATTERY)
    _wait(running.app, _open_alert(key), "a v3 authPriv upsTrapOnBattery raising the alert")
    with running.app.app_context():
        trap = db.session().scalar(select(SnmpTrap).where(SnmpTrap.version == "3"))
        assert trap is not None and trap.trap_oid == ON_BATTERY


def test_v1_apc_enterprise_traps_and_the_configured_community(running: Running) -> None:
    key = f"trap:asset{running.asset_id}:ups_on_battery"
    _send(running.port, _v1(EXTRA_COMMUNITY), "1.3.6.1.4.1.318.0.5")  # PowerNet upsOnBattery
    _wait(running.app, _open_alert(key), "APC upsOnBattery (v1) raising the alert")
    _send(running.port, _v1(), "1.3.6.1.4.1.318.0.9")  # powerRestored
    _wait(running.app, _resolved(key), "APC powerRestored resolving it")
    with running.app.app_context():
        trap = db.session().scalar(select(SnmpTrap).where(SnmpTrap.version == "1").limit(1))
        assert trap is not None
        # the community is never stored
        assert EXTRA_COMMUNITY not in str(trap.varbinds) and COMMUNITY not in str(trap.varbinds)


def test_link_down_up_per_interface(running: Running) -> None:
    from pysnmp.proto.rfc1902 import Integer

    key = f"trap:asset{running.asset_id}:link_down:3"
    _send(running.port, _v2c(), "1.3.6.1.6.3.1.1.5.3", [("1.3.6.1.2.1.2.2.1.1.3", Integer(3))])
    alert = _wait(running.app, _open_alert(key), "linkDown of ifIndex 3")
    assert alert.urgency == "B"
    _send(running.port, _v2c(), "1.3.6.1.6.3.1.1.5.4", [("1.3.6.1.2.1.2.2.1.1.3", Integer(3))])
    _wait(running.app, _resolved(key), "linkUp of ifIndex 3")


def test_malformed_packets_are_counted_and_the_next_trap_still_arrives(
    running: Running,
) -> None:
    _raw(running.port, b"\x30\x82\xff\xff" + b"\x00" * 20)  # truncated BER
    _raw(running.port, bytes(range(256)) * 255)  # ~64 KiB of junk
    _raw(running.port, b"\x30\x03\x02\x01")
    _send(running.port, _v2c("wrong-community"), ON_BATTERY)
    _send(running.port, _v3("nobody"), ON_BATTERY)
    # the unknown v3 user's trap is refused and counted: pysnmp files it as an unknown user name,
    # an unknown engine ID (before it has met the sender's engine) or, when its USM fails to
    # decode the encrypted part, an ASN.1 parse error (CI runs have seen all three)
    deadline = time.monotonic() + ARRIVAL_S  # the counters (the 2 s promise is the alert's)
    while time.monotonic() < deadline:
        stats = running.receiver.stats()
        refused = stats["malformed"] + stats["unknown_user"] + stats["auth_failed"]
        if stats["malformed"] >= 3 and stats["bad_community"] >= 1 and refused >= 4:
            break
        time.sleep(0.05)
    stats = running.receiver.stats()
    assert stats["malformed"] >= 3, stats
    assert stats["bad_community"] >= 1, stats
    assert stats["malformed"] + stats["unknown_user"] + stats["auth_failed"] >= 4, stats
    assert stats["accepted"] == 0, stats
    key = f"trap:asset{running.asset_id}:ups_on_battery"
    _send(running.port, _v2c(), ON_BATTERY)
    _wait(running.app, _open_alert(key), "a good trap after the bad ones")


def test_unknown_trap_is_stored_and_listed(running: Running, db_client: FlaskClient) -> None:
    from pysnmp.proto.rfc1902 import OctetString

    oid = "1.3.6.1.4.1.99999.0.42"
    _send(
        running.port, _v2c(), oid, [("1.3.6.1.4.1.99999.1.1.0", OctetString("压缩机报警".encode()))]
    )
    trap = _wait(running.app, _trap_with(oid), "the unknown trap stored")
    assert trap.actions == ""
    assert db_client.get("/monitoring/traps/").status_code in (302, 401)  # login first
    login(db_client, "viewer")
    page = db_client.get("/monitoring/traps/?show=unknown").get_data(as_text=True)
    assert oid in page and "压缩机报警" in page and "UPS-T1" in page
    assert COMMUNITY not in page and V3_AUTH not in page


def test_a_storm_is_shed_and_counted(db_app: Flask) -> None:
    """Without a writer the queue fills: beyond it traps are shed, counted, never queued."""
    rx = Receiver("127.0.0.1", 0, queue_size=5)
    rx.start()
    try:
        with db_app.app_context():
            creds, _hosts = store.load_credentials((EXTRA_COMMUNITY,))
        rx.configure(creds)
        time.sleep(0.1)
        _send(rx.port, _v2c(EXTRA_COMMUNITY), ON_BATTERY, times=20)
        deadline = time.monotonic() + ARRIVAL_S
        while rx.stats()["accepted"] + rx.stats()["shed"] < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        stats = rx.stats()
        assert (stats["accepted"], stats["shed"], stats["queued"]) == (5, 15, 5)
    finally:
        rx.stop()


@pytest.mark.skipif(shutil.which("snmptrap") is None, reason="net-snmp's snmptrap: make snmp-deps")
def test_net_snmp_snmptrap_v1_v2c_v3(running: Running) -> None:
    key = f"trap:asset{running.asset_id}:ups_on_battery"
    target = f"127.0.0.1:{running.port}"
    subprocess.run(
        ["snmptrap", "-v", "2c", "-c", COMMUNITY, target, "", ON_BATTERY], check=True, timeout=10
    )
    _wait(running.app, _open_alert(key), "snmptrap v2c upsTrapOnBattery")
    subprocess.run(
        [
            "snmptrap",
            "-v",
            "2c",
            "-c",
            COMMUNITY,
            target,
            "",
            ALARM_REMOVED,
            f"{ALARM_DESCR}.1",
            "o",
            ALARM_ON_BATTERY,
        ],
        check=True,
        timeout=10,
    )
    _wait(running.app, _resolved(key), "snmptrap v2c upsAlarmEntryRemoved")
    v3 = ["-v", "3", "-u", V3_USER, "-l", "authPriv", "-a", "SHA", "-A", V3_AUTH]
    v3 += ["-x", "AES", "-X", V3_PRIV, "-e", "0x80001f8880aabbccdd"]
    subprocess.run(["snmptrap", *v3, target, "", ON_BATTERY], check=True, timeout=10)
    _wait(running.app, _open_alert(key), "snmptrap v3 authPriv upsTrapOnBattery")
    # v1 with an agent-addr: an enterprise-specific APC trap from "another" address
    subprocess.run(
        [
            "snmptrap",
            "-v",
            "1",
            "-c",
            COMMUNITY,
            target,
            "1.3.6.1.4.1.318",
            "127.0.0.1",
            "6",
            "9",
            "",
        ],
        check=True,
        timeout=10,
    )
    _wait(running.app, _resolved(key), "snmptrap v1 powerRestored")


def test_a_privileged_port_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, address: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(socket.socket, "bind", refuse)
    with pytest.raises(BindError) as caught:
        open_socket("0.0.0.0", 162)  # noqa: S104
    assert "--port 10162" in str(caught.value) and "REDIRECT" in str(caught.value)
