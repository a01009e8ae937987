"""Read surface of the service desk: requests with their SLA clocks, the engineer's queue, the
count and nearest deadline for the dashboard, a request's history, the requests of an asset and
of an alert, patrol finding or incident, the requesters seen before, and the runbooks
(``runbook_queries``: a runbook's versions, search, those of an asset or a request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.base import ExecutableOption

from opskit import db
from opskit.alerts import queries as alert_queries
from opskit.servicedesk import categories
from opskit.servicedesk.clocks import (
    RequestClock,
    needs_temporary_measure,
    next_deadline,
    request_clocks,
)
from opskit.servicedesk.models import (
    OPEN_STATUSES,
    Loan,
    RequestEvent,
    ServiceRequest,
    Status,
)
from opskit.servicedesk.repair_queries import (
    REPEATED_FAULTS_DAYS,
    REPEATED_FAULTS_OVER,
    RepeatedFault,
    get_repair,
    repair_number,
    repair_when,
    repairs_of_asset,
    repairs_of_request,
    repeated_faults,
    repeated_faults_defaults,
)
from opskit.servicedesk.report_queries import (
    RequestWords,
    repairs_between,
    request_numbers,
    request_words,
    requests_between,
    resolve_time,
    suspended_time,
)
from opskit.servicedesk.runbook_queries import (
    RunbookItem,
    get_runbook,
    get_version,
    list_runbooks,
    runbooks_for_asset,
    runbooks_for_request,
    versions_of,
)
from opskit.servicedesk.survey_queries import (
    SurveyAnswer,
    SurveySummary,
    engineer_of,
    survey_answers,
    survey_of_request,
    survey_summary,
)
from opskit.sla import Policy

__all__ = [
    "OPEN_STATUSES",
    "REPEATED_FAULTS_DAYS",
    "REPEATED_FAULTS_OVER",
    "RepeatedFault",
    "RequestClock",
    "RequestView",
    "RequestWords",
    "Requester",
    "RunbookItem",
    "SurveyAnswer",
    "SurveySummary",
    "category_label",
    "clocks_of",
    "engineer_of",
    "events",
    "get_repair",
    "get_request",
    "get_runbook",
    "get_version",
    "list_requests",
    "list_runbooks",
    "my_queue",
    "open_count_and_nearest",
    "open_loans",
    "repair_number",
    "repair_when",
    "repairs_between",
    "repairs_of_asset",
    "repairs_of_request",
    "repeated_faults",
    "repeated_faults_defaults",
    "request_by_client_id",
    "request_numbers",
    "request_words",
    "requesters",
    "requests_between",
    "requests_for_alert",
    "requests_for_finding",
    "requests_for_incident",
    "requests_of_asset",
    "resolve_time",
    "runbooks_for_asset",
    "runbooks_for_request",
    "survey_answers",
    "survey_of_request",
    "survey_summary",
    "suspended_time",
    "versions_of",
    "with_clocks",
]

category_label = categories.label


@dataclass(frozen=True)
class RequestView:
    """A request with its clocks judged at one moment."""

    request: ServiceRequest
    clocks: list[RequestClock]

    @property
    def next_clock(self) -> RequestClock | None:
        """The running clock due first (None once every clock is done)."""
        return next_deadline(self.clocks)

    @property
    def needs_temporary_measure(self) -> bool:
        """Past the fix-by cap, unresolved, without a temporary measure."""
        return needs_temporary_measure(self.request, self.clocks)

    def clock(self, name: str) -> RequestClock:
        return next(c for c in self.clocks if c.clock == name)


def _with_history() -> tuple[ExecutableOption, ...]:
    return (selectinload(ServiceRequest.suspensions), selectinload(ServiceRequest.loans))


def get_request(request_id: int) -> ServiceRequest | None:
    """A request with its events, suspensions and loans loaded."""
    return db.session().scalar(
        select(ServiceRequest)
        .where(ServiceRequest.id == request_id)
        .options(selectinload(ServiceRequest.events), *_with_history())
    )


def request_by_client_id(client_id: str) -> ServiceRequest | None:
    return db.session().scalar(select(ServiceRequest).where(ServiceRequest.client_id == client_id))


def events(request_id: int) -> list[RequestEvent]:
    """A request's history, oldest first."""
    return list(
        db.session().scalars(
            select(RequestEvent)
            .where(RequestEvent.request_id == request_id)
            .order_by(RequestEvent.at, RequestEvent.id)
        )
    )


def clocks_of(
    req: ServiceRequest, now: datetime | None = None, policy: Policy | None = None
) -> list[RequestClock]:
    """The request's four clocks (acknowledge, onsite, resolve, fix_by) at ``now``."""
    return request_clocks(req, policy or alert_queries.current_policy(), now or db.utcnow())


def with_clocks(requests: list[ServiceRequest], now: datetime | None = None) -> list[RequestView]:
    policy = alert_queries.current_policy()
    moment = now or db.utcnow()
    return [RequestView(r, request_clocks(r, policy, moment)) for r in requests]


def list_requests(
    *,
    open_only: bool = False,
    status: str | None = None,
    asset_id: int | None = None,
    limit: int = 500,
) -> list[ServiceRequest]:
    """Requests, newest first."""
    stmt = select(ServiceRequest).options(*_with_history())
    if open_only:
        stmt = stmt.where(ServiceRequest.status.in_(OPEN_STATUSES))
    if status is not None:
        stmt = stmt.where(ServiceRequest.status == status)
    if asset_id is not None:
        stmt = stmt.where(ServiceRequest.asset_id == asset_id)
    stmt = stmt.order_by(ServiceRequest.raised_at.desc(), ServiceRequest.id.desc()).limit(limit)
    return list(db.session().scalars(stmt))


def _by_deadline(views: list[RequestView]) -> list[RequestView]:
    """Nearest running deadline first; requests whose clocks are all done last, oldest first."""

    def key(view: RequestView) -> tuple[int, float, int]:
        nxt = view.next_clock
        if nxt is None:
            return (1, view.request.raised_at.timestamp(), view.request.id)
        return (0, nxt.deadline.timestamp(), view.request.id)

    return sorted(views, key=key)


def my_queue(username: str, now: datetime | None = None) -> list[RequestView]:
    """The open requests assigned to ``username`` or to nobody, nearest deadline first."""
    stmt = (
        select(ServiceRequest)
        .where(
            ServiceRequest.status.in_(OPEN_STATUSES),
            or_(ServiceRequest.assigned_to == username, ServiceRequest.assigned_to.is_(None)),
        )
        .options(*_with_history())
    )
    return _by_deadline(with_clocks(list(db.session().scalars(stmt)), now))


def open_count_and_nearest(
    now: datetime | None = None,
) -> tuple[int, RequestView | None]:
    """How many requests are open, and the one whose running deadline comes first (for the
    dashboard tile; None when no clock runs)."""
    stmt = (
        select(ServiceRequest)
        .where(ServiceRequest.status.in_(OPEN_STATUSES))
        .options(*_with_history())
    )
    views = _by_deadline(with_clocks(list(db.session().scalars(stmt)), now))
    nearest = views[0] if views and views[0].next_clock is not None else None
    return len(views), nearest


def _linked(column: Any, linked_id: int) -> list[ServiceRequest]:
    return list(
        db.session().scalars(
            select(ServiceRequest)
            .where(column == linked_id)
            .order_by(ServiceRequest.raised_at, ServiceRequest.id)
        )
    )


def requests_of_asset(asset_id: int) -> list[ServiceRequest]:
    """The asset's requests, oldest first."""
    return _linked(ServiceRequest.asset_id, asset_id)


def requests_for_alert(alert_id: int) -> list[ServiceRequest]:
    return _linked(ServiceRequest.alert_id, alert_id)


def requests_for_finding(finding_id: int) -> list[ServiceRequest]:
    return _linked(ServiceRequest.finding_id, finding_id)


def requests_for_incident(incident_id: int) -> list[ServiceRequest]:
    return _linked(ServiceRequest.incident_id, incident_id)


def open_loans() -> list[Loan]:
    """Spare machines lent and not returned, longest out first."""
    return list(
        db.session().scalars(
            select(Loan).where(Loan.returned_at.is_(None)).order_by(Loan.lent_at, Loan.id)
        )
    )


@dataclass(frozen=True)
class Requester:
    name: str
    department: str
    phone: str
    requests: int
    last_at: datetime


def requesters(text: str = "", limit: int = 20) -> list[Requester]:
    """The people who asked before (name, department, phone), most recent first, for picking
    on the form; ``text`` narrows them (name, department or phone contains it)."""
    last = func.max(ServiceRequest.raised_at)
    stmt = (
        select(
            ServiceRequest.requester_name,
            ServiceRequest.requester_department,
            ServiceRequest.requester_phone,
            func.count(),
            last,
        )
        .where(ServiceRequest.requester_name != "")
        .group_by(
            ServiceRequest.requester_name,
            ServiceRequest.requester_department,
            ServiceRequest.requester_phone,
        )
        .order_by(last.desc(), ServiceRequest.requester_name)
        .limit(limit)
    )
    if text.strip():
        stmt = stmt.where(
            db.text_search(
                text,
                ServiceRequest.requester_name,
                ServiceRequest.requester_department,
                ServiceRequest.requester_phone,
            )
        )
    return [
        Requester(name, department, phone, count, at)
        for name, department, phone, count, at in db.session().execute(stmt)
    ]


#: the statuses in their order, for filters and pages
STATUSES = tuple(s.value for s in Status)
