"""The lean SNMPv2c codec (monitors.snmp): requests as net-snmp encodes them, responses decoded
to the same Python values as the pysnmp path."""

from __future__ import annotations

from monitors import snmp


def _vb(oid: str, tag: int, body: bytes) -> bytes:
    return snmp._ber(0x30, snmp._ber_oid(oid) + snmp._ber(tag, body))


def _response(rid: int, status: int, varbinds: list[bytes]) -> bytes:
    pdu = snmp._ber_int(rid) + snmp._ber_int(status) + snmp._ber_int(0)
    pdu += snmp._ber(0x30, b"".join(varbinds))
    return snmp._ber(0x30, b"\x02\x01\x01" + snmp._ber(0x04, b"public") + snmp._ber(0xA2, pdu))


def test_request_bytes() -> None:
    # GET sysName.0, request id 1, community public, in the standard BER form
    message = snmp._v2c_request(b"public", 0xA0, 1, 0, 0, ["1.3.6.1.2.1.1.5.0"])
    assert message.hex() == (
        "302602010104067075626c6963a019020101020100020100300e300c06082b060102010105000500"
    )
    bulk = snmp._v2c_request(b"c", 0xA5, 300, 0, 25, ["1.3.6.1.2.1.2.2.1.2", "1.0.8802.1"])
    assert bulk[bulk.index(b"\xa5") + 2 :].startswith(bytes.fromhex("0202012c020100020119"))
    assert snmp._ber_oid("1.3.6.1.4.1.318.1") == bytes.fromhex("06082b06010401823e01")


def test_response_values() -> None:
    data = _response(
        7,
        0,
        [
            _vb("1.3.6.1.2.1.1.1.0", 0x04, b"Linux \xe4\xb8\xad"),  # OCTET STRING
            _vb("1.3.6.1.2.1.1.2.0", 0x06, snmp._ber_oid("1.3.6.1.4.1.8072.3.2.10")[2:]),
            _vb("1.3.6.1.2.1.1.3.0", 0x43, (4294967295).to_bytes(5, "big")),  # TimeTicks
            _vb("1.3.6.1.4.1.3854.1.2", 0x02, (-1).to_bytes(1, "big", signed=True)),
            _vb("1.3.6.1.2.1.31.1.1.1.6.1", 0x46, (2**64 - 1).to_bytes(9, "big")),  # Counter64
            _vb("1.3.6.1.2.1.4.20.1.1.1", 0x40, bytes([10, 0, 0, 254])),  # IpAddress
            _vb("1.3.6.1.2.1.33.1.1.1.0", 0x80, b""),  # noSuchObject
            _vb("1.3.6.1.2.1.2.2.1.2.99", 0x82, b""),  # endOfMibView
        ],
    )
    rid, status, index, varbinds = snmp._v2c_response(data)
    assert (rid, status, index) == (7, 0, 0)
    values = [v for _, v in varbinds]
    assert values[:7] == [
        "Linux 中".encode(),
        "1.3.6.1.4.1.8072.3.2.10",
        4294967295,
        -1,
        2**64 - 1,
        "10.0.0.254",
        None,
    ]
    assert values[7] is snmp._END_OF_MIB
    assert varbinds[4][0] == (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 1)
    assert varbinds[0][0] == (1, 3, 6, 1, 2, 1, 1, 1, 0)


def test_long_lengths_and_error_status() -> None:
    text = b"x" * 300  # a two-byte BER length
    rid, status, _index, varbinds = snmp._v2c_response(
        _response(9, 0, [_vb("1.3.6.1.2.1.1.4.0", 0x04, text)])
    )
    assert (rid, status) == (9, 0)
    assert varbinds == [((1, 3, 6, 1, 2, 1, 1, 4, 0), text)]
    assert snmp._v2c_response(_response(10, 2, []))[1] == 2  # noSuchName reaches the caller
