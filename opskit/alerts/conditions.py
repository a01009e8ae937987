"""Conditions raised and cleared by machines (monitors, traps, syslog, patrol findings, the
registry's reminders), one at a time or many at once, with one meaning.

- :class:`Raise`: open an alert for a condition (``dedup_key``) or, if it is already open,
  update it (count, last seen, message, worse urgency → an ``escalated`` event). Raised inside
  a maintenance window of the asset or its room, the alert is recorded silenced.
- :class:`Clear`: the condition cleared; its open alert (if any) is resolved automatically.
- A condition that changed state ``FLAP_CHANGES`` times within ``FLAP_WINDOW`` is flapping:
  its last alert is reopened instead of a new one being made, and its changes stop notifying;
  a clear with fewer changes in the window ends the flapping.

:func:`apply` takes a list of changes of many conditions, in the order they happened, and
gives exactly what calling ``raise_alert`` / ``clear_alert`` for each in turn gives, with a
few queries for the whole list instead of three or four for each change: the open alerts of
all its conditions, the recent raised/resolved times of the conditions that may open or close
(at most ``FLAP_CHANGES`` each: enough to judge flapping), the rooms of the assets and the
maintenance windows over the list's time span. The rest happens in memory, in order, so a
condition raised and cleared ten times in one list gets its ten events and its flapping
judged as it would one change at a time. The trap and syslog writers hand their batches here;
``raise_alert`` and ``clear_alert`` are a list of one. Callers own the transaction.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from assets import queries as registry
from opskit import db
from opskit.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertStatus,
    EventKind,
    MaintenanceWindow,
)
from opskit.audit import current_actor
from opskit.validation import ValidationFailed

FLAP_WINDOW = timedelta(minutes=30)
FLAP_CHANGES = 4  # raised/resolved changes within the window that make a condition flapping
URGENCY_ORDER = {"A": 0, "B": 1, "C": 2}
SOURCES = ("monitor", "patrol", "registry", "manual", "servicedesk", "vulns")
_CHUNK = 500  # values in one IN (...) list


@dataclass(frozen=True)
class Raise:
    """The condition ``dedup_key`` holds (again) at ``at`` (``None``: now)."""

    dedup_key: str
    source: str
    rule: str
    urgency: str
    message: str
    asset_id: int | None = None
    room_id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True)
class Clear:
    """The condition ``dedup_key`` no longer holds at ``at`` (``None``: now)."""

    dedup_key: str
    at: datetime | None = None
    note: str = ""


Change = Raise | Clear


def actor() -> str:
    return current_actor()[1]


def add_event(
    alert: Alert, kind: EventKind, at: datetime, note: str = "", notify: bool = True
) -> AlertEvent:
    event = AlertEvent(
        alert=alert,
        kind=kind.value,
        at=at,
        actor=actor(),
        note=note,
        urgency=alert.urgency,
        notify=notify and not alert.silenced,
    )
    db.session().add(event)
    return event


def check(change: Raise) -> None:
    """A raise's urgency and source, refused with the field named."""
    if change.urgency not in URGENCY_ORDER:
        raise ValidationFailed.one("urgency", f"{change.urgency!r}: expected A, B or C")
    if change.source not in SOURCES:
        raise ValidationFailed.one(
            "source", f"{change.source!r}: expected one of {', '.join(SOURCES)}"
        )


def _chunks(values: Sequence[str]) -> list[list[str]]:
    items = sorted(set(values))
    return [items[k : k + _CHUNK] for k in range(0, len(items), _CHUNK)]


def open_alerts(keys: Sequence[str]) -> dict[str, Alert]:
    """The open alert of each of ``keys`` that has one."""
    sess = db.session()
    out: dict[str, Alert] = {}
    for part in _chunks(keys):
        for alert in sess.scalars(
            select(Alert).where(Alert.dedup_key.in_(part), Alert.status.in_(OPEN_STATUSES))
        ):
            out[alert.dedup_key] = alert
    return out


def _recent_times(keys: set[str], since: datetime) -> dict[str, list[datetime]]:
    """Each key's latest ``FLAP_CHANGES`` raised/resolved times at or after ``since``, newest
    first (more than that is never needed to judge flapping)."""
    out: dict[str, list[datetime]] = {key: [] for key in keys}
    sess = db.session()
    for part in _chunks(list(keys)):
        ranked = (
            select(
                Alert.dedup_key.label("key"),
                AlertEvent.at.label("at"),
                func.row_number()
                .over(partition_by=Alert.dedup_key, order_by=AlertEvent.at.desc())
                .label("rank"),
            )
            .join(Alert, AlertEvent.alert_id == Alert.id)
            .where(
                Alert.dedup_key.in_(part),
                AlertEvent.kind.in_([EventKind.RAISED.value, EventKind.RESOLVED.value]),
                AlertEvent.at >= since,
            )
            .subquery()
        )
        rows = sess.execute(select(ranked.c.key, ranked.c.at).where(ranked.c.rank <= FLAP_CHANGES))
        for key, at in rows:
            out[key].append(at)
    for times in out.values():
        times.sort(reverse=True)
    return out


def _windows(
    asset_ids: set[int], room_ids: set[int], start: datetime, end: datetime
) -> list[tuple[int | None, int | None, datetime, datetime]]:
    """The maintenance windows of these assets or rooms that overlap ``[start, end]``."""
    conditions = []
    if asset_ids:
        conditions.append(MaintenanceWindow.asset_id.in_(sorted(asset_ids)))
    if room_ids:
        conditions.append(MaintenanceWindow.room_id.in_(sorted(room_ids)))
    if not conditions:
        return []
    rows = db.session().execute(
        select(
            MaintenanceWindow.asset_id,
            MaintenanceWindow.room_id,
            MaintenanceWindow.starts_at,
            MaintenanceWindow.ends_at,
        ).where(
            or_(*conditions),
            MaintenanceWindow.starts_at <= end,
            MaintenanceWindow.ends_at > start,
        )
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


class _Batch:
    """One list of changes: what they need read up front, then each applied in order."""

    def __init__(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if isinstance(change, Raise):
                check(change)
        now = db.utcnow()
        self.changes = [(change, change.at or now) for change in changes]
        keys = {change.dedup_key for change in changes}
        self.open = open_alerts(list(keys))
        cleared = {change.dedup_key for change in changes if isinstance(change, Clear)}
        # conditions that may open a new alert or close one: their flapping is judged
        moving = {
            key for key in keys if key not in self.open or self.open[key].flapping or key in cleared
        }
        self.last: dict[str, Alert] = {}  # each condition's alert made or closed in this list
        self.recent: dict[str, list[datetime]] = {}
        self.rooms: dict[int, int | None] = {}
        self.windows: list[tuple[int | None, int | None, datetime, datetime]] = []
        if not moving:
            return
        times = [at for _change, at in self.changes]
        self.recent = _recent_times(moving, min(times) - FLAP_WINDOW)
        opening = [
            change
            for change, _at in self.changes
            if isinstance(change, Raise) and change.dedup_key in moving
        ]
        asset_ids = {c.asset_id for c in opening if c.asset_id is not None}
        if asset_ids:
            self.rooms = registry.room_ids_of_assets(sorted(asset_ids))
        room_ids = {c.room_id or self.rooms.get(c.asset_id or 0) for c in opening}
        room_ids.discard(None)
        self.windows = _windows(asset_ids, room_ids, min(times), max(times))  # type: ignore[arg-type]

    # --- what was read, kept current -----------------------------------------------------

    def _changed(self, key: str, at: datetime) -> None:
        """A raised or resolved event of ``key`` at ``at``: kept among its newest times."""
        times = self.recent.setdefault(key, [])
        bisect.insort(times, at, key=lambda t: -t.timestamp())
        del times[FLAP_CHANGES:]

    def _changes_since(self, key: str, since: datetime) -> int:
        if key not in self.recent:  # an open, steady condition: read when first needed
            self.recent.update(_recent_times({key}, since))
        return sum(1 for t in self.recent[key] if t >= since)

    def _in_maintenance(self, asset_id: int | None, room_id: int | None, at: datetime) -> bool:
        return any(
            start <= at < end
            and (
                (asset_id is not None and window_asset == asset_id)
                or (room_id is not None and window_room == room_id)
            )
            for window_asset, window_room, start, end in self.windows
        )

    def _room_of(self, asset_id: int | None) -> int | None:
        if asset_id is None:
            return None
        if asset_id not in self.rooms:
            self.rooms.update(registry.room_ids_of_assets([asset_id]))
        return self.rooms.get(asset_id)

    # --- the changes ---------------------------------------------------------------------

    def run(self) -> list[Alert | None]:
        return [
            self._raise(change, at) if isinstance(change, Raise) else self._clear(change, at)
            for change, at in self.changes
        ]

    def _raise(self, change: Raise, now: datetime) -> Alert:
        key, urgency, message = change.dedup_key, change.urgency, change.message
        alert = self.open.get(key)
        if alert is not None:
            alert.last_seen = max(alert.last_seen, now)
            alert.count += 1
            alert.message = message
            if URGENCY_ORDER[urgency] < URGENCY_ORDER[alert.urgency]:
                alert.urgency = urgency
                add_event(alert, EventKind.ESCALATED, now, message, notify=not alert.flapping)
            return alert

        flapping = self._changes_since(key, now - FLAP_WINDOW) + 1 >= FLAP_CHANGES
        if flapping:
            previous = self.last.get(key) or db.session().scalar(
                select(Alert)
                .where(Alert.dedup_key == key)
                .order_by(Alert.resolved_at.desc(), Alert.id.desc())
                .limit(1)
            )
            if previous is not None:
                started = not previous.flapping
                previous.status = AlertStatus.FIRING.value
                previous.flapping = True
                previous.urgency = urgency
                previous.message = message
                previous.last_seen = now
                previous.count += 1
                previous.resolved_at = previous.resolved_by = None
                previous.resolution_note = ""
                add_event(previous, EventKind.RAISED, now, message, notify=False)
                if started:
                    add_event(previous, EventKind.FLAPPING, now, message, notify=True)
                self._opened(key, previous, now)
                return previous

        room_id = change.room_id or self._room_of(change.asset_id)
        alert = Alert(
            dedup_key=key,
            source=change.source,
            rule=change.rule,
            urgency=urgency,
            message=message,
            status=AlertStatus.FIRING.value,
            asset_id=change.asset_id,
            room_id=room_id,
            first_seen=now,
            last_seen=now,
            count=1,
            silenced=self._in_maintenance(change.asset_id, room_id, now),
        )
        db.session().add(alert)
        add_event(alert, EventKind.SILENCED if alert.silenced else EventKind.RAISED, now, message)
        self._opened(key, alert, now, counts=not alert.silenced)
        return alert

    def _opened(self, key: str, alert: Alert, at: datetime, counts: bool = True) -> None:
        """``key`` opened (``counts``: with a ``raised`` event, one of its changes)."""
        self.open[key] = alert
        self.last[key] = alert
        if counts:
            self._changed(key, at)

    def _clear(self, change: Clear, now: datetime) -> Alert | None:
        key = change.dedup_key
        alert = self.open.pop(key, None)
        if alert is None:
            return None
        note = change.note or "auto"
        alert.status = AlertStatus.RESOLVED.value
        alert.resolved_at = now
        alert.resolved_by = actor()
        alert.resolution_note = note
        add_event(alert, EventKind.RESOLVED, now, note, notify=not alert.flapping)
        self.last[key] = alert
        self._changed(key, now)
        if alert.flapping and self._changes_since(key, now - FLAP_WINDOW) < FLAP_CHANGES:
            alert.flapping = False
        return alert


def apply(changes: Sequence[Change]) -> list[Alert | None]:
    """Apply ``changes`` in order (see the module): for each, the alert it raised, updated or
    resolved (``None``: a clear of a condition with no open alert). Nothing is flushed here."""
    if not changes:
        return []
    return _Batch(changes).run()
