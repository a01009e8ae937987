"""Writes of move plans (flush; the caller commits once, through ``opskit.db.write``).

Creating a plan (:func:`create_plan`, ``assets.moves.planning``) checks every step at once
and writes nothing when one is wrong; the error is keyed ``step N`` and names the asset, rack
and unit.

Carrying a step out: :func:`check_scan` says which step a scanned asset tag is, or why not.
The rule for order: the steps may be done in any order, but one at a time: while a step is
powered off, scanning any other asset is refused naming the step that is powered off.
:func:`power_off` moves a step pending → powered off; :func:`finish_step` checks the scanned
rack and places the asset in its new units (the registry's placement check: a unit taken
meanwhile by another asset or a reservation is refused naming it, and nothing changes), moves
its links and management address, and marks the step done; the last step finishes the plan.
:func:`skip` marks a pending step skipped with a reason (the asset stays where it is, the units
the step was to take are free again for other plans); a step powered off cannot be skipped.
Each transition locks the plan's row and checks the step's state, so a retried submission (a
double tap, a reload) finds the step already moved on and does nothing twice (``already``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select

from assets.models import Asset, IPAddress, Rack
from assets.move_models import MovePlan, MoveState, MoveStep, StepState
from assets.moves.planning import (
    LIVE_STEPS,
    OPEN_STATES,
    PORT_KEYS,
    check_units,
    create_plan,
    link_at,
    open_targets,
)
from assets.rack_labels import rack_names
from assets.services.links import save_link
from assets.services.placement import place, sync_units
from opskit import clock, db
from opskit.validation import ValidationFailed

__all__ = [
    "LIVE_STEPS",
    "OPEN_STATES",
    "PORT_KEYS",
    "MoveRefused",
    "Outcome",
    "cancel",
    "check_scan",
    "create_plan",
    "finish_step",
    "pause",
    "power_off",
    "powered_off_step",
    "resume",
    "set_step_to_u",
    "skip",
]

#: the longest reason a skipped step keeps
MAX_REASON = 500


class MoveRefused(ValidationFailed):
    """A step cannot be done now (wrong asset, out of order, collision); the message says why."""

    def __init__(self, message: str, field: str = "scan") -> None:
        super().__init__({field: [message]})


@dataclass
class Outcome:
    """A transition's step; ``already``: a retry found it done, nothing was written."""

    step: MoveStep
    already: bool = False


# --- carrying it out -------------------------------------------------------------------------


def _locked(plan_id: int) -> MovePlan:
    """The plan, its row locked until the commit (PostgreSQL; SQLite writers take turns)."""
    sess = db.session()
    plan = sess.get(MovePlan, plan_id, with_for_update=True, populate_existing=True)
    if plan is None:
        raise MoveRefused(_("No move plan #%(id)d.", id=plan_id), "plan")
    return plan


def _refuse_unless_running(plan: MovePlan) -> None:
    if plan.state == MoveState.PAUSED.value:
        raise MoveRefused(_("Move plan %(plan)s is paused: resume it first.", plan=plan.name))
    if plan.state in (MoveState.DONE.value, MoveState.CANCELLED.value):
        raise MoveRefused(
            _(
                "Move plan %(plan)s is %(state)s.",
                plan=plan.name,
                state=MoveState.labels()[plan.state],
            )
        )


def powered_off_step(plan: MovePlan) -> MoveStep | None:
    return next((s for s in plan.steps if s.state == StepState.POWERED_OFF.value), None)


def _next_tags(plan: MovePlan) -> str:
    return ", ".join(s.asset.asset_tag for s in plan.steps if s.state == StepState.PENDING.value)


def check_scan(plan: MovePlan, scanned: str) -> MoveStep:
    """The step of the scanned asset tag, or :class:`MoveRefused` naming what was scanned and
    what was expected (another step powered off, an asset not in the plan, a step done)."""
    _refuse_unless_running(plan)
    tag = scanned.strip()
    if not tag:
        raise MoveRefused(_("Scan or type the asset tag."))
    busy = powered_off_step(plan)
    if busy is not None and busy.asset.asset_tag != tag:
        raise MoveRefused(
            _(
                "Scanned %(scanned)s, but step %(step)d (%(tag)s) is powered off: finish it "
                "first by scanning its new rack %(rack)s.",
                scanned=tag,
                step=busy.position,
                tag=busy.asset.asset_tag,
                rack=busy.to_rack.name,
            )
        )
    step = next((s for s in plan.steps if s.asset.asset_tag == tag), None)
    if step is None:
        raise MoveRefused(
            _(
                "Scanned %(scanned)s, which is not in move plan %(plan)s; expected one of: "
                "%(expected)s.",
                scanned=tag,
                plan=plan.name,
                expected=_next_tags(plan) or "—",
            )
        )
    if step.state == StepState.DONE.value:
        raise MoveRefused(
            _("%(tag)s was already moved (step %(step)d).", tag=tag, step=step.position)
        )
    if step.state == StepState.SKIPPED.value:
        raise MoveRefused(_("Step %(step)d (%(tag)s) was skipped.", step=step.position, tag=tag))
    return step


def _step(plan: MovePlan, step_id: int) -> MoveStep:
    step = next((s for s in plan.steps if s.id == step_id), None)
    if step is None:
        raise MoveRefused(_("Move plan %(plan)s has no such step.", plan=plan.name))
    return step


def power_off(plan_id: int, step_id: int, scanned: str, at: datetime | None = None) -> Outcome:
    """Step pending → powered off (the plan starts with its first step). A retry of a step
    already powered off (or done) is ``already``: nothing written."""
    plan = _locked(plan_id)
    step = _step(plan, step_id)
    if step.state in (StepState.POWERED_OFF.value, StepState.DONE.value) and (
        scanned.strip() == step.asset.asset_tag
    ):
        return Outcome(step, already=True)
    if plan.state == MoveState.DRAFT.value:
        plan.state = MoveState.IN_PROGRESS.value
        plan.started_at = at or clock.now()
    if check_scan(plan, scanned) is not step:
        raise MoveRefused(
            _("Scanned %(scanned)s; this step moves %(tag)s.",
              scanned=scanned.strip(), tag=step.asset.asset_tag)
        )  # fmt: skip
    step.state = StepState.POWERED_OFF.value
    step.powered_off_at = at or clock.now()
    db.session().flush()
    return Outcome(step)


def rack_matches(rack: Rack, scanned: str) -> bool:
    """A rack's label: its name, ``room/rack``, or its printed label's URL
    (``assets.rack_labels``: site, room and rack named)."""
    names = rack_names(scanned)
    if names is not None:
        return names == (rack.room.site.name, rack.room.name, rack.name)
    text = scanned.strip().casefold()
    return text in (rack.name.casefold(), f"{rack.room.name}/{rack.name}".casefold())


def finish_step(
    plan_id: int, step_id: int, rack_scanned: str, actor: str, at: datetime | None = None
) -> Outcome:
    """Step powered off → done: the asset in its new rack and units (refused, naming who holds
    a unit, when it was taken meanwhile), its links and management address moved."""
    plan = _locked(plan_id)
    step = _step(plan, step_id)
    if step.state == StepState.DONE.value:
        return Outcome(step, already=True)
    _refuse_unless_running(plan)
    if step.state != StepState.POWERED_OFF.value:
        raise MoveRefused(
            _("Step %(step)d (%(tag)s) is not powered off: scan the asset and power it off first.",
              step=step.position, tag=step.asset.asset_tag)
        )  # fmt: skip
    rack = step.to_rack
    if not rack_matches(rack, rack_scanned):
        raise MoveRefused(
            _("Scanned rack %(scanned)s; %(tag)s goes to rack %(rack)s.",
              scanned=rack_scanned.strip() or "—", tag=step.asset.asset_tag, rack=rack.name),
            "rack",
        )  # fmt: skip
    asset = step.asset
    asset.rack = rack
    asset.room = rack.room
    asset.u_position = step.to_u
    errors: dict[str, list[str]] = {}
    place(asset, errors)
    if errors:
        db.session().expire(asset)
        message = " ".join(m for messages in errors.values() for m in messages)
        raise MoveRefused(
            _("Collision: %(message)s Nothing was changed; choose another U.", message=message),
            "rack",
        )
    sync_units(asset)
    _move_ports(asset, step.ports)
    for change in step.addresses:
        _move_address(asset, change)
    now = at or clock.now()
    step.state = StepState.DONE.value
    step.done_at = now
    step.done_by = actor
    db.session().flush()
    if all(s.state in (StepState.DONE.value, StepState.SKIPPED.value) for s in plan.steps):
        plan.state = MoveState.DONE.value
        plan.finished_at = now
    db.session().flush()
    return Outcome(step)


def skip(
    plan_id: int, step_id: int, reason: str, actor: str, at: datetime | None = None
) -> Outcome:
    """Step pending → skipped: the asset stays where it is, ``reason`` (required) kept on the
    step with who and when. The step no longer holds its target units (``open_targets`` reads
    live steps only) nor its asset (another plan may move it). Refused for a step powered off
    (its asset is off and in maintenance: rack it first) or moved; a retry is ``already``. The
    last step finishes the plan."""
    plan = _locked(plan_id)
    step = _step(plan, step_id)
    if step.state == StepState.SKIPPED.value:
        return Outcome(step, already=True)
    _refuse_unless_running(plan)
    tag = step.asset.asset_tag
    if step.state == StepState.DONE.value:
        raise MoveRefused(
            _("%(tag)s was already moved (step %(step)d).", tag=tag, step=step.position), "step"
        )
    if step.state == StepState.POWERED_OFF.value:
        raise MoveRefused(
            _("Step %(step)d (%(tag)s) is powered off and its alerts are in maintenance: "
              "skipping it would leave it so. Rack it and power it on first.",
              step=step.position, tag=tag),
            "step",
        )  # fmt: skip
    why = " ".join(reason.split())
    if not why:
        raise MoveRefused(_("Say why the step is skipped."), "reason")
    if len(why) > MAX_REASON:
        raise MoveRefused(
            _("At most %(limit)s characters (got %(count)s).", limit=MAX_REASON, count=len(why)),
            "reason",
        )
    now = at or clock.now()
    step.state = StepState.SKIPPED.value
    step.skip_reason = why
    step.done_at = now
    step.done_by = actor
    if all(s.state in (StepState.DONE.value, StepState.SKIPPED.value) for s in plan.steps):
        plan.state = MoveState.DONE.value
        plan.finished_at = now
    db.session().flush()
    return Outcome(step)


def _move_ports(asset: Asset, ports: list[dict[str, Any]]) -> None:
    sess = db.session()
    for move in ports:
        current = link_at(asset.id, move["port"])
        if current is not None:
            sess.delete(current)
            sess.flush()
        switch = sess.scalar(select(Asset).where(Asset.asset_tag == move["to_switch"]))
        if switch is None:
            raise MoveRefused(_("No asset has the tag “%(tag)s”.", tag=move["to_switch"]), "rack")
        save_link(asset, move["port"], switch, move["to_port"])


def _move_address(asset: Asset, change: Mapping[str, str]) -> None:
    sess = db.session()
    other = sess.scalar(
        select(Asset.asset_tag).where(Asset.mgmt_ip == change["to"], Asset.id != asset.id)
    )
    if other is not None:
        raise MoveRefused(
            _("%(address)s is the address of %(tag)s.", address=change["to"], tag=other), "rack"
        )
    old = change.get("from") or asset.mgmt_ip
    asset.mgmt_ip = change["to"]
    if old:  # the old address row of this asset is freed
        sess.execute(
            delete(IPAddress).where(IPAddress.address == old, IPAddress.asset_id == asset.id)
        )


def set_step_to_u(plan_id: int, step_id: int, to_u: int) -> MoveStep:
    """Another U for a step not yet done (after a collision); checked like a new step."""
    plan = _locked(plan_id)
    step = _step(plan, step_id)
    if step.state not in LIVE_STEPS:
        raise MoveRefused(_("Step %(step)d is finished.", step=step.position), "to_u")
    problems: list[str] = []
    leaving = {s.asset_id for s in plan.steps if s.state in LIVE_STEPS}
    check_units(step.asset, step.to_rack, to_u, leaving, open_targets(plan.id), problems)
    if problems:
        raise ValidationFailed({"to_u": problems})
    step.to_u = to_u
    db.session().flush()
    return step


def pause(plan_id: int) -> MovePlan:
    """Pause: no step moves until resumed (a powered-off step stays so, its alerts in
    maintenance)."""
    plan = _locked(plan_id)
    if plan.state not in (MoveState.DRAFT.value, MoveState.IN_PROGRESS.value):
        raise MoveRefused(_("Only a move plan in progress can be paused."), "plan")
    plan.state = MoveState.PAUSED.value
    db.session().flush()
    return plan


def resume(plan_id: int) -> MovePlan:
    plan = _locked(plan_id)
    if plan.state != MoveState.PAUSED.value:
        raise MoveRefused(_("Only a paused move plan can be resumed."), "plan")
    plan.state = MoveState.IN_PROGRESS.value if plan.started_at else MoveState.DRAFT.value
    db.session().flush()
    return plan


def cancel(plan_id: int, at: datetime | None = None) -> MovePlan:
    """Cancel an open plan whose steps are all racked or pending (a powered-off asset must be
    racked first); the steps done stay as done, the pending ones no longer hold their units."""
    plan = _locked(plan_id)
    if plan.state not in OPEN_STATES:
        raise MoveRefused(_("Only an open move plan can be cancelled."), "plan")
    busy = powered_off_step(plan)
    if busy is not None:
        raise MoveRefused(
            _("Step %(step)d (%(tag)s) is powered off: rack it before cancelling the plan.",
              step=busy.position, tag=busy.asset.asset_tag),
            "plan",
        )  # fmt: skip
    plan.state = MoveState.CANCELLED.value
    plan.finished_at = at or clock.now()
    db.session().flush()
    return plan
