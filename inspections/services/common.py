"""What the patrol writers share: who is acting, the row as this session sees it, whether a
round may still change."""

from __future__ import annotations

from typing import Protocol, TypeVar

from flask_babel import gettext as _

from inspections.models import (
    PatrolRound,
    RoundStatus,
)
from opskit import db
from opskit.audit import current_actor
from opskit.validation import ValidationFailed


class _Row(Protocol):
    @property
    def id(self) -> int: ...


T = TypeVar("T", bound=_Row)


def actor() -> str:
    return current_actor()[1]


def current(obj: T) -> T:
    """The row as this session sees it (callers may hold an object of another session)."""
    found = db.session().get(type(obj), obj.id)
    if found is None:
        raise ValidationFailed.one("id", _("Not found."))
    return found


def editable(patrol: PatrolRound) -> None:
    if patrol.status == RoundStatus.APPROVED.value:
        raise ValidationFailed.one("status", _("The round is approved and read-only."))
    if patrol.status != RoundStatus.DRAFT.value:
        raise ValidationFailed.one("status", _("The round has been submitted."))
