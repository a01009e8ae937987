"""``stale``: critical when the asset's newest reading is ``after`` old or more (or there is
none)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opskit.alerts.rule_kinds.base import Judges, Rule, Seen
from opskit.sla import parse_duration


@dataclass(frozen=True)
class Stale:
    judges: Judges = "age"
    has_limits: bool = False

    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        return {"after": parse_duration(raw.get("after"), f"{where}.after")}

    def level(self, rule: Rule, seen: Seen, current: str) -> str:
        return "critical" if seen.age is None or seen.age >= rule.after else "ok"


KIND = Stale()
