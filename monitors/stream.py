"""One metric's values over a time range, oldest first, each value already a JSON object: what
the JSON API streams (``GET /api/v1/readings``).

``rows(...)`` reads the raw readings (resolution 0) or a rollup (300, 3600) with one Core
statement on the session's connection, in chunks (a server-side cursor on PostgreSQL), so a
caller writing the rows out holds one chunk at a time whatever the span. The database writes
each value's JSON (SQLite's ``json_object``, PostgreSQL's ``json_build_object``): turning
hundreds of thousands of numbers and times into text is what a Python loop is slowest at. But
SQLite writes a double with 15 significant digits only (31.645833333333332 as
31.6458333333333), so there the database writes the object up to ``at`` and Python appends the
numbers (``repr``: the shortest text that reads back as the same double, as PostgreSQL writes
them; measured +8 % CPU for 432,000 rows). The numbers are never NULL: readings without one are
left out, a rollup's are NOT NULL columns.
Ordered by time only: the time index (``ix_reading_at``, ``ix_reading_rollup_bucket``) already
walks the span in that order, so the database sorts nothing.

Each row is ``(asset_id, json)``: ``json`` an object ``{"asset_id", "instance", "at",
"value"}`` (and with ``stats`` a rollup's ``"min"``, ``"max"``, ``"count"``). ``at`` is ISO
8601 in UTC with its offset (a rollup's to the second, a raw reading's as stored, to the
microsecond); ``value`` the reading, or the bucket's average. Raw readings without a number
(states) are left out.

``columns(...)`` reads the same values in the same order and chunks, but hands each chunk over
as one JSON object of columns (``{"asset_id": [...], "instance": [...], "at": [...], "value":
[...]}``, with ``stats`` ``"min"``, ``"max"``, ``"count"`` too): the database writes the times'
text, Python's ``json.dumps`` the lists (C-fast; about as cheap to write as the rows, and a
client parses it two to four times faster). The same numbers as the rows', to the last digit.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import String, Text, cast, func, literal_column, select, type_coerce

from monitors import history
from monitors.models import Reading, Rollup
from opskit import db, memory

CHUNK = 5000
T = TypeVar("T")


def _stamp(dialect: str, at: Any, resolution: int) -> Any:
    """The time's text, written by the database: ISO 8601 in UTC with its offset."""
    if dialect == "sqlite":  # the stored text is UTC: 2026-10-01 08:00:00.000000
        text = type_coerce(at, String)
        clock = func.substr(text, 12, 8) if resolution else func.substr(text, 12)
        return (
            type_coerce(func.substr(text, 1, 10), String)
            + "T"
            + type_coerce(clock, String)
            + "+00:00"
        )
    pattern = 'YYYY-MM-DD"T"HH24:MI:SS' + ("" if resolution else ".US") + '"+00:00"'
    return func.to_char(func.timezone("UTC", at), pattern)


def _json(dialect: str, fields: list[tuple[str, Any]]) -> Any:
    """The row's JSON object, written by the database."""
    build = func.json_object if dialect == "sqlite" else func.json_build_object
    pairs: list[Any] = []
    for key, column in fields:
        pairs += [literal_column(f"'{key}'"), column]
    made = build(*pairs)
    return made if dialect == "sqlite" else cast(made, Text)


def _select(
    dialect: str,
    metric: str,
    start: datetime,
    end: datetime,
    resolution: int,
    asset_id: int | None,
    instance: str | None,
    stats: bool,
) -> tuple[list[tuple[str, Any]], list[Any], Any]:
    """The named columns of each value (``asset_id``, ``instance``, ``at`` as text, ``value``
    and with ``stats`` ``min``, ``max``, ``count``), the conditions, and the time to order by."""
    table: Any = Rollup if resolution else Reading
    at = Rollup.bucket if resolution else Reading.at
    fields: list[tuple[str, Any]] = [
        ("asset_id", table.asset_id),
        ("instance", table.instance),
        ("at", _stamp(dialect, at, resolution)),
    ]
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
    return fields, where, at


def _each(conn: Any, stmt: Any, size: int, make: Callable[[list[Any]], T]) -> Iterator[T]:
    """``make(chunk)`` of each chunk of the statement's rows, the garbage collector paused while
    a chunk is read and made (its row tuples would trigger it over and over: a third of the
    CPU) but not while the caller holds it (a slow client: other requests' garbage)."""
    chunks = history.chunks(conn, stmt, size)
    try:
        while True:
            with memory.collector_paused():
                found = next(chunks, None)
                if found is None:
                    return
                made = make(found)
            yield made
    finally:
        chunks.close()


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
    dialect = conn.dialect.name
    fields, where, at = _select(dialect, metric, start, end, resolution, asset_id, instance, stats)
    if dialect != "sqlite":
        stmt = select(fields[0][1], _json(dialect, fields)).where(*where).order_by(at)
        yield from _each(conn, stmt, chunk or CHUNK, list)
        return
    # SQLite: the object up to "at" by the database, the numbers (exact) by Python
    numbers = [column for _name, column in fields[3:]]
    stmt = select(fields[0][1], _json(dialect, fields[:3]), *numbers).where(*where).order_by(at)

    def value(found: list[Any]) -> list[tuple[int, str]]:
        return [(a, f'{text[:-1]},"value":{v!r}}}') for a, text, v in found]

    def stats_too(found: list[Any]) -> list[tuple[int, str]]:
        return [
            (a, f'{text[:-1]},"value":{v!r},"min":{lo!r},"max":{hi!r},"count":{n}}}')
            for a, text, v, lo, hi, n in found
        ]

    yield from _each(conn, stmt, chunk or CHUNK, value if len(numbers) == 1 else stats_too)


def columns(
    metric: str,
    start: datetime,
    end: datetime,
    resolution: int,
    asset_id: int | None = None,
    instance: str | None = None,
    stats: bool = False,
    chunk: int | None = None,
) -> Iterator[tuple[set[int], str]]:
    """The values ``rows`` reads, chunk for chunk, as ``(asset ids met, json)``: ``json`` one
    object of the chunk's columns (see above)."""
    conn = db.session().connection()
    dialect = conn.dialect.name
    fields, where, at = _select(dialect, metric, start, end, resolution, asset_id, instance, stats)
    names = [name for name, _column in fields]
    stmt = select(*(column for _name, column in fields)).where(*where).order_by(at)

    def made(found: list[Any]) -> tuple[set[int], str]:
        lists = list(zip(*found, strict=True))
        return set(lists[0]), json.dumps(dict(zip(names, lists, strict=True)), ensure_ascii=False)

    yield from _each(conn, stmt, chunk or CHUNK, made)


def stamp(at: datetime) -> str:
    """A time as the rows write it: ISO 8601 in UTC with its offset."""
    moment = at.astimezone(UTC)
    return moment.isoformat(timespec="seconds" if not moment.microsecond else "microseconds")
