"""A small SNMP client on pysnmp 7 (asyncio): GET and bulk walks by numeric OID, v1/v2c/v3.

One ``SnmpEngine`` serves the whole process (pysnmp multiplexes every request over its one UDP
socket; a new engine per request costs ~60 ms and a MIB reload). The engine lives on a private
event loop in a daemon thread, so synchronous callers (the CLI, Flask views, tests) use
:func:`run` and async callers may await the client methods inside :func:`run` too. At interpreter
exit the dispatcher is closed and the loop stopped.

MIB names are never resolved (``lookupMib=False``): profiles carry numeric OIDs and values come back
decoded by :func:`decode` to ``int``, ``str`` (OIDs, IP addresses) or ``bytes`` (octet strings;
see :func:`text` and :func:`mac`).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES192", "AES256")


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


def shutdown() -> None:
    """Close the engine's dispatcher and stop the loop (registered with atexit)."""
    global _loop, _thread, _engine
    with _lock:
        loop, thread, engine = _loop, _thread, _engine
        _loop = _thread = _engine = None
    if loop is None:
        return
    if engine is not None:

        async def _close() -> None:
            engine.close_dispatcher()

        with contextlib.suppress(Exception):  # best effort at exit
            asyncio.run_coroutine_threadsafe(_close(), loop).result(5)
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


# --- the client ------------------------------------------------------------------------------


def _norm(oid: str) -> str:
    return oid[1:] if oid.startswith(".") else oid


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

    async def get(self, oids: Iterable[str]) -> dict[str, int | str | bytes | None]:
        """GET the given OIDs in one request; absent objects map to ``None``."""
        from pysnmp.hlapi.v3arch.asyncio import ContextData, ObjectIdentity, ObjectType, get_cmd

        oids = [_norm(o) for o in oids]
        if not oids:
            return {}
        result: dict[str, Any] = {}
        # Some agents answer tooBig or fail the whole PDU for many varbinds: ask in pages.
        for start in range(0, len(oids), 20):
            page = oids[start : start + 20]
            err_ind, err_status, err_index, var_binds = await get_cmd(
                _get_engine(),
                self._auth(),
                await self._transport(),
                ContextData(contextName=self.credentials.context),
                *(ObjectType(ObjectIdentity(o)) for o in page),
                lookupMib=False,
            )
            if err_ind:
                raise SnmpError(f"{self._where()}: {err_ind}")
            if err_status:
                if self.credentials.version == "1" and str(err_status) == "noSuchName":
                    # v1 fails the whole PDU for one absent OID: fall back to one by one.
                    for oid in page:
                        result.update(await self._get_one_v1(oid))
                    continue
                raise SnmpError(f"{self._where()}: {err_status.prettyPrint()} at index {err_index}")
            for oid, vb in zip(page, var_binds, strict=False):
                result[oid] = decode(vb[1])
        return result

    async def _get_one_v1(self, oid: str) -> dict[str, Any]:
        from pysnmp.hlapi.v3arch.asyncio import ContextData, ObjectIdentity, ObjectType, get_cmd

        err_ind, err_status, _, var_binds = await get_cmd(
            _get_engine(),
            self._auth(),
            await self._transport(),
            ContextData(),
            ObjectType(ObjectIdentity(oid)),
            lookupMib=False,
        )
        if err_ind:
            raise SnmpError(f"{self._where()}: {err_ind}")
        return {oid: None if err_status else decode(var_binds[0][1])}

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
        if self.credentials.version == "1":
            gen = walk_cmd(
                _get_engine(),
                self._auth(),
                await self._transport(),
                context,
                ObjectType(ObjectIdentity(root)),
                lexicographicMode=False,
                lookupMib=False,
            )
        else:
            gen = bulk_walk_cmd(
                _get_engine(),
                self._auth(),
                await self._transport(),
                context,
                0,
                self.max_repetitions,
                ObjectType(ObjectIdentity(root)),
                lexicographicMode=False,
                lookupMib=False,
            )
        rows: list[tuple[str, Any]] = []
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
        """Walk each column; returns {column: {index: value}} (index = OID suffix)."""
        out: dict[str, dict[str, Any]] = {}
        for column in dict.fromkeys(_norm(c) for c in columns):
            n = len(column) + 1
            out[column] = {oid[n:]: value for oid, value in await self.walk(column)}
        return out
