"""What the desk's services share: roles, the history event, the guarded status change
(``claim``), phone numbers and scanned labels."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from assets import queries as registry
from opskit import db
from opskit.audit import current_actor
from opskit.models import Role, User
from opskit.servicedesk.models import (
    EventKind,
    RequestEvent,
    ServiceRequest,
    Status,
)
from opskit.validation import ValidationFailed

CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(
    r"^(?:0\d{2,3}-?|\(0\d{2,3}\))[1-9]\d{6,7}(?:(?:-|转|ext\.?|x|#)\d{1,6})?$", re.IGNORECASE
)
WORKER_ROLES = (Role.ADMIN.value, Role.SUPERVISOR.value, Role.ENGINEER.value)
ASSIGNER_ROLES = (Role.ADMIN.value, Role.SUPERVISOR.value)


class NotAllowed(PermissionError):
    """The acting account's role may not take this step (a view answers 403)."""


# --- helpers ---------------------------------------------------------------------------------


def new_client_id() -> str:
    return uuid.uuid4().hex


def is_phone_number(text: str) -> bool:
    """A Chinese mobile number, or a landline with its area code (and an extension)."""
    value = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    value = re.sub(r"^(?:\+|00)86-?", "", value)
    if _MOBILE.match(value.replace("-", "")) and re.fullmatch(r"[\d-]+", value):
        return True
    return bool(_LANDLINE.match(value))


def tag_of(scanned: str) -> str:
    """The asset tag in a scanned label (its URL ``<base>/a/<tag>``) or a typed tag."""
    return registry.label_tag(scanned)


def actor() -> str:
    return current_actor()[1]


def role() -> str | None:
    """The acting account's role; None for commands and opskit's own jobs (no account)."""
    actor_id, _name = current_actor()
    if actor_id is None:
        return None
    user = db.session().get(User, actor_id)
    return user.role if user is not None else Role.VIEWER.value


def require(roles: Iterable[str], message: str) -> None:
    acting = role()
    if acting is not None and acting not in roles:
        raise NotAllowed(message)


def require_worker() -> None:
    require(WORKER_ROLES, _("Only engineers, supervisors and admins work requests."))


def require_worker_or_requester(req: ServiceRequest) -> None:
    """Workers; a viewer only on a request they logged themselves."""
    acting = role()
    if acting is None or acting in WORKER_ROLES:
        return
    if req.created_by != actor():
        raise NotAllowed(_("A viewer may change only the requests they logged."))


def event(
    req: ServiceRequest,
    kind: EventKind,
    at: datetime,
    *,
    note: str = "",
    detail: str = "",
    before: str | None = None,
    after: str | None = None,
    by: str | None = None,
) -> RequestEvent:
    """A row of the request's history: ``note`` what a person wrote, ``detail`` the key the
    pages put in words (a clock, a reason, a mode, a tag, a user), ``before``/``after`` the
    status, ``by`` the actor (default the acting one)."""
    row = RequestEvent(
        request=req,
        kind=kind.value,
        at=at,
        actor=by or actor(),
        note=note.strip(),
        detail=detail,
        from_status=before,
        to_status=after,
    )
    db.session().add(row)
    return row


def status_word(status: str) -> str:
    labels = Status.labels()
    return str(labels[status]) if status in labels else status


def refused(req: ServiceRequest, message: str) -> ValidationFailed:
    return ValidationFailed.one(
        "status", message % {"number": req.number, "status": status_word(req.status)}
    )


def claim(req: ServiceRequest, allowed: Iterable[str], message: str, **values: Any) -> str:
    """Write ``values`` to the request's row only while its status is one of ``allowed``;
    the status it had. Refused (``message``, with ``%(number)s`` and ``%(status)s``) when it is
    not, or when another request (a retry, a colleague) changed it first."""
    allowed = tuple(allowed)
    before = req.status
    if before not in allowed:
        raise refused(req, message)
    sess = db.session()
    sess.flush()
    result = sess.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == req.id, ServiceRequest.status == before)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if db.rowcount(result) != 1:  # a retry or a colleague changed it since it was read
        sess.refresh(req)
        raise refused(req, _("%(number)s was changed meanwhile (it is %(status)s now)."))
    for key, value in values.items():
        set_committed_value(req, key, value)
    return before


def when(req: ServiceRequest, at: datetime | None) -> datetime:
    now = at or db.utcnow()
    if now < req.raised_at:
        raise ValidationFailed.one("at", _("A step cannot come before the request was raised."))
    return now


def take(req: ServiceRequest, values: dict[str, Any]) -> bool:
    """The first engineer to respond takes an unassigned request (only a logged-in one)."""
    actor_id, actor = current_actor()
    if req.assigned_to is None and actor_id is not None and role() in WORKER_ROLES:
        values["assigned_to"] = actor
        return True
    return False


def room_of_asset(asset: registry.Asset) -> int | None:
    if asset.room_id is not None:
        return asset.room_id
    return asset.rack.room_id if asset.rack is not None else None


def find_request(client_id: str) -> ServiceRequest | None:
    return db.session().scalar(select(ServiceRequest).where(ServiceRequest.client_id == client_id))
