"""Service requests in the JSON API (``/api/v1/requests``): list, get, create — e.g. from the
customer's existing helpdesk — and the steps of a request's life.

- ``GET /requests``: filters ``status``, ``urgency``, ``asset_id``, ``assigned_to``, ``open``;
  newest first, paged. Each request carries its SLA clocks (deadline and state, site time) and
  whether it needs a temporary measure.
- ``POST /requests``: logged as on the tablet (``services.open_request``). ``client_id`` (the
  other system's id, 8–64 letters, digits, ``-`` or ``_``) makes a retry the same request: it
  answers 201 with the request the first call made. 422 names every wrong field.
- ``POST /requests/{id}/<step>``: ``respond``, ``start`` (``mode`` remote/onsite), ``arrive``
  (``scanned_code``: the label's URL or the tag), ``suspend`` (``reason``), ``resume``,
  ``resolve`` (``cause`` required), ``close``, ``reopen`` (``note`` required), ``assign``
  (``assigned_to``: a login), ``temporary-measure`` (``temporary_measure``, ``spare_asset_id``).
  200 with the request; 409 when its status does not allow the step (``fields.status`` says
  why); 422 for a wrong field; 403 when the token's role may not (the services decide).

Viewer tokens only read (the access hook refuses every API write of a viewer). The bodies,
filters and answers are pydantic models (``opskit.apischema``), routed and documented by
``opskit.openapi.operation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import Field, create_model
from sqlalchemy import select

from assets import queries as registry
from opskit import db, jsonapi, openapi
from opskit.apischema import Id, Input, Name, Output, Page, Paging, Text, one_of
from opskit.clock import site_tz
from opskit.jsonapi import ApiError
from opskit.openapi import operation
from opskit.servicedesk import categories, queries, services, steps
from opskit.servicedesk.models import (
    Channel,
    ServiceRequest,
    Status,
    SuspendReason,
    Urgency,
    WorkMode,
)
from opskit.servicedesk.queries import RequestView
from opskit.validation import ValidationFailed

bp = jsonapi.api_blueprint("requests_api", __name__)
TAG = "service requests"
openapi.tag(TAG, _l("Service requests"))

LongText = Annotated[Text, Field(max_length=10_000)]
StatusName = Annotated[str, one_of(Status.labels())]
UrgencyName = Annotated[str, one_of(Urgency.labels())]


def _minutes(moment: Any) -> str | None:
    return moment.astimezone(site_tz()).isoformat(timespec="minutes") if moment else None


@dataclass(frozen=True)
class Row:
    """A request as the API shows it: its columns, and its clocks judged now."""

    view: RequestView

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view.request, name)

    @property
    def clocks(self) -> dict[str, Any]:
        return {
            c.clock: {
                "deadline": _minutes(c.deadline),
                "state": c.state,
                "done_at": _minutes(c.done_at),
            }
            for c in self.view.clocks
        }

    @property
    def needs_temporary_measure(self) -> bool:
        return self.view.needs_temporary_measure

    @property
    def asset_tag(self) -> str | None:
        asset_id = self.view.request.asset_id
        asset = registry.get_asset(asset_id) if asset_id is not None else None
        return asset.asset_tag if asset is not None else None


def rows(found: list[ServiceRequest]) -> list[Row]:
    return [Row(view) for view in queries.with_clocks(found)]


def row(req: ServiceRequest) -> Row:
    return rows([req])[0]


class ServiceRequestCreate(Input):
    """An employee's service request (服务请求) under the contract's A/B/C service levels."""

    client_id: Annotated[
        Text,
        Field(
            max_length=64,
            description="The sender's id of this request: a retry with the same id is the same "
            "request (8–64 letters, digits, - or _)",
        ),
    ] = ""
    description: Annotated[Name, Field(max_length=10_000, examples=["打印机卡纸"])]
    title: Annotated[
        Text, Field(max_length=200, description="Default: the description's first line")
    ] = ""
    category: Annotated[str, one_of(categories.categories())]
    channel: Annotated[str, one_of(Channel.labels())]
    urgency: UrgencyName
    requester_name: Annotated[Text, Field(max_length=128)] = ""
    requester_department: Annotated[Text, Field(max_length=128)] = ""
    requester_phone: Annotated[Text, Field(max_length=64, examples=["13800138000"])] = ""
    asset_tag: (
        Annotated[Text, Field(max_length=256, description="The asset's tag (or its label's URL)")]
        | None
    ) = None
    room_id: Id | None = None


class Clock(Output):
    deadline: str | None = Field(description="Site time, to the minute")
    state: str
    done_at: str | None


class ServiceRequestOut(Output):
    """An employee's service request (服务请求) under the contract's A/B/C service levels."""

    id: int
    number: str = Field(examples=["SR-2026-0042"])
    client_id: str
    description: str
    title: str
    category: str
    channel: str
    urgency: UrgencyName
    requester_name: str
    requester_department: str
    requester_phone: str
    asset_tag: str | None
    room_id: int | None
    asset_id: int | None
    status: StatusName
    work_mode: str | None
    assigned_to: str | None
    raised_at: datetime
    responded_at: datetime | None
    onsite_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    cause: str
    work_done: str
    parts_note: str
    temporary_measure: str
    alert_id: int | None
    finding_id: int | None
    incident_id: int | None
    clocks: dict[str, Clock] = Field(
        description="acknowledge, onsite, resolve and fix_by: deadline (site time), state, done_at"
    )
    needs_temporary_measure: bool


class ServiceRequestFilter(Paging):
    status: StatusName | None = None
    urgency: UrgencyName | None = None
    asset_id: Id | None = None
    assigned_to: Annotated[Text, Field(max_length=64, description="The engineer's login")] = ""
    open: bool | None = Field(None, description="Only requests still being worked")


@operation(
    bp,
    "GET",
    "/requests",
    query=ServiceRequestFilter,
    response=Page[ServiceRequestOut],
    tag=TAG,
    summary=_l("List service requests"),
)
def list_requests(query: ServiceRequestFilter) -> Any:
    stmt = select(ServiceRequest)
    for name in ("status", "urgency", "asset_id", "assigned_to"):
        value = getattr(query, name)
        if value is not None and value != "":
            stmt = stmt.where(getattr(ServiceRequest, name) == value)
    if query.open:
        stmt = stmt.where(ServiceRequest.status.in_(queries.OPEN_STATUSES))
    order = (ServiceRequest.raised_at.desc(), ServiceRequest.id.desc())
    return jsonapi.paginate(stmt, order, query, rows)


def _save(values: dict[str, Any], _obj: Any) -> ServiceRequest:
    """Log a request (the same ``client_id`` again: the request it made)."""
    return services.open_request(**values)


jsonapi.item_routes(
    bp,
    "request",
    _l("service request"),
    TAG,
    "/requests",
    ServiceRequest,
    ServiceRequestOut,
    ServiceRequestCreate,
    jsonapi.saver(_save),
    shown=row,
)


# --- steps -----------------------------------------------------------------------------------

Note = (LongText, "")
#: each step's body: what ``steps.STEPS`` reads of it
BODIES: dict[str, type[Input]] = {
    name: create_model(model, __base__=Input, **fields)
    for name, model, fields in (
        ("respond", "RespondStep", {"note": Note}),
        (
            "start",
            "StartStep",
            {"mode": (Annotated[str, one_of(WorkMode.labels())], ...), "note": Note},
        ),
        (
            "arrive",
            "ArriveStep",
            {
                "scanned_code": (
                    Annotated[Text, Field(max_length=256, description="Label URL or tag")],
                    ...,
                )
            },
        ),
        (
            "suspend",
            "SuspendStep",
            {"reason": (Annotated[str, one_of(SuspendReason.labels())], ...), "note": Note},
        ),
        ("resume", "ResumeStep", {"note": Note}),
        (
            "resolve",
            "ResolveStep",
            {"cause": (LongText, ...), "work_done": Note, "parts_note": Note},
        ),
        ("close", "CloseStep", {"note": Note}),
        ("reopen", "ReopenStep", {"note": (LongText, ...)}),
        ("assign", "AssignStep", {"assigned_to": (Annotated[Text, Field(max_length=64)], ...)}),
        (
            "temporary-measure",
            "TemporaryMeasureStep",
            {
                "temporary_measure": (LongText, ...),
                "spare_asset_id": (Id | None, None),
                "note": Note,
            },
        ),
    )
}


def _step_view(name: str) -> Any:
    take = steps.STEPS[name]

    def view(request_id: int, body: Input) -> Any:
        req = jsonapi.get_or_404(ServiceRequest, request_id)
        try:
            take(req, body.model_dump(exclude_unset=True))
        except services.NotAllowed as refused:
            raise ApiError(403, "forbidden", str(refused)) from None
        except ValidationFailed as exc:
            if "status" not in exc.errors:
                raise
            # the status does not allow the step: say why
            raise ApiError(409, "conflict", str(exc), exc.errors) from None
        db.session().commit()
        return row(req)

    view.__name__ = f"step_{steps.endpoint(name)}"
    return view


for _name, _body in BODIES.items():
    operation(
        bp,
        "POST",
        f"/requests/<int:request_id>/{_name}",
        body=_body,
        response=ServiceRequestOut,
        errors=(403, 404, 409),
        tag=TAG,
        summary=_l("Take the step %(step)s on a service request", step=_name),
        operation_id=f"requestStep{_body.__name__.removesuffix('Step')}",
    )(_step_view(_name))
