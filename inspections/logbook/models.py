"""The machine-room logbook's rows: who entered and left a room, which devices were powered
off/on. Two paper books of every Chinese machine room, kept as rows:

- ``AccessEntry`` (出入登记): a person (name, organisation, purpose, escorting staff) entering
  a room at ``in_at`` and leaving at ``out_at`` (empty while still inside). The ID-card number
  is optional, stored encrypted and only ever shown masked (last four characters): the book
  must not become a list of ID numbers.
- ``PowerEvent`` (上下电登记): an asset powered on, off or restarted, why, under which change
  ticket, by whom and when.

The room and the asset are the registry's rows, named by their mapped class (``"Room"``,
``"Asset"``) so this module imports nothing of ``assets``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opskit.crypto import EncryptedText
from opskit.db import Base, utcnow
from opskit.models import Audited, User

POWER_ACTIONS = ("on", "off", "restart")


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

    room: Mapped[Any] = relationship("Room")
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

    asset: Mapped[Any] = relationship("Asset")
    recorded_by: Mapped[User | None] = relationship()

    @property
    def audit_label(self) -> str:
        return f"{self.action} {self.asset_id}"


def mask_id(value: str | None) -> str:
    """``110105199001011234`` → ``**************1234``; short values are masked entirely."""
    if not value:
        return ""
    keep = 4 if len(value) > 6 else 0
    return "*" * (len(value) - keep) + value[len(value) - keep :]
