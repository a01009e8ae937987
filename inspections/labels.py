"""The words for patrol states and levels: one wording on every page, export and report."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

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


def text(labels: dict, key: str) -> str:
    """The label of ``key`` as plain text (for workbooks), the key itself when unknown."""
    return str(labels[key]) if key in labels else key
