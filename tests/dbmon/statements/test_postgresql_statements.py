"""PostgreSQL's top statements (pg_stat_statements) through the kind and the poller, against
this test session's own cluster; and its streaming replica (replay lag, a read-only server).

Tolerances: calls and rows are exact (the engine counts each execution); a statement's total
time is at least what the statement itself waits (``pg_sleep``) and at most the wall time the
test measured around its calls (which adds the round trips).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from monitors import kinds, poller, statements
from monitors.kinds.postgresql import PostgresqlKind
from monitors.models import Monitor, StatementHour, StatementState
from opskit import db
from tests import factories
from tests.dbmon.conftest import two_samples, wait_until
from tests.dbmon.statements.conftest import PgCluster

# the servers count what the test does, whatever the date; one worker (whole-server resets)
pytestmark = [pytest.mark.xdist_group("dbstatements"), pytest.mark.dateless]

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


@pytest.fixture
def work_db(pg_cluster: PgCluster) -> Iterator[str]:
    """A database of this test's own on the test cluster, with a table of 100 rows."""
    name = f"pgss_{uuid.uuid4().hex[:8]}"
    with pg_cluster.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    with pg_cluster.connect(name) as conn:
        conn.execute("CREATE TABLE item (id int PRIMARY KEY, qty int NOT NULL)")
        conn.execute("INSERT INTO item SELECT g, g FROM generate_series(1, 100) g")
    yield name
    with pg_cluster.connect() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def workload(cluster: PgCluster, name: str, lookups: int, sleeps: int = 0) -> float:
    """``lookups`` parameterised reads of one row, ``sleeps`` × pg_sleep(0.05); the wall time
    of the sleeps in ms."""
    with cluster.connect(name) as conn:
        for i in range(lookups):
            conn.execute("SELECT qty FROM item WHERE id = %s", (i % 100 + 1,))
        started = time.perf_counter()
        for _ in range(sleeps):
            conn.execute("SELECT pg_sleep(0.05)")
        return (time.perf_counter() - started) * 1000


def _stored(monitor_id: int, name: str) -> dict[str, StatementHour]:
    rows = db.session().scalars(
        select(StatementHour).where(
            StatementHour.monitor_id == monitor_id, StatementHour.database == name
        )
    )
    out = {}
    for row in rows:
        if "FROM item WHERE id" in row.text:
            out["lookup"] = row
        elif "pg_sleep" in row.text:
            out["sleep"] = row
    return out


def test_the_poller_stores_each_polls_statement_increases(
    db_app: Flask, pg_cluster: PgCluster, work_db: str
) -> None:
    with db_app.app_context():
        server = factories.asset("PG-SS-1")
        db.session().commit()
        monitor = Monitor(
            asset_id=server.id,
            kind="postgresql",
            settings=kinds.validate("postgresql", pg_cluster.settings()),
            next_due_at=NOW - timedelta(seconds=1),
            interval_s=60,
        )
        # the replica has pg_stat_statements installed (replicated) but not loaded
        standby = Monitor(
            asset_id=factories.asset("PG-SS-2").id,
            kind="postgresql",
            settings=kinds.validate("postgresql", pg_cluster.settings(replica=True)),
            next_due_at=NOW - timedelta(seconds=1),
            interval_s=3600,
        )
        db.session().add_all([monitor, standby])
        db.session().commit()
        mid = monitor.id

        assert poller.poll_once(NOW)["up"] == 2
        withheld = db.session().get(StatementState, standby.id)
        assert withheld is not None
        assert "installed but not loaded" in withheld.counters["missing"]
        assert db.session().get(StatementState, mid) is not None
        assert _stored(mid, work_db) == {}  # nothing to compare with yet

        spent_ms = workload(pg_cluster, work_db, 200, sleeps=20)
        assert poller.poll_once(NOW + timedelta(seconds=60))["up"] == 1
        got = _stored(mid, work_db)
        lookup, sleep = got["lookup"], got["sleep"]
        assert (lookup.calls, lookup.rows) == (200, 200)
        assert lookup.text == "SELECT qty FROM item WHERE id = $1"  # as the engine normalised it
        assert sleep.calls == 20
        assert 20 * 50 <= sleep.total_ms <= spent_ms
        assert sleep.hour == NOW and lookup.asset_id == server.id
        # the sum of every statement's increase (the monitor's own reads too), for the shares
        everything = (
            db.session()
            .scalars(
                select(StatementHour).where(
                    StatementHour.monitor_id == mid, StatementHour.statement_id == statements.ALL
                )
            )
            .one()
        )
        assert everything.calls >= 220 and everything.total_ms >= sleep.total_ms + lookup.total_ms

        # a reset of the statistics between two polls: that poll adds nothing, the next its own
        with pg_cluster.connect() as conn:
            conn.execute("SELECT pg_stat_statements_reset()")
        workload(pg_cluster, work_db, 5)
        assert poller.poll_once(NOW + timedelta(seconds=120))["up"] == 1
        db.session().expire_all()
        assert _stored(mid, work_db)["lookup"].calls == 200
        workload(pg_cluster, work_db, 7)
        assert poller.poll_once(NOW + timedelta(seconds=180))["up"] == 1
        db.session().expire_all()
        after = _stored(mid, work_db)
        assert after["lookup"].calls == 207 and after["lookup"].rows == 207
        assert after["sleep"].calls == 20
        assert all(
            r.calls >= 0 and r.total_ms >= 0 for r in db.session().scalars(select(StatementHour))
        )


def test_statements_per_second_come_from_the_calls_counted(
    pg_cluster: PgCluster, work_db: str
) -> None:
    kind = PostgresqlKind()
    settings = kind.validate(pg_cluster.settings())
    pair = two_samples(kind, settings, lambda _first: workload(pg_cluster, work_db, 220))
    assert pair.second.statements is not None and pair.second.statements["reset"]
    assert "db.top_statements" not in {m["metric"] for m in pair.second.missing}
    # the load's 220, plus the statements of the checks themselves between the two sums
    assert 220 <= round(pair.counted("db.queries_per_s")) <= 260


def test_the_replica_reports_its_replay_lag_and_what_it_cannot_count(
    pg_cluster: PgCluster,
) -> None:
    kind = PostgresqlKind()
    settings = kind.validate(pg_cluster.settings(replica=True))
    name = f"lag_{uuid.uuid4().hex[:6]}"
    with pg_cluster.connect() as primary, pg_cluster.connect(replica=True) as replica:
        primary.execute(f"CREATE TABLE {name} (n int)")
        primary.execute(f"INSERT INTO {name} VALUES (1)")
        committed = time.time()
        target = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]

        def replayed(lsn: str) -> bool:
            row = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,))
            return bool(row.fetchone()[0])

        wait_until(lambda: replayed(target), "replayed")
        caught_up = kind.sample(settings, None)
        assert _value(caught_up, "db.replication.lag_s") == 0

        replica.execute("SELECT pg_wal_replay_pause()")
        try:
            primary.execute(f"INSERT INTO {name} VALUES (2)")
            waiting = primary.execute("SELECT pg_current_wal_lsn()::text").fetchone()[0]
            wait_until(
                lambda: bool(
                    replica.execute(
                        "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn", (waiting,)
                    ).fetchone()[0]
                ),
                "received",
            )
            before = time.time()
            behind = kind.sample(settings, None)
            after = time.time()
        finally:
            replica.execute("SELECT pg_wal_replay_resume()")
            primary.execute(f"DROP TABLE {name}")
    # the replica is as far behind as the first insert's commit, the last it applied
    lag = _value(behind, "db.replication.lag_s")
    assert before - committed - 0.01 <= lag <= after - committed + 1
    # a read-only server: read like any other; its statements are not counted there
    why = {m["metric"]: m["reason"] for m in behind.missing}
    assert "installed but not loaded" in why["db.top_statements"]
    assert "installed but not loaded" in why["db.queries_per_s"]
    assert behind.statements is None
    assert _value(behind, "db.connections.used") >= 1


def _value(sample: Any, metric: str, instance: str = "") -> Any:
    found = [
        r["value"] for r in sample.readings if (r["metric"], r["instance"]) == (metric, instance)
    ]
    assert len(found) == 1, (metric, found)
    return found[0]


@pytest.mark.parametrize(
    ("case", "previous", "rows", "expected"),
    [
        ("first read", None, [("a", 5, 50.0, 5, None)], []),
        ("reset between", {"reset": "r0"}, [("a", 5, 50.0, 5, None)], []),
        ("counted on", {"a": [2, 20.0, 2, None]}, [("a", 5, 50.0, 5, None)], [("a", 3, 30.0, 3)]),
        ("went backwards", {"a": [9, 90.0, 9, None]}, [("a", 5, 50.0, 5, None)], []),
        ("new, previous complete", {}, [("b", 4, 8.0, 4, None)], [("b", 4, 8.0, 4)]),
        ("new, previous cut", {"complete": False}, [("b", 4, 8.0, 4, None)], []),
        ("counted again since", {"a": [9, 90.0, 9, "2026-11-26 07:00:00"]},
         [("a", 5, 50.0, 5, "2026-11-26 08:00:30")], [("a", 5, 50.0, 5)]),
        ("same since", {"a": [2, 20.0, 2, "2026-11-26 07:00:00"]},
         [("a", 5, 50.0, 5, "2026-11-26 07:00:00")], [("a", 3, 30.0, 3)]),
        ("first seen since", {"complete": False},
         [("b", 4, 8.0, 4, "2026-11-26 08:00:00")], [("b", 4, 8.0, 4)]),
        ("seen before, outside the limit", {"complete": False},
         [("b", 4, 8.0, 4, "2026-11-26 07:59:59")], []),
        ("unchanged", {"a": [5, 50.0, 5, None]}, [("a", 5, 50.0, 5, None)], []),
    ],
)  # fmt: skip
def test_increases_between_two_reads(
    case: str,
    previous: dict[str, Any] | None,
    rows: list[tuple[Any, ...]],
    expected: list[tuple[Any, ...]],
) -> None:
    state = None
    if previous is not None:
        counters = {f"db|{k}": v for k, v in previous.items() if isinstance(v, list)}
        state = {
            "reset": previous.get("reset", ""),
            "at": "2026-11-26 08:00:00",  # the previous read, in the server's time
            "complete": previous.get("complete", True),
            "counters": counters,
        }
    current = {
        "reset": "",
        "at": "2026-11-26 08:01:00",
        "complete": True,
        "rows": [
            {"database": "db", "id": i, "text": f"SELECT {i}", "calls": c, "total_ms": t}
            | {"rows": r, "since": since}
            for i, c, t, r, since in rows
        ],
    }
    got, _ = statements.between(state, current)
    top = [(d["id"], d["calls"], d["total_ms"], d["rows"]) for d in got if d["id"] != "*"]
    assert top == expected, case
    # and the sum of every increase, where there is one
    assert [d for d in got if d["id"] == "*"] == (
        [{"database": "", "id": "*", "text": "", "calls": expected[0][1]}
         | {"total_ms": expected[0][2], "rows": expected[0][3]}]
        if expected
        else []
    )  # fmt: skip


def test_only_the_top_statements_by_time_are_kept_and_texts_are_capped() -> None:
    rows = [
        {"database": "db", "id": str(i), "text": "x" * 5000, "calls": 1, "total_ms": float(i)}
        | {"rows": 0, "since": None}
        for i in range(1, 31)
    ]
    previous = {"reset": "", "complete": True, "counters": {}}
    got, _ = statements.between(previous, {"reset": "", "complete": True, "rows": rows})
    assert [d["id"] for d in got] == [*(str(i) for i in range(30, 10, -1)), statements.ALL]
    assert {len(d["text"]) for d in got[:-1]} == {statements.TEXT_CHARS}
    # the sum covers every statement that moved, not only the top 20
    assert (got[-1]["calls"], got[-1]["total_ms"]) == (30, sum(range(1, 31)))
