"""MariaDB's top statements (performance_schema's statement digests) through the kind, against
this test session's own server, read twice as the poller would (``monitors.statements``); and
its read-only replica's lag.

Tolerances as for PostgreSQL: calls and rows exact, a statement's total time between what it
waits (``SLEEP``) and the wall time the test measured around its calls.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from monitors import statements
from monitors.kinds.mysql import MysqlKind
from tests.dbmon.conftest import wait_until
from tests.dbmon.statements.conftest import MariaDb

pytestmark = [pytest.mark.xdist_group("dbstatements"), pytest.mark.dateless]


@pytest.fixture
def schema(mariadb_server: MariaDb) -> Iterator[str]:
    name = f"myss_{uuid.uuid4().hex[:8]}"
    with mariadb_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(f"CREATE TABLE `{name}`.item (id INT PRIMARY KEY, qty INT NOT NULL)")
        cur.execute(f"USE `{name}`")
        cur.execute("INSERT INTO item SELECT seq, seq FROM seq_1_to_100")
    yield name
    with mariadb_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


def workload(server: MariaDb, schema: str, lookups: int, sleeps: int = 0) -> float:
    with server.connect(schema) as conn, conn.cursor() as cur:
        for i in range(lookups):
            cur.execute("SELECT qty FROM item WHERE id = %s", (i % 100 + 1,))
        started = time.perf_counter()
        for _ in range(sleeps):
            cur.execute("SELECT SLEEP(0.05)")
        return (time.perf_counter() - started) * 1000


class Reads:
    """The kind's reads of one server, each turned into increases since the one before."""

    def __init__(self, server: MariaDb) -> None:
        self.kind = MysqlKind()
        self.settings = self.kind.validate(server.settings())
        self.state: dict[str, Any] | None = None

    def read(self, schema: str) -> dict[str, dict[str, Any]]:
        sample = self.kind.sample(self.settings, None)
        assert "db.top_statements" not in {m["metric"] for m in sample.missing}
        assert sample.statements is not None
        got, self.state = statements.between(self.state, sample.statements)
        out = {}
        for d in got:
            if d["database"] != schema:
                continue
            if "`item`" in d["text"]:
                out["lookup"] = d
            elif "SLEEP" in d["text"].upper():
                out["sleep"] = d
        return out


def test_statement_digests_give_each_reads_increases(mariadb_server: MariaDb, schema: str) -> None:
    reads = Reads(mariadb_server)
    assert reads.read(schema) == {}  # the first read: nothing to compare with
    workload(mariadb_server, schema, 50)
    reads.read(schema)
    spent_ms = workload(mariadb_server, schema, 200, sleeps=20)
    got = reads.read(schema)
    lookup, sleep = got["lookup"], got["sleep"]
    assert (lookup["calls"], lookup["rows"]) == (200, 200)  # counted on from the 50 before
    assert lookup["text"] == "SELECT `qty` FROM `item` WHERE ID = ?"
    assert sleep["calls"] == 20
    assert 20 * 50 <= sleep["total_ms"] <= spent_ms

    # the digest table emptied between two reads: the statements since then, never negative
    with mariadb_server.connect() as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest")
    workload(mariadb_server, schema, 5)
    after = reads.read(schema)
    assert (after["lookup"]["calls"], after["lookup"]["rows"]) == (5, 5)
    assert "sleep" not in after


def test_performance_schema_privilege_missing_is_named(
    mariadb_server: MariaDb, schema: str
) -> None:
    user = f"{schema}_mon"
    with mariadb_server.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw-{user}'")
        cur.execute(f"GRANT PROCESS, SLAVE MONITOR ON *.* TO '{user}'@'127.0.0.1'")
    try:
        kind = MysqlKind()
        sample = kind.sample(
            kind.validate({**mariadb_server.settings(), "user": user}), f"pw-{user}"
        )
        why = {m["metric"]: m["reason"] for m in sample.missing}
        assert why["db.top_statements"].startswith("needs SELECT on performance_schema")
        assert sample.statements is None
        with mariadb_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"GRANT SELECT ON performance_schema.* TO '{user}'@'127.0.0.1'")
        granted = kind.sample(
            kind.validate({**mariadb_server.settings(), "user": user}), f"pw-{user}"
        )
        assert "db.top_statements" not in {m["metric"] for m in granted.missing}
        assert granted.statements is not None and granted.statements["rows"]
    finally:
        with mariadb_server.connect() as conn, conn.cursor() as cur:
            cur.execute(f"DROP USER '{user}'@'127.0.0.1'")


def test_the_replica_reports_its_lag_and_a_stopped_replication(
    mariadb_server: MariaDb, mariadb_replica: MariaDb, schema: str
) -> None:
    kind = MysqlKind()
    settings = kind.validate(mariadb_replica.settings())
    with mariadb_server.connect(schema) as conn, conn.cursor() as cur:
        cur.execute("UPDATE item SET qty = -1 WHERE id = 1")

    def applied() -> bool:
        with mariadb_replica.connect() as conn, conn.cursor() as cur:
            try:
                cur.execute(f"SELECT COUNT(*) FROM `{schema}`.item WHERE qty = -1")
            except pymysql.err.ProgrammingError:  # the table itself not replicated yet
                return False
            return bool(cur.fetchone()[0])

    wait_until(applied, "applied on the replica")
    caught_up = kind.sample(settings, None)
    lag = [r["value"] for r in caught_up.readings if r["metric"] == "db.replication.lag_s"]
    assert lag == [0.0]
    primary = kind.sample(kind.validate(mariadb_server.settings()), None)
    assert "db.replication.lag_s" not in {r["metric"] for r in primary.readings}

    with mariadb_replica.connect() as conn, conn.cursor() as cur:
        cur.execute("STOP SLAVE SQL_THREAD")
        try:
            stopped = kind.sample(settings, None)
        finally:
            cur.execute("START SLAVE SQL_THREAD")
    why = {m["metric"]: m["reason"] for m in stopped.missing}
    assert why["db.replication.lag_s"] == "replication is stopped (the replica reports no lag)"
    # a read-only server is read like any other (performance_schema off there)
    assert "performance_schema is OFF" in why["db.top_statements"]
