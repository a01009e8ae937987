"""Database load through the JSON API on SQLite and PostgreSQL: each database server's top
statements summed over the period's hours (hours outside it left out), the sum of every
statement, why a monitor could not read them; the period bounded, unknown filters refused."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select

from monitors.models import Monitor, StatementHour, StatementState
from opskit import auth, clock, db
from opskit.models import User
from tests import factories


def _row(
    monitor: Monitor, hour: object, sid: str, text: str, calls: int, ms: float
) -> dict[str, Any]:
    return {
        "monitor_id": monitor.id,
        "asset_id": monitor.asset_id,
        "hour": hour,
        "database": "" if sid == "*" else "app",
        "statement_id": sid,
        "text": text,
        "calls": calls,
        "total_ms": ms,
        "rows": calls,
    }


def test_top_statements_per_server_in_the_period(db_client: FlaskClient, db_app: Flask) -> None:
    now = clock.now().astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    with db_app.test_request_context("/"):
        sess = db.session()
        monitors = {}
        for tag, kind in (("DB-A", "postgresql"), ("DB-B", "mysql")):
            asset = factories.asset(tag)
            sess.flush()
            monitors[tag] = Monitor(asset_id=asset.id, kind=kind, name=kind, settings={})
        sess.add_all(monitors.values())
        sess.flush()
        a = monitors["DB-A"]
        rows = []
        for h in (2, 3):
            hour = now - timedelta(hours=h)
            rows += [
                _row(a, hour, "q1", "SELECT * FROM orders WHERE id = $1", 100, 50.0),
                _row(a, hour, "q2", "UPDATE stock SET n = n - $1", 10, 400.0),
                _row(a, hour, "*", "", 120, 500.0),
            ]
        rows.append(_row(a, now - timedelta(days=3), "q3", "VACUUM", 1, 10.0**6))  # before
        sess.execute(insert(StatementHour), rows)
        sess.add(
            StatementState(
                monitor_id=monitors["DB-B"].id,
                at=now,
                reset="",
                counters={"missing": "performance_schema is OFF"},
            )
        )
        user = sess.scalars(select(User).where(User.username == "viewer")).one()
        headers = {"Authorization": f"Bearer {auth.create_token(user, 't')}"}
        ids = {tag: m.asset_id for tag, m in monitors.items()}
        sess.commit()
    url = "/api/v1/database-load/statements"
    got = db_client.get(url, headers=headers)
    assert got.status_code == 200, got.get_json()
    body = got.get_json()
    assert body["total"] == 2
    first, second = body["items"]
    assert first["asset_tag"] == "DB-A"
    assert [(s["statement_id"], s["calls"], s["total_ms"]) for s in first["statements"]] == [
        ("q2", 20, 800.0),
        ("q1", 200, 100.0),
    ]
    assert first["statements"][0]["mean_ms"] == 40.0
    assert first["total"] == {"calls": 240, "total_ms": 1000.0, "rows": 240}
    assert second["asset_tag"] == "DB-B" and second["statements"] == [] and second["total"] is None
    assert second["withheld"] == [{"kind": "mysql", "reason": "performance_schema is OFF"}]

    since = (now - timedelta(days=4)).isoformat()
    one = db_client.get(
        url, query_string={"asset_id": ids["DB-A"], "since": since, "top": 1}, headers=headers
    ).get_json()
    assert [s["statement_id"] for i in one["items"] for s in i["statements"]] == ["q3"]
    for params, field in (
        ({"since": (now - timedelta(days=50 * 365)).isoformat()}, "since"),
        ({"top": 0}, "top"),
        ({"colour": "red"}, "colour"),
    ):
        bad = db_client.get(url, query_string=params, headers=headers)
        assert bad.status_code == 422 and field in bad.get_json()["fields"], params
