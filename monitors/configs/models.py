"""Device configuration backups (issue #22): how each device is reached, and what it printed.

- ``ConfigDevice``: one asset's access for backups (at most one per asset): platform (a name in
  ``platforms.yaml``), transport ``ssh``/``telnet``, port (``None``: 22/23), address (``""``: the
  asset's management IP), user name, password and enable/super password encrypted at rest
  (``opskit.crypto``, never shown back), the commands for the ``generic`` platform, fetch
  interval (daily by default), timeout, enabled. The SSH host key is pinned on first use
  (``host_key_type`` e.g. ``ssh-ed25519``, ``host_key`` base64, ``host_key_fingerprint``
  ``SHA256:...``, ``host_key_pinned_at``); a different key offered later is kept in the
  ``offered_host_key*`` columns, the device's backups stop (no password is sent to it) until an
  admin accepts that key (``services.accept_host_key``). The scheduler's bookkeeping
  (``next_due_at``, ``lease_until``, last attempt/success/error, consecutive failures) is kept
  out of the audit log.
- ``ConfigVersion``: one distinct configuration of one asset, stored only when its hash changed:
  ``number`` 1, 2, 3 ... per asset (unique: two workers cannot both store the same successor),
  ``fetched_at``, ``sha256`` of the normalised text (``normalise.normalise``: volatile lines
  removed, varying secrets masked), ``size`` (UTF-8 bytes) and ``lines`` of that text,
  ``masked_text`` (secrets as ``<masked>``: what every page and report shows), ``text`` (the
  whole normalised text with its secrets, encrypted: the backup), ``changed_by`` (who/what
  changed it when known, e.g. matched from syslog; ``None``: unknown), ``previous_id``.
- ``ConfigFetch``: one attempt (scheduled, ``opskit configs fetch`` or a page's button):
  started/finished, ``ok``, the failure's ``reason`` (``normalise``/``device`` reasons plus
  ``host_key``) and its words, the version it produced or confirmed.

Pages (agreed URL shapes, built on these rows): a device's history ``/configs/<asset_id>``, one
version and its diff with the previous one ``/configs/<asset_id>/versions/<version_id>`` — the
link a 配置变更 alert carries (``services.version_url``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from opskit.crypto import EncryptedText
from opskit.db import Base, utcnow
from opskit.models import Audited

DEFAULT_INTERVAL_S = 86400  # daily
MIN_INTERVAL_S = 300
DEFAULT_TIMEOUT_S = 60
TRANSPORTS = ("ssh", "telnet")

_BOOKKEEPING = {"audit": False}
_SECRET = {"secret": True}


class ConfigDevice(Audited, Base):
    """One asset's access for configuration backups, its pinned host key and its schedule."""

    __tablename__ = "config_device"
    __table_args__ = (
        CheckConstraint("transport IN ('ssh', 'telnet')", name="transport_known"),
        CheckConstraint(f"interval_s >= {MIN_INTERVAL_S}", name="interval_min"),
        CheckConstraint("timeout_s >= 1", name="timeout_min"),
        CheckConstraint("port IS NULL OR (port >= 1 AND port <= 65535)", name="port_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), unique=True)
    platform: Mapped[str] = mapped_column(String(32))
    transport: Mapped[str] = mapped_column(String(8), default="ssh")
    host: Mapped[str] = mapped_column(String(255), default="")  # "": the asset's mgmt_ip
    port: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(128), default="")
    password: Mapped[str | None] = mapped_column(EncryptedText(), info=_SECRET)
    enable_password: Mapped[str | None] = mapped_column(EncryptedText(), info=_SECRET)
    commands: Mapped[list[str]] = mapped_column(JSON, default=list)  # generic platform only
    interval_s: Mapped[int] = mapped_column(default=DEFAULT_INTERVAL_S)
    timeout_s: Mapped[int] = mapped_column(default=DEFAULT_TIMEOUT_S)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    host_key_type: Mapped[str | None] = mapped_column(String(64))
    host_key: Mapped[str | None] = mapped_column(Text)
    host_key_fingerprint: Mapped[str | None] = mapped_column(String(128))
    host_key_pinned_at: Mapped[datetime | None]
    offered_host_key_type: Mapped[str | None] = mapped_column(String(64), info=_BOOKKEEPING)
    offered_host_key: Mapped[str | None] = mapped_column(Text, info=_BOOKKEEPING)
    offered_host_key_fingerprint: Mapped[str | None] = mapped_column(String(128), info=_BOOKKEEPING)
    offered_host_key_at: Mapped[datetime | None] = mapped_column(info=_BOOKKEEPING)

    next_due_at: Mapped[datetime] = mapped_column(default=utcnow, index=True, info=_BOOKKEEPING)
    lease_until: Mapped[datetime | None] = mapped_column(info=_BOOKKEEPING)
    last_attempt_at: Mapped[datetime | None] = mapped_column(info=_BOOKKEEPING)
    last_success_at: Mapped[datetime | None] = mapped_column(info=_BOOKKEEPING)
    last_reason: Mapped[str] = mapped_column(String(16), default="", info=_BOOKKEEPING)
    last_error: Mapped[str] = mapped_column(Text, default="", info=_BOOKKEEPING)
    consecutive_failures: Mapped[int] = mapped_column(default=0, info=_BOOKKEEPING)

    @property
    def audit_label(self) -> str:
        return f"configuration backup of asset #{self.asset_id}"


class ConfigVersion(Base):
    """One distinct configuration of one asset (see the module's docstring)."""

    __tablename__ = "config_version"
    __table_args__ = (
        UniqueConstraint("asset_id", "number", name="uq_config_version_asset_id_number"),
        Index("ix_config_version_asset_id_fetched_at", "asset_id", "fetched_at"),
        Index("ix_config_version_fetched_at", "fetched_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    number: Mapped[int]
    fetched_at: Mapped[datetime]
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    lines: Mapped[int]
    masked_text: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(EncryptedText(), info=_SECRET)
    changed_by: Mapped[str | None] = mapped_column(String(255))
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("config_version.id", ondelete="SET NULL")
    )


class ConfigFetch(Base):
    """One attempt to fetch one asset's configuration, and how it ended."""

    __tablename__ = "config_fetch"
    __table_args__ = (
        Index("ix_config_fetch_asset_id_started_at", "asset_id", "started_at"),
        Index("ix_config_fetch_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    ok: Mapped[bool]
    reason: Mapped[str] = mapped_column(String(16), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("config_version.id", ondelete="SET NULL")
    )
    new_version: Mapped[bool] = mapped_column(default=False)
