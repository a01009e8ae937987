"""Checklist item kinds, one module each, registered in one dict literal.

A kind (``inspections.items.base.ItemKind``) says which YAML fields it takes and how they are
read, how an answer is judged (ok / warning / critical / invalid), which form control the round
page shows (``templates/inspections/items/<kind>.html``), whether it is judged by limits, kept as
a number, answered by a photo or once for the whole round, and how an answer reads. The views,
services and exports ask the item's kind (``kind_of(item)``) instead of testing its name.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from inspections.definitions import Item, Limits, Outcome, invalid
from inspections.items import check, choice, photo, reading, signature, text
from inspections.items.base import ItemKind, Kind

KINDS: dict[str, ItemKind] = {
    "check": check.KIND,
    "reading": reading.KIND,
    "choice": choice.KIND,
    "text": text.KIND,
    "photo": photo.KIND,
    "signature": signature.KIND,
}


class _Unsupported(Kind):
    def judge(self, item: Item, value: object, limits: Limits) -> Outcome:
        return invalid("unsupported", kind=item.kind)


#: what an item of a kind no longer (or not yet) known is: shown, never judged ok
UNSUPPORTED: ItemKind = _Unsupported(_l("Unsupported"))


def kind_of(item: Item) -> ItemKind:
    """The kind of ``item`` (``UNSUPPORTED`` for a name not in ``KINDS``)."""
    return KINDS.get(item.kind, UNSUPPORTED)


__all__ = ["KINDS", "UNSUPPORTED", "ItemKind", "kind_of"]
