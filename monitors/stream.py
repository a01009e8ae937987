"""One metric's values over a time range, oldest first, each value already a JSON object: what
the JSON API streams (``GET /api/v1/readings``).

``rows(...)`` reads the raw readings (resolution 0) or a rollup (300, 3600) with one Core
statement on the session's connection, in chunks (a server-side cursor on PostgreSQL), so a
caller writing the rows out holds one chunk at a time whatever the span. The database writes
each value's JSON (SQLite's ``json_object``, PostgreSQL's ``json_build_object``): turning
hundreds of thousands of numbers and times into text is what a Python loop is slowest at.
Ordered by time only: the time index (``ix_reading_at``, ``ix_reading_rollup_bucket``) already
walks the span in that order, so the database sorts nothing.

Each row is ``(asset_id, json)``: ``json`` an object ``{"asset_id", "instance", "at",
"value"}`` (and with ``stats`` a rollup's ``"min"``, ``"max"``, ``"count"``). ``at`` is ISO
8601 in UTC with its offset (a rollup's to the second, a raw reading's as stored, to the
microsecond); ``value`` the reading, or the bucket's average. Raw readings without a number
(states) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, Text, cast, func, literal_column, select, type_coerce

from monitors import history
from monitors.models import Reading, Rollup
from opskit import db

CHUNK = 5000


def _json(dialect: str, at: Any, resolution: int, fields: list[tuple[str, Any]]) -> Any:
    """The row's JSON object, written by the database."""
    if dialect == "sqlite":  # the stored text is UTC: 2026-10-01 08:00:00.000000
        text = type_coerce(at, String)
        clock = func.substr(text, 12, 8) if resolution else func.substr(text, 12)
        stamp = (
            type_coerce(func.substr(text, 1, 10), String)
            + "T"
            + type_coerce(clock, String)
            + "+00:00"
        )
        build = func.json_object
    else:
        pattern = 'YYYY-MM-DD"T"HH24:MI:SS' + ("" if resolution else ".US") + '"+00:00"'
        stamp = func.to_char(func.timezone("UTC", at), pattern)
        build = func.json_build_object
    pairs: list[Any] = []
    for key, column in [*fields[:2], ("at", stamp), *fields[2:]]:
        pairs += [literal_column(f"'{key}'"), column]
    made = build(*pairs)
    return made if dialect == "sqlite" else cast(made, Text)


def rows(
    metric: str,
    start: datetime,
    end: datetime,
    resolution: int,
    asset_id: int | None = None,
    instance: str | None = None,
    stats: bool = False,
    chunk: int | None = None,
) -> Iterator[Sequence[Any]]:
    """The values of ``metric`` in [start, end), of one asset or all, by time, as ``(asset_id,
    json)`` rows (see above) in lists of at most ``chunk`` (default ``CHUNK``)."""
    conn = db.session().connection()
    table: Any = Rollup if resolution else Reading
    at = Rollup.bucket if resolution else Reading.at
    fields: list[tuple[str, Any]] = [("asset_id", table.asset_id), ("instance", table.instance)]
    if resolution:
        fields.append(("value", Rollup.avg))
        if stats:
            fields += [("min", Rollup.min), ("max", Rollup.max), ("count", Rollup.count)]
    else:
        fields.append(("value", Reading.value))
    kept = Rollup.resolution == resolution if resolution else Reading.value.is_not(None)
    where = [table.metric == metric, kept, at >= start, at < end]
    if asset_id is not None:
        where.append(table.asset_id == asset_id)
    if instance is not None:
        where.append(table.instance == instance)
    row = _json(conn.dialect.name, at, resolution, fields)
    stmt = select(table.asset_id, row).where(*where).order_by(at)
    yield from history.chunks(conn, stmt, chunk or CHUNK)


def stamp(at: datetime) -> str:
    """A time as the rows write it: ISO 8601 in UTC with its offset."""
    moment = at.astimezone(UTC)
    return moment.isoformat(timespec="seconds" if not moment.microsecond else "microseconds")
