"""Over 500 lines: one SNMP client whose engine pool, v2c codec and walks share one loop's state.

A small SNMP client on pysnmp 7 (asyncio): GET and bulk walks by numeric OID, v1/v2c/v3.

One ``SnmpEngine`` serves the whole process (pysnmp multiplexes every request over its one UDP
socket; a new engine per request costs ~60 ms and a MIB reload), except that an engine holds one
set of keys per SNMPv3 user name: a device whose keys differ from those in use for its user name
gets another engine (see :class:`_Engines`). The engines live on a private
event loop in a daemon thread, so synchronous callers (the CLI, Flask views, tests) use
:func:`run` and async callers may await the client methods inside :func:`run` too. At interpreter
exit the dispatcher is closed and the loop stopped.

MIB names are never resolved (``lookupMib=False``): profiles carry numeric OIDs and values come back
decoded by :func:`decode` to ``int``, ``str`` (OIDs, IP addresses) or ``bytes`` (octet strings;
see :func:`text` and :func:`mac`).

SNMPv2c GET and GETBULK skip pysnmp: a small BER codec here encodes the requests and decodes the
responses straight to those Python values over one UDP socket per address family (pysnmp's
pyasn1 decoding was ~80 % of a poll's CPU). SNMPv1 and SNMPv3 (USM authentication and privacy)
use pysnmp. Table columns are read several at a time in one GETBULK.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")
V = TypeVar("V")

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES192", "AES256")


BULK_VARBINDS = 60  # varbinds asked for per GETBULK (snmpsim answers at most 64)
BULK_COLUMNS = 16  # columns read together in one GETBULK
BULK_FIRST_ROWS = 3  # rows asked for in the first GETBULK (many tables are small or absent)
# Requests sent and varbinds received by this process (benchmarks read them).
STATS = {"requests": 0, "varbinds": 0}


class SnmpError(Exception):
    """The agent did not answer usefully (timeout, auth failure, PDU error); one-line message."""


@dataclass(frozen=True)
class Credentials:
    """How to talk to one agent. ``version`` is "1", "2c" or "3"."""

    version: str = "2c"
    community: str = "public"
    user: str = ""
    auth_proto: str | None = None
    auth_key: str | None = None
    priv_proto: str | None = None
    priv_key: str | None = None
    context: str = ""

    def __post_init__(self) -> None:
        if self.version not in ("1", "2c", "3"):
            raise ValueError(f"SNMP version must be 1, 2c or 3, got {self.version!r}")
        if self.version == "3":
            if not self.user:
                raise ValueError("SNMPv3 needs a user name")
            if self.auth_proto and self.auth_proto.upper() not in AUTH_PROTOCOLS:
                raise ValueError(f"auth protocol must be one of {', '.join(AUTH_PROTOCOLS)}")
            if self.priv_proto and self.priv_proto.upper() not in PRIV_PROTOCOLS:
                raise ValueError(f"privacy protocol must be one of {', '.join(PRIV_PROTOCOLS)}")
            if self.priv_proto and not self.auth_proto:
                raise ValueError("SNMPv3 privacy needs an auth protocol too")
            if self.auth_proto and not self.auth_key:
                raise ValueError("SNMPv3 auth protocol given without an auth key")
            if self.priv_proto and not self.priv_key:
                raise ValueError("SNMPv3 privacy protocol given without a privacy key")


# --- the one engine, on its own loop ---------------------------------------------------------

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_engine: Any = None
MAX_ENGINES = 16  # engines at most; beyond, a v3 request waits for a key set to be free


def _ensure_loop() -> asyncio.AbstractEventLoop:
    global _loop, _thread
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            _thread = threading.Thread(target=_loop.run_forever, name="opskit-snmp", daemon=True)
            _thread.start()
            atexit.register(shutdown)
        return _loop


def run(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` on the SNMP loop and wait for its result (from any thread)."""
    future = asyncio.run_coroutine_threadsafe(coro, _ensure_loop())
    return future.result(timeout)


def _get_engine() -> Any:
    """The process's SnmpEngine (created on first use, on the SNMP loop)."""
    global _engine
    if _engine is None:
        from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

        _engine = SnmpEngine()
    return _engine


class _Engines:
    """The process's SnmpEngines and, per engine, the SNMPv3 key set each user name has there.

    pysnmp keeps one key set per user name in an engine (its USM user table and the hlapi's
    configuration cache are keyed by the name, not by the device): a request with other keys
    for the same name replaces them, and a request in flight with the first keys fails
    ("Wrong SNMP PDU digest"). Keying the table by the device's engine ID instead would not
    help devices that share an engine ID (cloned images) and costs a discovery per device. So a
    v3 request runs on an engine where its user name has its keys, or has none, or has keys no
    request is using (reconfigured); otherwise on a further engine (created on demand, at most
    ``MAX_ENGINES``; beyond that it waits for a key set to be free). A site with one key set
    per user name (the usual case) uses the one engine; v1 always does, v2c uses none.
    """

    def __init__(self) -> None:
        self.engines: list[Any] = []
        self.users: list[dict[str, list[Any]]] = []  # per engine: user -> [keys, in flight]
        self.freed: asyncio.Condition | None = None

    def _pick(self, user: str, keys: tuple[Any, ...]) -> int | None:
        """The engine index to use for ``user`` with ``keys`` (None: all are busy)."""
        if not self.engines:
            self.engines.append(_get_engine())
            self.users.append({})
        for want in ("same", "absent", "idle"):
            for i, users in enumerate(self.users):
                entry = users.get(user)
                if (
                    (want == "same" and entry is not None and entry[0] == keys)
                    or (want == "absent" and entry is None)
                    or (want == "idle" and entry is not None and entry[1] == 0)
                ):
                    return i
        if len(self.engines) < MAX_ENGINES:
            from pysnmp.hlapi.v3arch.asyncio import SnmpEngine

            self.engines.append(SnmpEngine())
            self.users.append({})
            return len(self.engines) - 1
        return None

    @contextlib.asynccontextmanager
    async def lease(self, credentials: Credentials) -> Any:
        """The engine to send ``credentials``' requests with, held until the block ends."""
        if credentials.version != "3":
            yield _get_engine()
            return
        c = credentials
        user = c.user
        keys = ((c.auth_proto or "").upper(), c.auth_key, (c.priv_proto or "").upper(), c.priv_key)
        if self.freed is None:
            self.freed = asyncio.Condition()
        index = self._pick(user, keys)
        if index is None:
            async with self.freed:
                while (index := self._pick(user, keys)) is None:
                    await self.freed.wait()
        entry = self.users[index].get(user)
        if entry is None or entry[0] != keys:
            entry = self.users[index][user] = [keys, 0]
        entry[1] += 1
        try:
            yield self.engines[index]
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                async with self.freed:
                    self.freed.notify_all()

    def close(self) -> None:
        for engine in self.engines[1:]:  # the first is _engine, closed by shutdown()
            with contextlib.suppress(Exception):
                engine.close_dispatcher()
        self.engines.clear()
        self.users.clear()


_engines = _Engines()


def shutdown() -> None:
    """Close the engines' dispatchers and stop the loop (registered with atexit)."""
    global _loop, _thread, _engine, _engines
    with _lock:
        loop, thread, engine, engines = _loop, _thread, _engine, _engines
        _loop = _thread = _engine = None
        _engines = _Engines()
    if loop is None:
        return
    if engine is not None:

        async def _close() -> None:
            engines.close()
            engine.close_dispatcher()

        with contextlib.suppress(Exception):  # best effort at exit
            asyncio.run_coroutine_threadsafe(_close(), loop).result(5)
    loop.call_soon_threadsafe(_close_v2c)
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(5)
    loop.close()


# --- values ----------------------------------------------------------------------------------


def decode(value: Any) -> int | str | bytes | None:
    """A pyasn1 value as plain Python; ``None`` for noSuchObject/noSuchInstance/endOfMibView."""
    from pyasn1.type import univ
    from pysnmp.proto import rfc1902, rfc1905

    if isinstance(value, rfc1905.NoSuchObject | rfc1905.NoSuchInstance | rfc1905.EndOfMibView):
        return None
    if isinstance(value, univ.Null):
        return None
    if isinstance(value, rfc1902.IpAddress):
        return ".".join(str(b) for b in value.asOctets())
    if isinstance(value, univ.ObjectIdentifier):
        return str(value)
    if isinstance(value, univ.OctetString):
        return bytes(value.asOctets())
    if isinstance(value, univ.Integer):
        return int(value)
    return str(value)


def text(value: Any) -> str:
    """An octet string (or anything) as display text; non-UTF-8 bytes become hex."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8").rstrip("\x00").strip()
        except UnicodeDecodeError:
            return value.hex(":")
    return str(value)


def mac(value: Any) -> str:
    """A 6-byte physical address as aa:bb:cc:dd:ee:ff ('' when empty)."""
    if isinstance(value, bytes):
        return value.hex(":") if value else ""
    return text(value)


# --- lean SNMPv2c ----------------------------------------------------------------------------
# pysnmp spends most of a poll decoding responses into pyasn1 objects (~100-250 µs per varbind).
# SNMPv2c messages are simple BER: for GET and GETBULK with a community, opskit encodes and
# decodes them itself (a few µs per varbind) over one UDP socket per address family, shared by
# every device on the SNMP loop. SNMPv1 and SNMPv3 (USM auth/privacy) stay on pysnmp.

_V2C_ERRORS = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    7: "wrongType",
    8: "wrongLength",
    9: "wrongEncoding",
    10: "wrongValue",
    11: "noCreation",
    12: "inconsistentValue",
    13: "resourceUnavailable",
    14: "commitFailed",
    15: "undoFailed",
    16: "authorizationError",
    17: "notWritable",
    18: "inconsistentName",
}
_END_OF_MIB = object()  # endOfMibView in a decoded response


def _ber_len(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def _ber(tag: int, body: bytes) -> bytes:
    return bytes((tag,)) + _ber_len(len(body)) + body


def _ber_int(value: int) -> bytes:
    return _ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


_encoded_oids: dict[str, bytes] = {}


def _ber_oid(oid: str) -> bytes:
    """A numeric OID as a BER TLV (cached: the same OIDs are asked of every device)."""
    found = _encoded_oids.get(oid)
    if found is None:
        arcs = [int(a) for a in oid.split(".")]
        if len(arcs) < 2 or arcs[0] > 2:
            raise ValueError(f"not a numeric OID: {oid}")
        body = bytearray()
        for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
            chunk = [arc & 0x7F]
            arc >>= 7
            while arc:
                chunk.append(0x80 | (arc & 0x7F))
                arc >>= 7
            body.extend(reversed(chunk))
        if len(_encoded_oids) > 50000:
            _encoded_oids.clear()
        found = _encoded_oids[oid] = _ber(0x06, bytes(body))
    return found


def _v2c_request(
    community: bytes, pdu_tag: int, rid: int, a: int, b: int, oids: list[str]
) -> bytes:
    """A v2c GET (a = b = 0) or GETBULK (a = non-repeaters, b = max-repetitions) message."""
    varbinds = b"".join(_ber(0x30, _ber_oid(o) + b"\x05\x00") for o in oids)
    pdu = _ber(pdu_tag, _ber_int(rid) + _ber_int(a) + _ber_int(b) + _ber(0x30, varbinds))
    return _ber(0x30, b"\x02\x01\x01" + _ber(0x04, community) + pdu)


def _tlv(
    data: bytes,
    pos: int,
    end: int | None = None,
    *,
    strict: bool = False,
    error: type[ValueError] = ValueError,
) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the TLV at ``pos``, inside ``data[:end]``.
    ``strict`` (the trap receiver's fast path): only a definite length of at most 4 bytes and a
    one-byte tag are read, anything else raises ``error`` (a truncated TLV always does)."""
    limit = len(data) if end is None else end
    if strict and pos + 2 > limit:
        raise error("truncated")
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if strict and tag & 0x1F == 0x1F:
        raise error("multi-byte tag")
    if n & 0x80:
        size = n & 0x7F
        if strict and (size == 0 or size > 4 or pos + size > limit):
            raise error("length form")
        n = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    stop = pos + n
    if stop > limit:
        raise error("truncated")
    return tag, pos, stop


def _oid_arcs(data: bytes, start: int, end: int) -> tuple[int, ...]:
    arcs: list[int] = []
    value = 0
    for byte in data[start:end]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    if not arcs:
        return ()
    first = arcs[0]
    head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
    return (*head, *arcs[1:])


def _v2c_response(data: bytes) -> tuple[int, int, int, list[tuple[tuple[int, ...], Any]]]:
    """(request id, error status, error index, [(OID arcs, value)]) of a v2c Response."""
    _, pos, _end = _tlv(data, 0)  # Message SEQUENCE
    _, _s, pos = _tlv(data, pos)  # version
    _, _s, pos = _tlv(data, pos)  # community
    tag, pos, _end = _tlv(data, pos)
    if tag != 0xA2:
        raise ValueError(f"not a Response PDU (tag {tag:#x})")
    numbers = []
    for _ in range(3):
        _, s, pos = _tlv(data, pos)
        numbers.append(int.from_bytes(data[s:pos], "big", signed=True))
    _, pos, end = _tlv(data, pos)  # VarBindList
    varbinds: list[tuple[tuple[int, ...], Any]] = []
    while pos < end:
        _, vpos, vend = _tlv(data, pos)
        _, s, e = _tlv(data, vpos)
        arcs = _oid_arcs(data, s, e)
        tag, s, e = _tlv(data, e)
        raw = data[s:e]
        value: Any
        if tag == 0x02:
            value = int.from_bytes(raw, "big", signed=True)
        elif tag == 0x04 or tag == 0x44:  # OCTET STRING, Opaque
            value = bytes(raw)
        elif tag in (0x41, 0x42, 0x43, 0x46, 0x47):  # Counter32, Gauge32, TimeTicks, Counter64
            value = int.from_bytes(raw, "big")
        elif tag == 0x06:
            value = ".".join(map(str, _oid_arcs(data, s, e)))
        elif tag == 0x40 and len(raw) == 4:
            value = ".".join(map(str, raw))
        elif tag == 0x82:
            value = _END_OF_MIB
        else:  # NULL, noSuchObject, noSuchInstance, anything unknown
            value = None
        varbinds.append((arcs, value))
        pos = vend
    return numbers[0], numbers[1], numbers[2], varbinds


class _V2cProtocol(asyncio.DatagramProtocol):
    """One UDP socket shared by all v2c requests of a family; replies matched by request id."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.pending: dict[int, tuple[Any, asyncio.Future[Any]]] = {}

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError):
            import socket

            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        try:
            parsed = _v2c_response(data)
        except (ValueError, IndexError):
            return  # not a well-formed response: ignore it, the request times out
        entry = self.pending.get(parsed[0])
        if entry is None or entry[1].done() or tuple(addr[:2]) != entry[0]:
            return
        entry[1].set_result(parsed)

    def error_received(self, exc: Exception) -> None:  # e.g. ICMP port unreachable
        pass


# (id of the loop, family) -> (the loop, its endpoint)
_v2c_endpoints: dict[tuple[int, int], tuple[Any, _V2cProtocol]] = {}
_v2c_rid = [int.from_bytes(os.urandom(3), "big")]  # request ids start at random


async def _v2c_endpoint(family: int) -> _V2cProtocol:
    import socket

    loop = asyncio.get_running_loop()
    key = (id(loop), family)
    known = _v2c_endpoints.get(key)
    proto = known[1] if known and known[0] is loop else None
    if proto is None or proto.transport is None or proto.transport.is_closing():
        local = ("::", 0) if family == socket.AF_INET6 else ("0.0.0.0", 0)  # noqa: S104 - a client socket
        _transport, proto = await loop.create_datagram_endpoint(
            _V2cProtocol, local_addr=local, family=family
        )
        _v2c_endpoints[key] = (loop, proto)
    return proto


def _close_v2c() -> None:
    for _loop, proto in _v2c_endpoints.values():
        if proto.transport is not None:
            proto.transport.close()
    _v2c_endpoints.clear()


# --- the client ------------------------------------------------------------------------------


def _norm(oid: str) -> str:
    return oid[1:] if oid.startswith(".") else oid


_object_types: dict[str, Any] = {}


def _object_type(oid: str) -> Any:
    """A request varbind for ``oid``, resolved once and reused.

    pysnmp's hlapi resolves every request ``ObjectType`` through the MIB view (even with
    ``lookupMib=False``), ~0.2 ms each; a resolved one is returned as is, so keep them. The same
    column and scalar OIDs are asked of every device.
    """
    from pysnmp.hlapi.v3arch.asyncio import ObjectIdentity, ObjectType

    found = _object_types.get(oid)
    if found is None:
        if len(_object_types) > 20000:
            _object_types.clear()
        found = _object_types[oid] = ObjectType(ObjectIdentity(oid))
    return found


class SnmpClient:
    """One agent. Methods are coroutines; use them inside :func:`run`.

    ``timeout`` is per request (seconds) and ``retries`` how many times a request is re-sent, so a
    dead agent costs at most ``timeout * (retries + 1)`` per request.
    """

    def __init__(
        self,
        host: str,
        port: int = 161,
        credentials: Credentials | None = None,
        timeout: float = 2.0,
        retries: int = 1,
        max_repetitions: int = 25,
    ) -> None:
        self.host, self.port = host, port
        self.credentials = credentials or Credentials()
        self.timeout, self.retries = timeout, retries
        self.max_repetitions = max_repetitions
        self._target: Any = None
        self._address: tuple[int, Any] | None = None  # lean v2c: (family, socket address)

    def _auth(self) -> Any:
        from pysnmp.hlapi.v3arch import asyncio as hl

        c = self.credentials
        if c.version != "3":
            return hl.CommunityData(c.community, mpModel=0 if c.version == "1" else 1)
        auth = {
            None: hl.USM_AUTH_NONE,
            "MD5": hl.USM_AUTH_HMAC96_MD5,
            "SHA": hl.USM_AUTH_HMAC96_SHA,
            "SHA224": hl.USM_AUTH_HMAC128_SHA224,
            "SHA256": hl.USM_AUTH_HMAC192_SHA256,
            "SHA384": hl.USM_AUTH_HMAC256_SHA384,
            "SHA512": hl.USM_AUTH_HMAC384_SHA512,
        }[c.auth_proto.upper() if c.auth_proto else None]
        priv = {
            None: hl.USM_PRIV_NONE,
            "DES": hl.USM_PRIV_CBC56_DES,
            "3DES": hl.USM_PRIV_CBC168_3DES,
            "AES": hl.USM_PRIV_CFB128_AES,
            "AES192": hl.USM_PRIV_CFB192_AES,
            "AES256": hl.USM_PRIV_CFB256_AES,
        }[c.priv_proto.upper() if c.priv_proto else None]
        return hl.UsmUserData(
            c.user,
            authKey=c.auth_key if c.auth_proto else None,
            privKey=c.priv_key if c.priv_proto else None,
            authProtocol=auth,
            privProtocol=priv,
        )

    async def _transport(self) -> Any:
        from pysnmp.hlapi.v3arch.asyncio import UdpTransportTarget

        if self._target is None:
            try:
                self._target = await UdpTransportTarget.create(
                    (self.host, self.port), timeout=self.timeout, retries=self.retries
                )
            except Exception as exc:  # name resolution
                raise SnmpError(f"cannot resolve {self.host}: {exc}") from None
        return self._target

    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def _lean(self) -> bool:
        return self.credentials.version == "2c"

    async def _v2c(self, pdu_tag: int, a: int, b: int, oids: list[str]) -> list[Any]:
        """One lean v2c request (with retries); the response's [(OID arcs, value)]."""
        import socket

        if self._address is None:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    self.host, self.port, type=socket.SOCK_DGRAM
                )
            except OSError as exc:
                raise SnmpError(f"cannot resolve {self.host}: {exc}") from None
            self._address = (infos[0][0], infos[0][4])
        family, address = self._address
        proto = await _v2c_endpoint(family)
        _v2c_rid[0] = _v2c_rid[0] % 0x7FFFFFFF + 1
        rid = _v2c_rid[0]
        message = _v2c_request(self.credentials.community.encode(), pdu_tag, rid, a, b, oids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        proto.pending[rid] = (tuple(address[:2]), future)
        STATS["requests"] += 1
        try:
            for _attempt in range(self.retries + 1):
                proto.transport.sendto(message, address)
                try:
                    _rid, status, index, varbinds = await asyncio.wait_for(
                        asyncio.shield(future), self.timeout
                    )
                    break
                except TimeoutError:
                    continue
            else:
                raise SnmpError(f"{self._where()}: No SNMP response received before timeout")
        finally:
            proto.pending.pop(rid, None)
        STATS["varbinds"] += len(varbinds)
        if status:
            raise SnmpError(f"{self._where()}: {_V2C_ERRORS.get(status, status)} at index {index}")
        return varbinds

    async def _paged(
        self,
        command: Literal["get", "next"],
        oids: list[str],
        pick: Callable[[tuple[int, ...], Any], V],
        one_v1: Callable[[str], Awaitable[V]],
    ) -> dict[str, V]:
        """GET or GETNEXT of ``oids``, one request a page of 20 (lean for v2c, else pysnmp
        with the v1/v3 auth data): {OID: ``pick(OID arcs answered, value)``}, the value decoded
        and endOfMibView as ``_END_OF_MIB``. SNMPv1 fails the whole PDU with noSuchName for
        one OID (absent, or nothing after it): that page is asked one OID at a time by
        ``one_v1``."""
        from pysnmp.hlapi.v3arch.asyncio import ContextData, get_cmd, next_cmd
        from pysnmp.proto import rfc1905

        result: dict[str, V] = {}
        # Some agents answer tooBig or fail the whole PDU for many varbinds: ask in pages.
        for start in range(0, len(oids), 20):
            page = oids[start : start + 20]
            if self._lean:
                varbinds = await self._v2c(0xA0 if command == "get" else 0xA1, 0, 0, page)
                for oid, (arcs, value) in zip(page, varbinds, strict=False):
                    result[oid] = pick(arcs, value)
                continue
            async with _engines.lease(self.credentials) as engine:
                err_ind, err_status, err_index, var_binds = await (
                    get_cmd if command == "get" else next_cmd
                )(
                    engine,
                    self._auth(),
                    await self._transport(),
                    ContextData(contextName=self.credentials.context),
                    *(_object_type(o) for o in page),
                    lookupMib=False,
                )
            STATS["requests"] += 1
            STATS["varbinds"] += len(var_binds)
            if err_ind:
                raise SnmpError(f"{self._where()}: {err_ind}")
            if err_status:
                if self.credentials.version == "1" and str(err_status) == "noSuchName":
                    for oid in page:
                        result[oid] = await one_v1(oid)
                    continue
                at = f" at index {err_index}" if command == "get" else ""
                raise SnmpError(f"{self._where()}: {err_status.prettyPrint()}{at}")
            for oid, (name, value) in zip(page, var_binds, strict=False):
                ended = isinstance(value, rfc1905.EndOfMibView)
                result[oid] = pick(tuple(name), _END_OF_MIB if ended else decode(value))
        return result

    async def get(self, oids: Iterable[str]) -> dict[str, int | str | bytes | None]:
        """GET the given OIDs in one request; absent objects map to ``None``."""
        return await self._paged(
            "get",
            [_norm(o) for o in oids],
            lambda _arcs, value: None if value is _END_OF_MIB else value,
            self._get_one_v1,
        )

    async def next(self, oids: Iterable[str]) -> dict[str, str | None]:
        """GETNEXT of each OID, all in one request (pages of 20): {OID: the OID that follows
        it in the agent's view, or ``None`` at the end of its MIB}. Discovery asks this of the
        standard MIBs' subtree roots: a subtree answers when what follows its root is inside it.
        """
        return await self._paged(
            "next",
            [_norm(o) for o in oids],
            lambda arcs, value: None if value is _END_OF_MIB else ".".join(map(str, arcs)),
            self._next_one_v1,
        )

    async def _next_one_v1(self, oid: str) -> str | None:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, next_cmd

        async with _engines.lease(self.credentials) as engine:
            err_ind, err_status, _, var_binds = await next_cmd(
                engine,
                self._auth(),
                await self._transport(),
                ContextData(),
                _object_type(oid),
                lookupMib=False,
            )
        if err_ind:
            raise SnmpError(f"{self._where()}: {err_ind}")
        return None if err_status or not var_binds else str(var_binds[0][0])

    async def _get_one_v1(self, oid: str) -> int | str | bytes | None:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, ObjectIdentity, ObjectType, get_cmd

        async with _engines.lease(self.credentials) as engine:
            err_ind, err_status, _, var_binds = await get_cmd(
                engine,
                self._auth(),
                await self._transport(),
                ContextData(),
                ObjectType(ObjectIdentity(oid)),
                lookupMib=False,
            )
        if err_ind:
            raise SnmpError(f"{self._where()}: {err_ind}")
        return None if err_status else decode(var_binds[0][1])

    async def walk(self, oid: str) -> list[tuple[str, int | str | bytes | None]]:
        """Every (OID, value) under ``oid`` in order (GETBULK; GETNEXT for SNMPv1)."""
        from pysnmp.hlapi.v3arch.asyncio import (
            ContextData,
            ObjectIdentity,
            ObjectType,
            bulk_walk_cmd,
            walk_cmd,
        )

        root = _norm(oid)
        prefix = root + "."
        context = ContextData(contextName=self.credentials.context)
        rows: list[tuple[str, Any]] = []
        async with _engines.lease(self.credentials) as engine:
            if self.credentials.version == "1":
                gen = walk_cmd(
                    engine,
                    self._auth(),
                    await self._transport(),
                    context,
                    ObjectType(ObjectIdentity(root)),
                    lexicographicMode=False,
                    lookupMib=False,
                )
            else:
                gen = bulk_walk_cmd(
                    engine,
                    self._auth(),
                    await self._transport(),
                    context,
                    0,
                    self.max_repetitions,
                    ObjectType(ObjectIdentity(root)),
                    lexicographicMode=False,
                    lookupMib=False,
                )
            try:
                async for err_ind, err_status, _err_index, var_binds in gen:
                    if err_ind:
                        # pysnmp retries the same request forever after a timeout: stop here.
                        raise SnmpError(f"{self._where()}: {err_ind}")
                    if err_status:
                        if str(err_status) == "noSuchName":  # v1 end of MIB
                            break
                        raise SnmpError(f"{self._where()}: {err_status.prettyPrint()}")
                    for name, value in var_binds:
                        key = str(name)
                        if not key.startswith(prefix):
                            continue
                        decoded = decode(value)
                        if decoded is not None:
                            rows.append((key, decoded))
            finally:
                await gen.aclose()
        return rows

    async def table(self, columns: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Read each column; returns {column: {index: value}} (index = OID suffix).

        SNMPv2c/v3: columns are read together, one GETBULK carrying every column still
        unfinished (a response holds a few rows of each), instead of one walk per column whose
        responses would mostly be the next column's rows, decoded and thrown away.
        SNMPv1 (no GETBULK): one GETNEXT walk per column.
        """
        cols = list(dict.fromkeys(_norm(c) for c in columns))
        if self.credentials.version == "1":
            out: dict[str, dict[str, Any]] = {}
            for column in cols:
                n = len(column) + 1
                out[column] = {oid[n:]: value for oid, value in await self.walk(column)}
            return out
        out = {c: {} for c in cols}
        # in OID order, so the columns of one table travel together
        ordered = sorted(cols, key=lambda c: tuple(int(p) for p in c.split(".")))
        for start in range(0, len(ordered), BULK_COLUMNS):
            await self._bulk_columns(ordered[start : start + BULK_COLUMNS], out)
        return out

    async def _bulk_columns(self, columns: list[str], out: dict[str, dict[str, Any]]) -> None:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, bulk_cmd
        from pysnmp.proto import rfc1905

        context = ContextData(contextName=self.credentials.context)
        # column -> (last OID read as text, as a tuple); a column leaves when it is complete
        active: dict[str, tuple[str, tuple[int, ...]]] = {
            c: (c, tuple(int(p) for p in c.split("."))) for c in columns
        }
        first = True
        while active:
            names = list(active)
            # a first page of a few rows (many tables are small), then as many as fit
            limit = BULK_FIRST_ROWS if first else self.max_repetitions
            first = False
            reps = max(1, min(limit, BULK_VARBINDS // len(names)))
            rows: list[tuple[tuple[int, ...], Any]]  # (OID arcs, decoded value)
            if self._lean:
                rows = await self._v2c(0xA5, 0, reps, [active[c][0] for c in names])
            else:
                async with _engines.lease(self.credentials) as engine:
                    err_ind, err_status, _err_index, var_binds = await bulk_cmd(
                        engine,
                        self._auth(),
                        await self._transport(),
                        context,
                        0,
                        reps,
                        *(_object_type(active[c][0]) for c in names),
                        lookupMib=False,
                    )
                STATS["requests"] += 1
                STATS["varbinds"] += len(var_binds)
                if err_ind:
                    raise SnmpError(f"{self._where()}: {err_ind}")
                if err_status:
                    raise SnmpError(f"{self._where()}: {err_status.prettyPrint()}")
                rows = [
                    (
                        tuple(name),
                        _END_OF_MIB if isinstance(value, rfc1905.EndOfMibView) else decode(value),
                    )
                    for name, value in var_binds
                ]
            done: set[str] = set()
            # the response is row by row: varbind i continues column names[i % len(names)]
            for i, (arcs, value) in enumerate(rows):
                column = names[i % len(names)]
                if column in done:
                    continue
                key = ".".join(map(str, arcs))
                if (
                    value is _END_OF_MIB
                    or not key.startswith(column + ".")
                    or arcs <= active[column][1]  # an agent going backwards: stop there
                ):
                    done.add(column)
                    continue
                active[column] = (key, arcs)
                if value is not None:
                    out[column][key[len(column) + 1 :]] = value
            if len(rows) < len(names):  # nothing came back for some columns
                done.update(names[len(rows) :])
            for column in done:
                active.pop(column, None)
