"""SNMPv1 and SNMPv2c trap messages read with the project's own BER codec (``monitors.snmp``).

pysnmp spends about 1.4 ms of CPU decoding one v2c trap through pyasn1; this reading costs some
tens of µs. It reads only clean, definite-length messages of the two trap PDUs and gives the
varbinds as the receiver's pysnmp path hands them on (values as ``receiver._value`` makes them);
anything else raises :class:`NotFast` and goes to pysnmp, which accepts or counts it as before.
"""

from __future__ import annotations

from typing import Any

from monitors import snmp

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"  # a v1 trap's agent-addr (RFC 3584)


class NotFast(ValueError):
    """A datagram the fast path leaves to pysnmp (which then accepts or counts it)."""


_V1_GENERIC = "1.3.6.1.6.3.1.1.5."  # coldStart .1 ... egpNeighborLoss .6 (RFC 3584 3.1.3)
_SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
_SNMP_TRAP_ENTERPRISE = "1.3.6.1.6.3.1.1.4.3.0"
_INT32 = (-(2**31), 2**31 - 1)
_UNSIGNED = {0x41: 2**32 - 1, 0x42: 2**32 - 1, 0x43: 2**32 - 1, 0x46: 2**64 - 1}


def _strict_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start, end) of a definite-length, single-byte-tag TLV inside ``data[:end]``."""
    return snmp._tlv(data, pos, end, strict=True, error=NotFast)


_OIDS: dict[bytes, str] = {}  # encoded OID -> dotted (a room's traps name few OIDs)
_OIDS_MAX = 8192


def _oid(data: bytes, start: int, end: int) -> str:
    raw = data[start:end]
    dotted = _OIDS.get(raw)
    if dotted is not None:
        return dotted
    if start == end or data[end - 1] & 0x80:
        raise NotFast("bad OID")
    dotted = ".".join(map(str, snmp._oid_arcs(data, start, end)))
    if len(_OIDS) >= _OIDS_MAX:  # bounded: forgetting costs one decoding
        _OIDS.clear()
    _OIDS[raw] = dotted
    return dotted


def _plain(data: bytes, tag: int, start: int, end: int, v1: bool) -> Any:
    """A varbind value as :func:`_value` gives it for pysnmp's decoding of the same bytes."""
    if tag == 0x02:
        if start == end:
            raise NotFast("empty integer")
        number = int.from_bytes(data[start:end], "big", signed=True)
        if not _INT32[0] <= number <= _INT32[1]:
            raise NotFast("integer range")
        return number
    if tag == 0x04 or tag == 0x44:  # OCTET STRING, Opaque
        return snmp.text(bytes(data[start:end]))
    if tag == 0x06:
        return _oid(data, start, end)
    if tag == 0x40:
        if end - start != 4:
            raise NotFast("IpAddress size")
        return ".".join(map(str, data[start:end]))
    if tag == 0x05 and start == end:
        return None
    top = _UNSIGNED.get(tag)
    if top is not None and start != end and not (v1 and tag == 0x46):
        number = int.from_bytes(data[start:end], "big", signed=True)
        if not 0 <= number <= top:
            raise NotFast("unsigned range")
        return number
    if not v1 and tag in (0x80, 0x81, 0x82) and start == end:  # noSuchObject ... endOfMibView
        return None
    raise NotFast(f"value tag {tag:#x}")


def decode_trap(data: bytes) -> tuple[str, bytes, list[tuple[str, Any]]]:
    """An SNMPv1 Trap-PDU or SNMPv2c SNMPv2-Trap-PDU message: (version "1"/"2c", community,
    varbinds as pysnmp's notification receiver hands them on, a v1 trap translated as RFC 3584
    3.1 says: sysUpTime.0, snmpTrapOID.0, snmpTrapAddress.0, snmpTrapCommunity.0 (left out
    here), snmpTrapEnterprise.0, then its own). :class:`NotFast` for anything else."""
    tag, pos, end = _strict_tlv(data, 0, len(data))
    if tag != 0x30 or end != len(data):
        raise NotFast("not one message")
    tag, s, pos = _strict_tlv(data, pos, end)
    if tag != 0x02 or data[s:pos] not in (b"\x00", b"\x01"):
        raise NotFast("not v1/v2c")
    v1 = data[s] == 0
    tag, s, pos = _strict_tlv(data, pos, end)
    if tag != 0x04:
        raise NotFast("community")
    community = bytes(data[s:pos])
    tag, pos, pdu_end = _strict_tlv(data, pos, end)
    if pdu_end != end or tag != (0xA4 if v1 else 0xA7):
        raise NotFast("not a trap")
    out: list[tuple[str, Any]] = []
    if v1:
        fields = []
        for want in (0x06, 0x40, 0x02, 0x02, 0x43):
            tag, s, pos = _strict_tlv(data, pos, pdu_end)
            if tag != want:
                raise NotFast("v1 trap fields")
            fields.append((s, pos))
        enterprise = _oid(data, *fields[0])
        agent = _plain(data, 0x40, *fields[1], True)
        generic = _plain(data, 0x02, *fields[2], True)
        specific = _plain(data, 0x02, *fields[3], True)
        if generic == 6:
            trap_oid = f"{enterprise}.0.{specific}"
        elif 0 <= generic <= 5:
            trap_oid = f"{_V1_GENERIC}{generic + 1}"
        else:
            raise NotFast("generic-trap")
        out += [
            (_SYS_UPTIME, _plain(data, 0x43, *fields[4], True)),
            (SNMP_TRAP_OID, trap_oid),
            (SNMP_TRAP_ADDRESS, agent),
            (_SNMP_TRAP_ENTERPRISE, enterprise),
        ]
    else:
        for _ in range(3):  # request-id, error-status, error-index
            tag, s, pos = _strict_tlv(data, pos, pdu_end)
            if tag != 0x02:
                raise NotFast("v2c trap header")
            _plain(data, 0x02, s, pos, False)
    tag, pos, list_end = _strict_tlv(data, pos, pdu_end)
    if tag != 0x30 or list_end != pdu_end:
        raise NotFast("varbind list")
    while pos < list_end:
        tag, vpos, vend = _strict_tlv(data, pos, list_end)
        if tag != 0x30:
            raise NotFast("varbind")
        tag, s, e = _strict_tlv(data, vpos, vend)
        if tag != 0x06:
            raise NotFast("varbind name")
        name = _oid(data, s, e)
        tag, s, e = _strict_tlv(data, e, vend)
        if e != vend:
            raise NotFast("varbind size")
        out.append((name, _plain(data, tag, s, e, v1)))
        pos = vend
    return ("1" if v1 else "2c"), community, out
