"""The one door through which monitors, patrol findings and registry reminders raise alerts.

- ``raise_alert`` opens an alert or, if the same condition (``dedup_key``) is already open,
  updates it (count, last seen, worse urgency). Raised inside a maintenance window of the asset
  or its room, the alert is recorded silenced (no notification).
- ``clear_alert`` resolves the open alert of a condition automatically when it clears.
- A condition that changed state ``FLAP_CHANGES`` times within ``FLAP_WINDOW`` is flapping:
  its alert is reopened instead of a new one being made, and its changes stop notifying.
  Both are :mod:`opskit.alerts.conditions` (``apply``: many changes at once, the same meaning).
- ``send_notice`` tells the team, through the same channels, about a condition another part of
  the desk tracks with clocks of its own (a service request's SLA warning or breach).
- ``acknowledge``, ``record_onsite`` and ``resolve`` are the engineer's steps. Each writes the
  alert's row only while the step is still open there (``UPDATE ... WHERE``, row count checked),
  so a retried POST or two engineers at once record it, and its event, once.
- ``comment`` adds a remark to the history (open or resolved alert); the same text again by the
  same person right after it is a retry and writes nothing.
Every change of status is an ``AlertEvent`` row. Callers own the transaction (they commit).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from assets import queries as registry
from opskit import db
from opskit.alerts import conditions
from opskit.alerts.conditions import Change as Change  # re-exported: the writers use them
from opskit.alerts.conditions import Clear as Clear
from opskit.alerts.conditions import Raise as Raise
from opskit.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertStatus,
    EventKind,
    MaintenanceWindow,
)
from opskit.validation import ValidationFailed

#: what each source is called on the pages and in the reports
SOURCE_LABELS = {
    "monitor": _l("Monitoring"),
    "patrol": _l("Patrol"),
    "registry": _l("Registry"),
    "manual": _l("Manual"),
    "vulns": _l("Vulnerability scan"),  # a new critical/high finding on a core asset (#20)
    # the desk's notices of a request's SLA warning or breach (``send_notice``), never alerts
    "servicedesk": _l("Service desk notice"),
}

#: the resolution note of a notice (``send_notice``): an alert that was only a message
NOTICE_NOTE = "notice"


_actor = conditions.actor
_event = conditions.add_event


def open_alert(dedup_key: str) -> Alert | None:
    return conditions.open_alerts([dedup_key]).get(dedup_key)


def _room_of(asset_id: int | None) -> int | None:
    if asset_id is None:
        return None
    asset = registry.get_asset(asset_id)
    return asset.room_id if asset is not None else None


#: many raises and clears in order, in a few queries (the trap and syslog writers' batches)
apply_changes = conditions.apply


def raise_alert(
    dedup_key: str,
    *,
    source: str,
    rule: str,
    urgency: str,
    message: str,
    asset_id: int | None = None,
    room_id: int | None = None,
    at: datetime | None = None,
) -> Alert:
    """Open an alert for a condition, or update the open one (deduplication); see
    :mod:`opskit.alerts.conditions` (a list of one change)."""
    change = Raise(dedup_key, source, rule, urgency, message, asset_id, room_id, at)
    alert = conditions.apply([change])[0]
    assert alert is not None
    return alert


def send_notice(
    dedup_key: str,
    *,
    source: str,
    rule: str,
    urgency: str,
    message: str,
    asset_id: int | None = None,
    room_id: int | None = None,
    at: datetime | None = None,
) -> Alert:
    """Tell the team through the notification channels about a condition another part of the
    desk tracks with clocks of its own (the service desk: a request's SLA warning or breach).

    Recorded as an alert that is over at once (resolved, the note says it was a notice) with
    one ``raised`` event that notifies: the notifier routes it by urgency and site and holds a
    5x8 level's event outside working hours like any other, but it runs no clock of its own
    (the request's clocks are the ones that count) and never waits in the open list. One
    notice per ``dedup_key``: asking again returns the first, sending nothing.
    """
    conditions.check(Raise(dedup_key, source, rule, urgency, message))
    sess = db.session()
    sent = sess.scalar(select(Alert).where(Alert.dedup_key == dedup_key).limit(1))
    if sent is not None:
        return sent
    now = at or db.utcnow()
    alert = Alert(
        dedup_key=dedup_key,
        source=source,
        rule=rule,
        urgency=urgency,
        message=message,
        status=AlertStatus.RESOLVED.value,
        asset_id=asset_id,
        room_id=room_id or _room_of(asset_id),
        first_seen=now,
        last_seen=now,
        count=1,
        resolved_at=now,
        resolved_by=_actor(),
        resolution_note=NOTICE_NOTE,
    )
    sess.add(alert)
    _event(alert, EventKind.RAISED, now, message)
    return alert


def clear_alert(dedup_key: str, at: datetime | None = None, note: str = "") -> Alert | None:
    """The condition cleared: resolve its open alert automatically (if any)."""
    return conditions.apply([Clear(dedup_key, at, note)])[0]


def _claim(alert: Alert, still_open: Any, **values: Any) -> bool:
    """Write ``values`` to the alert's row only while ``still_open`` holds there. False when
    another request (a retry, a colleague) took the step first; ``alert`` is then reloaded."""
    sess = db.session()
    sess.flush()
    result = sess.execute(
        update(Alert)
        .where(Alert.id == alert.id, still_open)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if db.rowcount(result) != 1:
        sess.refresh(alert)
        return False
    for key, value in values.items():
        set_committed_value(alert, key, value)
    return True


def acknowledge(alert: Alert, note: str = "", at: datetime | None = None) -> Alert:
    refused = _("Only a firing alert can be acknowledged.")
    if alert.status != AlertStatus.FIRING.value:
        raise ValidationFailed.one("status", refused)
    now = at or db.utcnow()
    if not _claim(
        alert,
        Alert.status == AlertStatus.FIRING.value,
        status=AlertStatus.ACKNOWLEDGED.value,
        acknowledged_at=now,
        acknowledged_by=_actor(),
    ):
        raise ValidationFailed.one("status", refused)
    _event(alert, EventKind.ACKNOWLEDGED, now, note.strip())
    return alert


def record_onsite(alert: Alert, note: str = "", at: datetime | None = None) -> Alert:
    """The engineer is on site for this alert (e.g. scanned the asset's QR label); the first
    arrival counts, a repeat changes nothing."""
    if alert.onsite_at is not None:
        return alert
    now = at or db.utcnow()
    if _claim(alert, Alert.onsite_at.is_(None), onsite_at=now, onsite_by=_actor()):
        _event(alert, EventKind.ONSITE, now, note.strip(), notify=False)
    return alert


def resolve(alert: Alert, note: str, at: datetime | None = None) -> Alert:
    already = _("The alert is already resolved.")
    if not alert.is_open:
        raise ValidationFailed.one("status", already)
    if not note.strip():
        raise ValidationFailed.one("note", _("Say what was done to resolve it."))
    now = at or db.utcnow()
    if not _claim(
        alert,
        Alert.status.in_(OPEN_STATUSES),
        status=AlertStatus.RESOLVED.value,
        resolved_at=now,
        resolved_by=_actor(),
        resolution_note=note.strip(),
    ):
        raise ValidationFailed.one("status", already)
    _event(alert, EventKind.RESOLVED, now, note.strip())
    return alert


def comment(alert: Alert, note: str, at: datetime | None = None) -> bool:
    """Add ``note`` to the alert's history (no notification). False, writing nothing, when the
    newest event already is this comment by this person (a retried request); the alert's row
    is locked first (PostgreSQL) so two retries at once add it once."""
    text = note.strip()
    if not text:
        raise ValidationFailed.one("note", _("Write the comment."))
    sess = db.session()
    sess.flush()
    sess.execute(select(Alert.id).where(Alert.id == alert.id).with_for_update())
    newest = sess.scalar(
        select(AlertEvent)
        .where(AlertEvent.alert_id == alert.id)
        .order_by(AlertEvent.id.desc())
        .limit(1)
    )
    if (
        newest is not None
        and newest.kind == EventKind.COMMENT.value
        and newest.actor == _actor()
        and newest.note == text
    ):
        return False
    _event(alert, EventKind.COMMENT, at or db.utcnow(), text, notify=False)
    return True


def add_maintenance(
    starts_at: datetime,
    ends_at: datetime,
    *,
    asset_id: int | None = None,
    room_id: int | None = None,
    reason: str = "",
) -> MaintenanceWindow:
    errors: dict[str, list[str]] = {}
    if ends_at <= starts_at:
        errors["ends_at"] = [_("The window must end after it starts.")]
    if asset_id is None and room_id is None:
        errors["asset_id"] = [_("Choose an asset or a room.")]
    if errors:
        raise ValidationFailed(errors)
    window = MaintenanceWindow(
        asset_id=asset_id,
        room_id=room_id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip(),
        created_by=_actor(),
    )
    db.session().add(window)
    return window


def end_maintenance(window_id: int, at: datetime | None = None) -> MaintenanceWindow | None:
    """End a maintenance window now (``at``): alerts raised after it are no longer silenced.
    A window already over is left as it was; returns it (``None``: no such window)."""
    window = db.session().get(MaintenanceWindow, window_id)
    now = at or db.utcnow()
    if window is not None and window.ends_at > now:
        window.ends_at = max(now, window.starts_at + timedelta(seconds=1))
        db.session().flush()
    return window


# --- the monitors' door to the alert rules (``opskit.alerts.rules``) --------------------------


def judge_poll(
    asset_id: int,
    readings: Iterable[tuple[str, Any, str, str]],
    up: bool | None,
    reason: str,
    last_reading_at: datetime | None,
    now: datetime,
) -> list[Alert]:
    """One poll of one monitor of ``asset_id`` against the site's alert rules: its readings
    ``(metric, value, instance, unit)``, the device ``up`` or down (``None``: unknown) and why,
    and when the asset last stored a reading. The asset's rule states are read in one query."""
    from opskit.alerts import rules  # lazy: a real cycle, rules raises through this module

    return rules.judge_poll(asset_id, readings, up, reason, last_reading_at, now)


def held_readings(asset_id: int) -> list[tuple[str, str]]:
    """The ``(metric, instance)`` pairs of ``asset_id`` an alert rule judging readings holds
    above ok or is about to raise: what a stopping monitor may leave behind."""
    from opskit.alerts import rules  # lazy: a real cycle, rules raises through this module

    return rules.held_readings(asset_id)


def monitor_stopped(
    asset_id: int,
    others_down: bool,
    others_left: bool,
    at: datetime,
    reason: str,
    readings: Iterable[tuple[str, str]] = (),
) -> list[Alert]:
    """A monitor of ``asset_id`` stopped (disabled or deleted): unless another enabled monitor
    of the asset is down, its unreachable alert clears; with none left, its stale alert too.
    ``readings``: the ``(metric, instance)`` pairs only that monitor supplied; the rules judging
    them go back to ok and their open alerts (UPS load high, temperature high ...) resolve,
    ``reason`` (in words: "monitor disabled: UPS-1 SNMP") on the event."""
    from opskit.alerts import rules  # lazy: a real cycle, rules raises through this module

    changed = rules.readings_stopped(asset_id, readings, at, reason)
    if not others_down:
        changed += rules.device_status(asset_id, True, at, reason)
    if not others_left:
        changed += rules.data_age(asset_id, at, at)
    return changed


def load_rules() -> int:
    """Read the site's alert rules now (a poller process warming up); how many there are."""
    from opskit.alerts import rules  # lazy: a real cycle, rules raises through this module

    return len(rules.site_rules())
