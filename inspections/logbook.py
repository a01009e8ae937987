"""The machine-room logbook: who entered and left the room, and which devices were powered off/on.

Two paper books of every Chinese machine room, kept as rows:

- ``AccessEntry`` (出入登记): a person (name, organisation, purpose, escorting staff) entering
  a room at ``in_at`` and leaving at ``out_at`` (empty while still inside). The ID-card number
  is optional, stored encrypted and only ever shown masked (last four characters): the book
  must not become a list of ID numbers.
- ``PowerEvent`` (上下电登记): an asset powered on, off or restarted, why, under which change
  ticket, by whom and when.

Both are written through the functions below (the views, the CLI and tests use them; ``write``
runs one in a committed write transaction). A form
carries a client token (a random id made when the form is shown); a second submission with the
same token returns the first row instead of writing another (``Duplicate``), so a double tap
or a retried request on a bad Wi-Fi never records a visit twice.

Read surface for other domains (dashboard, reports): ``latest_entries()`` and
``logbook_counts()`` at the end of this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import CheckConstraint, ForeignKey, Select, String, Text, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from assets.models import Asset, Room, Site
from opskit import db
from opskit.crypto import EncryptedText
from opskit.db import Base, Page, utcnow
from opskit.models import Audited, User
from opskit.people import full_name
from opskit.validation import ValidationFailed

POWER_ACTIONS = ("on", "off", "restart")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_FUTURE = timedelta(minutes=10)  # a clock a little ahead on the tablet is not an error


class AccessEntry(Audited, Base):
    """One visit to a machine room: in at ``in_at``, out at ``out_at`` (None: still inside)."""

    __tablename__ = "access_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("room.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    escort: Mapped[str] = mapped_column(String(100), default="")
    id_number: Mapped[str | None] = mapped_column(EncryptedText, info={"secret": True})
    in_at: Mapped[datetime] = mapped_column(index=True)
    out_at: Mapped[datetime | None]
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    room: Mapped[Room] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    @property
    def id_masked(self) -> str:
        return mask_id(self.id_number)

    @property
    def audit_label(self) -> str:
        return self.name


class PowerEvent(Audited, Base):
    """An asset powered on, off or restarted (``action``), with reason and change reference."""

    __tablename__ = "power_event"
    __table_args__ = (CheckConstraint("action IN ('on', 'off', 'restart')", name="action_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="RESTRICT"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    change_ref: Mapped[str] = mapped_column(String(64), default="")
    performed_by: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    client_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    asset: Mapped[Asset] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    @property
    def audit_label(self) -> str:
        return f"{self.action} {self.asset_id}"


class Duplicate(Exception):
    """The form was already submitted with this token; ``row`` is what the first one wrote."""

    def __init__(self, row: AccessEntry | PowerEvent) -> None:
        super().__init__(row.id)
        self.row = row


def mask_id(value: str | None) -> str:
    """``110105199001011234`` → ``**************1234``; short values are masked entirely."""
    if not value:
        return ""
    keep = 4 if len(value) > 6 else 0
    return "*" * (len(value) - keep) + value[len(value) - keep :]


# --- input ------------------------------------------------------------------------------------


def _text(values: Mapping[str, Any], key: str, limit: int, errors: dict, required: bool) -> str:
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
    errors: dict,
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


def _room(values: Mapping[str, Any], errors: dict) -> Room | None:
    raw = str(values.get("room_id") or "").strip()
    room = db.session().get(Room, int(raw)) if raw.isdigit() else None
    if room is None:
        errors["room_id"] = [_("Choose the room.")]
    return room


# --- services ---------------------------------------------------------------------------------


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
        from assets.queries import asset_by_tag

        asset = asset_by_tag(tag)
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
    event.asset = db.session().get(Asset, fields["asset_id"])
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


def write(work: Any) -> Any:
    """Run ``work()`` (one of the writers above) and commit; roll back when it raises.

    A concurrent copy of the same submission ends as ``Duplicate`` (see ``_add_once``); on
    SQLite the insert waits for the other writer on the busy timeout.
    """
    sess = db.session()
    try:
        result = work()
        sess.commit()
    except BaseException:
        sess.rollback()
        raise
    return result


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """List filters: local dates (inclusive), room, and free text (person or asset)."""

    start: date | None = None
    end: date | None = None
    room_id: int | None = None
    q: str = ""
    inside: bool = False  # access only: people still inside

    def bounds(self, tz: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        low = datetime.combine(self.start, time(), tz).astimezone(UTC) if self.start else None
        high = (
            datetime.combine(self.end + timedelta(days=1), time(), tz).astimezone(UTC)
            if self.end
            else None
        )
        return low, high


PER_PAGE = 100  # rows of one page of the logbook lists


def _page_of(stmt: Select, page: int, per_page: int) -> Page:
    """Count the rows of ``stmt`` (filtered and ordered, ties broken by id), then read page
    ``page`` of them by offset; a page past the last reads the last, one below 1 the first."""
    sess = db.session()
    total = sess.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = sess.scalars(stmt.offset((page - 1) * per_page).limit(per_page)).unique()
    return Page(list(rows), total, page, per_page)


def _access_query(filters: Filters, tz: ZoneInfo) -> Select:
    """Visits overlapping the date range (newest first, then by id); ``q`` matches
    name/organisation/escort."""
    stmt = select(AccessEntry).options(
        joinedload(AccessEntry.room).joinedload(Room.site), joinedload(AccessEntry.recorded_by)
    )
    low, high = filters.bounds(tz)
    if high is not None:
        stmt = stmt.where(AccessEntry.in_at < high)
    if low is not None:
        stmt = stmt.where(or_(AccessEntry.out_at.is_(None), AccessEntry.out_at >= low))
    if filters.room_id:
        stmt = stmt.where(AccessEntry.room_id == filters.room_id)
    if filters.inside:
        stmt = stmt.where(AccessEntry.out_at.is_(None))
    if filters.q:
        stmt = stmt.where(
            db.text_search(
                filters.q, AccessEntry.name, AccessEntry.organisation, AccessEntry.escort
            )
        )
    return stmt.order_by(AccessEntry.in_at.desc(), AccessEntry.id.desc())


def access_entries(filters: Filters, tz: ZoneInfo, limit: int | None = None) -> list[AccessEntry]:
    """Every visit matching ``filters`` (newest first), or the first ``limit``; the Excel export."""
    stmt = _access_query(filters, tz)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session().scalars(stmt).unique())


def access_page(filters: Filters, tz: ZoneInfo, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Page ``page`` of the visits matching ``filters`` (see ``_page_of``), for the list page."""
    return _page_of(_access_query(filters, tz), page, per_page)


def _power_query(filters: Filters, tz: ZoneInfo) -> Select:
    """Power events in the date range (newest first, then by id); ``q`` matches asset
    tag/name, change, who."""
    stmt = (
        select(PowerEvent)
        .join(Asset, Asset.id == PowerEvent.asset_id)
        .options(
            joinedload(PowerEvent.asset).joinedload(Asset.room), joinedload(PowerEvent.recorded_by)
        )
    )
    low, high = filters.bounds(tz)
    if low is not None:
        stmt = stmt.where(PowerEvent.occurred_at >= low)
    if high is not None:
        stmt = stmt.where(PowerEvent.occurred_at < high)
    if filters.room_id:
        stmt = stmt.where(Asset.room_id == filters.room_id)
    if filters.q:
        stmt = stmt.where(
            db.text_search(
                filters.q,
                Asset.asset_tag,
                Asset.name,
                PowerEvent.change_ref,
                PowerEvent.performed_by,
            )
        )
    return stmt.order_by(PowerEvent.occurred_at.desc(), PowerEvent.id.desc())


def power_events(filters: Filters, tz: ZoneInfo, limit: int | None = None) -> list[PowerEvent]:
    """Every power event matching ``filters`` (newest first), or the first ``limit``."""
    stmt = _power_query(filters, tz)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session().scalars(stmt).unique())


def power_page(filters: Filters, tz: ZoneInfo, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Page ``page`` of the power events matching ``filters``, for the list page."""
    return _page_of(_power_query(filters, tz), page, per_page)


def people_inside(room_id: int | None = None) -> list[AccessEntry]:
    """Visitors not yet signed out (oldest first), for the one-tap sign-out list."""
    stmt = (
        select(AccessEntry)
        .options(joinedload(AccessEntry.room))
        .where(AccessEntry.out_at.is_(None))
        .order_by(AccessEntry.in_at, AccessEntry.id)
    )
    if room_id:
        stmt = stmt.where(AccessEntry.room_id == room_id)
    return list(db.session().scalars(stmt))


@dataclass(frozen=True)
class LogbookLine:
    """One line of the "latest logbook entries" list (dashboard); ``str()`` reads as a sentence."""

    kind: str  # "access" | "power"
    at: datetime
    room: str
    subject: str  # the person, or the asset tag and name
    detail: str  # purpose, or the reason
    open: bool  # access: still inside
    action: str = ""  # power: on | off | restart

    def __str__(self) -> str:
        from flask import has_app_context

        from opskit.i18n import site_tz

        at = self.at.astimezone(site_tz()) if has_app_context() else self.at
        when = at.strftime("%m-%d %H:%M")
        if self.kind == "access":
            text = _(
                "%(time)s %(room)s: %(name)s entered (%(purpose)s)",
                time=when,
                room=self.room,
                name=self.subject,
                purpose=self.detail,
            )
            return text + (" · " + _("still inside") if self.open else "")
        actions = {"on": _("powered on"), "off": _("powered off"), "restart": _("restarted")}
        return _(
            "%(time)s %(asset)s %(action)s (%(reason)s)",
            time=when,
            asset=self.subject,
            action=actions.get(self.action, self.action),
            reason=self.detail,
        )


def latest_entries(limit: int = 10, rooms: Any | None = None) -> list[LogbookLine]:
    """The newest access and power lines together, newest first (for the dashboard).

    ``rooms``: a query of room ids (one site's, ``assets.queries.site_rooms_query``): only
    the visits to those rooms and the power events of assets in them."""
    sess = db.session()
    access = select(AccessEntry).options(joinedload(AccessEntry.room))
    power = select(PowerEvent).options(joinedload(PowerEvent.asset).joinedload(Asset.room))
    if rooms is not None:
        access = access.where(AccessEntry.room_id.in_(rooms))
        power = power.join(Asset, Asset.id == PowerEvent.asset_id).where(Asset.room_id.in_(rooms))
    entries = sess.scalars(
        access.order_by(AccessEntry.in_at.desc(), AccessEntry.id.desc()).limit(limit)
    ).all()
    events = sess.scalars(
        power.order_by(PowerEvent.occurred_at.desc(), PowerEvent.id.desc()).limit(limit)
    ).all()
    lines = [
        LogbookLine("access", e.in_at, e.room.name, e.name, e.purpose, e.out_at is None)
        for e in entries
    ] + [
        LogbookLine(
            "power",
            p.occurred_at,
            p.asset.room.name if p.asset.room else "",
            f"{p.asset.asset_tag} {p.asset.name}",
            p.reason,
            False,
            p.action,
        )
        for p in events
    ]
    lines.sort(key=lambda line: line.at, reverse=True)
    return lines[:limit]


@dataclass(frozen=True)
class LogbookCounts:
    visits: int
    visitors: int  # distinct names
    still_inside: int  # of the visits in the period, not signed out
    power_on: int
    power_off: int
    restarts: int


def logbook_counts(start: datetime, end: datetime, room_id: int | None = None) -> LogbookCounts:
    """Counts for ``start`` ≤ time < ``end`` (aware datetimes), e.g. for the quarterly report.

    Visits are counted by their time in; power events by when they happened.
    """
    sess = db.session()
    visits = select(AccessEntry).where(AccessEntry.in_at >= start, AccessEntry.in_at < end)
    if room_id:
        visits = visits.where(AccessEntry.room_id == room_id)
    sub = visits.subquery()
    row = sess.execute(
        select(
            func.count(sub.c.id),
            func.count(func.distinct(sub.c.name)),
            func.count(sub.c.id).filter(sub.c.out_at.is_(None)),
        )
    ).one()
    power = (
        select(PowerEvent.action, func.count(PowerEvent.id))
        .where(PowerEvent.occurred_at >= start, PowerEvent.occurred_at < end)
        .group_by(PowerEvent.action)
    )
    if room_id:
        power = power.join(Asset, Asset.id == PowerEvent.asset_id).where(Asset.room_id == room_id)
    by_action = {action: count for action, count in sess.execute(power)}
    return LogbookCounts(
        visits=row[0],
        visitors=row[1],
        still_inside=row[2],
        power_on=by_action.get("on", 0),
        power_off=by_action.get("off", 0),
        restarts=by_action.get("restart", 0),
    )


# --- export -----------------------------------------------------------------------------------


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz).replace(tzinfo=None) if value else None


def export_workbook(
    path: Path, filters: Filters, tz: ZoneInfo, labels: Mapping[str, str], actions: Mapping
) -> tuple[int, int]:
    """Write the filtered access and power books to ``path`` (two sheets); returns row counts.

    ``labels`` are the column headers by key (translated by the caller), ``actions`` the
    action labels. Text is written as text (formula-safe, see ``opskit.xlsx.writer``); ID numbers
    appear masked only.
    """
    from opskit.xlsx.writer import DATETIME, Col, ReportWriter, Sheet

    def h(key: str) -> str:
        return str(labels.get(key, key))

    access_rows = (
        {
            "room": f"{e.room.site.name} / {e.room.name}",
            "name": e.name,
            "organisation": e.organisation,
            "purpose": e.purpose,
            "escort": e.escort,
            "id_number": e.id_masked,
            "in_at": _local(e.in_at, tz),
            "out_at": _local(e.out_at, tz),
            "recorded_by": full_name(e.recorded_by.username) if e.recorded_by else "",
        }
        for e in access_entries(filters, tz, limit=None)
    )
    power_rows = (
        {
            "occurred_at": _local(p.occurred_at, tz),
            "asset_tag": p.asset.asset_tag,
            "asset_name": p.asset.name,
            "room": p.asset.room.name if p.asset.room else "",
            "action": str(actions.get(p.action, p.action)),
            "reason": p.reason,
            "change_ref": p.change_ref,
            "performed_by": full_name(p.performed_by),
            "recorded_by": full_name(p.recorded_by.username) if p.recorded_by else "",
        }
        for p in power_events(filters, tz, limit=None)
    )
    access_cols = [
        Col("room", h("room")),
        Col("name", h("name")),
        Col("organisation", h("organisation")),
        Col("purpose", h("purpose")),
        Col("escort", h("escort")),
        Col("id_number", h("id_number")),
        Col("in_at", h("in_at"), DATETIME),
        Col("out_at", h("out_at"), DATETIME),
        Col("recorded_by", h("recorded_by")),
    ]
    power_cols = [
        Col("occurred_at", h("occurred_at"), DATETIME),
        Col("asset_tag", h("asset_tag")),
        Col("asset_name", h("asset_name")),
        Col("room", h("room")),
        Col("action", h("action")),
        Col("reason", h("reason")),
        Col("change_ref", h("change_ref")),
        Col("performed_by", h("performed_by")),
        Col("recorded_by", h("recorded_by")),
    ]
    with ReportWriter(path) as writer:
        n_access = writer.sheet(Sheet(h("sheet_access"), access_cols, access_rows))
        n_power = writer.sheet(Sheet(h("sheet_power"), power_cols, power_rows))
    return n_access, n_power


def room_choices() -> list[tuple[int, str]]:
    """(room id, "site / room") for the room pickers."""
    rows = db.session().execute(
        select(Room.id, Site.name, Room.name).join(Site).order_by(Site.name, Room.name)
    )
    return [(rid, f"{site} / {room}") for rid, site, room in rows]
