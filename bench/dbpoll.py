"""Benchmark: opskit's database checks against a plain driver loop, same servers, same statements.

    python bench/dbpoll.py                      # 25 PostgreSQL + 25 MariaDB databases, 5 rounds
    python bench/dbpoll.py --per-engine 50 --rounds 10 --concurrency 20

The servers: the local PostgreSQL (127.0.0.1:5432, user postgres, trust) and MariaDB
(127.0.0.1:3306, root without a password) the tests use. The bench creates ``--per-engine``
databases on each (``opskit_bench_N``, empty but for one empty table on MariaDB; dropped at
the end, also a previous run's leftovers) and one monitor per database:
a ``postgresql`` monitor connecting to its database, a ``mysql`` monitor per MariaDB database
(the mysql kind reads the whole server, so its monitors all read the same server; the bench
databases are in its sizes). No password: secret None, like a trusted monitoring address.

opskit: the jobs go through ``monitors.poller.run_checks`` — what one poller cycle does between
claiming and storing: a fresh event loop, at most ``--concurrency`` checks in flight (the
poller's semaphore, default ``DEFAULT_CONCURRENCY``), each ``kind.check()`` under the cycle's
timeout, the blocking driver in the kinds' own thread pool (``monitors.kinds.database``). Not
timed: claiming monitors and storing readings (``bench/poll.py`` covers that path).

Plain loop: ``--concurrency`` threads, each database one connect, the same statements with the
same parameters, every row fetched, close — with psycopg 3 and PyMySQL, the drivers the kinds
use. The statements are not copied here: one check per engine runs first with the drivers'
``execute`` recorded, and the plain loop replays what was recorded (so it follows the kinds'
code as that changes; the MySQL processlist's own-thread filter and the readings built from the
rows are opskit's work, not the loop's).

A third side, "plain, TLS off", is the plain loop with TLS switched off in the driver
(psycopg ``sslmode=disable``, PyMySQL ``ssl_disabled=True``): given no TLS options, PyMySQL 1.2
tries TLS ("preferred") and builds a fresh ``ssl.create_default_context()`` at every connect,
loading the system CA store (~20-40 ms of CPU, whether or not the server offers TLS). The
``mysql`` kind with ``tls`` "" connects that way, so its checks pay it as the plain loop does;
this side shows what that costs.

The sides run in this process, in alternating rounds (opskit first in odd rounds, last in even
ones) so that a change of the machine's load touches all. Printed per engine and in
total: checks/s of each side over all rounds, the ratio opskit / plain (goal >= 0.8x from issue
#21) and the process CPU time each side used (``time.process_time``: all threads; the servers'
own CPU is not counted).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG: dict[str, Any] = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
MY: dict[str, Any] = {"host": "127.0.0.1", "port": 3306, "user": "root"}
PREFIX = "opskit_bench_"
Statements = list[tuple[str, Any]]


# --- the databases ----------------------------------------------------------------------------


def create_databases(n: int) -> tuple[list[str], list[str]]:
    import psycopg
    import pymysql

    names = [f"{PREFIX}{i}" for i in range(n)]
    drop_databases()
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    my = pymysql.connect(**MY)
    try:
        with my.cursor() as cur:
            for name in names:
                cur.execute(f"CREATE DATABASE `{name}`")
                cur.execute(f"CREATE TABLE `{name}`.t (id INT PRIMARY KEY, note VARCHAR(40))")
    finally:
        my.close()
    return names, names


def drop_databases() -> None:
    """Drop every ``opskit_bench_*`` database on both servers (also a previous run's leftovers)."""
    import psycopg
    import pymysql

    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", (PREFIX + "%",)
        )
        for (name,) in rows.fetchall():
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    my = pymysql.connect(**MY)
    try:
        with my.cursor() as cur:
            cur.execute("SHOW DATABASES LIKE %s", (PREFIX.replace("_", "\\_") + "%",))
            for (name,) in cur.fetchall():
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        my.close()


# --- opskit -----------------------------------------------------------------------------------


def jobs_for(pg_names: list[str], my_names: list[str]) -> dict[str, list[Any]]:
    from monitors import kinds
    from monitors.poller import Job

    out: dict[str, list[Any]] = {"postgresql": [], "mysql": []}
    for i, name in enumerate(pg_names):
        settings = kinds.validate("postgresql", {**PG, "database": name})
        out["postgresql"].append(Job(i, i, "postgresql", settings, None, 60, "unknown"))
    for i, _name in enumerate(my_names):
        settings = kinds.validate("mysql", dict(MY))
        out["mysql"].append(Job(10_000 + i, 10_000 + i, "mysql", settings, None, 60, "unknown"))
    return out


def run_opskit(jobs: list[Any], concurrency: int) -> tuple[float, float]:
    """One poller cycle's checks over ``jobs``; (wall s, CPU s). Every check must come back up."""
    from monitors.poller import DEFAULT_CHECK_TIMEOUT, run_checks

    cpu0, start = time.process_time(), time.perf_counter()
    outcomes = run_checks(jobs, concurrency, DEFAULT_CHECK_TIMEOUT)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    bad = [o.reason for o in outcomes if o.state != "up"]
    if bad:
        sys.exit(f"{len(bad)} opskit checks were not up, e.g. {bad[0]}")
    return wall, cpu


# --- recording the statements and the plain loop ----------------------------------------------


def record(job: Any) -> Statements:
    """The statements (SQL, parameters) one check of ``job`` runs, in order."""
    import psycopg
    import pymysql

    from monitors import kinds

    seen: Statements = []
    pg_execute, my_execute = psycopg.Connection.execute, pymysql.cursors.Cursor.execute

    def pg_spy(self: Any, query: Any, params: Any = None, **kw: Any) -> Any:
        seen.append((str(query), params))
        return pg_execute(self, query, params, **kw)

    def my_spy(self: Any, query: Any, args: Any = None) -> Any:
        seen.append((str(query), args))
        return my_execute(self, query, args)

    psycopg.Connection.execute = pg_spy  # type: ignore[method-assign]
    pymysql.cursors.Cursor.execute = my_spy  # type: ignore[method-assign]
    try:
        impl = kinds.get(job.kind)
        assert impl is not None
        impl.sample(job.settings, None)  # type: ignore[attr-defined]
    finally:
        psycopg.Connection.execute = pg_execute  # type: ignore[method-assign]
        pymysql.cursors.Cursor.execute = my_execute  # type: ignore[method-assign]
    return seen


def plain_pg(database: str, statements: Statements, **options: Any) -> int:
    import psycopg

    rows = 0
    with psycopg.connect(dbname=database, autocommit=True, **PG, **options) as conn:
        for sql, params in statements:
            rows += len(conn.execute(sql, params).fetchall())
    return rows


def plain_my(database: str, statements: Statements, **options: Any) -> int:
    import pymysql

    rows = 0
    conn = pymysql.connect(**MY, autocommit=True, **options)
    try:
        for sql, params in statements:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                rows += len(cur.fetchall())
    finally:
        conn.close()
    return rows


def run_plain(
    work: Callable[[str, Statements], int], names: list[str], statements: Statements, threads: int
) -> tuple[float, float]:
    cpu0, start = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda name: work(name, statements), names))
    return time.perf_counter() - start, time.process_time() - cpu0


# --- the run ----------------------------------------------------------------------------------


NO_TLS: dict[str, dict[str, Any]] = {
    "postgresql": {"sslmode": "disable"},
    "mysql": {"ssl_disabled": True},
}
SIDES = {
    "opskit": "opskit checks",
    "plain": "plain loop",
    "no_tls": "plain, TLS off",
}


def main() -> None:
    from monitors.poller import DEFAULT_CONCURRENCY

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-engine", type=int, default=25, help="databases on each server")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of the sides")
    parser.add_argument(
        "--concurrency", type=int, default=DEFAULT_CONCURRENCY, help="checks in flight"
    )
    args = parser.parse_args()
    print(
        f"{args.per_engine} PostgreSQL + {args.per_engine} MariaDB databases, "
        f"{args.concurrency} checks in flight, {args.rounds} rounds; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    pg_names, my_names = create_databases(args.per_engine)
    try:
        jobs = jobs_for(pg_names, my_names)
        plain = {
            "postgresql": (plain_pg, pg_names, record(jobs["postgresql"][0])),
            "mysql": (plain_my, my_names, record(jobs["mysql"][0])),
        }
        for engine, (_, _, statements) in plain.items():
            print(f"  {engine}: {len(statements)} statements per check")
        # warm-up: imports, the kinds' thread pool, the servers' caches (not counted)
        run_opskit(jobs["postgresql"][:2] + jobs["mysql"][:2], args.concurrency)
        threads = args.concurrency
        totals = {(e, side): [0.0, 0.0] for e in plain for side in SIDES}
        for r in range(args.rounds):
            for engine, (work, names, statements) in plain.items():
                timed = partial(run_plain, names=names, statements=statements, threads=threads)
                runs: dict[str, Callable[[], tuple[float, float]]] = {
                    "opskit": partial(run_opskit, jobs[engine], threads),
                    "plain": partial(timed, work),
                    "no_tls": partial(timed, partial(work, **NO_TLS[engine])),
                }
                order = list(SIDES) if r % 2 == 0 else list(SIDES)[::-1]
                for side in order:
                    wall, cpu = runs[side]()
                    totals[engine, side][0] += wall
                    totals[engine, side][1] += cpu
        report(totals, args.per_engine * args.rounds)
    finally:
        drop_databases()


def report(totals: dict[tuple[str, str], list[float]], checks: int) -> None:
    both = {side: [0.0, 0.0] for side in SIDES}
    for engine in ("postgresql", "mysql"):
        print(f"{engine} ({checks} checks):")
        for side, label in SIDES.items():
            wall, cpu = totals[engine, side]
            both[side][0] += wall
            both[side][1] += cpu
            print(
                f"  {label:<15} {checks / wall:7.1f} checks/s  "
                f"CPU {1000 * cpu / checks:6.2f} ms/check ({cpu:.2f} s)"
            )
        ratio = totals[engine, "plain"][0] / totals[engine, "opskit"][0]
        bare = totals[engine, "no_tls"][0] / totals[engine, "opskit"][0]
        print(f"  ratio opskit / plain: {ratio:.2f}x (goal >= 0.8x); / plain TLS off: {bare:.2f}x")
    total = 2 * checks
    print(f"both engines ({total} checks):")
    for side, label in SIDES.items():
        wall, cpu = both[side]
        print(f"  {label:<15} {total / wall:7.1f} checks/s  CPU {cpu:.2f} s")
    ratio = both["plain"][0] / both["opskit"][0]
    print(f"  ratio opskit / plain: {ratio:.2f}x (goal >= 0.8x)")


if __name__ == "__main__":
    main()
