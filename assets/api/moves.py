"""Move plans (搬迁) in the JSON API, read only (``/api/v1/moves``): the plans (``state``; open
ones first, then the newest), paged, and one plan with its steps in order — each asset from
where to where (``A01 U10-U11``), its state, when it was powered off and moved, and by whom.
The steps are taken on the tablet's pages (``assets.moves``), not here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import Field
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from assets.api.common import bp
from assets.move_models import MovePlan, MoveState, MoveStep, StepState
from assets.moves import queries
from opskit import jsonapi, openapi
from opskit.apischema import JsonObject, Output, Page, Paging, one_of
from opskit.openapi import operation

TAG = "moves"
openapi.tag(TAG, _l("Moves"))


class MoveStepOut(Output):
    """One asset's move within a plan."""

    id: int
    position: int
    asset_id: int
    asset_tag: str
    from_where: str = Field(examples=["A01 U10-U11"], description="— when not racked")
    to_where: str = Field(examples=["B01 U18-U19"])
    state: Annotated[str, one_of(StepState)]
    state_label: str = Field(description="In the reader's language")
    ports: list[JsonObject]
    addresses: list[JsonObject]
    powered_off_at: datetime | None
    done_at: datetime | None
    done_by: str


class MovePlanOut(Output):
    """A move plan (搬迁计划)."""

    id: int
    name: str
    site_id: int | None
    owner: str
    state: Annotated[str, one_of(MoveState)]
    state_label: str = Field(description="In the reader's language")
    notes: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    steps_total: int
    steps_done: int


class MovePlanDetail(MovePlanOut):
    steps: list[MoveStepOut] = Field(description="In order")


def _step(step: MoveStep) -> dict[str, Any]:
    height = step.asset.u_height or 1
    return {
        "id": step.id,
        "position": step.position,
        "asset_id": step.asset_id,
        "asset_tag": step.asset.asset_tag,
        "from_where": queries.where(step.from_rack, step.from_u, height),
        "to_where": queries.where(step.to_rack, step.to_u, height),
        "state": step.state,
        "state_label": str(queries.step_state_labels()[step.state]),
        "ports": step.ports,
        "addresses": step.addresses,
        "powered_off_at": step.powered_off_at,
        "done_at": step.done_at,
        "done_by": step.done_by,
    }


def _plan(found: MovePlan, with_steps: bool = False) -> dict[str, Any]:
    finished = (StepState.DONE.value, StepState.SKIPPED.value)
    out = {
        name: getattr(found, name)
        for name in ("id", "name", "site_id", "owner", "state", "notes", "created_at")
    }
    out |= {
        "state_label": str(queries.state_labels()[found.state]),
        "started_at": found.started_at,
        "finished_at": found.finished_at,
        "steps_total": len(found.steps),
        "steps_done": sum(1 for s in found.steps if s.state in finished),
    }
    if with_steps:
        out["steps"] = [_step(s) for s in sorted(found.steps, key=lambda s: s.position)]
    return out


class MoveFilter(Paging):
    state: Annotated[str, one_of(MoveState)] | None = None


@operation(
    bp,
    "GET",
    "/moves",
    query=MoveFilter,
    response=Page[MovePlanOut],
    tag=TAG,
    summary=_l("List move plans"),
)
def list_moves(query: MoveFilter) -> Any:
    """Open plans first, then the newest."""
    stmt = select(MovePlan).options(selectinload(MovePlan.steps))
    if query.state is not None:
        stmt = stmt.where(MovePlan.state == query.state)
    closed = case(
        (MovePlan.state.in_((MoveState.DONE.value, MoveState.CANCELLED.value)), 1), else_=0
    )
    order = (closed, MovePlan.created_at.desc(), MovePlan.id.desc())
    return jsonapi.paginate(stmt, order, query, lambda rows: [_plan(p) for p in rows])


@operation(
    bp,
    "GET",
    "/moves/<int:plan_id>",
    response=MovePlanDetail,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a move plan with its steps"),
)
def get_move(plan_id: int) -> Any:
    return _plan(jsonapi.get_or_404(MovePlan, plan_id), with_steps=True)
