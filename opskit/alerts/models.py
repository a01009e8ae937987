"""Alerts, their history, and maintenance windows.

An alert is one occurrence of a condition (identified by ``dedup_key``, e.g.
``monitor:ups.output.source:asset=12``) from its first sighting to its resolution; repeats update
it. Each change of status is an ``AlertEvent`` row: notifications and SLA statistics are driven
by those rows, never by loosely stored flags.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opskit.db import Base, utcnow
from opskit.models import Audited


class AlertStatus(enum.StrEnum):
    FIRING = "firing"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


OPEN_STATUSES = (AlertStatus.FIRING.value, AlertStatus.ACKNOWLEDGED.value)


class EventKind(enum.StrEnum):
    RAISED = "raised"  # new alert, or reopened while flapping
    ACKNOWLEDGED = "acknowledged"
    ONSITE = "onsite"  # engineer arrived (QR scan)
    RESOLVED = "resolved"  # by hand or automatically
    ESCALATED = "escalated"  # urgency raised by a worse repeat
    FLAPPING = "flapping"  # started flapping: further changes do not notify
    SILENCED = "silenced"  # raised during a maintenance window


class Alert(Base):
    """One occurrence of a condition, firing → acknowledged → resolved."""

    __tablename__ = "alert"
    __table_args__ = (
        CheckConstraint("urgency IN ('A', 'B', 'C')", name="urgency_known"),
        CheckConstraint("status IN ('firing', 'acknowledged', 'resolved')", name="status_known"),
        # one open alert per condition: the database enforces deduplication
        Index(
            "uq_alert_open_dedup_key",
            "dedup_key",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alert_status_urgency", "status", "urgency"),
        Index("ix_alert_first_seen", "first_seen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))  # monitor, patrol, registry, manual
    rule: Mapped[str] = mapped_column(String(128))
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("room.id", ondelete="SET NULL"), index=True
    )
    urgency: Mapped[str] = mapped_column(String(1))
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.FIRING.value)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    count: Mapped[int] = mapped_column(default=1)
    flapping: Mapped[bool] = mapped_column(default=False)
    silenced: Mapped[bool] = mapped_column(default=False)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))
    onsite_at: Mapped[datetime | None]
    onsite_by: Mapped[str | None] = mapped_column(String(128))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(128))
    resolution_note: Mapped[str] = mapped_column(Text, default="")

    events: Mapped[list[AlertEvent]] = relationship(
        back_populates="alert", order_by="AlertEvent.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class AlertEvent(Base):
    """A change of an alert's status, with who, when and whether it should notify."""

    __tablename__ = "alert_event"
    __table_args__ = (Index("ix_alert_event_alert_at", "alert_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alert.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128), default="system")
    note: Mapped[str] = mapped_column(Text, default="")
    urgency: Mapped[str] = mapped_column(String(1))
    notify: Mapped[bool] = mapped_column(default=True)
    #: set by the notifier when it has handled the event (claimed with UPDATE ... WHERE NULL)
    processed_at: Mapped[datetime | None] = mapped_column(index=True)

    alert: Mapped[Alert] = relationship(back_populates="events")


class MaintenanceWindow(Audited, Base):
    """Planned work: alerts for the asset or room raised inside the window are silenced."""

    __tablename__ = "maintenance_window"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("asset_id IS NOT NULL OR room_id IS NOT NULL", name="asset_or_room"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    room_id: Mapped[int | None] = mapped_column(ForeignKey("room.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(128), default="")
