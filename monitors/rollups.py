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
bucket already stored, or the oldest raw reading when there is none yet) up to ``now``. The
poller runs :func:`run` every few minutes and :func:`prune` about hourly; ``opskit rollup
[--since DATE] [--prune]`` does the same by hand.

**Late readings.** A reading carries the time it was measured, which may be long before it is
stored (a recording replayed, readings imported, a poller host whose clock was behind). The
poller hands :func:`run` its :class:`Arrivals`: which readings, by id, it has
already looked at. Each run finds the readings stored since (one primary-key range) that fall
before its window and recomputes the hours they fall in — their 5-minute buckets, the hour,
the weekly load — and only those. At most ``LATE_LIMIT`` (7 days) back, and never before the
raw retention (a bucket whose other raw readings are pruned would be overwritten by the late
one alone): older ones are logged with their count and oldest time, and left to ``opskit
rollup --since``. Ids are handed out at insert and a transaction may commit after a later one
(PostgreSQL), so each run looks again at the ids the previous run saw (late readings there
are recomputed twice, which changes nothing). The memory is the process's: a poller starting
afresh first looks at the readings stored since its window's start (from the lowest id of the
readings measured since then); several pollers each look at every late reading, one rolling
up at a time (the advisory lock), and one whose run was skipped looks again next time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Integer, cast, delete, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from monitors import load, statements
from monitors.models import Reading, Resolution, Rollup
from opskit import db
from opskit.db import utcnow

log = logging.getLogger(__name__)

FIVE = int(Resolution.FIVE_MINUTES)
HOUR = int(Resolution.HOUR)
LATE = timedelta(minutes=15)  # readings this late are still rolled up by the next default run
LATE_LIMIT = timedelta(days=7)  # later ones are caught by the poller's runs this far back
LOCK_KEY = 0x6F70_6B31  # PostgreSQL advisory lock: one rollup/prune at a time across pollers


def _exclusive(session: Session) -> bool:
    """Take the rollup lock for this transaction (PostgreSQL); ``False`` when another has it.

    Two pollers upserting the same buckets at once could deadlock; the second one skips. The
    lock is the schema's (advisory locks are the whole database's): pollers of another opskit
    in the same database, in its own schema, never make this one skip.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite has one writer at a time anyway
    schema = func.hashtext(func.current_schema())
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_KEY, schema))))


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


@dataclass
class Arrivals:
    """What a rolling-up process (the poller) remembers between runs: the highest reading id
    each of its last two runs saw (``marks``, oldest first; empty before its first run).

    A run looks at the readings with ids above the oldest mark, so a reading whose transaction
    committed after a later id was seen is looked at by the next run (one run of overlap)."""

    marks: list[int] = field(default_factory=list)
    #: the late readings the last run recomputed and those it left (older than its limit)
    caught: int = 0
    left: int = 0


def _start_mark(session: Session, since: datetime) -> int:
    """Where a fresh process starts looking: below the first reading measured in its window
    (stored, the clocks agreeing, after the previous runs had rolled up what came before);
    with no such reading, above every reading stored so far."""
    first = session.scalar(select(func.min(Reading.id)).where(Reading.at >= since))
    if first is not None:
        return int(first) - 1
    return int(session.scalar(select(func.max(Reading.id))) or 0)


def _late_hours(
    session: Session, arrivals: Arrivals, before: datetime, bound: datetime
) -> tuple[list[datetime], int]:
    """The hours (starts) of the numeric readings stored since ``arrivals``' oldest mark and
    measured before ``before``; records the new mark. Readings before ``bound`` are counted,
    logged and not rolled up."""
    if not arrivals.marks:
        arrivals.marks.append(_start_mark(session, before))
    after = arrivals.marks[0]
    dialect = session.get_bind().dialect.name
    hour = _bucket(Reading.at, HOUR, dialect).label("hour")
    stored = (Reading.id > after, Reading.value.is_not(None), Reading.at < before)
    rows = session.execute(
        select(hour, func.count(), func.min(Reading.at)).where(*stored).group_by(hour)
    ).all()
    newest = session.scalar(select(func.max(Reading.id)).where(Reading.id > after))
    arrivals.marks.append(int(newest) if newest is not None else arrivals.marks[-1])
    hours, caught, left, oldest = [], 0, 0, None
    for hour_start, count, first_at in rows:
        hour_start = _as_utc(hour_start)
        if hour_start >= bound:  # every raw reading of the hour is still kept
            hours.append(hour_start)
            caught += count
        else:
            left += count
            first_at = _as_utc(first_at)
            oldest = first_at if oldest is None else min(oldest, first_at)
    if left:
        log.warning(
            "%d readings arrived measured before %s, the oldest at %s: too late for the poller's "
            "rollups (%d days back at most); run `opskit rollup --since %s` to roll them up",
            left,
            bound.isoformat(timespec="minutes"),
            oldest.isoformat(timespec="minutes") if oldest else "?",
            LATE_LIMIT.days,
            oldest.date().isoformat() if oldest else "DATE",
        )
    arrivals.caught, arrivals.left = caught, left
    return sorted(hours), caught


def _as_utc(value: Any) -> datetime:
    """A bucket start as SQL returned it (SQLite: text; PostgreSQL: a timestamp) in UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _spans(hours: list[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hour starts joined into [start, end) spans of consecutive hours."""
    spans: list[tuple[datetime, datetime]] = []
    for start in hours:
        end = start + timedelta(seconds=HOUR)
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], end)
        else:
            spans.append((start, end))
    return spans


def run(
    now: datetime | None = None,
    since: datetime | None = None,
    session: Session | None = None,
    arrivals: Arrivals | None = None,
) -> dict[str, int]:
    """Roll readings in [since, now] up into 5-minute then hourly buckets and commit.

    The weekly load rows (``monitors.load``) of the hours recomputed are refreshed with them.
    With ``arrivals`` (the poller's), the hours of readings stored since its previous runs but
    measured before ``since`` (late) are recomputed too, ``LATE_LIMIT`` back at most.

    Returns ``{"five_minute": n, "hourly": n, "load_weeks": n}``: buckets (and load weeks)
    written, plus ``"late": n`` (late readings rolled up) with ``arrivals``; or
    ``{"skipped": 1}`` when another process is rolling up right now (PostgreSQL).
    """
    session = session or db.session()
    now = now or utcnow()
    if not _exclusive(session):
        session.rollback()
        return {"skipped": 1}
    since = since if since is not None else default_since(session)
    if since is None:
        session.commit()
        done = {"five_minute": 0, "hourly": 0, "load_weeks": 0}
        return done if arrivals is None else {**done, "late": 0}
    marks = list(arrivals.marks) if arrivals is not None else []
    try:
        done = _run(session, now, since, arrivals)
        session.commit()
    except Exception:
        if arrivals is not None:  # not rolled up: look at the same readings next time
            arrivals.marks[:] = marks
        raise
    if arrivals is not None:
        # keep the last two marks; a process's first run keeps only its own (its start mark
        # was a guess, and looking again from it would recompute what that run covered)
        del arrivals.marks[: -2 if marks else -1]
    return done


def _run(
    session: Session, now: datetime, since: datetime, arrivals: Arrivals | None
) -> dict[str, int]:
    start = floor(since, FIVE)
    end = floor(now, FIVE) + timedelta(seconds=FIVE)
    # whole hours, so each hourly bucket sees all of its 5-minute buckets
    first_hour, end_hour = floor(since, HOUR), floor(now, HOUR) + timedelta(seconds=HOUR)
    done = {"five_minute": 0, "hourly": 0, "load_weeks": 0}
    if arrivals is not None:
        # late readings first: the hours before the window, and the 5-minute buckets of the
        # window's first hour before ``since`` (its hour and week follow with the window)
        bound = max(now - LATE_LIMIT, now - timedelta(days=retention().raw_days))
        hours, done["late"] = _late_hours(session, arrivals, start, bound)
        for late_start, late_end in _spans(hours):
            done["five_minute"] += _five_minute(session, late_start, min(late_end, start))
            if late_start < first_hour:
                upto = min(late_end, first_hour)
                done["hourly"] += _hourly(session, late_start, upto)
                done["load_weeks"] += load.refresh(session, late_start, upto)
    done["five_minute"] += _five_minute(session, start, end)
    done["hourly"] += _hourly(session, first_hour, end_hour)
    done["load_weeks"] += load.refresh(session, first_hour, end_hour)
    return done


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
    out = {"raw": 0, "five_minute": 0, "hourly": 0, "load_weeks": 0, "statements": 0}
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
    out["statements"] = statements.prune(session, hour_cut)  # a database's statements per hour
    session.commit()
    return out
