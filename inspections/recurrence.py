"""How often a patrol plan recurs, as data: the plan's ``recurrence`` JSON column.

One of (weekdays ISO: 1 Monday … 7 Sunday; a day of the month 1–28 or ``"last"``, so every
month has it)::

    {"freq": "daily"}
    {"freq": "weekly", "weekdays": [1, 4]}           # Mondays and Thursdays
    {"freq": "monthly", "day": 15}                   # or "day": "last"
    {"freq": "quarterly", "month": 1, "day": 1}      # month 1–3 of each quarter
    {"freq": "workdays"}                             # the working calendar's working days

The plan's ``schedule_times`` say at which local times of such a day. A day recurs or not
(``Recurrence.occurs_on``); ``inspections.queries.schedule.expected_slots`` turns a plan into
its slots over a period with it. ``workdays`` asks the site's working calendar (Chinese public
holidays off, the make-up working Saturdays and Sundays on: ``opskit.calendar``), which the
caller passes in as ``is_workday``. A stored value this module does not know reads as daily,
so a plan never silently disappears from the schedule.
"""

from __future__ import annotations

import calendar as month_calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.validation import ValidationFailed

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "workdays")
FREQUENCY_LABELS = {
    "daily": _l("Every day"),
    "weekly": _l("Weekly"),
    "monthly": _l("Monthly"),
    "quarterly": _l("Quarterly"),
    "workdays": _l("Working days"),
}
#: ISO weekday (1 Monday) → its name in a recurrence ("每周一" / "Weekly on Mondays")
WEEKDAY_LABELS = {
    1: _l("Mondays"),
    2: _l("Tuesdays"),
    3: _l("Wednesdays"),
    4: _l("Thursdays"),
    5: _l("Fridays"),
    6: _l("Saturdays"),
    7: _l("Sundays"),
}
QUARTER_MONTH_LABELS = {
    1: _l("First month of the quarter"),
    2: _l("Second month of the quarter"),
    3: _l("Third month of the quarter"),
}
LAST = "last"
#: the form's fields, by the part of the recurrence they carry
FIELDS = {
    "freq": "frequency",
    "weekdays": "weekdays",
    "day": "month_day",
    "month": "quarter_month",
}


@dataclass(frozen=True)
class Recurrence:
    freq: str = "daily"
    weekdays: tuple[int, ...] = ()
    day: int | str | None = None  # 1–28 or "last" (monthly, quarterly)
    month: int | None = None  # 1–3, the month of the quarter (quarterly)

    def as_data(self) -> dict[str, Any]:
        """The JSON stored on the plan."""
        data: dict[str, Any] = {"freq": self.freq}
        if self.freq == "weekly":
            data["weekdays"] = list(self.weekdays)
        if self.freq == "quarterly":
            data["month"] = self.month
        if self.freq in ("monthly", "quarterly"):
            data["day"] = self.day
        return data

    def occurs_on(self, day: date, is_workday: Callable[[date], bool] | None = None) -> bool:
        """Whether the plan runs on ``day`` (a site-time date). ``is_workday``: the working
        calendar's answer, needed by ``workdays`` only (without it: Monday to Friday)."""
        if self.freq == "weekly":
            return day.isoweekday() in self.weekdays
        if self.freq == "workdays":
            return is_workday(day) if is_workday is not None else day.isoweekday() <= 5
        if self.freq == "quarterly" and (day.month - 1) % 3 + 1 != self.month:
            return False
        if self.freq in ("monthly", "quarterly"):
            if self.day == LAST:
                return day.day == month_calendar.monthrange(day.year, day.month)[1]
            return day.day == self.day
        return True

    def describe(self, times: Iterable[str] = ()) -> str:
        """In words, with the times: 每周一 09:00, 每月最后一天 09:00, 工作日 09:00, 15:00 /
        Weekly on Mondays 09:00, Last day of the month 09:00, Working days 09:00, 15:00."""
        zh = str(get_locale() or "zh").startswith("zh")
        if self.freq == "weekly":
            names = [str(WEEKDAY_LABELS[d]) for d in self.weekdays if d in WEEKDAY_LABELS]
            words = _("Weekly on %(days)s", days=("、" if zh else ", ").join(names))
        elif self.freq == "monthly":
            words = (
                _("Last day of the month")
                if self.day == LAST
                else _("Monthly on day %(day)s", day=self.day)
            )
        elif self.freq == "quarterly":
            words = (
                _("Quarterly, last day of month %(month)s of the quarter", month=self.month)
                if self.day == LAST
                else _(
                    "Quarterly, month %(month)s of the quarter, day %(day)s",
                    month=self.month,
                    day=self.day,
                )
            )
        else:
            words = str(FREQUENCY_LABELS.get(self.freq, FREQUENCY_LABELS["daily"]))
        return " ".join([words, ", ".join(times)]).strip()


DAILY = Recurrence()


def from_stored(raw: Any) -> Recurrence:
    """The plan's stored JSON read back; anything not a valid recurrence reads as daily."""
    if not isinstance(raw, Mapping):
        return DAILY
    try:
        return parse(raw)
    except ValidationFailed:
        return DAILY


def parse(data: Mapping[str, Any]) -> Recurrence:
    """A recurrence from stored JSON (``freq``, ``weekdays``, ``day``, ``month``) or from the
    plan form (``frequency``, ``weekdays``, ``month_day``, ``quarter_month``); the errors are
    keyed by the form's field names and say what was expected."""

    def get(part: str) -> Any:
        value = data.get(part)
        return data.get(FIELDS[part]) if value is None else value

    freq = str(get("freq") or "daily").strip()
    if freq not in FREQUENCIES:
        raise ValidationFailed.one(
            FIELDS["freq"],
            _("Choose how often: every day, weekly, monthly, quarterly or working days."),
        )
    errors: dict[str, list[str]] = {}
    weekdays: tuple[int, ...] = ()
    day: int | str | None = None
    month: int | None = None
    if freq == "weekly":
        raw_days = get("weekdays") or []
        if isinstance(raw_days, str | int):
            raw_days = str(raw_days).replace(",", " ").split()
        picked = [_int(v) for v in raw_days]
        if not picked:
            errors[FIELDS["weekdays"]] = [_("Choose at least one day of the week.")]
        elif any(d is None or not 1 <= d <= 7 for d in picked):
            errors[FIELDS["weekdays"]] = [_("Days of the week are 1 (Monday) to 7 (Sunday).")]
        else:
            weekdays = tuple(sorted({d for d in picked if d is not None}))
    if freq in ("monthly", "quarterly"):
        raw_day = get("day")
        if str(raw_day).strip().lower() == LAST:
            day = LAST
        else:
            number = _int(raw_day)
            if number is None or not 1 <= number <= 28:
                errors[FIELDS["day"]] = [
                    _("Choose a day of the month from 1 to 28, or the last day.")
                ]
            day = number
    if freq == "quarterly":
        month = _int(get("month"))
        if month is None or not 1 <= month <= 3:
            errors[FIELDS["month"]] = [_("Choose the first, second or third month.")]
    if errors:
        raise ValidationFailed(errors)
    return Recurrence(freq, weekdays, day, month)


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
