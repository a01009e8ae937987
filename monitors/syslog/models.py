"""The syslog messages ``opskit syslog receive`` stored (the contract's 网络运行日志).

``SyslogMessage``: one message a device sent, with when it arrived (``received_at``, the
receiver's clock in UTC: device clocks drift and RFC 3164 times carry no year or zone), the
sender's address, the asset matched by that address (a management IP or a registered address;
``None``: unknown sender), facility and severity as the PRI numbers (words on the page), the
header's host name and program/tag, the message text and RFC 5424 structured data as text.

Indexes, chosen for the search page (newest first, keyset-paged on ``(received_at, id)``):

- ``(received_at, id)``: a time range, and every page of "all assets" read backwards along it
  (``WHERE (received_at, id) < (:t, :id) ORDER BY received_at DESC, id DESC LIMIT 50``);
- ``(asset_id, received_at, id)``: one asset's messages in a time range, same order;
- none on severity (eight values, "at least warning" keeps most rows: a filter on the rows the
  time index yields);
- the text search (``ILIKE '%...%'`` on text, program and host name) reads the time range's
  rows newest first and stops at the page's 50th match: a common text costs little, a rare one
  the range's rows. On PostgreSQL with ``pg_trgm``, migration 0018 adds a trigram GIN index on
  each of the three columns (the search ORs them), so a rare text is found through them (7 days
  of 1 million rows: 285 ms -> 40-60 ms); where the extension cannot be created the search
  reads the range as before. Measured costs and the fallback: README, Syslog, and
  ``bench/syslog_search.py``. Not in these models (``opskit.migrate.OPTIONAL_INDEX_SUFFIX``).

Retention deletes by ``received_at`` in batches through the time index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from opskit.db import Base


class SyslogMessage(Base):
    """One syslog message one device sent."""

    __tablename__ = "syslog_message"
    __table_args__ = (
        Index("ix_syslog_message_received_at_id", "received_at", "id"),
        Index("ix_syslog_message_asset_id_received_at_id", "asset_id", "received_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(45))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="SET NULL"))
    facility: Mapped[int] = mapped_column(SmallInteger)
    severity: Mapped[int] = mapped_column(SmallInteger)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    program: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    structured_data: Mapped[str] = mapped_column(Text, default="")
