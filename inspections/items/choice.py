"""``choice``: one of the item's options (by key); an option's ``level`` says whether choosing
it is a finding (ok, warning, critical)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from inspections.definitions import (
    LEVELS,
    ChecklistError,
    Item,
    Limits,
    Option,
    Outcome,
    abnormal,
    invalid,
    no_unknown,
    ok,
)
from inspections.items.base import Kind


@dataclass(frozen=True)
class Choice(Kind):
    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
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
            no_unknown(opt, {"key", "label", "label_en", "level"}, here)
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

    def judge(self, item: Item, value: Any, limits: Limits) -> Outcome:
        for option in item.options:
            if option.key == value:
                if option.level == "ok":
                    return ok()
                return abnormal(item, option.level, "abnormal_option", option=option.label)
        return invalid(
            "unknown_option", value=str(value), options=", ".join(o.key for o in item.options)
        )

    def answer_text(self, item: Item, value: str, english: bool) -> str:
        chosen = next((o for o in item.options if o.key == value), None)
        if chosen is None:  # an option no longer in the checklist: as it was stored
            return value
        return (chosen.label_en or chosen.label) if english else chosen.label

    def sample(
        self, item: Item, limits: Limits, rng: random.Random, abnormal: bool, remark: str
    ) -> str | None:
        """The first option of the wanted level (ok, or abnormal), else the first option."""
        wanted = [o for o in item.options if (o.level != "ok") == abnormal] or list(item.options)
        return wanted[0].key


KIND = Choice(_l("Choice"), frozenset({"options"}), "inspections/items/choice.html")
