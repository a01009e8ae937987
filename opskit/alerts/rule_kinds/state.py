"""``state``: critical while a reading of ``metric`` is one of ``states`` (UPS on battery,
cooling fault)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opskit.alerts.rule_kinds.base import Judges, Rule, RuleError, Seen, metric


@dataclass(frozen=True)
class State:
    judges: Judges = "reading"
    has_limits: bool = False

    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"metric": metric(raw, where, "state")}
        states = raw.get("states")
        if not isinstance(states, list) or not states:
            raise RuleError(f"{where}.states: expected a list of states")
        fields["states"] = tuple(str(s) for s in states)
        return fields

    def level(self, rule: Rule, seen: Seen, current: str) -> str:
        return "critical" if str(seen.value) in rule.states else "ok"


KIND = State()
