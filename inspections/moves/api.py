"""A move's steps and the plan's pause, resume and cancel in the JSON API (``/api/v1/moves/...``):
the tablet's actions (``inspections.moves.views``) as POST operations calling the same services,
so the logbook's power-off/on and the alerts' maintenance go with them. The plans and their
steps are read through ``assets.api.moves``.

- ``POST /moves/{plan_id}/steps/{step_id}/power-off`` ``{"asset_tag"}`` (the scanned label: the
  step's asset, else 409 naming what was scanned and expected);
- ``POST /moves/{plan_id}/steps/{step_id}/finish`` ``{"rack"}`` (the scanned rack: its name,
  ``room/rack`` or its label's URL); a unit taken meanwhile is a 409 naming who holds it, and
  nothing changes;
- ``POST /moves/{plan_id}/steps/{step_id}/skip`` ``{"reason"}`` (required): engineers and
  admins only (403 for a supervisor); a step powered off or moved is a 409 saying why;
- ``POST /moves/{plan_id}/pause``, ``/resume``, ``/cancel``.

Roles as on the pages: writer roles (admin, engineer, supervisor; a viewer's token gets 403),
skipping for engineers and admins. A client's retry (the answer lost on the way) is not done
twice: the step or plan already where the call would take it answers 200 with
``"already": true`` and nothing is written. Answers: ``{"already", "plan", "step"}`` for a step,
``{"already", "plan"}`` for a plan. 404 for an unknown plan, or a step not of that plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import Field

from assets.moves import queries, services
from assets.moves.queries import MovePlanOut, MoveStepOut
from inspections.moves import services as onsite
from opskit import db, jsonapi
from opskit.apischema import MAX_ID, Input, Name, Output, Text
from opskit.i18n import site_tz
from opskit.jsonapi import ApiError
from opskit.openapi import operation
from opskit.validation import ValidationFailed

bp = jsonapi.api_blueprint("moves_api", __name__)
TAG = "moves"  # the section of ``assets.api.moves``
#: the state a plan action leaves the plan in: a retry finding it so writes nothing
PLAN_TARGETS = {"pause": ("paused",), "resume": ("in_progress", "draft"), "cancel": ("cancelled",)}
#: a refusal on these fields is wrong input (422); any other is the step's or plan's state (409)
INPUT_FIELDS = ("reason",)


class PowerOffBody(Input):
    asset_tag: Annotated[Name, Field(max_length=200, examples=["SRV-001"])] = Field(
        description="The scanned asset label (the tag, or the label's URL)"
    )


class FinishBody(Input):
    rack: Annotated[Name, Field(max_length=500, examples=["A02"])] = Field(
        description="The scanned rack label: its name, room/rack, or the rack label's URL"
    )


class SkipBody(Input):
    reason: Annotated[Text, Field(max_length=services.MAX_REASON, examples=["客户要求保留"])] = (
        Field(description="Why the asset is not moved (required; kept on the step)")
    )


class StepResult(Output):
    """What a step action left: the plan and the step; ``already``: a retry, nothing written."""

    already: bool
    plan: MovePlanOut
    step: MoveStepOut


class PlanResult(Output):
    """What a plan action left; ``already``: the plan was so already, nothing written."""

    already: bool
    plan: MovePlanOut


def _plan(plan_id: int) -> Any:
    found = queries.plan(plan_id) if plan_id <= MAX_ID else None
    if found is None:
        raise ApiError(404, "not_found", _("No such object."))
    return found


def _refused(exc: ValidationFailed) -> ApiError:
    message = " ".join(m for messages in exc.errors.values() for m in messages)
    status = 422 if set(exc.errors) <= set(INPUT_FIELDS) else 409
    return ApiError(status, "validation" if status == 422 else "refused", message, exc.errors)


def _step_action(plan_id: int, step_id: int, work: Callable[[], services.Outcome]) -> Any:
    plan = _plan(plan_id)
    if step_id not in {s.id for s in plan.steps}:
        raise ApiError(404, "not_found", _("No such object."))
    try:
        outcome = db.write(work)
    except onsite.NotAllowed as exc:
        raise ApiError(403, "forbidden", str(exc)) from None
    except ValidationFailed as exc:
        raise _refused(exc) from None
    step = outcome.step
    return {
        "already": outcome.already,
        "plan": queries.plan_out(step.plan),
        "step": queries.step_out(step),
    }


STEP_ERRORS = (404, 409)


@operation(
    bp,
    "POST",
    "/moves/<int:plan_id>/steps/<int:step_id>/power-off",
    body=PowerOffBody,
    response=StepResult,
    errors=STEP_ERRORS,
    tag=TAG,
    summary=_l("Power a move step's asset off"),
)
def power_off_move_step(plan_id: int, step_id: int, body: PowerOffBody) -> Any:
    """The step pending → powered off: logged in the logbook, the asset's alerts in
    maintenance. Another step powered off, a wrong asset scanned, a paused plan: 409."""
    tz, tag = site_tz(), onsite.scanned_tag(body.asset_tag)
    return _step_action(
        plan_id, step_id, lambda: onsite.power_off(plan_id, step_id, tag, tz, current_user)
    )


@operation(
    bp,
    "POST",
    "/moves/<int:plan_id>/steps/<int:step_id>/finish",
    body=FinishBody,
    response=StepResult,
    errors=STEP_ERRORS,
    tag=TAG,
    summary=_l("Rack a move step's asset and power it on"),
)
def finish_move_step(plan_id: int, step_id: int, body: FinishBody) -> Any:
    """The step powered off → done: the asset in its new units, powered on (logged), its
    maintenance ended. A unit taken meanwhile, the wrong rack scanned: 409, nothing changed."""
    tz = site_tz()
    return _step_action(
        plan_id, step_id, lambda: onsite.finish(plan_id, step_id, body.rack, tz, current_user)
    )


@operation(
    bp,
    "POST",
    "/moves/<int:plan_id>/steps/<int:step_id>/skip",
    body=SkipBody,
    response=StepResult,
    errors=(403, *STEP_ERRORS),
    tag=TAG,
    summary=_l("Skip a move step"),
)
def skip_move_step(plan_id: int, step_id: int, body: SkipBody) -> Any:
    """A pending step skipped: the asset stays where it is, the reason kept on the step with
    who and when. Engineers and admins only; a step powered off or moved: 409."""
    return _step_action(
        plan_id, step_id, lambda: onsite.skip(plan_id, step_id, body.reason, current_user)
    )


def _plan_action(plan_id: int, action: str, work: Callable[[int], Any]) -> Any:
    _plan(plan_id)
    try:
        db.write(lambda: work(plan_id))
    except ValidationFailed as exc:
        found = _plan(plan_id)
        if found.state not in PLAN_TARGETS[action]:
            raise _refused(exc) from None
        return {"already": True, "plan": queries.plan_out(found)}
    return {"already": False, "plan": queries.plan_out(_plan(plan_id))}


#: the plan's actions: the service each calls, its summary and its description
PLAN_ACTIONS: dict[str, tuple[Callable[[int], Any], Any, str]] = {
    "pause": (
        services.pause,
        _l("Pause a move plan"),
        "No step moves until resumed (a step powered off stays so, in maintenance).",
    ),
    "resume": (services.resume, _l("Resume a move plan"), "The steps may be carried on."),
    "cancel": (
        services.cancel,
        _l("Cancel a move plan"),
        "The steps not done are dropped; a step powered off must be racked first (409).",
    ),
}


def _plan_operation(action: str) -> None:
    work, summary, description = PLAN_ACTIONS[action]

    def view(plan_id: int) -> Any:
        return _plan_action(plan_id, action, work)

    view.__name__ = f"{action}_move"
    operation(
        bp,
        "POST",
        f"/moves/<int:plan_id>/{action}",
        response=PlanResult,
        errors=(404, 409),
        tag=TAG,
        summary=summary,
        description=description,
    )(view)


for _action in PLAN_ACTIONS:
    _plan_operation(_action)
