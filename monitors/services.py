"""Changes to monitors made by people (the poller's bookkeeping lives in ``monitors.poller``).

Every change goes through the ``Audited`` mixin (the audit log records it; the secret only as
changed, never its value). Deleting a monitor keeps its readings: they belong to the asset (its
history, the reports and the charts), and their ``monitor_id`` becomes NULL. A monitor disabled
or deleted settles the alerts only it kept open (:func:`settle_alerts`).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from monitors import kinds
from monitors.models import (
    DEFAULT_INTERVAL_S,
    CounterState,
    Monitor,
    MonitorState,
    Reading,
    StatementState,
)
from opskit import db
from opskit.alerts import services as alerts
from opskit.db import utcnow
from opskit.validation import ValidationFailed

#: who may add, change and delete monitors (the pages and the API alike)
MANAGE_ROLES = ("admin", "engineer")


def may_manage(role: str) -> bool:
    """Whether a user of ``role`` may add, change and delete monitors."""
    return role in MANAGE_ROLES


def target(kind: str, settings: dict[str, Any]) -> tuple[Any, ...]:
    """What a monitor of ``kind`` checks: two monitors of one asset with the same target are
    the same monitor (``MonitorKind.target``; the host kind: this machine, one per asset)."""
    return kinds.of(kind).target(settings)


def find_same(
    asset_id: int, kind: str, settings: dict[str, Any], exclude_id: int | None = None
) -> Monitor | None:
    """An existing monitor of the asset checking the same target (see ``target``)."""
    wanted = target(kind, settings)
    for m in db.session().scalars(
        select(Monitor).where(Monitor.asset_id == asset_id, Monitor.kind == kind)
    ):
        if m.id != exclude_id and target(kind, m.settings) == wanted:
            return m
    return None


def _check_interval(interval_s: int | str) -> int:
    """The interval in seconds, from a number or the form's text."""
    try:
        value = int(interval_s)
    except (TypeError, ValueError):
        value = 0
    if not 5 <= value <= 86400:
        raise ValidationFailed.one(
            "interval_s", _("Expected a whole number of seconds from 5 to 86400.")
        )
    return value


def secret_problems(kind: str, settings: dict[str, Any], secret: dict[str, Any]) -> dict[str, str]:
    """Credentials the settings need but ``secret`` lacks, by form field."""
    return kinds.of(kind).secret_problems(settings, secret)


def _duplicate(kind: str, other: Monitor) -> ValidationFailed:
    return ValidationFailed.one(
        kinds.of(kind).target_field,
        _(
            "Another monitor of this asset already checks this (monitor #%(id)d).",
            id=other.id,
        ),
    )


def add_monitor(
    asset_id: int,
    kind: str,
    settings: dict[str, Any],
    secret: dict[str, Any] | None = None,
    interval_s: int | str = DEFAULT_INTERVAL_S,
    name: str = "",
) -> tuple[Monitor, bool]:
    """Add a monitor to an asset: (monitor, created). The same target again is not duplicated.

    ``settings`` are validated by the kind (``ValidationFailed`` keyed by field); ``secret``
    (community or v3 keys) is stored encrypted as JSON text.
    """
    if kinds.get(kind) is None:
        raise ValidationFailed.one("kind", f"unknown monitor kind {kind!r}")
    cleaned = kinds.validate(kind, settings)
    interval = _check_interval(interval_s)
    existing = find_same(asset_id, kind, cleaned)
    if existing is not None:
        return existing, False
    monitor = Monitor(
        asset_id=asset_id,
        kind=kind,
        name=name,
        settings=cleaned,
        secret=json.dumps(secret) if secret else None,
        interval_s=interval,
    )
    db.session().add(monitor)
    db.session().flush()
    return monitor, True


def stored_secret(monitor: Monitor) -> dict[str, Any]:
    try:
        return json.loads(monitor.secret) if monitor.secret else {}
    except ValueError:
        return {}


def update_monitor(
    monitor: Monitor,
    settings: dict[str, Any],
    interval_s: int | str,
    enabled: bool,
    new_secret: dict[str, str] | None = None,
    name: str | None = None,
) -> Monitor:
    """Change a monitor's settings, interval, enabled flag and (optionally) credentials.

    ``new_secret`` holds only the credentials typed now: a blank or missing one keeps the stored
    value. All problems come back together as one ``ValidationFailed`` keyed by form field; on
    failure nothing changes. A changed target starts the traffic counters (and a database's
    statement counters) afresh, and a changed or re-enabled monitor is due at once.
    """
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    try:
        cleaned = kinds.validate(monitor.kind, settings)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    interval = monitor.interval_s
    try:
        interval = _check_interval(interval_s)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    secret = stored_secret(monitor)
    secret.update({k: v for k, v in (new_secret or {}).items() if v})
    if not errors:
        secret = kinds.of(monitor.kind).kept_secret(cleaned, secret)  # the keys still used
        errors.update({k: [v] for k, v in secret_problems(monitor.kind, cleaned, secret).items()})
        other = find_same(monitor.asset_id, monitor.kind, cleaned, exclude_id=monitor.id)
        if other is not None:
            errors.update(_duplicate(monitor.kind, other).errors)
    if errors:
        raise ValidationFailed(errors)
    changed = cleaned != monitor.settings or interval != monitor.interval_s
    if target(monitor.kind, cleaned) != target(monitor.kind, monitor.settings):
        db.session().execute(delete(CounterState).where(CounterState.monitor_id == monitor.id))
        # and a database's statement counters: another server's are not comparable
        db.session().execute(delete(StatementState).where(StatementState.monitor_id == monitor.id))
    stored = json.dumps(secret) if secret else None
    if stored != monitor.secret and stored_secret(monitor) != secret:
        monitor.secret = stored
        changed = True
    if enabled and not monitor.enabled:
        changed = True
    stopping = monitor.enabled and not enabled
    monitor.settings = cleaned
    monitor.interval_s = interval
    monitor.enabled = bool(enabled)
    if name is not None:
        monitor.name = name
    if changed and monitor.enabled:
        monitor.next_due_at = utcnow()
    db.session().flush()
    if stopping:
        settle_alerts(monitor.asset_id, monitor.id, disabled_reason(monitor))
    return monitor


def set_enabled(monitor: Monitor, enabled: bool) -> bool:
    """Enable or disable a monitor; True when that changed something. A disabled monitor is not
    polled and left out of the up/down counts; enabled again, it is due at once."""
    if monitor.enabled == enabled:
        return False
    monitor.enabled = enabled
    if enabled:
        monitor.next_due_at = utcnow()
    db.session().flush()
    if not enabled:
        settle_alerts(monitor.asset_id, monitor.id, disabled_reason(monitor))
    return True


def delete_monitor(monitor: Monitor) -> None:
    """Delete a monitor with its state changes and counters; its readings stay with the asset.
    Alerts it was keeping open are settled first (:func:`settle_alerts`), while its readings
    still name it."""
    asset_id, monitor_id = monitor.asset_id, monitor.id
    settle_alerts(asset_id, monitor_id, _("monitor deleted: %(name)s", name=called(monitor)))
    db.session().delete(monitor)
    db.session().flush()


def called(monitor: Monitor) -> str:
    """The monitor as people name it: its name, else its kind and target (``Ping 192.0.2.1``)."""
    if monitor.name:
        return monitor.name
    impl = kinds.of(monitor.kind)
    label = impl.label if monitor.kind in kinds.KINDS else monitor.kind
    return f"{label} {impl.describe(monitor.settings or {})}".strip()


def disabled_reason(monitor: Monitor) -> str:
    return _("monitor disabled: %(name)s", name=called(monitor))


#: how far back from a metric's newest reading its suppliers are looked for: twice the longest
#: interval (one day), so a monitor that reports it is seen whatever its interval
STILL_REPORTED = timedelta(days=2)


def only_supplied_by(asset_id: int, monitor_id: int, others: list[int]) -> list[tuple[str, str]]:
    """The ``(metric, instance)`` pairs of the asset held by an alert rule (above ok, or
    pending) that only monitor ``monitor_id`` supplied: it stored readings of the pair in the
    ``STILL_REPORTED`` before the pair's newest reading, and none of the ``others`` (the
    asset's other enabled monitors) did. Index range probes on
    ``ix_reading_asset_metric_instance_at`` per held pair, never a scan of a monitor's history.
    """
    sess = db.session()

    def supplied(where: tuple[Any, ...], monitors: list[int]) -> bool:
        found = select(Reading.id).where(*where, Reading.monitor_id.in_(monitors)).limit(1)
        return sess.scalar(found) is not None

    out = []
    for metric, instance in alerts.held_readings(asset_id):
        same = (
            Reading.asset_id == asset_id,
            Reading.metric == metric,
            Reading.instance == instance,
        )
        newest: datetime | None = sess.scalar(select(func.max(Reading.at)).where(*same))
        if newest is None:
            continue
        recent = (*same, Reading.at >= newest - STILL_REPORTED)
        if not supplied(recent, [monitor_id]):
            continue  # not this monitor's reading: another (or a deleted one) supplied it
        if others and supplied(recent, others):
            continue  # another enabled monitor reports it too: it keeps judging the rule
        out.append((metric, instance))
    return out


def settle_alerts(asset_id: int, stopped_id: int, reason: str) -> None:
    """A monitor of the asset stopped (disabled or deleted): nothing polls it any more, so

    - the alerts of the metrics only it supplied (``only_supplied_by``: UPS load high, a
      temperature too high ...) are resolved: nothing would ever judge them again;
    - the asset's "unreachable" alert is resolved unless another enabled monitor of the asset
      is down, and its "data stale" alert too when no enabled monitor is left (otherwise the
      poller judges the data's age on its next poll).

    ``reason`` (in words, with the monitor's name) is the note of each resolution."""
    others = (
        db.session()
        .execute(
            select(Monitor.id, Monitor.state).where(
                Monitor.asset_id == asset_id, Monitor.enabled.is_(True), Monitor.id != stopped_id
            )
        )
        .all()
    )
    alerts.monitor_stopped(
        asset_id,
        any(state == MonitorState.DOWN for _id, state in others),
        bool(others),
        utcnow(),
        reason,
        only_supplied_by(asset_id, stopped_id, [other_id for other_id, _state in others]),
    )
