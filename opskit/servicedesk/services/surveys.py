"""满意度调研: the satisfaction survey of a request, answered once, by a signed link or on the
engineer's tablet.

**The survey.** ``open_survey`` gives a resolved or closed request its one survey (the request's
close creates it; the tablet page asks for it on demand): a random nonce and ``expires_at``,
``SURVEY_EXPIRY_DAYS`` (7) days later unless the app config says otherwise. Asked again, it
returns the survey the request has (the same nonce, the same link).

**The link** ``/survey/<token>``: the token is the request's id and the survey's nonce, signed
with the app's secret key (itsdangerous, salt ``SALT``). It works without an account. The link
carries no secret of its own besides the nonce: a token is accepted only when its signature
holds, the request has a survey and the survey's nonce is the token's.

**Answering** (``answer``, ``answer_on_tablet``): a score 1-5 and a comment, recorded once. The
write is ``UPDATE survey … WHERE used_at IS NULL AND expires_at > now`` with its row count
checked, so two submissions at once (a double tap, two phones) record one; the other is refused
as used. A refusal (``SurveyRefused``) records nothing and names its reason:

- ``tampered``: the signature does not hold (a changed character, a token of another
  installation) or the token names a nonce that is not its request's survey's;
- ``unknown``: a well-signed token of a request that has no survey (any more);
- ``expired``: past ``expires_at``;
- ``used``: answered already.

A wrong score or a comment too long is a ``ValidationFailed`` naming the field (``score``,
``comment``), checked after the token so a dead link never shows a form. The tablet hand-over
(``answer_on_tablet``) is for the logged-in engineer (engineers, supervisors, admins) and obeys
the same rules; it creates the survey when the request has none yet.
"""

from __future__ import annotations

import enum
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import select, update

from opskit import db
from opskit.servicedesk.models import ServiceRequest, Status, Survey
from opskit.servicedesk.services import common
from opskit.validation import ValidationFailed

#: days a survey link stays valid (app config ``SURVEY_EXPIRY_DAYS`` overrides)
SURVEY_EXPIRY_DAYS = 7
#: the itsdangerous salt of survey links: a token signed for anything else never passes
SALT = "opskit.servicedesk.survey"
SCORES = (1, 2, 3, 4, 5)
COMMENT_MAX = 2000
#: statuses of a request that may have its survey
SURVEYED_STATUSES = (Status.RESOLVED.value, Status.CLOSED.value)


class Via(enum.StrEnum):
    LINK = "link"
    TABLET = "tablet"


class Refusal(enum.StrEnum):
    """Why a survey answer (or the link's page) is refused."""

    TAMPERED = "tampered"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


class SurveyRefused(Exception):
    """The link or survey cannot take an answer; nothing was recorded."""

    def __init__(self, reason: Refusal, survey: Survey | None = None) -> None:
        self.reason = reason
        self.survey = survey
        super().__init__(reason.value)


# --- the survey and its link -----------------------------------------------------------------


def expiry_days() -> int:
    return int(current_app.config.get("SURVEY_EXPIRY_DAYS", SURVEY_EXPIRY_DAYS))


def survey_of(request_id: int) -> Survey | None:
    return db.session().scalar(select(Survey).where(Survey.request_id == request_id))


def open_survey(req: ServiceRequest, at: datetime | None = None) -> Survey:
    """The request's survey, created when it has none (flushes): a resolved or closed request
    only. Valid ``expiry_days()`` from ``at`` (now)."""
    existing = survey_of(req.id)
    if existing is not None:
        return existing
    if req.status not in SURVEYED_STATUSES:
        raise common.refused(
            req, _("%(number)s is %(status)s: a survey follows its resolution or closing.")
        )
    now = at or db.utcnow()
    survey = Survey(
        request_id=req.id,
        token_nonce=secrets.token_urlsafe(16),
        created_at=now,
        expires_at=now + timedelta(days=expiry_days()),
        comment="",
    )
    db.session().add(survey)
    db.session().flush()
    return survey


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(str(current_app.secret_key), salt=SALT)


def token_for(survey: Survey) -> str:
    """The signed token of the survey's link (``/survey/<token>``)."""
    return _serializer().dumps([survey.request_id, survey.token_nonce])


def survey_for_token(token: str) -> Survey:
    """The survey a token names, whatever its state; ``SurveyRefused`` (``tampered``,
    ``unknown``) when it names none."""
    try:
        payload: Any = _serializer().loads(token)
    except BadData:  # a wrong signature, or a payload that is not ours
        raise SurveyRefused(Refusal.TAMPERED) from None
    if (
        not isinstance(payload, list)
        or len(payload) != 2
        or not isinstance(payload[0], int)
        or isinstance(payload[0], bool)
        or not isinstance(payload[1], str)
    ):
        raise SurveyRefused(Refusal.TAMPERED)
    request_id, nonce = payload
    survey = survey_of(request_id)
    if survey is None:
        raise SurveyRefused(Refusal.UNKNOWN)
    if not secrets.compare_digest(survey.token_nonce, nonce):
        raise SurveyRefused(Refusal.TAMPERED)
    return survey


def _refuse_if_closed(survey: Survey, now: datetime) -> None:
    if survey.used_at is not None:
        raise SurveyRefused(Refusal.USED, survey)
    if survey.expires_at <= now:
        raise SurveyRefused(Refusal.EXPIRED, survey)


def check_link(token: str, at: datetime | None = None) -> Survey:
    """The survey of a link that can still be answered (nothing written); else
    ``SurveyRefused`` with its reason."""
    survey = survey_for_token(token)
    _refuse_if_closed(survey, at or db.utcnow())
    return survey


# --- answering -------------------------------------------------------------------------------


def clean_score(score: int | str | None) -> int:
    """The score as 1-5, else ``ValidationFailed`` on ``score``."""
    value: int | None = None
    if isinstance(score, int) and not isinstance(score, bool):
        value = score
    elif isinstance(score, str) and score.strip().isdigit():
        value = int(score.strip())
    if value not in SCORES:
        raise ValidationFailed.one("score", _("Choose a score from 1 to 5."))
    assert value is not None
    return value


def _clean(score: int | str | None, comment: str) -> tuple[int, str]:
    errors: dict[str, list[str]] = {}
    value = 0
    try:
        value = clean_score(score)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    text = (comment or "").strip()
    if len(text) > COMMENT_MAX:
        errors["comment"] = [
            _("The comment is too long (at most %(n)s characters).", n=COMMENT_MAX)
        ]
    if errors:
        raise ValidationFailed(errors)
    return value, text


def _record(survey: Survey, score: int, comment: str, via: Via, now: datetime) -> Survey:
    """Write the answer once: only while the survey is unused and not expired (row count
    checked: a second submission at the same moment records nothing)."""
    sess = db.session()
    result = sess.execute(
        update(Survey)
        .where(Survey.id == survey.id, Survey.used_at.is_(None), Survey.expires_at > now)
        .values(used_at=now, answered_at=now, score=score, comment=comment, via=via.value)
        .execution_options(synchronize_session=False)
    )
    sess.refresh(survey)
    if db.rowcount(result) != 1:
        _refuse_if_closed(survey, now)
        raise SurveyRefused(Refusal.USED, survey)  # a fallback: the row was closed meanwhile
    return survey


def answer(
    token: str,
    score: int | str | None,
    comment: str = "",
    via: str = Via.LINK.value,
    at: datetime | None = None,
) -> Survey:
    """Record the answer of the survey the token names (flushes). ``SurveyRefused`` when the
    link is tampered, unknown, expired or used; ``ValidationFailed`` (``score``, ``comment``)
    for a wrong answer. Either way nothing is recorded."""
    now = at or db.utcnow()
    how = Via(via)
    survey = check_link(token, now)
    value, text = _clean(score, comment)
    return _record(survey, value, text, how, now)


def answer_on_tablet(
    request_id: int,
    score: int | str | None,
    comment: str = "",
    at: datetime | None = None,
) -> Survey:
    """The requester answers on the engineer's tablet (a logged-in engineer, supervisor or
    admin hands it over); the survey is created when the request has none. Refused as
    ``answer`` is when the survey is used or expired."""
    common.require_worker()
    req = db.session().get(ServiceRequest, request_id)
    if req is None:
        raise ValidationFailed.one("request", _("No such request."))
    now = at or db.utcnow()
    survey = open_survey(req, now)
    _refuse_if_closed(survey, now)
    value, text = _clean(score, comment)
    return _record(survey, value, text, Via.TABLET, now)
