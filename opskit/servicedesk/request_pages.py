"""What the request pages show, put together for the templates: the clocks in the alert pages'
clock boxes, where a request came from, the steps its status allows, the words of its keys.

Clocks: a request's ``RequestClock`` becomes the ``opskit.sla.ClockState`` the alert pages'
clock macro and ``static/js/clocks.js`` draw (time left counting down, orange at the warning
share, red and "overdue by …" past the deadline, a C clock outside working hours paused until
working time); a suspended request's clocks stand still with no countdown (``suspended``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from assets import queries as registry
from opskit import db
from opskit.alerts import queries as alert_queries
from opskit.alerts import wording as alert_wording
from opskit.models import User
from opskit.servicedesk import categories, wording
from opskit.servicedesk.clocks import RequestClock
from opskit.servicedesk.models import (
    Channel,
    CloseHow,
    OnsiteHow,
    ServiceRequest,
    Status,
    SuspendReason,
    Urgency,
    WorkMode,
)
from opskit.servicedesk.queries import RequestView, open_loans
from opskit.servicedesk.services.common import ASSIGNER_ROLES, WORKER_ROLES
from opskit.sla import UPCOMING_PERIODS, ClockState, Policy

#: where a request may come from, and the page that shows it (endpoint, its id argument)
ORIGIN_PAGES = {
    "alert": ("alerts.detail", "alert_id"),
    "incident": ("incidents.detail", "incident_id"),
    "finding": ("inspections.finding", "finding_id"),
    "vuln_finding": ("vulns.finding", "vuln_id"),
}


# --- clocks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownClock:
    """A request clock as the page shows it: ``state`` for the clock macro; ``suspended``: the
    request waits (挂起) and the clock stands still, no countdown."""

    clock: RequestClock
    state: ClockState

    @property
    def suspended(self) -> bool:
        return self.clock.state == "paused" and self.clock.resumes_at is None


def shown_clock(c: RequestClock, policy: Policy, now: datetime) -> ShownClock:
    if c.state in ("met", "missed"):
        state = "met" if c.state == "met" else "breached"
    elif c.state == "overdue":
        state = "breached"
    else:
        state = "warning" if c.warning else "running"
    periods: tuple[tuple[datetime, datetime], ...] = ()
    if c.running and c.hours == "working":
        periods = tuple(islice(policy.calendar.periods_from(now), UPCOMING_PERIODS))
    return ShownClock(
        c,
        ClockState(
            c.clock,
            c.deadline,
            c.done_at,
            state,
            c.remaining,
            c.percent_used,
            c.hours,
            now,
            paused=c.state == "paused" and c.resumes_at is not None,
            resumes_at=c.resumes_at,
            periods=periods,
        ),
    )


def shown_clocks(
    view: RequestView, now: datetime, policy: Policy | None = None
) -> list[ShownClock]:
    policy = policy or alert_queries.current_policy()
    return [shown_clock(c, policy, now) for c in view.clocks]


# --- words -----------------------------------------------------------------------------------


def labels() -> dict[str, Any]:
    """The words of the request's keys, for every request template."""
    return {
        "status_labels": Status.labels(),
        "urgency_labels": Urgency.labels(),
        "channel_labels": Channel.labels(),
        "mode_labels": WorkMode.labels(),
        "reason_labels": SuspendReason.labels(),
        "onsite_labels": OnsiteHow.labels(),
        "close_labels": CloseHow.labels(),
        "clock_labels": wording.CLOCK_NAMES,
        "clock_state_labels": wording.CLOCK_STATE_LABELS,
        "category_labels": {key: categories.label(key) for key in categories.categories()},
        "event_text": wording.event_text,
    }


def status_change(event: Any) -> str:
    """ "已响应 → 处理中" of an event that changed the status, else nothing."""
    if not event.to_status or event.from_status == event.to_status:
        return ""
    words = Status.labels()
    after = str(words.get(event.to_status, ""))
    before = str(words.get(event.from_status, "")) if event.from_status else ""
    return f"{before} → {after}" if before else after


# --- where it came from ----------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """The alert, incident or patrol finding a request came from (or is being logged for)."""

    kind: str  # alert | incident | finding | vuln_finding
    id: int
    text: str  # what it says: the alert's message, the incident's number and title ...
    url: str | None  # its page, when that page exists
    urgency: str | None = None
    description: str = ""
    asset_id: int | None = None
    room_id: int | None = None

    @property
    def heading(self) -> str:
        return {
            "alert": _("From the alert"),
            "incident": _("From the incident"),
            "finding": _("From the patrol finding"),
            "vuln_finding": _("From the vulnerability finding"),
        }[self.kind]


def origin_url(kind: str, object_id: int) -> str | None:
    endpoint, arg = ORIGIN_PAGES[kind]
    if endpoint not in current_app.view_functions:
        return None
    values: dict[str, Any] = {arg: object_id}
    return url_for(endpoint, **values)


def origin_of(kind: str, object_id: int, given: dict[str, str] | None = None) -> Origin | None:
    """What the desk knows of an alert or incident, and of a finding (the patrol's tables are
    above the desk: what the patrol page passed, ``given``); None when it does not exist."""
    given = given or {}
    if kind == "alert":
        alert = alert_queries.get_alert(object_id)
        if alert is None:
            return None
        message = alert_wording.alert_messages([alert])[alert.id]  # in the reader's language
        return Origin(
            kind,
            alert.id,
            message,
            origin_url(kind, alert.id),
            alert.urgency,
            message,
            alert.asset_id,
            alert.room_id,
        )
    if kind == "incident":
        incident = alert_queries.get_incident(object_id)
        if incident is None:
            return None
        return Origin(
            kind,
            incident.id,
            f"{incident.number} {incident.title}",
            origin_url(kind, incident.id),
            incident.urgency,
            incident.description or incident.title,
        )
    if kind == "vuln_finding":  # the scan's tables are above the desk: its number and page
        text = _("Vulnerability finding #%(id)s", id=object_id)
        return Origin(kind, object_id, text, origin_url(kind, object_id))
    room = given.get("room_id", "")
    return Origin(
        kind,
        object_id,
        given.get("description", "") or _("Patrol finding"),
        origin_url(kind, object_id),
        given.get("urgency") or None,
        given.get("description", ""),
        room_id=int(room) if room.isdigit() else None,
    )


def origins_of(req: ServiceRequest) -> list[Origin]:
    found = []
    for kind, object_id in (
        ("alert", req.alert_id),
        ("incident", req.incident_id),
        ("finding", req.finding_id),
        ("vuln_finding", req.vuln_finding_id),
    ):
        if object_id is not None:
            origin = origin_of(kind, object_id)
            if origin is not None:
                found.append(origin)
    return found


# --- who may do what -------------------------------------------------------------------------


def _role_in(roles: tuple[str, ...]) -> bool:
    return bool(current_user.is_authenticated and current_user.role in roles)


def is_worker() -> bool:
    """Engineers, supervisors and admins work requests."""
    return _role_in(WORKER_ROLES)


def is_assigner() -> bool:
    """Supervisors and admins assign them."""
    return _role_in(ASSIGNER_ROLES)


@dataclass(frozen=True)
class Steps:
    """The steps the request's status allows the user looking at it."""

    respond: bool = False
    start: list[str] = field(default_factory=list)  # work modes it may start or switch to
    arrive: bool = False
    suspend: bool = False
    resume: bool = False
    resolve: bool = False
    close: bool = False
    reopen: bool = False
    assign: bool = False
    measure: bool = False

    @property
    def any(self) -> bool:
        return any(
            (self.respond, self.start, self.arrive, self.suspend, self.resume, self.resolve)
        ) or any((self.close, self.reopen, self.assign, self.measure))


def steps_for(req: ServiceRequest) -> Steps:
    status = req.status
    worker = is_worker()
    requester = worker or (
        current_user.is_authenticated and req.created_by == current_user.username
    )
    working = (Status.NEW.value, Status.RESPONDED.value, Status.IN_PROGRESS.value)
    modes = []
    if worker and status in working:
        modes = [
            m.value
            for m in WorkMode
            if not (status == Status.IN_PROGRESS.value and req.work_mode == m.value)
        ]
    return Steps(
        respond=worker and status == Status.NEW.value,
        start=modes,
        arrive=worker and status in working and req.onsite_at is None,
        suspend=worker and status in (Status.RESPONDED.value, Status.IN_PROGRESS.value),
        resume=worker and status == Status.SUSPENDED.value,
        resolve=worker and req.is_open,
        close=bool(requester) and status == Status.RESOLVED.value,
        reopen=bool(requester) and status in (Status.RESOLVED.value, Status.CLOSED.value),
        assign=is_assigner() and status != Status.CLOSED.value,
        measure=worker and req.is_open,
    )


def engineers() -> list[tuple[str, str]]:
    """(login, full name) of the active accounts that can take requests."""
    rows = db.session().execute(
        select(User.username, User.display_name)
        .where(User.active.is_(True), User.role.in_(WORKER_ROLES))
        .order_by(User.display_name, User.username)
    )
    return [(name, shown or name) for name, shown in rows]


def spares_available() -> list[registry.Asset]:
    """Registry assets kept as spares (status 备用) that are not lent out now."""
    out = {loan.asset_id for loan in open_loans()}
    spares = registry.list_assets(status="spare", per_page=200).items
    return [a for a in spares if a.id not in out]
