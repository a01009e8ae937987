"""The demo's SNMP recordings (``recordings/*.snmprec``) and what they answer at a given time.

The files are ordinary snmpsim data files. Values that move use snmpsim's ``numeric`` variation
module with absolute time (``atime=1``), so a value is a pure function of the clock::

    value = initial + scale * sin(rate * t) + offset, clamped to [min, max]   (t: Unix time)

(without ``function`` the sine is left out: ``rate * t`` grows like a counter). A daily sine
(``rate`` = 2π/86400) peaks at 06:00 UTC = 14:00 in China: rooms warm up in the afternoon. The
battery-test UPS uses a one-hour sine with a steep scale, so it spends about six minutes of
every hour on battery.

Because the values are a function of time, :class:`RecordingClient` can answer the same
questions snmpsim would at any past moment. The seeder runs the real device profiles
(``monitors.probe.probe_async``) against it to write weeks of history that join up with what
the poller then reads live, and the demo test uses it to know what the dashboard must show.
"""

from __future__ import annotations

import bisect
import math
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from monitors import probe

RECORDINGS = Path(__file__).with_name("recordings")
INTEGER_TAGS = {"2", "65", "66", "67", "70"}
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SYS_LOCATION = "1.3.6.1.2.1.1.6.0"


@dataclass(frozen=True)
class Record:
    oid: str
    key: tuple[int, ...]
    tag: str  # the SNMP type tag: 2 Integer, 4 OctetString, 4x hex, 6 OID, 64 IpAddress ...
    value: str  # the literal value, or the numeric module's settings
    numeric: dict[str, Any] | None = None


@cache
def _oid_key(oid: str) -> tuple[int, ...]:
    return tuple(int(p) for p in oid.split("."))


def _settings(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in text.split(","):
        key, _, raw = part.partition("=")
        out[key] = raw if key == "function" else float(raw)
    return out


def parse(text: str) -> list[Record]:
    """Records of an snmprec text (``OID|TAG[:numeric]|VALUE`` lines), in OID order."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            oid, tag, value = line.split("|", 2)
            key = _oid_key(oid)
        except ValueError:
            raise ValueError(f"line {number}: expected OID|TAG|VALUE, got {line!r}") from None
        numeric = None
        if tag.endswith(":numeric"):
            tag = tag.removesuffix(":numeric")
            numeric = _settings(value)
        records.append(Record(oid, key, tag, value, numeric))
    return sorted(records, key=lambda r: r.key)


@cache
def _parsed(text: str) -> list[Record]:
    return parse(text)


@cache
def _indexed(text: str) -> tuple[list[tuple[int, ...]], dict[str, Record]]:
    """The recording's OID keys in order and its records by OID (the demo's history probes each
    recording thousands of times)."""
    records = _parsed(text)
    return [r.key for r in records], {r.oid: r for r in records}


@cache
def template(name: str) -> str:
    return (RECORDINGS / f"{name}.snmprec").read_text(encoding="utf-8")


def render(name: str, sys_name: str, location: str = "") -> str:
    """The template recording ``name`` for one device: its own sysName (and sysLocation)."""
    lines = []
    for line in template(name).splitlines():
        if line.startswith(SYS_NAME + "|"):
            line = f"{SYS_NAME}|4|{sys_name}"
        elif location and line.startswith(SYS_LOCATION + "|"):
            line = f"{SYS_LOCATION}|4|{location}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def numeric_value(settings: dict[str, Any], at: float, booted: float, tag: str = "2") -> float:
    """What snmpsim's ``numeric`` variation module answers at Unix time ``at``."""
    t = at if "atime" in settings else at - booted
    x = t * settings.get("rate", 1.0)
    v = getattr(math, settings["function"])(x) if "function" in settings else x
    v *= settings.get("scale", 1.0)
    v += settings.get("offset", 0.0)
    v += settings.get("initial", settings.get("min", 0.0))
    low = settings.get("min", 0.0)
    high = settings.get("max", 0xFFFFFFFFFFFFFFFF if tag == "70" else 0xFFFFFFFF)
    if v < low:
        v = low
    elif v > high:
        v = (v % high) + low if "wrap" in settings else high
    return v


def value_at(record: Record, at: float, booted: float) -> Any:
    """The record's value at ``at`` decoded as ``monitors.snmp.decode`` would."""
    if record.numeric is not None:
        return int(numeric_value(record.numeric, at, booted, record.tag))
    if record.tag in INTEGER_TAGS:
        return int(record.value)
    if record.tag == "4x":
        return bytes.fromhex(record.value)
    if record.tag == "4":
        return record.value.encode("utf-8")
    return record.value  # 6 (OID), 64 (IP address): text


class RecordingClient:
    """Answers ``get``/``next``/``table`` like ``monitors.snmp.SnmpClient``, from a recording at
    a time."""

    def __init__(self, text: str, at: float | None = None, booted: float | None = None) -> None:
        self.records = _parsed(text)
        self.keys, self.by_oid = _indexed(text)
        self.at = time.time() if at is None else at
        self.booted = self.at if booted is None else booted
        self.host, self.port = "recording", 0

    async def get(self, oids: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for oid in oids:
            oid = oid.lstrip(".")
            record = self.by_oid.get(oid)
            out[oid] = None if record is None else value_at(record, self.at, self.booted)
        return out

    async def next(self, oids: Any) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for oid in oids:
            oid = oid.lstrip(".")
            i = bisect.bisect_right(self.keys, _oid_key(oid))
            out[oid] = self.records[i].oid if i < len(self.records) else None
        return out

    async def table(self, columns: Any) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for column in dict.fromkeys(c.lstrip(".") for c in columns):
            key = _oid_key(column)
            rows: dict[str, Any] = {}
            i = bisect.bisect_right(self.keys, key)  # the column itself is not a row
            while i < len(self.records) and self.keys[i][: len(key)] == key:
                record = self.records[i]
                rows[record.oid[len(column) + 1 :]] = value_at(record, self.at, self.booted)
                i += 1
            out[column] = rows
        return out


def probe_at(text: str, at: float, booted: float | None = None) -> dict[str, Any]:
    """The result of ``monitors.probe.probe_async`` against the recording at Unix time ``at``."""
    coro = probe.probe_async(RecordingClient(text, at, booted))  # type: ignore[arg-type]
    try:  # the client never waits: the coroutine finishes on its first step
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("probe_async awaited something a recording cannot answer")
