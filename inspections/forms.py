"""What the patrol's forms and JSON bodies carry, read into values: ids, lists of keys, local
times (the round pages and the services read them the same way)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from opskit.i18n import site_tz
from opskit.validation import ValidationFailed

TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def keys(value: Any) -> list[str]:
    """A list of keys from a list or from text like ``"a, b c"``."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(v).strip() for v in value if str(v).strip()]


def int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def client_id(value: Any) -> str:
    """A round's or a photo's client-generated id, checked."""
    text = str(value or "").strip()
    if not CLIENT_ID_RE.match(text):
        raise ValidationFailed.one(
            "client_id", _("Expected a round id of 8–64 letters, digits, - or _.")
        )
    return text


def when(value: Any, field: str) -> datetime | None:
    """An ISO date and time (site time when it names no zone); empty: None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed.one(
                field, _("Expected a date and time, got “%(value)s”.", value=value)
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=site_tz())
    return moment
