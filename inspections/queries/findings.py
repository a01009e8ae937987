"""Findings, photos and the series of a reading (history, trends, dashboard, reports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from assets import queries as assets
from inspections.models import (
    PatrolAnswer,
    PatrolFinding,
    PatrolPhoto,
    PatrolRound,
    RoundStatus,
)
from opskit import db, photos


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
