"""Logbook reads: the filtered lists (a page at a time, or all of them for the export), the
people still inside, the latest lines and the counts of a period (dashboard, reports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import has_app_context
from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from assets import queries as assets
from inspections.logbook.models import AccessEntry, PowerEvent
from opskit import db
from opskit.db import Page
from opskit.i18n import site_tz


@dataclass(frozen=True)
class Filters:
    """List filters: local dates (inclusive), room, and free text (person or asset)."""

    start: date | None = None
    end: date | None = None
    room_id: int | None = None
    q: str = ""
    inside: bool = False  # access only: people still inside

    def bounds(self, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        low = datetime.combine(self.start, time(), tz).astimezone(UTC) if self.start else None
        high = (
            datetime.combine(self.end + timedelta(days=1), time(), tz).astimezone(UTC)
            if self.end
            else None
        )
        return low, high


PER_PAGE = 100  # rows of one page of the logbook lists


def _page_of(stmt: Select[Any], page: int, per_page: int) -> Page:
    """Count the rows of ``stmt`` (filtered and ordered, ties broken by id), then read page
    ``page`` of them by offset; a page past the last reads the last, one below 1 the first."""
    sess = db.session()
    total = sess.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = sess.scalars(stmt.offset((page - 1) * per_page).limit(per_page)).unique()
    return Page(list(rows), total, page, per_page)


def _access_query(filters: Filters, tz: ZoneInfo) -> Select[AccessEntry]:
    """Visits overlapping the date range (newest first, then by id); ``q`` matches
    name/organisation/escort."""
    stmt = select(AccessEntry).options(
        joinedload(AccessEntry.room), joinedload(AccessEntry.recorded_by)
    )
    low, high = filters.bounds(tz)
    if high is not None:
        stmt = stmt.where(AccessEntry.in_at < high)
    if low is not None:
        stmt = stmt.where(or_(AccessEntry.out_at.is_(None), AccessEntry.out_at >= low))
    if filters.room_id:
        stmt = stmt.where(AccessEntry.room_id == filters.room_id)
    if filters.inside:
        stmt = stmt.where(AccessEntry.out_at.is_(None))
    if filters.q:
        stmt = stmt.where(
            db.text_search(
                filters.q, AccessEntry.name, AccessEntry.organisation, AccessEntry.escort
            )
        )
    return stmt.order_by(AccessEntry.in_at.desc(), AccessEntry.id.desc())


def access_entries(filters: Filters, tz: ZoneInfo, limit: int | None = None) -> list[AccessEntry]:
    """Every visit matching ``filters`` (newest first), or the first ``limit``; the Excel export."""
    stmt = _access_query(filters, tz)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session().scalars(stmt).unique())


def access_page(filters: Filters, tz: ZoneInfo, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Page ``page`` of the visits matching ``filters`` (see ``_page_of``), for the list page."""
    return _page_of(_access_query(filters, tz), page, per_page)


def _power_query(filters: Filters, tz: ZoneInfo) -> Select[PowerEvent]:
    """Power events in the date range (newest first, then by id); ``q`` matches asset
    tag/name, change, who."""
    stmt = select(PowerEvent).options(
        joinedload(PowerEvent.asset), joinedload(PowerEvent.recorded_by)
    )
    low, high = filters.bounds(tz)
    if low is not None:
        stmt = stmt.where(PowerEvent.occurred_at >= low)
    if high is not None:
        stmt = stmt.where(PowerEvent.occurred_at < high)
    if filters.room_id:
        stmt = stmt.where(PowerEvent.asset_id.in_(assets.asset_ids_in_rooms([filters.room_id])))
    if filters.q:
        stmt = stmt.where(
            or_(
                PowerEvent.asset_id.in_(assets.asset_ids_matching(filters.q)),
                db.text_search(filters.q, PowerEvent.change_ref, PowerEvent.performed_by),
            )
        )
    return stmt.order_by(PowerEvent.occurred_at.desc(), PowerEvent.id.desc())


def power_events(filters: Filters, tz: ZoneInfo, limit: int | None = None) -> list[PowerEvent]:
    """Every power event matching ``filters`` (newest first), or the first ``limit``."""
    stmt = _power_query(filters, tz)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session().scalars(stmt).unique())


def power_page(filters: Filters, tz: ZoneInfo, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Page ``page`` of the power events matching ``filters``, for the list page."""
    return _page_of(_power_query(filters, tz), page, per_page)


def _within(stmt: Select[Any], column: Any, since: datetime | None, until: datetime | None) -> Any:
    """``stmt`` limited to ``since`` ≤ ``column`` < ``until`` (each bound when given)."""
    if since is not None:
        stmt = stmt.where(column >= since)
    if until is not None:
        stmt = stmt.where(column < until)
    return stmt


def access_matching(
    *,
    room_id: int | None = None,
    site_id: int | None = None,
    inside: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[AccessEntry]:
    """Visits to ``room_id`` (or to a room of ``site_id``), still inside or not (``inside``),
    that came in during [``since``, ``until``), each filter when given; newest first (a
    statement to page, for the API)."""
    stmt = select(AccessEntry).options(
        joinedload(AccessEntry.room), joinedload(AccessEntry.recorded_by)
    )
    if room_id is not None:
        stmt = stmt.where(AccessEntry.room_id == room_id)
    if site_id is not None:
        stmt = stmt.where(AccessEntry.room_id.in_(assets.site_rooms_query(site_id)))
    if inside is not None:
        still = AccessEntry.out_at.is_(None)
        stmt = stmt.where(still if inside else ~still)
    stmt = _within(stmt, AccessEntry.in_at, since, until)
    return stmt.order_by(AccessEntry.in_at.desc(), AccessEntry.id.desc())


def power_matching(
    *,
    action: str | None = None,
    asset_id: int | None = None,
    room_id: int | None = None,
    site_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[PowerEvent]:
    """Power events of ``action`` (on/off/restart), of the asset ``asset_id``, of the assets in
    ``room_id`` or in ``site_id``'s rooms, that happened in [``since``, ``until``), each filter
    when given; newest first (a statement to page, for the API)."""
    stmt = select(PowerEvent).options(
        joinedload(PowerEvent.asset), joinedload(PowerEvent.recorded_by)
    )
    if action is not None:
        stmt = stmt.where(PowerEvent.action == action)
    if asset_id is not None:
        stmt = stmt.where(PowerEvent.asset_id == asset_id)
    if room_id is not None:
        stmt = stmt.where(PowerEvent.asset_id.in_(assets.asset_ids_in_rooms([room_id])))
    if site_id is not None:
        rooms = assets.site_rooms_query(site_id)
        stmt = stmt.where(PowerEvent.asset_id.in_(assets.asset_ids_in_rooms(rooms)))
    stmt = _within(stmt, PowerEvent.occurred_at, since, until)
    return stmt.order_by(PowerEvent.occurred_at.desc(), PowerEvent.id.desc())


def people_inside(room_id: int | None = None) -> list[AccessEntry]:
    """Visitors not yet signed out (oldest first), for the one-tap sign-out list."""
    stmt = (
        select(AccessEntry)
        .options(joinedload(AccessEntry.room))
        .where(AccessEntry.out_at.is_(None))
        .order_by(AccessEntry.in_at, AccessEntry.id)
    )
    if room_id:
        stmt = stmt.where(AccessEntry.room_id == room_id)
    return list(db.session().scalars(stmt))


@dataclass(frozen=True)
class LogbookLine:
    """One line of the "latest logbook entries" list (dashboard); ``str()`` reads as a sentence."""

    kind: str  # "access" | "power"
    at: datetime
    room: str
    subject: str  # the person, or the asset tag and name
    detail: str  # purpose, or the reason
    open: bool  # access: still inside
    action: str = ""  # power: on | off | restart

    def __str__(self) -> str:
        at = self.at.astimezone(site_tz()) if has_app_context() else self.at
        when = at.strftime("%m-%d %H:%M")
        if self.kind == "access":
            text = _(
                "%(time)s %(room)s: %(name)s entered (%(purpose)s)",
                time=when,
                room=self.room,
                name=self.subject,
                purpose=self.detail,
            )
            return text + (" · " + _("still inside") if self.open else "")
        actions = {"on": _("powered on"), "off": _("powered off"), "restart": _("restarted")}
        return _(
            "%(time)s %(asset)s %(action)s (%(reason)s)",
            time=when,
            asset=self.subject,
            action=actions.get(self.action, self.action),
            reason=self.detail,
        )


def latest_entries(limit: int = 10, rooms: Any | None = None) -> list[LogbookLine]:
    """The newest access and power lines together, newest first (for the dashboard).

    ``rooms``: a query of room ids (one site's, ``assets.queries.site_rooms_query``): only
    the visits to those rooms and the power events of assets in them."""
    sess = db.session()
    access = select(AccessEntry).options(joinedload(AccessEntry.room))
    power = select(PowerEvent).options(joinedload(PowerEvent.asset))
    if rooms is not None:
        access = access.where(AccessEntry.room_id.in_(rooms))
        power = power.where(PowerEvent.asset_id.in_(assets.asset_ids_in_rooms(rooms)))
    entries = sess.scalars(
        access.order_by(AccessEntry.in_at.desc(), AccessEntry.id.desc()).limit(limit)
    ).all()
    events = sess.scalars(
        power.order_by(PowerEvent.occurred_at.desc(), PowerEvent.id.desc()).limit(limit)
    ).all()
    lines = [
        LogbookLine("access", e.in_at, e.room.name, e.name, e.purpose, e.out_at is None)
        for e in entries
    ] + [
        LogbookLine(
            "power",
            p.occurred_at,
            p.asset.room.name if p.asset.room else "",
            f"{p.asset.asset_tag} {p.asset.name}",
            p.reason,
            False,
            p.action,
        )
        for p in events
    ]
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines[:limit]


@dataclass(frozen=True)
class LogbookCounts:
    visits: int
    visitors: int  # distinct names
    still_inside: int  # of the visits in the period, not signed out
    power_on: int
    power_off: int
    restarts: int


def logbook_counts(start: datetime, end: datetime, room_id: int | None = None) -> LogbookCounts:
    """Counts for ``start`` ≤ time < ``end`` (aware datetimes), e.g. for the quarterly report.

    Visits are counted by their time in; power events by when they happened.
    """
    sess = db.session()
    visits = select(AccessEntry).where(AccessEntry.in_at >= start, AccessEntry.in_at < end)
    if room_id:
        visits = visits.where(AccessEntry.room_id == room_id)
    sub = visits.subquery()
    row = sess.execute(
        select(
            func.count(sub.c.id),
            func.count(func.distinct(sub.c.name)),
            func.count(sub.c.id).filter(sub.c.out_at.is_(None)),
        )
    ).one()
    power = (
        select(PowerEvent.action, func.count(PowerEvent.id))
        .where(PowerEvent.occurred_at >= start, PowerEvent.occurred_at < end)
        .group_by(PowerEvent.action)
    )
    if room_id:
        power = power.where(PowerEvent.asset_id.in_(assets.asset_ids_in_rooms([room_id])))
    by_action = {action: count for action, count in sess.execute(power)}
    return LogbookCounts(
        visits=row[0],
        visitors=row[1],
        still_inside=row[2],
        power_on=by_action.get("on", 0),
        power_off=by_action.get("off", 0),
        restarts=by_action.get("restart", 0),
    )
