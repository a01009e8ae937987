"""A shift's tablets submitting together reach `opskit serve` and every round is stored once.

Issue #13, finding 5: 40 tablets submitting at once on fresh connections got TCP resets, and
rounds were lost, because cheroot listened with its default backlog of 5. Here the real server
(`opskit serve` with its production settings: one process per CPU, OPSKIT_LISTEN_BACKLOG)
takes 3 bursts of 40 simultaneous submissions, each on a new TCP connection. A tablet retries a
submission that failed on the connection (its outbox, patrol.js); here each has two tries, as
in the run that lost rounds. Every round must be stored exactly once, and no connection may
have been reset or refused: a reset submission waits in a tablet's outbox for the next try.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select
from werkzeug.security import generate_password_hash

from inspections.models import PatrolRound
from opskit import create_app, db
from opskit.config import Settings
from opskit.models import User
from tests import factories
from tests.inspections.test_rounds import answers
from tests.test_serve import OPSKIT, _env, _log_in, free_port, wait_until_up

TABLETS = 40
BURSTS = 3
TRIES = 2  # the first try and one retry, as in the run that lost rounds


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    """A new instance made by `opskit setup`, with a room and an engineer for the tablets."""
    path = tmp_path / "instance"
    setup = subprocess.run(
        [OPSKIT, "setup"], env=_env(path), capture_output=True, text=True, timeout=120, check=False
    )
    assert setup.returncode == 0, setup.stderr
    return path


def _prepare(instance: Path) -> int:
    """A room and an engineer in the served database; the room's id."""
    app = create_app(settings=Settings(instance_path=instance))
    with app.app_context():
        rack = factories.rack()
        db.session().execute(
            insert(User),
            [
                {
                    "username": "tablet",
                    "display_name": "巡检平板",
                    "role": "engineer",
                    "password_hash": generate_password_hash("tablet-password-1"),
                    "active": True,
                }
            ],
        )
        db.session().commit()
        room_id = rack.room_id
    app.extensions["opskit.engine"].dispose()
    return room_id


def _stored(instance: Path, client_ids: list[str]) -> dict[str, int]:
    """client id -> rows stored for it (submitted rounds only)."""
    app = create_app(settings=Settings(instance_path=instance))
    with app.app_context():
        rows = db.session().execute(
            select(PatrolRound.client_id, func.count())
            .where(PatrolRound.client_id.in_(client_ids), PatrolRound.status != "draft")
            .group_by(PatrolRound.client_id)
        )
        counts = {cid: n for cid, n in rows}
    app.extensions["opskit.engine"].dispose()
    return counts


@pytest.mark.real_clock  # the server runs in its own process, on the machine's clock
def test_forty_tablets_submitting_at_once_lose_nothing(instance: Path) -> None:
    room_id = _prepare(instance)
    port = free_port()
    proc = subprocess.Popen(
        [OPSKIT, "serve", "--port", str(port)],
        env=_env(instance),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(base + "/healthz")
        opener = _log_in(base, "tablet", "tablet-password-1")
        with opener.open(base + "/", timeout=30) as r:
            token = re.search(r'name="csrf-token" content="([^"]+)"', r.read().decode())
        assert token
        cookies = "; ".join(
            f"{c.name}={c.value}"
            for handler in opener.handlers
            if hasattr(handler, "cookiejar")
            for c in handler.cookiejar  # type: ignore[attr-defined]
        )
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "X-CSRFToken": token.group(1),
            "Cookie": cookies,
            "Connection": "close",
            # the login is bound to the browser that made it (opskit.auth)
            "User-Agent": dict(opener.addheaders)["User-agent"],
        }
        body = {
            "room_id": room_id,
            "checklist_keys": ["room_environment"],
            "answers": answers(),
            "signature_name": "张工",
        }

        client_ids: list[str] = []
        failures: list[str] = []  # every try that did not get a 200 answer
        answered: dict[str, int] = {}
        lock = threading.Lock()

        def tablet(cid: str, start: threading.Barrier) -> None:
            payload = json.dumps(body).encode()
            start.wait()
            for attempt in range(TRIES):
                # a new TCP connection for every try, as a tablet waking on the Wi-Fi opens one
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                try:
                    conn.request("POST", f"/patrol/rounds/{cid}/submit", payload, headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                except OSError as exc:  # reset, refused, cut off: the outbox keeps it
                    with lock:
                        failures.append(f"{cid} try {attempt + 1}: {type(exc).__name__}: {exc}")
                    time.sleep(0.5)
                    continue
                finally:
                    conn.close()
                with lock:
                    answered[cid] = status
                    if status != 200:
                        failures.append(f"{cid} try {attempt + 1}: HTTP {status}")
                return

        for burst in range(BURSTS):
            ids = [f"burst{burst}-{uuid.uuid4().hex[:12]}" for _ in range(TABLETS)]
            client_ids += ids
            start = threading.Barrier(TABLETS)
            threads = [threading.Thread(target=tablet, args=(cid, start)) for cid in ids]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)

        stored = _stored(instance, client_ids)
        lost = [cid for cid in client_ids if cid not in stored]
        assert not lost, f"{len(lost)} of {len(client_ids)} rounds lost; tries failed: {failures}"
        assert all(n == 1 for n in stored.values()), stored
        assert len(stored) == TABLETS * BURSTS
        assert set(answered.values()) == {200}
        assert not failures, f"{len(failures)} submissions reset or refused: {failures[:10]}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            status = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            status = proc.wait()
        output = proc.stdout.read() if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    assert status == 0, output
    assert "Traceback" not in output, output  # no request failed inside the server either
