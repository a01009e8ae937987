"""Planning (设备规划) and reservations in the JSON API (``/api/v1/plan/...``), as the planning page
and ``opskit plan`` do.

- ``POST /plan/fit``: the plan file's content as JSON (``devices`` with ``name``, ``u``,
  ``watts``, ``feeds``, ``ports``, ``addresses``, ``kind``; ``site``, ``room``, ``near``,
  ``together``, ``days``) answered with the same JSON as ``opskit plan FILE --json``: ranked
  candidates, rejected racks with their reason, the measurement window, the site chosen, the
  prefixes. Nothing is written; viewers may ask too (as on the page). A wrong plan is a 422
  whose fields are the plan's places (``devices[0] (OA-01).u``).
- ``POST /plan/reservations``: accept candidate ``candidate`` of the plan under ``name`` — the
  page's button (writer roles): its units, ports and addresses are held for ``hold_days``
  (default the page's 14). A name already holding a reservation (a retry) or anything wanted
  already taken is a 409 naming it; nothing is reserved.
- ``GET /plan/reservations`` (``status``; held first, then the latest) and one of them;
  ``POST /plan/reservations/{id}/release`` frees what it holds (``opskit assets release``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ConfigDict, Field
from sqlalchemy import select

from assets import plan, plan_scope
from assets.api.common import bp
from assets.models import Reservation, ReservationStatus
from assets.services import reservations
from opskit import clock, db, jsonapi, openapi
from opskit.apischema import Input, JsonObject, Name, Output, Page, Paging, Text, one_of
from opskit.jsonapi import ApiError
from opskit.openapi import Created, operation
from opskit.validation import ValidationFailed

TAG = "plan"
openapi.tag(TAG, _l("Planning and reservations"))
HOLD_DAYS = 14

PlaceName = Annotated[Text, Field(max_length=128)]


class PlanBody(Input):
    """A plan: what ``opskit plan`` reads from its YAML file, as JSON."""

    devices: list[JsonObject] = Field(
        max_length=500,
        examples=[[{"name": "OA-01", "u": 2, "watts": 600, "feeds": 2, "ports": {"10G": 2}}]],
        description="name, u, watts, feeds (1 or 2), ports ({speed: count}), addresses, kind",
    )
    site: PlaceName | None = None
    room: PlaceName | None = None
    near: PlaceName | None = Field(None, description="A rack whose neighbours are preferred")
    together: bool = Field(False, description="All in one rack")
    days: int | None = Field(None, description="Days of measurements to judge the load by")


class FitAnswer(Output):
    """What ``opskit plan FILE --json`` prints."""

    model_config = ConfigDict(extra="allow")

    candidates: list[JsonObject]
    rejected: list[JsonObject]
    window: dict[str, str]
    site_chosen: str | None
    prefixes: JsonObject


def _request(body: PlanBody) -> plan.Request:
    """The plan checked against the registry; its problems keyed by the place they name."""
    try:
        return plan.read_request(body.model_dump(exclude_none=True))
    except plan.PlanInputError as exc:
        fields: dict[str, list[str]] = {}
        for error in exc.errors:
            place = re.split("[:：]", str(error), maxsplit=1)  # the place, then what is wrong
            fields.setdefault(place[0] if len(place) == 2 else "devices", []).append(str(error))
        raise ValidationFailed(fields) from None


def _fit(request: plan.Request) -> dict[str, Any]:
    model, chosen = plan_scope.load(request)
    return plan.fit(request, model=model, chosen=chosen)


@operation(
    bp,
    "POST",
    "/plan/fit",
    body=PlanBody,
    response=FitAnswer,
    writes=False,
    tag=TAG,
    summary=_l("Where do these devices fit"),
)
def fit(body: PlanBody) -> Any:
    """Ranked candidates and why other racks do not take the devices; nothing is written."""
    return _fit(_request(body))


class ReservationOut(Output):
    """A plan's reservation (预留) of rack units, switch ports and addresses."""

    id: int
    plan: str
    owner: str
    status: Annotated[str, one_of(ReservationStatus)]
    status_label: str = Field(description="In the reader's language")
    created_at: datetime
    expires_at: datetime
    placements: list[JsonObject]


class ReservationRow:
    def __init__(self, reservation: Reservation) -> None:
        self.reservation = reservation

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reservation, name)

    @property
    def status_label(self) -> str:
        labels = {s.value: s.label for s in ReservationStatus}
        return str(labels[self.reservation.status])


class AcceptBody(Input):
    plan: PlanBody
    candidate: int = Field(ge=1, le=1000, description="The candidate's rank in the answer")
    name: Annotated[Name, Field(max_length=128)] = Field(description="The plan's name")
    hold_days: int = Field(HOLD_DAYS, ge=1, le=366, description="Days the holds last")


@operation(
    bp,
    "POST",
    "/plan/reservations",
    body=AcceptBody,
    response=ReservationOut,
    status=201,
    errors=(409,),
    tag=TAG,
    summary=_l("Accept a candidate: reserve it"),
)
def accept(body: AcceptBody) -> Any:
    """A plan holds once: a name already holding a reservation (a retry) is a 409 before the
    fit is asked again (its candidates now count what the first accept holds)."""
    same = db.session().scalar(
        select(Reservation.id).where(
            Reservation.plan == body.name.strip(),
            Reservation.status == ReservationStatus.RESERVED.value,
        )
    )
    if same is not None:
        message = _("Plan %(plan)s already holds reservation #%(id)d.", plan=body.name, id=same)
        raise ApiError(409, "conflict", message, {"plan": [message]})
    request = _request(body.plan)
    candidates = _fit(request)["candidates"]
    if body.candidate > len(candidates):
        message = _("There is no candidate %(rank)s: ask again.", rank=body.candidate)
        raise ValidationFailed.one("candidate", message)
    chosen = candidates[body.candidate - 1]
    expires = clock.now() + timedelta(days=body.hold_days)
    owner = current_user.display_name or current_user.username
    try:
        held = db.write(
            lambda: reservations.accept(chosen, body.name, owner, expires, request.site_id).id
        )
    except reservations.ReservationConflict as exc:
        message = " ".join(m for messages in exc.errors.values() for m in messages)
        raise ApiError(409, "conflict", message, exc.errors) from None
    location = url_for("assets_api.get_reservation", reservation_id=held)
    return Created(ReservationRow(jsonapi.get_or_404(Reservation, held)), location)


class ReservationFilter(Paging):
    status: Annotated[str, one_of(ReservationStatus)] | None = None


@operation(
    bp,
    "GET",
    "/plan/reservations",
    query=ReservationFilter,
    response=Page[ReservationOut],
    tag=TAG,
    summary=_l("List reservations"),
)
def list_reservations(query: ReservationFilter) -> Any:
    """Those still held first, then the latest."""
    stmt = select(Reservation)
    if query.status is not None:
        stmt = stmt.where(Reservation.status == query.status)
    held_first = (Reservation.status != ReservationStatus.RESERVED.value).asc()
    shown = lambda rows: [ReservationRow(r) for r in rows]  # noqa: E731
    return jsonapi.paginate(stmt, (held_first, Reservation.id.desc()), query, shown)


@operation(
    bp,
    "GET",
    "/plan/reservations/<int:reservation_id>",
    response=ReservationOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a reservation"),
)
def get_reservation(reservation_id: int) -> Any:
    return ReservationRow(jsonapi.get_or_404(Reservation, reservation_id))


@operation(
    bp,
    "POST",
    "/plan/reservations/<int:reservation_id>/release",
    response=ReservationOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Release a reservation"),
)
def release(reservation_id: int) -> Any:
    """Free the units, ports and addresses it holds (an installed one keeps its status)."""
    jsonapi.get_or_404(Reservation, reservation_id)
    db.write(lambda: reservations.release(reservation_id))
    return ReservationRow(jsonapi.get_or_404(Reservation, reservation_id))
