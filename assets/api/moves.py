"""Move plans (搬迁) in the JSON API (``/api/v1/moves``), the reads: the plans (``state``; open
ones first, then the newest), paged, and one plan with its steps in order — each asset from
where to where (``A01 U10-U11``), its state, when it was powered off and moved, and by whom.
The steps are taken through ``inspections.moves.api`` (the same services as the tablet: the
logbook and the alerts' maintenance go with them); the answer models are
``assets.moves.queries``'s, which both read."""

from __future__ import annotations

from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select
from sqlalchemy.orm import selectinload

from assets.api.common import bp
from assets.move_models import MovePlan, MoveState
from assets.moves.queries import MovePlanDetail, MovePlanOut, plan_out
from opskit import jsonapi, openapi
from opskit.apischema import Page, Paging, one_of
from opskit.openapi import operation

TAG = "moves"
openapi.tag(TAG, _l("Moves"))


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
    return jsonapi.paginate(stmt, order, query, lambda rows: [plan_out(p) for p in rows])


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
    return plan_out(jsonapi.get_or_404(MovePlan, plan_id), with_steps=True)
