"""Patrol checklists as data: the YAML schema, the item kinds, and the limit evaluation.

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

**Messages.** Schema errors are English text for the admin (like ``opskit.alerts.rules``).
Evaluation outcomes carry a ``code`` and ``params`` for programs and a ``message`` built with
``lazy_gettext``: it renders in the user's language inside a request and in English without
Flask (scripts, tests).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from flask_babel import lazy_gettext as _l

from opskit.validation import ValidationFailed

PACKAGE_DIR = Path(__file__).resolve().parent / "checklists"
URGENCIES = ("A", "B", "C")
LEVELS = ("ok", "warning", "critical")
SCOPES = ("site", "room", "asset")  # override order: least to most specific
KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
METRIC_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class ChecklistError(ValueError):
    """A checklist file is invalid; the message names the file, the item and the field."""


# --- definitions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Limits of a reading; ``None`` is no bound. Missing warning sides fall back to normal."""

    normal_min: float | None = None
    normal_max: float | None = None
    warning_low: float | None = None
    warning_high: float | None = None
    critical_low: float | None = None
    critical_high: float | None = None

    @property
    def effective_warning_low(self) -> float | None:
        return self.normal_min if self.warning_low is None else self.warning_low

    @property
    def effective_warning_high(self) -> float | None:
        return self.normal_max if self.warning_high is None else self.warning_high


# YAML path of each limit: (group, side) → Limits attribute
LIMIT_FIELDS: dict[tuple[str, str], str] = {
    ("normal", "min"): "normal_min",
    ("normal", "max"): "normal_max",
    ("warning", "low"): "warning_low",
    ("warning", "high"): "warning_high",
    ("critical", "low"): "critical_low",
    ("critical", "high"): "critical_high",
}


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    label_en: str = ""
    level: str = "ok"


@dataclass(frozen=True)
class Item:
    key: str
    label: str
    kind: str
    label_en: str = ""
    help: str = ""
    required: bool = True
    urgency: str = "C"
    critical_urgency: str | None = None
    metric: str | None = None
    requires_note_when_abnormal: bool = True
    tolerance: float | None = None
    unit: str = ""
    limits: Limits = field(default_factory=Limits)
    options: tuple[Option, ...] = ()
    fail_level: str = "warning"

    def urgency_for(self, level: str) -> str:
        """Urgency of the alert a finding at ``level`` raises."""
        if level == "critical" and self.critical_urgency:
            return self.critical_urgency
        return self.urgency

    def within_tolerance(self, entered: float, monitored: float) -> bool:
        """Whether the engineer's reading agrees with the monitored value (no tolerance: yes)."""
        return self.tolerance is None or abs(entered - monitored) <= self.tolerance


@dataclass(frozen=True)
class Checklist:
    key: str
    title: str
    items: tuple[Item, ...]
    title_en: str = ""
    source: str = ""
    applies_to: tuple[str, ...] = ()  # asset kinds answered once per asset; () = the room

    def item(self, key: str) -> Item:
        for item in self.items:
            if item.key == key:
                return item
        raise KeyError(key)


# --- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """Judgement of one answer: ``status`` is ok, warning, critical or invalid."""

    status: str
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)
    urgency: str | None = None  # for abnormal outcomes: the alert's urgency
    needs_note: bool = False  # abnormal and the item requires a note then

    @property
    def abnormal(self) -> bool:
        return self.status in ("warning", "critical")

    @property
    def message(self) -> Any:
        template = MESSAGES.get(self.code)
        return template(**self.params) if template else self.code


MESSAGES: dict[str, Callable[..., Any]] = {
    "ok": lambda **p: _l("Normal"),
    "outside_normal": lambda **p: _l(
        "Outside the normal range %(range)s, within the warning limit", **p
    ),
    "above_warning": lambda **p: _l("Above the warning limit %(limit)s", **p),
    "below_warning": lambda **p: _l("Below the warning limit %(limit)s", **p),
    "above_critical": lambda **p: _l("Above the critical limit %(limit)s", **p),
    "below_critical": lambda **p: _l("Below the critical limit %(limit)s", **p),
    "not_a_number": lambda **p: _l("Enter a number, got “%(value)s”", **p),
    "required": lambda **p: _l("This item is required"),
    "check_failed": lambda **p: _l("Check failed"),
    "not_pass_fail": lambda **p: _l("Choose pass or fail"),
    "abnormal_option": lambda **p: _l("Abnormal: %(option)s", **p),
    "unknown_option": lambda **p: _l("“%(value)s” is not one of: %(options)s", **p),
    "not_text": lambda **p: _l("Enter text"),
    "unsupported": lambda **p: _l("Unsupported item kind %(kind)s", **p),
}


def _ok(code: str = "ok", **params: Any) -> Outcome:
    return Outcome("ok", code, params)


def _invalid(code: str, **params: Any) -> Outcome:
    return Outcome("invalid", code, params)


def _abnormal(item: Item, level: str, code: str, **params: Any) -> Outcome:
    return Outcome(level, code, params, item.urgency_for(level), item.requires_note_when_abnormal)


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


# --- item kinds -------------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _judge_check(item: Item, value: Any, limits: Limits) -> Outcome:
    if isinstance(value, str):
        value = {"pass": True, "fail": False}.get(value.strip().lower(), value)
    if not isinstance(value, bool):
        return _invalid("not_pass_fail")
    return _ok() if value else _abnormal(item, item.fail_level, "check_failed")


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _judge_reading(item: Item, value: Any, limits: Limits) -> Outcome:
    v = _number(value)
    if v is None:
        return _invalid("not_a_number", value=str(value))
    unit = item.unit
    if limits.critical_high is not None and v > limits.critical_high:
        return _abnormal(
            item, "critical", "above_critical", limit=_fmt(limits.critical_high) + unit
        )
    if limits.critical_low is not None and v < limits.critical_low:
        return _abnormal(item, "critical", "below_critical", limit=_fmt(limits.critical_low) + unit)
    high, low = limits.effective_warning_high, limits.effective_warning_low
    if high is not None and v > high:
        return _abnormal(item, "warning", "above_warning", limit=_fmt(high) + unit)
    if low is not None and v < low:
        return _abnormal(item, "warning", "below_warning", limit=_fmt(low) + unit)
    if (limits.normal_max is not None and v > limits.normal_max) or (
        limits.normal_min is not None and v < limits.normal_min
    ):
        span = f"{_fmt(limits.normal_min)}–{_fmt(limits.normal_max)}{unit}"
        return _ok("outside_normal", range=span)
    return _ok()


def _judge_choice(item: Item, value: Any, limits: Limits) -> Outcome:
    for option in item.options:
        if option.key == value:
            if option.level == "ok":
                return _ok()
            return _abnormal(item, option.level, "abnormal_option", option=option.label)
    return _invalid(
        "unknown_option", value=str(value), options=", ".join(o.key for o in item.options)
    )


def _judge_text(item: Item, value: Any, limits: Limits) -> Outcome:
    """Text and signature (the signature's image or id): any text given is fine."""
    return _ok() if isinstance(value, str) else _invalid("not_text")


def _judge_photo(item: Item, value: Any, limits: Limits) -> Outcome:
    """A photo id or a list of them."""
    if isinstance(value, list | tuple):
        given = all(isinstance(v, str) and not _blank(v) for v in value)
        return _ok() if value and given else _invalid("required")
    return _judge_text(item, value, limits)


def _define_reading(raw: dict[str, Any], where: str) -> dict[str, Any]:
    unit = raw.get("unit")
    if not isinstance(unit, str) or not unit.strip():
        raise ChecklistError(f"{where}.unit: a reading needs a unit (e.g. V, A, %, °C)")
    limits = _apply_limits(Limits(), raw, where)
    problem = check_limits(limits)
    if problem:
        raise ChecklistError(f"{where}.{problem[0]}: {problem[1]}")
    return {"unit": unit.strip(), "limits": limits}


def _define_choice(raw: dict[str, Any], where: str) -> dict[str, Any]:
    options = raw.get("options")
    if not isinstance(options, list) or not options:
        raise ChecklistError(f"{where}.options: a choice needs a list of options")
    parsed: list[Option] = []
    for i, opt in enumerate(options):
        here = f"{where}.options[{i}]"
        if isinstance(opt, str):
            opt = {"key": opt, "label": opt}
        if not isinstance(opt, dict):
            raise ChecklistError(f"{here}: expected a string or a mapping with key and label")
        _no_unknown(opt, {"key", "label", "label_en", "level"}, here)
        key, label = opt.get("key"), opt.get("label")
        if not isinstance(key, str) or not key:
            raise ChecklistError(f"{here}.key: required text")
        if key in {o.key for o in parsed}:
            raise ChecklistError(f"{here}.key: {key!r} is used twice")
        level = opt.get("level", "ok")
        if level not in LEVELS:
            raise ChecklistError(
                f"{here}.level: expected one of {', '.join(LEVELS)}, got {level!r}"
            )
        parsed.append(Option(key, str(label or key), str(opt.get("label_en") or ""), level))
    return {"options": tuple(parsed)}


def _define_check(raw: dict[str, Any], where: str) -> dict[str, Any]:
    level = raw.get("fail_level", "warning")
    if level not in ("warning", "critical"):
        raise ChecklistError(f"{where}.fail_level: expected warning or critical, got {level!r}")
    return {"fail_level": level}


def _define_nothing(raw: dict[str, Any], where: str) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Kind:
    """An item kind: the extra YAML fields it takes, how they are read, how a value is judged."""

    fields: frozenset[str]
    define: Callable[[dict[str, Any], str], dict[str, Any]]
    judge: Callable[[Item, Any, Limits], Outcome]


KINDS: dict[str, Kind] = {
    # pass/fail: value True/False or "pass"/"fail"; fail → fail_level (warning by default)
    "check": Kind(frozenset({"fail_level"}), _define_check, _judge_check),
    # number with unit, normal range and warning/critical limits (see the module docstring)
    "reading": Kind(
        frozenset({"unit", "normal", "warning", "critical"}), _define_reading, _judge_reading
    ),
    # one of the options (by key); an option's level says whether it is a finding
    "choice": Kind(frozenset({"options"}), _define_choice, _judge_choice),
    # free text; photo: photo id(s); signature: the signature image/id. Never abnormal.
    "text": Kind(frozenset(), _define_nothing, _judge_text),
    "photo": Kind(frozenset(), _define_nothing, _judge_photo),
    "signature": Kind(frozenset(), _define_nothing, _judge_text),
}

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


# --- limits -----------------------------------------------------------------------------------


def check_limits(limits: Limits) -> tuple[str, str] | None:
    """The first inconsistency as (field, message), or None.

    A warning limit must lie outside the normal range (at or beyond its edge on that side) and
    a critical limit outside the warning limits; equal values are allowed. With no bound on a
    side of the inner range, a limit on that side would be inside it, which is an error.
    """
    nmin, nmax = limits.normal_min, limits.normal_max
    if nmin is not None and nmax is not None and nmin > nmax:
        return "normal.min", f"{_fmt(nmin)} is above normal.max {_fmt(nmax)}"
    wlow, whigh = limits.effective_warning_low, limits.effective_warning_high
    checks = (
        ("warning", "low", limits.warning_low, nmin, nmax, "the normal range"),
        ("warning", "high", limits.warning_high, nmin, nmax, "the normal range"),
        ("critical", "low", limits.critical_low, wlow, whigh, "the warning limits"),
        ("critical", "high", limits.critical_high, wlow, whigh, "the warning limits"),
    )
    for group, side, value, low, high, name in checks:
        if value is None or (low is None and high is None):
            continue
        edge = low if side == "low" else high
        outside = edge is not None and (value <= edge if side == "low" else value >= edge)
        if not outside:
            need = f"at or below {_fmt(edge)}" if side == "low" else f"at or above {_fmt(edge)}"
            if edge is None:
                need = f"a bound on the {side} side of {name} first"
            return (
                f"{group}.{side}",
                f"{_fmt(value)} lies inside {name} {_fmt(low)}–{_fmt(high)}; "
                f"it must be outside (needs {need})",
            )
    return None


def _limit_value(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ChecklistError(f"{where}: expected a number or null, got {value!r}")
    return float(value)


def _apply_limits(base: Limits, raw: Mapping[str, Any], where: str) -> Limits:
    """``base`` with the limits given in ``raw`` (YAML/override shape) replaced."""
    changes: dict[str, float | None] = {}
    for group in ("normal", "warning", "critical"):
        if group not in raw:
            continue
        value = raw[group]
        sides = ("min", "max") if group == "normal" else ("low", "high")
        if group == "normal" and isinstance(value, list):
            if len(value) != 2:
                raise ChecklistError(f"{where}.normal: expected [min, max], got {value!r}")
            value = dict(zip(sides, value, strict=True))
        if not isinstance(value, dict):
            raise ChecklistError(
                f"{where}.{group}: expected a mapping with {' and/or '.join(sides)}, got {value!r}"
            )
        for key in value:
            if key not in sides:
                raise ChecklistError(
                    f"{where}.{group}.{key}: unknown field; expected {' or '.join(sides)}"
                )
            changes[LIMIT_FIELDS[(group, key)]] = _limit_value(value[key], f"{where}.{group}.{key}")
    return replace(base, **changes)


def resolve_limits(item: Item, overrides: Mapping[str, Mapping[str, Any] | None]) -> Limits:
    """The item's limits with the site, room and asset overrides applied in that order.

    Raises ``ValidationFailed`` keyed ``<scope>.<group>.<side>`` (e.g. ``asset.warning.high``)
    when an override is malformed or leaves the limits inconsistent; the blamed scope is the
    most specific one that set the offending limit (``item`` when none did).
    """
    unknown = [scope for scope in overrides if scope not in SCOPES]
    if unknown:
        raise ValidationFailed.one(
            unknown[0], f"unknown override scope; expected one of {', '.join(SCOPES)}"
        )
    limits = item.limits
    origin: dict[str, str] = {}
    for scope in SCOPES:
        raw = overrides.get(scope)
        if not raw:
            continue
        if not isinstance(raw, Mapping):
            raise ValidationFailed.one(scope, "expected a mapping of limits")
        extra = [k for k in raw if k not in ("normal", "warning", "critical")]
        if extra:
            raise ValidationFailed.one(
                f"{scope}.{extra[0]}", "unknown field; expected normal, warning or critical"
            )
        try:
            limits = _apply_limits(limits, raw, scope)
        except ChecklistError as exc:
            fld, _, message = str(exc).partition(": ")
            raise ValidationFailed.one(fld, message) from None
        for group, value in raw.items():
            names = ("min", "max") if group == "normal" else ("low", "high")
            given = names if isinstance(value, list) else tuple(value or ())
            for side in given:
                origin[f"{group}.{side}"] = scope
    problem = check_limits(limits)
    if problem:
        fld, message = problem
        involved = (fld, *_partners(fld))
        scope = next((s for s in reversed(SCOPES) if s in (origin.get(f) for f in involved)), None)
        if scope is None:
            raise ValidationFailed.one(f"item.{fld}", message)
        blamed = next(f for f in involved if origin.get(f) == scope)
        raise ValidationFailed.one(f"{scope}.{blamed}", message)
    return limits


def _partners(fld: str) -> tuple[str, ...]:
    """Limits a failing field is compared with (to blame the override that set either)."""
    group = fld.split(".")[0]
    if group == "normal":
        return ("normal.max",)
    if group == "warning":
        return ("normal.min", "normal.max")
    return ("warning.low", "warning.high", "normal.min", "normal.max")


def evaluate(item: Item, value: Any, limits: Limits | None = None) -> Outcome:
    """Judge one answer. ``limits`` default to the item's own (see ``resolve_limits``)."""
    if _blank(value) or (isinstance(value, list | tuple) and not value):
        return _invalid("required") if item.required else _ok()
    kind = KINDS.get(item.kind)
    if kind is None:
        return _invalid("unsupported", kind=item.kind)
    return kind.judge(item, value, item.limits if limits is None else limits)


# --- loading ----------------------------------------------------------------------------------


def _no_unknown(raw: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = set(allowed)
    for key in raw:
        if key not in allowed:
            raise ChecklistError(f"{where}.{key}: unknown field")


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
    _no_unknown(raw, COMMON_FIELDS | kind.fields, where)
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
        tolerance = _limit_value(raw["tolerance"], f"{where}.tolerance")
        if tolerance is None or tolerance < 0:
            raise ChecklistError(f"{where}.tolerance: expected a number >= 0")
        values["tolerance"] = tolerance
    values.update(kind.define(raw, where))
    return Item(**values)


def load_checklist(text: str, source: str) -> Checklist:
    """Parse one checklist file; ``source`` is its path (the stem is the key)."""
    key = Path(source).stem
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ChecklistError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ChecklistError(
            f"{source}: expected a mapping with title and items at the top level, "
            f"got {type(data).__name__}"
        )
    _no_unknown(data, {"title", "title_en", "applies_to", "items"}, source)
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
