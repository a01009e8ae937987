"""A request's SLA clocks, read from the one engine (``opskit.sla``: the policy's ``request``
levels, the Chinese working calendar, suspensions) — nothing here computes a deadline.

Four clocks count from the moment the request was raised (the phone call):

=============  ======================================================================
acknowledge    响应: done when the engineer responds (or takes any later step)
onsite         到场: done on arrival on site, or when remote work (远程拨入) starts — the
               contract sends an engineer only when the fault needs one — or on resolving
resolve        解决: done when resolved
fix_by         the contract's cap, the end of the 2nd working day after the day of the
               request: done when resolved; past it unresolved, the request needs a temporary
               measure (临时应急措施) unless it carries one
=============  ======================================================================

While the request is suspended (挂起) its clocks stand still: ``Policy.deadlines`` moves each
deadline later by the suspended time before it (an open suspension counts up to now).

A clock's state: ``met`` / ``missed`` once done (by / after its deadline); while running,
``overdue`` past its deadline, ``paused`` while the request is suspended or a working-hours
clock is outside working time, else ``running``. ``warning``: still running and at least the
policy's ``warn_at_percent`` of its time used (running time, suspensions not counted).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from opskit.servicedesk.models import ServiceRequest, Status
from opskit.sla import REQUEST_CLOCKS, Policy

STATES = ("running", "paused", "overdue", "met", "missed")
Period = tuple[datetime, datetime]


@dataclass(frozen=True)
class RequestClock:
    clock: str  # acknowledge | onsite | resolve | fix_by
    deadline: datetime  # site time
    done_at: datetime | None
    state: str  # one of STATES
    percent_used: float
    #: running time left before the deadline (negative past it), on the clock's hours
    remaining: timedelta
    hours: str  # "24x7" or "working"
    warning: bool = False
    #: a paused working-hours clock: when working time begins again (None while suspended)
    resumes_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.done_at is None

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


def done_moments(req: ServiceRequest) -> dict[str, datetime | None]:
    """When each clock of ``req`` was done (None: still running)."""
    onsite = [m for m in (req.onsite_at, req.remote_at, req.resolved_at) if m is not None]
    return {
        "acknowledge": req.responded_at,
        "onsite": min(onsite) if onsite else None,
        "resolve": req.resolved_at,
        "fix_by": req.resolved_at,
    }


def suspended_periods(req: ServiceRequest, now: datetime) -> list[Period]:
    """The request's suspensions as (start, end); the open one ends at ``now``."""
    return [
        (s.started_at, s.ended_at if s.ended_at is not None else max(now, s.started_at))
        for s in req.suspensions
    ]


def _running_time(
    policy: Policy, hours: str, start: datetime, end: datetime, periods: Sequence[Period]
) -> timedelta:
    """Time on ``hours`` from ``start`` to ``end`` with the suspended periods left out."""

    def span(a: datetime, b: datetime) -> timedelta:
        if b <= a:
            return timedelta(0)
        return policy.calendar.working_time_between(a, b) if hours == "working" else b - a

    total = span(start, end)
    for begin, stop in periods:
        total -= span(max(start, begin), min(end, stop))
    return max(total, timedelta(0))


def request_clocks(req: ServiceRequest, policy: Policy, now: datetime) -> list[RequestClock]:
    """The four clocks of a request judged at ``now``."""
    periods = suspended_periods(req, now)
    deadlines = policy.deadlines(req.urgency, req.raised_at, kind="request", suspended=periods)
    level = policy.level_for(req.urgency, "request")
    done = done_moments(req)
    suspended = req.status == Status.SUSPENDED.value
    clocks = []
    for clock in REQUEST_CLOCKS:
        hours = "working" if clock == "fix_by" else level.hours
        deadline, done_at = deadlines[clock], done[clock]
        end = done_at or now
        used = _running_time(policy, hours, req.raised_at, end, periods)
        allowed = _running_time(policy, hours, req.raised_at, deadline, periods)
        percent = 100.0 * (used / allowed) if allowed else 100.0
        if end <= deadline:
            remaining = _running_time(policy, hours, end, deadline, periods)
        else:
            remaining = -_running_time(policy, hours, deadline, end, periods)
        resumes_at = None
        if done_at is not None:
            state = "met" if done_at <= deadline else "missed"
        elif now > deadline:
            state = "overdue"
        elif suspended:
            state = "paused"
        else:
            state = "running"
            if hours == "working":
                start, _end = next(policy.calendar.periods_from(now))
                if start > now:  # outside working time: the clock stands still until then
                    state, resumes_at = "paused", start
        clocks.append(
            RequestClock(
                clock,
                deadline,
                done_at,
                state,
                round(percent, 1),
                remaining,
                hours,
                warning=done_at is None and percent >= policy.warn_at_percent,
                resumes_at=resumes_at,
            )
        )
    return clocks


def needs_temporary_measure(req: ServiceRequest, clocks: Sequence[RequestClock]) -> bool:
    """Past its fix-by cap, not resolved, and no temporary measure recorded."""
    fix_by = next(c for c in clocks if c.clock == "fix_by")
    return fix_by.overdue and req.resolved_at is None and not req.temporary_measure.strip()


def next_deadline(clocks: Sequence[RequestClock]) -> RequestClock | None:
    """The running clock whose deadline comes first."""
    running = [c for c in clocks if c.running]
    return min(running, key=lambda c: c.deadline) if running else None
