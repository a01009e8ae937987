"""Downtime statistics from the state flips: how long a monitor was up, down and without an
answer over a period, its availability and its outages. Offered through ``monitors.queries``.

A monitor's state over time is read from its ``StatusFlip`` rows alone (the poller writes one
at each change): in a period [since, until) the state at ``since`` is the ``new`` state of the
last flip before it, and each flip in the period starts a new stretch. Before the monitor's
first flip there is **no data** (it had never been polled); time after now is not counted.

- **Availability** = up time / (up + down time). Time in ``unknown`` (the check could not say:
  an undecryptable secret, a crashed check) is shown apart and counted neither way: time with
  no answer is not time down. No up or down time at all: no availability (``None``).
- **Outages**: the stretches of ``down`` time in the period, however they ended (a flip to up
  or to unknown); one still going at ``until``, or begun before ``since``, counts, with only its
  part inside the period. ``longest_outage`` is the longest such part.

One query reads the flips of one monitor or of a list of monitors over one period (the flips in
the period and each monitor's last flip before it); the sums are made here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import aliased

from monitors.history import IN_CHUNK
from monitors.models import MonitorState, StatusFlip
from opskit import clock, db

ZERO = timedelta(0)
#: the periods the monitor page shows, in days
PAGE_DAYS = (7, 30)


@dataclass(frozen=True)
class Availability:
    """One monitor over [since, until): the time in each state and its outages."""

    since: datetime
    until: datetime
    up: timedelta = ZERO
    down: timedelta = ZERO
    unknown: timedelta = ZERO
    no_data: timedelta = ZERO  # before the monitor's first flip
    outages: int = 0
    longest_outage: timedelta = ZERO

    @property
    def percent(self) -> float | None:
        """Up time as a percentage of up + down time; ``None`` without either."""
        judged = self.up + self.down
        if judged <= ZERO:
            return None
        return 100.0 * (self.up / judged)


def summarize(flips: Iterable[StatusFlip], since: datetime, until: datetime) -> Availability:
    """The availability over [since, until) of one monitor whose flips are ``flips`` (in any
    order): those in the period, and before ``since`` at least its last one (earlier ones only
    set the state at ``since``); flips from ``until`` on are ignored."""
    ordered = sorted(flips, key=lambda f: (f.at, f.id or 0))
    spent = {s.value: ZERO for s in MonitorState}
    no_data = ZERO
    outages, longest, outage = 0, ZERO, ZERO
    state: str | None = None
    cursor = since

    def spend(until_at: datetime) -> None:
        nonlocal no_data, outage
        length = until_at - cursor
        if length <= ZERO:
            return
        if state is None:
            no_data += length
            return
        key = state if state in spent else MonitorState.UNKNOWN.value
        spent[key] += length
        if key == MonitorState.DOWN:
            outage += length

    def close_outage() -> None:
        nonlocal outages, longest, outage
        if state == MonitorState.DOWN and outage > ZERO:
            outages += 1
            longest = max(longest, outage)
        outage = ZERO

    for flip in ordered:
        if flip.at >= until:
            break
        at = max(flip.at, since)
        spend(at)
        cursor = at
        if flip.new != state:
            close_outage()
        state = flip.new
    spend(until)
    close_outage()
    return Availability(
        since=since,
        until=until,
        up=spent[MonitorState.UP],
        down=spent[MonitorState.DOWN],
        unknown=spent[MonitorState.UNKNOWN],
        no_data=no_data,
        outages=outages,
        longest_outage=longest,
    )


def _period(since: datetime, until: datetime | None) -> tuple[datetime, datetime]:
    """[since, until) with ``until`` at most now (default now), never before ``since``."""
    now = clock.now()
    end = now if until is None else min(until, now)
    return since, max(end, since)


def _flips(monitor_ids: Sequence[int], since: datetime, until: datetime) -> list[StatusFlip]:
    """The flips of ``monitor_ids`` in [since, until) and each one's last flip before ``since``,
    in one statement (per ``IN_CHUNK`` monitors): two ranges of ``ix_status_flip_monitor_id_at``
    for each monitor."""
    out: list[StatusFlip] = []
    for start in range(0, len(monitor_ids), IN_CHUNK):
        ids = list(monitor_ids[start : start + IN_CHUNK])
        inside = select(StatusFlip.id).where(
            StatusFlip.monitor_id.in_(ids), StatusFlip.at >= since, StatusFlip.at < until
        )
        before = (
            select(StatusFlip.monitor_id, func.max(StatusFlip.at).label("at"))
            .where(StatusFlip.monitor_id.in_(ids), StatusFlip.at < since)
            .group_by(StatusFlip.monitor_id)
            .subquery()
        )
        prior = aliased(StatusFlip)
        last_before = select(prior.id).join(
            before, (prior.monitor_id == before.c.monitor_id) & (prior.at == before.c.at)
        )
        wanted = union_all(inside, last_before).subquery()
        query = select(StatusFlip).where(StatusFlip.id.in_(select(wanted.c.id)))
        out.extend(db.session().scalars(query))
    return out


def availabilities(
    monitor_ids: Sequence[int], since: datetime, until: datetime | None = None
) -> dict[int, Availability]:
    """monitor id → its availability over [since, until) (``until`` default and at most now),
    from one query for all of them."""
    since, end = _period(since, until)
    by_monitor: dict[int, list[StatusFlip]] = {mid: [] for mid in monitor_ids}
    for flip in _flips(list(by_monitor), since, end):
        by_monitor[flip.monitor_id].append(flip)
    return {mid: summarize(flips, since, end) for mid, flips in by_monitor.items()}


def availability(monitor_id: int, since: datetime, until: datetime | None = None) -> Availability:
    """One monitor's availability over [since, until) (``until`` default and at most now)."""
    return availabilities([monitor_id], since, until)[monitor_id]


def recent_availability(
    monitor_id: int, days: Sequence[int] = PAGE_DAYS
) -> dict[int, Availability]:
    """days → the monitor's availability over the last that many days up to now (for the
    monitor page: 7 and 30), from one query over the longest."""
    now = clock.now()
    longest = now - timedelta(days=max(days))
    flips = _flips([monitor_id], longest, now)
    return {n: summarize(flips, now - timedelta(days=n), now) for n in days}


def recent_flips(monitor_id: int, limit: int = 10) -> list[StatusFlip]:
    """A monitor's last ``limit`` state changes, newest first."""
    return list(
        db.session().scalars(
            select(StatusFlip)
            .where(StatusFlip.monitor_id == monitor_id)
            .order_by(StatusFlip.at.desc(), StatusFlip.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Stretch:
    """One unbroken stretch of a monitor's state in a period: [start, end). ``state`` is
    ``None`` before the monitor's first flip (no data)."""

    state: str | None
    start: datetime
    end: datetime


def stretches_of(flips: Iterable[StatusFlip], since: datetime, until: datetime) -> list[Stretch]:
    """The stretches of one monitor over [since, until) from its ``flips`` (as ``summarize``
    takes them), a flip to the state it was already in continuing the stretch."""
    out: list[Stretch] = []
    state: str | None = None
    cursor = since
    for flip in sorted(flips, key=lambda f: (f.at, f.id or 0)):
        if flip.at >= until:
            break
        at = max(flip.at, since)
        if flip.new == state:
            continue
        if at > cursor:
            out.append(Stretch(state, cursor, at))
        cursor, state = at, flip.new
    if until > cursor:
        out.append(Stretch(state, cursor, until))
    return out


def timelines(
    monitor_ids: Sequence[int], since: datetime, until: datetime | None = None
) -> dict[int, list[Stretch]]:
    """monitor id → its stretches over [since, until) (``until`` default and at most now),
    from one query for all of them (the same flips ``availabilities`` reads)."""
    since, end = _period(since, until)
    by_monitor: dict[int, list[StatusFlip]] = {mid: [] for mid in monitor_ids}
    for flip in _flips(list(by_monitor), since, end):
        by_monitor[flip.monitor_id].append(flip)
    return {mid: stretches_of(flips, since, end) for mid, flips in by_monitor.items()}
