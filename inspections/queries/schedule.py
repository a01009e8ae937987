"""Patrol plans and their schedule: the rooms a plan covers, what a round of it answers, its
expected slots over a period (``expected_slots``: the one expansion of a plan's recurrence and
times), the day's slots with their state (due, in progress, done, overdue) and the dashboard's
rows."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets import queries as assets
from inspections import recurrence
from inspections.forms import TIME_RE
from inspections.models import (
    ROOM_TARGET,
    PatrolPlan,
    PatrolRound,
    RoundStatus,
    asset_target,
)
from inspections.queries import catalog
from opskit import db
from opskit.alerts import queries as alert_queries
from opskit.i18n import site_tz


def plan_rooms(plan: PatrolPlan) -> list[int]:
    """The rooms a plan covers: its room, or every room of its site."""
    if plan.room_id is not None:
        return [plan.room_id]
    return [r.id for r in assets.all_rooms() if r.site_id == plan.site_id]


def round_targets(
    room_id: int, checklist_keys: Iterable[str], asset_kinds: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """What a round answers: one entry per (checklist, asset) or (checklist, room).

    A checklist that ``applies_to`` asset kinds (its YAML) takes the room's in-service assets of
    those kinds (narrowed to ``asset_kinds`` when given); a room with none of them gets one
    room-level entry so the checklist is not silently dropped.
    """
    known = catalog.checklists()
    wanted = set(asset_kinds)
    targets: list[dict[str, Any]] = []
    for key in checklist_keys:
        checklist = known.get(key)
        applies_to = checklist.applies_to if checklist is not None else ()
        kinds = [k for k in applies_to if not wanted or k in wanted]
        found = []
        for kind in kinds:
            found += assets.list_assets(
                kind=kind, room_id=room_id, status="in_service", per_page=500
            ).items
        for asset in sorted(found, key=lambda a: a.asset_tag):
            targets.append(
                {
                    "key": asset_target(asset.id),
                    "checklist": key,
                    "asset_id": asset.id,
                    "label": f"{asset.name} ({asset.asset_tag})"
                    if asset.name != asset.asset_tag
                    else asset.asset_tag,
                }
            )
        if not found:
            targets.append({"key": ROOM_TARGET, "checklist": key, "asset_id": None, "label": ""})
    return targets


def expected_slots(
    plan: PatrolPlan,
    start: datetime,
    end: datetime,
    is_workday: Callable[[date], bool] | None = None,
) -> list[datetime]:
    """The plan's scheduled moments from ``start`` (included) to ``end`` (excluded), as aware
    datetimes in site time, oldest first: each day (site time) its recurrence runs on
    (``inspections.recurrence``), at each of its times. The one expansion of a plan: the day's
    slots (the patrol page, the dashboard), their due/overdue state and the report's planned
    and missed rounds all come from here.

    A ``workdays`` plan asks ``is_workday`` (default: the site's working calendar, the SLA
    policy's: Chinese holidays off, make-up working days on). Neither the plan's ``enabled``
    nor its creation time is considered here: the callers choose.
    """
    recurs = recurrence.from_stored(plan.recurrence)
    if recurs.freq == "workdays" and is_workday is None:
        is_workday = alert_queries.current_policy().calendar.is_workday
    tz = site_tz()
    times = [
        time(int(text[:2]), int(text[3:])) for text in plan.schedule_times if TIME_RE.match(text)
    ]
    out: list[datetime] = []
    if not times or end <= start:
        return out
    day, last = start.astimezone(tz).date(), end.astimezone(tz).date()
    while day <= last:
        if recurs.occurs_on(day, is_workday):
            for at in times:
                moment = datetime.combine(day, at, tzinfo=tz)
                if start <= moment < end:
                    out.append(moment)
        day += timedelta(days=1)
    return sorted(out)


def recurrence_text(plan: PatrolPlan) -> str:
    """How often the plan runs, with its times, in words: 每周一 09:00 / Weekly on Mondays
    09:00, 每月最后一天 09:00, 工作日 09:00, 15:00."""
    return recurrence.from_stored(plan.recurrence).describe(plan.schedule_times)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = site_tz()
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    return start, start + timedelta(days=1)


SLOT_STATES = ("due", "in_progress", "done", "overdue")


def plans(enabled_only: bool = False) -> list[PatrolPlan]:
    query = select(PatrolPlan).order_by(PatrolPlan.name)
    if enabled_only:
        query = query.where(PatrolPlan.enabled.is_(True))
    return list(db.session().scalars(query))


def get_plan(plan_id: int) -> PatrolPlan | None:
    return db.session().get(PatrolPlan, plan_id)


@dataclass
class Slot:
    """One planned run of a plan in a room on a day (``plan`` None: an ad hoc round)."""

    plan: PatrolPlan | None
    room_id: int
    scheduled_for: datetime | None
    state: str  # due | in_progress | done | overdue
    round: PatrolRound | None = None
    room_name: str = ""


def rounds_for_day(
    day: date, site_id: int | None = None, now: datetime | None = None
) -> list[Slot]:
    """The day's patrol in site time: each enabled plan's slots and the ad hoc rounds.

    A slot is ``done`` when its round is submitted or approved, ``in_progress`` when a draft
    exists, ``overdue`` when neither and the plan's grace period after the slot has passed,
    else ``due``. Sorted by time, then room.
    """
    return rounds_for_days([day], site_id, now)[day]


def rounds_for_days(
    days: list[date], site_id: int | None = None, now: datetime | None = None
) -> dict[date, list[Slot]]:
    """``rounds_for_day`` of each of ``days`` (a report's period: one day after another), with
    the rounds, the rooms and the plans read once for all of them instead of once a day."""
    now = now or db.utcnow()
    if not days:
        return {}
    bounds = sorted((*day_bounds(day), day) for day in days)
    start, end = bounds[0][0], max(b[1] for b in bounds)
    sess = db.session()
    # Two range queries on ix_patrol_round_scheduled_started (an OR of the two would scan
    # every round ever kept): the days' scheduled rounds, then their ad hoc ones.
    scheduled = list(
        sess.scalars(
            select(PatrolRound)
            .where(PatrolRound.scheduled_for >= start, PatrolRound.scheduled_for < end)
            .order_by(PatrolRound.id)
        )
    )
    ad_hoc = sess.scalars(
        select(PatrolRound)
        .where(
            PatrolRound.scheduled_for.is_(None),
            PatrolRound.started_at >= start,
            PatrolRound.started_at < end,
        )
        .order_by(PatrolRound.id)
    )
    starts = [b[0] for b in bounds]
    rounds: dict[date, list[PatrolRound]] = {day: [] for day in days}
    # (both queries leave the NULL times out)
    timed = [(r, r.scheduled_for) for r in scheduled if r.scheduled_for is not None]
    timed += [(r, r.started_at) for r in ad_hoc if r.started_at is not None]
    for patrol, moment in timed:
        i = bisect_right(starts, moment) - 1
        if i >= 0 and moment < bounds[i][1]:
            rounds[bounds[i][2]].append(patrol)
    all_rooms = assets.all_rooms()
    room_site = {r.id: r.site_id for r in all_rooms}
    room_name = {r.id: r.name for r in all_rooms}
    enabled = [(plan, plan_rooms(plan)) for plan in plans(enabled_only=True)]
    is_workday = None
    if any(recurrence.from_stored(p.recurrence).freq == "workdays" for p, _rooms in enabled):
        is_workday = alert_queries.current_policy().calendar.is_workday
    # each plan expanded once over the whole span, its slots then sorted into the days
    moments: dict[tuple[int, date], list[datetime]] = {}
    for plan, _rooms in enabled:
        for moment in expected_slots(plan, start, end, is_workday):
            i = bisect_right(starts, moment) - 1
            if i >= 0 and moment < bounds[i][1]:
                moments.setdefault((plan.id, bounds[i][2]), []).append(moment)
    out: dict[date, list[Slot]] = {}
    for day in days:
        by_slot: dict[tuple[int | None, int, datetime | None], PatrolRound] = {}
        for patrol in sorted(rounds[day], key=_round_rank):
            by_slot.setdefault((patrol.plan_id, patrol.room_id, patrol.scheduled_for), patrol)
        slots: list[Slot] = []
        for plan, room_ids in enabled:
            for room_id in room_ids:
                if site_id is not None and room_site.get(room_id) != site_id:
                    continue
                for moment in moments.get((plan.id, day), ()):
                    taken = by_slot.get((plan.id, room_id, moment))
                    state = _state(taken, moment, plan, now)
                    name = room_name.get(room_id, "")
                    slots.append(Slot(plan, room_id, moment, state, taken, name))
        for patrol in rounds[day]:
            if patrol.scheduled_for is None and (
                site_id is None or room_site.get(patrol.room_id) == site_id
            ):
                state = _state(patrol, None, None, now)
                name = room_name.get(patrol.room_id, "")
                slots.append(Slot(None, patrol.room_id, None, state, patrol, name))
        slots.sort(
            key=lambda s: (s.scheduled_for or (s.round.started_at if s.round else now), s.room_id)
        )
        out[day] = slots
    return out


def _round_rank(patrol: PatrolRound) -> tuple[int, datetime]:
    """Prefer the most advanced round of a slot (approved > submitted > draft)."""
    order = {"approved": 0, "submitted": 1, "draft": 2}
    return order.get(patrol.status, 3), patrol.started_at


def _state(
    patrol: PatrolRound | None, moment: datetime | None, plan: PatrolPlan | None, now: datetime
) -> str:
    if patrol is not None and patrol.status != RoundStatus.DRAFT.value:
        return "done"
    if patrol is not None:
        return "in_progress"
    grace = timedelta(minutes=plan.grace_minutes if plan else 120)
    if moment is not None and now > moment + grace:
        return "overdue"
    return "due"


def rounds_today(day: date, site_id: int | None = None) -> list[dict[str, Any]]:
    """The day's slots as dashboard rows: ``title`` ("09:00 plan · room"), ``state``, ids;
    only the slots and ad hoc rounds of site ``site_id``'s rooms when given."""
    rooms = {r.id: r.name for r in assets.all_rooms()}
    tz = site_tz()
    rows = []
    for slot in rounds_for_day(day, site_id):
        moment = slot.scheduled_for or (slot.round.started_at if slot.round else None)
        name = slot.plan.name if slot.plan else _("Ad hoc round")
        when = moment.astimezone(tz).strftime("%H:%M") if moment else ""
        rows.append(
            {
                "title": f"{when} {name} · {rooms.get(slot.room_id, '')}".strip(),
                "state": slot.state,
                "room_id": slot.room_id,
                "round_id": slot.round.id if slot.round else None,
            }
        )
    return rows
