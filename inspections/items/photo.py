"""``photo``: answered by taking a photo (a required one needs at least one); the value is a
photo id or a list of them. Never abnormal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from inspections.definitions import Item, Limits, Outcome, blank, invalid, ok
from inspections.items.base import Kind


@dataclass(frozen=True)
class Photo(Kind):
    def judge(self, item: Item, value: Any, limits: Limits) -> Outcome:
        if isinstance(value, list | tuple):
            given = all(isinstance(v, str) and not blank(v) for v in value)
            return ok() if value and given else invalid("required")
        return super().judge(item, value, limits)


KIND = Photo(_l("Photo"), by_photo=True)
