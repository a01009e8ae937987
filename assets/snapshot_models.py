"""The capacity history (容量历史): one row per resource of a room, or of an IP prefix, per site
day, written by the daily snapshot job (``assets.capacity_history``) from the capacity model.
The 容量规划 sheet fits its 80 % forecast to these rows."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from opskit.db import Base, utcnow

#: the resources a snapshot records: room ones, and ``ip`` of a prefix
ROOM_RESOURCES = ("u", "power", "cooling", "ports")
RESOURCES = (*ROOM_RESOURCES, "ip")


class CapacitySnapshot(Base):
    """How much of one resource was used on one site day: ``used`` of ``total`` (rack units,
    watts, switch ports, addresses). ``scope`` names the room (``room:12``) or the prefix
    (``prefix:3``); the unique key (day, scope, resource) makes the day's snapshot exactly one
    row each, whatever runs the job how often. ``total`` is None when the capacity is not
    recorded (no rated rack, no air conditioner stating its capacity)."""

    __tablename__ = "capacity_snapshot"
    __table_args__ = (
        UniqueConstraint("day", "scope", "resource", name="uq_capacity_snapshot_day_scope"),
        CheckConstraint("resource IN ('u', 'power', 'cooling', 'ports', 'ip')", name="resource"),
        CheckConstraint(
            "(room_id IS NOT NULL AND prefix_id IS NULL AND resource <> 'ip') OR "
            "(room_id IS NULL AND prefix_id IS NOT NULL AND resource = 'ip')",
            name="room_or_prefix",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]  # the site's calendar day (SITE_TIMEZONE) the snapshot was taken on
    scope: Mapped[str] = mapped_column(String(24))
    room_id: Mapped[int | None] = mapped_column(
        ForeignKey("room.id", ondelete="CASCADE"), index=True
    )
    prefix_id: Mapped[int | None] = mapped_column(
        ForeignKey("ip_prefix.id", ondelete="CASCADE"), index=True
    )
    resource: Mapped[str] = mapped_column(String(8))
    used: Mapped[float]
    total: Mapped[float | None]
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
