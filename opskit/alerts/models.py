"""Alerts, their history, and maintenance windows.

An alert is one occurrence of a condition (identified by ``dedup_key``, e.g.
``monitor:ups.output.source:asset=12``) from its first sighting to its resolution; repeats update
it. Each change of status is an ``AlertEvent`` row: notifications and SLA statistics are driven
by those rows, never by loosely stored flags.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opskit.crypto import EncryptedText
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
    SLA_WARNING = "sla_warning"  # a clock passed its warning share (note: the clock)
    SLA_BREACHED = "sla_breached"  # a clock passed its deadline (note: the clock)
    COMMENT = "comment"  # a remark in the history (note: the text); never notifies


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
        # every alert of a condition (flapping: its recent changes, its last alert)
        Index("ix_alert_dedup_key", "dedup_key"),
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


class NotificationChannel(Audited, Base):
    """Where notifications go: an e-mail list, a webhook, a WeCom or DingTalk group robot.

    ``settings`` holds what may be shown (addresses, SMTP host); ``secret`` holds what may not
    (robot URL with its key, SMTP password, DingTalk signing secret) and is encrypted at rest.
    """

    __tablename__ = "notification_channel"
    __table_args__ = (
        CheckConstraint("kind IN ('email', 'webhook', 'wecom', 'dingtalk')", name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    secret: Mapped[str | None] = mapped_column(EncryptedText, info={"secret": True})
    #: urgencies routed to this channel, e.g. "ABC" or "AB"
    urgencies: Mapped[str] = mapped_column(String(3), default="ABC")
    #: level-2 (5x8) notifications outside working hours wait for the next working period
    hold_outside_hours: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    last_error: Mapped[str] = mapped_column(Text, default="", info={"audit": False})
    last_error_at: Mapped[datetime | None] = mapped_column(info={"audit": False})

    @property
    def audit_label(self) -> str:
        return self.name


class Delivery(Base):
    """One notification of one event to one channel, with its attempts."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("event_id", "channel_id", name="uq_notification_delivery_event_channel"),
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_known"),
        Index("ix_notification_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("alert_event.id", ondelete="CASCADE"))
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channel.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")

    event: Mapped[AlertEvent] = relationship()
    channel: Mapped[NotificationChannel] = relationship()
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        back_populates="delivery", order_by="DeliveryAttempt.id", cascade="all, delete-orphan"
    )


class DeliveryAttempt(Base):
    """Every try to send, kept: the channel page shows them, and they prove what was sent."""

    __tablename__ = "notification_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("notification_delivery.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool]
    error: Mapped[str] = mapped_column(Text, default="")
    permanent: Mapped[bool] = mapped_column(default=False)

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")


class RuleState(Base):
    """Where one rule stands for one asset/instance: its level and a pending worse level."""

    __tablename__ = "rule_state"
    __table_args__ = (
        UniqueConstraint("rule", "asset_id", "instance", name="uq_rule_state_rule_asset_instance"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(128))
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    instance: Mapped[str] = mapped_column(String(128), default="")
    level: Mapped[str] = mapped_column(String(8), default="ok")
    pending_level: Mapped[str | None] = mapped_column(String(8))
    pending_since: Mapped[datetime | None]
    last_value: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class IncidentGrade(enum.StrEnum):
    """事件分级: the emergency-response plan's four grades."""

    GENERAL = "general"  # 一般
    MAJOR = "major"  # 较大
    SERIOUS = "serious"  # 重大
    CRITICAL = "critical"  # 特别重大


class Phase(enum.StrEnum):
    """应急响应阶段: prepare, detect, contain, eradicate, recover."""

    PREPARE = "prepare"  # 准备
    DETECT = "detect"  # 检测
    CONTAIN = "contain"  # 抑制
    ERADICATE = "eradicate"  # 根除
    RECOVER = "recover"  # 恢复


incident_alert = Table(
    "incident_alert",
    Base.metadata,
    Column("incident_id", ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True),
    Column("alert_id", ForeignKey("alert.id", ondelete="CASCADE"), primary_key=True),
)
incident_asset = Table(
    "incident_asset",
    Base.metadata,
    Column("incident_id", ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True),
    Column("asset_id", ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True),
)


class Incident(Audited, Base):
    """An incident (事件): graded, worked through five phases, closed with cause and measures."""

    __tablename__ = "incident"
    __table_args__ = (
        CheckConstraint("grade IN ('general', 'major', 'serious', 'critical')", name="grade_known"),
        CheckConstraint("urgency IN ('A', 'B', 'C')", name="urgency_known"),
        CheckConstraint(
            "phase IN ('prepare', 'detect', 'contain', 'eradicate', 'recover')",
            name="phase_known",
        ),
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str] = mapped_column(String(16), default=IncidentGrade.GENERAL.value)
    urgency: Mapped[str] = mapped_column(String(1), default="C")
    phase: Mapped[str] = mapped_column(String(16), default=Phase.DETECT.value)
    status: Mapped[str] = mapped_column(String(8), default="open")
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(128), default="")
    onsite_at: Mapped[datetime | None]
    onsite_by: Mapped[str | None] = mapped_column(String(128))
    onsite_tag: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    description: Mapped[str] = mapped_column(Text, default="")
    root_cause: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[str] = mapped_column(Text, default="")

    alerts: Mapped[list[Alert]] = relationship(secondary=incident_alert)
    #: registry assets (assets.models.Asset), named by string to keep core free of domains
    assets: Mapped[list[Any]] = relationship("Asset", secondary=incident_asset)
    entries: Mapped[list[IncidentEntry]] = relationship(
        back_populates="incident", order_by="IncidentEntry.at", cascade="all, delete-orphan"
    )

    @property
    def number(self) -> str:
        return f"INC-{self.opened_at:%Y}-{self.id:04d}"

    @property
    def audit_label(self) -> str:
        return self.title


class IncidentEntry(Base):
    """One line of an incident's timeline: what happened in which phase, when, by whom.

    ``client_id`` is made by the form (one per render) or the API caller: a retried submission
    with it finds this line instead of writing a second one (unique per incident; lines
    written without one, opskit's own included, leave it NULL)."""

    __tablename__ = "incident_entry"
    __table_args__ = (
        UniqueConstraint(
            "incident_id", "client_id", name="uq_incident_entry_incident_id_client_id"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incident.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    phase: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128), default="")
    client_id: Mapped[str | None] = mapped_column(String(64), default=None)

    incident: Mapped[Incident] = relationship(back_populates="entries")
