"""Monitor kinds, registered in one place: ``KINDS``.

Each kind validates its settings (``validate(settings) -> cleaned``, raising
``ValidationFailed`` keyed by field) and runs one check::

    await kind.check(monitor, settings, secret) -> Result(ok, reason, readings)

``readings`` are dicts ``{"metric", "instance", "value", "unit"}``; ``value`` is a number, or a
string for state metrics. ``ok`` False means the device is down and ``reason`` says why in one
line. A kind never raises for a dead device; the poller also guards against a kind that does.
``secret`` is the monitor's decrypted secret (JSON text) or ``None``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from opskit import clock
from opskit.validation import ValidationFailed

log = logging.getLogger(__name__)


@dataclass
class Result:
    """``uptime_s``: the device's uptime (counter rates are not trusted across a restart);
    ``lldp`` / ``arp``: the neighbours and ARP entries read (``None``: not read at all)."""

    ok: bool
    reason: str = ""
    readings: list[dict[str, Any]] = field(default_factory=list)
    uptime_s: float | None = None
    lldp: list[dict[str, Any]] | None = None
    arp: list[dict[str, Any]] | None = None


def reading(metric: str, value: Any, unit: str = "", instance: str = "") -> dict[str, Any]:
    return {"metric": metric, "instance": instance, "value": value, "unit": unit}


# --- settings helpers -------------------------------------------------------------------------


def _host(settings: dict[str, Any], errors: dict[str, str], required: bool = True) -> str:
    host = str(settings.get("host") or "").strip()
    if required and not host:
        errors["host"] = _("Enter the device's address (IP or host name).")
    elif len(host) > 253 or any(c.isspace() for c in host):
        errors["host"] = _("Not a valid address: %(value)s", value=host)
    return host


def _int(
    settings: dict[str, Any], key: str, default: int, low: int, high: int, errors: dict[str, str]
) -> int:
    raw = settings.get(key, default)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        errors[key] = _("Expected a whole number, got %(value)s.", value=raw)
        return default
    if not low <= value <= high:
        errors[key] = _("Expected a number from %(low)s to %(high)s.", low=low, high=high)
    return value


def _float(
    settings: dict[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    errors: dict[str, str],
) -> float:
    raw = settings.get(key, default)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        errors[key] = _("Expected a number, got %(value)s.", value=raw)
        return default
    if not math.isfinite(value) or not low <= value <= high:
        errors[key] = _("Expected a number from %(low)s to %(high)s.", low=low, high=high)
    return value


def _unknown_keys(settings: dict[str, Any], known: set[str], errors: dict[str, str]) -> None:
    for key in settings:
        if key not in known:
            errors[key] = _("Unknown setting.")


def _require_dict(settings: Any) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise ValidationFailed.one("settings", _("Expected a JSON object of settings."))
    return settings


# --- snmp -------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, bytes):
        try:
            return math.isfinite(float(value.decode("ascii").strip()))
        except (UnicodeDecodeError, ValueError):
            return False
    return False


def _log_unparsable(
    host: str, profiles: list[str], scalars: dict[str, Any], walked: dict[str, dict[str, Any]]
) -> None:
    """Log each value a matched profile maps to a number but the agent sent as something else
    (the probe skips those readings; the monitor stays up)."""
    from monitors.metrics import METRICS
    from monitors.profiles import load_profiles

    names = set(profiles)
    for profile in load_profiles():
        if profile.name not in names:
            continue
        for spec in profile.metrics:
            if METRICS.get(spec.metric, {}).get("kind") == "state":
                continue
            found: list[tuple[str, Any]] = []
            if spec.oid and scalars.get(spec.oid) is not None:
                found.append(("", scalars[spec.oid]))
            for column in (spec.column, *(spec.percent or ()), *spec.free, *(spec.product or ())):
                found += list(walked.get(column or "", {}).items())
            for index, value in found:
                if not _is_number(value):
                    log.warning(
                        "%s: skipped %s%s: %r is not a number",
                        host,
                        spec.metric,
                        f"[{index}]" if index else "",
                        value,
                    )


class SnmpKind:
    """An SNMP agent (v1, v2c, v3): the device profiles' metrics.

    Settings: host, port (161), version ("1", "2c", "3"), timeout (s), retries, and for v3 user,
    auth_proto, priv_proto, context. Secret (JSON): {"community"} or {"auth_key", "priv_key"}.
    """

    label = "SNMP"
    fields = ("host", "port", "version", "timeout", "retries", "user", "auth_proto", "priv_proto")

    def validate(self, settings: Any) -> dict[str, Any]:
        from monitors.snmp import AUTH_PROTOCOLS, PRIV_PROTOCOLS

        settings = _require_dict(settings)
        errors: dict[str, str] = {}
        known = {"host", "port", "version", "timeout", "retries", "user"}
        known |= {"auth_proto", "priv_proto", "context"}
        _unknown_keys(settings, known, errors)
        out: dict[str, Any] = {
            "host": _host(settings, errors),
            "port": _int(settings, "port", 161, 1, 65535, errors),
            "timeout": _float(settings, "timeout", 2.0, 0.1, 60, errors),
            "retries": _int(settings, "retries", 1, 0, 5, errors),
        }
        version = str(settings.get("version") or "2c")
        if version not in ("1", "2c", "3"):
            errors["version"] = _("Expected SNMP version 1, 2c or 3.")
        out["version"] = version
        if version == "3":
            user = str(settings.get("user") or "").strip()
            if not user:
                errors["user"] = _("SNMPv3 needs a user name.")
            out["user"] = user
            for key, allowed in (("auth_proto", AUTH_PROTOCOLS), ("priv_proto", PRIV_PROTOCOLS)):
                value = settings.get(key) or None
                if value is not None and str(value).upper() not in allowed:
                    errors[key] = _("Expected one of %(values)s.", values=", ".join(allowed))
                out[key] = str(value).upper() if value else None
            if out.get("priv_proto") and not out.get("auth_proto"):
                errors["priv_proto"] = _("SNMPv3 privacy needs an auth protocol too.")
            out["context"] = str(settings.get("context") or "")
        if errors:
            raise ValidationFailed(errors)
        return out

    def credentials(self, settings: dict[str, Any], secret: str | None) -> Any:
        from monitors import snmp

        keys = json.loads(secret) if secret else {}
        if settings.get("version") == "3":
            return snmp.Credentials(
                version="3",
                user=settings.get("user", ""),
                auth_proto=settings.get("auth_proto"),
                auth_key=keys.get("auth_key"),
                priv_proto=settings.get("priv_proto"),
                priv_key=keys.get("priv_key"),
                context=settings.get("context", ""),
            )
        return snmp.Credentials(
            version=settings.get("version", "2c"), community=keys.get("community", "public")
        )

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        from monitors import probe, snmp

        try:
            creds = self.credentials(settings, secret)
        except (ValueError, TypeError) as exc:  # bad stored secret / settings
            return Result(False, f"snmp settings: {exc}")
        client = snmp.SnmpClient(
            settings["host"],
            settings.get("port", 161),
            creds,
            timeout=settings.get("timeout", 2.0),
            retries=settings.get("retries", 1),
        )
        # Keep what the probe read: which counters are 64-bit, which values were unparsable.
        walked: dict[str, dict[str, Any]] = {}
        scalars: dict[str, Any] = {}
        table, get = client.table, client.get

        async def keep_tables(columns: Any) -> dict[str, dict[str, Any]]:
            got = await table(columns)
            walked.update(got)
            return got

        async def keep_scalars(oids: Any) -> dict[str, Any]:
            got = await get(oids)
            scalars.update(got)
            return got

        client.table = keep_tables  # type: ignore[method-assign]
        client.get = keep_scalars  # type: ignore[method-assign]
        # The SNMP engines live on the SNMP loop: run the probe there and await it here.
        future = asyncio.run_coroutine_threadsafe(probe.probe_async(client), snmp._ensure_loop())
        try:
            result = await asyncio.wrap_future(future)
        except snmp.SnmpError as exc:
            return Result(False, str(exc))
        # The octet counters are 64-bit where the agent has ifHCIn/OutOctets, else 32-bit.
        bits: dict[tuple[str, str], int] = {}
        for direction, column in (("if.in_octets", "hc_in"), ("if.out_octets", "hc_out")):
            wide = walked.get(probe.IF_COLUMNS[column], {})
            for itf in result["interfaces"]:
                bits[(direction, itf["name"])] = 64 if str(itf["index"]) in wide else 32
        readings = []
        for r in result["metrics"]:
            row = reading(r["metric"], r["value"], r["unit"], r["instance"])
            if (r["metric"], r["instance"]) in bits:
                row["bits"] = bits[(r["metric"], r["instance"])]
            readings.append(row)
        _log_unparsable(settings["host"], result["profiles"], scalars, walked)
        uptime = result.get("sys_uptime_seconds")
        if uptime is not None:
            readings.append(reading("host.uptime_seconds", uptime, "s"))
        return Result(
            True,
            "",
            readings,
            uptime_s=uptime,
            lldp=result["lldp_neighbors"] if "lldp" in result["profiles"] else None,
            arp=result["arp"] if "arp" in result["profiles"] else None,
        )


# --- host -------------------------------------------------------------------------------------


class HostKind:
    """This machine, through psutil: CPU, memory, load averages, each filesystem, network, uptime.
    No settings."""

    label = "Host (this machine)"
    fields = ()

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = _require_dict(settings)
        errors: dict[str, str] = {}
        _unknown_keys(settings, set(), errors)
        if errors:
            raise ValidationFailed(errors)
        return {}

    @staticmethod
    def _collect() -> list[dict[str, Any]]:
        import psutil

        out = [
            reading("host.cpu.load_percent", psutil.cpu_percent(interval=0.2), "%"),
            reading("host.memory.used_percent", psutil.virtual_memory().percent, "%"),
            reading("host.uptime_seconds", round(time.time() - psutil.boot_time(), 1), "s"),
        ]
        for minutes, load in zip((1, 5, 15), psutil.getloadavg(), strict=True):
            out.append(reading(f"host.load.{minutes}min", round(load, 2)))
        mounts = {p.mountpoint for p in psutil.disk_partitions(all=False)} | {"/"}
        for mount in sorted(mounts):
            try:
                usage = psutil.disk_usage(mount)
            except OSError:
                continue
            out.append(reading("host.storage.used_percent", usage.percent, "%", mount))
            out.append(reading("host.storage.size_bytes", usage.total, "B", mount))
        for nic, counters in sorted(psutil.net_io_counters(pernic=True).items()):
            out.append({**reading("if.in_octets", counters.bytes_recv, "B", nic), "bits": 64})
            out.append({**reading("if.out_octets", counters.bytes_sent, "B", nic), "bits": 64})
        return out

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        try:
            readings = await asyncio.to_thread(self._collect)
        except Exception as exc:  # psutil failing is a monitor problem, not a crash
            return Result(False, f"host: {type(exc).__name__}: {exc}")
        uptime = next(r["value"] for r in readings if r["metric"] == "host.uptime_seconds")
        return Result(True, "", readings, uptime_s=uptime)


# --- tcp --------------------------------------------------------------------------------------


class TcpKind:
    """A TCP port: open or not, and how long the connection took. Settings: host, port, timeout."""

    label = "TCP port"
    fields = ("host", "port", "timeout")

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = _require_dict(settings)
        errors: dict[str, str] = {}
        _unknown_keys(settings, {"host", "port", "timeout"}, errors)
        out = {
            "host": _host(settings, errors),
            "port": _int(settings, "port", 0, 1, 65535, errors),
            "timeout": _float(settings, "timeout", 3.0, 0.1, 60, errors),
        }
        if "port" not in settings and "port" not in errors:
            errors["port"] = _("Enter the TCP port to check.")
        if errors:
            raise ValidationFailed(errors)
        return out

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        host, port = settings["host"], settings["port"]
        timeout = settings.get("timeout", 3.0)
        start = time.perf_counter()
        try:
            _reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            return Result(False, f"tcp {host}:{port}: no answer within {timeout:g} s")
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)  # "Connection refused"
            return Result(False, f"tcp {host}:{port}: {why}")
        elapsed_ms = (time.perf_counter() - start) * 1000
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1)
        return Result(True, "", [reading("tcp.connect_ms", round(elapsed_ms, 2), "ms")])


# --- http -------------------------------------------------------------------------------------


class HttpKind:
    """An HTTP(S) URL: status, latency and, for HTTPS, days until the certificate expires.

    Settings: url, timeout (s, 5), expect_status (default: any 2xx/3xx is up), verify_tls
    (default true; false for devices with their own self-signed certificates).
    """

    label = "HTTP(S)"
    fields = ("url", "timeout", "expect_status", "verify_tls")

    def validate(self, settings: Any) -> dict[str, Any]:
        from urllib.parse import urlsplit

        settings = _require_dict(settings)
        errors: dict[str, str] = {}
        _unknown_keys(settings, {"url", "timeout", "expect_status", "verify_tls"}, errors)
        url = str(settings.get("url") or "").strip()
        try:
            parts = urlsplit(url)
            ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
        except ValueError:
            ok = False
        if not ok:
            errors["url"] = _("Expected an http:// or https:// address, got %(value)s.", value=url)
        out: dict[str, Any] = {
            "url": url,
            "timeout": _float(settings, "timeout", 5.0, 0.1, 60, errors),
            "verify_tls": settings.get("verify_tls", True) not in (False, "false", "0", 0),
        }
        if settings.get("expect_status") not in (None, ""):
            out["expect_status"] = _int(settings, "expect_status", 200, 100, 599, errors)
        if errors:
            raise ValidationFailed(errors)
        return out

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        timeout = settings.get("timeout", 5.0)
        try:
            return await asyncio.wait_for(self._get(settings), timeout)
        except TimeoutError:
            return Result(False, f"{settings['url']}: no answer within {timeout:g} s")
        except OSError as exc:  # refused, reset, TLS verification failed ...
            import ssl

            if isinstance(exc, ssl.SSLError):
                why = getattr(exc, "verify_message", None) or str(exc)
            else:
                why = os.strerror(exc.errno) if exc.errno else str(exc)
            return Result(False, f"{settings['url']}: {why}")

    async def _get(self, settings: dict[str, Any]) -> Result:
        import ssl
        from urllib.parse import urlsplit

        from cryptography import x509

        url = settings["url"]
        parts = urlsplit(url)
        https = parts.scheme == "https"
        context = None
        if https:
            context = ssl.create_default_context()
            if not settings.get("verify_tls", True):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        host = parts.hostname or ""
        port = parts.port or (443 if https else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection(
            host, port, ssl=context, server_hostname=host if https else None
        )
        try:
            netloc = host if parts.port is None else f"{host}:{parts.port}"
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: opskit-monitor\r\n"
                "Accept: */*\r\nConnection: close\r\n\r\n"
            )
            writer.write(request.encode("ascii", "replace"))
            await writer.drain()
            status_line = (await reader.readline()).decode("latin-1").strip()
            latency_ms = (time.perf_counter() - start) * 1000
            readings = [reading("http.latency_ms", round(latency_ms, 2), "ms")]
            ssl_object = writer.get_extra_info("ssl_object")
            if ssl_object is not None:
                der = ssl_object.getpeercert(binary_form=True)
                if der:
                    cert = x509.load_der_x509_certificate(der)
                    left = (cert.not_valid_after_utc - clock.now()).total_seconds() / 86400
                    readings.append(reading("http.cert_days_left", round(left, 2), "d"))
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1)
        fields = status_line.split()
        if len(fields) < 2 or not fields[0].startswith("HTTP/") or not fields[1].isdigit():
            return Result(False, f"{url}: not an HTTP response: {status_line[:80]!r}", readings)
        status = int(fields[1])
        readings.append(reading("http.status_code", status))
        expected = settings.get("expect_status")
        ok = status == expected if expected else 200 <= status < 400
        return Result(ok, "" if ok else f"{url}: HTTP {status}", readings)


# --- ping -------------------------------------------------------------------------------------


def _icmp_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class PingKind:
    """ICMP echo ("ping"): round-trip time and loss; down when no request is answered.

    Settings: host, count (3 requests), interval (0.2 s between them), timeout (1 s to wait for
    the last reply). IPv4 and IPv6. No ``ping`` binary is needed: an unprivileged ICMP datagram
    socket is used where the system allows it (``net.ipv4.ping_group_range``), else a raw socket
    (root or CAP_NET_RAW).
    """

    label = "Ping"
    fields = ("host", "count", "interval", "timeout")

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = _require_dict(settings)
        errors: dict[str, str] = {}
        _unknown_keys(settings, set(self.fields), errors)
        out = {
            "host": _host(settings, errors),
            "count": _int(settings, "count", 3, 1, 20, errors),
            "interval": _float(settings, "interval", 0.2, 0.01, 5, errors),
            "timeout": _float(settings, "timeout", 1.0, 0.1, 30, errors),
        }
        if errors:
            raise ValidationFailed(errors)
        return out

    @staticmethod
    def _socket(family: int) -> tuple[Any, bool]:
        """An ICMP socket for ``family`` and whether it is raw (replies carry the IPv4 header)."""
        import socket

        proto = socket.IPPROTO_ICMP if family == socket.AF_INET else socket.IPPROTO_ICMPV6
        try:
            return socket.socket(family, socket.SOCK_DGRAM, proto), False
        except OSError:
            return socket.socket(family, socket.SOCK_RAW, proto), True

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        import random
        import socket
        import struct

        host = settings["host"]
        count, interval = settings.get("count", 3), settings.get("interval", 0.2)
        timeout = settings.get("timeout", 1.0)
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_RAW)
        except OSError as exc:
            return Result(False, f"ping {host}: cannot resolve the address ({exc.strerror})")
        family, address = infos[0][0], infos[0][4]
        ip = address[0]
        try:
            sock, raw = self._socket(family)
        except OSError as exc:
            return Result(
                False,
                f"ping {host}: cannot open an ICMP socket ({os.strerror(exc.errno or 0)}); run "
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
        return Result(False, f"ping {host} ({ip}): {why}", readings)


KINDS: dict[str, Any] = {
    "snmp": SnmpKind(),
    "host": HostKind(),
    "ping": PingKind(),
    "tcp": TcpKind(),
    "http": HttpKind(),
}


def get(kind: str) -> Any | None:
    """The kind object, or ``None`` for a kind this version does not support."""
    return KINDS.get(kind)


def validate(kind: str, settings: Any) -> dict[str, Any]:
    """Validated settings for ``kind``; an unknown kind is a ``kind`` field error."""
    impl = KINDS.get(kind)
    if impl is None:
        raise ValidationFailed.one(
            "kind",
            _(
                "Unsupported monitor kind %(kind)s: expected one of %(kinds)s.",
                kind=kind,
                kinds=", ".join(KINDS),
            ),
        )
    return impl.validate(settings)
