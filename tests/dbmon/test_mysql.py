"""The mysql monitor kind against the machine's MariaDB, under load the tests make.

Tolerances: MariaDB counts statements, slow statements and deadlocks for the whole server: the
counts are lower bounds, with upper bounds where the tests' own statements are all there is to
count (the monitor's own check adds about ten statements). The tests that use MariaDB share one
xdist group, so they run one after another: no other test of the suite uses the server.
Each test that needs an account makes one (``dbmon_<hex>_...``), dropped at the end of the run.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pymysql
import pytest

from monitors.kinds.mysql import MysqlKind
from tests.dbmon.conftest import MY, in_thread, my_connect, two_samples, wait_until

# what the servers count does not depend on the date: left out of the shifted-clock runs
pytestmark = [pytest.mark.xdist_group("mariadb"), pytest.mark.dateless]

#: statements one check runs (VERSION(), six SHOWs, three size reads), rounded up
CHECK_STATEMENTS = 12


def _execute(conn: pymysql.Connection[Any], sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, args or None)
        return list(cur.fetchall())


def test_statements_and_slow_statements_per_second_match_the_load(
    my_kind: MysqlKind, my_name: str
) -> None:
    statements, slow = 300, 3

    def load(first: Any) -> None:
        with my_connect(my_name) as conn:
            for i in range(statements - slow - 1):
                _execute(conn, "SELECT qty FROM item WHERE id = %s", i % 3 + 1)
            _execute(conn, "SET SESSION long_query_time = 0.05")
            for _ in range(slow):
                _execute(conn, "SELECT SLEEP(0.1)")

    pair = two_samples(my_kind, MY, load)
    counted = round(pair.counted("db.queries_per_s"))
    assert statements <= counted, counted
    assert counted <= statements + CHECK_STATEMENTS + 50, counted  # the check's own, a few others
    slowed = round(pair.counted("db.slow_queries_per_min"))
    assert slow <= slowed <= slow + 2, slowed
    assert pair.value("db.temp_disk_tables_per_min") is not None
    assert 0 <= pair.value("db.buffer_pool.used_percent") <= 100
    assert pair.value("db.size_bytes", my_name) > 0
    assert pair.value("db.table_size_bytes", f"{my_name}.item") >= 16384  # one InnoDB page
    assert all(r["value"] >= 0 for r in pair.stored if isinstance(r["value"], int | float))


def test_a_deadlock_a_lock_wait_and_a_slow_statement_are_seen(
    my_kind: MysqlKind, my_name: str
) -> None:
    holder, waiter, sleeper = (my_connect(my_name) for _ in range(3))
    threads = []
    try:
        _execute(waiter, "SET SESSION innodb_lock_wait_timeout = 20")
        _execute(holder, "BEGIN")
        _execute(holder, "SELECT * FROM item WHERE id = 3 FOR UPDATE")
        waiting_id, sleeping_id = waiter.thread_id(), sleeper.thread_id()
        threads.append(in_thread(lambda: _execute(waiter, "UPDATE item SET qty = 9 WHERE id = 3")))
        threads.append(in_thread(lambda: _execute(sleeper, "SELECT SLEEP(3)")))

        def seen() -> bool:
            with my_connect() as root:
                rows = _execute(
                    root,
                    "SELECT ID, TIME_MS FROM information_schema.PROCESSLIST WHERE ID IN (%s, %s)",
                    waiting_id,
                    sleeping_id,
                )
                locked = _execute(
                    root,
                    "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                    "WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id = %s",
                    waiting_id,
                )
            return locked[0][0] == 1 and any(i == sleeping_id and ms >= 1000 for i, ms in rows)

        wait_until(seen, "waiting for the lock and sleeping for 1 s")
        got = my_kind.sample({**MY, "slow_s": 1.0}, None)
        values = {(r["metric"], r["instance"]): r["value"] for r in got.readings}
        assert values[("db.locks.waiting", "")] >= 1
        assert values[("db.longest_query_s", "")] >= 1.0
        assert values[("db.slow_queries.running", "")] >= 1
        assert values[("db.connections.used", "")] >= 4
    finally:
        _execute(holder, "ROLLBACK")
        for thread, _ in threads:
            thread.join()
        for conn in (holder, waiter, sleeper):
            conn.close()

    def deadlock(first: Any) -> None:
        a, b = my_connect(my_name), my_connect(my_name)
        try:
            _execute(a, "BEGIN")
            _execute(b, "BEGIN")
            _execute(a, "UPDATE item SET qty = qty + 1 WHERE id = 1")
            _execute(b, "UPDATE item SET qty = qty + 1 WHERE id = 2")
            thread, _ = in_thread(lambda: _execute(a, "UPDATE item SET qty = 0 WHERE id = 2"))

            def a_waits() -> bool:
                with my_connect() as root:
                    return (
                        _execute(
                            root,
                            "SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                            "WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id = %s",
                            a.thread_id(),
                        )[0][0]
                        == 1
                    )

            wait_until(a_waits, "waiting for the lock")
            try:
                _execute(b, "UPDATE item SET qty = 0 WHERE id = 1")
            except pymysql.err.OperationalError as exc:
                assert exc.args[0] == 1213  # ER_LOCK_DEADLOCK: b was the victim
            thread.join()
            _execute(a, "ROLLBACK")
            _execute(b, "ROLLBACK")
        finally:
            a.close()
            b.close()

    pair = two_samples(my_kind, MY, deadlock)
    assert round(pair.counted("db.deadlocks_per_h")) >= 1


def test_flush_status_gives_no_rate(my_kind: MysqlKind, my_name: str) -> None:
    """FLUSH STATUS resets some global counters on MySQL and, on MariaDB 10.11, none of these
    (only Uptime_since_flush_status): the check cannot tell which, so no rate for that check."""

    def load(first: Any) -> None:
        with my_connect(my_name) as conn:
            _execute(conn, "FLUSH STATUS")
            for _ in range(20):
                _execute(conn, "SELECT 1")

    pair = two_samples(my_kind, MY, load)
    for metric in ("db.queries_per_s", "db.slow_queries_per_min", "db.cache_hit_percent"):
        assert pair.value(metric) is None, metric
    assert all(r["value"] >= 0 for r in pair.stored if isinstance(r["value"], int | float))
    assert pair.value("db.connections.used") >= 1  # the gauges are there


def _account(name: str, grants: list[str], extra: str = "") -> dict[str, Any]:
    with my_connect() as root:
        _execute(root, f"CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY 'pw-{name}' {extra}")
        for grant in grants:
            _execute(root, f"GRANT {grant} TO '{name}'@'127.0.0.1'")
    return {**MY, "user": name}


def test_a_least_privilege_account_reads_everything_a_lacking_one_is_told_what(
    my_kind: MysqlKind, my_name: str
) -> None:
    full = _account(
        f"{my_name}_mon",
        [
            "PROCESS, SLAVE MONITOR ON *.*",
            "SELECT ON performance_schema.*",
            f"SELECT ON `{my_name}`.*",
        ],
    )
    got = my_kind.sample(full, f"pw-{my_name}_mon")
    assert [m["metric"] for m in got.missing] == ["db.top_statements"]  # performance_schema off
    names = {(r["metric"], r["instance"]) for r in got.readings}
    assert {("db.longest_query_s", ""), ("db.size_bytes", my_name), ("db.queries", "")} <= names

    lacking = _account(f"{my_name}_low", ["USAGE ON *.*"])
    got = my_kind.sample(lacking, f"pw-{my_name}_low")
    why = {m["metric"]: m["reason"] for m in got.missing}
    assert why["db.longest_query_s"] == "other sessions' statements: needs PROCESS"
    assert why["db.replication.lag_s"].startswith("needs SLAVE MONITOR (Access denied; you need")
    assert "db.size_bytes" in why
    kept = {r["metric"] for r in got.readings}
    assert {"db.connections.used", "db.queries", "db.buffer_pool.used_percent"} <= kept


def _check(kind: MysqlKind, settings: dict[str, Any], password: str | None = None) -> Any:
    secret = json.dumps({"password": password}) if password is not None else None
    return asyncio.run(kind.check(None, kind.validate(settings), secret))


def test_wrong_password(my_kind: MysqlKind, my_name: str) -> None:
    settings = _account(f"{my_name}_pw", [])
    result = _check(my_kind, settings, "not-it")
    assert not result.ok
    assert result.reason.startswith("mysql 127.0.0.1:3306: wrong user name or password (")
    assert "not-it" not in result.reason
    assert _check(my_kind, settings, f"pw-{my_name}_pw").ok


def test_an_account_at_its_connection_limit_is_a_finding(my_kind: MysqlKind, my_name: str) -> None:
    settings = _account(f"{my_name}_one", [], "WITH MAX_USER_CONNECTIONS 1")
    held = my_connect(user=settings["user"], password=f"pw-{my_name}_one")
    try:
        result = _check(my_kind, settings, f"pw-{my_name}_one")
    finally:
        held.close()
    assert not result.ok
    assert "the account's connection limit is reached" in result.reason
    assert "max_user_connections" in result.reason  # the server's words


def test_a_full_server_is_a_finding_not_a_crash(my_kind: MysqlKind, fake_mysql: Any) -> None:
    port = fake_mysql(1040, "Too many connections")
    result = _check(my_kind, {"host": "127.0.0.1", "port": port})
    assert not result.ok
    assert result.reason == (
        f"mysql 127.0.0.1:{port}: the server refused the monitor's connection, its connection "
        "slots are all taken (Too many connections)"
    )
    assert [(r["metric"], r["value"]) for r in result.readings] == [
        ("db.connections.used_percent", 100)
    ]


def test_a_hung_server_times_out(my_kind: MysqlKind, silent_server: int) -> None:
    result = _check(my_kind, {"host": "127.0.0.1", "port": silent_server, "timeout": 1})
    assert not result.ok
    assert result.reason == f"mysql 127.0.0.1:{silent_server}: no answer within 1 s"


def test_an_unreadable_secret_is_a_reason(my_kind: MysqlKind) -> None:
    result = asyncio.run(my_kind.check(None, my_kind.validate(dict(MY)), "not json"))
    assert not result.ok
    assert result.reason == "mysql settings: the stored secret is not readable"
