"""Reads of the service desk for the report pack (服务请求统计, 维修记录, and the annual
技术支持总结); offered to other packages through ``opskit.servicedesk.queries``.

A period is ``[start, end)`` in aware datetimes (``reports.periods.Period.start/end``).

- ``requests_between``: the requests *raised* in the period, oldest first, with their
  suspensions and loans loaded.
- ``repairs_between``: the repairs that *happened* in the period — from their downtime start,
  else from when they were recorded (``repair_when``) — oldest first, with their parts.
- ``resolve_time``: how long a request took from the call to resolved, on its level's hours as
  its resolve clock counts them: wall time on a 7x24 level, working time (the policy's Chinese
  working calendar) on a 5x8 level, the suspended time (挂起) left out either way.
- ``suspended_time``: the wall time a request stood suspended (an open suspension up to a
  moment).
- ``request_numbers``: request id → its SR number, for the repairs that name their request.
- ``request_words``: the words of the stored keys (channels, statuses, urgencies, clocks and
  their states, categories) in the reader's language, so no report shows a key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from opskit import db
from opskit.servicedesk import categories
from opskit.servicedesk.clocks import _running_time, suspended_periods
from opskit.servicedesk.models import Channel, Repair, ServiceRequest, Status, Urgency
from opskit.servicedesk.wording import CLOCK_NAMES, CLOCK_STATE_LABELS
from opskit.sla import Policy

__all__ = [
    "RequestWords",
    "repairs_between",
    "request_numbers",
    "request_words",
    "requests_between",
    "resolve_time",
    "suspended_time",
]


def requests_between(start: datetime, end: datetime) -> list[ServiceRequest]:
    """The requests raised in ``[start, end)``, oldest first, suspensions and loans loaded."""
    return list(
        db.session().scalars(
            select(ServiceRequest)
            .where(ServiceRequest.raised_at >= start, ServiceRequest.raised_at < end)
            .options(selectinload(ServiceRequest.suspensions), selectinload(ServiceRequest.loans))
            .order_by(ServiceRequest.raised_at, ServiceRequest.id)
        )
    )


def repairs_between(start: datetime, end: datetime) -> list[Repair]:
    """The repairs that happened in ``[start, end)`` (downtime start, else recorded), oldest
    first, with their parts."""
    when = func.coalesce(Repair.downtime_start, Repair.created_at)
    return list(
        db.session().scalars(
            select(Repair)
            .where(when >= start, when < end)
            .options(selectinload(Repair.parts))
            .order_by(when, Repair.id)
        )
    )


def request_numbers(ids: Iterable[int | None]) -> dict[int, str]:
    """Request id → SR number (SR-2026-0042) of the requests ``ids`` names."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = db.session().scalars(select(ServiceRequest).where(ServiceRequest.id.in_(wanted)))
    return {req.id: req.number for req in rows}


def resolve_time(req: ServiceRequest, policy: Policy) -> timedelta | None:
    """From the call to resolved on the hours of the request's level (7x24: wall time; 5x8:
    working time), suspensions left out — what its resolve clock counted; None unresolved."""
    if req.resolved_at is None:
        return None
    hours = policy.level_for(req.urgency, "request").hours
    periods = suspended_periods(req, req.resolved_at)
    return _running_time(policy, hours, req.raised_at, req.resolved_at, periods)


def suspended_time(req: ServiceRequest, until: datetime) -> timedelta:
    """Wall time the request stood suspended up to ``until`` (an open suspension counts to it)."""
    total = timedelta(0)
    for begin, end in suspended_periods(req, until):
        stop = min(end, until)
        if stop > begin:
            total += stop - begin
    return total


@dataclass(frozen=True)
class RequestWords:
    """Stored key → word, in the reader's language (lazy strings, translated when shown)."""

    channels: dict[str, Any]
    statuses: dict[str, Any]
    urgencies: dict[str, Any]
    clocks: dict[str, Any]  # acknowledge / onsite / resolve / fix_by
    clock_states: dict[str, Any]  # running / paused / overdue / met / missed
    categories: dict[str, str]  # every category of ``categories.yaml``, in its order
    category: Callable[[str], str]  # any stored category (an unknown one as it is stored)


def request_words() -> RequestWords:
    return RequestWords(
        channels=Channel.labels(),
        statuses=Status.labels(),
        urgencies=Urgency.labels(),
        clocks=dict(CLOCK_NAMES),
        clock_states=dict(CLOCK_STATE_LABELS),
        categories={key: categories.label(key) for key in categories.categories()},
        category=categories.label,
    )
