"""Figures of a metric over a report's period, aggregated in SQL (for ``reports/``; offered
through ``monitors.queries``): minimum, mean and maximum, the time in slots with a value
outside given limits, and a percentile (the 95th of UPS load, line traffic, PDU current).

**Where the values come from.** A quarter holds far more raw readings than are kept (14 days
by default), so the figures are read from the rollups: the 5-minute rollups when they reach
back as far as the hourly ones in the period (the 5-minute ones are kept 180 days), else the
hourly ones (an annual pack's older months); a site whose rollups are not running yet (no
rollup in the period) is read from its raw readings, grouped into 5-minute slots in SQL the
way the rollups would be. One resolution serves the whole period, so every slot has one width.

- **Slots**: one per (series, bucket): its count of readings, minimum, maximum and mean.
- **Mean**: weighted by the readings each slot holds (the mean of the readings).
- **Time outside limits**: the buckets in which any series asked for had a value beyond a
  limit (its slot's maximum above ``high`` or minimum below ``low``), each counted once
  however many series were outside in it, times the bucket's width: so two probes of one
  room out of range at once count once.
- **Percentile** (nearest rank): of an asset's slots' means, the value at rank
  ``ceil(q * n / 100)`` in ascending order; the database counts every asset's slots in one
  ``GROUP BY`` and returns each asset's slots from the highest down to that rank (``ORDER BY
  mean DESC LIMIT n - rank + 1``: the peak and the percentile in one statement), so only the
  top few of a series (5 % for the 95th) are read into Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, literal, or_, select, union

from monitors.models import Reading, Resolution, Rollup
from monitors.rollups import _bucket
from opskit import db

FIVE = int(Resolution.FIVE_MINUTES)
HOUR = int(Resolution.HOUR)
RAW = 0  # raw readings, grouped into 5-minute slots


@dataclass(frozen=True)
class RangeStats:
    """A metric of some series over a period (see the module's docstring)."""

    readings: int  # readings the slots hold
    low: float | None
    mean: float | None
    high: float | None
    outside_s: float  # seconds in buckets with a value outside the limits
    slot_s: int  # the width of a bucket: 300 or 3600
    resolution: int  # where they came from: 300, 3600 or 0 (raw readings)


@dataclass(frozen=True)
class Percentile:
    """A percentile of the slots' means, with how many slots there were and the highest."""

    value: float
    slots: int
    peak: float  # the highest slot mean
    resolution: int


def _filters(
    table: Any, asset_ids: Sequence[int], metrics: Sequence[str], instance: str | None
) -> list[Any]:
    found = [table.asset_id.in_(list(asset_ids)), table.metric.in_(list(metrics))]
    if instance is not None:
        found.append(table.instance == instance)
    return found


def resolution_of(
    asset_ids: Sequence[int],
    metrics: Sequence[str],
    start: datetime,
    end: datetime,
    instance: str | None = None,
    hourly: bool = False,
) -> int:
    """Which data serves [start, end): 300 (5-minute rollups), 3600 (hourly) or 0 (raw).
    ``hourly``: the hourly rollups whenever there are any in the period (a figure read from
    hourly means, twelve times fewer rows)."""
    if not asset_ids:
        return RAW
    if hourly:
        found = db.session().scalar(
            select(Rollup.id)
            .where(
                *_filters(Rollup, asset_ids, metrics, instance),
                Rollup.resolution == HOUR,
                Rollup.bucket >= start,
                Rollup.bucket < end,
            )
            .limit(1)
        )
        if found is not None:
            return HOUR
    rows = db.session().execute(
        select(Rollup.resolution, func.min(Rollup.bucket))
        .where(
            *_filters(Rollup, asset_ids, metrics, instance),
            Rollup.bucket >= start,
            Rollup.bucket < end,
        )
        .group_by(Rollup.resolution)
    )
    oldest = {int(resolution): first for resolution, first in rows}
    five, hour = oldest.get(FIVE), oldest.get(HOUR)
    if five is None:
        return HOUR if hour is not None else RAW
    if hour is not None and hour + timedelta(seconds=HOUR) <= five:
        return HOUR  # the hourly rollups reach further back: the 5-minute ones were pruned
    return FIVE


def _slots(
    asset_ids: Sequence[int],
    metrics: Sequence[str],
    start: datetime,
    end: datetime,
    resolution: int,
    instance: str | None,
) -> Any:
    """A subquery of slots: asset_id, bucket, n, lo, hi, mean (one row per series and
    bucket)."""
    if resolution:
        return (
            select(
                Rollup.asset_id.label("asset_id"),
                Rollup.bucket.label("bucket"),
                Rollup.count.label("n"),
                Rollup.min.label("lo"),
                Rollup.max.label("hi"),
                Rollup.avg.label("mean"),
            )
            .where(
                *_filters(Rollup, asset_ids, metrics, instance),
                Rollup.resolution == resolution,
                Rollup.bucket >= start,
                Rollup.bucket < end,
            )
            .subquery()
        )
    dialect = db.session().get_bind().dialect.name
    bucket = _bucket(Reading.at, FIVE, dialect).label("bucket")
    return (
        select(
            Reading.asset_id.label("asset_id"),
            bucket,
            func.count(Reading.value).label("n"),
            func.min(Reading.value).label("lo"),
            func.max(Reading.value).label("hi"),
            func.avg(Reading.value).label("mean"),
        )
        .where(
            *_filters(Reading, asset_ids, metrics, instance),
            Reading.value.is_not(None),
            Reading.at >= start,
            Reading.at < end,
        )
        .group_by(Reading.asset_id, Reading.metric, Reading.instance, bucket)
        .subquery()
    )


def range_stats(
    asset_ids: Sequence[int],
    metrics: Sequence[str],
    start: datetime,
    end: datetime,
    low: float | None = None,
    high: float | None = None,
    instance: str | None = None,
) -> RangeStats:
    """Minimum, mean, maximum of ``metrics`` of ``asset_ids`` over [start, end) and the time
    in buckets with a value below ``low`` or above ``high`` (one query over the slots)."""
    resolution = resolution_of(asset_ids, metrics, start, end, instance)
    width = resolution or FIVE
    if not asset_ids:
        return RangeStats(0, None, None, None, 0.0, width, resolution)
    slots = _slots(asset_ids, metrics, start, end, resolution, instance)
    beyond = []
    if high is not None:
        beyond.append(slots.c.hi > high)
    if low is not None:
        beyond.append(slots.c.lo < low)
    outside = func.count(distinct(case((or_(*beyond), slots.c.bucket)))) if beyond else literal(0)
    row = (
        db.session()
        .execute(
            select(
                func.sum(slots.c.n),
                func.min(slots.c.lo),
                func.sum(slots.c.mean * slots.c.n),
                func.max(slots.c.hi),
                outside,
            )
        )
        .one()
    )
    count, lo, total, hi, buckets = row
    count = int(count or 0)
    mean = float(total) / count if count else None
    return RangeStats(
        count,
        None if lo is None else float(lo),
        mean,
        None if hi is None else float(hi),
        float(int(buckets or 0) * width),
        width,
        resolution,
    )


def percentiles(
    asset_ids: Sequence[int],
    metrics: Sequence[str],
    start: datetime,
    end: datetime,
    q: int = 95,
    instance: str | None = None,
    hourly: bool = False,
) -> dict[int, Percentile]:
    """asset id → the ``q``-th percentile (nearest rank) of its slots' means of ``metrics``
    (one ``instance``, or all pooled) over [start, end), for every asset with a slot: one
    ``GROUP BY`` for every asset's count (from the index alone), then per asset its slots from
    the highest down to rank ``ceil(q · n / 100)`` (``ORDER BY mean DESC LIMIT n - rank + 1``:
    the peak first, the percentile last; SQLite keeps only those few while it reads the range,
    where ``OFFSET`` sorted all of it, and a window over all assets' slots measured two to three
    times slower). ``hourly``: of the hourly means when there are hourly rollups
    (``resolution_of``)."""
    if not asset_ids:
        return {}
    resolution = resolution_of(asset_ids, metrics, start, end, instance, hourly)
    slots = _slots(asset_ids, metrics, start, end, resolution, instance)
    sess = db.session()
    counted = sess.execute(select(slots.c.asset_id, func.count()).group_by(slots.c.asset_id))
    out = {}
    for asset_id, n in counted.all():
        mine = _slots([asset_id], metrics, start, end, resolution, instance)
        rank = max(1, math.ceil(q * n / 100))
        # the slots from the highest down to the one at ``rank`` (its place from the top):
        # the first is the peak, the last the percentile
        top = sess.scalars(
            select(mine.c.mean).order_by(mine.c.mean.desc()).limit(int(n) - rank + 1)
        ).all()
        if top and top[0] is not None and top[-1] is not None:
            out[int(asset_id)] = Percentile(float(top[-1]), int(n), float(top[0]), resolution)
    return out


def stats_by_asset(
    asset_ids: Sequence[int],
    metrics: Sequence[str],
    start: datetime,
    end: datetime,
    hourly: bool = False,
) -> dict[int, RangeStats]:
    """asset id → minimum, mean and maximum of its ``metrics`` over [start, end) (no limits),
    for every asset with a slot: one ``GROUP BY`` statement for all (``hourly``: from the
    hourly rollups when there are any: the lowest hourly minimum is the lowest reading)."""
    if not asset_ids:
        return {}
    resolution = resolution_of(asset_ids, metrics, start, end, hourly=hourly)
    width = resolution or FIVE
    slots = _slots(asset_ids, metrics, start, end, resolution, None)
    rows = db.session().execute(
        select(
            slots.c.asset_id,
            func.sum(slots.c.n),
            func.min(slots.c.lo),
            func.sum(slots.c.mean * slots.c.n),
            func.max(slots.c.hi),
        ).group_by(slots.c.asset_id)
    )
    out = {}
    for asset_id, count, lo, total, hi in rows:
        count = int(count or 0)
        out[int(asset_id)] = RangeStats(
            count,
            None if lo is None else float(lo),
            float(total) / count if count else None,
            None if hi is None else float(hi),
            0.0,
            width,
            resolution,
        )
    return out


def instances_of(asset_id: int, metric: str, start: datetime, end: datetime) -> list[str]:
    """The instances (interface names ...) ``metric`` of an asset has values of in [start,
    end), from its rollups and raw readings (index ranges of both)."""
    rollups = select(Rollup.instance).where(
        Rollup.asset_id == asset_id,
        Rollup.metric == metric,
        Rollup.bucket >= start,
        Rollup.bucket < end,
    )
    raw = select(Reading.instance).where(
        Reading.asset_id == asset_id,
        Reading.metric == metric,
        Reading.at >= start,
        Reading.at < end,
    )
    return sorted(db.session().scalars(union(rollups, raw)))
