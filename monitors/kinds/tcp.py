"""A TCP port: open or not, and how long the connection took."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from typing import Any

from flask_babel import gettext as _
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


class TcpKind(MonitorKind):
    """A TCP port: open or not, and how long the connection took. Settings: host, port, timeout."""

    key = "tcp"
    label = _l("TCP port")
    fields = (
        Field("host", _l("Address"), help=_l("IP address or host name"), from_asset="mgmt_ip"),
        Field("port", _l("Port"), "number"),
        Field("timeout", _l("Timeout (s)"), "number", default="3"),
    )

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = require_dict(settings)
        errors: dict[str, str] = {}
        unknown_keys(settings, {"host", "port", "timeout"}, errors)
        out = {
            "host": host(settings, errors),
            "port": whole(settings, "port", 0, 1, 65535, errors),
            "timeout": number(settings, "timeout", 3.0, 0.1, 60, errors),
        }
        if "port" not in settings and "port" not in errors:
            errors["port"] = _("Enter the TCP port to check.")
        if errors:
            raise ValidationFailed(errors)
        return out

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        address, port = settings["host"], settings["port"]
        timeout = settings.get("timeout", 3.0)
        start = time.perf_counter()
        try:
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(address, port), timeout
            )
        except TimeoutError:
            return Result(False, f"tcp {address}:{port}: no answer within {timeout:g} s")
        except OSError as exc:
            why = os.strerror(exc.errno) if exc.errno else str(exc)  # "Connection refused"
            return Result(False, f"tcp {address}:{port}: {why}")
        elapsed_ms = (time.perf_counter() - start) * 1000
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1)
        return Result(True, "", [reading("tcp.connect_ms", round(elapsed_ms, 2), "ms")])
