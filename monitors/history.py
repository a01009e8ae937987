"""Reads over a period of the stored history, for the report kinds (``reports/``) and
``opskit.data``: hourly values, one metric's values at a resolution (``metric_rows``), volume
use, LLDP neighbours and ARP sightings. Offered through ``monitors.queries``."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.orm import aliased

from monitors.models import ArpSighting, LldpNeighbor, Reading, Resolution, Rollup
from opskit import db

#: ids per IN list (SQLite allows 32,766 bound parameters in a statement)
IN_CHUNK = 5000


def hourly_values(
    asset_ids: list[int],
    metrics: list[str],
    start: datetime,
    end: datetime,
    instances: list[str] | None = None,
) -> Iterator[tuple[int, str, str, datetime, float, float]]:
    """(asset id, metric, instance, hour, average, maximum) of each hour in [start, end);
    only of ``instances`` when given (``[""]``: the whole device's series, not each
    database's or volume's).

    Streamed in (asset, metric, instance, hour) order so a caller can reduce one series at a
    time. Hours come from the hourly rollups; an (asset, metric) without any hourly rollup in
    the window is computed here from its raw readings (a site whose rollups are not running yet).
    """
    if not asset_ids or not metrics:
        return
    sess = db.session()
    found: set[tuple[int, str]] = set()
    rollups = (
        select(
            Rollup.asset_id, Rollup.metric, Rollup.instance, Rollup.bucket, Rollup.avg, Rollup.max
        )
        .where(
            Rollup.asset_id.in_(asset_ids),
            Rollup.metric.in_(metrics),
            Rollup.resolution == int(Resolution.HOUR),
            Rollup.bucket >= start,
            Rollup.bucket < end,
            *(() if instances is None else (Rollup.instance.in_(instances),)),
        )
        .order_by(Rollup.asset_id, Rollup.metric, Rollup.instance, Rollup.bucket)
        .execution_options(yield_per=5000)
    )
    for row in sess.execute(rollups):
        found.add((row[0], row[1]))
        yield row[0], row[1], row[2], row[3], row[4], row[5]
    missing = [a for a in asset_ids if any((a, m) not in found for m in metrics)]
    if not missing:
        return
    readings = (
        select(Reading.asset_id, Reading.metric, Reading.instance, Reading.at, Reading.value)
        .where(
            Reading.asset_id.in_(missing),
            Reading.metric.in_(metrics),
            Reading.value.is_not(None),
            Reading.at >= start,
            Reading.at < end,
            *(() if instances is None else (Reading.instance.in_(instances),)),
        )
        .order_by(Reading.asset_id, Reading.metric, Reading.instance, Reading.at)
        .execution_options(yield_per=5000)
    )
    key: tuple[int, str, str, datetime] | None = None
    total = peak = 0.0
    count = 0
    for asset_id, metric, instance, at, value in sess.execute(readings):
        if (asset_id, metric) in found:
            continue
        assert value is not None  # the query leaves NULL values out
        hour = at.replace(minute=0, second=0, microsecond=0)
        current = (asset_id, metric, instance, hour)
        if current != key:
            if key is not None:
                yield *key, total / count, peak
            key, total, peak, count = current, 0.0, value, 0
        total += value
        peak = max(peak, value)
        count += 1
    if key is not None:
        yield *key, total / count, peak


def _value_at(table: Any, value: Any, span: Any, moment: Any) -> Any:
    """The value (column ``value`` of ``table``) of ``span``'s series at ``moment``: a scalar
    subquery, one index lookup per series (hourly rollups for the rollup table)."""
    here = aliased(table)
    at = here.bucket if table is Rollup else here.at
    return (
        select(getattr(here, value.key))
        .where(
            here.asset_id == span.c.asset_id,
            here.metric == span.c.metric,
            here.instance == span.c.instance,
            at == moment,
            *((here.resolution == int(Resolution.HOUR),) if table is Rollup else ()),
        )
        .order_by(here.id.desc())  # a duplicate reading: the one stored last
        .limit(1)
        .scalar_subquery()
    )


def volume_usage(
    start: datetime, end: datetime, asset_ids: list[int] | None = None
) -> dict[tuple[int, str], dict[str, Any]]:
    """Each volume's use in [start, end): ``{(asset id, volume): {first, last, peak, size}}``.

    ``first``/``last``/``peak`` are ``host.storage.used_percent`` (first and last reading of the
    window, highest reading), ``size`` the last ``host.storage.size_bytes``. From raw readings;
    a volume without readings in the window falls back to its hourly rollups. One query per
    table walks the window once (grouped: each series' first and last moment and its peak) and
    looks up the values at those two moments through the (asset, metric, ...) index;
    ``asset_ids`` (the assets of the report) lets the database walk that index for the window.
    """
    if asset_ids is not None and len(asset_ids) > IN_CHUNK:
        out: dict[tuple[int, str], dict[str, Any]] = {}
        for i in range(0, len(asset_ids), IN_CHUNK):
            out |= volume_usage(start, end, asset_ids[i : i + IN_CHUNK])
        return out
    sess = db.session()
    metrics = ("host.storage.used_percent", "host.storage.size_bytes")
    out = {}
    sources = (
        (Reading, Reading.at, Reading.value, Reading.value, Reading.value, ()),
        (
            Rollup,
            Rollup.bucket,
            Rollup.avg,
            Rollup.last,
            Rollup.max,
            (Rollup.resolution == int(Resolution.HOUR),),
        ),
    )
    for table, at, first_value, last_value, peak_value, extra in sources:
        where = (
            table.metric.in_(metrics),
            at >= start,
            at < end,
            *(() if table is Rollup else (Reading.value.is_not(None),)),
            *(() if asset_ids is None else (table.asset_id.in_(asset_ids),)),
            *extra,
        )
        span = (
            select(
                table.asset_id.label("asset_id"),
                table.metric.label("metric"),
                table.instance.label("instance"),
                func.min(at).label("t0"),
                func.max(at).label("t1"),
                func.max(peak_value).label("peak"),
            )
            .where(*where)
            .group_by(table.asset_id, table.metric, table.instance)
            .subquery()
        )

        query = select(
            span.c.asset_id,
            span.c.metric,
            span.c.instance,
            span.c.peak,
            _value_at(table, first_value, span, span.c.t0),
            _value_at(table, last_value, span, span.c.t1),
        )
        found: dict[tuple[int, str], dict[str, Any]] = {}
        for asset_id, metric, instance, peak, first, last in sess.execute(query):
            entry = found.setdefault(
                (asset_id, instance), {"first": None, "last": None, "peak": None, "size": None}
            )
            if metric == "host.storage.size_bytes":
                entry["size"] = last
            else:
                entry["first"], entry["last"], entry["peak"] = first, last, peak
        for key, entry in found.items():
            out.setdefault(key, entry)
    return out


def lldp_neighbours_between(start: datetime, end: datetime) -> list[Any]:
    """LLDP neighbours seen by some poll in [start, end), by reporting asset and local port, as
    plain rows (a Core statement): id, asset_id, local_port, remote_sys_name, remote_port,
    remote_chassis_id, remote_asset_id, first_seen, last_seen."""
    query = (
        select(
            LldpNeighbor.id,
            LldpNeighbor.asset_id,
            LldpNeighbor.local_port,
            LldpNeighbor.remote_sys_name,
            LldpNeighbor.remote_port,
            LldpNeighbor.remote_chassis_id,
            LldpNeighbor.remote_asset_id,
            LldpNeighbor.first_seen,
            LldpNeighbor.last_seen,
        )
        .where(LldpNeighbor.last_seen >= start, LldpNeighbor.first_seen < end)
        .order_by(LldpNeighbor.asset_id, LldpNeighbor.local_port, LldpNeighbor.id)
    )
    return list(db.session().connection().execute(query))


def arp_sightings_between(start: datetime, end: datetime) -> Iterator[Any]:
    """IP/MAC pairs some ARP table held in [start, end), by IP then MAC, streamed as plain rows
    (``asset_id``, ``ip``, ``mac``, ``first_seen``, ``last_seen``)."""
    query = (
        select(
            ArpSighting.asset_id,
            ArpSighting.ip,
            ArpSighting.mac,
            ArpSighting.first_seen,
            ArpSighting.last_seen,
        )
        .where(ArpSighting.last_seen >= start, ArpSighting.first_seen < end)
        .order_by(ArpSighting.ip, ArpSighting.mac, ArpSighting.id)
        .execution_options(yield_per=5000)
    )
    # Core on the session's connection: plain columns need none of the ORM's result handling
    yield from db.session().connection().execute(query)


#: the columns of :func:`metric_rows` by source: raw readings, or rollups (5-minute, hourly)
RAW_COLUMNS = ("asset_id", "instance", "at", "value")
ROLLUP_COLUMNS = ("asset_id", "instance", "at", "value", "min", "max", "count")


def metric_rows(
    metric: str,
    start: datetime,
    end: datetime,
    resolution: int,
    asset_ids: Any = None,
    chunk: int = 20000,
    spread: bool = True,
) -> Iterator[list[Any]]:
    """One metric's values in [start, end) from the raw readings (``resolution`` 0) or the
    rollups (300, 3600: the bucket's average as ``value``, its min, max and count), of the
    assets ``asset_ids`` (a list or a subquery of ids; every asset when ``None``).

    Streamed as lists of at most ``chunk`` plain tuples (``RAW_COLUMNS`` or
    ``ROLLUP_COLUMNS``) in no particular order, from a Core statement on the session's
    connection (on SQLite read from the driver's cursor; on PostgreSQL a server-side cursor):
    no ORM objects, so a caller building columns (``opskit.data``) holds one chunk of rows at a
    time. ``at`` is the time as
    the database holds it, for a vectorised parse: UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` on
    SQLite, an aware datetime on PostgreSQL. Raw readings without a number (states) are left
    out. ``spread`` False: a rollup's average only (the first four columns, what a table of one
    value per series and time needs).
    """
    conn = db.session().connection()
    table: Any = Rollup if resolution else Reading
    at = Rollup.bucket if resolution else Reading.at
    values = (Rollup.avg, Rollup.min, Rollup.max, Rollup.count) if resolution else (Reading.value,)
    values = values if spread else values[:1]
    kept = Rollup.resolution == resolution if resolution else Reading.value.is_not(None)
    stmt = select(
        table.asset_id,
        table.instance,
        type_coerce(at, String) if conn.dialect.name == "sqlite" else at,
        *values,
    )
    where = [table.metric == metric, kept, at >= start, at < end]
    if asset_ids is not None:
        where.append(table.asset_id.in_(asset_ids))
    # no ORDER BY: a sort of the whole span in SQL costs more than the caller's sort of
    # its columns (numpy), and the bucket index already bounds the walk to the span
    yield from chunks(conn, stmt.where(*where), chunk)


def chunks(conn: Any, stmt: Any, size: int) -> Generator[list[Any], None, None]:
    """The rows of a Core statement as lists of at most ``size`` plain tuples, one list in
    memory at a time (``metric_rows`` and the readings API's ``monitors.stream``)."""
    if conn.dialect.name == "postgresql":  # a server-side cursor: a chunk in memory at a time
        streamed = conn.execution_options(yield_per=size).execute(stmt)
        try:
            for found in streamed.partitions(size):
                yield [tuple(row) for row in found]
        finally:
            streamed.close()
        return
    # SQLite steps its cursor as rows are fetched: the driver's own rows (plain tuples), since
    # none of these columns needs SQLAlchemy's result processing (ids, text, floats, times as
    # stored) and wrapping each row costs as much as turning all of them into columns. Without
    # yield_per, whose buffered strategy would read rows ahead of the cursor.
    result = conn.execute(stmt)
    try:
        while rows := result.cursor.fetchmany(size):
            yield list(rows)
    finally:
        result.close()
