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
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
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
        # a monitor's newest readings (latest values, data age) and time ranges (rollups, pruning)
        Index("ix_reading_monitor_id_at", "monitor_id", "at"),
        Index("ix_reading_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    monitor_id: Mapped[int | None] = mapped_column(ForeignKey("monitor.id", ondelete="SET NULL"))
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


class Resolution(enum.IntEnum):
    """Rollup bucket widths in seconds."""

    FIVE_MINUTES = 300
    HOUR = 3600


class Rollup(Base):
    """Aggregate of one metric/instance of an asset over one bucket (5 minutes or 1 hour).

    ``bucket`` is the bucket's start (UTC, aligned to its width). Written by
    ``monitors.rollups`` from ``reading`` rows; one row per (asset, metric, instance,
    resolution, bucket).
    """

    __tablename__ = "reading_rollup"
    __table_args__ = (
        UniqueConstraint(
            "asset_id", "metric", "instance", "resolution", "bucket", name="one_per_bucket"
        ),
        CheckConstraint("resolution IN (300, 3600)", name="resolution_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(64))
    instance: Mapped[str] = mapped_column(String(128), default="")
    resolution: Mapped[int]
    bucket: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(default=0)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    avg: Mapped[float] = mapped_column(Float)
    last: Mapped[float] = mapped_column(Float)


class LoadWeek(Base):
    """One asset's load in one family (cpu, memory, storage, traffic) over one week piece: a
    Monday-to-Sunday week in site time cut at month ends, starting on ``week``.

    Kept by ``monitors.load`` from the hourly rollups as they are written, so that reports over
    months read one row per asset, family and week piece instead of every hourly rollup.
    ``avgs`` and ``peaks`` hold one float64 per hour of the piece (slot = hours since the local
    midnight of ``week``; 169 slots, the longest week; -inf where there is no value): the
    hour's value combined across the family's metrics and instances (``max``, e.g. the fullest
    volume, or ``sum``, e.g. traffic in + out of every interface). The sums are over the hours
    present, with ``s`` the slot: ``n``, Σy (``sum_y``), Σs, Σs², Σs·y, enough to add the
    piece to a least-squares line.
    """

    __tablename__ = "load_week"
    __table_args__ = (UniqueConstraint("asset_id", "family", "week", name="one_per_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    family: Mapped[str] = mapped_column(String(16))
    week: Mapped[date] = mapped_column(index=True)
    n: Mapped[int] = mapped_column(default=0)
    peak: Mapped[float] = mapped_column(Float)
    sum_y: Mapped[float] = mapped_column(Float)
    sum_s: Mapped[float] = mapped_column(Float)
    sum_ss: Mapped[float] = mapped_column(Float)
    sum_sy: Mapped[float] = mapped_column(Float)
    avgs: Mapped[bytes] = mapped_column(LargeBinary)
    peaks: Mapped[bytes] = mapped_column(LargeBinary)


class LldpNeighbor(Base):
    """A neighbour one device's LLDP table reported on one of its ports.

    ``remote_asset_id`` is the registered asset the neighbour was matched to (by system name,
    chassis id or management address), when one was found. ``first_seen``/``last_seen`` bound
    the polls that saw it; a neighbour not seen in a period's polls was not there.
    """

    __tablename__ = "lldp_neighbor"
    __table_args__ = (
        UniqueConstraint(
            "asset_id", "local_port", "remote_chassis_id", "remote_port", name="one_per_port"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    local_port: Mapped[str] = mapped_column(String(64))
    remote_sys_name: Mapped[str] = mapped_column(String(255), default="")
    remote_port: Mapped[str] = mapped_column(String(64), default="")
    remote_chassis_id: Mapped[str] = mapped_column(String(64), default="")
    remote_asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)


class ArpSighting(Base):
    """An IP/MAC pair one device's ARP (ipNetToMedia / ipNetToPhysical) table held."""

    __tablename__ = "arp_sighting"
    __table_args__ = (UniqueConstraint("asset_id", "ip", "mac", name="one_per_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    mac: Mapped[str] = mapped_column(String(17))
    interface: Mapped[str] = mapped_column(String(64), default="")
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime] = mapped_column(index=True)


class CounterState(Base):
    """The counters one monitor read at its last poll, to derive rates (``if.in_bps``) next time.

    Kept in the database so any poller (and a restarted one) continues where the last left
    off. ``counters`` maps ``"metric|instance"`` to ``[value, bits]`` (bits: 32 or 64);
    ``uptime_s`` is the agent's uptime then (``None`` when unknown).
    """

    __tablename__ = "counter_state"

    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitor.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime]
    uptime_s: Mapped[float | None] = mapped_column(Float)
    counters: Mapped[dict[str, Any]] = mapped_column(default=dict)


class StatementHour(Base):
    """What one database server's statements did in one hour: per statement (``statement_id``:
    PostgreSQL's ``queryid``, MySQL's digest; ``database``: the database or schema it ran in) the
    calls, total execution time and rows, summed over the hour's polls.

    Written by ``monitors.statements`` from the increases of ``pg_stat_statements`` /
    ``performance_schema.events_statements_summary_by_digest`` between two polls (the top
    statements of each poll by time); ``text`` is the engine's normalised statement, capped.
    """

    __tablename__ = "db_statement_hour"
    __table_args__ = (
        UniqueConstraint("monitor_id", "hour", "database", "statement_id", name="one_per_hour"),
        Index("ix_db_statement_hour_asset_id_hour", "asset_id", "hour"),
        Index("ix_db_statement_hour_hour", "hour"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitor.id", ondelete="CASCADE"))
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    hour: Mapped[datetime]
    database: Mapped[str] = mapped_column(String(64), default="")
    statement_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text, default="")
    calls: Mapped[int] = mapped_column(BigInteger, default=0)
    total_ms: Mapped[float] = mapped_column(Float, default=0.0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)


class StatementState(Base):
    """The statement counters one database monitor read at its last poll (``counters``:
    ``"database|statement_id"`` to ``[calls, total_ms, rows, since]``; ``since``: when the
    engine started counting that statement, where it says), and ``reset``: when the engine's
    statement statistics were last reset as a whole (PostgreSQL 14+), to give no increase across
    a reset."""

    __tablename__ = "db_statement_state"

    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("monitor.id", ondelete="CASCADE"), primary_key=True
    )
    at: Mapped[datetime]
    reset: Mapped[str] = mapped_column(String(64), default="")
    counters: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SnmpTrap(Base):
    """An SNMP trap (v1, v2c or v3 notification) ``opskit traps`` received.

    ``source`` is the UDP sender's address, ``agent_addr`` the v1 trap's agent-addr field;
    ``asset_id`` the asset either matched (a monitor's host, an asset's management IP or one of
    its registered addresses). ``varbinds`` holds ``[oid, value]`` pairs as text, without the
    community. ``actions`` says what the profiles' ``traps:`` rules did (``raise ups_on_battery``,
    ``clear link_down[3]``); empty: no rule knows the trap.
    """

    __tablename__ = "snmp_trap"
    __table_args__ = (Index("ix_snmp_trap_trap_oid_received_at", "trap_oid", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    source: Mapped[str] = mapped_column(String(45))
    agent_addr: Mapped[str] = mapped_column(String(45), default="")
    version: Mapped[str] = mapped_column(String(3))
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    trap_oid: Mapped[str] = mapped_column(String(255))
    varbinds: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actions: Mapped[str] = mapped_column(String(255), default="")
