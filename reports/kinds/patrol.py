"""Report kind 巡检汇总: rounds planned vs done per day, abnormal findings and their closing,
logbook counts.

Per day of the period (site time), from ``inspections.queries.rounds_for_days``: the slots of
the enabled patrol plans on the days each recurs (``inspections.queries.expected_slots``: a
weekly plan counts once a week), from each plan's creation on (in a period still running, only
the slots whose time has come), how many were done (a submitted or
approved round), missed (past their grace period without a round), ad hoc rounds, and the share
done. Findings opened in the period (``inspections.queries.findings_between``) with how and
when each was closed. Logbook counts from ``inspections.queries.logbook_counts``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets.queries import all_rooms
from inspections import queries as patrol_queries
from inspections.queries import checklists, findings_between, logbook_counts, rounds_for_days
from opskit.people import full_name
from opskit.xlsx.cover import Figure
from opskit.xlsx.writer import DATE, DATETIME, INT, NUMBER, PERCENT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, Kind, local_time, period_as_of


def _days(ctx: Context) -> list[dict[str, Any]]:
    """Per day of the period: the slots planned (a slot before its plan existed was never
    planned, nor one still to come), done, missed, the ad hoc rounds and the share done."""

    def compute() -> list[dict[str, Any]]:
        judged_at = ctx.as_of
        out = []
        for day, slots in rounds_for_days(list(ctx.period.days()), now=judged_at).items():
            planned = [
                s
                for s in slots
                if s.plan is not None
                and (s.scheduled_for is None or s.scheduled_for >= s.plan.created_at)
                and (s.scheduled_for is None or s.scheduled_for <= judged_at or s.state == "done")
            ]
            done = sum(1 for s in planned if s.state == "done")
            out.append(
                {
                    "day": day,
                    "planned": len(planned),
                    "done": done,
                    "missed": sum(1 for s in planned if s.state == "overdue"),
                    "adhoc": sum(1 for s in slots if s.plan is None and s.state == "done"),
                    "share": done / len(planned) if planned else None,
                }
            )
        return out

    return ctx.once("patrol.days", compute)


def _findings(ctx: Context) -> list[Any]:
    """The patrol findings opened in the period."""
    return ctx.once("patrol.findings", lambda: findings_between(ctx.period.start, ctx.period.end))


def _items() -> tuple[Callable[[str, str], Any], Callable[[str, str], str]]:
    """A checklist item by its checklist and key, and its label in the workbook's language."""
    english = not str(get_locale() or "zh").startswith("zh")
    lists = cache(checklists)  # parsed at the first finding, if any (parsing costs ~60 ms)

    def item_of(checklist: str, item: str) -> Any:
        try:
            return lists()[checklist].item(item)
        except KeyError:
            return None

    def item_label(checklist: str, item: str) -> str:
        found = item_of(checklist, item)
        if found is None:
            return item
        return (found.label_en or found.label) if english else found.label

    return item_of, item_label


def patrol(ctx: Context) -> list[Sheet]:
    period = ctx.period
    day_rows = _days(ctx)
    ctx.counted.add("patrol")
    for row in day_rows:
        ctx.count(row["day"], "rounds_planned", row["planned"])
        ctx.count(row["day"], "rounds_done", row["done"])
    planned_total = sum(r["planned"] for r in day_rows)
    done_total = sum(r["done"] for r in day_rows)

    rooms = {r.id: r.name for r in all_rooms()}
    item_of, item_label = _items()
    finding_rows: list[dict[str, Any]] = []
    for f in _findings(ctx):
        ctx.count(f.opened_at, "findings")
        answer = f.answer
        finding_rows.append(
            {
                "opened": local_time(f.opened_at, ctx),
                "room": rooms.get(f.round.room_id, ""),
                "engineer": full_name(f.round.engineer),
                "item": item_label(answer.checklist_key, answer.item_key),
                "value": patrol_queries.answer_text(
                    item_of(answer.checklist_key, answer.item_key), answer.value
                ),
                "level": patrol_queries.level_text(f.level),
                "urgency": f.urgency,
                "message": patrol_queries.said_again(f),  # in the workbook's language
                "state": _("still open") if f.closed_at is None else _("closed"),
                "closed": local_time(f.closed_at, ctx),
                "closed_by": full_name(f.closed_by),
                "note": f.closing_note,
                "hours": round((f.closed_at - f.opened_at).total_seconds() / 3600, 1)
                if f.closed_at
                else None,
            }
        )
    counts = logbook_counts(period.start, period.end)
    log_rows = [
        {"what": _("Visits to the machine rooms"), "count": counts.visits},
        {"what": _("Distinct visitors"), "count": counts.visitors},
        {"what": _("Visits not signed out"), "count": counts.still_inside},
        {"what": _("Devices powered on"), "count": counts.power_on},
        {"what": _("Devices powered off"), "count": counts.power_off},
        {"what": _("Devices restarted"), "count": counts.restarts},
    ]
    ctx.headline[_("Patrol rounds planned")] = planned_total
    ctx.headline[_("Patrol rounds done")] = done_total
    ctx.headline[_("Patrol completion")] = Figure(
        done_total / planned_total if planned_total else None, PERCENT
    )
    ctx.headline[_("Patrol findings")] = len(finding_rows)
    ctx.headline[_("Patrol findings still open")] = sum(
        1 for r in finding_rows if r["closed"] is None
    )
    return [
        Sheet(
            _("Patrol rounds per day"),
            [
                Col("day", _("Date"), DATE),
                Col("planned", _("Planned"), INT),
                Col("done", _("Done"), INT),
                Col("missed", _("Missed"), INT),
                Col("adhoc", _("Ad hoc rounds"), INT),
                Col("share", _("Done %"), PERCENT),
            ],
            day_rows,
            highlight=lambda r: r["missed"] > 0,
            note=_(
                "Slots of the patrol plans per day; done = a submitted or approved round; "
                "days with missed rounds highlighted."
            ),
            charts=[
                {
                    "type": "column",
                    "category": "day",
                    "values": ["planned", "done"],
                    "title": _("Patrol rounds planned and done"),
                }
            ],
        ),
        Sheet(
            _("Patrol findings"),
            [
                Col("opened", _("Found at"), DATETIME),
                Col("room", _("Room")),
                Col("engineer", _("Engineer")),
                Col("item", _("Item")),
                Col("value", _("Value")),
                Col("level", _("Level")),
                Col("urgency", _("Urgency")),
                Col("message", _("Message"), width=40),
                Col("state", _("State")),
                Col("closed", _("Closed at"), DATETIME),
                Col("closed_by", _("Closed by")),
                Col("note", _("How it was closed"), width=40),
                Col("hours", _("Hours to close"), NUMBER),
            ],
            finding_rows,
            highlight=lambda r: r["closed"] is None,
        ),
        Sheet(
            _("Logbook"),
            [Col("what", _("Logbook")), Col("count", _("Count"), INT)],
            log_rows,
        ),
    ]


def findings(ctx: Context) -> list[Finding]:
    """``patrol.completion`` (figures: planned, done, missed, done_pct; when rounds were
    planned), ``patrol.open_finding`` per finding of the period still open (as the findings
    sheet says; item, room, opened, days_open, level) and ``patrol.summary`` (the same counts and
    findings, still_open)."""
    days = _days(ctx)
    found = _findings(ctx)
    planned = sum(r["planned"] for r in days)
    done = sum(r["done"] for r in days)
    missed = sum(r["missed"] for r in days)
    period = period_as_of(ctx)
    figures = {
        "planned": planned,
        "done": done,
        "missed": missed,
        "done_pct": round(done / planned * 100, 1) if planned else None,
    }
    out = []
    if planned:
        out.append(
            Finding(
                key="patrol.completion",
                subject=_("Patrol plans"),
                metric=_("Share of patrol rounds done"),
                value=figures["done_pct"],
                period=period,
                figures={**figures, "value_unit": "%"},
                severity=missed,
            )
        )
    rooms = {r.id: r.name for r in all_rooms()}
    item_of, item_label = _items()
    judged_at = ctx.as_of
    still_open = [f for f in found if f.closed_at is None]  # as the sheet says
    for f in still_open:
        room = rooms.get(f.round.room_id, "")
        opened = f.opened_at.astimezone(ctx.period.tz)
        out.append(
            Finding(
                key="patrol.open_finding",
                subject=room,
                metric=item_label(f.answer.checklist_key, f.answer.item_key),
                value=patrol_queries.answer_text(
                    item_of(f.answer.checklist_key, f.answer.item_key), f.answer.value
                ),
                period=period,
                figures={
                    "item": item_label(f.answer.checklist_key, f.answer.item_key),
                    "room": room,
                    "opened": f"{opened:%Y-%m-%d}",
                    "days_open": (judged_at - f.opened_at).days,
                    "level": patrol_queries.level_text(f.level),
                },
                severity=(judged_at - f.opened_at).days,
            )
        )
    out.append(
        Finding(
            key="patrol.summary",
            subject="",
            metric=_("Share of patrol rounds done"),
            value=figures["done_pct"],
            period=period,
            figures={**figures, "findings": len(found), "still_open": len(still_open)},
        )
    )
    return out


KIND = Kind(_l("Patrol summary"), patrol, monthly=True, findings=findings)
