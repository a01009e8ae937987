"""The patrol's public reads, for the pages of this domain and for the others (dashboard,
reports, the alert pages). The work is in one module per noun: ``catalog`` (checklists and the
limits in force), ``schedule`` (plans, the day's slots), ``rounds``, ``findings``; the logbook's
reads are ``inspections.logbook.queries``.

- ``expected_slots(plan, start, end)``: the plan's scheduled moments in a period, by its
  recurrence (daily, weekly, monthly, quarterly, working days) and times: the one expansion.
- ``recurrence_text(plan)``: how often a plan runs, in words (每周一 09:00).
- ``rounds_for_day(day, site_id)``: every planned slot of the day with its state (due,
  in_progress, done, overdue) and round, plus the ad hoc rounds of the day;
  ``rounds_for_days`` the same for many days at once (reports).
- ``round_detail(round)``: a round with its checklists, targets, answers, progress, findings.
- ``open_findings(...)``, ``findings_between(...)``, ``rounds_between(...)``, ``item_series(...)``
  for the dashboard, history, trends and reports; ``round_rows(...)`` the rounds of a period
  with their counts as plain rows (``opskit.data``).
- ``item_title(checklist, item)``: what a checklist item is called (the alert pages name a
  patrol finding by it).
- ``sample_answer(item, rng, abnormal)``: a plausible answer by the item's kind (the demo).
- ``latest_logbook_entries(...)``, ``logbook_counts(...)``: the logbook for the dashboard and
  the reports.
"""

from __future__ import annotations

from typing import Any

from assets import queries as assets
from inspections import labels
from inspections.labels import answer_text
from inspections.logbook.queries import LogbookCounts, latest_entries, logbook_counts
from inspections.queries.catalog import (
    checklists,
    get_checklist,
    item_title,
    limits_at,
    room_reading_limits,
    sample_answer,
    samples_abnormal,
)
from inspections.queries.findings import (
    Point,
    alert_messages,
    finding_message,
    findings_between,
    get_finding,
    get_photo,
    item_series,
    open_findings,
    photo_file,
    said_again,
)
from inspections.queries.rounds import (
    ROUND_COLUMNS,
    RoundDetail,
    TargetView,
    find_round,
    get_round,
    missing_answers,
    monitored_value,
    monitored_values,
    round_by_client_id,
    round_detail,
    round_rows,
    rounds_between,
)
from inspections.queries.schedule import (
    Slot,
    expected_slots,
    get_plan,
    plan_rooms,
    plans,
    recurrence_text,
    round_targets,
    rounds_for_day,
    rounds_for_days,
    rounds_today,
)


def level_text(level: str) -> str:
    """An answer's or a finding's level as a word (正常, 警告 ...); unknown: the level itself."""
    return labels.text(labels.LEVEL_LABELS, level)


def latest_logbook_entries(limit: int = 5, site_id: int | None = None) -> list[Any]:
    """The newest access and power lines (``inspections.logbook.queries.LogbookLine``; str()
    reads well). ``site_id``: only the visits to that site's rooms and the power events of the
    assets in them (a power event of an asset with no room belongs to no site)."""
    rooms = None if site_id is None else assets.site_rooms_query(site_id)
    return list(latest_entries(limit, rooms=rooms))


__all__ = [
    "ROUND_COLUMNS",
    "LogbookCounts",
    "Point",
    "RoundDetail",
    "Slot",
    "TargetView",
    "alert_messages",
    "answer_text",
    "checklists",
    "expected_slots",
    "find_round",
    "finding_message",
    "findings_between",
    "get_checklist",
    "get_finding",
    "get_photo",
    "get_plan",
    "get_round",
    "item_series",
    "item_title",
    "latest_logbook_entries",
    "level_text",
    "limits_at",
    "logbook_counts",
    "missing_answers",
    "monitored_value",
    "monitored_values",
    "open_findings",
    "photo_file",
    "plan_rooms",
    "plans",
    "recurrence_text",
    "room_reading_limits",
    "round_by_client_id",
    "round_detail",
    "round_rows",
    "round_targets",
    "rounds_between",
    "rounds_for_day",
    "rounds_for_days",
    "rounds_today",
    "said_again",
    "sample_answer",
    "samples_abnormal",
]
