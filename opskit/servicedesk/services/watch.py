"""The SLA watch (warnings and breaches recorded once, told through the alerts' channels) and
the auto-close, with the notifier's periodic jobs."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from opskit import db
from opskit.alerts import queries as alert_queries
from opskit.alerts import services as alerts
from opskit.audit import acting_as
from opskit.servicedesk import clocks
from opskit.servicedesk.models import (
    OPEN_STATUSES,
    CloseHow,
    EventKind,
    RequestEvent,
    ServiceRequest,
    Status,
)
from opskit.servicedesk.services import common
from opskit.servicedesk.services.lifecycle import close
from opskit.servicedesk.wording import CLOCK_NAMES
from opskit.sla import Policy
from opskit.validation import ValidationFailed

# --- the SLA watch and the auto-close --------------------------------------------------------


DEFAULT_AUTO_CLOSE_DAYS = 3
NOTICE_SOURCE = "servicedesk"


def _notice_text(req: ServiceRequest, clock: str, kind: EventKind, due: datetime) -> str:
    when = due.strftime("%m-%d %H:%M")
    words = {"number": req.number, "clock": CLOCK_NAMES[clock], "due": when, "title": req.title}
    if kind == EventKind.SLA_WARNING:
        return _("%(number)s: %(clock)s deadline %(due)s is near — %(title)s", **words)
    if clock == "fix_by" and not req.temporary_measure.strip():
        return _(
            "%(number)s: not fixed by %(due)s — put a temporary measure in place — %(title)s",
            **words,
        )
    return _("%(number)s: %(clock)s deadline %(due)s missed — %(title)s", **words)


def watch_clocks(now: datetime | None = None, policy: Policy | None = None) -> list[str]:
    """Record each open request's SLA warnings and breaches once per clock and tell the team
    (a notice through the alerts' channels); what was recorded, for the log (flushes).
    ``policy``: the one in force (read when not given; the demo's replay of past moments
    passes it, as reading it parses the policy's YAML)."""
    now = now or db.utcnow()
    sess = db.session()
    policy = policy or alert_queries.current_policy()
    requests = list(
        sess.scalars(select(ServiceRequest).where(ServiceRequest.status.in_(OPEN_STATUSES)))
    )
    if not requests:
        return []
    kinds = (EventKind.SLA_WARNING.value, EventKind.SLA_BREACHED.value)
    rows = sess.execute(
        select(RequestEvent.request_id, RequestEvent.kind, RequestEvent.detail).where(
            RequestEvent.request_id.in_([r.id for r in requests]),
            RequestEvent.kind.in_(kinds),
        )
    )
    seen = {(request_id, kind, clock) for request_id, kind, clock in rows}
    made = []
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")
    for req in requests:
        for state in clocks.request_clocks(req, policy, now):
            if not state.running:
                continue
            if state.overdue:
                kind = EventKind.SLA_BREACHED
            elif state.warning:
                kind = EventKind.SLA_WARNING
            else:
                continue
            if (req.id, kind.value, state.clock) in seen or (
                kind == EventKind.SLA_WARNING
                and (req.id, EventKind.SLA_BREACHED.value, state.clock) in seen
            ):
                continue
            common.event(req, kind, now, detail=state.clock, by="sla")
            seen.add((req.id, kind.value, state.clock))
            with force_locale(locale):
                message = _notice_text(req, state.clock, kind, state.deadline)
            alerts.send_notice(
                f"{NOTICE_SOURCE}:request={req.id}:{state.clock}:{kind.value}",
                source=NOTICE_SOURCE,
                rule=f"{NOTICE_SOURCE}.request.{state.clock}",
                urgency=req.urgency,
                message=message,
                asset_id=req.asset_id,
                room_id=req.room_id,
                at=now,
            )
            made.append(f"{req.number} {state.clock} {kind.value}")
    sess.flush()
    return made


def auto_close_days() -> int:
    """N of the auto-close: app config ``REQUEST_AUTO_CLOSE_DAYS``, else
    ``OPSKIT_REQUEST_AUTO_CLOSE_DAYS``, else 3."""
    if "REQUEST_AUTO_CLOSE_DAYS" in current_app.config:
        return int(current_app.config["REQUEST_AUTO_CLOSE_DAYS"])
    settings = current_app.config.get("OPSKIT_SETTINGS")
    return int(getattr(settings, "request_auto_close_days", DEFAULT_AUTO_CLOSE_DAYS))


def auto_close_at(resolved_at: datetime, days: int) -> datetime:
    """When a request resolved at ``resolved_at`` closes by itself: the end of the ``days``-th
    working day after the day it was resolved (site calendar of the SLA policy)."""
    calendar = alert_queries.current_policy().calendar
    return calendar.end_of_working_day_after(resolved_at, days)


def auto_close_due(now: datetime | None = None, days: int | None = None) -> list[ServiceRequest]:
    """Close (``auto``) the resolved requests whose time to confirm has run out (flushes)."""
    now = now or db.utcnow()
    days = days if days is not None else auto_close_days()
    if days < 1:
        raise ValidationFailed.one("days", _("At least one working day."))
    calendar = alert_queries.current_policy().calendar
    resolved = db.session().scalars(
        select(ServiceRequest)
        .where(ServiceRequest.status == Status.RESOLVED.value, ServiceRequest.resolved_at <= now)
        .order_by(ServiceRequest.resolved_at, ServiceRequest.id)
    )
    closed = []
    with acting_as("system"):
        for req in list(resolved):
            assert req.resolved_at is not None
            due = calendar.end_of_working_day_after(req.resolved_at, days)
            if due <= now:
                close(req, CloseHow.AUTO.value, at=due)
                closed.append(req)
    return closed


def run_clock_job() -> list[str]:
    """The periodic job "request clocks": ``watch_clocks`` now, committed."""
    with acting_as("sla"):
        return db.write(lambda: watch_clocks(db.utcnow()))


def run_auto_close_job() -> list[str]:
    """The periodic job "request auto-close": ``auto_close_due`` now, committed."""
    closed = db.write(lambda: auto_close_due(db.utcnow()))
    return [f"{req.number} closed ({CloseHow.AUTO.value})" for req in closed]
