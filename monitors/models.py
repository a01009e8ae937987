"""Monitors, their readings, their state changes and the poller's heartbeat.

- ``Monitor``: one check of one asset (kind from ``monitors.kinds.KINDS``), its settings as JSON
  validated by the kind, its secret (SNMP community or v3 keys, as JSON text) encrypted at rest.
  The poller's bookkeeping (state, times, lease) is kept out of the audit log.
- ``Reading``: one value of one metric of one asset at one time; numbers in ``value``, states in
  ``text``.
- ``StatusFlip``: a monitor's state changed (up / down / unknown), with the reason.
- ``PollerHeartbeat``: when each ``opskit poll`` worker last finished a cycle (for /healthz).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opskit.crypto import EncryptedText
from opskit.db import Base, utcnow
from opskit.models import Audited

DEFAULT_INTERVAL_S = 60

_BOOKKEEPING = {"audit": False}


class MonitorState(enum.StrEnum):
    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


_STATES = ", ".join(f"'{s.value}'" for s in MonitorState)


class Monitor(Audited, Base):
    """One check of one asset: SNMP, host, TCP ..., run by the poller every ``interval_s``."""

    __tablename__ = "monitor"
    __table_args__ = (
        CheckConstraint(f"state IN ({_STATES})", name="state_known"),
        CheckConstraint("interval_s >= 5", name="interval_min"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(128), default="")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    secret: Mapped[str | None] = mapped_column(EncryptedText(), info={"secret": True})
    interval_s: Mapped[int] = mapped_column(default=DEFAULT_INTERVAL_S)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(
        String(8), default=MonitorState.UNKNOWN.value, info=_BOOKKEEPING
    )
    state_since: Mapped[datetime | None] = mapped_column(info=_BOOKKEEPING)
    last_polled_at: Mapped[datetime | None] = mapped_column(info=_BOOKKEEPING)
    next_due_at: Mapped[datetime] = mapped_column(default=utcnow, index=True, info=_BOOKKEEPING)
    lease_until: Mapped[datetime | None] = mapped_column(info=_BOOKKEEPING)
    last_error: Mapped[str] = mapped_column(Text, default="", info=_BOOKKEEPING)

    @property
    def audit_label(self) -> str:
        return f"{self.kind} monitor of asset #{self.asset_id}"


class Reading(Base):
    """One value of one metric (and instance) of an asset at a time."""

    __tablename__ = "reading"
    __table_args__ = (
        Index("ix_reading_asset_metric_instance_at", "asset_id", "metric", "instance", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    monitor_id: Mapped[int | None] = mapped_column(
        ForeignKey("monitor.id", ondelete="SET NULL"), index=True
    )
    metric: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime]
    value: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(String(64))


class StatusFlip(Base):
    """A monitor's state changed: from ``old`` to ``new`` at ``at``, because of ``reason``."""

    __tablename__ = "status_flip"
    __table_args__ = (Index("ix_status_flip_monitor_id_at", "monitor_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitor.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    old: Mapped[str] = mapped_column(String(8))
    new: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(Text, default="")


class PollerHeartbeat(Base):
    """When one poller worker last completed a cycle and how many monitors it ran."""

    __tablename__ = "poller_heartbeat"

    worker: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime]
    monitors: Mapped[int] = mapped_column(default=0)
    duration_ms: Mapped[int] = mapped_column(default=0)
