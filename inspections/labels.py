"""The words for patrol states and levels: one wording on every page, export and report."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from inspections.items import kind_of
from inspections.items.check import CHECK_LABELS

__all__ = [
    "CHECK_LABELS",
    "LEVEL_LABELS",
    "ROUND_STATUS_LABELS",
    "SLOT_STATE_LABELS",
    "answer_text",
    "text",
]

#: a planned slot of today's patrol (``inspections.queries.rounds_for_day``)
SLOT_STATE_LABELS = {
    "due": _l("Due"),
    "in_progress": _l("In progress"),
    "done": _l("Done"),
    "overdue": _l("Overdue"),
}
#: a round's status (``PatrolRound.status``)
ROUND_STATUS_LABELS = {
    "draft": _l("In progress"),
    "submitted": _l("Submitted"),
    "approved": _l("Approved"),
}
#: an answer's or finding's level (``inspections.checklists.LEVELS`` plus invalid)
LEVEL_LABELS = {
    "ok": _l("Normal"),
    "warning": _l("Warning"),
    "critical": _l("Critical"),
    "invalid": _l("Invalid"),
}
#: a check item's answer (pass or fail): ``CHECK_LABELS``, kept by its kind's module


def text(labels: Mapping[str, Any], key: str) -> str:
    """The label of ``key`` as plain text (for workbooks), the key itself when unknown."""
    return str(labels[key]) if key in labels else key


def answer_text(item: Any, value: str) -> str:
    """An answer as the engineer chose it, in the reader's language: 合格/不合格 for a check,
    the option's label for a choice; a reading's number, a text answer (or an answer of an item
    or option no longer in the checklist) as it was stored."""
    if not value or item is None:
        return value
    english = str(get_locale() or "").startswith("en")
    return kind_of(item).answer_text(item, value, english)
