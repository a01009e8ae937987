"""Read surface of the service desk: alert lists with their SLA clocks, counts for the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from assets import queries as registry
from opskit import db
from opskit.alerts import incidents, rule_kinds
from opskit.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    Incident,
    MaintenanceWindow,
    RuleState,
    incident_asset,
)
from opskit.alerts.rules import site_rules
from opskit.calendar import site_arrangements
from opskit.clock import site_tz
from opskit.models import SiteSetting
from opskit.sla import (
    CLOCKS,
    ClockState,
    Policy,
    PolicyError,
    clock_state,
    default_policy_text,
    load_policy,
)

CLOCK_DONE = {
    "acknowledge": "acknowledged_at",
    "onsite": "onsite_at",
    "resolve": "resolved_at",
}


POLICY_KEY = "sla_policy"

#: sources whose alerts are only notices (``services.send_notice``: the service desk telling
#: the team of a request's SLA warning or breach, resolved at once): they are no alerts in the
#: alert figures (the alert report, its SLA, the dashboard's counts); the request's own clocks
#: count in the service-request report
NOTICE_SOURCES = ("servicedesk",)


def current_policy() -> Policy:
    """The SLA policy an admin saved in opskit, else ``<instance>/sla_policy.yaml``, else the
    shipped default, its calendar with the site's holiday arrangements (``<instance>/
    holidays.yaml``, re-read when it changes: an admin's save at /admin/calendar counts at
    once, no restart). One that no longer loads (e.g. written before a rule was added) is
    skipped with a warning in the log, so the alert pages keep working; ``policy_problems()``
    says why (the policy page shows it to the admin)."""
    return _policy_and_problems()[0]


def policy_problems() -> list[str]:
    """Why the saved or the instance policy is not the one in force (empty when it is)."""
    return _policy_and_problems()[1]


def _policy_and_problems() -> tuple[Policy, list[str]]:
    tz = site_tz()
    try:
        saved = db.session().get(SiteSetting, POLICY_KEY)
    except SQLAlchemyError:  # database not set up yet (e.g. `opskit sla deadlines` at once)
        db.session().rollback()
        saved = None
    candidates = []
    if saved is not None:
        candidates.append((saved.value, "sla_policy (saved in opskit)"))
    path = Path(current_app.instance_path) / "sla_policy.yaml"
    if path.exists():
        candidates.append((path.read_text(encoding="utf-8"), str(path)))
    problems: list[str] = []
    years = site_arrangements().years
    for text, source in candidates:
        try:
            return load_policy(text, tz, source, years), problems
        except PolicyError as exc:
            problems.append(str(exc))
            current_app.logger.warning("SLA policy not used: %s", exc)
    return load_policy(default_policy_text(), tz, "sla_policy.yaml (default)", years), problems


@dataclass(frozen=True)
class AlertView:
    alert: Alert
    clocks: list[ClockState]

    @property
    def next_clock(self) -> ClockState | None:
        running = [c for c in self.clocks if c.done_at is None]
        return min(running, key=lambda c: c.deadline) if running else None


def clocks_for(alert: Alert, policy: Policy, now: datetime) -> list[ClockState]:
    """The three clocks of an alert; silenced alerts (maintenance) run no clock."""
    if alert.silenced:
        return []
    return [
        clock_state(
            policy,
            alert.urgency,
            clock,
            alert.first_seen,
            # resolving an alert also ends its acknowledge and on-site clocks
            getattr(alert, CLOCK_DONE[clock]) or alert.resolved_at,
            now,
        )
        for clock in CLOCKS
    ]


def incident_clocks(incident: Incident, now: datetime) -> list[ClockState]:
    """An incident's on-site clock (ends at the arrival or the close) and its resolve clock
    (ends at the close), by its urgency from its opening."""
    policy = current_policy()
    return [
        clock_state(
            policy,
            incident.urgency,
            "onsite",
            incident.opened_at,
            incident.onsite_at or incident.closed_at,
            now,
        ),
        clock_state(
            policy, incident.urgency, "resolve", incident.opened_at, incident.closed_at, now
        ),
    ]


def of_site(site_id: int) -> Any:
    """The condition "this alert is about site ``site_id``": its asset is in one of the site's
    rooms, or, for an alert of no asset (a room's patrol finding), its room is one of them. An
    alert of neither asset nor room belongs to no site."""
    return or_(
        Alert.asset_id.in_(registry.site_assets_query(site_id)),
        and_(Alert.asset_id.is_(None), Alert.room_id.in_(registry.site_rooms_query(site_id))),
    )


def list_alerts(
    *,
    urgency: str | None = None,
    status: str | None = "open",
    room_id: int | None = None,
    source: str | None = None,
    site_id: int | None = None,
    limit: int = 200,
) -> list[Alert]:
    stmt = select(Alert)
    if site_id is not None:
        stmt = stmt.where(of_site(site_id))
    if status == "open":
        stmt = stmt.where(Alert.status.in_(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(Alert.status == status)
    if urgency:
        stmt = stmt.where(Alert.urgency == urgency)
    if room_id:
        stmt = stmt.where(Alert.room_id == room_id)
    if source:
        stmt = stmt.where(Alert.source == source)
    order = case({"A": 0, "B": 1, "C": 2}, value=Alert.urgency)
    stmt = stmt.order_by(order, Alert.first_seen.desc()).limit(limit)
    return list(db.session().scalars(stmt))


def _within(stmt: Any, column: Any, since: datetime | None, until: datetime | None) -> Any:
    if since is not None:
        stmt = stmt.where(column >= since)
    return stmt if until is None else stmt.where(column < until)


def alerts_matching(
    *,
    status: str | None = None,
    urgency: str | None = None,
    site_id: int | None = None,
    asset_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Alert]:
    """The alerts of ``status`` (``"open"``: firing or acknowledged), ``urgency``, site
    (``of_site``), asset, first seen in [``since``, ``until``), each filter when given; newest
    first (a statement to page, for the API)."""
    stmt = select(Alert)
    if status == "open":
        stmt = stmt.where(Alert.status.in_(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(Alert.status == status)
    if urgency:
        stmt = stmt.where(Alert.urgency == urgency)
    if site_id is not None:
        stmt = stmt.where(of_site(site_id))
    if asset_id is not None:
        stmt = stmt.where(Alert.asset_id == asset_id)
    stmt = _within(stmt, Alert.first_seen, since, until)
    return stmt.order_by(Alert.first_seen.desc(), Alert.id.desc())


def incidents_matching(
    *,
    status: str | None = None,
    grade: str | None = None,
    urgency: str | None = None,
    asset_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[Incident]:
    """The incidents of ``status`` (open/closed), ``grade``, ``urgency``, concerning the asset
    ``asset_id``, opened in [``since``, ``until``), each filter when given; newest first."""
    stmt = select(Incident)
    for column, value in (
        (Incident.status, status),
        (Incident.grade, grade),
        (Incident.urgency, urgency),
    ):
        if value:
            stmt = stmt.where(column == value)
    if asset_id is not None:
        stmt = stmt.where(
            Incident.id.in_(
                select(incident_asset.c.incident_id).where(incident_asset.c.asset_id == asset_id)
            )
        )
    stmt = _within(stmt, Incident.opened_at, since, until)
    return stmt.order_by(Incident.opened_at.desc(), Incident.id.desc())


def with_clocks(alerts: list[Alert], now: datetime) -> list[AlertView]:
    policy = current_policy()
    return [AlertView(a, clocks_for(a, policy, now)) for a in alerts]


def open_counts(site_id: int | None = None) -> dict[str, int]:
    """Open alerts by urgency, e.g. {"A": 1, "B": 0, "C": 4}; of site ``site_id`` if given.
    Notices (``NOTICE_SOURCES``) are never counted, should one ever be open."""
    stmt = select(Alert.urgency, func.count()).where(
        Alert.status.in_(OPEN_STATUSES), Alert.source.not_in(NOTICE_SOURCES)
    )
    if site_id is not None:
        stmt = stmt.where(of_site(site_id))
    rows = db.session().execute(stmt.group_by(Alert.urgency))
    counts = {"A": 0, "B": 0, "C": 0}
    counts.update({u: n for u, n in rows})
    return counts


def get_alert(alert_id: int) -> Alert | None:
    return db.session().get(Alert, alert_id)


def get_incident(incident_id: int) -> Incident | None:
    return db.session().get(Incident, incident_id)


def history(alert_id: int) -> list[AlertEvent]:
    return list(
        db.session().scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
        )
    )


def alerts_between(start: datetime, end: datetime, *, notices: bool = False) -> list[Alert]:
    """Alerts first seen in [start, end), oldest first (for reports); the notices
    (``NOTICE_SOURCES``) only when ``notices`` is true."""
    stmt = select(Alert).where(Alert.first_seen >= start, Alert.first_seen < end)
    if not notices:
        stmt = stmt.where(Alert.source.not_in(NOTICE_SOURCES))
    return list(db.session().scalars(stmt.order_by(Alert.first_seen, Alert.id)))


#: the columns of :func:`alert_rows`, in order
ALERT_COLUMNS = (
    "id",
    "first_seen",
    "last_seen",
    "urgency",
    "status",
    "source",
    "rule",
    "message",
    "asset_id",
    "room_id",
    "count",
    "acknowledged_at",
    "acknowledged_by",
    "onsite_at",
    "resolved_at",
    "resolved_by",
)


def alert_rows(
    start: datetime,
    end: datetime,
    *,
    site_id: int | None = None,
    urgency: str | None = None,
    status: str | None = None,
) -> list[Any]:
    """Alerts first seen in [start, end) as plain rows of ``ALERT_COLUMNS`` (a Core statement:
    no ORM objects), oldest first, notices (``NOTICE_SOURCES``) left out; only those of site
    ``site_id`` (``of_site``), of ``urgency``, or of ``status`` (``"open"``: firing or
    acknowledged), when given."""
    stmt = select(*(getattr(Alert, name) for name in ALERT_COLUMNS)).where(
        Alert.first_seen >= start,
        Alert.first_seen < end,
        Alert.source.not_in(NOTICE_SOURCES),
    )
    if site_id is not None:
        stmt = stmt.where(of_site(site_id))
    if urgency:
        stmt = stmt.where(Alert.urgency == urgency)
    if status == "open":
        stmt = stmt.where(Alert.status.in_(OPEN_STATUSES))
    elif status:
        stmt = stmt.where(Alert.status == status)
    return list(db.session().connection().execute(stmt.order_by(Alert.first_seen, Alert.id)))


def alerts_overlapping(
    start: datetime, end: datetime, rules: list[str], rule_suffix: str = ""
) -> list[Alert]:
    """Alerts of the rules named ``rules`` (or whose rule ends in ``rule_suffix``: a trap
    rule's condition, ``trap.<profile>.ups_on_battery``) that were open at some time in
    [start, end): first seen before ``end``, not resolved by ``start``; oldest first."""
    matches: ColumnElement[bool] = Alert.rule.in_(rules)
    if rule_suffix:
        matches = or_(matches, Alert.rule.endswith(rule_suffix, autoescape=True))
    stmt = select(Alert).where(
        matches,
        Alert.first_seen < end,
        or_(Alert.resolved_at.is_(None), Alert.resolved_at > start),
    )
    return list(db.session().scalars(stmt.order_by(Alert.first_seen, Alert.id)))


def maintenance_window(window_id: int) -> MaintenanceWindow | None:
    return db.session().get(MaintenanceWindow, window_id)


def maintenance_windows_between(start: datetime, end: datetime) -> list[MaintenanceWindow]:
    """Maintenance windows overlapping [start, end), by start."""
    stmt = select(MaintenanceWindow).where(
        MaintenanceWindow.starts_at < end, MaintenanceWindow.ends_at > start
    )
    return list(
        db.session().scalars(stmt.order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id))
    )


def incidents_between(start: datetime, end: datetime) -> list[Any]:
    return list(
        db.session().scalars(
            select(Incident)
            .where(Incident.opened_at >= start, Incident.opened_at < end)
            .order_by(Incident.opened_at, Incident.id)
        )
    )


def open_urgency_by_asset(asset_ids: list[int]) -> dict[int, str]:
    """asset id → the most urgent open alert's urgency (A before B before C), for colouring."""
    if not asset_ids:
        return {}
    rows = db.session().execute(
        select(Alert.asset_id, func.min(Alert.urgency))
        .where(Alert.status.in_(OPEN_STATUSES), Alert.asset_id.in_(asset_ids))
        .group_by(Alert.asset_id)
    )
    return {asset_id: urgency for asset_id, urgency in rows if asset_id is not None}


@dataclass(frozen=True)
class OverLimit:
    """One asset/instance a threshold rule currently judges abnormal (dashboard)."""

    asset_id: int
    instance: str
    level: str  # warning | critical
    value: str  # the last value the rule saw, with its unit ("93.4%")
    rule: str
    limit: float | None  # the rule's warning limit


def over_limit(
    metric: str, limit: int = 20, site_id: int | None = None
) -> tuple[int, list[OverLimit]]:
    """What the site's threshold rules on ``metric`` hold above (or below) their limits now:
    (how many, the first ``limit``, critical first). Reads the rule states, one row per watched
    asset/instance, never the readings. ``site_id``: only the assets in that site's rooms."""
    rules = {r.name: r for r in site_rules() if r.metric == metric and rule_kinds.of(r).has_limits}
    if not rules:
        return 0, []
    stmt = select(RuleState).where(
        RuleState.rule.in_(list(rules)), RuleState.level.in_(["warning", "critical"])
    )
    if site_id is not None:
        stmt = stmt.where(RuleState.asset_id.in_(registry.site_assets_query(site_id)))
    rows = db.session().scalars(stmt)
    found = [
        OverLimit(s.asset_id, s.instance, s.level, s.last_value, s.rule, rules[s.rule].warning)
        for s in rows
    ]

    def number(text: str) -> float:
        digits = "".join(c for c in text if c.isdigit() or c in ".-")
        try:
            return float(digits)
        except ValueError:
            return 0.0

    found.sort(key=lambda o: (o.level != "critical", -number(o.value), o.asset_id, o.instance))
    return len(found), found[:limit]


def incident_words() -> tuple[dict[str, Any], dict[str, Any]]:
    """(grade → its word, phase → its word) of incidents, lazy (for the reports)."""
    return incidents.GRADE_LABELS, incidents.PHASE_LABELS
