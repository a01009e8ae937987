"""Patrol reads for the pages of this domain and for other domains (dashboard, reports).

- ``rounds_for_day(day, site_id)``: every planned slot of the day with its state (due,
  in_progress, done, overdue) and round, plus the ad hoc rounds of the day;
  ``rounds_for_days`` the same for many days at once (reports).
- ``round_detail(round)``: a round with its checklists, targets, answers, progress, findings.
- ``open_findings(...)``, ``findings_between(...)``, ``rounds_between(...)``, ``item_series(...)``
  for the dashboard, history, trends and reports.
- ``item_title(checklist, item)``: what a checklist item is called (the alert pages name a
  patrol finding by it).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from inspections import checklists as cl
from inspections import services
from inspections.models import (
    PatrolAnswer,
    PatrolFinding,
    PatrolPhoto,
    PatrolPlan,
    PatrolRound,
    RoundStatus,
)
from opskit import db

SLOT_STATES = ("due", "in_progress", "done", "overdue")


# --- plans ----------------------------------------------------------------------------------


def plans(enabled_only: bool = False) -> list[PatrolPlan]:
    query = select(PatrolPlan).order_by(PatrolPlan.name)
    if enabled_only:
        query = query.where(PatrolPlan.enabled.is_(True))
    return list(db.session().scalars(query))


def get_plan(plan_id: int) -> PatrolPlan | None:
    return db.session().get(PatrolPlan, plan_id)


# --- rounds ---------------------------------------------------------------------------------


def get_round(round_id: int) -> PatrolRound | None:
    return db.session().get(PatrolRound, round_id)


def round_by_client_id(client_id: str) -> PatrolRound | None:
    return services.find_round(client_id)


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
    from assets import queries as assets

    now = now or db.utcnow()
    if not days:
        return {}
    bounds = sorted((*services.day_bounds(day), day) for day in days)
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
    for patrol, moment in [(r, r.scheduled_for) for r in scheduled] + [
        (r, r.started_at) for r in ad_hoc
    ]:
        i = bisect_right(starts, moment) - 1
        if i >= 0 and moment < bounds[i][1]:
            rounds[bounds[i][2]].append(patrol)
    all_rooms = assets.all_rooms()
    room_site = {r.id: r.site_id for r in all_rooms}
    room_name = {r.id: r.name for r in all_rooms}
    enabled = [(plan, services.plan_rooms(plan)) for plan in plans(enabled_only=True)]
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
                for moment in services.slot_times(plan, day):
                    patrol = by_slot.get((plan.id, room_id, moment))
                    state = _state(patrol, moment, plan, now)
                    name = room_name.get(room_id, "")
                    slots.append(Slot(plan, room_id, moment, state, patrol, name))
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


def rounds_between(
    start: datetime,
    end: datetime,
    room_id: int | None = None,
    status: str | None = None,
) -> list[PatrolRound]:
    """Rounds started in [start, end), newest first (history pages and exports)."""
    query = (
        select(PatrolRound)
        .where(PatrolRound.started_at >= start, PatrolRound.started_at < end)
        .options(selectinload(PatrolRound.answers), selectinload(PatrolRound.findings))
        .order_by(PatrolRound.started_at.desc(), PatrolRound.id.desc())
    )
    if room_id is not None:
        query = query.where(PatrolRound.room_id == room_id)
    if status:
        query = query.where(PatrolRound.status == status)
    return list(db.session().scalars(query))


@dataclass
class TargetView:
    """One (checklist, target) of a round with its items and their answers."""

    key: str
    checklist: cl.Checklist
    asset_id: int | None
    label: str
    items: list[tuple[cl.Item, PatrolAnswer | None, Any]] = field(default_factory=list)
    # third element: (monitored value, time) shown beside a reading, or None

    @property
    def dom_id(self) -> str:
        return f"{self.key}/{self.checklist.key}".replace(":", "-").replace("/", "--")


@dataclass
class RoundDetail:
    round: PatrolRound
    room_name: str
    site_name: str
    targets: list[TargetView]
    answered: int
    total: int
    findings: list[PatrolFinding]

    @property
    def progress_percent(self) -> int:
        return round(100 * self.answered / self.total) if self.total else 100


def _counts(item: cl.Item) -> bool:
    """Items the progress counts (signature is the round's; optional items are extras)."""
    return item.kind != "signature"


def round_detail(patrol: PatrolRound, with_monitoring: bool = True) -> RoundDetail:
    """Everything the round page and the review page show."""
    from assets import queries as assets

    known = services.checklists()
    answers = {(a.target, a.checklist_key, a.item_key): a for a in patrol.answers}
    targets: list[TargetView] = []
    polled: dict[int | None, dict[str, tuple[float, datetime]]] = {}
    answered = total = 0
    for entry in patrol.targets:
        checklist = known.get(entry["checklist"])
        if checklist is None:
            continue
        view = TargetView(entry["key"], checklist, entry.get("asset_id"), entry.get("label", ""))
        for item in checklist.items:
            answer = answers.get((entry["key"], checklist.key, item.key))
            shown = None
            if answer is not None and answer.monitored_value is not None:
                shown = (answer.monitored_value, answer.monitored_at)
            elif with_monitoring and item.metric and patrol.editable:
                if view.asset_id not in polled:
                    polled[view.asset_id] = services.monitored_values(patrol.room_id, view.asset_id)
                shown = polled[view.asset_id].get(item.metric)
            view.items.append((item, answer, shown))
            if _counts(item):
                total += 1
                done = answer is not None and (answer.value != "" or bool(answer.photos))
                answered += int(done)
        targets.append(view)
    room = next((r for r in assets.all_rooms() if r.id == patrol.room_id), None)
    return RoundDetail(
        patrol,
        room.name if room else "",
        room.site.name if room else "",
        targets,
        answered,
        total,
        list(patrol.findings),
    )


# --- findings -------------------------------------------------------------------------------


def get_finding(finding_id: int) -> PatrolFinding | None:
    return db.session().get(PatrolFinding, finding_id)


def open_findings(room_id: int | None = None, site_id: int | None = None) -> list[PatrolFinding]:
    """Findings not closed yet, most urgent first, then oldest."""
    query = (
        select(PatrolFinding)
        .join(PatrolRound)
        .where(PatrolFinding.closed_at.is_(None))
        .options(selectinload(PatrolFinding.answer), selectinload(PatrolFinding.round))
        .order_by(PatrolFinding.urgency, PatrolFinding.opened_at)
    )
    if room_id is not None:
        query = query.where(PatrolRound.room_id == room_id)
    found = list(db.session().scalars(query))
    if site_id is not None:
        from assets import queries as assets

        rooms = {r.id for r in assets.all_rooms() if r.site_id == site_id}
        found = [f for f in found if f.round.room_id in rooms]
    return found


def findings_between(start: datetime, end: datetime) -> list[PatrolFinding]:
    """Findings opened in [start, end) (reports)."""
    query = (
        select(PatrolFinding)
        .where(PatrolFinding.opened_at >= start, PatrolFinding.opened_at < end)
        .order_by(PatrolFinding.opened_at)
    )
    return list(db.session().scalars(query))


def get_photo(photo_id: int) -> PatrolPhoto | None:
    return db.session().get(PatrolPhoto, photo_id)


# --- trends ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float
    level: str
    round_id: int
    target: str


def item_series(
    checklist_key: str,
    item_key: str,
    start: datetime,
    end: datetime,
    room_id: int | None = None,
    asset_id: int | None = None,
) -> list[Point]:
    """Numeric answers of one reading item in submitted/approved rounds, oldest first."""
    query = (
        select(PatrolAnswer, PatrolRound.id)
        .join(PatrolRound)
        .where(
            PatrolAnswer.checklist_key == checklist_key,
            PatrolAnswer.item_key == item_key,
            PatrolAnswer.number.is_not(None),
            PatrolAnswer.answered_at >= start,
            PatrolAnswer.answered_at < end,
            PatrolRound.status != RoundStatus.DRAFT.value,
        )
        .order_by(PatrolAnswer.answered_at)
    )
    if room_id is not None:
        query = query.where(PatrolRound.room_id == room_id)
    if asset_id is not None:
        query = query.where(PatrolAnswer.asset_id == asset_id)
    return [
        Point(a.answered_at, float(a.number), a.level, rid, a.target)
        for a, rid in db.session().execute(query)
        if a.number is not None
    ]


# --- for the dashboard (appended by the logbook/overview part) ------------------------------


def rounds_today(day: date, site_id: int | None = None) -> list[dict[str, Any]]:
    """The day's slots as dashboard rows: ``title`` ("09:00 plan · room"), ``state``, ids;
    only the slots and ad hoc rounds of site ``site_id``'s rooms when given."""
    from flask_babel import gettext as _

    from assets import queries as assets
    from opskit.i18n import site_tz

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


def latest_logbook_entries(limit: int = 5, site_id: int | None = None) -> list[Any]:
    """The newest access and power lines (``inspections.logbook.LogbookLine``; str() reads well).

    ``site_id``: only the visits to that site's rooms and the power events of the assets in
    them (a power event of an asset with no room belongs to no site).
    """
    from assets import queries as assets
    from inspections.logbook import latest_entries

    rooms = None if site_id is None else assets.site_rooms_query(site_id)
    return list(latest_entries(limit, rooms=rooms))


def _reading_item(checklist: str, metric: str) -> cl.Item | None:
    """The checklist's first reading of ``metric`` (the checklists are parsed once and kept
    until a file changes, ``cl.cached_checklists``; a dashboard refresh cannot re-parse them)."""
    from inspections import limits as overrides

    found = overrides.site_checklists().checklists.get(checklist)
    if found is None:
        return None
    return next((i for i in found.items if i.kind == "reading" and i.metric == metric), None)


def room_reading_limits(
    checklist: str, metric: str, room_ids: list[int]
) -> dict[int, cl.Limits] | None:
    """room id → limits of the checklist's reading of ``metric`` in that room, with the stored
    site and room overrides applied (dashboard colours). ``None``: no such reading item."""
    from inspections import limits as overrides
    from opskit.validation import ValidationFailed

    item = _reading_item(checklist, metric)
    if item is None:
        return None
    out: dict[int, cl.Limits] = {}
    for room_id in room_ids:
        try:
            out[room_id] = overrides.limits_for(checklist, item, room_id=room_id)
        except ValidationFailed:  # a broken override: the checklist's own limits
            out[room_id] = item.limits
    return out


def item_title(checklist: str, item: str) -> str | None:
    """What a patrol item is called, checklist and item in the user's language (e.g.
    机房环境 · 热通道温度), for pages that name a finding by its item (the alert pages);
    ``None`` when the checklist or the item is not (or no longer) defined here."""
    from inspections import limits as overrides

    found = overrides.site_checklists().checklists.get(checklist)
    if found is None:
        return None
    try:
        entry = found.item(item)
    except KeyError:
        return None
    return (
        f"{overrides.shown(found.title, found.title_en)} · "
        f"{overrides.shown(entry.label, entry.label_en)}"
    )
