"""Scheduled configuration backups: the due devices fetched by the poller's workers.

Each ``opskit poll`` process (and each worker of ``opskit poll --processes N``) runs
:func:`run` in a thread of its own beside its polling loop (``monitors.poller.run`` starts it),
so the backups follow the SNMP poller wherever it runs and never delay its cycles. A turn
(:func:`run_due`):

1. **Claim** due devices (enabled, ``next_due_at <= now``, no live lease, no changed host key
   waiting for an admin) by setting their ``lease_until`` in one ``UPDATE ... RETURNING``
   (:func:`claim`; on PostgreSQL its subquery skips locked rows, like the poller's claim of
   monitors). Several workers never fetch one device twice.
2. **Fetch** them in threads, at most ``queries.concurrency()`` at once, each bounded by its own
   timeout (``device.fetch``): a hung device holds one thread for its timeout, never the others.
3. **Record** each outcome as it arrives (``services.record``: its own transaction), which
   releases the lease and sets ``next_due_at`` one interval after the attempt started.

``opskit configs fetch`` uses the same claim for one device (:func:`claim_device`, due or not),
so a manual fetch and a scheduled one never run on the same device at once. A lease outlives
the longest fetch (``services.MAX_TIMEOUT_S``): a worker that died mid-fetch leaves the device
to the others when its lease ends.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from monitors.configs import queries, services
from monitors.configs.models import ConfigDevice
from monitors.configs.target import FetchError, Target
from opskit import clock, db
from opskit.audit import acting_as

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=services.MAX_TIMEOUT_S + 300)
IDLE_S = 30.0  # between two turns of a worker's backup thread
CLAIM_LIMIT = 200
RETRY_AFTER = timedelta(minutes=10)  # after a fetch whose outcome could not be stored

#: the network part of one fetch (``device.fetch``; a test may hand another)
Fetcher = Callable[[Target], Any]


def _due(now: datetime) -> Any:
    return (
        ConfigDevice.enabled.is_(True),
        ConfigDevice.next_due_at <= now,
        or_(ConfigDevice.lease_until.is_(None), ConfigDevice.lease_until < now),
        ConfigDevice.offered_host_key.is_(None),
    )


def claim(session: Session, now: datetime, limit: int = CLAIM_LIMIT) -> list[int]:
    """Lease up to ``limit`` due devices to this worker and commit; their ids, oldest due first.

    One ``UPDATE ... WHERE id IN (due ones) RETURNING id``: on SQLite the statement holds the
    database's write lock from its reading to its writing, so two workers cannot both take a
    device; on PostgreSQL the subquery's ``FOR UPDATE SKIP LOCKED`` passes over the rows another
    worker is claiming (never waiting for it) and the due conditions are checked again on the
    locked rows."""
    due = (
        select(ConfigDevice.id)
        .where(*_due(now))
        .order_by(ConfigDevice.next_due_at, ConfigDevice.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = session.execute(
        update(ConfigDevice)
        .where(ConfigDevice.id.in_(due.scalar_subquery()), *_due(now))
        .values(lease_until=now + LEASE)
        .returning(ConfigDevice.id, ConfigDevice.next_due_at)
        .execution_options(synchronize_session=False)
    ).all()
    session.commit()
    return [row[0] for row in sorted(claimed, key=lambda row: (row[1], row[0]))]


def claim_device(session: Session, device_id: int, now: datetime) -> bool:
    """Lease one device whether due or not (``opskit configs fetch``); False when another
    worker holds it now."""
    result = session.execute(
        update(ConfigDevice)
        .where(
            ConfigDevice.id == device_id,
            or_(ConfigDevice.lease_until.is_(None), ConfigDevice.lease_until < now),
        )
        .values(lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return db.rowcount(result) == 1


def _release(session: Session, device_id: int, error: str) -> None:
    """A fetch whose outcome could not be stored: the lease ends, the error is shown, and the
    device waits ``RETRY_AFTER`` (not one turn: a lasting fault would reconnect every 30 s)."""
    session.execute(
        update(ConfigDevice)
        .where(ConfigDevice.id == device_id)
        .values(
            lease_until=None,
            next_due_at=clock.now() + RETRY_AFTER,
            last_reason="store",
            last_error=error[: services.ERROR_CHARS],
        )
        .execution_options(synchronize_session=False)
    )
    session.commit()


def _fetch_one(target: Target, fetcher: Fetcher) -> services.Outcome:
    """Runs in a pool thread: the network only, no database."""
    started = clock.now()
    try:
        fetched = fetcher(target)
    except FetchError as exc:
        return services.Outcome(started, clock.now(), error=exc)
    except Exception as exc:  # a bug must not kill the worker's thread
        log.exception("fetching %s failed", target.address)
        error = FetchError("closed", f"{target.address}: {type(exc).__name__}: {exc}")
        return services.Outcome(started, clock.now(), error=error)
    return services.Outcome(started, clock.now(), fetched=fetched)


@dataclass(frozen=True)
class Result:
    """How one device's fetch ended (``opskit configs fetch`` prints it)."""

    device_id: int
    asset_id: int
    ok: bool
    new_version: bool
    version_id: int | None
    reason: str = ""
    error: str = ""


def fetch_claimed(
    ids: list[int], concurrency: int | None = None, fetcher: Fetcher | None = None
) -> list[Result]:
    """Fetch the devices this worker leased and record each outcome as it arrives (in the order
    they finish)."""
    if fetcher is None:
        from monitors.configs import device  # lazy: netmiko takes ~0.35 s to import

        fetcher = device.fetch
    session = db.session()
    results: list[Result] = []
    work: list[tuple[int, Target]] = []
    for device_id in ids:
        found = session.get(ConfigDevice, device_id, options=queries.WITHOUT_SECRETS)
        if found is None:
            continue
        try:
            work.append((device_id, services.target_of(found)))
        except FetchError as exc:  # cannot even be tried: recorded as a failure
            now = clock.now()
            _store(session, device_id, services.Outcome(now, now, error=exc), results)
    session.expunge_all()
    if not work:
        return results
    workers = max(1, min(concurrency or queries.concurrency(), len(work)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="configs") as pool:
        futures = {
            pool.submit(_fetch_one, target, fetcher): device_id for device_id, target in work
        }
        for future in as_completed(futures):
            _store(session, futures[future], future.result(), results)
    return results


def _store(
    session: Session, device_id: int, outcome: services.Outcome, results: list[Result]
) -> None:
    try:
        row = services.record(device_id, outcome)
    except Exception as exc:
        session.rollback()
        log.exception("storing the backup of device %s failed", device_id)
        error = f"{type(exc).__name__}: {exc}"
        _release(session, device_id, error)
        asset_id = session.scalar(select(ConfigDevice.asset_id).where(ConfigDevice.id == device_id))
        results.append(Result(device_id, asset_id or 0, False, False, None, "store", error))
        return
    results.append(
        Result(
            device_id, row.asset_id, row.ok, row.new_version, row.version_id, row.reason, row.error
        )
    )


def summary(results: list[Result]) -> dict[str, int]:
    return {
        "fetched": len(results),
        "changed": sum(r.new_version for r in results),
        "failed": sum(not r.ok for r in results),
    }


def run_due(
    now: datetime | None = None,
    concurrency: int | None = None,
    limit: int = CLAIM_LIMIT,
    fetcher: Fetcher | None = None,
) -> dict[str, int]:
    """One turn: claim the devices due at ``now``, fetch and record them (app context)."""
    with acting_as("configs backup"):
        ids = claim(db.session(), now or clock.now(), limit)
        if not ids:
            return {"claimed": 0, "fetched": 0, "changed": 0, "failed": 0}
        return {"claimed": len(ids), **summary(fetch_claimed(ids, concurrency, fetcher))}


def run(stop: threading.Event, idle_s: float = IDLE_S) -> None:
    """Turns until ``stop`` is set (inside an app context of this thread's own)."""
    while not stop.is_set():
        try:
            summary = run_due()
            if summary["claimed"]:
                log.info("configuration backups: %s", summary)
        except Exception:
            log.exception("configuration backups failed")
            db.session().rollback()
        finally:
            db.session().close()
        stop.wait(idle_s)


def start(app: Flask, stop: threading.Event) -> threading.Thread:
    """The backups' thread of a poller process (``monitors.poller.run``)."""

    def main() -> None:
        with app.app_context():
            run(stop)

    thread = threading.Thread(target=main, name="configs backups", daemon=True)
    thread.start()
    return thread
