"""Several poller processes on one machine: ``opskit poll --processes N``.

One Python process polls SNMP at about 10,000 varbinds/s per core (pysnmp decodes every varbind
in Python; ``../shared/research/snmp-perf.md``), so a site that outgrows one core runs more
processes. Each is an ordinary poller with its own app, database connection and SNMP engine; they
share the work the way separate ``opskit poll`` commands do, by leasing due monitors
(``monitors.poller.claim``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, conditional updates on
SQLite). With ``--once`` each worker claims small batches until nothing is due, so a fast worker
takes more of the cycle than a slow one.

Workers are started with the ``spawn`` method (a fresh interpreter: no database connection, SNMP
thread or event loop is inherited) and build their app from the environment (``OPSKIT_*``) with
the app factory the composition hands them (``app_factory``: ``opskit poll`` passes the one
``create_app`` registered on its app as ``extensions["opskit.app_factory"]``); a domain does not
import the composition above it.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from flask import Flask

from monitors import poller, profiles, snmp
from opskit.alerts import services as alerts
from opskit.db import utcnow

log = logging.getLogger(__name__)

#: builds a worker's app in its fresh interpreter (a module-level function: it is pickled)
AppFactory = Callable[[], Flask]


def _warm_up() -> None:
    """Load what the first check would otherwise load (profiles, alert rules, the SNMP loop)."""
    profiles.load_profiles()
    alerts.load_rules()
    snmp._ensure_loop()


def _once(
    app_factory: AppFactory,
    concurrency: int,
    timeout: float,
    batch: int,
    results: Any,
    ready: Any,
    now: Any,
) -> None:
    """Worker: poll the monitors due at ``now`` in batches until none is left; report totals.

    Every batch uses the pass's ``now`` (as one ``poll_once`` does for its whole cycle), so a
    monitor polled early in a long pass is not due again before the pass ends.
    """
    totals: dict[str, Any] = {"claimed": 0, "up": 0, "down": 0, "unknown": 0, "cycles": 0}
    cpu = time.process_time()
    try:
        app = app_factory()
        with app.app_context():
            if ready is not None:  # start together (benchmarks time the polling, not start-up)
                _warm_up()
                ready.wait()
            cpu = time.process_time()
            while True:
                summary = poller.poll_once(
                    now, concurrency=concurrency, timeout=timeout, limit=batch
                )
                if not summary["claimed"]:
                    break
                totals["cycles"] += 1
                for key in ("claimed", "up", "down", "unknown"):
                    totals[key] += summary[key]
    except BaseException:  # report it: the parent must not wait for a dead worker
        results.put({"error": traceback.format_exc()})
        raise
    totals["cpu_s"] = time.process_time() - cpu  # CPU this worker spent polling
    results.put(totals)


def _forever(app_factory: AppFactory, concurrency: int, timeout: float) -> None:
    """Worker: the ordinary poller loop until SIGTERM/SIGINT."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    app = app_factory()
    with app.app_context():
        poller.run(stop, concurrency=concurrency, timeout=timeout)


def poll_once(
    processes: int,
    concurrency: int,
    timeout: float,
    *,
    app_factory: AppFactory,
    batch: int | None = None,
    on_start: Any = None,
) -> dict[str, float]:
    """Run one pass over the due monitors with ``processes`` workers; the summed outcome.

    ``app_factory`` builds each worker's app. ``batch`` is how many monitors a worker claims at
    a time (default: twice ``concurrency``). ``on_start`` (benchmarks): called once every worker
    is ready, just before they start polling.
    """
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    ready = ctx.Barrier(processes + 1) if on_start else None
    now = utcnow()
    batch = batch or max(1, 2 * concurrency)
    workers = [
        ctx.Process(
            target=_once,
            args=(app_factory, concurrency, timeout, batch, results, ready, now),
            name=f"opskit-poll-{i}",
        )
        for i in range(processes)
    ]
    for w in workers:
        w.start()
    if ready is not None:
        ready.wait(timeout=120)
        on_start()
    totals: dict[str, float] = {
        "claimed": 0,
        "up": 0,
        "down": 0,
        "unknown": 0,
        "cycles": 0,
        "failed": 0,
        "cpu_s": 0.0,
    }
    errors: list[str] = []
    for _ in workers:
        try:
            got = results.get(timeout=max(60.0, timeout * 10))
        except Exception:  # a worker died before reporting
            totals["failed"] += 1
            continue
        if "error" in got:
            totals["failed"] += 1
            errors.append(got["error"])
            continue
        for key, value in got.items():
            totals[key] += value
    for error in errors:
        log.error("a poller worker failed:\n%s", error)
    for w in workers:
        w.join(30)
        if w.exitcode not in (0, None) and totals["failed"] == 0:
            totals["failed"] += 1
    return totals


def run(processes: int, concurrency: int, timeout: float, *, app_factory: AppFactory) -> int:
    """Run ``processes`` poller loops until SIGINT/SIGTERM; how many exited with an error."""
    ctx = multiprocessing.get_context("spawn")
    workers = [
        ctx.Process(
            target=_forever, args=(app_factory, concurrency, timeout), name=f"opskit-poll-{i}"
        )
        for i in range(processes)
    ]
    for w in workers:
        w.start()

    def stop(*_: Any) -> None:
        for w in workers:
            if w.is_alive() and w.pid:
                w.terminate()  # SIGTERM: the worker finishes its cycle and stops

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    for w in workers:
        w.join()
    return sum(1 for w in workers if w.exitcode not in (0, -signal.SIGTERM))
