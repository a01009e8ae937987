"""Over 500 lines: the one YAML format of device profiles, its schema, parser and match rules.

Device profiles: YAML files that map a device's OIDs onto the metric vocabulary.

Adding a vendor is adding one file to ``monitors/profiles/``. Every shipped file is validated by a
test; a mistake is reported as ``FILE: FIELD: what is wrong`` (e.g. ``apc_ups.yaml: metrics[3].unit:
'V' does not match the unit of ups.output.load_percent ('%')``).

Schema (all OIDs numeric, dotted, no leading dot)::

    name: apc_ups                 # required, unique, [a-z0-9_]+
    description: APC PowerNet UPS # optional free text
    title: APC Smart-UPS          # what people call it, in English (monitors.formatting lists
                                  #   every title for the catalog; a test checks each file has one)
    asset: {kind: ups, vendor: APC}  # optional: what a device it matches is (an assets kind) and
                                  #   its maker; subnet discovery proposes them (monitors/discover)
    match:                        # required; the profile applies when ANY given test passes
      always: true                #   every agent (SNMPv2-MIB system, IF-MIB, ...)
      sys_object_id: [1.3.6.1.4.1.318]   # sysObjectID equal to or under one of these prefixes
      sys_descr: "^APC "          #   Python regex searched in sysDescr
      subtree: 1.3.6.1.2.1.33     #   the agent answers under this OID: what follows it (GETNEXT)
                                  #   is inside it. Capability discovery, as LibreNMS walks a
                                  #   MIB: a standard MIB matches on whatever part of it the agent
                                  #   serves (real agents answer partial views), never on one
                                  #   scalar or a list of vendors; one GETNEXT for all profiles.
    metrics:                      # optional list; each entry has `metric` and ONE value source:
      - metric: ups.output.load_percent  # must exist in monitors.metrics.METRICS
        oid: 1.3.6.1.2.1.33.1.4.4.1.5.1  #   scalar: one GET (instance "")
        # column: COLUMN                 #   table column: one reading per row
        # percent: {used: COLUMN, total: COLUMN}   # 100 * used / total per row
        # percent: {total: COLUMN, free: [COLUMN, ...]}  # 100 * (total - sum(free)) / total
        #                                #   (a free column the agent lacks counts as 0)
        # product: [COLUMN, COLUMN]      #   the columns multiplied per row (size x unit)
        instance: 1.3.6.1.2.1.2.2.1.2    # optional, tables: column naming the row (default: index);
                                         #   a name row whose index is a prefix of the data row's
                                         #   also names it (e.g. a unit name for its sensors)
        where: {column: COLUMN, in: [VALUE, ...]}  # optional, tables: keep rows whose COLUMN
                                         #   value (int, or OID/text as a string) is in the list;
                                         #   a list of such conditions keeps rows meeting all;
                                         #   {index: -1, in: [1]} tests a part of the row's index
                                         #   instead (1 the first, -1 the last), e.g. the sensor
                                         #   type that ends Raritan PDU2-MIB measurement rows
        skip: [65535, -1]                # optional: raw values meaning "not measured" (no reading)
        aggregate: avg                   # optional, tables: avg | sum | min | max | first -> one
                                         #   reading (instance ""); first: the first kept row
        scale: 0.1                       # optional multiplier applied to the raw value (default 1)
        offset: 100                      # optional, added after the scale (100 - idle: scale -1)
        unit: "%"                        # optional; when given must equal the vocabulary's unit,
                                         #   except "°F" on a °C metric: the value (after scale
                                         #   and offset) is in °F and the probe converts it,
                                         #   (F - 32) * 5 / 9
        states: {3: normal, 5: battery}  # state metrics: vendor value -> vocabulary state
                                         #   (required for them; unmapped values read "unknown"
                                         #   when the vocabulary has it, else "other")
        status: {battery: critical}      # optional, state metrics: state -> ok/warning/critical
    inventory:                    # optional: model / serial / firmware, each a scalar OID or
      model: 1.3.6.1.4.1.318.1.1.1.1.1.1.0    #   {column: COLUMN, where: {...}} (first kept row)
    interfaces: true              # optional sections, filled by monitors.probe from standard MIBs:
    storage: true                 #   IF-MIB/IF-X interfaces, HOST-RESOURCES hrStorage volumes,
    lldp: true                    #   LLDP-MIB neighbours, IP-MIB ARP (ipNetToMedia and
    arp: true                     #   ipNetToPhysical)
    traps: [...]                  # optional: SNMP traps raising and clearing alerts; the schema
                                  #   is in monitors/traps/rules.py

A percent with ``aggregate: sum`` is sum(used) / sum(total). When two matched profiles give the same
metric and instance, the more specific profile (not ``always``) wins. A reading outside what its
unit allows (``monitors.metrics.UNIT_RANGES``: below absolute zero, a percentage below 0 or above
100, a negative voltage...) is impossible: the probe drops it and lists it under ``notes``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from assets.queries import asset_kinds
from monitors.metrics import METRICS
from opskit.rulefiles import load_yaml

PROFILE_DIR = Path(__file__).with_name("profiles")
SECTIONS = ("interfaces", "storage", "lldp", "arp")
INVENTORY_FIELDS = ("model", "serial", "firmware")
STATUSES = ("ok", "warning", "critical")
AGGREGATES = ("avg", "sum", "min", "max", "first")
SOURCES = ("oid", "column", "percent", "product")

_OID = re.compile(r"^[0-2](\.\d+)+$")
_NAME = re.compile(r"^[a-z0-9_]+$")
_TOP_KEYS = {"name", "description", "title", "asset", "match", "metrics", "inventory", "traps"}
_TOP_KEYS |= set(SECTIONS)
URGENCIES = ("A", "B", "C")
_TRAP_KEYS = {"oid", "raise", "clear", "urgency", "title", "where", "instance"}
_MATCH_KEYS = {"always", "sys_object_id", "sys_descr", "subtree"}
_METRIC_KEYS = {
    *SOURCES,
    "metric",
    "instance",
    "where",
    "skip",
    "aggregate",
    "scale",
    "offset",
    "unit",
    "states",
    "status",
}


class ProfileError(ValueError):
    """A profile file is wrong: ``file`` and ``field`` say where, the message says what."""

    def __init__(self, file: str, field: str, message: str) -> None:
        self.file, self.field, self.message = file, field, message
        super().__init__(f"{file}: {field}: {message}")


@dataclass(frozen=True)
class MetricSpec:
    metric: str
    oid: str | None = None
    column: str | None = None
    percent: tuple[str, str] | None = None  # (used, total); the free form: (total, total)
    free: tuple[str, ...] = ()  # the free form's columns, subtracted from the total
    product: tuple[str, ...] | None = None
    instance: str | None = None
    where: tuple[tuple[str, frozenset[str]], ...] = ()
    skip: frozenset[str] = frozenset()
    aggregate: str | None = None
    scale: float = 1
    offset: float = 0
    fahrenheit: bool = False  # `unit: °F` on a °C metric: converted after scale and offset
    states: dict[str, str] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every table column this entry reads."""
        cols = [c for c in (self.column, self.instance) if c]
        cols += list(self.percent or ()) + list(self.free) + list(self.product or ())
        cols += where_columns(self.where)
        return tuple(cols)


@dataclass(frozen=True)
class TrapSpec:
    """One ``traps:`` entry (``monitors/traps/rules.py``): a trap raising or clearing conditions."""

    oid: str
    action: str  # "raise" or "clear"
    conditions: tuple[str, ...]
    urgency: str = ""
    title: str = ""
    where: tuple[tuple[str, frozenset[str]], ...] = ()
    instance: str | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    file: str
    description: str = ""
    title: str = ""
    asset_kind: str = ""  # an AssetKind value, or "" when the profile does not say
    vendor: str = ""
    always: bool = False
    sys_object_id: tuple[str, ...] = ()
    sys_descr: re.Pattern[str] | None = None
    subtree: str | None = None
    metrics: tuple[MetricSpec, ...] = ()
    inventory: dict[str, Any] = field(default_factory=dict)
    sections: frozenset[str] = frozenset()
    traps: tuple[TrapSpec, ...] = ()

    def matches(self, sys_object_id: str, sys_descr: str, following: dict[str, str | None]) -> bool:
        """True when the agent described by these values is one this profile applies to."""
        return self.why(sys_object_id, sys_descr, following) is not None

    def why(
        self, sys_object_id: str, sys_descr: str, following: dict[str, str | None]
    ) -> str | None:
        """Why the profile applies to the agent (the first test that passes), or ``None``.

        ``following`` maps subtree roots to the OID the agent answered a GETNEXT of each with
        (``None``: nothing follows, the end of its MIB).
        """
        if self.always:
            return "always"
        for prefix in self.sys_object_id:
            if sys_object_id == prefix or sys_object_id.startswith(prefix + "."):
                return f"sysObjectID {sys_object_id} is under {prefix}"
        if self.sys_descr is not None and self.sys_descr.search(sys_descr or ""):
            return f"sysDescr matches {self.sys_descr.pattern!r}"
        if self.subtree is not None:
            after = following.get(self.subtree)
            if after is not None and after.startswith(self.subtree + "."):
                return f"the agent answers under {self.subtree} ({after})"
        return None


def _oid(file: str, where: str, value: Any) -> str:
    text = str(value).strip() if isinstance(value, str | int) else None
    if text and text.startswith("."):
        text = text[1:]
    if not text or not _OID.match(text):
        raise ProfileError(
            file, where, f"expected a numeric OID like 1.3.6.1.2.1.1.1.0, got {value!r}"
        )
    return text


INDEX_PART = "index:"  # a condition on a part of the row index: "index:-1" the last part


def where_columns(where: tuple[tuple[str, frozenset[str]], ...]) -> list[str]:
    """The columns a list of ``where`` conditions reads (index conditions read none)."""
    return [column for column, _ in where if not column.startswith(INDEX_PART)]


def _parse_where(file: str, where: str, value: Any) -> tuple[str, frozenset[str]]:
    keys = set(value) if isinstance(value, dict) else set()
    if keys not in ({"column", "in"}, {"index", "in"}):
        raise ProfileError(
            file, where, "expected a mapping with exactly 'column' and 'in' (or 'index' and 'in')"
        )
    values = value["in"]
    if not isinstance(values, list) or not values:
        raise ProfileError(file, f"{where}.in", "expected a non-empty list of values")
    allowed = frozenset(str(v) for v in values)
    if "column" in value:
        return _oid(file, f"{where}.column", value["column"]), allowed
    part = value["index"]
    if isinstance(part, bool) or not isinstance(part, int) or part == 0:
        raise ProfileError(
            file,
            f"{where}.index",
            f"expected a part of the row index: 1 the first, -1 the last, got {part!r}",
        )
    return f"{INDEX_PART}{part}", allowed


def _parse_conditions(file: str, where: str, value: Any) -> tuple[tuple[str, frozenset[str]], ...]:
    """One ``{column, in}`` condition or a list of them (all must hold)."""
    if isinstance(value, list):
        if not value:
            raise ProfileError(file, where, "expected a condition or a non-empty list of them")
        return tuple(_parse_where(file, f"{where}[{i}]", v) for i, v in enumerate(value))
    return (_parse_where(file, where, value),)


def _parse_metric(file: str, where: str, entry: Any) -> MetricSpec:
    if not isinstance(entry, dict):
        raise ProfileError(file, where, "expected a mapping with 'metric' and a value source")
    unknown = set(entry) - _METRIC_KEYS
    if unknown:
        raise ProfileError(file, f"{where}.{sorted(unknown)[0]}", "unknown key")
    name = entry.get("metric")
    if name is None:
        raise ProfileError(file, f"{where}.metric", "required")
    if name not in METRICS:
        raise ProfileError(file, f"{where}.metric", f"{name!r} is not in the metric vocabulary")
    vocab = METRICS[name]
    sources = [s for s in SOURCES if s in entry]
    if len(sources) != 1:
        raise ProfileError(
            file, where, f"give exactly one of {', '.join(SOURCES)} (got {len(sources)})"
        )
    source = sources[0]
    kw: dict[str, Any] = {"metric": name}
    if source in ("oid", "column"):
        kw[source] = _oid(file, f"{where}.{source}", entry[source])
    elif source == "percent":
        value = entry["percent"]
        if isinstance(value, dict) and set(value) == {"total", "free"}:
            free = value["free"]
            if not isinstance(free, list) or not free:
                raise ProfileError(file, f"{where}.percent.free", "expected a list of columns")
            total = _oid(file, f"{where}.percent.total", value["total"])
            kw["percent"] = (total, total)
            kw["free"] = tuple(
                _oid(file, f"{where}.percent.free[{i}]", c) for i, c in enumerate(free)
            )
        elif not isinstance(value, dict) or set(value) != {"used", "total"}:
            raise ProfileError(
                file,
                f"{where}.percent",
                "expected {used: COLUMN, total: COLUMN} or {total: COLUMN, free: [COLUMN, ...]}",
            )
        else:
            kw["percent"] = (
                _oid(file, f"{where}.percent.used", value["used"]),
                _oid(file, f"{where}.percent.total", value["total"]),
            )
    else:
        value = entry["product"]
        if not isinstance(value, list) or len(value) < 2:
            raise ProfileError(file, f"{where}.product", "expected a list of two or more columns")
        kw["product"] = tuple(_oid(file, f"{where}.product[{i}]", c) for i, c in enumerate(value))
    is_table = source != "oid"
    for key in ("instance", "where", "aggregate"):
        if key in entry and not is_table:
            raise ProfileError(file, f"{where}.{key}", "only allowed with a table source")
    if "instance" in entry:
        kw["instance"] = _oid(file, f"{where}.instance", entry["instance"])
    if "where" in entry:
        kw["where"] = _parse_conditions(file, f"{where}.where", entry["where"])
    if "skip" in entry:
        skip = entry["skip"]
        if not isinstance(skip, list) or not skip:
            raise ProfileError(file, f"{where}.skip", "expected a non-empty list of raw values")
        kw["skip"] = frozenset(str(v) for v in skip)
    if "aggregate" in entry:
        if entry["aggregate"] not in AGGREGATES:
            raise ProfileError(
                file, f"{where}.aggregate", f"expected one of {', '.join(AGGREGATES)}"
            )
        kw["aggregate"] = entry["aggregate"]
    if "scale" in entry:
        scale = entry["scale"]
        if isinstance(scale, bool) or not isinstance(scale, int | float) or scale == 0:
            raise ProfileError(file, f"{where}.scale", f"expected a non-zero number, got {scale!r}")
        kw["scale"] = scale
    if "offset" in entry:
        offset = entry["offset"]
        if isinstance(offset, bool) or not isinstance(offset, int | float):
            raise ProfileError(file, f"{where}.offset", f"expected a number, got {offset!r}")
        kw["offset"] = offset
    if "unit" in entry and str(entry["unit"]) == "°F" and vocab["unit"] == "°C":
        kw["fahrenheit"] = True
    elif "unit" in entry and str(entry["unit"]) != vocab["unit"]:
        raise ProfileError(
            file,
            f"{where}.unit",
            f"{entry['unit']!r} does not match the unit of {name} ({vocab['unit']!r})",
        )
    if vocab["kind"] == "state":
        states = entry.get("states")
        if not isinstance(states, dict) or not states:
            raise ProfileError(
                file, f"{where}.states", f"required for state metric {name}: vendor value -> state"
            )
        for raw, state in states.items():
            if state not in vocab["states"]:
                raise ProfileError(
                    file,
                    f"{where}.states.{raw}",
                    f"{state!r} is not a state of {name} ({', '.join(vocab['states'])})",
                )
        kw["states"] = {str(k): v for k, v in states.items()}
        status = entry.get("status", {})
        if not isinstance(status, dict):
            raise ProfileError(
                file, f"{where}.status", "expected a mapping state -> ok/warning/critical"
            )
        for state, level in status.items():
            if state not in vocab["states"]:
                raise ProfileError(
                    file, f"{where}.status.{state}", f"{state!r} is not a state of {name}"
                )
            if level not in STATUSES:
                raise ProfileError(
                    file,
                    f"{where}.status.{state}",
                    f"expected ok, warning or critical, got {level!r}",
                )
        kw["status"] = dict(status)
    else:
        for key in ("states", "status"):
            if key in entry:
                raise ProfileError(
                    file, f"{where}.{key}", f"only for state metrics; {name} is a {vocab['kind']}"
                )
    return MetricSpec(**kw)


def _parse_trap(file: str, where: str, entry: Any) -> TrapSpec:
    if not isinstance(entry, dict):
        raise ProfileError(file, where, "expected a mapping with 'oid' and 'raise' or 'clear'")
    unknown = set(entry) - _TRAP_KEYS
    if unknown:
        raise ProfileError(file, f"{where}.{sorted(unknown)[0]}", "unknown key")
    actions = [a for a in ("raise", "clear") if a in entry]
    if len(actions) != 1:
        raise ProfileError(file, where, "give exactly one of raise or clear")
    action, names = actions[0], entry[actions[0]]
    conditions = names if action == "clear" and isinstance(names, list) and names else [names]
    for i, name in enumerate(conditions):
        if not isinstance(name, str) or not _NAME.match(name):
            at = f"{where}.{action}" + (f"[{i}]" if isinstance(names, list) else "")
            raise ProfileError(file, at, "expected a condition name: lower-case letters, digits, _")
    oid = _oid(file, f"{where}.oid", entry.get("oid"))
    kw: dict[str, Any] = {"oid": oid, "action": action, "conditions": tuple(conditions)}
    for key in ("urgency", "title"):
        if action == "clear" and key in entry:
            raise ProfileError(file, f"{where}.{key}", "only for raise")
    if action == "raise":
        urgency, title = entry.get("urgency"), entry.get("title")
        if urgency not in URGENCIES:
            raise ProfileError(file, f"{where}.urgency", f"required: A, B or C, got {urgency!r}")
        if not isinstance(title, str) or not title.strip():
            raise ProfileError(file, f"{where}.title", "required: the alert's title in English")
        kw["urgency"], kw["title"] = urgency, title.strip()
    if "where" in entry:
        cond = entry["where"]
        if not isinstance(cond, dict) or set(cond) != {"varbind", "in"} or not cond["in"]:
            raise ProfileError(file, f"{where}.where", "expected {varbind: COLUMN, in: [VALUE]}")
        values = cond["in"] if isinstance(cond["in"], list) else [cond["in"]]
        column = _oid(file, f"{where}.where.varbind", cond["varbind"])
        kw["where"] = ((column, frozenset(str(v) for v in values)),)
    if "instance" in entry:
        kw["instance"] = _oid(file, f"{where}.instance", entry["instance"])
    return TrapSpec(**kw)


def _parse_asset(file: str, value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) - {"kind", "vendor"}:
        raise ProfileError(file, "asset", "expected a mapping with kind and/or vendor")
    kind, kinds = value.get("kind", ""), asset_kinds()
    if kind and kind not in kinds:
        raise ProfileError(file, "asset.kind", f"expected one of {', '.join(kinds)}, got {kind!r}")
    return {"asset_kind": kind or "", "vendor": str(value.get("vendor") or "").strip()}


def parse_profile(file: str, data: Any) -> Profile:
    """Validate one profile's parsed YAML; ``file`` is the name used in error messages."""
    if not isinstance(data, dict):
        raise ProfileError(file, "(top)", "expected a mapping")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise ProfileError(file, sorted(unknown)[0], "unknown key")
    name = data.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ProfileError(file, "name", "required: lower-case letters, digits and _")
    match = data.get("match")
    if not isinstance(match, dict) or not match:
        raise ProfileError(file, "match", "required: always, sys_object_id, sys_descr or subtree")
    if "has_oid" in match:
        raise ProfileError(
            file,
            "match.has_oid",
            "replaced by subtree: the root of the MIB (or table) whose presence the profile "
            "needs, e.g. subtree: 1.3.6.1.2.1.33 for the UPS-MIB",
        )
    unknown = set(match) - _MATCH_KEYS
    if unknown:
        raise ProfileError(file, f"match.{sorted(unknown)[0]}", "unknown key")
    kw: dict[str, Any] = {
        "name": name,
        "file": file,
        "description": str(data.get("description", "")),
        "title": str(data.get("title") or "").strip(),
        **_parse_asset(file, data.get("asset", {})),
    }
    if "always" in match:
        if not isinstance(match["always"], bool):
            raise ProfileError(file, "match.always", "expected true or false")
        kw["always"] = match["always"]
    if "sys_object_id" in match:
        prefixes = match["sys_object_id"]
        if isinstance(prefixes, str):
            prefixes = [prefixes]
        if not isinstance(prefixes, list) or not prefixes:
            raise ProfileError(file, "match.sys_object_id", "expected a list of OID prefixes")
        kw["sys_object_id"] = tuple(
            _oid(file, f"match.sys_object_id[{i}]", p) for i, p in enumerate(prefixes)
        )
    if "sys_descr" in match:
        try:
            kw["sys_descr"] = re.compile(str(match["sys_descr"]))
        except re.error as exc:
            raise ProfileError(
                file, "match.sys_descr", f"not a valid regular expression: {exc}"
            ) from None
    if "subtree" in match:
        kw["subtree"] = _oid(file, "match.subtree", match["subtree"])
    metrics = data.get("metrics", [])
    if not isinstance(metrics, list):
        raise ProfileError(file, "metrics", "expected a list")
    kw["metrics"] = tuple(_parse_metric(file, f"metrics[{i}]", m) for i, m in enumerate(metrics))
    inventory = data.get("inventory", {})
    if not isinstance(inventory, dict):
        raise ProfileError(file, "inventory", "expected a mapping of model/serial/firmware")
    inv: dict[str, Any] = {}
    for key, value in inventory.items():
        if key not in INVENTORY_FIELDS:
            raise ProfileError(file, f"inventory.{key}", "expected model, serial or firmware")
        if isinstance(value, dict):
            if "column" not in value or set(value) - {"column", "where"}:
                raise ProfileError(file, f"inventory.{key}", "expected an OID or {column, where}")
            inv[key] = {
                "column": _oid(file, f"inventory.{key}.column", value["column"]),
                "where": _parse_conditions(file, f"inventory.{key}.where", value["where"])
                if "where" in value
                else (),
            }
        else:
            inv[key] = _oid(file, f"inventory.{key}", value)
    kw["inventory"] = inv
    sections = set()
    for section in SECTIONS:
        if section in data:
            if not isinstance(data[section], bool):
                raise ProfileError(file, section, "expected true or false")
            if data[section]:
                sections.add(section)
    kw["sections"] = frozenset(sections)
    traps = data.get("traps", [])
    if not isinstance(traps, list):
        raise ProfileError(file, "traps", "expected a list")
    kw["traps"] = tuple(_parse_trap(file, f"traps[{i}]", t) for i, t in enumerate(traps))
    return Profile(**kw)


def load_file(path: Path) -> Profile:
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(path.name, "(yaml)", f"not valid YAML: {exc}") from None
    return parse_profile(path.name, data)


def load_profiles(directory: Path | None = None) -> list[Profile]:
    """Every ``*.yaml`` in ``directory`` (default: the shipped profiles), sorted by file name."""
    if directory is None:
        return list(_shipped())
    profiles: list[Profile] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")):
        profile = load_file(path)
        if profile.name in seen:
            raise ProfileError(
                path.name, "name", f"{profile.name!r} is already used by {seen[profile.name]}"
            )
        seen[profile.name] = path.name
        profiles.append(profile)
    return profiles


@cache
def _shipped() -> tuple[Profile, ...]:
    return tuple(load_profiles(PROFILE_DIR))
