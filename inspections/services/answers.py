"""Answers as they are entered: an upsert of one (target, checklist, item) of a draft round,
judged with the limits in force there; an older answer never overwrites a newer one (queued
offline saves may arrive late). Flushes; the caller commits."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from inspections import checklists as cl
from inspections import forms
from inspections.items import kind_of
from inspections.models import (
    ROOM_TARGET,
    PatrolAnswer,
    PatrolRound,
)
from inspections.queries import catalog
from inspections.queries.rounds import find_round, monitored_values
from inspections.services import common
from opskit import db
from opskit.validation import ValidationFailed


def _target_of(patrol: PatrolRound, target: str, checklist: str) -> dict[str, Any]:
    for entry in patrol.targets:
        if entry["key"] == target and entry["checklist"] == checklist:
            return entry
    raise ValidationFailed.one(
        "target",
        _(
            "%(target)s / %(checklist)s is not part of this round.",
            target=target,
            checklist=checklist,
        ),
    )


def _value_text(value: Any) -> str:
    if value is True:
        return "pass"
    if value is False:
        return "fail"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value).strip()


class _Memo:
    """Lookups shared by the answers of one request: stored answers, limits, monitored values."""

    def __init__(self, patrol: PatrolRound) -> None:
        sess = db.session()
        with sess.no_autoflush:
            rows = sess.scalars(select(PatrolAnswer).where(PatrolAnswer.round_id == patrol.id))
            self.answers = {(a.target, a.checklist_key, a.item_key): a for a in rows}
        self.limits: dict[tuple[str, str, int | None], cl.Limits] = {}
        self.monitored: dict[int | None, dict[str, tuple[float, datetime]]] = {}

    def limits_at(
        self, checklist_key: str, item: cl.Item, patrol: PatrolRound, asset_id: int | None
    ) -> cl.Limits:
        key = (checklist_key, item.key, asset_id)
        if key not in self.limits:
            self.limits[key] = catalog.limits_at(checklist_key, item, patrol, asset_id)
        return self.limits[key]

    def monitored_value(
        self, metric: str, room_id: int, asset_id: int | None
    ) -> tuple[float, datetime] | None:
        if asset_id not in self.monitored:
            self.monitored[asset_id] = monitored_values(room_id, asset_id)
        return self.monitored[asset_id].get(metric)


def _store_answer(
    patrol: PatrolRound, data: Mapping[str, Any], memo: _Memo | None = None
) -> PatrolAnswer:
    """Upsert one answer of a draft round (no commit)."""
    memo = memo or _Memo(patrol)
    checklist_key = str(data.get("checklist") or "")
    item_key = str(data.get("item") or "")
    target = str(data.get("target") or ROOM_TARGET)
    entry = _target_of(patrol, target, checklist_key)
    checklist = catalog.get_checklist(checklist_key)
    try:
        item = checklist.item(item_key)
    except KeyError:
        raise ValidationFailed.one(
            "item",
            _("Unknown item %(item)s in %(checklist)s.", item=item_key, checklist=checklist_key),
        ) from None
    answered_at = forms.when(data.get("answered_at"), "answered_at") or db.utcnow()
    sess = db.session()
    answer = memo.answers.get((target, checklist_key, item_key))
    if answer is not None and answer.answered_at > answered_at and answer.value != "":
        return answer  # a late (queued) save never overwrites a newer answer
    if answer is None:
        answer = PatrolAnswer(
            round=patrol,
            target=target,
            asset_id=entry["asset_id"],
            checklist_key=checklist_key,
            item_key=item_key,
        )
        sess.add(answer)
        memo.answers[(target, checklist_key, item_key)] = answer
    value = _value_text(data.get("value"))
    limits = memo.limits_at(checklist_key, item, patrol, entry["asset_id"])
    outcome = cl.evaluate(item, value, limits)
    level = outcome.status if value else ""
    answer.value = value
    answer.level = level
    answer.code = outcome.code if value else ""
    answer.number = kind_of(item).number(value) if value else None
    answer.note = str(data.get("note") or "").strip()
    answer.answered_at = answered_at
    answer.answered_by = common.actor()
    monitored = data.get("monitored_value")
    if monitored not in (None, ""):
        try:
            answer.monitored_value = float(monitored)
        except (TypeError, ValueError):
            raise ValidationFailed.one("monitored_value", _("Enter a number.")) from None
        answer.monitored_at = forms.when(data.get("monitored_at"), "monitored_at")
    elif item.metric and answer.monitored_value is None:
        shown = memo.monitored_value(item.metric, patrol.room_id, entry["asset_id"])
        if shown is not None:
            answer.monitored_value, answer.monitored_at = shown
    answer.disagrees = bool(
        answer.number is not None
        and answer.monitored_value is not None
        and not item.within_tolerance(answer.number, answer.monitored_value)
    )
    return answer


def save_answer(client_id: str, data: Mapping[str, Any]) -> PatrolAnswer:
    """Save one answer as it is entered (upsert; flushes). Raises ``ValidationFailed``."""
    cid = forms.client_id(client_id)
    patrol = find_round(cid, lock=True)
    if patrol is None:
        raise ValidationFailed.one("client_id", _("Unknown round."))
    common.editable(patrol)
    return _store_answer(patrol, data)
