"""Alerts and incidents in the JSON API (``/api/v1/alerts``, ``/api/v1/incidents``).

- ``GET /alerts``: filters ``status`` (``open`` = firing or acknowledged), ``urgency``,
  ``site_id``, ``asset_id`` or ``asset_tag``, and the period the alert was raised in
  (``since``/``until``, at most 366 days; none given: every alert); newest first, paged. Each
  alert carries its SLA clocks (deadline in site time, state, done at), as the requests do.
- ``GET /alerts/{id}``: the same with its history (who did what, when, with their full name).
- ``POST /alerts/{id}/acknowledge``, ``/onsite``, ``/resolve`` (``note`` required: what was
  done, as on the page), ``/comment`` (``note``): the steps of ``opskit.alerts.services`` the
  pages take, recorded with the token's user as the actor. A step already taken (a retry, a
  colleague) answers 409 saying by whom and when, and writes nothing; so does the same comment
  again right after itself.
- ``GET /incidents`` (filters ``status``, ``grade``, ``urgency``, ``asset_id``/``asset_tag``,
  opened ``since``/``until``) and ``GET /incidents/{id}`` with its alerts and its timeline;
  an incident's steps (timeline line, arrival, close) are ``opskit.alerts.incident_api``'s.

Viewer tokens only read (the access hook refuses their writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field
from sqlalchemy.orm import selectinload

from assets import queries as registry
from opskit import db, jsonapi, openapi
from opskit.alerts import incidents, queries, services, wording
from opskit.alerts.models import OPEN_STATUSES, Alert, AlertStatus, Incident, IncidentGrade
from opskit.apischema import Id, Input, Output, Page, Paging, Period, Text, filters, one_of
from opskit.clock import site_tz
from opskit.jsonapi import ApiError
from opskit.openapi import operation
from opskit.people import full_name
from opskit.sla import ClockState
from opskit.validation import ValidationFailed

bp = jsonapi.api_blueprint("alerts_api", __name__)
TAG = "alerts"
INCIDENTS = "incidents"
openapi.tag(TAG, _l("Alerts"))
openapi.tag(INCIDENTS, _l("Incidents"))

LongText = Annotated[Text, Field(max_length=10_000)]
Urgency = Annotated[str, one_of("ABC")]
AlertStatusName = Annotated[str, one_of(AlertStatus)]
AssetTag = Annotated[Text, Field(max_length=64, description="The asset's tag")]


def _minutes(moment: datetime | None) -> str | None:
    return moment.astimezone(site_tz()).isoformat(timespec="minutes") if moment else None


def _clocks(clocks: list[ClockState]) -> dict[str, dict[str, Any]]:
    return {
        c.clock: {
            "deadline": _minutes(c.deadline),
            "state": c.state,
            "done_at": _minutes(c.done_at),
        }
        for c in clocks
    }


class SlaClock(Output):
    deadline: str | None = Field(description="Site time, to the minute")
    state: str = Field(examples=["running"], description="running, warning, met or breached")
    done_at: str | None = Field(description="Site time, to the minute; null while running")


class AlertEventOut(Output):
    """One line of an alert's history."""

    at: datetime
    kind: str = Field(examples=["acknowledged"])
    actor: str = Field(description="The login (or system) that did it")
    actor_name: str = Field(description="Their full name")
    note: str


class AlertOut(Output):
    """An alert (告警): one occurrence of a condition, firing → acknowledged → resolved."""

    id: int
    source: str
    rule: str
    urgency: Urgency
    status: AlertStatusName
    message: str
    asset_id: int | None
    asset_tag: str | None
    room_id: int | None
    first_seen: datetime
    last_seen: datetime
    count: int
    flapping: bool
    silenced: bool
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    onsite_at: datetime | None
    onsite_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str
    clocks: dict[str, SlaClock] = Field(
        description="acknowledge, onsite and resolve (none while silenced by maintenance)"
    )


class AlertDetail(AlertOut):
    """An alert with its history, oldest first."""

    history: list[AlertEventOut]


@dataclass(frozen=True)
class AlertRow:
    """An alert as the API shows it: its columns, its asset's tag, its clocks judged now."""

    view: queries.AlertView
    asset_tag: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view.alert, name)

    @property
    def clocks(self) -> dict[str, dict[str, Any]]:
        return _clocks(self.view.clocks)

    @property
    def history(self) -> list[dict[str, Any]]:
        return [
            {
                "at": e.at,
                "kind": e.kind,
                "actor": e.actor,
                "actor_name": full_name(e.actor),
                "note": e.note,
            }
            for e in queries.history(self.view.alert.id)
        ]


def alert_rows(alerts: list[Alert]) -> list[AlertRow]:
    """The alerts with their clocks (one policy read) and their assets (one query)."""
    assets = wording.assets_of(a.asset_id for a in alerts)
    return [
        AlertRow(view, getattr(assets.get(view.alert.asset_id or 0), "asset_tag", None))
        for view in queries.with_clocks(alerts, db.utcnow())
    ]


def _asset_id(asset_id: int | None, asset_tag: str | None) -> int | None:
    """The asset a filter names by id or by tag (an unknown tag: 422 on ``asset_tag``)."""
    if asset_tag:
        asset = registry.asset_by_tag(asset_tag.strip())
        if asset is None:
            raise ValidationFailed.one(
                "asset_tag", _("No asset has the tag %(tag)s.", tag=asset_tag.strip())
            )
        if asset_id is not None and asset_id != asset.id:
            raise ValidationFailed.one("asset_tag", _("The tag is not the asset asset_id names."))
        return asset.id
    return asset_id


class AlertFilter(Paging, Period):
    status: Annotated[str, one_of(["open", *AlertStatus])] | None = Field(
        None, description="open = firing or acknowledged"
    )
    urgency: Urgency | None = None
    site_id: Id | None = None
    asset_id: Id | None = None
    asset_tag: AssetTag | None = None


@operation(
    bp,
    "GET",
    "/alerts",
    query=AlertFilter,
    response=Page[AlertOut],
    tag=TAG,
    summary=_l("List alerts"),
)
def list_alerts(query: AlertFilter) -> Any:
    """Alerts raised in the period (``since`` … ``until``), newest first, with their clocks."""
    asset_id = _asset_id(query.asset_id, query.asset_tag)
    stmt = queries.alerts_matching(**{**filters(query, "asset_tag"), "asset_id": asset_id})
    return jsonapi.paginate(stmt, (), query, alert_rows)  # ordered by the query


@operation(
    bp,
    "GET",
    "/alerts/<int:alert_id>",
    response=AlertDetail,
    errors=(404,),
    tag=TAG,
    summary=_l("Get an alert with its history"),
)
def get_alert(alert_id: int) -> Any:
    return alert_rows([jsonapi.get_or_404(Alert, alert_id)])[0]


# --- the engineer's steps --------------------------------------------------------------------


class StepNote(Input):
    note: LongText = ""


class ResolveBody(Input):
    note: LongText = Field(description="What was done to resolve it (required, as on the page)")


class CommentBody(Input):
    note: LongText = Field(description="The comment")


def _conflict(message: str) -> ApiError:
    return ApiError(409, "conflict", message, {"status": [message]})


def _take(alert_id: int, action: str, note: str) -> Any:
    """Take ``action`` on the alert as the pages do; 409 (nothing written) when it was taken."""
    alert = jsonapi.get_or_404(Alert, alert_id)
    done = wording.already_done(alert, action)
    if done is None and action == "onsite" and alert.status not in OPEN_STATUSES:
        done = _("The alert is already resolved.")
    if done is not None:
        raise _conflict(done)
    try:
        if action == "ack":
            services.acknowledge(alert, note)
        elif action == "onsite":
            services.record_onsite(alert, note)
        elif action == "resolve":
            services.resolve(alert, note)
        elif not services.comment(alert, note):
            raise _conflict(_("This comment is already there."))
    except ValidationFailed as exc:
        if "status" not in exc.errors:
            raise
        db.session().rollback()  # a concurrent request took the step first: say who
        again = jsonapi.get_or_404(Alert, alert_id)
        raise _conflict(wording.already_done(again, action) or str(exc)) from None
    db.session().commit()
    return alert_rows([alert])[0]


STEPS = (
    ("acknowledge", "ack", StepNote, _l("Acknowledge an alert")),
    ("onsite", "onsite", StepNote, _l("Record the arrival on site for an alert")),
    ("resolve", "resolve", ResolveBody, _l("Resolve an alert")),
    ("comment", "comment", CommentBody, _l("Comment on an alert")),
)


def _step_view(name: str, action: str) -> Any:
    def view(alert_id: int, body: Any) -> Any:
        return _take(alert_id, action, body.note)

    view.__name__ = f"alert_{name}"
    return view


for _name, _action, _body, _summary in STEPS:
    operation(
        bp,
        "POST",
        f"/alerts/<int:alert_id>/{_name}",
        body=_body,
        response=AlertDetail,
        errors=(404, 409),
        tag=TAG,
        summary=_summary,
    )(_step_view(_name, _action))


# --- incidents -------------------------------------------------------------------------------


class IncidentEntryOut(Output):
    """One line of an incident's timeline."""

    at: datetime
    phase: str
    note: str
    actor: str
    actor_name: str


class IncidentOut(Output):
    """An incident (事件): graded, worked through five phases, closed with cause and measures."""

    id: int
    number: str = Field(examples=["INC-2026-0001"])
    title: str
    grade: Annotated[str, one_of(IncidentGrade)]
    urgency: Urgency
    phase: Annotated[str, one_of(incidents.PHASE_LABELS)]
    status: Annotated[str, one_of(["open", "closed"])]
    opened_at: datetime
    opened_by: str
    onsite_at: datetime | None
    onsite_by: str | None
    onsite_tag: str | None
    closed_at: datetime | None
    description: str
    root_cause: str
    measures: str
    alert_ids: list[int]
    asset_tags: list[str]
    clocks: dict[str, SlaClock] = Field(description="onsite and resolve")


class IncidentDetail(IncidentOut):
    """An incident with its alerts and its timeline."""

    alerts: list[AlertOut]
    entries: list[IncidentEntryOut]


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    clocks: dict[str, dict[str, Any]]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.incident, name)

    @property
    def alert_ids(self) -> list[int]:
        return sorted(a.id for a in self.incident.alerts)

    @property
    def asset_tags(self) -> list[str]:
        return sorted(a.asset_tag for a in self.incident.assets)

    @property
    def alerts(self) -> list[AlertRow]:
        return alert_rows(sorted(self.incident.alerts, key=lambda a: a.id))

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [
            {
                "at": e.at,
                "phase": e.phase,
                "note": e.note,
                "actor": e.actor,
                "actor_name": full_name(e.actor),
            }
            for e in self.incident.entries
        ]


def incident_rows(found: list[Incident]) -> list[IncidentRow]:
    now = db.utcnow()
    return [IncidentRow(i, _clocks(queries.incident_clocks(i, now))) for i in found]


class IncidentFilter(Paging, Period):
    status: Annotated[str, one_of(["open", "closed"])] | None = None
    grade: Annotated[str, one_of(IncidentGrade)] | None = None
    urgency: Urgency | None = None
    asset_id: Id | None = None
    asset_tag: AssetTag | None = None


@operation(
    bp,
    "GET",
    "/incidents",
    query=IncidentFilter,
    response=Page[IncidentOut],
    tag=INCIDENTS,
    summary=_l("List incidents"),
)
def list_incidents(query: IncidentFilter) -> Any:
    """Incidents opened in the period (``since`` … ``until``), newest first."""
    asset_id = _asset_id(query.asset_id, query.asset_tag)
    stmt = queries.incidents_matching(**{**filters(query, "asset_tag"), "asset_id": asset_id})
    stmt = stmt.options(selectinload(Incident.alerts), selectinload(Incident.assets))
    return jsonapi.paginate(stmt, (), query, incident_rows)  # ordered by the query


@operation(
    bp,
    "GET",
    "/incidents/<int:incident_id>",
    response=IncidentDetail,
    errors=(404,),
    tag=INCIDENTS,
    summary=_l("Get an incident with its alerts and timeline"),
)
def get_incident(incident_id: int) -> Any:
    return incident_rows([jsonapi.get_or_404(Incident, incident_id)])[0]
