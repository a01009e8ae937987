"""Reads of the stored syslog messages: the search page, newest first, keyset-paged.

A page is the ``per_page`` newest messages matching the filters *before* a cursor (the
``(received_at, id)`` of the last row of the previous page), so page 1000 costs what page 1
costs and a message arriving meanwhile never shifts the pages (no ``OFFSET``). The indexes
serving it are described in :mod:`monitors.syslog.models`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select, tuple_

from assets import queries as registry
from monitors.syslog.models import SyslogMessage
from opskit import db

PER_PAGE = 50


@dataclass
class Found:
    items: list[SyslogMessage]
    next_cursor: tuple[datetime, int] | None  # where the next (older) page starts


def search(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    asset_id: int | None = None,
    max_severity: int | None = None,
    text: str = "",
    before: tuple[datetime, int] | None = None,
    per_page: int = PER_PAGE,
) -> Found:
    """Messages received in ``[start, end)`` of one asset, at least as severe as
    ``max_severity`` (0 emergency ... 7 debug), whose text, program or host name contains
    ``text``; the newest first, older than ``before``."""
    query = select(SyslogMessage)
    if start is not None:
        query = query.where(SyslogMessage.received_at >= start)
    if end is not None:
        query = query.where(SyslogMessage.received_at < end)
    if asset_id is not None:
        query = query.where(SyslogMessage.asset_id == asset_id)
    if max_severity is not None and max_severity < 7:
        query = query.where(SyslogMessage.severity <= max_severity)
    if text.strip():
        query = query.where(
            db.text_search(text, SyslogMessage.text, SyslogMessage.program, SyslogMessage.hostname)
        )
    if before is not None:
        at, last_id = before
        query = query.where(
            tuple_(SyslogMessage.received_at, SyslogMessage.id)
            < tuple_(literal(at, SyslogMessage.received_at.type), literal(last_id))
        )
    rows = list(
        db.session().scalars(
            query.order_by(SyslogMessage.received_at.desc(), SyslogMessage.id.desc()).limit(
                per_page + 1
            )
        )
    )
    more = len(rows) > per_page
    items = rows[:per_page]
    cursor = (items[-1].received_at, items[-1].id) if more and items else None
    return Found(items, cursor)


def assets_of(messages: list[SyslogMessage]) -> dict[int, Any]:
    ids = sorted({m.asset_id for m in messages if m.asset_id is not None})
    return {a.id: a for a in registry.assets_by_ids(ids)} if ids else {}


def asset_by_tag(tag: str) -> Any:
    return registry.asset_by_tag(tag.strip()) if tag.strip() else None
