"""Two pollers at once over the same monitors: each due monitor is polled exactly once per cycle.

Each worker is a thread with its own app context, so its own session and connection (on
PostgreSQL the claim is ``FOR UPDATE SKIP LOCKED``; on SQLite a conditional UPDATE).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from monitors import poller
from monitors.models import Monitor, PollerHeartbeat, Reading, StatusFlip
from opskit import db
from tests import factories

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
MONITORS = 40


class _Slowish(BaseHTTPRequestHandler):
    """Answers after 30 ms, so the two workers' cycles overlap."""

    def do_GET(self) -> None:
        time.sleep(0.03)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def http_url() -> Any:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slowish)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_two_pollers_poll_each_due_monitor_exactly_once(db_app: Flask, http_url: str) -> None:
    with db_app.app_context():
        ids = []
        for n in range(MONITORS):
            asset = factories.asset(f"APP-{n:02d}")
            db.session().flush()
            m = Monitor(
                asset_id=asset.id,
                kind="http",
                settings={"url": http_url, "timeout": 5.0, "verify_tls": True},
                next_due_at=NOW - timedelta(seconds=1),
            )
            db.session().add(m)
            db.session().flush()
            ids.append(m.id)
        db.session().commit()

    start = threading.Barrier(2)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []

    def worker(name: str, at: datetime) -> None:
        try:
            with db_app.app_context():
                start.wait(10)
                while True:
                    # small batches, so both workers come back for more while the other works
                    summary = poller.poll_once(at, concurrency=4, timeout=10, limit=4)
                    if not summary["claimed"]:
                        break
                    claimed[name].append(summary["claimed"])
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    for cycle, at in enumerate((NOW, NOW + timedelta(seconds=60))):
        claimed["a"].clear()
        claimed["b"].clear()
        threads = [threading.Thread(target=worker, args=(n, at)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        # Every due monitor once, shared by the two workers.
        assert sum(claimed["a"]) + sum(claimed["b"]) == MONITORS, claimed
        assert claimed["a"] and claimed["b"], claimed
        with db_app.app_context():
            per_monitor = Counter(
                db.session().scalars(
                    select(Reading.monitor_id).where(
                        Reading.metric == "http.status_code", Reading.at == at
                    )
                )
            )
            assert per_monitor == Counter({i: 1 for i in ids}), cycle
            rows = db.session().execute(
                select(Monitor.state, Monitor.lease_until, Monitor.next_due_at)
            )
            assert {(s, lease, due) for s, lease, due in rows} == {
                ("up", None, at + timedelta(seconds=60))
            }
    with db_app.app_context():
        # one up-flip per monitor (the second cycle changed nothing), one heartbeat row per name
        assert db.session().scalar(select(func.count()).select_from(StatusFlip)) == MONITORS
        assert db.session().scalar(select(func.count()).select_from(PollerHeartbeat)) == 1
