"""Patrol in the JSON API (``/api/v1/patrol/...``): plans, rounds with their answers and
findings (read), and a round submitted as the tablet submits it.

- ``GET /patrol/plans`` (filters ``enabled``, ``site_id``, ``room_id``), ``GET /patrol/plans/{id}``.
- ``GET /patrol/rounds``: filters ``site_id``, ``room_id``, ``plan_id``, ``status`` (draft,
  submitted, approved), the period they started in (``since``/``until``, at most 366 days; none:
  every round); newest first, paged. ``GET /patrol/rounds/{id}``: one round with its answers
  (each with its item's title, level and note) and findings.
- ``POST /patrol/rounds``: the tablet's submission (``inspections.services.submit_round``, the
  function behind the round page's submit): ``client_id`` is the tablet's round id (8–64
  letters, digits, ``-`` or ``_``), so the same id again answers 201 with the round the first
  call made, never a second one; a round the server has not seen is created from ``room_id``,
  ``checklist_keys`` and/or ``plan_id``. Every answer is judged by its item kind as on the
  tablet: a wrong or missing answer is a 422 keyed ``<target>/<checklist>/<item>`` and nothing is
  stored (unlike the round page, which keeps what was typed: a program resends its whole body).
  A round started by another user is a 403 (as the tablet's ``not_owner``). The token's user is
  the engineer and the audit log's actor.
- ``GET /patrol/findings``: filters ``open``, ``level`` (warning, critical), ``urgency`` (A, B,
  C), ``site_id``, ``room_id``, ``round_id``, the period they were opened in; newest first.
  ``GET /patrol/findings/{id}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import AwareDatetime, Field
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from assets import queries as registry
from inspections import queries, services
from inspections.models import PatrolFinding, PatrolPlan, PatrolRound, RoundStatus
from inspections.round_views import started_by
from opskit import db, jsonapi, openapi
from opskit.apischema import Id, Input, Name, Output, Page, Paging, Period, Text, one_of
from opskit.jsonapi import ApiError
from opskit.openapi import Created, operation

bp = jsonapi.api_blueprint("patrol_api", __name__)
TAG = "patrol"
openapi.tag(TAG, _l("Patrol"))

LEVELS = ("warning", "critical")
URGENCIES = ("A", "B", "C")
StatusName = Annotated[str, one_of(RoundStatus)]
#: a time in the body: ISO 8601 text with its time zone (JSON has no time type)
When = Annotated[AwareDatetime, Field(strict=False, description="ISO 8601 with time zone")]


# --- answers ---------------------------------------------------------------------------------


class PlanOut(Output):
    """A patrol plan: which checklists, where, how often."""

    id: int
    name: str
    site_id: int | None
    room_id: int | None
    checklist_keys: list[str]
    asset_kinds: list[str]
    schedule_times: list[str] = Field(description="Site time, HH:MM")
    recurrence: dict[str, Any]
    recurrence_text: str = Field(description="How often, in words")
    grace_minutes: int
    enabled: bool
    notes: str


class FindingOut(Output):
    """An abnormal answer kept open until someone closes it (it may raise an alert)."""

    id: int
    round_id: int
    room_id: int
    answer_id: int
    checklist: str
    item: str
    item_title: str | None
    level: str
    urgency: str
    message: str
    alert_id: int | None
    opened_at: datetime
    closed_at: datetime | None
    closed_by: str | None
    closing_note: str
    open: bool


class AnswerOut(Output):
    """One checklist item answered on one target (the room or ``asset:<id>``)."""

    id: int
    target: str
    asset_id: int | None
    checklist: str
    item: str
    item_title: str | None
    value: str
    level: str = Field(description="ok, warning, critical, invalid or empty (unanswered)")
    code: str
    number: float | None
    note: str
    monitored_value: float | None
    disagrees: bool = Field(description="The reading is off the monitored value")
    answered_at: datetime
    answered_by: str


class RoundOut(Output):
    """A patrol round (巡检): its plan (null: ad hoc), room, status and signature."""

    id: int
    client_id: str
    plan_id: int | None
    plan: str | None
    room_id: int
    room: str
    site_id: int | None
    checklist_keys: list[str]
    status: StatusName
    scheduled_for: datetime | None
    started_at: datetime
    submitted_at: datetime | None
    engineer: str = Field(description="The login that started it")
    signature_name: str
    signed_at: datetime | None
    reviewer: str | None
    review_comment: str
    approved_at: datetime | None
    findings_open: int


class RoundDetailOut(RoundOut):
    """A round with its answers and findings."""

    answers: list[AnswerOut]
    findings: list[FindingOut]


def plan_out(plan: PatrolPlan) -> dict[str, Any]:
    return {
        **{name: getattr(plan, name) for name in PlanOut.model_fields if name != "recurrence_text"},
        "recurrence_text": str(queries.recurrence_text(plan)),
    }


def finding_out(finding: PatrolFinding) -> dict[str, Any]:
    answer = finding.answer
    return {
        "id": finding.id,
        "round_id": finding.round_id,
        "room_id": finding.round.room_id,
        "answer_id": finding.answer_id,
        "checklist": answer.checklist_key,
        "item": answer.item_key,
        "item_title": queries.item_title(answer.checklist_key, answer.item_key),
        "level": finding.level,
        "urgency": finding.urgency,
        "message": finding.message,
        "alert_id": finding.alert_id,
        "opened_at": finding.opened_at,
        "closed_at": finding.closed_at,
        "closed_by": finding.closed_by,
        "closing_note": finding.closing_note,
        "open": finding.closed_at is None,
    }


def _rooms() -> dict[int, Any]:
    return {room.id: room for room in registry.all_rooms()}


def round_out(patrol: PatrolRound, rooms: dict[int, Any]) -> dict[str, Any]:
    room = rooms.get(patrol.room_id)
    return {
        **{name: getattr(patrol, name) for name in RoundOut.model_fields if hasattr(patrol, name)},
        "plan": patrol.plan.name if patrol.plan else None,
        "room": room.name if room else "",
        "site_id": room.site_id if room else None,
        "findings_open": sum(1 for f in patrol.findings if f.closed_at is None),
    }


def round_detail_out(patrol: PatrolRound) -> dict[str, Any]:
    answers = sorted(patrol.answers, key=lambda a: a.id)
    return {
        **round_out(patrol, _rooms()),
        "answers": [
            {
                **{n: getattr(a, n) for n in AnswerOut.model_fields if hasattr(a, n)},
                "checklist": a.checklist_key,
                "item": a.item_key,
                "item_title": queries.item_title(a.checklist_key, a.item_key),
            }
            for a in answers
        ],
        "findings": [finding_out(f) for f in sorted(patrol.findings, key=lambda f: f.id)],
    }


# --- plans -----------------------------------------------------------------------------------


class PlanFilter(Paging):
    enabled: bool | None = None
    site_id: Id | None = None
    room_id: Id | None = None


@operation(
    bp,
    "GET",
    "/patrol/plans",
    query=PlanFilter,
    response=Page[PlanOut],
    tag=TAG,
    summary=_l("List patrol plans"),
)
def list_plans(query: PlanFilter) -> Any:
    """Patrol plans by name."""
    stmt = jsonapi.where_equal(select(PatrolPlan), PatrolPlan, query, ("enabled", "room_id"))
    if query.site_id is not None:
        stmt = stmt.where(PatrolPlan.site_id == query.site_id)
    order = (PatrolPlan.name, PatrolPlan.id)
    return jsonapi.paginate(stmt, order, query, lambda rows: [plan_out(p) for p in rows])


@operation(
    bp,
    "GET",
    "/patrol/plans/<int:plan_id>",
    response=PlanOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a patrol plan"),
)
def get_plan(plan_id: int) -> Any:
    return plan_out(jsonapi.get_or_404(PatrolPlan, plan_id))


# --- rounds ----------------------------------------------------------------------------------


def _in_site_and_period(stmt: Select[Any], query: Any, moment: Any) -> Select[Any]:
    """``stmt`` (joined to its round) kept to the rooms of ``query.site_id`` and to ``moment``
    (a time column) in ``query``'s period, when each is given."""
    if query.site_id is not None:
        stmt = stmt.where(PatrolRound.room_id.in_(registry.site_rooms_query(query.site_id)))
    since, until = query.period()
    if since is not None and until is not None:
        stmt = stmt.where(moment >= since, moment < until)
    return stmt


class RoundFilter(Paging, Period):
    site_id: Id | None = None
    room_id: Id | None = None
    plan_id: Id | None = None
    status: StatusName | None = None


def rounds_matching(query: RoundFilter) -> Select[Any]:
    """The rounds the filter keeps (started in the period when one is given)."""
    stmt = select(PatrolRound).options(
        selectinload(PatrolRound.plan), selectinload(PatrolRound.findings)
    )
    stmt = jsonapi.where_equal(stmt, PatrolRound, query, ("room_id", "plan_id", "status"))
    return _in_site_and_period(stmt, query, PatrolRound.started_at)


@operation(
    bp,
    "GET",
    "/patrol/rounds",
    query=RoundFilter,
    response=Page[RoundOut],
    tag=TAG,
    summary=_l("List patrol rounds"),
)
def list_rounds(query: RoundFilter) -> Any:
    """Rounds started during the period, newest first."""
    rooms = _rooms()
    order = (PatrolRound.started_at.desc(), PatrolRound.id.desc())
    return jsonapi.paginate(
        rounds_matching(query), order, query, lambda rows: [round_out(r, rooms) for r in rows]
    )


@operation(
    bp,
    "GET",
    "/patrol/rounds/<int:round_id>",
    response=RoundDetailOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a patrol round with its answers and findings"),
)
def get_round(round_id: int) -> Any:
    return round_detail_out(jsonapi.get_or_404(PatrolRound, round_id))


class AnswerIn(Input):
    """One answer as the tablet sends it."""

    target: Annotated[Text, Field(max_length=32, description="room or asset:<id>")] = "room"
    checklist: Annotated[Name, Field(max_length=64, examples=["room_environment"])]
    item: Annotated[Name, Field(max_length=64, examples=["cold_aisle_temperature"])]
    value: (
        Annotated[Text, Field(max_length=2000)]
        | bool
        | int
        | Annotated[float, Field(allow_inf_nan=False)]
        | Annotated[list[Annotated[Text, Field(max_length=200)]], Field(max_length=50)]
        | None
    ) = Field(None, description="Text, a number, true/false (a check), or a list of choices")
    note: Annotated[Text, Field(max_length=2000)] = ""
    answered_at: When | None = None
    monitored_value: float | None = Field(None, allow_inf_nan=False)


class RoundSubmit(Input):
    """A round submitted as the tablet submits it."""

    client_id: Annotated[
        str,
        Field(
            pattern=r"^[A-Za-z0-9_-]{8,64}$",
            examples=["tablet-7f3a9c21"],
            description="The tablet's id of the round: a retry with the same id is the same "
            "round (8–64 letters, digits, - or _)",
        ),
    ]
    room_id: Id | None = None
    plan_id: Id | None = None
    checklist_keys: (
        Annotated[list[Annotated[Name, Field(max_length=64)]], Field(max_length=50)] | None
    ) = None
    scheduled_for: When | None = None
    started_at: When | None = None
    answers: Annotated[list[AnswerIn], Field(max_length=5000, default_factory=list)]
    signature_name: Annotated[Text, Field(max_length=128)] = ""
    signature_image: Annotated[
        Text, Field(max_length=200_000, description="A drawn signature: PNG data URL")
    ] = ""
    signed_at: When | None = None


@operation(
    bp,
    "POST",
    "/patrol/rounds",
    body=RoundSubmit,
    response=RoundDetailOut,
    status=201,
    errors=(409,),
    tag=TAG,
    summary=_l("Submit a patrol round"),
)
def submit_round(body: RoundSubmit) -> Any:
    """The tablet's submission: the round (created if new), its answers, signed and submitted
    in one transaction. The same ``client_id`` again answers the round the first call made."""
    existing = queries.find_round(body.client_id)
    if existing is not None and not started_by(existing, current_user):
        message = _("This round was started by another user: only they can change it.")
        raise ApiError(403, "not_owner", message, {"client_id": [message]})
    data = body.model_dump(exclude={"client_id"})
    patrol = db.write(lambda: services.submit_round(body.client_id, data))
    location = url_for("patrol_api.get_round", round_id=patrol.id)
    return Created(round_detail_out(patrol), location)


# --- findings --------------------------------------------------------------------------------


class FindingFilter(Paging, Period):
    open: bool | None = Field(None, description="true: not closed yet; false: closed")
    level: Annotated[str, one_of(LEVELS)] | None = None
    urgency: Annotated[str, one_of(URGENCIES)] | None = None
    site_id: Id | None = None
    room_id: Id | None = None
    round_id: Id | None = None


def findings_matching(query: FindingFilter) -> Select[Any]:
    """The findings the filter keeps (opened in the period when one is given)."""
    stmt = (
        select(PatrolFinding)
        .join(PatrolRound, PatrolFinding.round_id == PatrolRound.id)
        .options(selectinload(PatrolFinding.answer), selectinload(PatrolFinding.round))
    )
    stmt = jsonapi.where_equal(stmt, PatrolFinding, query, ("level", "urgency", "round_id"))
    if query.open is not None:
        closed = PatrolFinding.closed_at
        stmt = stmt.where(closed.is_(None) if query.open else closed.is_not(None))
    if query.room_id is not None:
        stmt = stmt.where(PatrolRound.room_id == query.room_id)
    return _in_site_and_period(stmt, query, PatrolFinding.opened_at)


@operation(
    bp,
    "GET",
    "/patrol/findings",
    query=FindingFilter,
    response=Page[FindingOut],
    tag=TAG,
    summary=_l("List patrol findings"),
)
def list_findings(query: FindingFilter) -> Any:
    """Findings opened during the period, newest first."""
    order = (PatrolFinding.opened_at.desc(), PatrolFinding.id.desc())
    return jsonapi.paginate(
        findings_matching(query), order, query, lambda rows: [finding_out(f) for f in rows]
    )


@operation(
    bp,
    "GET",
    "/patrol/findings/<int:finding_id>",
    response=FindingOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a patrol finding"),
)
def get_finding(finding_id: int) -> Any:
    return finding_out(jsonapi.get_or_404(PatrolFinding, finding_id))
