"""The request pages' reads: the queue with its filters, nearest running deadline first, and
the dashboard tile's figures (open requests, the nearest deadline, those overdue and those
needing a temporary measure).

Scopes: ``mine`` is an engineer's queue (assigned to them, or to nobody yet) and, for a viewer,
the requests they logged; ``all`` is everyone's. Status: ``open`` (still being worked, the
default), one status, or ``any``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from assets import queries as registry
from opskit import db
from opskit.servicedesk.models import OPEN_STATUSES, ServiceRequest, Status, Urgency
from opskit.servicedesk.queries import RequestView, with_clocks
from opskit.servicedesk.queries import _by_deadline as by_deadline
from opskit.servicedesk.queries import _with_history as with_history

SCOPES = ("mine", "all")
STATUS_FILTERS = ("open", *(s.value for s in Status), "any")
#: the most requests one queue page shows
QUEUE_LIMIT = 300


@dataclass(frozen=True)
class Filters:
    scope: str = "all"
    status: str = "open"
    urgency: str | None = None


def clean_filters(
    scope: str | None, status: str | None, urgency: str | None, default: str
) -> Filters:
    """The filters of a queue URL; anything unknown falls back to its default."""
    return Filters(
        scope if scope in SCOPES else default,
        status if status in STATUS_FILTERS else "open",
        urgency if urgency in Urgency.labels() else None,
    )


def request_queue(
    filters: Filters, username: str, viewer: bool, now: datetime | None = None
) -> list[RequestView]:
    """The requests the filters choose, nearest running deadline first."""
    stmt = select(ServiceRequest).options(*with_history())
    if filters.status == "open":
        stmt = stmt.where(ServiceRequest.status.in_(OPEN_STATUSES))
    elif filters.status != "any":
        stmt = stmt.where(ServiceRequest.status == filters.status)
    if filters.urgency is not None:
        stmt = stmt.where(ServiceRequest.urgency == filters.urgency)
    if filters.scope == "mine":
        if viewer:
            stmt = stmt.where(ServiceRequest.created_by == username)
        else:
            stmt = stmt.where(
                or_(ServiceRequest.assigned_to == username, ServiceRequest.assigned_to.is_(None))
            )
    stmt = stmt.order_by(ServiceRequest.raised_at.desc()).limit(QUEUE_LIMIT)
    return by_deadline(with_clocks(list(db.session().scalars(stmt)), now))


@dataclass(frozen=True)
class TileFigures:
    open: int
    by_urgency: dict[str, int]
    nearest: RequestView | None  # the request whose running deadline comes first
    overdue: int  # requests with a running clock past its deadline
    needs_measure: int  # past the fix-by cap, unresolved, without a temporary measure


def tile_figures(site_id: int | None = None, now: datetime | None = None) -> TileFigures:
    """The dashboard's figures; of one site: the requests in its rooms (a request of no room
    counts only with all sites)."""
    stmt = (
        select(ServiceRequest)
        .where(ServiceRequest.status.in_(OPEN_STATUSES))
        .options(*with_history())
    )
    if site_id is not None:
        stmt = stmt.where(ServiceRequest.room_id.in_(registry.site_rooms_query(site_id)))
    views = by_deadline(with_clocks(list(db.session().scalars(stmt)), now))
    upcoming = [v for v in views if v.next_clock is not None and not v.next_clock.overdue]
    return TileFigures(
        open=len(views),
        by_urgency={u: sum(v.request.urgency == u for v in views) for u in Urgency.labels()},
        nearest=upcoming[0] if upcoming else None,
        overdue=sum(any(c.overdue for c in v.clocks) for v in views),
        needs_measure=sum(v.needs_temporary_measure for v in views),
    )
