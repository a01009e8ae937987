"""ICMP echo ("ping"): round-trip time and loss, with no ``ping`` binary."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import struct
import time
from typing import Any

from flask_babel import lazy_gettext as _l

from monitors.kinds.base import (
    Field,
    MonitorKind,
    Result,
    host,
    number,
    reading,
    require_dict,
    unknown_keys,
    whole,
)
from opskit.validation import ValidationFailed


def _icmp_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_unavailable(family: int = socket.AF_INET) -> str:
    """Why this process cannot send ICMP echo requests of ``family``, "" when it can (the same
    sockets ``PingKind.check`` opens: an unprivileged datagram socket, else a raw one)."""
    try:
        sock, _raw = PingKind._socket(family)
    except OSError as exc:
        return os.strerror(exc.errno) if exc.errno else str(exc)
    sock.close()
    return ""


class PingKind(MonitorKind):
    """ICMP echo ("ping"): round-trip time and loss; down when no request is answered.

    Settings: host, count (3 requests), interval (0.2 s between them), timeout (1 s to wait for
    the last reply). IPv4 and IPv6. No ``ping`` binary is needed: an unprivileged ICMP datagram
    socket is used where the system allows it (``net.ipv4.ping_group_range``), else a raw socket
    (root or CAP_NET_RAW).
    """

    key = "ping"
    label = _l("Ping")
    fields = (
        Field("host", _l("Address"), help=_l("IP address or host name"), from_asset="mgmt_ip"),
        Field("count", _l("Echo requests per check"), "number", default="3"),
        Field("interval", _l("Seconds between requests"), "number", default="0.2"),
        Field("timeout", _l("Seconds to wait for the last reply"), "number", default="1"),
    )

    def target(self, settings: dict[str, Any]) -> tuple[Any, ...]:
        return (settings.get("host"),)

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = require_dict(settings)
        errors: dict[str, str] = {}
        unknown_keys(settings, {f.name for f in self.fields}, errors)
        out = {
            "host": host(settings, errors),
            "count": whole(settings, "count", 3, 1, 20, errors),
            "interval": number(settings, "interval", 0.2, 0.01, 5, errors),
            "timeout": number(settings, "timeout", 1.0, 0.1, 30, errors),
        }
        if errors:
            raise ValidationFailed(errors)
        return out

    @staticmethod
    def _socket(family: int) -> tuple[Any, bool]:
        """An ICMP socket for ``family`` and whether it is raw (replies carry the IPv4 header)."""
        proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
        try:
            return socket.socket(family, socket.SOCK_DGRAM, proto), False
        except OSError:
            return socket.socket(family, socket.SOCK_RAW, proto), True

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        where = settings["host"]
        count, interval = settings.get("count", 3), settings.get("interval", 0.2)
        timeout = settings.get("timeout", 1.0)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(where, None, type=socket.SOCK_RAW)
        except OSError as exc:
            return Result(False, f"ping {where}: cannot resolve the address ({exc.strerror})")
        family, address = infos[0][0], infos[0][4]
        ip = address[0]
        try:
            sock, raw = self._socket(family)
        except OSError as exc:
            return Result(
                False,
                f"ping {where}: cannot open an ICMP socket ({os.strerror(exc.errno or 0)}); run "
                "the poller as root or allow it in net.ipv4.ping_group_range",
            )
        v6 = family == socket.AF_INET6
        request_type, reply_type = (128, 129) if v6 else (8, 0)
        ident = random.randrange(1, 0xFFFF)
        sent: dict[int, float] = {}
        rtts: dict[int, float] = {}
        error = ""

        async def receive() -> None:
            nonlocal error
            while len(rtts) < count:
                try:
                    data, source = await loop.sock_recvfrom(sock, 2048)
                except OSError as exc:
                    error = os.strerror(exc.errno) if exc.errno else str(exc)
                    return
                now = time.perf_counter()
                if raw and not v6:
                    data = data[(data[0] & 0x0F) * 4 :]  # a raw IPv4 socket passes the IP header
                if len(data) < 8 or source[0] != ip:
                    continue
                kind, _code, _sum, reply_id, seq = struct.unpack("!BBHHH", data[:8])
                # a datagram socket only gets its own replies (the kernel sets the identifier)
                if kind != reply_type or (raw and reply_id != ident) or seq not in sent:
                    continue
                rtts.setdefault(seq, (now - sent[seq]) * 1000)

        sock.setblocking(False)
        receiver = asyncio.ensure_future(receive())
        try:
            for seq in range(1, count + 1):
                payload = struct.pack("!d", time.time()) + b"opskit-ping"
                header = struct.pack("!BBHHH", request_type, 0, 0, ident, seq)
                # ICMPv6 checksums cover a pseudo-header: the kernel fills them in
                checksum = 0 if v6 else _icmp_checksum(header + payload)
                packet = struct.pack("!BBHHH", request_type, 0, checksum, ident, seq) + payload
                sent[seq] = time.perf_counter()
                try:
                    await loop.sock_sendto(sock, packet, address)
                except OSError as exc:
                    error = os.strerror(exc.errno) if exc.errno else str(exc)
                    break
                if seq < count:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(receiver), interval)
            if not error:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(receiver), timeout)
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await receiver
            sock.close()
        loss = 100.0 * (count - len(rtts)) / count
        readings = [reading("ping.loss_percent", round(loss, 2), "%")]
        if rtts:
            mean = sum(rtts.values()) / len(rtts)
            readings.insert(0, reading("ping.rtt_ms", round(mean, 3), "ms"))
            return Result(True, "", readings)
        why = error or f"no reply to {count} echo request(s) within {timeout:g} s"
        return Result(False, f"ping {where} ({ip}): {why}", readings)
