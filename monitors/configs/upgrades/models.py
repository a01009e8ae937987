"""Firmware upgrade records (升级记录, issue #22): one planned vendor firmware upgrade of a device.

``ConfigUpgrade``: the device (asset), the version it runs (``from_version``) and the one it is to
run (``to_version``), why (``reason``) and the vendor's advisory (``advisory``: its number or URL),
the maintenance window it is done in (``window_id``: opskit's maintenance windows, so the alerts
the work raises are held), the files backed up before it (``files_backed_up``, one a line), and
its ``state``: ``planned`` → ``started`` → ``done`` or ``failed``.

The rule the contract asks for: a record is started only when a configuration version of the
device fetched at or after the window's start minus ``backup_hours`` (24 by default, set per
record) exists; the version it relied on is kept (``backup_version_id``). After the work the
version is read back (``read_back``, from ``read_back_source``: ``firmware`` — the SNMP ENTITY /
sysDescr value stored on the asset — or ``config``, the latest configuration's version line) and
``matches`` says whether it names ``to_version``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opskit.db import Base, utcnow
from opskit.models import Audited

STATES = ("planned", "started", "done", "failed")
DEFAULT_BACKUP_HOURS = 24


class ConfigUpgrade(Audited, Base):
    """One firmware upgrade of one device (see the module's docstring)."""

    __tablename__ = "config_upgrade"
    __table_args__ = (
        CheckConstraint("state IN ('planned', 'started', 'done', 'failed')", name="state_known"),
        CheckConstraint("backup_hours >= 1", name="backup_hours_min"),
        CheckConstraint(
            "read_back_source IN ('', 'firmware', 'config')", name="read_back_source_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    from_version: Mapped[str] = mapped_column(String(128), default="")
    to_version: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    advisory: Mapped[str] = mapped_column(String(255), default="")
    window_id: Mapped[int | None] = mapped_column(
        ForeignKey("maintenance_window.id", ondelete="SET NULL")
    )
    files_backed_up: Mapped[str] = mapped_column(Text, default="")
    backup_hours: Mapped[int] = mapped_column(default=DEFAULT_BACKUP_HOURS)
    state: Mapped[str] = mapped_column(String(16), default="planned")
    backup_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("config_version.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(Text, default="")  # how it ended (failed: why)
    read_back: Mapped[str] = mapped_column(Text, default="")
    read_back_source: Mapped[str] = mapped_column(String(16), default="")
    read_back_at: Mapped[datetime | None]
    matches: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(128), default="")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def audit_label(self) -> str:
        return f"firmware upgrade #{self.id} of asset #{self.asset_id}"
