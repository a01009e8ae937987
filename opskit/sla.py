"""Service levels as data: which clocks run for an alert or a request, on which calendar, and
their deadlines.

The policy (``sla_policy.yaml``, shipped with the contract's defaults; a copy in the instance
folder overrides it) maps urgencies A/B/C to a level; each level has three clocks —
acknowledge (响应), on site (到场), resolve (解决) — measured either around the clock (24x7) or in
working time on the Chinese working calendar (see ``opskit.calendar``).

Every clock counts from the moment the alert is raised, so a level's resolve target can never be
shorter than its on-site target (nobody could resolve in time after arriving): the loader refuses
such a level, naming it and both targets.

A working-time (5x8) clock that is still running is *paused* outside working time: its
``ClockState`` says so and when it resumes (the next working period's start), and lists the next
working periods so a page can count down between them without trusting the browser's clock.

Employees' requests (服务请求) run on the same engine with their own levels, the policy's
``request`` section (a policy without one gets the shipped default's): the same three clocks
plus ``fix_by``, the contract's cap "最迟在第2个工作日内排除错误,2个工作日内不能解决的,采取临时
应急等措施". The rule: **fix_by is the end of working hours (17:00) of the Nth working day after
the calendar day the request is raised** (N = ``fix_by_working_days``, 2 by the contract). The
day of the request never counts, whether it is a working day or not and whatever the hour, so
every request gets N whole working days: raised Friday 16:00 → Monday is the 1st working day,
Tuesday the 2nd → Tuesday 17:00; raised Saturday → Tuesday 17:00 too; raised Wednesday
2026-09-30 → 10-08 (the first working day after National Day) and Friday 10-09 17:00; raised
Friday 2026-10-09 → the make-up Saturday 10-10 is the 1st, Monday 10-12 17:00.

A request may be **suspended** (挂起: waiting for the requester or a vendor): its clocks stand
still while suspended, so each deadline moves later by the suspended time that falls before it —
wall-clock time for a 24x7 clock, working time for a working-hours clock and for ``fix_by``
(which is a working-time clock: the working time from the raise to the end of the Nth working
day). A suspension that begins after a deadline does not move it (the clock had already run out).
Pass the suspensions as ``deadlines(..., suspended=[(start, end), ...])``; an open one as
``(start, now)``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from flask import has_app_context
from flask_babel import get_locale, gettext

from opskit.calendar import WorkingCalendar, parse_overrides, site_arrangements
from opskit.holidays import Arrangement
from opskit.rulefiles import SAFE_LOADER

URGENCIES = ("A", "B", "C")
CLOCKS = ("acknowledge", "onsite", "resolve")
#: a request's clocks: the alert's three and the contract's 2nd-working-day cap
REQUEST_CLOCKS = (*CLOCKS, "fix_by")
#: what the clocks run for: machine-raised alerts, employees' requests
KINDS = ("alert", "request")
HOURS = ("24x7", "working")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")


class _Loader(SAFE_LOADER):  # type: ignore[misc,valid-type]
    """SafeLoader (libyaml's when available: a report pack reads the policy) that keeps dates
    as text, so a bad date becomes our message naming the key."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class PolicyError(ValueError):
    """The SLA policy is invalid; the message names the key."""


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    urgencies: tuple[str, ...]
    hours: str  # "24x7" or "working"
    targets: dict[str, timedelta]  # clock → allowed time
    #: requests only: fixed by the end of this many working days after the day of the request
    fix_by_working_days: int | None = None
    #: the name in English (``name_en`` in the policy; ``name`` is the site's own, Chinese)
    name_en: str = ""

    @property
    def words(self) -> str:
        """The level's name in the language being written: ``name_en`` in English (else
        "Level N service"), ``name`` otherwise."""
        locale = get_locale() if has_app_context() else None
        if locale is None or locale.language != "en":
            return self.name
        return self.name_en or gettext("Level %(number)s service", number=self.number)


Suspensions = Iterable[tuple[datetime, datetime]]


@dataclass(frozen=True)
class Policy:
    levels: tuple[Level, ...]
    calendar: WorkingCalendar
    warn_at_percent: int
    #: the levels of employees' requests (the policy's ``request`` section)
    request_levels: tuple[Level, ...] = ()

    def level_for(self, urgency: str, kind: str = "alert") -> Level:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        for level in self.request_levels if kind == "request" else self.levels:
            if urgency in level.urgencies:
                return level
        raise PolicyError(f"no {kind} service level covers urgency {urgency!r}")

    def deadline(
        self, level: Level, clock: str, start: datetime, suspended: Suspensions = ()
    ) -> datetime:
        """When ``clock`` of ``level`` runs out for a start at ``start``, the clock standing
        still during ``suspended``."""
        suspended = _merged(suspended, start)
        if clock == "fix_by":
            if level.fix_by_working_days is None:
                raise PolicyError(f"level {level.number} has no fix_by clock")
            cap = self.calendar.end_of_working_day_after(start, level.fix_by_working_days)
            allowed = self.calendar.working_time_between(start, cap)
            return self._active_deadline("working", start, allowed, suspended)
        return self._active_deadline(level.hours, start, level.targets[clock], suspended)

    def deadlines(
        self,
        urgency: str,
        raised_at: datetime,
        *,
        kind: str = "alert",
        suspended: Suspensions = (),
    ) -> dict[str, datetime]:
        """Deadline of each clock for an alert (or request) of ``urgency`` raised at
        ``raised_at``, in site time; a request's include ``fix_by``. ``suspended``: the
        (start, end) periods the clocks stood still (a suspended request)."""
        if raised_at.tzinfo is None:
            raise ValueError("raised_at must be time-zone aware")
        level = self.level_for(urgency, kind)
        clocks = REQUEST_CLOCKS if kind == "request" else CLOCKS
        periods = list(suspended)
        tz = self.calendar.tz
        return {
            clock: self.deadline(level, clock, raised_at, periods).astimezone(tz)
            for clock in clocks
        }

    def _active_deadline(
        self, hours: str, start: datetime, allowed: timedelta, suspended: Suspensions
    ) -> datetime:
        """The moment ``allowed`` of running time (on ``hours``) has passed after ``start``,
        the time inside ``suspended`` (merged, sorted, after ``start``) not counted."""
        moment, remaining = start, allowed
        for begin, end in suspended:
            running = self._span(hours, moment, begin)
            if remaining <= running:
                break  # the clock runs out before this suspension
            remaining -= running
            moment = max(moment, end)
        if hours == "24x7":
            return moment + remaining
        return self.calendar.add_working_time(moment, remaining)

    def _span(self, hours: str, start: datetime, end: datetime) -> timedelta:
        if hours == "24x7":
            return max(end - start, timedelta(0))
        return self.calendar.working_time_between(start, end)

    def elapsed(self, level: Level, start: datetime, end: datetime) -> timedelta:
        return self._span(level.hours, start, end)


def _merged(suspended: Suspensions, start: datetime) -> list[tuple[datetime, datetime]]:
    """Suspensions sorted, cut to begin no earlier than ``start``, overlaps joined."""
    periods = []
    for begin, end in suspended:
        if begin.tzinfo is None or end.tzinfo is None:
            raise ValueError("suspended periods must be time-zone aware")
        if end < begin:
            raise ValueError(f"a suspension ends ({end}) before it starts ({begin})")
        if end > start:
            periods.append((max(begin, start), end))
    merged: list[tuple[datetime, datetime]] = []
    for begin, end in sorted(periods):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


#: how many working periods ahead a running 5x8 clock lists (for the live countdown)
UPCOMING_PERIODS = 3


@dataclass(frozen=True)
class ClockState:
    clock: str
    deadline: datetime
    done_at: datetime | None
    state: str  # "met", "breached", "running", "warning"
    remaining: timedelta  # time left on the level's calendar (negative when overdue)
    percent_used: float
    hours: str = "24x7"  # the level's calendar: "24x7" or "working"
    now: datetime | None = None  # the moment this state was judged at
    #: a running working-time clock outside working time: it stands still until ``resumes_at``
    paused: bool = False
    resumes_at: datetime | None = None
    #: a running working-time clock: the next working periods (start, end) from ``now`` on, the
    #: first one starting at ``now`` when working time is running
    periods: tuple[tuple[datetime, datetime], ...] = ()

    @property
    def running(self) -> bool:
        return self.done_at is None

    @property
    def overdue(self) -> bool:
        """Still running and past its deadline."""
        return self.done_at is None and self.remaining < timedelta(0)


def clock_state(
    policy: Policy,
    urgency: str,
    clock: str,
    raised_at: datetime,
    done_at: datetime | None,
    now: datetime,
) -> ClockState:
    """Where one clock stands: met/breached once done, else running, warning or breached."""
    level = policy.level_for(urgency)
    allowed = level.targets[clock]
    deadline = policy.deadline(level, clock, raised_at)
    end = done_at or now
    used = policy.elapsed(level, raised_at, end)
    percent = 100.0 * used / allowed if allowed else 100.0
    if done_at is not None:
        state = "met" if done_at <= deadline else "breached"
    elif now > deadline:
        state = "breached"
    elif percent >= policy.warn_at_percent:
        state = "warning"
    else:
        state = "running"
    if end <= deadline:
        remaining = policy.elapsed(level, end, deadline)
    else:
        remaining = -policy.elapsed(level, deadline, end)
    periods: tuple[tuple[datetime, datetime], ...] = ()
    paused, resumes_at = False, None
    if done_at is None and level.hours == "working":
        periods = tuple(islice(policy.calendar.periods_from(now), UPCOMING_PERIODS))
        if periods[0][0] > now:  # outside working time: the clock stands still until then
            paused, resumes_at = True, periods[0][0]
    return ClockState(
        clock,
        deadline,
        done_at,
        state,
        remaining,
        round(percent, 1),
        hours=level.hours,
        now=now,
        paused=paused,
        resumes_at=resumes_at,
        periods=periods,
    )


# --- loading ---------------------------------------------------------------------------------


def parse_duration(value: Any, where: str) -> timedelta:
    match = _DURATION.match(str(value)) if value is not None else None
    if not match or not any(match.groups()):
        raise PolicyError(f"{where}: expected a duration like 5m, 2h or 1h30m, got {value!r}")
    hours, minutes = (int(g) if g else 0 for g in match.groups())
    duration = timedelta(hours=hours, minutes=minutes)
    if duration <= timedelta(0):
        raise PolicyError(f"{where}: must be longer than zero")
    return duration


def format_target(duration: timedelta) -> str:
    """A target as the policy file writes it: 5m, 2h, 1h30m."""
    minutes = int(duration.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours}h{minutes}m"
    return f"{hours}h" if hours else f"{minutes}m"


def _clock_time(value: Any, where: str) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise PolicyError(f"{where}: expected HH:MM, got {value!r}") from None


#: policies parsed, by (text, zone, source, site years): a page with SLA clocks asks for the
#: policy on every request, and parsing its YAML took longer than the rest of the page
_PARSED: dict[tuple[Any, ...], Policy] = {}


def load_policy(
    text: str,
    tz: ZoneInfo,
    source: str = "sla_policy.yaml",
    arrangements: Mapping[int, Arrangement] | None = None,
) -> Policy:
    """Parse and validate a policy; every error names the file and the key. ``arrangements``:
    the site file's years (``opskit.calendar.site_arrangements()``), under the policy's
    ``calendar_overrides`` (which win on a date both name). The same text, zone and years give
    the same (immutable) policy, parsed once per process."""
    key = (text, str(tz), source, tuple(sorted((arrangements or {}).items())))
    policy = _PARSED.get(key)
    if policy is None:
        policy = _parse_policy(text, tz, source, arrangements)
        if len(_PARSED) >= 64:  # a few policies per site: never let edits pile up
            _PARSED.clear()
        _PARSED[key] = policy
    return policy


def _parse_policy(
    text: str,
    tz: ZoneInfo,
    source: str,
    arrangements: Mapping[int, Arrangement] | None,
) -> Policy:
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: expected a mapping at the top")
    levels = _parse_levels(data.get("levels"), f"{source}: levels", request=False)
    raw_request = data.get("request")
    request_source = source
    if raw_request is None:  # a policy written before requests: the contract's request levels
        request_source = "sla_policy.yaml (default)"
        raw_request = yaml.load(default_policy_text(), Loader=_Loader)["request"]  # noqa: S506
    if not isinstance(raw_request, dict):
        raise PolicyError(f"{request_source}: request: expected a mapping with levels")
    request_levels = _parse_levels(
        raw_request.get("levels"), f"{request_source}: request.levels", request=True
    )
    hours_raw = data.get("working_hours") or {}
    start = _clock_time(hours_raw.get("start", "08:00"), f"{source}: working_hours.start")
    end = _clock_time(hours_raw.get("end", "17:00"), f"{source}: working_hours.end")
    if end <= start:
        raise PolicyError(f"{source}: working_hours: end must be after start")
    try:
        overrides = parse_overrides(data.get("calendar_overrides"), f"{source}: calendar_overrides")
    except ValueError as exc:
        raise PolicyError(str(exc)) from None
    warn = data.get("warn_at_percent", 75)
    if not isinstance(warn, int) or not 1 <= warn <= 99:
        raise PolicyError(f"{source}: warn_at_percent: expected a whole number 1-99, got {warn!r}")
    calendar = WorkingCalendar(
        tz=tz,
        day_start=start,
        day_end=end,
        overrides=overrides,
        arrangements=dict(arrangements or {}),
    )
    return Policy(levels, calendar, warn, request_levels)


def _parse_levels(raw_levels: Any, where_levels: str, *, request: bool) -> tuple[Level, ...]:
    """The ``levels`` mapping of the alert policy or of its ``request`` section; a request level
    also has ``fix_by_working_days``."""
    if not isinstance(raw_levels, dict) or not raw_levels:
        raise PolicyError(f"{where_levels}: expected a mapping of level number to settings")
    levels = []
    seen: dict[str, int] = {}
    for number, raw in raw_levels.items():
        where = f"{where_levels}.{number}"
        if not isinstance(raw, dict):
            raise PolicyError(f"{where}: expected a mapping")
        urgencies = raw.get("urgencies")
        if not isinstance(urgencies, list) or not urgencies:
            raise PolicyError(f"{where}.urgencies: expected a list such as [A, B]")
        for urgency in urgencies:
            if urgency not in URGENCIES:
                raise PolicyError(f"{where}.urgencies: {urgency!r} is not one of A, B, C")
            if urgency in seen:
                raise PolicyError(
                    f"{where}.urgencies: {urgency} is already in level {seen[urgency]}"
                )
            seen[urgency] = int(number)
        hours = raw.get("hours")
        if hours not in HOURS:
            raise PolicyError(f"{where}.hours: expected 24x7 or working, got {hours!r}")
        targets = {clock: parse_duration(raw.get(clock), f"{where}.{clock}") for clock in CLOCKS}
        if targets["resolve"] < targets["onsite"]:
            # every clock counts from the raise: a resolve deadline before the on-site one
            # cannot be met by the engineer who arrives in time
            raise PolicyError(
                f"{where}.resolve: {format_target(targets['resolve'])} is shorter than "
                f"onsite {format_target(targets['onsite'])}; every clock counts from the "
                f"moment the {'request' if request else 'alert'} is raised, so resolve must "
                "be at least as long as onsite"
            )
        fix_by = None
        if request:
            fix_by = raw.get("fix_by_working_days")
            if not isinstance(fix_by, int) or isinstance(fix_by, bool) or not 1 <= fix_by <= 30:
                raise PolicyError(
                    f"{where}.fix_by_working_days: expected a whole number of working days "
                    f"1-30, got {fix_by!r}"
                )
        name_en = raw.get("name_en", "")
        if not isinstance(name_en, str):
            raise PolicyError(f"{where}.name_en: expected the level's name in English")
        levels.append(
            Level(
                int(number),
                str(raw.get("name", number)),
                tuple(urgencies),
                hours,
                targets,
                fix_by,
                name_en.strip(),
            )
        )
    missing = [u for u in URGENCIES if u not in seen]
    if missing:
        raise PolicyError(f"{where_levels}: no level covers urgency {', '.join(missing)}")
    return tuple(sorted(levels, key=lambda lv: lv.number))


def default_policy_text() -> str:
    return resources.files("opskit").joinpath("sla_policy.yaml").read_text("utf-8")


def site_policy(instance_path: str | Path, timezone: str) -> Policy:
    """The site's policy: ``<instance>/sla_policy.yaml`` if present, else the shipped default;
    its calendar has the site's holiday arrangements (``<instance>/holidays.yaml``)."""
    path = Path(instance_path) / "sla_policy.yaml"
    years = site_arrangements(instance_path).years
    if path.exists():
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        text, source = default_policy_text(), "sla_policy.yaml (default)"
    return load_policy(text, ZoneInfo(timezone), source, years)
