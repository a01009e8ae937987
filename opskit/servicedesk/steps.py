"""The steps of a request's life as the pages and the API take them: each reads what was sent
(a form, or a JSON object already checked against its schema) and calls its service, which
checks the role and the status and records the step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.servicedesk import services
from opskit.servicedesk.models import ServiceRequest
from opskit.validation import ValidationFailed

Values = Mapping[str, Any]
Step = Callable[[ServiceRequest, Values], ServiceRequest]


def _text(values: Values, name: str) -> str:
    value = values.get(name)
    return value if isinstance(value, str) else ""


def _spare(values: Values) -> int | None:
    """The spare machine lent: an id (the API), or the form's chosen option (text)."""
    value = values.get("spare_asset_id")
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.isdigit() or len(text) > 9:
        raise ValidationFailed.one("spare_asset_id", _("No such asset."))
    return int(text)


#: step (its URL's last part) → what it does
STEPS: dict[str, Step] = {
    "respond": lambda req, v: services.respond(req, _text(v, "note")),
    "start": lambda req, v: services.start_work(req, _text(v, "mode"), _text(v, "note")),
    "arrive": lambda req, v: services.arrive(req, _text(v, "scanned_code")),
    "suspend": lambda req, v: services.suspend(req, _text(v, "reason"), _text(v, "note")),
    "resume": lambda req, v: services.resume(req, _text(v, "note")),
    "resolve": lambda req, v: services.resolve(
        req, _text(v, "cause"), _text(v, "work_done"), _text(v, "parts_note")
    ),
    "close": lambda req, v: services.close(req, note=_text(v, "note")),
    "reopen": lambda req, v: services.reopen(req, _text(v, "note")),
    "assign": lambda req, v: services.assign(req, _text(v, "assigned_to")),
    "temporary-measure": lambda req, v: services.set_temporary_measure(
        req, _text(v, "temporary_measure"), _spare(v), _text(v, "note")
    ),
}
#: what the page says once a step is taken
DONE = {
    "respond": _l("%(number)s: responded."),
    "start": _l("%(number)s: work started."),
    "arrive": _l("%(number)s: arrival on site recorded."),
    "suspend": _l("%(number)s: suspended; its clocks stand still."),
    "resume": _l("%(number)s: resumed; its clocks run again."),
    "resolve": _l("%(number)s: resolved."),
    "close": _l("%(number)s: closed."),
    "reopen": _l("%(number)s: reopened."),
    "assign": _l("%(number)s: assigned."),
    "temporary-measure": _l("%(number)s: temporary measure recorded."),
}
#: the steps a viewer (the customer's staff) may take on a request they logged
REQUESTER_STEPS = ("close", "reopen")


def endpoint(step: str) -> str:
    """The view's name of a step: ``temporary-measure`` → ``temporary_measure``."""
    return step.replace("-", "_")
