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

Viewer tokens only read (the access hook refuses every API write of a viewer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import jsonify
from sqlalchemy import select

from assets import queries as registry
from opskit import db, jsonapi, openapi
from opskit.clock import site_tz
from opskit.jsonapi import ID, PAGING, ApiError, ref_field, text_field
from opskit.openapi import Field, ObjectSchema, Operation
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
PATH = "/api/v1/requests"


@dataclass(frozen=True)
class Row:
    """A request as the API shows it: its columns, and its clocks judged now."""

    view: RequestView

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view.request, name)


def _minutes(moment: Any) -> str | None:
    return moment.astimezone(site_tz()).isoformat(timespec="minutes") if moment else None


def _clocks(row: Row) -> dict[str, Any]:
    return {
        c.clock: {
            "deadline": _minutes(c.deadline),
            "state": c.state,
            "done_at": _minutes(c.done_at),
        }
        for c in row.view.clocks
    }


def _asset_tag(row: Row) -> str | None:
    asset = registry.get_asset(row.asset_id) if row.asset_id is not None else None
    return asset.asset_tag if asset is not None else None


def _enum(values: Any) -> tuple[str, ...]:
    return tuple(values)


REQUEST = ObjectSchema(
    "ServiceRequest",
    [
        ID,
        text_field("number", read_only=True, example="SR-2026-0042"),
        text_field(
            "client_id",
            64,
            description="The sender's id of this request: a retry with "
            "the same id is the same request (8–64 letters, digits, - or _)",
        ),
        text_field("description", 10_000, required=True, min_length=1, example="打印机卡纸"),
        text_field("title", 200, description="Default: the description's first line"),
        text_field("category", required=True, enum=_enum(categories.categories())),
        text_field("channel", required=True, enum=_enum(Channel.labels())),
        text_field("urgency", required=True, enum=_enum(Urgency.labels())),
        text_field("requester_name", 128),
        text_field("requester_department", 128),
        text_field("requester_phone", 64, example="13800138000"),
        text_field(
            "asset_tag",
            256,
            nullable=True,
            description="The asset's tag (or its label's URL)",
            get=_asset_tag,
        ),
        ref_field("room_id", nullable=True),
        Field("asset_id", "integer", read_only=True, nullable=True),
        text_field("status", read_only=True, enum=_enum(Status.labels())),
        text_field("work_mode", read_only=True, nullable=True),
        text_field("assigned_to", read_only=True, nullable=True),
        Field("raised_at", "date-time", read_only=True),
        Field("responded_at", "date-time", read_only=True, nullable=True),
        Field("onsite_at", "date-time", read_only=True, nullable=True),
        Field("resolved_at", "date-time", read_only=True, nullable=True),
        Field("closed_at", "date-time", read_only=True, nullable=True),
        text_field("cause", read_only=True),
        text_field("work_done", read_only=True),
        text_field("parts_note", read_only=True),
        text_field("temporary_measure", read_only=True),
        Field("alert_id", "integer", read_only=True, nullable=True),
        Field("finding_id", "integer", read_only=True, nullable=True),
        Field("incident_id", "integer", read_only=True, nullable=True),
        Field(
            "clocks",
            "object",
            read_only=True,
            description="acknowledge, onsite, resolve and fix_by: deadline (site time), state, "
            "done_at",
            get=_clocks,
        ),
        Field(
            "needs_temporary_measure",
            "boolean",
            read_only=True,
            get=lambda row: row.view.needs_temporary_measure,
        ),
    ],
    "An employee's service request (服务请求) under the contract's A/B/C service levels.",
)
FILTERS = (
    text_field("status", enum=_enum(Status.labels())),
    text_field("urgency", enum=_enum(Urgency.labels())),
    ref_field("asset_id"),
    text_field("assigned_to", 64, description="The engineer's login"),
    Field("open", "boolean", description="Only requests still being worked"),
)
jsonapi.declare_operations(
    "service request", "service requests", PATH, "request_id", REQUEST, FILTERS, update=False
)


def rows(found: list[ServiceRequest]) -> list[Row]:
    return [Row(view) for view in queries.with_clocks(found)]


@bp.get("/requests")
def list_requests() -> Any:
    args = jsonapi.list_args((*PAGING, *FILTERS))
    stmt = select(ServiceRequest)
    for name in ("status", "urgency", "asset_id", "assigned_to"):
        if name in args:
            stmt = stmt.where(getattr(ServiceRequest, name) == args[name])
    if args.get("open"):
        stmt = stmt.where(ServiceRequest.status.in_(queries.OPEN_STATUSES))
    order = (ServiceRequest.raised_at.desc(), ServiceRequest.id.desc())
    return jsonapi.page_of(stmt, order, REQUEST, args, rows)


def row(req: ServiceRequest) -> Row:
    return rows([req])[0]


def _save(values: dict[str, Any], _obj: Any) -> ServiceRequest:
    """Log a request (the same ``client_id`` again: the request it made)."""
    return services.open_request(**values)


jsonapi.item_routes(
    bp,
    "request",
    "/requests",
    "request_id",
    REQUEST,
    ServiceRequest,
    jsonapi.saver(_save),
    update=False,
    shown=row,
)


# --- steps -----------------------------------------------------------------------------------

NOTE = text_field("note", 10_000)
#: each step's body: what ``steps.STEPS`` reads of it
BODIES = {
    "respond": ObjectSchema("RespondStep", [NOTE]),
    "start": ObjectSchema(
        "StartStep", [text_field("mode", required=True, enum=_enum(WorkMode.labels())), NOTE]
    ),
    "arrive": ObjectSchema(
        "ArriveStep",
        [text_field("scanned_code", 256, required=True, description="Label URL or tag")],
    ),
    "suspend": ObjectSchema(
        "SuspendStep",
        [text_field("reason", required=True, enum=_enum(SuspendReason.labels())), NOTE],
    ),
    "resume": ObjectSchema("ResumeStep", [NOTE]),
    "resolve": ObjectSchema(
        "ResolveStep",
        [
            text_field("cause", 10_000, required=True),
            text_field("work_done", 10_000),
            text_field("parts_note", 10_000),
        ],
    ),
    "close": ObjectSchema("CloseStep", [NOTE]),
    "reopen": ObjectSchema("ReopenStep", [text_field("note", 10_000, required=True)]),
    "assign": ObjectSchema("AssignStep", [text_field("assigned_to", 64, required=True)]),
    "temporary-measure": ObjectSchema(
        "TemporaryMeasureStep",
        [
            text_field("temporary_measure", 10_000, required=True),
            ref_field("spare_asset_id", nullable=True),
            NOTE,
        ],
    ),
}


def _step_view(name: str) -> Callable[..., Any]:
    schema, take = BODIES[name], steps.STEPS[name]

    def view(request_id: int) -> Any:
        req = jsonapi.get_or_404(ServiceRequest, request_id)
        values = jsonapi.parse_body(schema, partial=False)
        try:
            take(req, values)
        except services.NotAllowed as refused:
            raise ApiError(403, "forbidden", str(refused)) from None
        except ValidationFailed as exc:
            if "status" not in exc.errors:
                raise
            db.session().rollback()  # the status does not allow the step: say why
            return jsonify(error="conflict", message=str(exc), fields=exc.errors), 409
        return jsonapi.updated(REQUEST, row(req))

    view.__name__ = f"step_{steps.endpoint(name)}"
    return view


for _name, _schema in BODIES.items():
    bp.add_url_rule(
        f"/requests/<int:request_id>/{_name}",
        f"step_{steps.endpoint(_name)}",
        _step_view(_name),
        methods=["POST"],
    )
    openapi.register(
        Operation(
            "post",
            f"{PATH}/{{request_id}}/{_name}",
            f"requestStep{_schema.name.removesuffix('Step')}",
            f"Take the step {_name} on a service request",
            "service requests",
            path_params=("request_id",),
            body=_schema,
            result=REQUEST,
            errors=(400, 401, 403, 404, 409, 422),
        )
    )
