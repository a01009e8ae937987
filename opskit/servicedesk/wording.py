"""How the service desk says things: its clocks, their states and a request's history events.

The enumerations carry their own words (``Status.labels()``, ``Channel.labels()`` … in
``models``; Simplified Chinese through the catalog, ``.zh_labels()`` for workbooks); the
categories theirs in ``categories.yaml``. Never a stored key on a page.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.people import full_name
from opskit.servicedesk.models import CloseHow, EventKind, SuspendReason, WorkMode

CLOCK_NAMES = {
    "acknowledge": _l("Respond"),
    "onsite": _l("On site"),
    "resolve": _l("Resolve"),
    "fix_by": _l("Fix-by cap"),
}
CLOCK_STATE_LABELS = {
    "running": _l("Running"),
    "paused": _l("Paused"),
    "overdue": _l("Overdue"),
    "met": _l("Met"),
    "missed": _l("Done late"),
}
SLA_EVENTS = (EventKind.SLA_WARNING.value, EventKind.SLA_BREACHED.value)


def event_text(kind: str, detail: str = "") -> str:
    """An event as a phrase, its detail in words: 挂起（等待厂商）, SLA 已超时（到场）."""
    labels = EventKind.labels()
    label = str(labels[kind]) if kind in labels else kind.replace("_", " ")
    words: dict[str, Any] = {}
    if kind in SLA_EVENTS:
        words = CLOCK_NAMES
    elif kind == EventKind.SUSPENDED.value:
        words = SuspendReason.labels()
    elif kind == EventKind.CLOSED.value:
        words = CloseHow.labels()
    elif kind == EventKind.WORK_STARTED.value:
        words = WorkMode.labels()
    if detail in words:
        shown = str(words[detail])
    elif kind == EventKind.ASSIGNED.value:
        shown = full_name(detail)
    else:
        shown = detail  # a tag scanned, a spare lent
    return _("%(event)s (%(detail)s)", event=label, detail=shown) if shown else label


def clock_title(group: str, name: str) -> str | None:
    """What the desk's notices (alerts of rule ``servicedesk.request.<clock>``) are called:
    the clock's name; registered with ``opskit.alerts.wording.register_rule_titles``."""
    if group == "request" and name in CLOCK_NAMES:
        return _("Request clock: %(clock)s", clock=CLOCK_NAMES[name])
    return None
