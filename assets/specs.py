"""The one vocabulary of an asset's specifications (``Asset.specs``).

Seven keys are known: ``cpu_model``, ``cpu_cores``, ``memory_gb``, ``disks``, ``firmware``, and
the power figures the capacity model reads (``assets.capacity``): ``power_watts`` (nameplate draw)
and ``cooling_watts`` (an air conditioner's cooling capacity).
Each has a label people read (English msgid, Chinese in the catalog), the Chinese header of the
registry workbook, the other spellings found in the wild (``CPU``, ``内存``, ``硬盘``, ``固件``,
``memory`` ...: read as the key) and how its value is read (``memory_gb``: ``64``, ``64GB``,
``64 GB``, ``0.5 TB`` → a number of GB; ``cpu_cores``: a whole number; ``power_watts``: ``750``,
``750 W``, ``0.75 kW`` → watts, a bare number being watts). Any other key (``role``,
``bandwidth_mbps``, ``raid`` ...) is kept as given.

The asset form, the API, the Excel import and export, the demo and the reports all go through
here (``assets.services.save_asset`` calls :func:`normalise`), so a spec is stored under one key
whatever it was typed as. Migration 0020 moved the rows written before onto the same keys.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

TEXT, WHOLE, GIGABYTES, WATTS = "text", "whole", "gigabytes", "watts"


@dataclass(frozen=True)
class SpecKey:
    key: str
    label: Any  # a lazy string: the words people read
    zh: str  # the registry workbook's header
    kind: str = TEXT
    aliases: tuple[str, ...] = ()  # other spellings read as this key


SPECS: tuple[SpecKey, ...] = (
    SpecKey(
        "cpu_model",
        _l("CPU model"),
        "CPU型号",
        aliases=("cpu", "processor", "处理器", "CPU model", "cpu_type"),
    ),
    SpecKey(
        "cpu_cores",
        _l("CPU cores"),
        "CPU核数",
        WHOLE,
        aliases=("cores", "CPU cores", "cpu_count", "核数", "CPU核心数", "核心数"),
    ),
    SpecKey(
        "memory_gb",
        _l("Memory (GB)"),
        "内存GB",
        GIGABYTES,
        aliases=("memory", "Memory (GB)", "mem", "ram", "ram_gb", "内存", "内存(GB)", "内存容量"),
    ),
    SpecKey("disks", _l("Disks"), "磁盘", aliases=("disk", "硬盘", "drives")),
    SpecKey(
        "firmware",
        _l("Firmware / OS"),
        "固件/系统",
        aliases=("Firmware / OS", "固件", "系统", "固件版本", "os", "firmware version", "操作系统"),
    ),
    SpecKey(
        "power_watts",
        _l("Nameplate power (W)"),
        "额定功率W",
        WATTS,
        aliases=("Nameplate power (W)", "power", "watts", "功率", "额定功率", "nameplate_watts"),
    ),
    SpecKey(
        "cooling_watts",
        _l("Cooling capacity (W)"),
        "制冷量W",
        WATTS,
        aliases=("Cooling capacity (W)", "cooling", "制冷量", "cooling_capacity", "额定制冷量"),
    ),
)
SPEC_KEYS: tuple[str, ...] = tuple(s.key for s in SPECS)
BY_KEY: dict[str, SpecKey] = {s.key: s for s in SPECS}


class SpecError(ValueError):
    """A spec value that cannot be read; the message names the spec, the value and what was
    expected (``expected`` alone, for a workbook cell whose column is named beside it)."""

    def __init__(self, spec: SpecKey, value: Any) -> None:
        if spec.kind == WHOLE:
            self.expected = _("is not a whole number (write e.g. 32)")
        elif spec.kind == WATTS:
            self.expected = _("is not a power in watts (write e.g. 750, 750 W or 0.75 kW)")
        else:
            self.expected = _("is not a size in GB (write e.g. 64, 64 GB or 1 TB)")
        super().__init__(
            _(
                "%(spec)s: “%(value)s” %(expected)s",
                spec=str(spec.label),
                value=value,
                expected=self.expected,
            )
        )


def _fold(name: str) -> str:
    """How key spellings are compared: full-width, case, spaces, ``-``/``_`` do not matter."""
    return re.sub(r"[\s_\-]+", "", unicodedata.normalize("NFKC", str(name))).casefold()


_LOOKUP: dict[str, str] = {_fold(name): s.key for s in SPECS for name in (s.key, s.zh, *s.aliases)}


def canonical_key(name: str) -> str | None:
    """The vocabulary key ``name`` is a spelling of, or None for a key of its own."""
    return _LOOKUP.get(_fold(name))


def label(key: str) -> str:
    """The words of a spec key in the current language; any other key as itself."""
    spec = BY_KEY.get(key)
    return str(spec.label) if spec is not None else key


_SIZE = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(gb|g|gib|tb|t|tib|mb|m|mib)?$")
_WHOLE = re.compile(r"^([0-9]+)\s*(cores?|c|核)?$")
_POWER = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(w|kw|瓦|千瓦)?$")


def parse_value(key: str, value: Any) -> Any:
    """A value of spec ``key`` as stored: memory a number of GB, cores a whole number, power in
    watts, the rest text (stripped). Raises :class:`SpecError` naming the spec and what was
    expected. Blank → "" (the caller drops it)."""
    spec = BY_KEY.get(key)
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip()
    if value is None or value == "":
        return ""
    if spec is None or spec.kind == TEXT:
        return value
    if isinstance(value, bool):
        raise SpecError(spec, value)
    if spec.kind == WATTS:
        return _watts(spec, value)
    if spec.kind == WHOLE:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int):
            number: int | float = value
        else:
            match = _WHOLE.match(str(value).replace(",", "").casefold())
            if match is None:
                raise SpecError(spec, value)
            number = int(match[1])
        if number < 1:
            raise SpecError(spec, value)
        return number
    if isinstance(value, int | float):
        number = value
    else:
        match = _SIZE.match(str(value).replace(",", "").casefold())
        if match is None:
            raise SpecError(spec, value)
        number = float(match[1])
        unit = (match[2] or "g")[0]
        number *= {"g": 1, "t": 1024, "m": 1 / 1024}[unit]
    if number <= 0:
        raise SpecError(spec, value)
    return int(number) if float(number).is_integer() else round(number, 3)


def _watts(spec: SpecKey, value: Any) -> int | float:
    """A power in watts: a number (watts), or text with W, kW, 瓦 or 千瓦."""
    if isinstance(value, int | float):
        number = float(value)
    else:
        match = _POWER.match(str(value).replace(",", "").casefold())
        if match is None:
            raise SpecError(spec, value)
        number = float(match[1]) * (1000 if match[2] in ("kw", "千瓦") else 1)
    if number <= 0:
        raise SpecError(spec, value)
    return int(number) if number.is_integer() else round(number, 1)


def normalise(specs: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``specs`` on the vocabulary: every spelling of a known key under its key, values read
    (:func:`parse_value`), blank values dropped, other keys kept as given. Returns (specs,
    errors), each error naming the spec. When a key is given twice (``cpu_model`` and
    ``CPU``), the vocabulary's own spelling wins and the other stays under its own name."""
    out: dict[str, Any] = {}
    errors: list[str] = []
    ordered = sorted(specs.items(), key=lambda kv: kv[0] not in BY_KEY)  # own spelling first
    for name, value in ordered:
        key = canonical_key(name)
        if key is None or key in out:
            if value is not None and value != "":
                out[str(name).strip()] = value
            continue
        try:
            parsed = parse_value(key, value)
        except SpecError as exc:
            errors.append(str(exc))
            continue
        if parsed != "":
            out[key] = parsed
    known = {k: out.pop(k) for k in SPEC_KEYS if k in out}
    return known | out, errors


def labelled(specs: Mapping[str, Any] | None) -> Iterator[tuple[str, Any]]:
    """(words, value) of each spec to show: the vocabulary's in its order, then the others."""
    specs = specs or {}
    for key in SPEC_KEYS:
        if specs.get(key) not in (None, ""):
            yield label(key), specs[key]
    for key, value in specs.items():
        if key not in BY_KEY:
            yield key, value
