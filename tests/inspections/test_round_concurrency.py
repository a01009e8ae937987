"""20 rounds submitted at once against SQLite through a real HTTP server, each twice (the
tablet's retry): exactly 20 rounds stored with every answer, no "database is locked"."""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from inspections.models import PatrolAnswer, PatrolRound
from opskit import db
from tests import factories
from tests.conftest import persona_password
from tests.inspections.test_rounds import NORMAL, answers

ROUNDS = 20
CSRF = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    assert app.config["DATABASE_URL"].startswith("sqlite")
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
        httpd.server_close()


def _session(base: str, user: str) -> tuple[urllib.request.OpenerDirector, str]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with opener.open(f"{base}/login") as page:
        token = CSRF.search(page.read().decode()).group(1)
    form = urllib.parse.urlencode(
        {"csrf_token": token, "username": user, "password": persona_password(user)}
    ).encode()
    with opener.open(f"{base}/login", data=form) as done:
        page = done.read().decode()
    return opener, CSRF.search(page).group(1)


def test_twenty_rounds_submitted_twice_at_once(app: Flask, server: str) -> None:
    with app.app_context():
        room_id = factories.rack().room_id
        db.session().commit()
    # several tablets: one logged-in session per engineer persona that may write; both tries
    # of a round come from the engineer of that round (another user's would be refused)
    sessions = [_session(server, user) for user in ("engineer", "supervisor", "admin")]
    barrier = threading.Barrier(ROUNDS * 2)

    def submit(n: int) -> tuple[int, int, str]:
        opener, token = sessions[(n // 2) % len(sessions)]
        body = {
            "room_id": room_id,
            "checklist_keys": ["room_environment"],
            "started_at": "2026-11-26T09:00:00+08:00",
            "answers": [
                *answers(cold_aisle_temperature=f"{20 + (n // 2) % 7}.5"),
                {
                    "target": "room",
                    "checklist": "room_environment",
                    "item": "remarks",
                    "value": f"平板 {n // 2}",
                },
            ],
            "signature_name": f"工程师{n // 2}",
        }
        request = urllib.request.Request(
            f"{server}/patrol/rounds/concurrent-round-{n // 2:03d}/submit",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": token},
        )
        barrier.wait(timeout=30)
        try:
            with opener.open(request, timeout=60) as response:
                return n, response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return n, exc.code, exc.read().decode()

    with ThreadPoolExecutor(max_workers=ROUNDS * 2) as pool:
        results = list(pool.map(submit, range(ROUNDS * 2)))

    failures = [(n, status, text[:300]) for n, status, text in results if status != 200]
    assert failures == []
    assert not any("locked" in text for _n, _s, text in results)
    replies = {}
    for n, _status, text in results:
        reply = json.loads(text)
        assert reply["status"] == "submitted"
        replies.setdefault(n // 2, set()).add(reply["id"])
    assert all(len(ids) == 1 for ids in replies.values())  # both tries got the same round
    with app.app_context():
        sess = db.session()
        assert sess.scalar(select(func.count()).select_from(PatrolRound)) == ROUNDS
        assert sess.scalar(select(func.count()).select_from(PatrolAnswer)) == ROUNDS * (
            len(NORMAL) + 1
        )
        for patrol in sess.scalars(select(PatrolRound)):
            n = int(patrol.client_id.rsplit("-", 1)[1])
            values = {a.item_key: a.value for a in patrol.answers}
            assert values["cold_aisle_temperature"] == f"{20 + n % 7}.5"
            assert values["remarks"] == f"平板 {n}"
            assert (patrol.status, patrol.signature_name) == ("submitted", f"工程师{n}")
