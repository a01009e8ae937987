"""Findings: each abnormal answer of a submitted round raises an alert (source ``patrol``) with
the urgency of its item; closing the last open finding of an alert resolves it. Flushes; the
caller commits."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from inspections.models import (
    PatrolAnswer,
    PatrolFinding,
    PatrolRound,
)
from inspections.queries import catalog
from inspections.queries import findings as queries_findings
from inspections.services import common
from opskit import db
from opskit.alerts import services as alerts
from opskit.validation import ValidationFailed


def _dedup_key(answer: PatrolAnswer, room_id: int) -> str:
    """The alert condition of an abnormal answer: its item at its asset (or in its room)."""
    scope = f"asset={answer.asset_id}" if answer.asset_id else f"room={room_id}"
    return f"patrol:{answer.checklist_key}.{answer.item_key}:{scope}"


def _raise_findings(patrol: PatrolRound) -> None:
    sess = db.session()
    entries = {(e["key"], e["checklist"]): e for e in patrol.targets}
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")
    for answer in patrol.answers:
        if not answer.abnormal:
            continue
        item = catalog.get_checklist(answer.checklist_key).item(answer.item_key)
        urgency = item.urgency_for(answer.level)
        with force_locale(locale):
            message = queries_findings.finding_message(
                patrol, entries.get((answer.target, answer.checklist_key), {}), answer
            )
        alert = alerts.raise_alert(
            _dedup_key(answer, patrol.room_id),
            source="patrol",
            rule=f"patrol.{answer.checklist_key}.{answer.item_key}",
            urgency=urgency,
            message=message,
            asset_id=answer.asset_id,
            room_id=patrol.room_id,
            at=patrol.submitted_at,
        )
        sess.flush()
        finding = PatrolFinding(
            round=patrol,
            answer=answer,
            alert_id=alert.id,
            level=answer.level,
            urgency=urgency,
            message=message,
            opened_at=patrol.submitted_at or db.utcnow(),
        )
        sess.add(finding)
        sess.flush()
        for photo in answer.photos:
            photo.finding_id = finding.id


def close_finding(finding: PatrolFinding, note: str) -> PatrolFinding:
    """Close a finding with what was done; its alert is resolved when no other open finding
    shares it (flushes)."""
    finding = common.current(finding)
    if not finding.is_open:
        raise ValidationFailed.one("status", _("The finding is already closed."))
    if not note.strip():
        raise ValidationFailed.one("note", _("Say what was done."))
    sess = db.session()
    finding.closed_at = db.utcnow()
    finding.closing_note = note.strip()
    finding.closed_by = common.actor()
    if finding.alert_id is not None:
        others = sess.scalar(
            select(PatrolFinding.id).where(
                PatrolFinding.alert_id == finding.alert_id,
                PatrolFinding.id != finding.id,
                PatrolFinding.closed_at.is_(None),
            )
        )
        # the finding's alert if it is still open: the open alert of its condition
        alert = alerts.open_alert(_dedup_key(finding.answer, finding.round.room_id))
        if others is None and alert is not None and alert.id == finding.alert_id:
            alerts.resolve(alert, note)
    sess.flush()
    return finding
