"""The checklist schema's values: a checklist, its items and options, the limits of a reading,
the outcome of judging an answer, and the limit rules (bands, their consistency, overrides site
→ room → asset). The YAML format is in ``inspections.checklists``; each item kind is a module of
``inspections.items``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flask_babel import lazy_gettext as _l

from opskit.validation import ValidationFailed

URGENCIES = ("A", "B", "C")


LEVELS = ("ok", "warning", "critical")


SCOPES = ("site", "room", "asset")  # override order: least to most specific


KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")


METRIC_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class ChecklistError(ValueError):
    """A checklist file is invalid; the message names the file, the item and the field."""


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


def ok(code: str = "ok", **params: Any) -> Outcome:
    return Outcome("ok", code, params)


def invalid(code: str, **params: Any) -> Outcome:
    return Outcome("invalid", code, params)


def abnormal(item: Item, level: str, code: str, **params: Any) -> Outcome:
    return Outcome(level, code, params, item.urgency_for(level), item.requires_note_when_abnormal)


def fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}"


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def number(value: Any) -> float | None:
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


def no_unknown(raw: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    allowed = set(allowed)
    for key in raw:
        if key not in allowed:
            raise ChecklistError(f"{where}.{key}: unknown field")


def check_limits(limits: Limits) -> tuple[str, str] | None:
    """The first inconsistency as (field, message), or None.

    A warning limit must lie outside the normal range (at or beyond its edge on that side) and
    a critical limit outside the warning limits; equal values are allowed. With no bound on a
    side of the inner range, a limit on that side would be inside it, which is an error.
    """
    nmin, nmax = limits.normal_min, limits.normal_max
    if nmin is not None and nmax is not None and nmin > nmax:
        return "normal.min", f"{fmt(nmin)} is above normal.max {fmt(nmax)}"
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
            need = f"at or below {fmt(edge)}" if side == "low" else f"at or above {fmt(edge)}"
            if edge is None:
                need = f"a bound on the {side} side of {name} first"
            return (
                f"{group}.{side}",
                f"{fmt(value)} lies inside {name} {fmt(low)}–{fmt(high)}; "
                f"it must be outside (needs {need})",
            )
    return None


def limit_value(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ChecklistError(f"{where}: expected a number or null, got {value!r}")
    return float(value)


def apply_limits(base: Limits, raw: Mapping[str, Any], where: str) -> Limits:
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
            changes[LIMIT_FIELDS[(group, key)]] = limit_value(value[key], f"{where}.{group}.{key}")
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
            limits = apply_limits(limits, raw, scope)
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
        set_by = {origin.get(f) for f in involved}
        blamer = next((s for s in reversed(SCOPES) if s in set_by), None)
        if blamer is None:
            raise ValidationFailed.one(f"item.{fld}", message)
        blamed = next(f for f in involved if origin.get(f) == blamer)
        raise ValidationFailed.one(f"{blamer}.{blamed}", message)
    return limits


def _partners(fld: str) -> tuple[str, ...]:
    """Limits a failing field is compared with (to blame the override that set either)."""
    group = fld.split(".")[0]
    if group == "normal":
        return ("normal.max",)
    if group == "warning":
        return ("normal.min", "normal.max")
    return ("warning.low", "warning.high", "normal.min", "normal.max")
