"""The postgresql monitor kind against the machine's PostgreSQL, under load the tests make.

Tolerances: ``pg_stat_database`` counts per database, and the load runs in this run's own
database (the monitor connects to ``postgres``), so the counts are exact but for 2 transactions
each new connection's start adds; server-wide figures (locks, the longest statement) are lower
bounds, as other tests use the server too.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from flask import Flask

from monitors.kinds.postgresql import PostgresqlKind
from opskit.validation import ValidationFailed
from tests.dbmon.conftest import PG, counter, in_thread, pg_connect, two_samples, wait_until

#: each new connection's start commits this many transactions of its own, at the most
PER_CONNECTION = 3

# what the servers count does not depend on the date: left out of the shifted-clock runs
pytestmark = pytest.mark.dateless


def _flushed(name: str, metric_sql: str, at_least: int) -> bool:
    """Whether the server's statistics for ``name`` reached ``at_least`` (a backend reports its
    counts when it ends, a moment after its client closed)."""
    with pg_connect("postgres") as conn:
        got = conn.execute(
            f"SELECT {metric_sql} FROM pg_stat_database WHERE datname = %s", (name,)
        ).fetchone()
    return got is not None and got[0] >= at_least


def test_transactions_per_second_and_cache_hits_match_the_load(
    pg_kind: PostgresqlKind, pg_name: str
) -> None:
    settings = {**PG, "database": "postgres"}
    workers, each = 4, 50

    def work(_: int) -> None:
        with pg_connect(pg_name) as conn:
            for i in range(each):
                conn.execute("UPDATE item SET qty = qty + 1 WHERE id = %s", (i % 100 + 1,))
            with conn.transaction():  # one transaction that rolls back counts too
                conn.execute("SELECT count(*) FROM item")
                raise_rollback(conn)

    def load(first: Any) -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(work, range(workers)))
        before = counter(first, "db.transactions", pg_name)
        done = workers * (each + 1)
        wait_until(
            lambda: _flushed(pg_name, "xact_commit + xact_rollback", before + done),
            "counted by the server",
        )

    pair = two_samples(pg_kind, settings, load)
    done = workers * (each + 1)
    counted = round(pair.counted("db.transactions_per_s", pg_name))
    assert done <= counted <= done + workers * PER_CONNECTION, (counted, done)
    # the server's total includes this database's, and every rate is a real one
    assert pair.value("db.transactions_per_s") >= pair.value("db.transactions_per_s", pg_name)
    assert all(r["value"] >= 0 for r in pair.stored if isinstance(r["value"], int | float))
    # 200 updates of a 100-row table just read: served from shared buffers
    assert 90 <= pair.value("db.cache_hit_percent", pg_name) <= 100
    # the counters themselves are not stored, their rates are
    assert not {r["metric"] for r in pair.stored} & {"db.transactions", "db.cache.hits"}


def raise_rollback(conn: psycopg.Connection[Any]) -> None:
    raise psycopg.Rollback()


def test_deadlocks_and_temp_files_counted_for_the_database(
    pg_kind: PostgresqlKind, pg_name: str
) -> None:
    settings = {**PG, "database": "postgres"}
    explained: list[str] = []

    def deadlock() -> None:
        a, b = pg_connect(pg_name), pg_connect(pg_name)
        try:
            a.execute("BEGIN")
            b.execute("BEGIN")
            a.execute("UPDATE item SET qty = qty + 1 WHERE id = 1")
            b.execute("UPDATE item SET qty = qty + 1 WHERE id = 2")
            thread, out = in_thread(lambda: a.execute("UPDATE item SET qty = 0 WHERE id = 2"))
            wait_until(lambda: _waiting(a.info.backend_pid), "waiting for the lock")
            try:
                b.execute("UPDATE item SET qty = 0 WHERE id = 1")  # one of the two is the victim
            except psycopg.errors.DeadlockDetected:
                b.execute("ROLLBACK")
            thread.join()
            if out and isinstance(out[0], psycopg.errors.DeadlockDetected):
                a.execute("ROLLBACK")
        finally:
            a.close()
            b.close()

    def load(first: Any) -> None:
        deadlock()
        with pg_connect(pg_name) as conn:
            conn.execute("SET work_mem = '64kB'")
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "
                "SELECT g FROM generate_series(1, 100000) g ORDER BY g DESC"
            ).fetchone()
            assert plan is not None
            explained.append(json.dumps(plan[0]))
        before = counter(first, "db.deadlocks", pg_name)
        wait_until(lambda: _flushed(pg_name, "deadlocks", before + 1), "counted by the server")
        temp = counter(first, "db.temp_bytes", pg_name)
        wait_until(lambda: _flushed(pg_name, "temp_bytes", temp + 1), "counted by the server")

    pair = two_samples(pg_kind, settings, load)
    assert round(pair.counted("db.deadlocks_per_h", pg_name)) == 1
    # the temporary files the plan says it wrote: the sort's on disk (kB), the function scan's
    # tuple store (8 kB blocks); within 1 % (the rate is rounded, a file's last block is partial)
    sort = json.loads(explained[0])[0]["Plan"]
    assert sort["Sort Space Type"] == "Disk"
    written = 1024 * sort["Sort Space Used"] + 8192 * sort["Plans"][0]["Temp Written Blocks"]
    counted = pair.counted("db.temp_bytes_per_s", pg_name)
    assert 0.99 * written <= counted <= 1.01 * written, (counted, written)


def _waiting(pid: int) -> bool:
    with pg_connect("postgres") as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks WHERE pid = %s AND NOT granted", (pid,)
        ).fetchone()
    return bool(row and row[0])


def _running_for(pid: int, seconds: float) -> bool:
    with pg_connect("postgres") as conn:
        row = conn.execute(
            "SELECT clock_timestamp() - query_start >= make_interval(secs => %s) "
            "FROM pg_stat_activity WHERE pid = %s AND state = 'active'",
            (seconds, pid),
        ).fetchone()
    return bool(row and row[0])


def test_a_lock_wait_and_a_slow_statement_are_seen(pg_kind: PostgresqlKind, pg_name: str) -> None:
    holder, waiter, sleeper = pg_connect(pg_name), pg_connect(pg_name), pg_connect(pg_name)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT * FROM item WHERE id = 50 FOR UPDATE")
        waited, _ = in_thread(lambda: waiter.execute("UPDATE item SET qty = 1 WHERE id = 50"))
        slept, _ = in_thread(lambda: sleeper.execute("SELECT pg_sleep(3)"))
        wait_until(lambda: _waiting(waiter.info.backend_pid), "waiting for the lock")
        wait_until(lambda: _running_for(sleeper.info.backend_pid, 1.0), "running for 1 s")
        got = pg_kind.sample({**PG, "database": pg_name, "slow_s": 0.5}, None)
        values = {(r["metric"], r["instance"]): r["value"] for r in got.readings}
        assert values[("db.locks.waiting", "")] >= 1
        assert values[("db.longest_query_s", "")] >= 1.0
        assert values[("db.slow_queries.running", "")] >= 1
        assert values[("db.connections.used", "")] >= 4  # the three here and the monitor's own
    finally:
        holder.execute("ROLLBACK")
        waited.join()
        slept.join()
        for conn in (holder, waiter, sleeper):
            conn.close()


def test_a_statistics_reset_gives_no_rate(pg_kind: PostgresqlKind, pg_name: str) -> None:
    settings = {**PG, "database": "postgres"}

    def load(first: Any) -> None:
        before = counter(first, "db.transactions", pg_name)
        with pg_connect(pg_name) as conn:
            conn.execute("SELECT pg_stat_reset()")  # this database's counters start again at 0
            for _ in range(before + 50):  # and climb past where they were: not a wrap
                conn.execute("SELECT 1")
        wait_until(lambda: _flushed(pg_name, "xact_commit", before + 1), "counted by the server")

    pair = two_samples(pg_kind, settings, load)
    after = counter(pair.second, "db.transactions", pg_name)
    assert after > counter(pair.first, "db.transactions", pg_name)  # it looks like progress
    for metric in ("db.transactions_per_s", "db.deadlocks_per_h", "db.cache_hit_percent"):
        assert pair.value(metric, pg_name) is None, metric  # but the reset says it is not
    assert all(r["value"] >= 0 for r in pair.stored if isinstance(r["value"], int | float))
    assert pair.value("db.size_bytes", pg_name) > 0


def test_a_pg_monitor_role_reads_everything_a_plain_role_is_told_what_it_lacks(
    pg_kind: PostgresqlKind, pg_name: str
) -> None:
    monitor, plain = f"{pg_name}_monitor", f"{pg_name}_plain"
    with pg_connect("postgres") as admin:
        admin.execute(f'CREATE ROLE "{monitor}" LOGIN IN ROLE pg_monitor')
        admin.execute(f'CREATE ROLE "{plain}" LOGIN')
        admin.execute(f'REVOKE CONNECT ON DATABASE "{pg_name}" FROM PUBLIC')
        # every session of the account read-only, as on a hot standby: the check only reads
        admin.execute(f'ALTER ROLE "{monitor}" SET default_transaction_read_only = on')
    try:
        full = pg_kind.sample({**PG, "database": "postgres", "user": monitor}, None)
        # no pg_stat_statements on the shared server: neither statements nor their rate
        assert [m["metric"] for m in full.missing] == ["db.queries_per_s", "db.top_statements"]
        names = {(r["metric"], r["instance"]) for r in full.readings}
        assert {("db.longest_query_s", ""), ("db.size_bytes", pg_name)} <= names

        lacking = pg_kind.sample({**PG, "database": "postgres", "user": plain}, None)
        why = {m["metric"]: m["reason"] for m in lacking.missing}
        assert "pg_read_all_stats" in why["db.longest_query_s"]
        assert pg_name in why["db.size_bytes"] and "CONNECT" in why["db.size_bytes"]
        kept = {r["metric"] for r in lacking.readings}
        assert {"db.connections.used", "db.transactions", "db.locks.waiting"} <= kept
        assert "db.longest_query_s" not in kept
    finally:
        with pg_connect("postgres") as admin:
            admin.execute(f'GRANT CONNECT ON DATABASE "{pg_name}" TO PUBLIC')


def _check(kind: PostgresqlKind, settings: dict[str, Any], secret: str | None = None) -> Any:
    return asyncio.run(kind.check(None, kind.validate(settings), secret))


def test_a_full_server_is_a_finding_not_a_crash(pg_kind: PostgresqlKind, fake_pg: Any) -> None:
    port = fake_pg("53300", "sorry, too many clients already")
    result = _check(pg_kind, {"host": "127.0.0.1", "port": port})
    assert not result.ok
    assert result.reason == (
        f"postgresql 127.0.0.1:{port}: the server refused the monitor's connection, its "
        "connection slots are all taken (connection failed: connection to server at "
        f'"127.0.0.1", port {port} failed: FATAL: sorry, too many clients already)'
    )
    # the server is up and full: connections at 100 % is what the alert rules see
    assert [(r["metric"], r["value"]) for r in result.readings] == [
        ("db.connections.used_percent", 100)
    ]


def test_an_account_at_its_connection_limit_is_told_apart(
    pg_kind: PostgresqlKind, pg_name: str
) -> None:
    role = f"{pg_name}_one"
    with pg_connect("postgres") as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN CONNECTION LIMIT 1')
    with psycopg.connect(host="127.0.0.1", user=role, dbname="postgres"):
        result = _check(pg_kind, {"host": "127.0.0.1", "user": role})
    assert not result.ok
    assert "the account's or database's connection limit is reached" in result.reason
    assert f'too many connections for role "{role}"' in result.reason  # the server's words
    assert result.readings == []  # the server itself is not full


def test_wrong_password(pg_kind: PostgresqlKind, fake_pg: Any) -> None:
    port = fake_pg("28P01", 'password authentication failed for user "monitor"')
    secret = json.dumps({"password": "not-it"})
    result = _check(pg_kind, {"host": "127.0.0.1", "port": port, "user": "monitor"}, secret)
    assert not result.ok
    assert result.reason.startswith(f"postgresql 127.0.0.1:{port}: wrong user name or password (")
    assert "not-it" not in result.reason


def test_a_hung_server_times_out(pg_kind: PostgresqlKind, silent_server: int) -> None:
    result = _check(pg_kind, {"host": "127.0.0.1", "port": silent_server, "timeout": 2})
    assert not result.ok
    assert result.reason == f"postgresql 127.0.0.1:{silent_server}: no answer within 2 s"


@pytest.mark.parametrize(
    ("settings", "field"),
    [({"host": ""}, "host"), ({"host": "h", "tls": "maybe"}, "tls"), ({"host": "h", "x": 1}, "x")],
)
def test_bad_settings_are_refused_by_field(
    app: Flask, settings: dict[str, Any], field: str
) -> None:
    with app.test_request_context("/"), pytest.raises(ValidationFailed) as caught:
        PostgresqlKind().validate(settings)
    assert field in caught.value.errors


def test_the_largest_tables_of_the_database_connected_to(
    pg_kind: PostgresqlKind, pg_name: str
) -> None:
    with pg_connect(pg_name) as conn:
        conn.execute(
            "CREATE TABLE big AS SELECT g AS id, repeat('x', 200) AS t "
            "FROM generate_series(1, 5000) g"
        )
        conn.execute("CREATE INDEX ON big (id)")
        row = conn.execute("SELECT pg_total_relation_size('big')").fetchone()
    assert row is not None
    got = pg_kind.sample({**PG, "database": pg_name}, None)
    sizes = {
        r["instance"]: r["value"] for r in got.readings if r["metric"] == "db.table_size_bytes"
    }
    assert sizes[f"{pg_name}.public.big"] == row[0] > 1_000_000  # table, TOAST and index
    assert sizes[f"{pg_name}.public.item"] > 0
    assert list(sizes.values()) == sorted(sizes.values(), reverse=True) and len(sizes) <= 10
