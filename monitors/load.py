"""Weekly load per asset and family, kept from the hourly rollups (table ``load_week``).

The quarterly load report needs, per core server and week, the peak and 95th percentile of the
hourly values of CPU, memory, storage (the fullest volume) and traffic (all interfaces, in +
out), and a least-squares line through a whole period of hourly values. Reading every hourly
rollup of a quarter (2.2 million rows for 200 servers) took seconds; this module keeps one row
per asset, family and *week piece* instead, updated as the hourly rollups are written. A week
piece is a Monday-to-Sunday week of the site's calendar cut at month ends (so 2026-07-27 to
07-31, then 08-01 to 08-02): report periods are months, quarters and years, so every week of a
report (Monday weeks cut at the period's edges) is one or two whole pieces (16 rows per series
and quarter instead of 2,208 rollups):

- :data:`FAMILIES` says which metrics make a family and how they combine within one hour
  (``max`` across instances, ``sum`` across metrics and instances);
- :func:`refresh` recomputes the slots of the hours in ``[start, end)`` from the hourly rollups
  and upserts the pieces they fall in (``monitors.rollups.run`` calls it after each hourly pass,
  so ``opskit rollup --since DATE`` also rebuilds them from ``DATE``); only the hours asked for
  are read, the rest of a piece's slots come from its stored row;
- :func:`weeks` reads the pieces of a period for some assets, in (asset, family, week) order.

Days are calendar days in the site's time zone (``OPSKIT_TIMEZONE``); slot ``s`` of a piece is
the hour starting ``s`` hours after the local midnight its first day begins with.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitors.models import LoadWeek, Resolution, Rollup
from opskit import db

#: family → (metrics, how the metrics/instances of one hour combine)
FAMILIES: dict[str, tuple[tuple[str, ...], str]] = {
    "cpu": (("host.cpu.load_percent",), "max"),
    "memory": (("host.memory.used_percent",), "max"),
    "storage": (("host.storage.used_percent",), "max"),
    "traffic": (("if.in_bps", "if.out_bps"), "sum"),
}
FAMILY_OF = {m: f for f, (metrics, _how) in FAMILIES.items() for m in metrics}
SLOTS = 7 * 24 + 1  # hours in the longest week piece (a week with the day DST ends)
NONE = float("-inf")  # a slot without a value (sorts first: percentiles need no filtering)
IN_CHUNK = 500
_SWAP = sys.byteorder != "little"  # slots are stored little-endian


def pack(values: list[float]) -> bytes:
    out = array("d", values)
    if _SWAP:
        out.byteswap()
    return out.tobytes()


def unpack(blob: bytes) -> array[float]:
    out = array("d")
    out.frombytes(blob)
    if _SWAP:
        out.byteswap()
    return out


def site_zone() -> ZoneInfo:
    if has_app_context():
        return ZoneInfo(current_app.config.get("SITE_TIMEZONE", "UTC"))
    return ZoneInfo("UTC")


def piece_of(day: date) -> date:
    """The first day of the week piece holding ``day``: its Monday, or the 1st of its month."""
    return max(day - timedelta(days=day.weekday()), day.replace(day=1))


def piece_end(first: date) -> date:
    """The day after the week piece starting on ``first``: next Monday or the next 1st."""
    monday = first + timedelta(days=7 - first.weekday())
    next_month = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return min(monday, next_month)


def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(LoadWeek.__table__)
    columns = ("n", "peak", "sum_y", "sum_s", "sum_ss", "sum_sy", "avgs", "peaks")
    return statement.on_conflict_do_update(
        index_elements=["asset_id", "family", "week"],
        set_={k: statement.excluded[k] for k in columns},
    )


def _row(
    asset_id: int, family: str, week: date, avgs: list[float], peaks: list[float]
) -> dict[str, Any]:
    n, sy, ss, sss, ssy, peak = 0, 0.0, 0.0, 0.0, 0.0, -math.inf
    for s, y in enumerate(avgs):
        if y != NONE:
            n += 1
            sy += y
            ss += s
            sss += s * s
            ssy += s * y
            if peaks[s] > peak:
                peak = peaks[s]
    return {
        "asset_id": asset_id,
        "family": family,
        "week": week,
        "n": n,
        "peak": peak if n else 0.0,
        "sum_y": sy,
        "sum_s": ss,
        "sum_ss": sss,
        "sum_sy": ssy,
        "avgs": pack(avgs),
        "peaks": pack(peaks),
    }


def refresh(session: Session, start: datetime, end: datetime, tz: ZoneInfo | None = None) -> int:
    """Recompute the slots of the hours in [start, end) and upsert their week pieces; rows
    written (a piece once, unless the hours it got from the window have a day-long gap).

    Reads the hourly rollups of the family metrics in the window one day at a time (memory
    stays bounded however long the window).
    """
    tz = tz or site_zone()
    dialect = session.get_bind().dialect.name
    metrics = sorted(FAMILY_OF)
    written = 0
    previous: set[tuple[int, str, date]] = set()  # the pieces the day before touched
    cursor = start
    while cursor < end:
        upto = min(cursor + timedelta(days=1), end)
        #: (asset, family, bucket) → [avg, peak] combined across metrics and instances
        hours: dict[tuple[int, str, datetime], list[float]] = {}
        rows = session.execute(
            select(Rollup.asset_id, Rollup.metric, Rollup.bucket, Rollup.avg, Rollup.max).where(
                Rollup.resolution == int(Resolution.HOUR),
                Rollup.metric.in_(metrics),
                Rollup.bucket >= cursor,
                Rollup.bucket < upto,
            )
        )
        for asset_id, metric, bucket, avg, peak in rows:
            family = FAMILY_OF[metric]
            key = (asset_id, family, bucket)
            slot = hours.get(key)
            if slot is None:
                hours[key] = [avg, peak]
            elif FAMILIES[family][1] == "sum":
                slot[0] += avg
                slot[1] += peak
            else:
                slot[0] = max(slot[0], avg)
                slot[1] = max(slot[1], peak)
        cursor = upto
        if not hours:
            continue
        starts: dict[date, tuple[date, float]] = {}  # day → (its piece, the piece's midnight)
        #: (asset, family, piece) → {slot: (avg, peak)}
        touched: dict[tuple[int, str, date], dict[int, list[float]]] = {}
        for (asset_id, family, bucket), values in hours.items():
            day = bucket.astimezone(tz).date()
            piece = starts.get(day)
            if piece is None:
                first = piece_of(day)
                piece = starts[day] = (first, datetime.combine(first, time(), tz).timestamp())
            s = int((bucket.timestamp() - piece[1]) // 3600)
            touched.setdefault((asset_id, family, piece[0]), {})[s] = values
        _write(session, dialect, touched)
        written += len(touched.keys() - previous)
        previous = set(touched)
    return written


def _write(
    session: Session, dialect: str, touched: dict[tuple[int, str, date], dict[int, list[float]]]
) -> int:
    asset_ids = sorted({k[0] for k in touched})
    pieces = sorted({k[2] for k in touched})
    stored: dict[tuple[int, str, date], tuple[bytes, bytes]] = {}
    for i in range(0, len(asset_ids), IN_CHUNK):
        chunk = asset_ids[i : i + IN_CHUNK]
        for asset_id, family, week, packed_avgs, packed_peaks in session.execute(
            select(
                LoadWeek.asset_id, LoadWeek.family, LoadWeek.week, LoadWeek.avgs, LoadWeek.peaks
            ).where(LoadWeek.asset_id.in_(chunk), LoadWeek.week.in_(pieces))
        ):
            stored[(asset_id, family, week)] = (packed_avgs, packed_peaks)
    rows = []
    for key, slots in touched.items():
        old = stored.get(key)
        if old is None:
            avgs, peaks = [NONE] * SLOTS, [NONE] * SLOTS
        else:
            avgs, peaks = list(unpack(old[0])), list(unpack(old[1]))
        for s, (avg, peak) in slots.items():
            avgs[s], peaks[s] = avg, peak
        rows.append(_row(*key, avgs, peaks))
    for i in range(0, len(rows), 5000):
        session.execute(_upsert(dialect), rows[i : i + 5000])
    return len(rows)


def prune(session: Session, before: date) -> int:
    """Delete the week pieces that end on or before ``before`` (the retention of the hourly
    rollups); rows deleted."""
    firsts = session.scalars(select(LoadWeek.week).where(LoadWeek.week < before).distinct())
    gone = [first for first in firsts if piece_end(first) <= before]
    if not gone:
        return 0
    return db.rowcount(session.execute(delete(LoadWeek.__table__).where(LoadWeek.week.in_(gone))))


def weeks(
    asset_ids: list[int], first: date, last: date, families: list[str] | None = None
) -> Iterator[tuple[Any, ...]]:
    """The week pieces starting in [first, last] of ``asset_ids``, ordered by asset, family and
    first day: ``(asset_id, family, week, n, peak, sum_y, sum_s, sum_ss, sum_sy, hours)`` with
    ``hours`` the piece's hourly values as an ``array('d')`` of :data:`SLOTS` (``NONE`` where
    there is no value: sorted, the values are the last ``n``). Pieces without values are left
    out. With ``first`` the 1st of a month, no piece reaches back before it."""
    families = families or list(FAMILIES)
    conn = db.session().connection()  # Core rows: no ORM work per row
    ids = sorted(asset_ids)
    for i in range(0, len(ids), IN_CHUNK):
        rows = conn.execute(
            select(
                LoadWeek.asset_id,
                LoadWeek.family,
                LoadWeek.week,
                LoadWeek.n,
                LoadWeek.peak,
                LoadWeek.sum_y,
                LoadWeek.sum_s,
                LoadWeek.sum_ss,
                LoadWeek.sum_sy,
                LoadWeek.avgs,
            )
            .where(
                LoadWeek.asset_id.in_(ids[i : i + IN_CHUNK]),
                LoadWeek.family.in_(families),
                LoadWeek.week >= first,
                LoadWeek.week <= last,
                LoadWeek.n > 0,
            )
            .order_by(LoadWeek.asset_id, LoadWeek.family, LoadWeek.week)
            .execution_options(yield_per=5000)
        )
        for *head, blob in rows:
            yield (*head, unpack(blob))


def daily_peaks(
    asset_ids: list[int], first: date, last: date, tz: ZoneInfo | None = None
) -> Iterator[tuple[int, str, list[tuple[date, float]]]]:
    """The daily peaks (highest hourly maximum of each local day) in [first, last] of
    ``asset_ids`` from the week pieces' hourly maxima, one week piece at a time, ordered by
    asset, family and day: ``(asset_id, family, [(day, peak), ...])``; days without a value
    are left out."""
    tz = tz or site_zone()
    conn = db.session().connection()  # Core rows: no ORM work per row
    ids = sorted(asset_ids)
    #: piece → its days' slot ranges (a day's hours: 23 to 25 where DST changes)
    bounds: dict[date, list[tuple[date, int, int]]] = {}
    for i in range(0, len(ids), IN_CHUNK):
        rows = conn.execute(
            select(LoadWeek.asset_id, LoadWeek.family, LoadWeek.week, LoadWeek.peaks)
            .where(
                LoadWeek.asset_id.in_(ids[i : i + IN_CHUNK]),
                LoadWeek.week >= piece_of(first),
                LoadWeek.week <= last,
                LoadWeek.n > 0,
            )
            .order_by(LoadWeek.asset_id, LoadWeek.family, LoadWeek.week)
            .execution_options(yield_per=5000)
        )
        for asset_id, family, week, blob in rows:
            days = bounds.get(week)
            if days is None:
                base = datetime.combine(week, time(), tz).timestamp()
                days = bounds[week] = []
                day = week
                while day < piece_end(week):
                    after = day + timedelta(days=1)
                    lo = int((datetime.combine(day, time(), tz).timestamp() - base) // 3600)
                    hi = int((datetime.combine(after, time(), tz).timestamp() - base) // 3600)
                    days.append((day, lo, hi))
                    day = after
            peaks = unpack(blob)
            found = [(day, max(peaks[lo:hi])) for day, lo, hi in days if first <= day <= last]
            yield asset_id, family, [(day, peak) for day, peak in found if peak != NONE]
