"""The poller: run due monitors concurrently, store readings and state, feed the alert rules.

One cycle (:func:`poll_once`):

1. **Claim** due monitors (enabled, ``next_due_at <= now``, no live lease) by setting their
   ``lease_until``. On PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` lets several
   ``opskit poll`` processes share the work; on SQLite each row is claimed by a conditional
   ``UPDATE`` whose row count says whether this worker won it.
2. **Check** them with asyncio, at most ``concurrency`` at a time, each under its own timeout,
   so one dead or slow device never delays the others. Checks touch no database.
3. **Store** each monitor's outcome in its own transaction: readings, state (a ``StatusFlip``
   row with the reason when it changes), ``next_due_at``, and the alert rules through the desk's
   door (``opskit.alerts.services.judge_poll``: the readings, up/down, the data's age; the
   asset's rule states read in one query per poll); the lease is released.
4. **Heartbeat**: the worker's ``PollerHeartbeat`` row gets the time the cycle completed.

:func:`run` repeats cycles until its stop event is set.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, defer

from monitors import counters, discovery, kinds, rollups, statements
from monitors.configs import schedule as config_backups
from monitors.metrics import METRICS
from monitors.models import Monitor, MonitorState, PollerHeartbeat, Reading, StatusFlip
from opskit import db
from opskit.alerts import services as alerts
from opskit.audit import acting_as
from opskit.crypto import SecretError
from opskit.db import utcnow

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 20
DEFAULT_CHECK_TIMEOUT = 30.0  # seconds one check may take, whatever its kind
LEASE = timedelta(minutes=5)  # a claim older than this is assumed lost (worker died)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Job:
    id: int
    asset_id: int
    kind: str
    settings: dict[str, Any]
    secret: str | None
    interval_s: int
    state: str
    error: str = ""  # set when the monitor cannot even be checked (undecryptable secret)


@dataclass
class Outcome:
    state: str  # up / down / unknown
    reason: str
    readings: list[dict[str, Any]]
    uptime_s: float | None = None
    lldp: list[dict[str, Any]] | None = None
    arp: list[dict[str, Any]] | None = None
    statements: dict[str, Any] | None = None
    missing: list[dict[str, str]] | None = None


# --- claiming ---------------------------------------------------------------------------------


def _due(now: datetime) -> Any:
    return (
        Monitor.enabled.is_(True),
        Monitor.next_due_at <= now,
        or_(Monitor.lease_until.is_(None), Monitor.lease_until < now),
    )


def claim(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Lease up to ``limit`` due monitors to this worker and commit; their ids, oldest due first.

    Exclusive: a monitor claimed by one worker (even one whose transaction is still open, on
    PostgreSQL) is not returned to another until its lease ends or is released.
    """
    lease_until = now + LEASE
    order = (Monitor.next_due_at, Monitor.id)
    if session.get_bind().dialect.name == "postgresql":
        ids: list[int] = list(
            session.scalars(
                select(Monitor.id)
                .where(*_due(now))
                .order_by(*order)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(
                update(Monitor).where(Monitor.id.in_(ids)).values(lease_until=lease_until)
            )
        session.commit()
        return ids
    ids = []
    for _round in range(10):  # another worker may win some candidates: look again for more
        candidates = list(
            session.scalars(
                select(Monitor.id).where(*_due(now)).order_by(*order).limit(limit - len(ids))
            )
        )
        lost = False
        for monitor_id in candidates:
            result = session.execute(
                update(Monitor)
                .where(Monitor.id == monitor_id, *_due(now))
                .values(lease_until=lease_until)
                .execution_options(synchronize_session=False)
            )
            if db.rowcount(result) == 1:
                ids.append(monitor_id)
            else:
                lost = True
        if not lost or len(ids) >= limit:
            break
    session.commit()
    return ids


# --- checking ---------------------------------------------------------------------------------


async def _check(job: Job, sem: asyncio.Semaphore, timeout: float) -> Outcome:
    if job.error:
        return Outcome(MonitorState.UNKNOWN, job.error, [])
    impl = kinds.get(job.kind)
    if impl is None:
        return Outcome(MonitorState.UNKNOWN, f"unsupported monitor kind {job.kind!r}", [])
    async with sem:
        try:
            result = await asyncio.wait_for(impl.check(job, job.settings, job.secret), timeout)
        except TimeoutError:
            return Outcome(MonitorState.DOWN, f"no result within {timeout:g} s", [])
        except Exception as exc:  # a bug in one kind must not stop the cycle
            log.exception("monitor %s (%s) check failed", job.id, job.kind)
            return Outcome(MonitorState.UNKNOWN, f"check failed: {type(exc).__name__}: {exc}", [])
    if result.ok:
        return Outcome(
            MonitorState.UP,
            result.reason,
            result.readings,
            getattr(result, "uptime_s", None),
            getattr(result, "lldp", None),
            getattr(result, "arp", None),
            getattr(result, "statements", None),
            getattr(result, "missing", None),
        )
    return Outcome(MonitorState.DOWN, result.reason or "down", result.readings)


async def _check_all(jobs: list[Job], concurrency: int, timeout: float) -> list[Outcome]:
    sem = asyncio.Semaphore(max(1, concurrency))
    return list(await asyncio.gather(*(_check(job, sem, timeout) for job in jobs)))


def run_checks(jobs: list[Job], concurrency: int, timeout: float) -> list[Outcome]:
    """Run the jobs' checks concurrently (in a fresh event loop) and return their outcomes."""
    if not jobs:
        return []
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: no loop in this thread
        return asyncio.run(_check_all(jobs, concurrency, timeout))
    # Called from code that runs an event loop in this thread (e.g. Playwright's sync API):
    # run the cycle's own loop in a helper thread instead.
    with ThreadPoolExecutor(1, thread_name_prefix="opskit-poll") as pool:
        return pool.submit(asyncio.run, _check_all(jobs, concurrency, timeout)).result()


# --- storing ----------------------------------------------------------------------------------


def _usable(job: Job, reading: dict[str, Any]) -> bool:
    """Whether a reading fits the vocabulary (a finite number for gauges and counters, one of
    the listed words for states); a misfit is logged with the reason and skipped."""
    metric, value = reading.get("metric"), reading.get("value")
    spec = METRICS.get(metric) if isinstance(metric, str) else None
    why = ""
    if spec is None:
        why = "not a metric of the vocabulary"
    elif spec["kind"] == "state":
        if not isinstance(value, str) or value not in spec["states"]:
            why = f"expected one of {', '.join(spec['states'])}"
    elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        why = "expected a finite number"
    if why:
        log.warning(
            "monitor %s: skipped reading %s[%s] = %r: %s",
            job.id,
            metric,
            reading.get("instance") or "",
            value,
            why,
        )
    return not why


def _store(session: Session, job: Job, outcome: Outcome, now: datetime) -> None:
    usable = [r for r in outcome.readings if _usable(job, r)]
    usable = counters.derive(session, job.id, usable, now, outcome.uptime_s)
    if outcome.lldp is not None:
        discovery.store_lldp(session, job.asset_id, outcome.lldp, now)
    if outcome.arp is not None:
        discovery.store_arp(session, job.asset_id, outcome.arp, now)
    if outcome.statements is not None:
        statements.store(session, job.id, job.asset_id, outcome.statements, now)
    elif outcome.missing:
        statements.withheld(session, job.id, outcome.missing, now)
    outcome.readings = usable
    rows = []
    for r in usable:
        value = r.get("value")
        number = (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
        rows.append(
            {
                "asset_id": job.asset_id,
                "monitor_id": job.id,
                "metric": r["metric"],
                "instance": (r.get("instance") or "")[:128],
                "at": now,
                "value": number,
                "text": None if number is not None else str(value)[:64],
            }
        )
    if rows:
        session.execute(insert(Reading), rows)

    values: dict[str, Any] = {
        "last_polled_at": now,
        "next_due_at": now + timedelta(seconds=job.interval_s),
        "lease_until": None,
        "last_error": "" if outcome.state == MonitorState.UP else outcome.reason,
    }
    if outcome.state != job.state:
        session.add(
            StatusFlip(
                monitor_id=job.id, at=now, old=job.state, new=outcome.state, reason=outcome.reason
            )
        )
        values.update(state=outcome.state, state_since=now)
    session.execute(
        update(Monitor)
        .where(Monitor.id == job.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    last = now if rows else _newest_reading(session, job.asset_id)
    alerts.judge_poll(
        job.asset_id,
        [
            (r["metric"], r["value"], r.get("instance") or "", r.get("unit", ""))
            for r in outcome.readings
        ],
        None if outcome.state == MonitorState.UNKNOWN else outcome.state == MonitorState.UP,
        outcome.reason or "up",
        last,
        now,
    )


def _newest_reading(session: Session, asset_id: int) -> datetime | None:
    """When any monitor of the asset last stored a reading: one index probe per monitor
    (``ix_reading_monitor_id_at``), not a scan of the asset's history."""
    per_monitor = (
        select(func.max(Reading.at))
        .where(Reading.monitor_id == Monitor.id)
        .correlate(Monitor)
        .scalar_subquery()
    )
    newest = select(per_monitor.label("at")).where(Monitor.asset_id == asset_id).subquery()
    return session.scalar(select(func.max(newest.c.at)))


def _release(session: Session, job: Job, now: datetime, reason: str) -> None:
    """Storing failed: keep the monitor due again after its interval, with the error."""
    session.execute(
        update(Monitor)
        .where(Monitor.id == job.id)
        .values(
            lease_until=None,
            last_polled_at=now,
            next_due_at=now + timedelta(seconds=job.interval_s),
            last_error=reason[:2000],
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()


def heartbeat(session: Session, at: datetime, monitors: int, duration_ms: int) -> None:
    """Upsert this worker's heartbeat row (safe when two workers share a name)."""
    values = {"worker": worker_name(), "at": at, "monitors": monitors, "duration_ms": duration_ms}
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = upsert(PollerHeartbeat).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[PollerHeartbeat.worker],
        set_={k: statement.excluded[k] for k in ("at", "monitors", "duration_ms")},
    )
    session.execute(statement)
    session.commit()


def _load(session: Session, ids: list[int]) -> list[Monitor]:
    if not ids:
        return []
    query = select(Monitor).options(defer(Monitor.secret)).where(Monitor.id.in_(ids))
    return list(session.scalars(query.order_by(Monitor.id)))


def _job(session: Session, m: Monitor) -> Job:
    error, secret = "", None
    try:  # one at a time, so an undecryptable secret only spoils its own monitor
        secret = session.scalar(select(Monitor.secret).where(Monitor.id == m.id))
    except SecretError as exc:
        error = str(exc)
    settings = dict(m.settings or {})
    return Job(m.id, m.asset_id, m.kind, settings, secret, m.interval_s, m.state, error)


# --- one cycle and the loop -------------------------------------------------------------------


def poll_once(
    now: datetime | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_CHECK_TIMEOUT,
    limit: int = 500,
) -> dict[str, Any]:
    """Claim, check and store the due monitors (inside an app context).

    Returns ``{"claimed": n, "up": n, "down": n, "unknown": n, "seconds": s}``.
    """
    now = now or utcnow()
    started = time.monotonic()
    session = db.session()
    with acting_as("poller"):
        ids = claim(session, now, limit)
        jobs = [_job(session, m) for m in _load(session, ids)]
        session.expunge_all()
        outcomes = run_checks(jobs, concurrency, timeout)
        counts = {"up": 0, "down": 0, "unknown": 0}
        for job, outcome in zip(jobs, outcomes, strict=True):
            counts[str(outcome.state)] += 1
            try:
                _store(session, job, outcome, now)
                session.commit()
            except Exception as exc:
                session.rollback()
                log.exception("storing the result of monitor %s failed", job.id)
                _release(session, job, now, f"storing failed: {type(exc).__name__}: {exc}")
        seconds = time.monotonic() - started
        heartbeat(session, utcnow(), len(jobs), int(seconds * 1000))
    return {"claimed": len(jobs), **counts, "seconds": round(seconds, 3)}


def next_due(session: Session) -> datetime | None:
    return session.scalar(select(func.min(Monitor.next_due_at)).where(Monitor.enabled.is_(True)))


ROLLUP_EVERY_S = 300.0  # the poller rolls readings up this often
PRUNE_EVERY_S = 3600.0  # and applies the retention this often
BACKUPS_JOIN_S = 5.0  # how long a stopping poller waits for its backups' thread


def maintain(
    last: dict[str, float], clock: float, arrivals: rollups.Arrivals | None = None
) -> None:
    """Run the rollups / the retention when they are due (``last`` keeps when they last ran).

    ``arrivals``: the readings the rollups have looked at, kept across runs so each run also
    rolls up the readings stored late since the previous one (``monitors.rollups``)."""

    def rollup() -> dict[str, int]:
        return rollups.run(arrivals=arrivals)

    for job, every, action in (
        ("rollup", ROLLUP_EVERY_S, rollup),
        ("prune", PRUNE_EVERY_S, rollups.prune),
    ):
        if clock - last.get(job, -every) < every:
            continue
        last[job] = clock
        try:
            result = action()
            log.info("%s: %s", job, result)
        except Exception:
            log.exception("%s failed", job)
            db.session().rollback()


def run(
    stop: threading.Event,
    concurrency: int = DEFAULT_CONCURRENCY,
    timeout: float = DEFAULT_CHECK_TIMEOUT,
    idle_s: float = 5.0,
    backups: bool = True,
) -> None:
    """Poll until ``stop`` is set (inside an app context); sleeps until the next monitor is due.

    Every ``ROLLUP_EVERY_S`` it also rolls the readings up (late ones too: it remembers which
    it has looked at), every ``PRUNE_EVERY_S`` it prunes. With ``backups`` the devices'
    configuration backups run beside it in a thread of their own (``monitors.configs.schedule``:
    each ``opskit poll`` process and worker takes its share of the due devices).
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    backup_thread = config_backups.start(app, stop) if backups else None
    last: dict[str, float] = {}
    arrivals = rollups.Arrivals()
    while not stop.is_set():
        maintain(last, time.monotonic(), arrivals)
        try:
            summary = poll_once(utcnow(), concurrency, timeout)
            if summary["claimed"]:
                log.info("poll cycle: %s", summary)
            nxt = next_due(db.session())
            db.session().close()
        except Exception:
            log.exception("poll cycle failed")
            db.session().rollback()
            nxt = None
        wait = idle_s
        if nxt is not None:
            wait = min(idle_s, max(0.0, (nxt - utcnow()).total_seconds()))
        stop.wait(max(wait, 0.2))
    if backup_thread is not None:
        backup_thread.join(BACKUPS_JOIN_S)  # a fetch in progress ends at its own timeout
