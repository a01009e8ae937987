"""One metric's values over a time range, oldest first, in chunks of plain rows: what the JSON
API streams (``GET /api/v1/readings``).

``rows(...)`` reads the raw readings (resolution 0) or a rollup (300, 3600) with one Core
statement on the session's connection, in chunks (a server-side cursor on PostgreSQL), so a
caller writing the rows out holds one chunk at a time whatever the span.
Ordered by time only: the time index (``ix_reading_at``, ``ix_reading_rollup_bucket``) already
walks the span in that order, so the database sorts nothing. Each row is ``(asset_id, instance,
at, value)`` for raw readings (numbers only; states are left out) and ``(asset_id, instance,
at, avg, min, max, count)`` for a rollup; ``at`` as the database holds it (``stamp`` turns it
into ISO 8601 text with its offset).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, select, type_coerce

from monitors.models import Reading, Rollup
from opskit import db

CHUNK = 5000


def rows(
    metric: str,
    start: datetime,
    end: datetime,
    resolution: int,
    asset_id: int | None = None,
    instance: str | None = None,
    chunk: int | None = None,
) -> Iterator[Sequence[Any]]:
    """The values of ``metric`` in [start, end), of one asset or all, by time (see above), in
    lists of at most ``chunk`` rows (default ``CHUNK``)."""
    conn = db.session().connection()
    table: Any = Rollup if resolution else Reading
    at = Rollup.bucket if resolution else Reading.at
    values = (Rollup.avg, Rollup.min, Rollup.max, Rollup.count) if resolution else (Reading.value,)
    kept = Rollup.resolution == resolution if resolution else Reading.value.is_not(None)
    where = [table.metric == metric, kept, at >= start, at < end]
    if asset_id is not None:
        where.append(table.asset_id == asset_id)
    if instance is not None:
        where.append(table.instance == instance)
    stamp_column = type_coerce(at, String) if conn.dialect.name == "sqlite" else at
    stmt = select(table.asset_id, table.instance, stamp_column, *values).where(*where).order_by(at)
    size = chunk or CHUNK
    # through the result, not its DBAPI cursor: the result may already hold rows it read ahead
    result = conn.execution_options(yield_per=size).execute(stmt)
    try:
        yield from result.partitions(size)
    finally:
        result.close()


def stamp(at: Any) -> str:
    """A time from :func:`rows` as ISO 8601 in UTC with its offset: SQLite's stored text
    (``2026-10-01 08:00:00.000000``, already UTC) by slicing, a driver's datetime by
    conversion. Whole seconds lose their ``.000000``."""
    if isinstance(at, str):
        text = at[:19] if at.endswith(".000000") or len(at) == 19 else at
        return f"{text[:10]}T{text[11:]}+00:00"
    moment: datetime = at.astimezone(UTC)
    return moment.isoformat(timespec="seconds" if not moment.microsecond else "microseconds")
