"""What an item kind is: the typed protocol every kind module implements, with the defaults of
a kind that is never abnormal and never sampled (the signature)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from inspections.definitions import Item, Limits, Outcome, invalid, ok


class ItemKind(Protocol):
    """One kind of checklist item (``kind:`` in the YAML)."""

    # read-only attributes (properties here), so that frozen dataclasses implement them

    @property
    def label(self) -> Any:
        """What the pages call the kind (lazy text)."""

    @property
    def fields(self) -> frozenset[str]:
        """The YAML fields it takes besides the common ones."""

    @property
    def control(self) -> str:
        """Template of the form control on the round page ("": none on the item's row)."""

    @property
    def per_item(self) -> bool:
        """False: answered once for the whole round (the signature), not listed."""

    @property
    def has_limits(self) -> bool:
        """A number judged by limits: shown, overridable, banded, trended."""

    @property
    def by_photo(self) -> bool:
        """Answered by taking a photo (required: at least one photo)."""

    @property
    def samples_abnormal(self) -> bool:
        """``sample`` makes an abnormal answer of any item of the kind when asked (a reading
        beyond its warning limit, a failed check); a choice has abnormal options only when its
        checklist gives some, so the demo's seeder picks only these kinds for a finding."""

    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        """The ``Item`` fields its YAML gives (raises ``ChecklistError`` naming the field)."""
        ...

    def judge(self, item: Item, value: Any, limits: Limits) -> Outcome:
        """The outcome of a non-empty answer: ok, warning, critical or invalid."""
        ...

    def number(self, value: str) -> float | None:
        """The number stored with an answer for trends (None: not a number kind)."""
        ...

    def answer_text(self, item: Item, value: str, english: bool) -> str:
        """An answer as the engineer chose it, in the reader's language."""
        ...

    def sample(
        self, item: Item, limits: Limits, rng: random.Random, abnormal: bool, remark: str
    ) -> str | None:
        """A plausible answer (the demo's rounds), abnormal when ``abnormal`` and the kind can
        be; ``remark``: what a free-text answer says. ``None``: the kind is left unanswered
        (a photo, the signature)."""
        ...


@dataclass(frozen=True)
class Kind:
    """Defaults: no extra fields, any text is fine, no number, the answer shown as stored."""

    label: Any
    fields: frozenset[str] = frozenset()
    control: str = ""
    per_item: bool = True
    has_limits: bool = False
    by_photo: bool = False
    samples_abnormal: bool = False

    def define(self, raw: dict[str, Any], where: str) -> dict[str, Any]:
        return {}

    def judge(self, item: Item, value: Any, limits: Limits) -> Outcome:
        return ok() if isinstance(value, str) else invalid("not_text")

    def number(self, value: str) -> float | None:
        return None

    def answer_text(self, item: Item, value: str, english: bool) -> str:
        return value

    def sample(
        self, item: Item, limits: Limits, rng: random.Random, abnormal: bool, remark: str
    ) -> str | None:
        return None
