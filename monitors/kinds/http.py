"""An HTTP(S) URL: status, latency and, for HTTPS, days until the certificate expires."""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from monitors.kinds.base import (
    Field,
    MonitorKind,
    Result,
    number,
    reading,
    require_dict,
    unknown_keys,
    whole,
)
from opskit import clock
from opskit.validation import ValidationFailed


class HttpKind(MonitorKind):
    """An HTTP(S) URL: status, latency and, for HTTPS, days until the certificate expires.

    Settings: url, timeout (s, 5), expect_status (default: any 2xx/3xx is up), verify_tls
    (default true; false for devices with their own self-signed certificates).
    """

    key = "http"
    label = _l("HTTP(S) address")
    target_field = "url"
    fields = (
        Field("url", _l("URL"), help=_l("http:// or https:// address")),
        Field("timeout", _l("Timeout (s)"), "number", default="5"),
        Field(
            "expect_status",
            _l("Expected HTTP status"),
            "number",
            help=_l("Blank: any 2xx or 3xx answer is up."),
        ),
        Field("verify_tls", _l("Verify the TLS certificate"), "checkbox", default="1"),
    )

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = require_dict(settings)
        errors: dict[str, str] = {}
        unknown_keys(settings, {"url", "timeout", "expect_status", "verify_tls"}, errors)
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
            "timeout": number(settings, "timeout", 5.0, 0.1, 60, errors),
            "verify_tls": settings.get("verify_tls", True) not in (False, "false", "0", 0),
        }
        if settings.get("expect_status") not in (None, ""):
            out["expect_status"] = whole(settings, "expect_status", 200, 100, 599, errors)
        if errors:
            raise ValidationFailed(errors)
        return out

    def target(self, settings: dict[str, Any]) -> tuple[Any, ...]:
        return (settings.get("url"),)

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        timeout = settings.get("timeout", 5.0)
        try:
            return await asyncio.wait_for(self._get(settings), timeout)
        except TimeoutError:
            return Result(False, f"{settings['url']}: no answer within {timeout:g} s")
        except OSError as exc:  # refused, reset, TLS verification failed ...
            if isinstance(exc, ssl.SSLError):
                why = getattr(exc, "verify_message", None) or str(exc)
            else:
                why = os.strerror(exc.errno) if exc.errno else str(exc)
            return Result(False, f"{settings['url']}: {why}")

    async def _get(self, settings: dict[str, Any]) -> Result:
        url = settings["url"]
        parts = urlsplit(url)
        https = parts.scheme == "https"
        context = None
        if https:
            context = ssl.create_default_context()
            if not settings.get("verify_tls", True):
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        address = parts.hostname or ""
        port = parts.port or (443 if https else 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        start = time.perf_counter()
        reader, writer = await asyncio.open_connection(
            address, port, ssl=context, server_hostname=address if https else None
        )
        try:
            netloc = address if parts.port is None else f"{address}:{parts.port}"
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
                    from cryptography import x509  # lazy: ~0.15 s of every start, HTTPS checks only

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
