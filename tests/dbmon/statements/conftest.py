"""Servers of these tests' own, started once per test session and stopped at its end: the
machine's shared servers have neither ``pg_stat_statements`` nor ``performance_schema`` on.

- ``pg_cluster``: a throwaway PostgreSQL cluster (``initdb`` as the ``postgres`` OS user in a
  temporary directory, trust on loopback, ``pg_stat_statements`` preloaded with
  ``track=all`` and created in ``postgres``) and a streaming replica of it (``pg_basebackup -R``,
  a second port; pg_stat_statements not preloaded there).
- ``mariadb_server``: a throwaway MariaDB (``mariadb-install-db``, ``mariadbd
  --performance-schema``, a binary log; root without a password on loopback), and
  ``mariadb_replica``, a read-only replica of it (started only by the tests that use it).

Each is skipped, with the reason, only when its binaries are absent. ``pg_stat_statements_reset()``
and ``TRUNCATE`` of the digest table reset the whole server, so the tests using these servers
share one xdist group (one worker runs them one after another).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pymysql
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as(user: str) -> list[str]:
    """Run a server's command as its OS user (the servers refuse to run as root)."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("runuser is absent: cannot start a server as its own user while root")
    return [runuser, "-u", user, "--"]


def _ready(connect: object, what: str, limit_s: float = 30.0) -> None:
    """Wait until a server just started takes connections (the limit only ends a hang)."""
    end = time.monotonic() + limit_s
    while True:
        try:
            connect()  # type: ignore[operator]
            return
        except Exception:
            if time.monotonic() > end:
                raise AssertionError(f"{what} did not start within {limit_s:g} s") from None
            time.sleep(0.05)


@dataclass
class PgCluster:
    port: int
    replica_port: int

    def connect(self, dbname: str = "postgres", replica: bool = False) -> psycopg.Connection:
        return psycopg.connect(
            host="127.0.0.1",
            port=self.replica_port if replica else self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
        )

    def settings(self, replica: bool = False, database: str = "postgres") -> dict[str, object]:
        port = self.replica_port if replica else self.port
        return {"host": "127.0.0.1", "port": port, "user": "postgres", "database": database}


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb is None:
        pytest.skip("initdb is absent (PostgreSQL server binaries not installed)")
    bindir = Path(initdb).parent
    for tool in ("pg_ctl", "pg_basebackup"):
        if not (bindir / tool).exists():
            pytest.skip(f"{tool} is absent beside {initdb}")
    run_as = _as("postgres")
    top = Path(tempfile.mkdtemp(prefix="opskit-pgss-"))
    if run_as:
        shutil.chown(top, "postgres")
    primary, replica = top / "primary", top / "replica"
    port, replica_port = _free_port(), _free_port()
    common = f"-k {top} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=30"

    def run(*args: object) -> None:
        subprocess.run([*run_as, *map(str, args)], check=True, capture_output=True, timeout=120)

    started: list[Path] = []
    try:
        run(initdb, "-D", primary, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        run(
            bindir / "pg_ctl", "-D", primary, "-l", top / "primary.log", "-w", "-o",
            f"-p {port} {common} -c shared_preload_libraries=pg_stat_statements "
            "-c pg_stat_statements.track=all", "start",
        )  # fmt: skip
        started.append(primary)
        cluster = PgCluster(port, replica_port)
        with cluster.connect() as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
        run(
            bindir / "pg_basebackup", "-h", "127.0.0.1", "-p", port, "-U", "postgres",
            "-D", replica, "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        run(
            bindir / "pg_ctl", "-D", replica, "-l", top / "replica.log", "-w", "-o",
            f"-p {replica_port} {common}", "start",
        )  # fmt: skip
        started.append(replica)
        _ready(lambda: cluster.connect(replica=True).close(), "the replica")
        yield cluster
    finally:
        for data in reversed(started):
            subprocess.run(
                [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(top, ignore_errors=True)


@dataclass
class MariaDb:
    port: int

    def connect(self, database: str | None = None) -> pymysql.Connection:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user="root",
            password="",
            database=database,
            autocommit=True,
        )

    def settings(self) -> dict[str, object]:
        return {"host": "127.0.0.1", "port": self.port, "user": "root"}


@contextlib.contextmanager
def _mariadb(*options: str) -> Iterator[MariaDb]:
    """A throwaway MariaDB in a temporary directory, started with ``options``."""
    install = shutil.which("mariadb-install-db")
    server = shutil.which("mariadbd") or (
        "/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None
    )
    if install is None or server is None:
        pytest.skip("mariadb-install-db / mariadbd are absent (MariaDB server not installed)")
    top = Path(tempfile.mkdtemp(prefix="opskit-myps-"))
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    if user:
        shutil.chown(top, "mysql")
    data, port = top / "data", _free_port()
    process: subprocess.Popen[bytes] | None = None
    log = open(top / "server.log", "wb")  # noqa: SIM115 (open while the server runs)
    try:
        subprocess.run(
            [
                install,
                f"--datadir={data}",
                *user,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        process = subprocess.Popen(
            [
                server,
                "--no-defaults",
                f"--datadir={data}",
                *user,
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--socket={top}/sock",
                f"--pid-file={top}/pid",
                "--innodb-buffer-pool-size=16M",
                "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=0",
                *options,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        got = MariaDb(port)
        _ready(lambda: got.connect().close(), "MariaDB")
        yield got
    finally:
        if process is not None:
            process.kill()  # a throwaway server: nothing to shut down cleanly
            process.wait()
        log.close()
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDb]:
    """performance_schema on; a binary log, so that ``mariadb_replica`` can follow it."""
    with _mariadb("--performance-schema", "--server-id=1", "--log-bin=primary") as got:
        yield got


@pytest.fixture(scope="session")
def mariadb_replica(mariadb_server: MariaDb) -> Iterator[MariaDb]:
    """A read-only replica of ``mariadb_server`` (GTID replication as root)."""
    with _mariadb("--server-id=2", "--skip-log-bin", "--read-only") as got:
        with got.connect() as conn, conn.cursor() as cur:
            cur.execute(
                "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = %s, "
                "MASTER_USER = 'root', MASTER_PASSWORD = '', MASTER_USE_GTID = slave_pos",
                (mariadb_server.port,),
            )
            cur.execute("START SLAVE")
        yield got
