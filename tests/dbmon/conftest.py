"""The database monitors' tests run against the real servers of this machine (``.ci/run`` starts
them): PostgreSQL on 127.0.0.1:5432 (trust, user postgres) and MariaDB on 127.0.0.1:3306 (root
without a password). Other tests use those servers at the same time, so each test run makes its
own database, roles and users (``dbmon_<hex>``) and drops them at the end, and figures the
engine keeps per database are read for the test's own database only.

``two_samples`` reads a server with its kind, runs the load, reads it again and turns the two
samples into rates exactly as the poller does (``monitors.counters.between``).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pymysql
import pytest

from monitors import counters
from monitors.kinds.database import DatabaseKind, Sample
from monitors.kinds.mysql import MysqlKind
from monitors.kinds.postgresql import PostgresqlKind

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "timeout": 5.0, "slow_s": 1.0}
MY = {"host": "127.0.0.1", "port": 3306, "user": "root", "timeout": 5.0, "slow_s": 1.0}


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def pg_connect(dbname: str, **kwargs: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname=dbname, autocommit=True, **kwargs
    )


def my_connect(database: str | None = None, **kwargs: Any) -> pymysql.Connection[Any]:
    options: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
    options.update(kwargs)
    return pymysql.connect(database=database, autocommit=True, **options)


@dataclass
class Pair:
    """Two samples and what the poller would store from the second."""

    first: Sample
    second: Sample
    seconds: float
    stored: list[dict[str, Any]]

    def value(self, metric: str, instance: str = "") -> Any:
        found = [
            r["value"] for r in self.stored if (r["metric"], r["instance"]) == (metric, instance)
        ]
        assert len(found) <= 1, (metric, instance, found)
        return found[0] if found else None

    def counted(self, rate_metric: str, instance: str = "") -> float:
        """How many the rate says happened between the samples (rate × seconds in its unit)."""
        per = {"/s": 1.0, "B/s": 1.0, "/min": 60.0, "/h": 3600.0}
        row = next(
            r for r in self.stored if (r["metric"], r["instance"]) == (rate_metric, instance)
        )
        return row["value"] * self.seconds / per[row["unit"]]


def _sampled(
    kind: DatabaseKind, settings: dict[str, Any], password: str | None
) -> tuple[Sample, datetime]:
    started = time.monotonic()
    got = kind.sample(settings, password)
    return got, datetime.fromtimestamp((started + time.monotonic()) / 2, UTC)


def two_samples(
    kind: DatabaseKind,
    settings: dict[str, Any],
    load: Callable[[Sample], None],
    password: str | None = None,
) -> Pair:
    first, at1 = _sampled(kind, settings, password)
    _, snapshot = counters.between(None, first.readings, at1, first.uptime_s)
    load(first)
    second, at2 = _sampled(kind, settings, password)
    stored, _ = counters.between(snapshot, second.readings, at2, second.uptime_s)
    return Pair(first, second, (at2 - at1).total_seconds(), stored)


def counter(sample: Sample, metric: str, instance: str = "") -> int:
    return next(
        r["value"] for r in sample.readings if (r["metric"], r["instance"]) == (metric, instance)
    )


def wait_until(condition: Callable[[], bool], what: str, limit_s: float = 15.0) -> None:
    """Wait for something the servers do asynchronously (not a timed assertion: the limit only
    ends a test that would otherwise hang)."""
    end = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"still not {what} after {limit_s:g} s")
        time.sleep(0.05)


def in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Run ``work`` in a thread; the list gets its result or the exception it raised."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(work())
        except Exception as exc:
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


# --- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_name() -> Iterator[str]:
    """A database of this test run's own on the machine's PostgreSQL (dropped at the end)."""
    if not _reachable(5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (.ci/run starts it)")
    name = f"dbmon_{uuid.uuid4().hex[:10]}"
    with pg_connect("postgres") as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    with pg_connect(name) as conn:
        # no autovacuum/autoanalyze of the table: their transactions count in the database's
        # xact_commit and, on a busy machine, fell inside a test's counted window
        conn.execute(
            "CREATE TABLE item (id int PRIMARY KEY, qty int NOT NULL)"
            " WITH (autovacuum_enabled = off)"
        )
        conn.execute("INSERT INTO item SELECT g, 0 FROM generate_series(1, 100) g")
    yield name
    with pg_connect("postgres") as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for (role,) in admin.execute(
            "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (f"{name}%",)
        ).fetchall():
            admin.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def pg_kind() -> PostgresqlKind:
    return PostgresqlKind()


# --- MariaDB ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def my_name() -> Iterator[str]:
    """A database and users of this test run's own on the machine's MariaDB (dropped at the end)."""
    if not _reachable(3306):
        pytest.skip("MariaDB is not running on 127.0.0.1:3306 (.ci/run starts it)")
    name = f"dbmon_{uuid.uuid4().hex[:10]}"
    with my_connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
        cur.execute(
            f"CREATE TABLE `{name}`.item (id INT PRIMARY KEY, qty INT NOT NULL) ENGINE=InnoDB"
        )
        cur.execute(f"INSERT INTO `{name}`.item VALUES (1, 0), (2, 0), (3, 0)")
    yield name
    with my_connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute("SELECT User, Host FROM mysql.user WHERE User LIKE %s", (f"{name}%",))
        for user, host in cur.fetchall():
            cur.execute("DROP USER %s@%s", (user, host))


@pytest.fixture
def my_kind() -> MysqlKind:
    return MysqlKind()


# --- servers that misbehave ---------------------------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung server)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for sock in held:
        sock.close()
    listener.close()


@pytest.fixture
def fake_pg() -> Iterator[Callable[[str, str], int]]:
    """Ports speaking just enough of PostgreSQL's protocol to refuse a connection as a server
    would (the machine's PostgreSQL trusts 127.0.0.1 and is shared, so neither a password nor
    a full server can be shown on it): each declines TLS and GSS, reads the startup packet and
    answers FATAL with the SQLSTATE and message given."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def error(code: str, message: str) -> bytes:
        pairs = ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))
        fields = b"".join(key + value.encode() + b"\0" for key, value in pairs) + b"\0"
        return b"E" + (len(fields) + 4).to_bytes(4, "big") + fields

    def serve(conn: socket.socket, answer: bytes) -> None:
        with conn:
            while True:
                head = conn.recv(8, socket.MSG_WAITALL)
                if len(head) < 8:
                    return
                length, code = int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")
                if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest
                    conn.sendall(b"N")
                    continue
                rest = length - 8
                while rest > 0:
                    rest -= len(conn.recv(rest))
                conn.sendall(answer)
                return

    def accept(listener: socket.socket, answer: bytes) -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn, answer), daemon=True).start()

    def start(code: str, message: str) -> int:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listeners.append(listener)
        threading.Thread(target=accept, args=(listener, error(code, message)), daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    stop.set()
    for listener in listeners:
        listener.close()


@pytest.fixture
def fake_mysql() -> Iterator[Callable[[int, str], int]]:
    """Ports that answer a MySQL client's connection with an error packet instead of the
    handshake, as a server with every connection slot taken does (1040 Too many connections)."""
    listeners: list[socket.socket] = []
    stop = threading.Event()

    def accept(listener: socket.socket, packet: bytes) -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(packet)

    def start(code: int, message: str) -> int:
        payload = b"\xff" + code.to_bytes(2, "little") + message.encode()
        packet = len(payload).to_bytes(3, "little") + b"\0" + payload
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listeners.append(listener)
        threading.Thread(target=accept, args=(listener, packet), daemon=True).start()
        return int(listener.getsockname()[1])

    yield start
    stop.set()
    for listener in listeners:
        listener.close()
