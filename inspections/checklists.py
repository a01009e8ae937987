"""Patrol checklists as data: the YAML schema, loading (and caching) the files, judging an answer.

A checklist is one YAML file. The package ships six (``inspections/checklists/*.yaml``); an
admin adds or replaces one by dropping a file into ``<instance>/checklists/`` (a dropped file
whose name matches a shipped one replaces it). The file name without ``.yaml``/``.yml`` is the
checklist's key. Keys are English; ``title`` and ``label`` are the text shown (Chinese), with
optional ``title_en``/``label_en`` for the English UI::

    title: UPS 巡检
    title_en: UPS
    applies_to: [ups]                 # optional: asset kinds answered once per asset
    items:
      - key: load_percent             # unique in the file: [a-z][a-z0-9_]*
        label: 输出负载率
        kind: reading                 # check | reading | choice | text | photo | signature
        unit: "%"                     # required for a reading
        normal: [0, 70]               # or {min: 0, max: 70}; null = no bound on that side
        warning: {high: 70}           # optional; a missing side defaults to the normal edge
        critical: {high: 90}          # optional
        urgency: C                    # A | B | C for the alert a finding raises (default C)
        critical_urgency: B           # optional: used instead when the outcome is critical
        metric: ups.output.load_percent   # optional monitoring metric (dotted) to pre-fill
        tolerance: 5                  # optional: allowed |reading - monitored value|
        requires_note_when_abnormal: true  # default true
      - key: battery_state
        label: 电池状态
        kind: choice
        options:                      # strings, or mappings with key/label/label_en/level
          - {key: float, label: 浮充}
          - {key: discharging, label: 放电, level: critical}
      - key: alarm_lamp
        label: 告警指示灯无告警
        kind: check                   # value pass/fail (or true/false)
        fail_level: warning           # warning (default) | critical

``applies_to`` names the asset kinds (``assets`` ``AssetKind`` values: ups, pdu, ...) whose
in-service assets in the room each answer the checklist once (a plan may narrow them); without
it, or in a room with none of them, the checklist is answered once for the room itself.

Other optional item fields: ``help`` (shown under the label), ``required`` (default true).
An unknown field, kind or urgency is an error naming the file, the item and the field.

**Limits** (readings). Bands on the high side, the low side mirrors them:

- inside the closed normal range ``[min, max]`` → ok;
- above ``normal.max`` but not above ``warning.high`` → ok, with the note "outside the normal
  range" (only when warning is set wider than normal);
- above ``warning.high`` → warning; above ``critical.high`` → critical.

Every limit is **inclusive on the acceptable side**: a value exactly at a limit is still the
better band (27.0 °C with ``normal.max: 27`` is ok, 90 % with ``critical.high: 90`` is warning);
only a value strictly beyond the limit crosses it. Validation: a warning limit may not lie inside
the normal range and a critical limit may not lie inside the warning limits (equal is allowed).

``resolve_limits(item, {"site": ..., "room": ..., "asset": ...})`` applies overrides site →
room → asset (most specific wins). An override has the same shape as the YAML limits and may
change only some of them (``{"warning": {"high": 29}}``); ``null`` removes a bound.

The values (``Item``, ``Limits``, ``Outcome`` ...) and the limit rules are in
``inspections.definitions``, re-exported here; each item kind (what its YAML takes, how an answer
is judged, what the form shows) is a module of ``inspections.items``, registered in its
``KINDS``.

**Messages.** Schema errors are English text for the admin (like ``opskit.alerts.rules``).
Evaluation outcomes carry a ``code`` and ``params`` for programs and a ``message`` built with
``lazy_gettext``: it renders in the user's language inside a request and in English without
Flask (scripts, tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from inspections.definitions import (
    KEY_RE,
    LEVELS,
    LIMIT_FIELDS,
    METRIC_RE,
    SCOPES,
    URGENCIES,
    Checklist,
    ChecklistError,
    Item,
    Limits,
    Option,
    Outcome,
    blank,
    check_limits,
    invalid,
    limit_value,
    no_unknown,
    ok,
    resolve_limits,
)
from inspections.items import KINDS, ItemKind, kind_of
from opskit.rulefiles import load_yaml

__all__ = [  # the schema's names, for the callers of this module
    "KEY_RE",
    "KINDS",
    "LEVELS",
    "LIMIT_FIELDS",
    "SCOPES",
    "Checklist",
    "ChecklistError",
    "Item",
    "ItemKind",
    "Limits",
    "Loaded",
    "Option",
    "Outcome",
    "cached_checklists",
    "check_limits",
    "evaluate",
    "instance_checklists",
    "kind_of",
    "load_checklist",
    "load_checklists",
    "resolve_limits",
]


PACKAGE_DIR = Path(__file__).resolve().parent / "checklists"


COMMON_FIELDS = frozenset(
    {
        "key",
        "label",
        "label_en",
        "kind",
        "help",
        "required",
        "urgency",
        "critical_urgency",
        "metric",
        "requires_note_when_abnormal",
        "tolerance",
    }
)


def evaluate(item: Item, value: Any, limits: Limits | None = None) -> Outcome:
    """Judge one answer. ``limits`` default to the item's own (see ``resolve_limits``)."""
    if blank(value) or (isinstance(value, list | tuple) and not value):
        return invalid("required") if item.required else ok()
    kind = KINDS.get(item.kind)
    if kind is None:
        return invalid("unsupported", kind=item.kind)
    return kind.judge(item, value, item.limits if limits is None else limits)


def _text(raw: Mapping[str, Any], key: str, where: str, required: bool = False) -> str:
    value = raw.get(key)
    if value is None or value == "":
        if required:
            raise ChecklistError(f"{where}.{key}: required text is missing")
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ChecklistError(f"{where}.{key}: expected text, got {value!r}")
    return str(value).strip()


def _flag(raw: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise ChecklistError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _parse_item(raw: Any, index: int, source: str) -> Item:
    where = f"{source}: items[{index}]"
    if not isinstance(raw, dict):
        raise ChecklistError(f"{where}: expected a mapping with key, label and kind")
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ChecklistError(f"{where}.key: expected a key like room_temp, got {key!r}")
    where = f"{source}: item {key}"
    kind_name = raw.get("kind")
    kind = KINDS.get(kind_name)  # type: ignore[arg-type]
    if kind is None:
        raise ChecklistError(
            f"{where}.kind: unknown kind {kind_name!r}; expected one of {', '.join(KINDS)}"
        )
    no_unknown(raw, COMMON_FIELDS | kind.fields, where)
    values: dict[str, Any] = {
        "key": key,
        "kind": kind_name,
        "label": _text(raw, "label", where, required=True),
        "label_en": _text(raw, "label_en", where),
        "help": _text(raw, "help", where),
        "required": _flag(raw, "required", True, where),
        "requires_note_when_abnormal": _flag(raw, "requires_note_when_abnormal", True, where),
    }
    for name, default in (("urgency", "C"), ("critical_urgency", None)):
        letter = raw.get(name, default)
        if letter is not None and letter not in URGENCIES:
            raise ChecklistError(f"{where}.{name}: expected A, B or C, got {letter!r}")
        values[name] = letter
    metric = raw.get("metric")
    if metric is not None:
        if not isinstance(metric, str) or not METRIC_RE.match(metric):
            raise ChecklistError(
                f"{where}.metric: expected a dotted name like ups.output.load_percent, "
                f"got {metric!r}"
            )
        values["metric"] = metric
    if raw.get("tolerance") is not None:
        tolerance = limit_value(raw["tolerance"], f"{where}.tolerance")
        if tolerance is None or tolerance < 0:
            raise ChecklistError(f"{where}.tolerance: expected a number >= 0")
        values["tolerance"] = tolerance
    values.update(kind.define(raw, where))
    return Item(**values)


def load_checklist(text: str, source: str) -> Checklist:
    """Parse one checklist file; ``source`` is its path (the stem is the key)."""
    key = Path(source).stem
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ChecklistError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ChecklistError(
            f"{source}: expected a mapping with title and items at the top level, "
            f"got {type(data).__name__}"
        )
    no_unknown(data, {"title", "title_en", "applies_to", "items"}, source)
    title = _text(data, "title", source, required=True)
    raw_items = data.get("items")
    if not isinstance(raw_items, list) or not raw_items:
        raise ChecklistError(f"{source}.items: expected a non-empty list of items")
    items: list[Item] = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_items):
        item = _parse_item(raw, index, source)
        if item.key in seen:
            raise ChecklistError(f"{source}: items[{index}].key: {item.key!r} is used twice")
        seen.add(item.key)
        items.append(item)
    return Checklist(
        key,
        title,
        tuple(items),
        _text(data, "title_en", source),
        source,
        _applies_to(data.get("applies_to"), source),
    )


def _applies_to(value: Any, source: str) -> tuple[str, ...]:
    """The asset kinds of ``applies_to``: a list of keys (or one key), none when absent."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(k, str) and KEY_RE.match(k) for k in value
    ):
        raise ChecklistError(
            f"{source}.applies_to: expected a list of asset kinds like [ups, pdu], got {value!r}"
        )
    return tuple(dict.fromkeys(value))


@dataclass
class Loaded:
    checklists: dict[str, Checklist]
    errors: list[str]


def load_checklists(extra_dir: Path | str | None = None) -> Loaded:
    """The shipped checklists plus those in ``extra_dir`` (same file name replaces).

    A broken file is reported in ``errors`` and skipped; it never hides the others.
    """
    found: dict[str, Path] = {}
    for folder in (PACKAGE_DIR, Path(extra_dir) if extra_dir else None):
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                found[path.stem] = path
    result = Loaded({}, [])
    for key, path in sorted(found.items()):
        try:
            result.checklists[key] = load_checklist(path.read_text(encoding="utf-8"), str(path))
        except ChecklistError as exc:
            result.errors.append(str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            result.errors.append(f"{path}: cannot be read: {exc}")
    return result


def _folder_stamp(folder: Path | None) -> tuple[Any, ...]:
    """What changes when a checklist file in ``folder`` is added, removed, replaced or edited."""
    if folder is None:
        return ()
    try:
        entries = sorted(folder.iterdir())
    except OSError:  # no such folder (yet)
        return ()
    stamp = []
    for path in entries:
        if path.suffix in (".yaml", ".yml"):
            try:
                st = path.stat()
            except OSError:  # removed meanwhile: the next call sees it gone
                continue
            stamp.append((path.name, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(stamp)


_CACHE: dict[str, tuple[tuple[Any, ...], Loaded]] = {}


_CACHE_MAX = 16  # one entry per instance folder; tests make many


def cached_checklists(extra_dir: Path | str | None = None) -> Loaded:
    """``load_checklists(extra_dir)``, parsed once and kept until a file in the package folder
    or in ``extra_dir`` is added, removed, replaced or edited (parsing every file costs hundreds
    of milliseconds; a round page or a dashboard refresh reads the checklists many times).

    The returned object is shared by every caller: read it, never change it.
    """
    extra = Path(extra_dir) if extra_dir else None
    stamp = (_folder_stamp(PACKAGE_DIR), _folder_stamp(extra))
    key = str(extra)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    loaded = load_checklists(extra)
    if len(_CACHE) >= _CACHE_MAX and key not in _CACHE:
        _CACHE.clear()
    _CACHE[key] = (stamp, loaded)
    return loaded


def instance_checklists(instance_path: Path | str) -> Loaded:
    """Checklists for a running site: shipped ones plus ``<instance>/checklists/*.yaml``
    (cached until one of those files changes, see ``cached_checklists``)."""
    return cached_checklists(Path(instance_path) / "checklists")
