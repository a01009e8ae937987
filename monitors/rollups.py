"""Rollups and retention of the readings.

- **5-minute rollups** (``reading_rollup``, resolution 300) are computed from the raw numeric
  readings: count, min, max, avg and last (the value of the newest reading in the bucket).
- **Hourly rollups** (resolution 3600) are computed from the 5-minute rollups (count-weighted
  average, min of mins, max of maxes, last of the newest 5-minute bucket).
- Each run recomputes whole buckets with one set-based ``INSERT ... SELECT ... GROUP BY ... ON
  CONFLICT DO UPDATE`` per resolution (SQLite and PostgreSQL alike), so re-running adds nothing
  and a re-run after late readings corrects the bucket they fell into.
- **Weekly load** (``monitors.load``, table ``load_week``): after each hourly pass, the hours it
  recomputed are folded into one row per asset, load family and week (cut at month ends), for
  the reports.
- **Retention** (:func:`prune`): raw readings 14 days, 5-minute rollups 180 days, hourly rollups
  and weekly load rows 3 years by default (``OPSKIT_RETENTION_*_DAYS``). A bucket is deleted
  only after it has been rolled up into the next resolution.

Which buckets a run covers: from ``since`` (default: 15 minutes before the newest 5-minute
bucket already stored, or the oldest raw reading when there is none yet) up to ``now``; readings
arriving later than that are rolled up by ``opskit rollup --since``. The poller runs
:func:`run` every few minutes and :func:`prune` about hourly; ``opskit rollup [--since DATE]
[--prune]`` does the same by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Integer, cast, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from monitors import load
from monitors.models import Reading, Resolution, Rollup
from opskit import db
from opskit.db import utcnow

log = logging.getLogger(__name__)

FIVE = int(Resolution.FIVE_MINUTES)
HOUR = int(Resolution.HOUR)
LATE = timedelta(minutes=15)  # readings this late are still rolled up by the next default run
LOCK_KEY = 0x6F70_6B31  # PostgreSQL advisory lock: one rollup/prune at a time across pollers


def _exclusive(session: Session) -> bool:
    """Take the rollup lock for this transaction (PostgreSQL); ``False`` when another has it.

    Two pollers upserting the same buckets at once could deadlock; the second one skips.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite has one writer at a time anyway
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_KEY))))


@dataclass(frozen=True)
class Retention:
    raw_days: int = 14
    five_minute_days: int = 180
    hourly_days: int = 3 * 365


def retention() -> Retention:
    """The configured retention (``OPSKIT_RETENTION_*_DAYS``), defaults outside an app."""
    settings = current_app.config.get("OPSKIT_SETTINGS") if has_app_context() else None
    if settings is None:
        return Retention()
    return Retention(
        getattr(settings, "retention_raw_days", 14),
        getattr(settings, "retention_5min_days", 180),
        getattr(settings, "retention_hourly_days", 3 * 365),
    )


def floor(at: datetime, width: int) -> datetime:
    """The start of the ``width``-second bucket holding ``at``."""
    return datetime.fromtimestamp(int(at.timestamp()) // width * width, at.tzinfo)


def _bucket(column: Any, width: int, dialect: str) -> Any:
    """SQL for the start of ``column``'s bucket, in the column's own storage format."""
    if dialect == "postgresql":
        return func.to_timestamp(func.floor(func.extract("epoch", column) / width) * width)
    # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' text (SQLAlchemy's format)
    seconds = cast(func.strftime("%s", column), Integer)
    return func.strftime("%Y-%m-%d %H:%M:%S.000000", seconds // width * width, "unixepoch")


def _upsert(dialect: str, source: Any) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = ["asset_id", "metric", "instance", "resolution", "bucket"]
    columns += ["count", "min", "max", "avg", "last"]
    statement = insert(Rollup.__table__).from_select(columns, source)
    return statement.on_conflict_do_update(
        index_elements=["asset_id", "metric", "instance", "resolution", "bucket"],
        set_={k: statement.excluded[k] for k in ("count", "min", "max", "avg", "last")},
    )


def _written(session: Session, statement: Any) -> int:
    """Execute an upsert; how many buckets it wrote. psycopg reports no row count for
    INSERT ... SELECT ... ON CONFLICT, so PostgreSQL counts RETURNING rows; SQLite (RETURNING
    only from 3.35) reports its row count."""
    if session.get_bind().dialect.name == "postgresql":
        return len(session.execute(statement.returning(Rollup.__table__.c.id)).all())
    return db.rowcount(session.execute(statement))


def _five_minute(session: Session, start: datetime, end: datetime) -> int:
    """Recompute the 5-minute buckets of readings in [start, end) (start/end bucket-aligned)."""
    dialect = session.get_bind().dialect.name
    bucket = _bucket(Reading.at, FIVE, dialect).label("bucket")
    grouped = (
        select(
            Reading.asset_id,
            Reading.metric,
            Reading.instance,
            bucket,
            func.count(Reading.value).label("n"),
            func.min(Reading.value).label("lo"),
            func.max(Reading.value).label("hi"),
            func.avg(Reading.value).label("mean"),
            func.max(Reading.at).label("last_at"),
        )
        .where(Reading.value.is_not(None), Reading.at >= start, Reading.at < end)
        .group_by(Reading.asset_id, Reading.metric, Reading.instance, bucket)
        .subquery()
    )
    if dialect == "postgresql":  # one pass: the newest value of each group as it is grouped
        return _five_minute_pg(session, start, end)
    newest = aliased(Reading)
    last = (
        select(newest.value)
        .where(
            newest.asset_id == grouped.c.asset_id,
            newest.metric == grouped.c.metric,
            newest.instance == grouped.c.instance,
            newest.at == grouped.c.last_at,
            newest.value.is_not(None),
        )
        .order_by(newest.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    source = select(
        grouped.c.asset_id,
        grouped.c.metric,
        grouped.c.instance,
        literal(FIVE),
        grouped.c.bucket,
        grouped.c.n,
        grouped.c.lo,
        grouped.c.hi,
        grouped.c.mean,
        last,
    ).where(grouped.c.n > 0)
    return _written(session, _upsert(dialect, source))


def _five_minute_pg(session: Session, start: datetime, end: datetime) -> int:
    bucket = _bucket(Reading.at, FIVE, "postgresql")
    last = postgresql.array_agg(
        postgresql.aggregate_order_by(Reading.value, Reading.at.desc(), Reading.id.desc())
    )[1]
    source = (
        select(
            Reading.asset_id,
            Reading.metric,
            Reading.instance,
            literal(FIVE),
            bucket,
            func.count(Reading.value),
            func.min(Reading.value),
            func.max(Reading.value),
            func.avg(Reading.value),
            last,
        )
        .where(Reading.value.is_not(None), Reading.at >= start, Reading.at < end)
        .group_by(Reading.asset_id, Reading.metric, Reading.instance, bucket)
    )
    return _written(session, _upsert("postgresql", source))


def _hourly(session: Session, start: datetime, end: datetime) -> int:
    """Recompute the hourly buckets from the 5-minute buckets in [start, end) (hour-aligned)."""
    dialect = session.get_bind().dialect.name
    five = aliased(Rollup)
    bucket = _bucket(five.bucket, HOUR, dialect).label("bucket")
    grouped = (
        select(
            five.asset_id,
            five.metric,
            five.instance,
            bucket,
            func.sum(five.count).label("n"),
            func.min(five.min).label("lo"),
            func.max(five.max).label("hi"),
            (func.sum(five.avg * five.count) / func.sum(five.count)).label("mean"),
            func.max(five.bucket).label("last_bucket"),
        )
        .where(five.resolution == FIVE, five.bucket >= start, five.bucket < end)
        .group_by(five.asset_id, five.metric, five.instance, bucket)
        .subquery()
    )
    newest = aliased(Rollup)
    last = (
        select(newest.last)
        .where(
            newest.asset_id == grouped.c.asset_id,
            newest.metric == grouped.c.metric,
            newest.instance == grouped.c.instance,
            newest.resolution == FIVE,
            newest.bucket == grouped.c.last_bucket,
        )
        .limit(1)
        .scalar_subquery()
    )
    source = select(
        grouped.c.asset_id,
        grouped.c.metric,
        grouped.c.instance,
        literal(HOUR),
        grouped.c.bucket,
        grouped.c.n,
        grouped.c.lo,
        grouped.c.hi,
        grouped.c.mean,
        last,
    ).where(grouped.c.n > 0)
    return _written(session, _upsert(dialect, source))


def default_since(session: Session) -> datetime | None:
    """Where a run starts by default: ``LATE`` before the newest 5-minute bucket stored, or the
    oldest raw reading when nothing is rolled up yet (``None``: no readings at all)."""
    newest = session.scalar(select(func.max(Rollup.bucket)).where(Rollup.resolution == FIVE))
    if newest is not None:
        return newest - LATE
    return session.scalar(select(func.min(Reading.at)))


def run(
    now: datetime | None = None, since: datetime | None = None, session: Session | None = None
) -> dict[str, int]:
    """Roll readings in [since, now] up into 5-minute then hourly buckets and commit.

    The weekly load rows (``monitors.load``) of the hours recomputed are refreshed with them.

    Returns ``{"five_minute": n, "hourly": n, "load_weeks": n}``: buckets (and load weeks)
    written, or ``{"skipped": 1}`` when another process is rolling up right now (PostgreSQL).
    """
    session = session or db.session()
    now = now or utcnow()
    if not _exclusive(session):
        session.rollback()
        return {"skipped": 1}
    since = since if since is not None else default_since(session)
    if since is None:
        session.commit()
        return {"five_minute": 0, "hourly": 0, "load_weeks": 0}
    end = floor(now, FIVE) + timedelta(seconds=FIVE)
    five = _five_minute(session, floor(since, FIVE), end)
    # whole hours, so each hourly bucket sees all of its 5-minute buckets
    first_hour, end_hour = floor(since, HOUR), floor(now, HOUR) + timedelta(seconds=HOUR)
    hourly = _hourly(session, first_hour, end_hour)
    weeks = load.refresh(session, first_hour, end_hour)
    session.commit()
    return {"five_minute": five, "hourly": hourly, "load_weeks": weeks}


def prune(
    now: datetime | None = None, keep: Retention | None = None, session: Session | None = None
) -> dict[str, int]:
    """Delete what is older than the retention and commit; rows deleted per table.

    Raw readings are kept until their 5-minute bucket exists (rolled up at least once), and
    5-minute rollups until their hour is rolled up: retention never loses data not yet rolled up.
    """
    session = session or db.session()
    now = now or utcnow()
    keep = keep or retention()
    if not _exclusive(session):
        session.rollback()
        return {"skipped": 1}
    rolled = session.scalar(select(func.max(Rollup.bucket)).where(Rollup.resolution == FIVE))
    rolled_hour = session.scalar(select(func.max(Rollup.bucket)).where(Rollup.resolution == HOUR))
    out = {"raw": 0, "five_minute": 0, "hourly": 0, "load_weeks": 0}
    raw_cut = now - timedelta(days=keep.raw_days)
    if rolled is not None:
        raw_cut = min(raw_cut, rolled)
        out["raw"] = db.rowcount(
            session.execute(delete(Reading.__table__).where(Reading.at < raw_cut))
        )
    five_cut = now - timedelta(days=keep.five_minute_days)
    if rolled_hour is not None:
        five_cut = min(five_cut, rolled_hour)
        out["five_minute"] = db.rowcount(
            session.execute(
                delete(Rollup.__table__).where(Rollup.resolution == FIVE, Rollup.bucket < five_cut)
            )
        )
    hour_cut = now - timedelta(days=keep.hourly_days)
    out["hourly"] = db.rowcount(
        session.execute(
            delete(Rollup.__table__).where(Rollup.resolution == HOUR, Rollup.bucket < hour_cut)
        )
    )
    out["load_weeks"] = load.prune(session, hour_cut.astimezone(load.site_zone()).date())
    session.commit()
    return out
