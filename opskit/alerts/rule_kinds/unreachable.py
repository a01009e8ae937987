"""``unreachable``: critical while the device's monitor is down (``for``: that long)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opskit.alerts.rule_kinds.base import Judges, Rule, Seen


@dataclass(frozen=True)
class Unreachable:
    judges: Judges = "status"
    has_limits: bool = False

    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        return {}

    def level(self, rule: Rule, seen: Seen, current: str) -> str:
        return "ok" if seen.up else "critical"


KIND = Unreachable()
