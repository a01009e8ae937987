"""Logbook writes: record and correct a visit or a power event, sign a visitor out (flush; the
caller commits once, through ``opskit.db.write`` in the views).

A form carries a client token (a random id made when the form is shown); a second submission
with the same token returns the first row instead of writing another (``Duplicate``), so a
double tap or a retried request on a bad Wi-Fi never records a visit twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from assets import queries as assets
from inspections.logbook.models import POWER_ACTIONS, AccessEntry, PowerEvent
from opskit import db
from opskit.db import utcnow
from opskit.models import User
from opskit.validation import ValidationFailed

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


MAX_FUTURE = timedelta(minutes=10)  # a clock a little ahead on the tablet is not an error


class Duplicate(Exception):
    """The form was already submitted with this token; ``row`` is what the first one wrote."""

    def __init__(self, row: AccessEntry | PowerEvent) -> None:
        super().__init__(row.id)
        self.row = row


def _text(
    values: Mapping[str, Any], key: str, limit: int, errors: dict[str, list[str]], required: bool
) -> str:
    value = str(values.get(key) or "").strip()
    if required and not value:
        errors[key] = [_("Required.")]
    elif len(value) > limit:
        errors[key] = [
            _("At most %(limit)s characters (got %(count)s).", limit=limit, count=len(value))
        ]
    return value


def parse_local(text: str, tz: ZoneInfo) -> datetime:
    """A local date-time as typed in a form (``2026-11-26T09:30`` or ``2026-11-26 09:30``)."""
    text = text.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz).astimezone(UTC)
        except ValueError:
            continue
    raise ValueError(text)


def _when(
    values: Mapping[str, Any],
    key: str,
    tz: ZoneInfo,
    errors: dict[str, list[str]],
    now: datetime,
    default: datetime | None = None,
) -> datetime | None:
    """The time in ``values[key]`` (local); left empty: ``default``, else now."""
    raw = str(values.get(key) or "").strip()
    if not raw:
        return default or now
    try:
        when = parse_local(raw, tz)
    except ValueError:
        errors[key] = [
            _("Expected a date and time like 2026-11-26 09:30, got “%(value)s”.", value=raw[:40])
        ]
        return None
    if when > now + MAX_FUTURE:
        errors[key] = [_("This time is in the future.")]
        return None
    return when


def _token(values: Mapping[str, Any]) -> str | None:
    token = str(values.get("client_token") or "").strip()
    return token if TOKEN_RE.match(token) else None


def _existing(model: type[AccessEntry] | type[PowerEvent], token: str | None) -> Any:
    if token is None:
        return None
    return db.session().scalar(select(model).where(model.client_token == token))


def _room(values: Mapping[str, Any], errors: dict[str, list[str]]) -> Any:
    raw = str(values.get("room_id") or "").strip()
    room = assets.get_place("room", int(raw)) if raw.isdigit() else None
    if room is None:
        errors["room_id"] = [_("Choose the room.")]
    return room


def _entry_fields(
    values: Mapping[str, Any], tz: ZoneInfo, now: datetime, entry: AccessEntry | None = None
) -> dict[str, Any]:
    """Checked columns of a visit from form ``values`` (``entry``: the visit being corrected)."""
    errors: dict[str, list[str]] = {}
    room = _room(values, errors)
    fields: dict[str, Any] = {
        "name": _text(values, "name", 100, errors, required=True),
        "organisation": _text(values, "organisation", 200, errors, required=False),
        "purpose": _text(values, "purpose", 2000, errors, required=True),
        "escort": _text(values, "escort", 100, errors, required=False),
    }
    id_number = re.sub(r"\s+", "", str(values.get("id_number") or "")).upper()
    if id_number and not re.fullmatch(r"[0-9A-Z-]{4,32}", id_number):
        errors["id_number"] = [_("Expected 4–32 letters or digits (e.g. an ID-card number).")]
    if id_number:
        fields["id_number"] = id_number
    elif entry is None or values.get("clear_id_number"):
        fields["id_number"] = None  # on a correction, empty keeps the stored number
    in_at = _when(values, "in_at", tz, errors, now, entry.in_at if entry else None)
    out_at = None
    if str(values.get("out_at") or "").strip():
        out_at = _when(values, "out_at", tz, errors, now)
        if out_at is not None and in_at is not None and out_at < in_at:
            errors["out_at"] = [_("The time out is before the time in.")]
    if errors:
        raise ValidationFailed(errors)
    assert room is not None
    fields.update(room_id=room.id, in_at=in_at, out_at=out_at)
    return fields


def record_entry(
    values: Mapping[str, Any], tz: ZoneInfo, user: User | None = None, now: datetime | None = None
) -> AccessEntry:
    """Record a person entering a room (flushes; the caller commits).

    ``values``: room_id, name, organisation, purpose, escort, id_number (optional), in_at
    (local time, empty = now), out_at (optional, for writing up a past visit), client_token.
    Raises ``ValidationFailed`` keyed by those names, or ``Duplicate``.
    """
    now = now or utcnow()
    token = _token(values)
    found = _existing(AccessEntry, token)
    if found is not None:
        raise Duplicate(found)
    fields = _entry_fields(values, tz, now)
    entry = AccessEntry(**fields, recorded_by_id=user.id if user else None, client_token=token)
    _add_once(entry, AccessEntry, token)
    return entry


def correct_entry(
    entry: AccessEntry, values: Mapping[str, Any], tz: ZoneInfo, now: datetime | None = None
) -> AccessEntry:
    """Correct a visit (the audit log keeps what it was). Empty ``id_number`` keeps the stored
    one unless ``clear_id_number`` is set; empty ``out_at`` means still inside."""
    fields = _entry_fields(values, tz, now or utcnow(), entry)
    for key, value in fields.items():
        setattr(entry, key, value)
    db.session().flush()
    return entry


def sign_out(entry: AccessEntry, when: datetime | None = None) -> bool:
    """Set the time out (now); a second sign-out keeps the first time. Returns if it changed."""
    if entry.out_at is not None:
        return False
    when = when or utcnow()
    entry.out_at = max(when, entry.in_at)
    db.session().flush()
    return True


def _power_fields(
    values: Mapping[str, Any],
    tz: ZoneInfo,
    user: User | None,
    now: datetime,
    event: PowerEvent | None = None,
) -> dict[str, Any]:
    """Checked columns of a power event from form ``values`` (``event``: the one corrected)."""
    errors: dict[str, list[str]] = {}
    tag = str(values.get("asset_tag") or "").strip()
    asset = None
    if not tag:
        errors["asset_tag"] = [_("Scan or type the asset tag.")]
    else:
        asset = assets.asset_by_tag(tag)
        if asset is None:
            errors["asset_tag"] = [_("No asset has the tag “%(tag)s”.", tag=tag[:64])]
    action = str(values.get("action") or "")
    if action not in POWER_ACTIONS:
        errors["action"] = [_("Choose power on, power off or restart.")]
    reason = _text(values, "reason", 2000, errors, required=True)
    change_ref = _text(values, "change_ref", 64, errors, required=False)
    performed_by = _text(values, "performed_by", 100, errors, required=False)
    if not performed_by and user is not None:
        performed_by = user.display_name or user.username
    if not performed_by and "performed_by" not in errors:
        errors["performed_by"] = [_("Required.")]
    occurred_at = _when(
        values, "occurred_at", tz, errors, now, event.occurred_at if event else None
    )
    if errors:
        raise ValidationFailed(errors)
    assert asset is not None
    return {
        "asset_id": asset.id,
        "action": action,
        "reason": reason,
        "change_ref": change_ref,
        "performed_by": performed_by,
        "occurred_at": occurred_at,
    }


def record_power(
    values: Mapping[str, Any], tz: ZoneInfo, user: User | None = None, now: datetime | None = None
) -> PowerEvent:
    """Record an asset powered on/off/restarted (flushes; the caller commits).

    ``values``: asset_tag (scanned or typed), action (on/off/restart), reason, change_ref,
    performed_by (empty = the user's name), occurred_at (local, empty = now), client_token.
    """
    now = now or utcnow()
    token = _token(values)
    found = _existing(PowerEvent, token)
    if found is not None:
        raise Duplicate(found)
    fields = _power_fields(values, tz, user, now)
    event = PowerEvent(**fields, recorded_by_id=user.id if user else None, client_token=token)
    _add_once(event, PowerEvent, token)
    return event


def correct_power(
    event: PowerEvent,
    values: Mapping[str, Any],
    tz: ZoneInfo,
    user: User | None = None,
    now: datetime | None = None,
) -> PowerEvent:
    """Correct a power event (the audit log keeps what it was)."""
    fields = _power_fields(values, tz, user, now or utcnow(), event)
    for key, value in fields.items():
        setattr(event, key, value)
    event.asset = assets.get_asset(fields["asset_id"])
    db.session().flush()
    return event


def _add_once(row: AccessEntry | PowerEvent, model: Any, token: str | None) -> None:
    """Insert ``row``; a concurrent submission of the same token that got in first wins.

    Two retries of one form can pass the look-up above at the same moment; the unique token
    lets one insert through and the other ends here as ``Duplicate`` (its transaction rolled
    back), never as a second row or an error page.
    """
    sess = db.session()
    sess.add(row)
    try:
        sess.flush()
    except IntegrityError:
        sess.rollback()
        found = _existing(model, token)
        if found is None:
            raise
        raise Duplicate(found) from None
