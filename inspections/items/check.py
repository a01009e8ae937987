"""``check``: pass or fail (``true``/``false`` or ``"pass"``/``"fail"``); a fail is a finding
at the item's ``fail_level`` (warning by default, or critical)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from inspections.definitions import ChecklistError, Item, Limits, Outcome, abnormal, invalid, ok
from inspections.items.base import Kind

#: a check item's answer as a word
CHECK_LABELS = {
    "pass": _l("Pass"),
    "fail": _l("Fail"),
}


@dataclass(frozen=True)
class Check(Kind):
    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        level = raw.get("fail_level", "warning")
        if level not in ("warning", "critical"):
            raise ChecklistError(f"{where}.fail_level: expected warning or critical, got {level!r}")
        return {"fail_level": level}

    def judge(self, item: Item, value: Any, limits: Limits) -> Outcome:
        if isinstance(value, str):
            value = {"pass": True, "fail": False}.get(value.strip().lower(), value)
        if not isinstance(value, bool):
            return invalid("not_pass_fail")
        return ok() if value else abnormal(item, item.fail_level, "check_failed")

    def answer_text(self, item: Item, value: str, english: bool) -> str:
        return str(CHECK_LABELS[value]) if value in CHECK_LABELS else value

    def sample(
        self, item: Item, limits: Limits, rng: random.Random, abnormal: bool, remark: str
    ) -> str | None:
        return "fail" if abnormal else "pass"


KIND = Check(
    _l("Pass/fail check"),
    frozenset({"fail_level"}),
    "inspections/items/check.html",
    samples_abnormal=True,
)
