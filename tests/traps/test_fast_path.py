"""The receiver's fast path (``monitors.traps.ber``) against pysnmp's path: the same SNMPv1 and
SNMPv2c datagrams, encoded by pysnmp and sent over UDP to two receivers (one with the fast path,
one without), give the same :class:`Trap` records and the same counters for junk, a wrong
community and truncated BER."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from monitors.traps.ber import NotFast, decode_trap
from monitors.traps.receiver import Credentials, Receiver, Trap

COMMUNITY = "public"
WAIT_S = 10.0  # a bound for a hung receiver, not a speed goal


def _wrap(proto: Any, community: str, pdu: Any) -> bytes:
    from pyasn1.codec.ber import encoder

    message = proto.Message()
    proto.apiMessage.set_defaults(message)
    proto.apiMessage.set_community(message, community)
    proto.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


def _v1_message(community: str, enterprise: str, generic: int, specific: int, binds: Any) -> bytes:
    from pysnmp.proto import api

    v1 = api.PROTOCOL_MODULES[api.SNMP_VERSION_1]
    pdu = v1.TrapPDU()
    v1.apiTrapPDU.set_defaults(pdu)
    v1.apiTrapPDU.set_enterprise(pdu, enterprise)
    v1.apiTrapPDU.set_agent_address(pdu, "10.20.30.40")
    v1.apiTrapPDU.set_generic_trap(pdu, generic)
    v1.apiTrapPDU.set_specific_trap(pdu, specific)
    v1.apiTrapPDU.set_timestamp(pdu, 123456)
    v1.apiTrapPDU.set_varbinds(pdu, binds)
    return _wrap(v1, community, pdu)


def _v2c_message(community: str, oid: str | None, binds: Any, tag: str = "trap") -> bytes:
    from pysnmp.proto import api

    v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    pdu = v2c.TrapPDU() if tag == "trap" else v2c.InformRequestPDU()
    v2c.apiTrapPDU.set_defaults(pdu)
    v2c.apiTrapPDU.set_request_id(pdu, 4242)
    head = [("1.3.6.1.2.1.1.3.0", v2c.TimeTicks(9876))]
    if oid is not None:
        head.append(("1.3.6.1.6.3.1.1.4.1.0", v2c.ObjectIdentifier(oid)))
    v2c.apiTrapPDU.set_varbinds(pdu, [*head, *binds])
    return _wrap(v2c, community, pdu)


def _v1_binds() -> list[tuple[str, Any]]:
    from pysnmp.proto.api import v1

    return [
        ("1.3.6.1.2.1.2.2.1.1.3", v1.Integer(3)),
        ("1.3.6.1.2.1.2.2.1.8.3", v1.Integer(-2)),
        ("1.3.6.1.4.1.318.2.3.3.0", v1.OctetString("UPS 市电中断".encode())),
        ("1.3.6.1.4.1.318.2.3.4.0", v1.OctetString(b"\xff\x00\x81")),
        ("1.3.6.1.4.1.318.2.3.5.0", v1.ObjectIdentifier("1.3.6.1.4.1.318.1.3")),
        ("1.3.6.1.4.1.318.2.3.6.0", v1.IpAddress("192.0.2.9")),
        ("1.3.6.1.4.1.318.2.3.7.0", v1.Counter(4294967295)),
        ("1.3.6.1.4.1.318.2.3.8.0", v1.Gauge(17)),
        ("1.3.6.1.4.1.318.2.3.9.0", v1.TimeTicks(99)),
        ("1.3.6.1.4.1.318.2.3.10.0", v1.Null("")),
        ("1.3.6.1.4.1.318.2.3.11.0", v1.Opaque(b"op")),
    ]


def _v2c_binds() -> list[tuple[str, Any]]:
    from pysnmp.proto.api import v2c

    return [
        ("1.3.6.1.2.1.2.2.1.1.7", v2c.Integer(-2147483648)),
        ("1.3.6.1.2.1.33.1.2.3.0", v2c.Integer(2147483647)),
        ("1.3.6.1.4.1.99999.1.1.0", v2c.OctetString("压缩机报警 high".encode())),
        ("1.3.6.1.4.1.99999.1.2.0", v2c.OctetString(b"\x00\x1b\x21\xfe\x80\x01")),
        ("1.3.6.1.4.1.99999.1.3.0", v2c.OctetString(b"")),
        ("1.3.6.1.4.1.99999.1.4.0", v2c.ObjectIdentifier("1.3.6.1.4.1.2011.5.25")),
        ("1.3.6.1.6.3.18.1.3.0", v2c.IpAddress("10.0.0.254")),
        ("1.3.6.1.4.1.99999.1.5.0", v2c.Counter32(4294967295)),
        ("1.3.6.1.4.1.99999.1.6.0", v2c.Gauge32(0)),
        ("1.3.6.1.4.1.99999.1.7.0", v2c.TimeTicks(4294967295)),
        ("1.3.6.1.4.1.99999.1.8.0", v2c.Counter64(2**64 - 1)),
        ("1.3.6.1.4.1.99999.1.9.0", v2c.Opaque(b"\x9f\x78\x04")),
        ("1.3.6.1.4.1.99999.1.10.0", v2c.Null("")),
    ]


def _good() -> list[bytes]:
    return [
        _v1_message(COMMUNITY, "1.3.6.1.4.1.318", 6, 5, _v1_binds()),  # enterprise-specific
        _v1_message(COMMUNITY, "1.3.6.1.4.1.9.1.1", 2, 0, _v1_binds()[:2]),  # linkDown
        _v1_message(COMMUNITY, "1.3.6.1.4.1.9", 0, 0, []),  # coldStart, no varbinds
        _v2c_message(COMMUNITY, "1.3.6.1.4.1.99999.0.42", _v2c_binds()),
        _v2c_message(COMMUNITY, "1.3.6.1.6.3.1.1.5.3", _v2c_binds()[:1]),
        _v2c_message(COMMUNITY, None, []),  # no snmpTrapOID: stored with an empty one
    ]


@pytest.fixture
def pair() -> Iterator[tuple[Receiver, Receiver]]:
    fast, slow = Receiver("127.0.0.1", 0), Receiver("127.0.0.1", 0)
    slow.fast = False
    for rx in (fast, slow):
        rx.configure(Credentials(frozenset({COMMUNITY, "site-wide"})))
        rx.start()
    try:
        yield fast, slow
    finally:
        fast.stop()
        slow.stop()


def _send(port: int, datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for data in datagrams:
            s.sendto(data, ("127.0.0.1", port))
            time.sleep(0.01)


def _settled(rx: Receiver, count: str, n: int) -> dict[str, int]:
    deadline = time.monotonic() + WAIT_S
    while rx.stats()[count] < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return rx.stats()


def _records(rx: Receiver) -> list[tuple[Any, ...]]:
    out = []
    while not rx.queue.empty():
        t: Trap = rx.queue.get_nowait()
        out.append((t.source, t.version, t.trap_oid, t.agent_addr, t.varbinds))
    return out


def test_the_same_trap_records_as_pysnmp(pair: tuple[Receiver, Receiver]) -> None:
    fast, slow = pair
    datagrams = _good()
    for data in datagrams:
        decode_trap(data)  # each of them is read by the fast path, none left to pysnmp
    for rx in pair:
        _send(rx.port, datagrams)
        assert _settled(rx, "accepted", len(datagrams))["accepted"] == len(datagrams)
    got, expected = _records(fast), _records(slow)
    assert got == expected
    v1_trap = got[0]
    assert v1_trap[1:4] == ("1", "1.3.6.1.4.1.318.0.5", "10.20.30.40")
    assert ("1.3.6.1.4.1.318.2.3.3.0", "UPS 市电中断") in v1_trap[4]
    assert got[1][2] == "1.3.6.1.6.3.1.1.5.3"  # linkDown
    assert got[3][1:3] == ("2c", "1.3.6.1.4.1.99999.0.42")
    assert ("1.3.6.1.4.1.99999.1.8.0", 2**64 - 1) in got[3][4]
    assert got[5][2] == ""


def test_junk_wrong_community_and_truncated_ber_counted_the_same(
    pair: tuple[Receiver, Receiver],
) -> None:
    good = _good()
    bad = [
        b"\x30\x82\xff\xff" + b"\x00" * 20,  # truncated BER
        bytes(range(256)) * 255,  # ~64 KiB of junk
        b"\x30\x03\x02\x01",
        good[0][:-3],  # a v1 trap cut short
        good[3][:-1],  # a v2c trap cut short
        _v1_message("wrong", "1.3.6.1.4.1.318", 6, 5, _v1_binds()),
        _v2c_message("wrong", "1.3.6.1.4.1.99999.0.42", _v2c_binds()),
    ]
    stats = []
    for rx in pair:
        _send(rx.port, [*bad, good[3]])
        _settled(rx, "accepted", 1)
        stats.append({k: v for k, v in rx.stats().items() if k != "queued"})
    assert stats[0] == stats[1]
    assert stats[0]["bad_community"] == 2, stats
    assert stats[0]["malformed"] >= 3, stats
    assert stats[0]["accepted"] == 1 and stats[0]["received"] == len(bad) + 1


def test_what_the_fast_path_leaves_to_pysnmp() -> None:
    from pysnmp.proto.api import v2c

    inform = _v2c_message(COMMUNITY, "1.3.6.1.4.1.99999.0.1", [], tag="inform")
    good = _good()[3]
    indefinite = b"\x30\x80" + good[2:] + b"\x00\x00"
    for data in (inform, indefinite, good + b"\x00", b"\x30\x00", b""):
        with pytest.raises((NotFast, IndexError)):
            decode_trap(data)
    version, community, varbinds = decode_trap(
        _v2c_message("site-wide", "1.3.6.1.4.1.9.0.1", [("1.3.6.1.2.1.1.5.0", v2c.Null(""))])
    )
    assert (version, community) == ("2c", b"site-wide")
    assert varbinds == [
        ("1.3.6.1.2.1.1.3.0", 9876),
        ("1.3.6.1.6.3.1.1.4.1.0", "1.3.6.1.4.1.9.0.1"),
        ("1.3.6.1.2.1.1.5.0", None),
    ]


def test_traps_before_the_credentials_wait_for_them() -> None:
    """The writer loads the monitors' credentials after the socket is open: a trap arriving in
    between is judged once they are known, not refused as a wrong community."""
    rx = Receiver("127.0.0.1", 0)
    rx.start()
    try:
        _send(rx.port, _good()[3:4])
        deadline = time.monotonic() + WAIT_S
        while rx.stats()["received"] < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rx.stats()["accepted"] == 0
        rx.configure(Credentials(frozenset({COMMUNITY})))
        stats = _settled(rx, "accepted", 1)
        assert (stats["accepted"], stats["bad_community"]) == (1, 0), stats
    finally:
        rx.stop()


def test_udp_receive_buffer_widened() -> None:
    """Both receivers ask the kernel for an 8 MiB UDP buffer, granted up to rmem_max."""
    from pathlib import Path

    from monitors import receivers

    cap = Path("/proc/sys/net/core/rmem_max")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        default = s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
        granted = receivers.widen(s)
        assert granted == s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
    if cap.exists():
        assert granted == min(receivers.RCVBUF, max(int(cap.read_text()), default))
