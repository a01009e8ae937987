"""Reads of move plans: the list, one plan with its steps, and each asset's move history; and
a plan and its steps as the JSON API answers them (``MovePlanOut``, ``MoveStepOut``: read by
``assets.api.moves`` and by the step actions of ``inspections.moves.api``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from assets.move_models import MovePlan, MoveState, MoveStep, StepState
from opskit import db
from opskit.apischema import JsonObject, Output, one_of


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


# --- the JSON API's answers ------------------------------------------------------------------


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
    done_at: datetime | None = Field(description="When it was moved or skipped")
    done_by: str = Field(description="Who moved or skipped it")
    skip_reason: str = Field(description="Why it was skipped (empty unless skipped)")


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


def step_out(step: MoveStep) -> dict[str, Any]:
    """A step as ``MoveStepOut`` reads it."""
    height = step.asset.u_height or 1
    return {
        "id": step.id,
        "position": step.position,
        "asset_id": step.asset_id,
        "asset_tag": step.asset.asset_tag,
        "from_where": where(step.from_rack, step.from_u, height),
        "to_where": where(step.to_rack, step.to_u, height),
        "state": step.state,
        "state_label": str(step_state_labels()[step.state]),
        "ports": step.ports,
        "addresses": step.addresses,
        "powered_off_at": step.powered_off_at,
        "done_at": step.done_at,
        "done_by": step.done_by,
        "skip_reason": step.skip_reason or "",
    }


def plan_out(found: MovePlan, with_steps: bool = False) -> dict[str, Any]:
    """A plan as ``MovePlanOut`` (``MovePlanDetail`` ``with_steps``) reads it."""
    finished = (StepState.DONE.value, StepState.SKIPPED.value)
    out = {
        name: getattr(found, name)
        for name in ("id", "name", "site_id", "owner", "state", "notes", "created_at")
    }
    out |= {
        "state_label": str(state_labels()[found.state]),
        "started_at": found.started_at,
        "finished_at": found.finished_at,
        "steps_total": len(found.steps),
        "steps_done": sum(1 for s in found.steps if s.state in finished),
    }
    if with_steps:
        out["steps"] = [step_out(s) for s in sorted(found.steps, key=lambda s: s.position)]
    return out
