"""The life of a request: respond, work (remote / on site, arrival by scan), suspend and
resume, resolve, close, reopen, assign; the temporary measure and the spare machine lent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from assets import queries as registry
from opskit import db
from opskit.models import User
from opskit.servicedesk.models import (
    CloseHow,
    EventKind,
    Loan,
    RequestSuspension,
    ServiceRequest,
    Status,
    SuspendReason,
    WorkMode,
)
from opskit.servicedesk.services import common, surveys
from opskit.validation import ValidationFailed

# --- the life of a request -------------------------------------------------------------------


def respond(req: ServiceRequest, note: str = "", at: datetime | None = None) -> ServiceRequest:
    """已响应: the engineer answered (the acknowledge clock stops)."""
    common.require_worker()
    now = common.when(req, at)
    values: dict[str, Any] = {
        "status": Status.RESPONDED.value,
        "responded_at": now,
        "responded_by": common.actor(),
    }
    took = common.take(req, values)
    before = common.claim(
        req,
        (Status.NEW.value,),
        _("Only a new request can be responded to; %(number)s is %(status)s."),
        **values,
    )
    common.event(req, EventKind.RESPONDED, now, note=note, before=before, after=req.status)
    if took:
        common.event(req, EventKind.ASSIGNED, now, detail=req.assigned_to or "")
    db.session().flush()
    return req


def _implied_response(req: ServiceRequest, now: datetime, values: dict[str, Any]) -> bool:
    """A later step on a new request records its response too."""
    if req.responded_at is None:
        values.update(responded_at=now, responded_by=common.actor())
        return True
    return False


def _after_step(
    req: ServiceRequest, now: datetime, before: str, responded: bool, took: bool
) -> str:
    """Record the response a step implied (and who took the request); the status the step
    itself started from."""
    if took:
        common.event(req, EventKind.ASSIGNED, now, detail=req.assigned_to or "")
    if responded and before == Status.NEW.value:
        common.event(req, EventKind.RESPONDED, now, before=before, after=Status.RESPONDED.value)
        return Status.RESPONDED.value
    return before


def start_work(
    req: ServiceRequest, mode: str, note: str = "", at: datetime | None = None
) -> ServiceRequest:
    """处理中, remotely (远程拨入: it answers the on-site clock) or on site; again to change
    the mode."""
    common.require_worker()
    if mode not in WorkMode.labels():
        raise ValidationFailed.one("mode", _("Choose remote or on site."))
    now = common.when(req, at)
    if req.status == Status.IN_PROGRESS.value and req.work_mode == mode:
        return req  # a retried tap: already so
    values: dict[str, Any] = {"status": Status.IN_PROGRESS.value, "work_mode": mode}
    if mode == WorkMode.REMOTE.value and req.remote_at is None:
        values["remote_at"] = now
    responded = _implied_response(req, now, values)
    took = common.take(req, values)
    before = common.claim(
        req,
        (Status.NEW.value, Status.RESPONDED.value, Status.IN_PROGRESS.value),
        _("Work cannot start on %(number)s: it is %(status)s."),
        **values,
    )
    before = _after_step(req, now, before, responded, took)
    common.event(
        req,
        EventKind.WORK_STARTED,
        now,
        note=note,
        detail=mode,
        before=before,
        after=req.status,
    )
    db.session().flush()
    return req


def arrive(req: ServiceRequest, scanned_code: str, at: datetime | None = None) -> ServiceRequest:
    """The engineer is on site: scanned the request's asset label, or a label in its room.
    The first arrival counts; a repeat changes nothing."""
    common.require_worker()
    tag = common.tag_of(scanned_code)
    if not tag:
        raise ValidationFailed.one("scanned_code", _("Scan the label of the asset or its room."))
    asset = registry.asset_by_tag(tag)
    if asset is None:
        raise ValidationFailed.one("scanned_code", _("No asset has the tag %(tag)s.", tag=tag))
    room = common.room_of_asset(asset)
    if req.asset_id is not None and asset.id == req.asset_id:
        how = "asset"
    elif req.room_id is not None and room == req.room_id:
        how = "room"
    elif req.asset_id is None and req.room_id is None:
        how = "any"
    else:
        raise ValidationFailed.one(
            "scanned_code",
            _("%(tag)s is neither the request's asset nor in its room.", tag=asset.asset_tag),
        )
    if req.onsite_at is not None:
        return req
    now = common.when(req, at)
    values: dict[str, Any] = {
        "status": Status.IN_PROGRESS.value,
        "work_mode": WorkMode.ONSITE.value,
        "onsite_at": now,
        "onsite_by": common.actor(),
        "onsite_how": how,
        "onsite_tag": asset.asset_tag,
    }
    responded = _implied_response(req, now, values)
    took = common.take(req, values)
    before = common.claim(
        req,
        (Status.NEW.value, Status.RESPONDED.value, Status.IN_PROGRESS.value),
        _("An arrival cannot be recorded on %(number)s: it is %(status)s."),
        **values,
    )
    before = _after_step(req, now, before, responded, took)
    common.event(
        req, EventKind.ONSITE, now, detail=asset.asset_tag, before=before, after=req.status
    )
    db.session().flush()
    return req


def suspend(
    req: ServiceRequest, reason: str, note: str = "", at: datetime | None = None
) -> ServiceRequest:
    """挂起: waiting for the requester or a vendor; the clocks stand still until ``resume``."""
    common.require_worker()
    if reason not in SuspendReason.labels():
        raise ValidationFailed.one("reason", _("Choose what the request waits for."))
    now = common.when(req, at)
    before = common.claim(
        req,
        (Status.RESPONDED.value, Status.IN_PROGRESS.value),
        _(
            "Only a responded request or one in progress can be suspended; %(number)s is "
            "%(status)s."
        ),
        status=Status.SUSPENDED.value,
    )
    db.session().add(
        RequestSuspension(
            request=req,
            started_at=now,
            reason=reason,
            note=note.strip(),
            status_before=before,
            started_by=common.actor(),
        )
    )
    common.event(
        req,
        EventKind.SUSPENDED,
        now,
        note=note,
        detail=reason,
        before=before,
        after=req.status,
    )
    db.session().flush()
    return req


def _open_suspension(req: ServiceRequest) -> RequestSuspension | None:
    return db.session().scalar(
        select(RequestSuspension).where(
            RequestSuspension.request_id == req.id, RequestSuspension.ended_at.is_(None)
        )
    )


def _end_suspension(req: ServiceRequest, now: datetime) -> str:
    """End the open suspension at ``now`` (never before it began); the status before it."""
    suspension = _open_suspension(req)
    if suspension is None:
        return Status.IN_PROGRESS.value
    suspension.ended_at = max(now, suspension.started_at)
    return suspension.status_before


def resume(req: ServiceRequest, note: str = "", at: datetime | None = None) -> ServiceRequest:
    """The wait is over: back to the status before the suspension; the clocks run again."""
    common.require_worker()
    now = common.when(req, at)
    suspension = _open_suspension(req)
    back = suspension.status_before if suspension is not None else Status.IN_PROGRESS.value
    before = common.claim(
        req,
        (Status.SUSPENDED.value,),
        _("Only a suspended request can be resumed; %(number)s is %(status)s."),
        status=back,
    )
    _end_suspension(req, now)
    common.event(req, EventKind.RESUMED, now, note=note, before=before, after=req.status)
    db.session().flush()
    return req


def resolve(
    req: ServiceRequest,
    cause: str,
    work_done: str = "",
    parts_note: str = "",
    at: datetime | None = None,
) -> ServiceRequest:
    """已解决 with the cause (required), what was done and the parts. A suspended request's
    suspension ends; a new one's response is recorded too (fixed on the phone)."""
    common.require_worker()
    if not cause.strip():
        raise ValidationFailed.one("cause", _("Say what caused the fault."))
    now = common.when(req, at)
    values: dict[str, Any] = {
        "status": Status.RESOLVED.value,
        "resolved_at": now,
        "resolved_by": common.actor(),
        "cause": cause.strip(),
        "work_done": work_done.strip(),
        "parts_note": parts_note.strip(),
    }
    responded = _implied_response(req, now, values)
    took = common.take(req, values)
    before = common.claim(
        req,
        (
            Status.NEW.value,
            Status.RESPONDED.value,
            Status.IN_PROGRESS.value,
            Status.SUSPENDED.value,
        ),
        _("%(number)s is %(status)s: it cannot be resolved."),
        **values,
    )
    if before == Status.SUSPENDED.value:
        back = _end_suspension(req, now)
        common.event(req, EventKind.RESUMED, now, before=before, after=back)
        before = back
    before = _after_step(req, now, before, responded, took)
    common.event(req, EventKind.RESOLVED, now, note=cause, before=before, after=req.status)
    db.session().flush()
    return req


def close(
    req: ServiceRequest,
    how: str = CloseHow.CONFIRMED.value,
    note: str = "",
    at: datetime | None = None,
) -> ServiceRequest:
    """已关闭: the requester confirmed the fix (``confirmed``) or nobody objected in time
    (``auto``)."""
    common.require_worker_or_requester(req)
    if how not in CloseHow.labels():
        raise ValidationFailed.one("how", _("Choose how the request is closed."))
    now = common.when(req, at)
    before = common.claim(
        req,
        (Status.RESOLVED.value,),
        _("Only a resolved request can be closed; %(number)s is %(status)s."),
        status=Status.CLOSED.value,
        closed_at=now,
        closed_by=common.actor(),
        closed_how=how,
    )
    common.event(req, EventKind.CLOSED, now, note=note, detail=how, before=before, after=req.status)
    surveys.open_survey(req, now)  # 满意度: the requester is asked, by link/QR or on the tablet
    db.session().flush()
    return req


def reopen(req: ServiceRequest, note: str, at: datetime | None = None) -> ServiceRequest:
    """The fault is back: a resolved or closed request is worked again (its resolve and
    fix-by clocks run again from the original raise)."""
    common.require_worker_or_requester(req)
    if not note.strip():
        raise ValidationFailed.one("note", _("Say why the request is reopened."))
    now = common.when(req, at)
    before = common.claim(
        req,
        (Status.RESOLVED.value, Status.CLOSED.value),
        _("Only a resolved or closed request can be reopened; %(number)s is %(status)s."),
        status=Status.IN_PROGRESS.value,
        resolved_at=None,
        resolved_by=None,
        closed_at=None,
        closed_by=None,
        closed_how=None,
    )
    common.event(req, EventKind.REOPENED, now, note=note, before=before, after=req.status)
    db.session().flush()
    return req


def assign(req: ServiceRequest, username: str, at: datetime | None = None) -> ServiceRequest:
    """Give the request to an engineer (supervisors and admins)."""
    common.require(common.ASSIGNER_ROLES, _("Only a supervisor or an admin may assign requests."))
    name = username.strip().lower()
    user = db.session().scalar(select(User).where(User.username == name))
    if user is None or not user.active or user.role not in common.WORKER_ROLES:
        raise ValidationFailed.one(
            "assigned_to", _("%(name)s is not an engineer who can take requests.", name=name)
        )
    now = common.when(req, at)
    common.claim(
        req,
        tuple(s.value for s in Status if s != Status.CLOSED),
        _("%(number)s is %(status)s: it cannot be assigned."),
        assigned_to=name,
    )
    common.event(req, EventKind.ASSIGNED, now, detail=name)
    db.session().flush()
    return req


def set_temporary_measure(
    req: ServiceRequest,
    text: str,
    spare_asset_id: int | None = None,
    note: str = "",
    at: datetime | None = None,
) -> ServiceRequest:
    """临时应急措施: what is in place until the fault is fixed, e.g. a spare machine lent (a
    ``Loan`` of that registry asset, one request at a time)."""
    common.require_worker()
    errors: dict[str, list[str]] = {}
    if not text.strip():
        errors["temporary_measure"] = [_("Describe the temporary measure.")]
    spare = None
    if spare_asset_id is not None:
        spare = registry.get_asset(spare_asset_id)
        if spare is None:
            errors["spare_asset_id"] = [_("No such asset.")]
        elif spare.id == req.asset_id:
            errors["spare_asset_id"] = [_("The spare cannot be the faulty asset itself.")]
        else:
            out = db.session().scalar(
                select(Loan).where(Loan.asset_id == spare.id, Loan.returned_at.is_(None))
            )
            if out is not None:
                errors["spare_asset_id"] = [
                    _(
                        "%(tag)s is lent to %(number)s until it is returned.",
                        tag=spare.asset_tag,
                        number=out.request.number,
                    )
                ]
    if errors:
        raise ValidationFailed(errors)
    now = common.when(req, at)
    common.claim(
        req,
        (
            Status.NEW.value,
            Status.RESPONDED.value,
            Status.IN_PROGRESS.value,
            Status.SUSPENDED.value,
        ),
        _("%(number)s is %(status)s: a temporary measure is for a request still open."),
        temporary_measure=text.strip(),
        temporary_measure_at=now,
        temporary_measure_by=common.actor(),
    )
    if spare is not None:
        db.session().add(
            Loan(
                asset_id=spare.id,
                request=req,
                lent_at=now,
                lent_by=common.actor(),
                note=note.strip(),
            )
        )
    common.event(
        req,
        EventKind.TEMPORARY_MEASURE,
        now,
        note=text,
        detail=spare.asset_tag if spare is not None else "",
    )
    db.session().flush()
    return req


def return_loan(loan: Loan, note: str = "", at: datetime | None = None) -> Loan:
    """The spare machine came back."""
    common.require_worker()
    if loan.returned_at is not None:
        raise ValidationFailed.one("loan", _("The spare machine is already returned."))
    now = at or db.utcnow()
    if now < loan.lent_at:
        raise ValidationFailed.one("at", _("It cannot come back before it was lent."))
    sess = db.session()
    sess.flush()
    result = sess.execute(
        update(Loan)
        .where(Loan.id == loan.id, Loan.returned_at.is_(None))
        .values(returned_at=now, returned_by=common.actor())
        .execution_options(synchronize_session=False)
    )
    if db.rowcount(result) != 1:
        sess.refresh(loan)
        raise ValidationFailed.one("loan", _("The spare machine is already returned."))
    set_committed_value(loan, "returned_at", now)
    set_committed_value(loan, "returned_by", common.actor())
    if note.strip():
        loan.note = f"{loan.note}\n{note.strip()}".strip()
    spare = registry.get_asset(loan.asset_id)
    tag = spare.asset_tag if spare is not None else str(loan.asset_id)
    common.event(loan.request, EventKind.LOAN_RETURNED, now, note=note, detail=tag)
    sess.flush()
    return loan
