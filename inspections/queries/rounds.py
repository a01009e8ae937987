"""Rounds as the pages show them: one round with its checklists, targets, answers and progress;
the rounds of a period; what keeps a round from being submitted; the monitored values offered
beside a reading."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from assets import queries as assets
from inspections import checklists as cl
from inspections.items import kind_of
from inspections.models import (
    PatrolAnswer,
    PatrolFinding,
    PatrolPlan,
    PatrolRound,
)
from inspections.queries import catalog
from monitors import queries as monitoring
from opskit import db

#: Room-level items with a metric are pre-filled from assets of these kinds in the room.
ROOM_SENSOR_KINDS = ("sensor", "precision_ac")


def find_round(client_id: str, lock: bool = False) -> PatrolRound | None:
    """The round of a client id; ``lock``: row-locked until commit (PostgreSQL; SQLite's
    writers are serialised anyway)."""
    query = select(PatrolRound).where(PatrolRound.client_id == client_id)
    if lock:
        query = query.with_for_update()
    return db.session().scalar(query)


def monitored_values(
    room_id: int | None, asset_id: int | None
) -> dict[str, tuple[float, datetime]]:
    """The current polled value of each metric of the asset (or of the room's sensors).

    Only values of the monitors' latest polls within ``monitors.queries.LATEST_WINDOW`` (an
    hour): a stale number is not offered to the engineer as the current reading.
    """
    asset_ids: list[int] = []
    if asset_id is not None:
        asset_ids = [asset_id]
    elif room_id is not None:
        for kind in ROOM_SENSOR_KINDS:
            found = db.session().scalars(assets.asset_query(kind=kind, room_id=room_id).limit(200))
            asset_ids += [a.id for a in found]
    if not asset_ids:
        return {}
    best: dict[str, tuple[float, datetime]] = {}
    for readings in monitoring.latest_values(asset_ids=asset_ids).values():
        for (metric, _instance), reading in sorted(readings.items()):
            if reading.value is None:
                continue
            known = best.get(metric)
            if known is None or reading.at > known[1]:
                best[metric] = (float(reading.value), reading.at)
    return best


def monitored_value(
    metric: str, room_id: int | None, asset_id: int | None
) -> tuple[float, datetime] | None:
    """The newest polled value of ``metric`` for the asset (or any sensor of the room)."""
    return monitored_values(room_id, asset_id).get(metric)


def missing_answers(patrol: PatrolRound) -> dict[str, list[str]]:
    """What keeps a round from being submitted: required items unanswered, notes missing.

    Keys are ``<target>/<checklist>/<item>`` (the ids of the inputs on the round page).
    """
    answers = {(a.target, a.checklist_key, a.item_key): a for a in patrol.answers}
    known = catalog.checklists()
    errors: dict[str, list[str]] = {}
    for entry in patrol.targets:
        checklist = known.get(entry["checklist"])
        if checklist is None:
            continue
        for item in checklist.items:
            kind = kind_of(item)
            if not kind.per_item:
                continue  # the round's signature signs every checklist
            where = f"{entry['key']}/{checklist.key}/{item.key}"
            answer = answers.get((entry["key"], checklist.key, item.key))
            if kind.by_photo:
                if item.required and (answer is None or not answer.photos):
                    errors[where] = [_("Take a photo.")]
                continue
            if answer is None or answer.value == "":
                if item.required:
                    errors[where] = [_("This item is required.")]
                continue
            if answer.level == "invalid":
                outcome = cl.evaluate(item, answer.value)
                errors[where] = [str(outcome.message)]
            elif answer.abnormal and item.requires_note_when_abnormal and not answer.note:
                errors[where] = [_("Abnormal: say what you saw in a note.")]
    return errors


def get_round(round_id: int) -> PatrolRound | None:
    return db.session().get(PatrolRound, round_id)


def round_by_client_id(client_id: str) -> PatrolRound | None:
    return find_round(client_id)


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


#: the columns of :func:`round_rows`, in order
ROUND_COLUMNS = (
    "id",
    "started_at",
    "submitted_at",
    "status",
    "room_id",
    "plan",
    "engineer",
    "answers",
    "abnormal",
    "findings",
    "open_findings",
)


def round_rows(start: datetime, end: datetime, site_id: int | None = None) -> list[Any]:
    """Rounds started in [start, end), oldest first, as plain rows of ``ROUND_COLUMNS`` (a
    Core statement: no ORM objects): the plan's name (``None`` for an ad hoc round), how many
    answers and abnormal answers (warning or critical) it holds, and its findings, all and
    still open; only the rounds in the rooms of site ``site_id`` when given."""

    def count(table: Any, *where: Any) -> Any:
        return (
            select(func.count())
            .select_from(table)
            .where(table.round_id == PatrolRound.id, *where)
            .correlate(PatrolRound)
            .scalar_subquery()
        )

    query = (
        select(
            PatrolRound.id,
            PatrolRound.started_at,
            PatrolRound.submitted_at,
            PatrolRound.status,
            PatrolRound.room_id,
            PatrolPlan.name,
            PatrolRound.engineer,
            count(PatrolAnswer),
            count(PatrolAnswer, PatrolAnswer.level.in_(("warning", "critical"))),
            count(PatrolFinding),
            count(PatrolFinding, PatrolFinding.closed_at.is_(None)),
        )
        .outerjoin(PatrolPlan, PatrolRound.plan_id == PatrolPlan.id)
        .where(PatrolRound.started_at >= start, PatrolRound.started_at < end)
        .order_by(PatrolRound.started_at, PatrolRound.id)
    )
    if site_id is not None:
        query = query.where(PatrolRound.room_id.in_(assets.site_rooms_query(site_id)))
    return list(db.session().connection().execute(query))


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
    return kind_of(item).per_item


def round_detail(patrol: PatrolRound, with_monitoring: bool = True) -> RoundDetail:
    """Everything the round page and the review page show."""
    known = catalog.checklists()
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
                    polled[view.asset_id] = monitored_values(patrol.room_id, view.asset_id)
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
