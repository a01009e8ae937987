"""What an alert rule kind is: the typed ``RuleKind`` protocol every kind module implements, the
``Rule`` it defines and judges, and what a rule is shown (``Seen``).

A kind is one module of ``opskit/alerts/rule_kinds/``, registered in ``rule_kinds.KINDS``. It
reads its own fields of a rule's YAML (``define``: raising ``RuleError`` naming the field) and
judges what the engine (``opskit.alerts.rules``) shows it: each reading of the rule's metric,
the device's up/down, or the age of the asset's newest reading (``judges``), as a level (ok,
warning, critical). The engine keeps the rule states, the holds (``for``) and the alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, Protocol

#: what the engine shows a rule of a kind: each reading of its metric, the device's up/down
#: (its monitor), or how old the asset's newest reading is
Judges = Literal["reading", "status", "age"]


class RuleError(ValueError):
    """A rule definition is invalid; the message names the file, rule and key."""


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    message: str
    urgency: Any  # "A" | {"warning": "C", "critical": "B"} | {"core": "A", ...}
    #: what the pages call the rule (Chinese, the site's language), and in English
    title: str = ""
    title_en: str = ""
    metric: str = ""
    warning: float | None = None
    critical: float | None = None
    recovery: float | None = None
    direction: str = "above"
    states: tuple[str, ...] = ()
    hold: timedelta = timedelta(0)  # "for"
    after: timedelta = timedelta(0)  # stale

    def urgency_for(self, level: str, importance: str) -> str:
        if isinstance(self.urgency, str):
            return self.urgency
        if level in self.urgency:
            return self.urgency[level]
        return self.urgency.get(importance, "C")


@dataclass(frozen=True)
class Seen:
    """What the engine shows one rule: a reading's ``value`` (``judges == "reading"``), whether
    the device is ``up`` ("status"), or the ``age`` of the newest reading ("age"; ``None``:
    never read)."""

    value: Any = None
    up: bool = True
    age: timedelta | None = None


class RuleKind(Protocol):
    """One kind of alert rule (``kind:`` in ``rules.yaml``)."""

    # read-only attributes (properties here), so that frozen dataclasses implement them

    @property
    def judges(self) -> Judges:
        """What the engine shows a rule of this kind (``Seen``)."""

    @property
    def has_limits(self) -> bool:
        """Warning/critical limits on a number (the dashboard lists what is over them)."""

    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        """The ``Rule`` fields its YAML gives (raises ``RuleError`` naming the field)."""
        ...

    def level(self, rule: Rule, seen: Seen, current: str) -> str:
        """The level (ok, warning, critical) ``seen`` puts the rule at, now at ``current``.
        Raises ``TypeError``/``ValueError`` for a value it cannot judge (never an alert)."""
        ...


def number(raw: dict[str, Any], key: str, where: str) -> float | None:
    """The number at ``key`` (``None`` when absent)."""
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError(f"{where}.{key}: expected a number, got {value!r}")
    return float(value)


def metric(raw: dict[str, Any], where: str, kind: str) -> str:
    """The metric a rule of ``kind`` watches (required)."""
    if not raw.get("metric"):
        raise RuleError(f"{where}.metric: required for a {kind} rule")
    return str(raw["metric"])
