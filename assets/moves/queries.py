"""Reads of move plans: the list, one plan with its steps, and each asset's move history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from assets.move_models import MovePlan, MoveState, MoveStep, StepState
from opskit import db


def plans() -> list[MovePlan]:
    """Every move plan, open ones first, newest first."""
    rows = db.session().scalars(
        select(MovePlan).options(selectinload(MovePlan.steps)).order_by(MovePlan.created_at.desc())
    )
    closed = (MoveState.DONE.value, MoveState.CANCELLED.value)
    return sorted(rows, key=lambda p: p.state in closed)


def plan(plan_id: int) -> MovePlan | None:
    return db.session().get(MovePlan, plan_id)


def plan_by_name(name: str) -> MovePlan | None:
    return db.session().scalar(select(MovePlan).where(MovePlan.name == name))


def moves_of_asset(asset_id: int) -> list[MoveStep]:
    """The asset's move steps, newest first (done ones carry who and when)."""
    return list(
        db.session().scalars(
            select(MoveStep)
            .where(MoveStep.asset_id == asset_id)
            .options(selectinload(MoveStep.plan))
            .order_by(MoveStep.id.desc())
        )
    )


def where(rack: Any, first: int | None, height: int) -> str:
    """``A01 U10-U11`` (or ``—``)."""
    if rack is None:
        return "—"
    if first is None:
        return rack.name
    last = first + max(height, 1) - 1
    return f"{rack.name} U{first}" + (f"-U{last}" if last != first else "")


def state_labels() -> dict[str, Any]:
    return MoveState.labels()


def step_state_labels() -> dict[str, Any]:
    return StepState.labels()
