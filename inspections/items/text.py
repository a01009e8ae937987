"""``text``: free text (remarks). Never abnormal."""

from __future__ import annotations

import random
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from inspections.definitions import Item, Limits
from inspections.items.base import Kind


@dataclass(frozen=True)
class Text(Kind):
    def sample(
        self, item: Item, limits: Limits, rng: random.Random, abnormal: bool, remark: str
    ) -> str | None:
        return remark if item.required and remark else None  # an optional remark: left out


KIND = Text(_l("Text"), control="inspections/items/text.html")
