"""``threshold``: level from ``warning``/``critical`` limits on a reading of ``metric``
(``direction: above`` or ``below``); once abnormal, the condition clears only when the value
crosses ``recovery`` (hysteresis), so a value hovering at the limit does not flap."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opskit.alerts.rule_kinds.base import Judges, Rule, RuleError, Seen, metric, number


@dataclass(frozen=True)
class Threshold:
    judges: Judges = "reading"
    has_limits: bool = True

    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"metric": metric(raw, where, "threshold")}
        for key in ("warning", "critical", "recovery"):
            fields[key] = number(raw, key, where)
        w, c = fields["warning"], fields["critical"]
        if w is None and c is None:
            raise RuleError(f"{where}: a threshold rule needs warning or critical")
        direction = raw.get("direction", "above")
        if direction not in ("above", "below"):
            raise RuleError(f"{where}.direction: expected above or below, got {direction!r}")
        fields["direction"] = direction
        if (
            w is not None
            and c is not None
            and ((direction == "above" and c < w) or (direction == "below" and c > w))
        ):
            raise RuleError(f"{where}: critical must be beyond warning ({direction})")
        return fields

    def level(self, rule: Rule, seen: Seen, current: str) -> str:
        v = float(seen.value)
        above = rule.direction == "above"

        def beyond(limit: float) -> bool:
            return v >= limit if above else v <= limit

        if rule.critical is not None and beyond(rule.critical):
            return "critical"
        if rule.warning is not None and beyond(rule.warning):
            return "warning"
        if current != "ok" and rule.recovery is not None:
            recovered = v <= rule.recovery if above else v >= rule.recovery
            if not recovered:
                return "warning"  # hysteresis: abnormal until the recovery limit is crossed
        return "ok"


KIND = Threshold()
