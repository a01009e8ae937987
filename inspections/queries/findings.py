"""Findings, photos and the series of a reading (history, trends, dashboard, reports)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from assets import queries as assets
from inspections import checklists as cl
from inspections import labels
from inspections import limits as overrides
from inspections.models import (
    PatrolAnswer,
    PatrolFinding,
    PatrolPhoto,
    PatrolRound,
    RoundStatus,
)
from inspections.queries import catalog
from opskit import db, photos
from opskit.validation import ValidationFailed


def photo_root() -> Path:
    return Path(current_app.instance_path) / "patrol-photos"


def photo_file(photo: PatrolPhoto) -> Path:
    return photos.inside(photo_root(), photo.path)


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


def finding_message(
    patrol: PatrolRound,
    entry: dict[str, Any],
    answer: PatrolAnswer,
    rooms: Mapping[int, Any] | None = None,
    table: overrides.OverrideTable | None = None,
) -> str:
    """What an abnormal answer's alert and finding say, in the language of the moment (the
    site's when the round is submitted; the reader's when a page or a report says it again):
    where (the round's target, or its room), checklist · item: the answer (why it is abnormal),
    then the engineer's note as typed. ``rooms`` (id → room) and ``table`` (the overrides of the
    round's room) when read already for many findings."""
    checklist = catalog.get_checklist(answer.checklist_key)
    item = checklist.item(answer.item_key)
    if rooms is None:
        rooms = {r.id: r for r in assets.all_rooms()}
    room = rooms.get(patrol.room_id) if patrol.room_id is not None else None
    where = entry.get("label") or (room.name if room else "")
    value = f"{labels.answer_text(item, answer.value)}{item.unit}"  # 不合格, 30.5°C, an option
    limits = catalog.limits_at(answer.checklist_key, item, patrol, answer.asset_id, table)
    outcome = cl.evaluate(item, answer.value, limits)
    title = overrides.shown(checklist.title, checklist.title_en)
    label = overrides.shown(item.label, item.label_en)
    judged = _("%(value)s (%(why)s)", value=value, why=outcome.message)  # 52.0Hz（高于…）
    text = f"{where} {title} · {label}: {judged}"
    if answer.note:
        text += f" — {answer.note}"
    return text


def findings_said_again(findings: list[PatrolFinding]) -> dict[int, str]:
    """finding id → its message in the language being written (its stored message when its
    checklist or item is no longer defined). The rooms and the limit overrides are read once
    for all of them: a page of findings costs the same few queries as one."""
    if not findings:
        return {}
    rooms = {r.id: r for r in assets.all_rooms()}
    places = {
        room_id: rooms[room_id].site_id
        for room_id in {f.round.room_id for f in findings}
        if room_id in rooms
    }
    asset_ids = {f.answer.asset_id for f in findings if f.answer.asset_id is not None}
    tables = overrides.load_overrides_at(places, asset_ids)
    out = {}
    for finding in findings:
        patrol, answer = finding.round, finding.answer
        entries = {(e["key"], e["checklist"]): e for e in patrol.targets}
        entry = entries.get((answer.target, answer.checklist_key), {})
        table = tables.get(patrol.room_id) if patrol.room_id is not None else None
        try:
            out[finding.id] = finding_message(patrol, entry, answer, rooms, table)
        except (KeyError, ValidationFailed):
            out[finding.id] = finding.message
    return out


def said_again(finding: PatrolFinding) -> str:
    """A finding's message in the language being written (``findings_said_again``)."""
    return findings_said_again([finding])[finding.id]


def alert_messages(alerts: list[Any]) -> dict[int, str]:
    """alert id → the message of its latest patrol finding in the language being written
    (``opskit.alerts.wording.register_message_words``), for a page of alerts in a few queries."""
    ids = [a.id for a in alerts]
    query = (
        select(PatrolFinding)
        .where(PatrolFinding.alert_id.in_(ids))
        .options(selectinload(PatrolFinding.answer), selectinload(PatrolFinding.round))
        .order_by(PatrolFinding.opened_at, PatrolFinding.id)
    )
    latest = {f.alert_id: f for f in db.session().scalars(query) if f.alert_id is not None}
    said = findings_said_again(list(latest.values()))
    return {alert_id: said[f.id] for alert_id, f in latest.items()}


def get_photo(photo_id: int) -> PatrolPhoto | None:
    return db.session().get(PatrolPhoto, photo_id)


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
