"""Notification worker: alert events → deliveries per channel → attempts with retry.

Two small steps, each safe to run from several processes at once (work is claimed with
``UPDATE ... WHERE`` and a row-count check, as healthchecks' sendalerts does):

1. ``fan_out``: claim unprocessed ``AlertEvent`` rows; for each event that should notify, make
   one ``Delivery`` per enabled channel routed for its urgency and, if the channel names
   sites, for the alert's site. A level-2 (5x8) event outside working hours is due at the
   start of the next working period (channels may opt out); an escalation to A/B is level 1
   and goes out at once.
2. ``send_due``: send each due delivery through its transport; every attempt is recorded; a
   transient failure retries with backoff, a permanent one fails the delivery and is shown on
   the channel (``last_error``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from assets import queries as registry
from opskit import db
from opskit.alerts import transports
from opskit.alerts.models import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    Delivery,
    DeliveryAttempt,
    EventKind,
    NotificationChannel,
)
from opskit.alerts.queries import CLOCK_DONE, current_policy
from opskit.alerts.transports import Message, TransportError
from opskit.alerts.wording import alert_messages, rule_titles, source_text
from opskit.sla import CLOCKS, clock_state

clocks_kinds = ("sla_warning", "sla_breached")  # their note is the clock's name, not text

BACKOFF = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
)
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=2)  # a claimed delivery is not picked by another worker meanwhile


def _due_at(event: AlertEvent, channel: NotificationChannel, now: datetime) -> datetime:
    policy = current_policy()
    level = policy.level_for(event.urgency)
    if level.hours != "working" or not channel.hold_outside_hours:
        return now
    start, _end = next(policy.calendar.periods_from(now))
    return max(start, now)


def watch_clocks(now: datetime | None = None) -> int:
    """Record an event when an open alert's clock passes its warning share or its deadline.

    Each (alert, clock, kind) is recorded once; the events notify like any other, so the team
    hears about an on-site deadline before it is missed, not after.
    """
    now = now or db.utcnow()
    sess = db.session()
    policy = current_policy()
    alerts = sess.scalars(
        select(Alert).where(Alert.status.in_(OPEN_STATUSES), Alert.silenced.is_(False))
    ).all()
    if not alerts:
        return 0
    seen = set(
        sess.execute(
            select(AlertEvent.alert_id, AlertEvent.kind, AlertEvent.note).where(
                AlertEvent.alert_id.in_([a.id for a in alerts]),
                AlertEvent.kind.in_([EventKind.SLA_WARNING.value, EventKind.SLA_BREACHED.value]),
            )
        ).all()
    )
    made = 0
    for alert in alerts:
        for clock in CLOCKS:
            if getattr(alert, CLOCK_DONE[clock]) is not None:
                continue
            state = clock_state(policy, alert.urgency, clock, alert.first_seen, None, now)
            reached = {
                EventKind.SLA_WARNING: state.state in ("warning", "breached"),
                EventKind.SLA_BREACHED: state.state == "breached",
            }
            for kind, hit in reached.items():
                if hit and (alert.id, kind.value, clock) not in seen:
                    sess.add(
                        AlertEvent(
                            alert=alert,
                            kind=kind.value,
                            at=now,
                            actor="sla",
                            note=clock,
                            urgency=alert.urgency,
                            notify=not alert.flapping,
                        )
                    )
                    made += 1
    sess.commit()
    return made


def _site_of(alert: Alert) -> int | None:
    return registry.site_id_of_room(alert.room_id)


def fan_out(now: datetime | None = None, batch: int = 500) -> int:
    """Turn new notifying events into deliveries; returns how many deliveries were made."""
    now = now or db.utcnow()
    sess = db.session()
    ids = sess.scalars(
        select(AlertEvent.id)
        .where(AlertEvent.processed_at.is_(None))
        .order_by(AlertEvent.id)
        .limit(batch)
    ).all()
    channels = sess.scalars(select(NotificationChannel).where(NotificationChannel.enabled)).all()
    made = 0
    for event_id in ids:
        claimed = sess.execute(
            update(AlertEvent)
            .where(AlertEvent.id == event_id, AlertEvent.processed_at.is_(None))
            .values(processed_at=now)
        )
        if db.rowcount(claimed) != 1:  # another worker took it
            continue
        event = sess.get(AlertEvent, event_id)
        if event is None or not event.notify:
            continue
        site_id = _site_of(event.alert)
        for channel in channels:
            sites = (channel.settings or {}).get("sites") or []
            if sites and site_id not in sites:
                continue  # routed to other sites only
            if event.urgency in channel.urgencies:
                sess.add(
                    Delivery(
                        event_id=event.id,
                        channel_id=channel.id,
                        status="pending",
                        next_attempt_at=_due_at(event, channel, now),
                    )
                )
                made += 1
        sess.commit()
    sess.commit()
    return made


def render(event: AlertEvent) -> Message:
    """The message for an event, in the site's default language (the alert's message too, as
    the alert pages say it; the payload keeps the stored message)."""
    alert: Alert = event.alert
    tz = current_policy().calendar.tz
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        kinds = {
            "raised": _("new alert"),
            "escalated": _("escalated"),
            "acknowledged": _("acknowledged"),
            "resolved": _("resolved"),
            "flapping": _("flapping (further changes are not notified)"),
            "silenced": _("raised during maintenance"),
            "onsite": _("engineer on site"),
        }
        clocks = {
            "acknowledge": _("acknowledge"),
            "onsite": _("on site"),
            "resolve": _("resolve"),
        }
        if event.kind in ("sla_warning", "sla_breached"):
            clock = clocks.get(event.note, event.note)
            deadline = current_policy().deadlines(alert.urgency, alert.first_seen)
            due = deadline.get(event.note)
            due_text = due.astimezone(tz).strftime("%Y-%m-%d %H:%M") if due else ""
            if event.kind == "sla_warning":
                kinds["sla_warning"] = _(
                    "%(clock)s deadline %(due)s is near", clock=clock, due=due_text
                )
            else:
                kinds["sla_breached"] = _(
                    "%(clock)s deadline %(due)s missed", clock=clock, due=due_text
                )
        what = kinds.get(event.kind, event.kind)
        when = event.at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
        message = alert_messages([alert])[alert.id]  # what opskit wrote, in this language
        title = f"[{event.urgency}] {message}"
        lines = [
            f"### [{event.urgency}] {message}",
            f"- {_('Change')}: {what}",
            f"- {_('Time')}: {when}",
            # the source as a word and the rule by its title, as on the alert pages
            f"- {_('Source')}: {source_text(alert.source, alert.rule, rule_titles([alert.rule]))}",
        ]
        if event.note and event.note != alert.message and event.kind not in clocks_kinds:
            lines.append(f"- {_('Note')}: {event.note}")
    payload = {
        "alert_id": alert.id,
        "event": event.kind,
        "urgency": event.urgency,
        "status": alert.status,
        "source": alert.source,
        "rule": alert.rule,
        "message": alert.message,
        "asset_id": alert.asset_id,
        "room_id": alert.room_id,
        "at": event.at.isoformat(),
    }
    return Message(title=title, text="\n".join(lines), urgency=event.urgency, payload=payload)


def _claim(delivery_id: int, now: datetime) -> bool:
    result = db.session().execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE)
    )
    db.session().commit()
    return db.rowcount(result) == 1


def send_due(now: datetime | None = None, batch: int = 100) -> int:
    """Attempt every due delivery once; returns how many were sent successfully."""
    now = now or db.utcnow()
    sess = db.session()
    ids = sess.scalars(
        select(Delivery.id)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(batch)
    ).all()
    sent = 0
    for delivery_id in ids:
        if not _claim(delivery_id, now):
            continue
        delivery = sess.get(Delivery, delivery_id)
        assert delivery is not None
        channel = delivery.channel
        transport = transports.of(channel.kind)
        delivery.attempts += 1
        try:
            transport.send(dict(channel.settings or {}), channel.secret, render(delivery.event))
        except TransportError as exc:
            permanent = not exc.retry or delivery.attempts >= MAX_ATTEMPTS
            delivery.attempt_log.append(
                DeliveryAttempt(at=now, ok=False, error=str(exc), permanent=permanent)
            )
            delivery.last_error = str(exc)
            if permanent:
                delivery.status = "failed"
                channel.last_error = str(exc)
                channel.last_error_at = now
            else:
                delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
        else:
            delivery.attempt_log.append(DeliveryAttempt(at=now, ok=True))
            delivery.status = "sent"
            delivery.sent_at = now
            sent += 1
        sess.commit()
    return sent


def run_once(now: datetime | None = None) -> tuple[int, int]:
    now = now or db.utcnow()
    watch_clocks(now)
    return fan_out(now), send_due(now)
