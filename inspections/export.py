"""Excel export of patrol rounds for a day or a month: rounds, answers, findings (three sheets).

Written with ``opskit.xlsx.writer`` (streaming, formula-safe: an engineer's note beginning with
``=`` stays text). Times are local (site time zone). Headers are translated with the caller's
locale; abnormal answers are highlighted.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from assets import queries as assets
from inspections import labels, limits, queries
from opskit.people import full_name
from opskit.xlsx.writer import DATETIME, NUMBER, Col, ReportWriter, Sheet


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz).replace(tzinfo=None) if value else None


def write_rounds(
    path: Path, start: datetime, end: datetime, tz: ZoneInfo, room_id: int | None = None
) -> tuple[int, int, int]:
    """Write the rounds started in [start, end) to ``path``; returns the three row counts."""
    rounds = list(reversed(queries.rounds_between(start, end, room_id=room_id)))
    rooms = {r.id: f"{r.site.name} / {r.name}" for r in assets.all_rooms()}
    known = limits.site_checklists().checklists

    def item_label(checklist_key: str, item_key: str) -> tuple[str, str, str, Any]:
        """(checklist title, item label, unit, item) in the reader's language."""
        checklist = known.get(checklist_key)
        if checklist is None:
            return checklist_key, item_key, "", None
        try:
            item = checklist.item(item_key)
        except KeyError:
            return limits.shown(checklist.title, checklist.title_en), item_key, "", None
        return (
            limits.shown(checklist.title, checklist.title_en),
            limits.shown(item.label, item.label_en),
            item.unit,
            item,
        )

    round_rows = [
        {
            "started_at": _local(r.started_at, tz),
            "plan": r.plan.name if r.plan else _("Ad hoc round"),
            "room": rooms.get(r.room_id, ""),
            "scheduled_for": _local(r.scheduled_for, tz),
            "engineer": full_name(r.engineer),
            "status": labels.text(labels.ROUND_STATUS_LABELS, r.status),
            "answers": len(r.answers),
            "abnormal": sum(1 for a in r.answers if a.level in ("warning", "critical")),
            "signature": r.signature_name,
            "submitted_at": _local(r.submitted_at, tz),
            "reviewer": full_name(r.reviewer),
            "review_comment": r.review_comment,
            "approved_at": _local(r.approved_at, tz),
        }
        for r in rounds
    ]
    answer_rows: list[dict[str, Any]] = []
    finding_rows: list[dict[str, Any]] = []
    for r in rounds:
        targets = {t.get("key"): t.get("label", "") for t in r.targets}
        for a in sorted(r.answers, key=lambda a: (a.checklist_key, a.target, a.id)):
            title, label, unit, item = item_label(a.checklist_key, a.item_key)
            answer_rows.append(
                {
                    "started_at": _local(r.started_at, tz),
                    "room": rooms.get(r.room_id, ""),
                    "target": targets.get(a.target) or "",
                    "checklist": title,
                    "item": label,
                    "value": labels.answer_text(item, a.value),
                    "number": a.number,
                    "unit": unit,
                    "level": labels.text(labels.LEVEL_LABELS, a.level),
                    "note": a.note,
                    "monitored": a.monitored_value,
                    "disagrees": _("Yes") if a.disagrees else "",
                    "answered_by": full_name(a.answered_by),
                    "answered_at": _local(a.answered_at, tz),
                    "_abnormal": a.level in ("warning", "critical"),
                }
            )
        for f in r.findings:
            title, label, _unit, _item = item_label(f.answer.checklist_key, f.answer.item_key)
            finding_rows.append(
                {
                    "opened_at": _local(f.opened_at, tz),
                    "room": rooms.get(r.room_id, ""),
                    "target": targets.get(f.answer.target) or "",
                    "checklist": title,
                    "item": label,
                    "level": labels.text(labels.LEVEL_LABELS, f.level),
                    "urgency": f.urgency,
                    "message": f.message,
                    "closed_at": _local(f.closed_at, tz),
                    "closing_note": f.closing_note,
                    "closed_by": full_name(f.closed_by),
                }
            )
    with ReportWriter(path) as writer:
        n_rounds = writer.sheet(
            Sheet(
                _("Rounds"),
                [
                    Col("started_at", _("Started"), DATETIME),
                    Col("plan", _("Plan")),
                    Col("room", _("Room")),
                    Col("scheduled_for", _("Scheduled for"), DATETIME),
                    Col("engineer", _("Engineer")),
                    Col("status", _("Status")),
                    Col("answers", _("Answers"), "int"),
                    Col("abnormal", _("Abnormal"), "int"),
                    Col("signature", _("Signed by")),
                    Col("submitted_at", _("Submitted at"), DATETIME),
                    Col("reviewer", _("Reviewer")),
                    Col("review_comment", _("Review comment")),
                    Col("approved_at", _("Approved at"), DATETIME),
                ],
                round_rows,
                highlight=lambda row: bool(row["abnormal"]),
            )
        )
        n_answers = writer.sheet(
            Sheet(
                _("Answers"),
                [
                    Col("started_at", _("Round started"), DATETIME),
                    Col("room", _("Room")),
                    Col("target", _("Asset")),
                    Col("checklist", _("Checklist")),
                    Col("item", _("Item")),
                    Col("value", _("Answer")),
                    Col("number", _("Reading"), NUMBER),
                    Col("unit", _("Unit")),
                    Col("level", _("Result")),
                    Col("note", _("Note")),
                    Col("monitored", _("Monitored value"), NUMBER),
                    Col("disagrees", _("Differs from monitoring")),
                    Col("answered_by", _("Answered by")),
                    Col("answered_at", _("Answered at"), DATETIME),
                ],
                answer_rows,
                highlight=lambda row: row["_abnormal"],
            )
        )
        n_findings = writer.sheet(
            Sheet(
                _("Findings"),
                [
                    Col("opened_at", _("Found at"), DATETIME),
                    Col("room", _("Room")),
                    Col("target", _("Asset")),
                    Col("checklist", _("Checklist")),
                    Col("item", _("Item")),
                    Col("level", _("Result")),
                    Col("urgency", _("Urgency")),
                    Col("message", _("Finding")),
                    Col("closed_at", _("Closed at"), DATETIME),
                    Col("closing_note", _("What was done")),
                    Col("closed_by", _("Closed by")),
                ],
                finding_rows,
            )
        )
    return n_rounds, n_answers, n_findings
