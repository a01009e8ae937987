"""``reading``: a number with a unit, judged by the normal range and the warning and critical
limits (see ``inspections.checklists``: every limit inclusive on the acceptable side), which the
stored overrides may change per site, room or asset; kept as a number for the trends."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from inspections.definitions import (
    ChecklistError,
    Item,
    Limits,
    Outcome,
    abnormal,
    apply_limits,
    check_limits,
    fmt,
    invalid,
    number,
    ok,
)
from inspections.items.base import Kind


@dataclass(frozen=True)
class Reading(Kind):
    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        unit = raw.get("unit")
        if not isinstance(unit, str) or not unit.strip():
            raise ChecklistError(f"{where}.unit: a reading needs a unit (e.g. V, A, %, °C)")
        limits = apply_limits(Limits(), raw, where)
        problem = check_limits(limits)
        if problem:
            raise ChecklistError(f"{where}.{problem[0]}: {problem[1]}")
        return {"unit": unit.strip(), "limits": limits}

    def judge(self, item: Item, value: Any, limits: Limits) -> Outcome:
        v = number(value)
        if v is None:
            return invalid("not_a_number", value=str(value))
        unit = item.unit
        if limits.critical_high is not None and v > limits.critical_high:
            return abnormal(
                item, "critical", "above_critical", limit=fmt(limits.critical_high) + unit
            )
        if limits.critical_low is not None and v < limits.critical_low:
            return abnormal(
                item, "critical", "below_critical", limit=fmt(limits.critical_low) + unit
            )
        high, low = limits.effective_warning_high, limits.effective_warning_low
        if high is not None and v > high:
            return abnormal(item, "warning", "above_warning", limit=fmt(high) + unit)
        if low is not None and v < low:
            return abnormal(item, "warning", "below_warning", limit=fmt(low) + unit)
        if (limits.normal_max is not None and v > limits.normal_max) or (
            limits.normal_min is not None and v < limits.normal_min
        ):
            span = f"{fmt(limits.normal_min)}–{fmt(limits.normal_max)}{unit}"
            return ok("outside_normal", range=span)
        return ok()

    def number(self, value: str) -> float | None:
        return number(value)

    def sample(
        self, item: Item, limits: Limits, rng: random.Random, abnormal: bool, remark: str
    ) -> str | None:
        """Within the normal range (its middle), or 1.5 beyond the warning limit."""
        if abnormal:
            high = limits.effective_warning_high
            if high is not None:
                return f"{high + 1.5:.1f}"
            low = limits.effective_warning_low
            return f"{(low or 1) - 1:.1f}"
        low, high = limits.normal_min, limits.normal_max
        if low is not None and high is not None:
            value = low + (high - low) * rng.uniform(0.3, 0.7)
        elif high is not None:
            value = high * rng.uniform(0.55, 0.8)
        elif low is not None:
            value = low * rng.uniform(1.05, 1.3) if low > 0 else rng.uniform(1, 5)
        else:
            value = rng.uniform(10, 50)
        return f"{value:.1f}"


KIND = Reading(
    _l("Reading"),
    frozenset({"unit", "normal", "warning", "critical"}),
    "inspections/items/reading.html",
    has_limits=True,
    samples_abnormal=True,
)
