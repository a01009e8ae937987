"""This machine (the server opskit runs on), through psutil."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flask_babel import lazy_gettext as _l

from monitors.kinds.base import MonitorKind, Result, reading, require_dict, unknown_keys
from opskit.validation import ValidationFailed


class HostKind(MonitorKind):
    """This machine, through psutil: CPU, memory, load averages, each filesystem, network, uptime.
    No settings."""

    key = "host"
    label = _l("This server (CPU, memory, disks, network)")
    note = _l(
        "Reads the server opskit runs on (CPU, memory, each disk, network, uptime): add it to "
        "the asset of this server."
    )

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = require_dict(settings)
        errors: dict[str, str] = {}
        unknown_keys(settings, set(), errors)
        if errors:
            raise ValidationFailed(errors)
        return {}

    def target(self, settings: dict[str, Any]) -> tuple[Any, ...]:
        return ()  # this machine: one per asset

    @staticmethod
    def _collect() -> list[dict[str, Any]]:
        import psutil  # lazy: psutil costs ~0.07 s of every command's start, used by checks only

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
