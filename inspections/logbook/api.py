"""The machine-room logbook in the JSON API (``/api/v1/logbook/...``): room access (出入登记)
and power on/off (上下电登记), read and recorded as the tablet does.

- ``GET /logbook/access``: visits, filters ``room_id``, ``site_id``, ``inside`` (still in the
  room), the period they came in (``since``/``until``, at most 366 days; none: every visit);
  newest first, paged. ID numbers only ever masked.
- ``GET /logbook/power``: power events, filters ``action`` (on, off, restart), ``asset_id``
  or ``asset_tag``, ``room_id``, ``site_id``, the period they happened in.
- ``POST /logbook/access`` and ``POST /logbook/power`` (writer roles; viewers get 403): recorded
  through ``inspections.logbook.services`` like the tablet's forms, audited with the token's
  user. ``client_id`` (8–64 letters, digits, ``-`` or ``_``) is the form's client token: the
  same id again answers 201 with the entry the first call made, never a second one. Times are
  ISO 8601 with a time zone (default now; the future is refused). 422 names every wrong field.
- ``GET`` one of each, and ``POST /logbook/access/{id}/sign-out`` (now; a visit already signed
  out is a 409 saying when).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import AwareDatetime, Field

from assets import queries as registry
from inspections.logbook import queries, services
from inspections.logbook.models import POWER_ACTIONS, AccessEntry, PowerEvent
from opskit import db, jsonapi, openapi
from opskit.apischema import (
    Id,
    Input,
    Name,
    Output,
    Page,
    Paging,
    Period,
    Text,
    filters,
    one_of,
)
from opskit.i18n import site_tz
from opskit.jsonapi import ApiError
from opskit.openapi import Created, operation
from opskit.validation import ValidationFailed

bp = jsonapi.api_blueprint("logbook_api", __name__)
TAG = "logbook"
openapi.tag(TAG, _l("Logbook"))

ClientId = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_-]{8,64}$",
        examples=["tablet-7f3a9c21"],
        description="The sender's id of this entry: a retry with the same id is the same entry "
        "(8–64 letters, digits, - or _)",
    ),
]
#: a time in the body: ISO 8601 text with its time zone (JSON has no time type)
When = Annotated[
    AwareDatetime, Field(strict=False, description="ISO 8601 with time zone; default now")
]
Action = Annotated[str, one_of(POWER_ACTIONS)]


def _local(moment: datetime | None) -> str:
    """An input time as the tablet's form sends it: site time, to the second."""
    return moment.astimezone(site_tz()).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


# --- answers ---------------------------------------------------------------------------------


class AccessEntryOut(Output):
    """A visit to a machine room (出入登记): in at ``in_at``, out at ``out_at`` (null: inside)."""

    id: int
    room_id: int
    room: str
    name: str
    organisation: str
    purpose: str
    escort: str
    id_number_masked: str = Field(description="Only the last four characters shown")
    in_at: datetime
    out_at: datetime | None
    inside: bool
    recorded_by: str | None = Field(description="The login that recorded it")
    client_id: str | None
    created_at: datetime


class PowerEventOut(Output):
    """An asset powered on, off or restarted (上下电登记)."""

    id: int
    asset_id: int
    asset_tag: str
    action: Action
    reason: str
    change_ref: str
    performed_by: str
    occurred_at: datetime
    recorded_by: str | None = Field(description="The login that recorded it")
    client_id: str | None
    created_at: datetime


def _recorded(row: AccessEntry | PowerEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "recorded_by": row.recorded_by.username if row.recorded_by else None,
        "client_id": row.client_token,
        "created_at": row.created_at,
    }


def access_out(entry: AccessEntry) -> dict[str, Any]:
    return {
        **_recorded(entry),
        "room_id": entry.room_id,
        "room": entry.room.name,
        "name": entry.name,
        "organisation": entry.organisation,
        "purpose": entry.purpose,
        "escort": entry.escort,
        "id_number_masked": entry.id_masked,
        "in_at": entry.in_at,
        "out_at": entry.out_at,
        "inside": entry.out_at is None,
    }


def power_out(event: PowerEvent) -> dict[str, Any]:
    return {
        **_recorded(event),
        "asset_id": event.asset_id,
        "asset_tag": event.asset.asset_tag,
        "action": event.action,
        "reason": event.reason,
        "change_ref": event.change_ref,
        "performed_by": event.performed_by,
        "occurred_at": event.occurred_at,
    }


# --- lists -----------------------------------------------------------------------------------


class AccessFilter(Paging, Period):
    room_id: Id | None = None
    site_id: Id | None = None
    inside: bool | None = Field(None, description="true: still in the room; false: signed out")


class PowerFilter(Paging, Period):
    action: Action | None = None
    asset_id: Id | None = None
    asset_tag: Annotated[Text, Field(max_length=64, description="The asset's tag")] | None = None
    room_id: Id | None = None
    site_id: Id | None = None


@operation(
    bp,
    "GET",
    "/logbook/access",
    query=AccessFilter,
    response=Page[AccessEntryOut],
    tag=TAG,
    summary=_l("List room access entries"),
)
def list_access(query: AccessFilter) -> Any:
    """Visits that came in during the period, newest first."""
    stmt = queries.access_matching(**filters(query))
    return jsonapi.paginate(stmt, (), query, lambda rows: [access_out(e) for e in rows])


@operation(
    bp,
    "GET",
    "/logbook/power",
    query=PowerFilter,
    response=Page[PowerEventOut],
    tag=TAG,
    summary=_l("List power on/off entries"),
)
def list_power(query: PowerFilter) -> Any:
    """Power events that happened during the period, newest first."""
    asset_id = query.asset_id
    if query.asset_tag:
        asset = registry.asset_by_tag(query.asset_tag.strip())
        if asset is None or (asset_id is not None and asset.id != asset_id):
            tag = query.asset_tag.strip()
            raise ValidationFailed.one("asset_tag", _("No asset has the tag %(tag)s.", tag=tag))
        asset_id = asset.id
    stmt = queries.power_matching(**{**filters(query, "asset_tag"), "asset_id": asset_id})
    return jsonapi.paginate(stmt, (), query, lambda rows: [power_out(e) for e in rows])


@operation(
    bp,
    "GET",
    "/logbook/access/<int:entry_id>",
    response=AccessEntryOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a room access entry"),
)
def get_access(entry_id: int) -> Any:
    return access_out(jsonapi.get_or_404(AccessEntry, entry_id))


@operation(
    bp,
    "GET",
    "/logbook/power/<int:event_id>",
    response=PowerEventOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a power on/off entry"),
)
def get_power(event_id: int) -> Any:
    return power_out(jsonapi.get_or_404(PowerEvent, event_id))


# --- recording -------------------------------------------------------------------------------


class AccessEntryCreate(Input):
    """A person entering a room, as the tablet's form records it."""

    client_id: ClientId
    room_id: Id
    name: Annotated[Name, Field(max_length=100, examples=["李雷"])]
    organisation: Annotated[Text, Field(max_length=200)] = ""
    purpose: Annotated[Name, Field(max_length=2000, examples=["更换硬盘"])]
    escort: Annotated[Text, Field(max_length=100)] = ""
    id_number: Annotated[
        Text, Field(max_length=32, description="ID-card number (optional; stored encrypted)")
    ] = ""
    in_at: When | None = None
    out_at: (
        Annotated[
            AwareDatetime,
            Field(strict=False, description="For writing up a past visit; default: inside"),
        ]
        | None
    ) = None


class PowerEventCreate(Input):
    """An asset powered on, off or restarted, as the tablet's form records it."""

    client_id: ClientId
    asset_tag: Annotated[Name, Field(max_length=64, description="Scanned or typed")]
    action: Action
    reason: Annotated[Name, Field(max_length=2000, examples=["更换电源模块"])]
    change_ref: Annotated[Text, Field(max_length=64, description="Change ticket")] = ""
    performed_by: Annotated[
        Text, Field(max_length=100, description="Default: the token user's name")
    ] = ""
    occurred_at: When | None = None


def _record(record: Any, body: Input, times: tuple[str, ...]) -> Any:
    """``record(form, tz, user)`` in one transaction with the body as the tablet's form; the
    same ``client_id`` again: the entry the first call made."""
    form: dict[str, Any] = body.model_dump(exclude={"client_id", *times})
    form.update({name: _local(getattr(body, name)) for name in times})
    form["client_token"] = body.client_id  # type: ignore[attr-defined]
    try:
        return db.write(lambda: record(form, site_tz(), current_user))
    except services.Duplicate as done:
        return done.row


@operation(
    bp,
    "POST",
    "/logbook/access",
    body=AccessEntryCreate,
    response=AccessEntryOut,
    status=201,
    errors=(409,),
    tag=TAG,
    summary=_l("Record a room access entry"),
)
def create_access(body: AccessEntryCreate) -> Any:
    entry = _record(services.record_entry, body, ("in_at", "out_at"))
    location = url_for("logbook_api.get_access", entry_id=entry.id)
    return Created(access_out(entry), location)


@operation(
    bp,
    "POST",
    "/logbook/power",
    body=PowerEventCreate,
    response=PowerEventOut,
    status=201,
    errors=(409,),
    tag=TAG,
    summary=_l("Record a power on/off entry"),
)
def create_power(body: PowerEventCreate) -> Any:
    event = _record(services.record_power, body, ("occurred_at",))
    location = url_for("logbook_api.get_power", event_id=event.id)
    return Created(power_out(event), location)


class SignOut(Input):
    pass


@operation(
    bp,
    "POST",
    "/logbook/access/<int:entry_id>/sign-out",
    body=SignOut,
    response=AccessEntryOut,
    errors=(404, 409),
    tag=TAG,
    summary=_l("Sign a visitor out of the room"),
)
def sign_out(entry_id: int, body: SignOut) -> Any:
    entry = jsonapi.get_or_404(AccessEntry, entry_id)
    if not db.write(lambda: services.sign_out(entry)):
        at = format_datetime(entry.out_at, "short")
        message = _("Already signed out at %(at)s.", at=at)
        raise ApiError(409, "conflict", message, {"out_at": [message]})
    return access_out(entry)
