"""Rounds: start (from a plan's slot or ad hoc), submit (answers, signature, findings), review.

The tablet generates a round's ``client_id`` when the round starts; every call here finds the
round by that id, so a retried request never makes a second round: ``start_round`` returns the
existing round for a known id; ``submit_round`` creates the round if the tablet started it
while the server was away, stores every answer it carries, then signs and submits it;
submitting a submitted round again returns it unchanged. Flushes; the caller commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from assets import queries as assets
from inspections import forms
from inspections.models import (
    PatrolPlan,
    PatrolRound,
    RoundStatus,
)
from inspections.queries import catalog, rounds, schedule
from inspections.queries.rounds import find_round
from inspections.services import answers, common, findings
from opskit import db
from opskit.audit import current_actor
from opskit.validation import ValidationFailed

SIGNATURE_MAX_CHARS = 200_000  # a drawn signature is a PNG data URL


SIGNATURE_RE = re.compile(r"^data:image/png;base64,[A-Za-z0-9+/=]+$")


def new_client_id() -> str:
    return uuid.uuid4().hex


def _create_round(
    client_id: str,
    *,
    room_id: int | None,
    checklist_keys: Iterable[str] | None,
    plan_id: int | None,
    scheduled_for: datetime | None,
    started_at: datetime | None,
) -> PatrolRound:
    patrol = unsaved_round(
        client_id,
        room_id=room_id,
        checklist_keys=checklist_keys,
        plan_id=plan_id,
        scheduled_for=scheduled_for,
        started_at=started_at,
    )
    sess = db.session()
    sess.add(patrol)
    sess.flush()
    return patrol


def unsaved_round(
    client_id: str,
    *,
    room_id: int | None,
    checklist_keys: Iterable[str] | None = None,
    plan_id: int | None = None,
    scheduled_for: datetime | None = None,
    started_at: datetime | None = None,
) -> PatrolRound:
    """A draft round as starting it would create, not added to the session (validated the
    same way). The offline start page renders one so a tablet can begin a round while the
    server is out of reach; the round is created when its queued start reaches the server."""
    sess = db.session()
    plan = sess.get(PatrolPlan, plan_id) if plan_id is not None else None
    if plan_id is not None and plan is None:
        raise ValidationFailed.one("plan_id", _("Unknown patrol plan."))
    keys = list(checklist_keys or (plan.checklist_keys if plan else []))
    if room_id is None and plan is not None and plan.room_id is not None:
        room_id = plan.room_id
    errors: dict[str, list[str]] = {}
    if room_id is None or assets.site_id_of_room(room_id) is None:
        errors["room_id"] = [_("Choose the room of the round.")]
    elif plan is not None and room_id not in schedule.plan_rooms(plan):
        errors["room_id"] = [_("The plan does not cover this room.")]
    if not keys:
        errors["checklist_keys"] = [_("Choose at least one checklist.")]
    else:
        known = catalog.checklists()
        unknown = [k for k in keys if k not in known]
        if unknown:
            errors["checklist_keys"] = [_("Unknown checklist %(key)s.", key=unknown[0])]
    if errors:
        raise ValidationFailed(errors)
    assert room_id is not None
    actor_id, actor = current_actor()
    patrol = PatrolRound(
        client_id=client_id,
        plan=plan,
        plan_id=plan.id if plan else None,  # set now: an unsaved round is never flushed
        room_id=room_id,
        checklist_keys=keys,
        targets=schedule.round_targets(room_id, keys, plan.asset_kinds if plan else ()),
        scheduled_for=scheduled_for,
        started_at=started_at or db.utcnow(),
        engineer_id=actor_id,
        engineer=actor,
        status=RoundStatus.DRAFT.value,
    )
    return patrol


def start_round(
    client_id: str | None = None,
    *,
    room_id: int | None = None,
    checklist_keys: Iterable[str] | None = None,
    plan_id: int | None = None,
    scheduled_for: datetime | str | None = None,
    started_at: datetime | str | None = None,
) -> PatrolRound:
    """Start a round from a plan (``plan_id`` + room + slot) or ad hoc (room + checklists).

    Starting with a ``client_id`` that exists returns that round (a retried start).
    """
    cid = forms.client_id(client_id or new_client_id())
    slot = forms.when(scheduled_for, "scheduled_for")
    began = forms.when(started_at, "started_at")

    existing = find_round(cid)
    if existing is not None:
        return existing
    return _create_round(
        cid,
        room_id=room_id,
        checklist_keys=checklist_keys,
        plan_id=plan_id,
        scheduled_for=slot,
        started_at=began,
    )


def _signature(data: Mapping[str, Any]) -> tuple[str, str]:
    """The submission's signer's name and drawn signature (checked)."""
    signature_name = str(data.get("signature_name") or "").strip()
    signature_image = str(data.get("signature_image") or "").strip()
    if signature_image and (
        len(signature_image) > SIGNATURE_MAX_CHARS or not SIGNATURE_RE.match(signature_image)
    ):
        raise ValidationFailed.one("signature_image", _("The drawn signature is not a PNG image."))
    return signature_name, signature_image


def save_submission(client_id: str, data: Mapping[str, Any]) -> PatrolRound:
    """The first half of ``submit_round``: create the round if the tablet started it while the
    server was away and store every answer the submission carries (flushes). A round already
    submitted is returned unchanged (a retry of a submission that went through).

    A caller that must keep the answers when the submission is then refused (the round page:
    nothing typed is lost) commits this before ``sign_round``."""
    cid = forms.client_id(client_id)
    _signature(data)
    given = data.get("answers") or []
    if not isinstance(given, list):
        raise ValidationFailed.one("answers", _("Expected a list of answers."))
    patrol = find_round(cid, lock=True)
    if patrol is None:
        patrol = _create_round(
            cid,
            room_id=forms.int_or_none(data.get("room_id")),
            checklist_keys=forms.keys(data.get("checklist_keys")) or None,
            plan_id=forms.int_or_none(data.get("plan_id")),
            scheduled_for=forms.when(data.get("scheduled_for"), "scheduled_for"),
            started_at=forms.when(data.get("started_at"), "started_at"),
        )
    if patrol.status != RoundStatus.DRAFT.value:
        return patrol
    memo = answers._Memo(patrol)
    with db.session().no_autoflush:
        for answer in given:
            if isinstance(answer, Mapping):
                answers._store_answer(patrol, answer, memo)
    db.session().flush()
    return patrol


def sign_round(client_id: str, data: Mapping[str, Any]) -> PatrolRound:
    """The second half of ``submit_round``: check that nothing required is missing, sign and
    submit the stored round, raise its findings (flushes). Submitting a submitted round again
    returns it unchanged. Raises ``ValidationFailed`` naming each missing item."""
    cid = forms.client_id(client_id)
    signature_name, signature_image = _signature(data)
    signed_at = forms.when(data.get("signed_at"), "signed_at")
    current = find_round(cid, lock=True)
    if current is None:
        raise ValidationFailed.one("client_id", _("Unknown round."))
    if current.status != RoundStatus.DRAFT.value:
        return current
    db.session().refresh(current)
    errors = rounds.missing_answers(current)
    if not signature_name and not signature_image:
        errors["signature"] = [_("Sign the round: your name or a drawn signature.")]
    if errors:
        raise ValidationFailed(errors)
    now = db.utcnow()
    current.signature_name = signature_name or current.engineer
    current.signature_image = signature_image
    current.signed_at = signed_at or now
    current.submitted_at = now
    current.status = RoundStatus.SUBMITTED.value
    db.session().flush()
    findings._raise_findings(current)
    return current


def submit_round(client_id: str, data: Mapping[str, Any]) -> PatrolRound:
    """Save the round's answers, sign and submit it (idempotent by ``client_id``; flushes):
    ``save_submission`` then ``sign_round`` in the caller's one transaction.

    ``data``: ``answers`` (list of answer mappings as for ``save_answer``), ``signature_name``,
    ``signature_image`` (PNG data URL, optional), ``signed_at``; and, for a round the server
    has not seen yet (started offline), ``room_id``, ``checklist_keys``, ``plan_id``,
    ``scheduled_for``, ``started_at``. A refusal (``ValidationFailed`` naming each missing
    item) comes after the answers are stored; the round page commits them first (see
    ``save_submission``) so nothing typed is lost.
    """
    patrol = save_submission(client_id, data)
    if patrol.status != RoundStatus.DRAFT.value:
        return patrol
    return sign_round(client_id, data)


def approve_round(patrol: PatrolRound, comment: str = "") -> PatrolRound:
    """A supervisor approves a submitted round; it becomes read-only (flushes)."""
    patrol = common.current(patrol)
    if patrol.status == RoundStatus.APPROVED.value:
        raise ValidationFailed.one("status", _("The round is already approved."))
    if patrol.status != RoundStatus.SUBMITTED.value:
        raise ValidationFailed.one("status", _("Only a submitted round can be approved."))
    patrol.status = RoundStatus.APPROVED.value
    patrol.reviewer = common.actor()
    patrol.review_comment = comment.strip()
    patrol.approved_at = db.utcnow()
    db.session().flush()
    return patrol


def comment_round(patrol: PatrolRound, comment: str) -> PatrolRound:
    """A supervisor's comment on a submitted round without approving it (flushes)."""
    patrol = common.current(patrol)
    if patrol.read_only:
        raise ValidationFailed.one("status", _("The round is approved and read-only."))
    if not comment.strip():
        raise ValidationFailed.one("comment", _("Write a comment."))
    patrol.reviewer = common.actor()
    patrol.review_comment = comment.strip()
    db.session().flush()
    return patrol
