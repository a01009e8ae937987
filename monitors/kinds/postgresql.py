"""PostgreSQL servers (psycopg 3): connections, transactions, cache hits, locks, deadlocks, the
longest statement, replication lag on a replica, sizes, temporary files and checkpoints.

Least privilege: a role with ``pg_monitor`` (``pg_read_all_stats`` lets it see other sessions'
statements and every database's size). Without it the metrics that need it are named in
``missing`` and the rest are kept. What is read, all in one connection:

- ``pg_stat_activity``: client backends (``db.connections.used``, of ``max_connections``); the
  active statements' run time (``db.longest_query_s``, ``db.slow_queries.running`` past the
  monitor's ``slow_s``) — other users' statements need ``pg_read_all_stats``.
- ``pg_stat_database`` per database and summed ("" instance): transactions (commit + rollback),
  cache hits and lookups (``blks_hit``, ``blks_hit + blks_read``), deadlocks, temporary bytes;
  each counter's ``age_s`` since ``greatest(stats_reset, pg_postmaster_start_time())`` so a
  ``pg_stat_reset()`` or a restart between checks gives no rate.
- ``pg_locks``: sessions waiting for a lock; ``pg_database_size`` per database; the ten largest
  tables of the database connected to (``pg_total_relation_size``: with indexes and TOAST).
- ``pg_stat_bgwriter`` (``pg_stat_checkpointer`` from PostgreSQL 17): checkpoints.
- a replica (``pg_is_in_recovery()``): the replay lag, 0 when everything received is applied.

PostgreSQL keeps no count of slow statements (``db.slow_queries_per_min`` is MySQL's); what is
slow here is ``db.slow_queries.running`` at the check. Top statements and
``db.queries_per_s`` (the calls it counts) need the ``pg_stat_statements`` extension (loaded by
``shared_preload_libraries``, created in the database the monitor connects to): the statement
counters go to ``monitors.statements``; the check says in ``missing`` when it is not there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from monitors.kinds.database import DatabaseKind, Refused, Sample, database_fields
from monitors.statements import READ_LIMIT, TEXT_CHARS

if TYPE_CHECKING:
    import psycopg

PRIVILEGE = "needs pg_read_all_stats (grant pg_monitor)"
LARGEST_TABLES = 10


def _connect(settings: dict[str, Any], password: str | None) -> psycopg.Connection[Any]:
    timeout = float(settings.get("timeout", 5.0))
    sslmode = {"": "prefer", "require": "require", "verify": "verify-full"}[
        settings.get("tls") or ""
    ]
    where = f"{settings['host']}:{settings.get('port', 5432)}"
    import psycopg  # lazy: psycopg costs ~0.3 s of every command's start, used by checks only

    try:
        return psycopg.connect(
            host=settings["host"],
            port=int(settings.get("port", 5432)),
            dbname=settings.get("database") or "postgres",
            user=settings.get("user") or "postgres",
            password=password or None,
            connect_timeout=max(2, math.ceil(timeout)),  # libpq's least is 2 s
            sslmode=sslmode,
            application_name="opskit monitor",
            options=f"-c statement_timeout={int(timeout * 1000)} -c lock_timeout=1000",
            autocommit=True,
        )
    except psycopg.OperationalError as exc:
        raise _refused(where, str(exc), timeout) from None


def _refused(where: str, message: str, timeout: float) -> Refused:
    text = " ".join(message.split())
    low = text.lower()
    if "password authentication failed" in low or "no password supplied" in low:
        return Refused(f"postgresql {where}: wrong user name or password ({text})")
    if "too many clients" in low:  # the server's max_connections (less the reserved ones)
        return Refused(
            f"postgresql {where}: the server refused the monitor's connection, its connection "
            f"slots are all taken ({text})",
            full=True,
        )
    if "too many connections" in low:  # a role's or a database's CONNECTION LIMIT
        return Refused(
            f"postgresql {where}: the server refused the monitor's connection, the account's "
            f"or database's connection limit is reached ({text})"
        )
    if "timeout expired" in low:
        return Refused(f"postgresql {where}: no answer within {timeout:g} s")
    return Refused(f"postgresql {where}: {text}")


class PostgresqlKind(DatabaseKind):
    """A PostgreSQL server. Settings: host, port (5432), database to connect to (postgres), user,
    tls, timeout (5 s), slow_s (1 s); secret ``{"password"}``."""

    key = "postgresql"
    label = "PostgreSQL"
    engine = "postgresql"
    default_port = 5432
    has_database = True
    default_user = "postgres"
    fields = database_fields(5432, database=True)

    def target(self, settings: dict[str, Any]) -> tuple[Any, ...]:
        return (settings.get("host"), settings.get("port"))

    def sample(self, settings: dict[str, Any], password: str | None) -> Sample:
        timeout = float(settings.get("timeout", 5.0))
        where = f"{settings['host']}:{settings.get('port', 5432)}"
        import psycopg  # lazy: psycopg costs ~0.3 s of every command's start, used by checks only

        with _connect(settings, password) as conn:
            try:
                return _read(conn, settings)
            except psycopg.errors.QueryCanceled:
                raise Refused(f"postgresql {where}: no answer within {timeout:g} s") from None
            except psycopg.OperationalError as exc:
                raise _refused(where, str(exc), timeout) from None
            except psycopg.Error as exc:  # a statement the server refused: say which error
                text = " ".join(str(exc).split())
                raise Refused(f"postgresql {where}: {type(exc).__name__}: {text}") from None


def _one(conn: psycopg.Connection[Any], sql: str, *args: Any) -> Any:
    row = conn.execute(sql, args or None).fetchone()
    return row


def _read(conn: psycopg.Connection[Any], settings: dict[str, Any]) -> Sample:
    row = _one(
        conn,
        """SELECT version(), current_setting('server_version_num')::int,
                  extract(epoch FROM now() - pg_postmaster_start_time())::float8,
                  current_setting('max_connections')::int, pg_is_in_recovery(),
                  pg_has_role('pg_read_all_stats', 'USAGE'), current_database()""",
    )
    version, number, uptime, max_connections, replica, all_stats, current = row
    s = Sample("postgresql", str(version).split(" on ")[0], uptime_s=round(uptime, 1))

    # sessions: every client backend is visible; other users' statements only to pg_read_all_stats
    used, longest, slow = _one(
        conn,
        """SELECT count(*),
                  coalesce(max(extract(epoch FROM clock_timestamp() - query_start))
                      FILTER (WHERE state = 'active' AND pid <> pg_backend_pid()), 0)::float8,
                  count(*) FILTER (WHERE state = 'active' AND pid <> pg_backend_pid()
                      AND clock_timestamp() - query_start > make_interval(secs => %s))
           FROM pg_stat_activity WHERE backend_type = 'client backend'""",
        float(settings.get("slow_s", 1.0)),
    )
    s.add("db.connections.used", int(used))
    s.add("db.connections.used_percent", round(100.0 * used / max_connections, 2))
    if all_stats:
        s.add("db.longest_query_s", round(longest, 3))
        s.add("db.slow_queries.running", int(slow))
    else:
        s.withheld("db.longest_query_s", f"other users' statements: {PRIVILEGE}")
        s.withheld("db.slow_queries.running", f"other users' statements: {PRIVILEGE}")

    # per database counters, their age since a reset or the start, and the whole server's sums
    rows = conn.execute(
        """SELECT d.datname, s.xact_commit + s.xact_rollback, s.blks_hit,
                  s.blks_hit + s.blks_read, s.deadlocks, s.temp_bytes,
                  extract(epoch FROM now() - greatest(s.stats_reset,
                                                      pg_postmaster_start_time()))::float8,
                  CASE WHEN has_database_privilege(d.oid, 'CONNECT')
                            OR pg_has_role('pg_read_all_stats', 'USAGE')
                       THEN pg_database_size(d.oid) END
           FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid
           WHERE NOT d.datistemplate AND d.datallowconn ORDER BY d.datname"""
    ).fetchall()
    totals = [0, 0, 0, 0, 0]
    youngest = uptime
    no_size = []
    for name, xact, hits, lookups, deadlocks, temp, age, size in rows:
        counts = (xact, hits, lookups, deadlocks, temp)
        for i, value in enumerate(counts):
            totals[i] += int(value)
        youngest = min(youngest, age)
        _counters(s, name, counts, age)
        if size is None:
            no_size.append(name)
        else:
            s.add("db.size_bytes", int(size), name)
    _counters(s, "", tuple(totals), youngest)
    if no_size:
        s.withheld(
            "db.size_bytes",
            f"{', '.join(no_size)}: needs CONNECT on the database or pg_read_all_stats "
            "(grant pg_monitor)",
        )

    # the largest tables of the database connected to (a size needs no privilege on the table)
    for schema, table, size in conn.execute(
        """SELECT n.nspname, c.relname, pg_total_relation_size(c.oid)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind IN ('r', 'm', 'p') AND NOT c.relispartition
             AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
           ORDER BY 3 DESC, 1, 2 LIMIT %s""",
        (LARGEST_TABLES,),
    ).fetchall():
        s.add("db.table_size_bytes", int(size), f"{current}.{schema}.{table}")

    waiting = _one(conn, "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted")[0]
    s.add("db.locks.waiting", int(waiting))

    if number >= 170000:
        sql = """SELECT num_timed + num_requested, num_requested,
                        extract(epoch FROM now() - greatest(stats_reset,
                                                            pg_postmaster_start_time()))::float8
                 FROM pg_stat_checkpointer"""
    else:
        sql = """SELECT checkpoints_timed + checkpoints_req, checkpoints_req,
                        extract(epoch FROM now() - greatest(stats_reset,
                                                            pg_postmaster_start_time()))::float8
                 FROM pg_stat_bgwriter"""
    checkpoints, requested, age = _one(conn, sql)
    s.add("db.checkpoints", int(checkpoints), age_s=round(age, 3))
    s.add("db.checkpoints_requested", int(requested), age_s=round(age, 3))

    if replica:
        lag = _one(
            conn,
            """SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                      ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())
                      END::float8""",
        )[0]
        if lag is None:
            s.withheld("db.replication.lag_s", "the replica has not replayed a transaction yet")
        else:
            s.add("db.replication.lag_s", round(max(0.0, lag), 3))

    _statements(conn, s, number, current, all_stats)
    return s


def _statements(
    conn: psycopg.Connection[Any], s: Sample, number: int, current: str, all_stats: bool
) -> None:
    """The statement counters of ``pg_stat_statements`` (top-level statements from PostgreSQL 14,
    summed over the roles that ran them) and ``db.queries`` (their calls, for
    ``db.queries_per_s``); what is withheld when the extension is not there."""
    import psycopg  # lazy: psycopg costs ~0.3 s of every command's start, used by checks only

    installed = _one(conn, "SELECT count(*) FROM pg_extension WHERE extname = 'pg_stat_statements'")
    why = ""
    if not installed[0]:
        why = (
            f"pg_stat_statements is not installed in database {current} "
            "(shared_preload_libraries, then CREATE EXTENSION pg_stat_statements)"
        )
    else:
        top = "AND s.toplevel" if number >= 140000 else ""
        spent = "s.total_exec_time" if number >= 130000 else "s.total_time"
        reset = (
            "(SELECT stats_reset FROM pg_stat_statements_info)"
            if number >= 140000
            else "pg_postmaster_start_time()"
        )
        try:
            with conn.transaction():  # a refused statement must not end the connection's use
                calls, age, when = _one(
                    conn,
                    f"""SELECT coalesce(sum(s.calls), 0)::bigint,
                               extract(epoch FROM now() - {reset})::float8, {reset}
                        FROM pg_stat_statements s WHERE s.queryid IS NOT NULL {top}""",  # noqa: S608 - by version
                )
                rows = conn.execute(
                    f"""SELECT coalesce(d.datname, ''), s.queryid::text,
                               min(left(s.query, %s)), sum(s.calls)::bigint,
                               sum({spent})::float8, sum(s.rows)::bigint
                        FROM pg_stat_statements s LEFT JOIN pg_database d ON d.oid = s.dbid
                        WHERE s.queryid IS NOT NULL {top}
                        GROUP BY 1, 2 ORDER BY 5 DESC, 1, 2 LIMIT %s""",  # noqa: S608 - by version
                    (TEXT_CHARS, READ_LIMIT + 1),
                ).fetchall()
        except psycopg.errors.ObjectNotInPrerequisiteState as exc:  # installed, not loaded
            why = (
                "pg_stat_statements is installed but not loaded "
                f"(shared_preload_libraries, then a restart): {' '.join(str(exc).split())}"
            )
        else:
            s.add("db.queries", int(calls), age_s=round(age, 3))
            s.statements = {
                "reset": when.isoformat() if number >= 140000 else "",
                "at": None,
                "complete": len(rows) <= READ_LIMIT,
                "rows": [
                    {
                        "database": database,
                        "id": queryid,
                        "text": text or "",
                        "calls": int(n),
                        "total_ms": float(ms),
                        "rows": int(r),
                        "since": None,
                    }
                    for database, queryid, text, n, ms, r in rows[:READ_LIMIT]
                ],
            }
            if not all_stats:
                s.withheld("db.top_statements", f"other users' statements: {PRIVILEGE}")
            return
    s.withheld("db.queries_per_s", why)
    s.withheld("db.top_statements", why)


def _counters(s: Sample, instance: str, counts: tuple[Any, ...], age: float) -> None:
    xact, hits, lookups, deadlocks, temp = counts
    age = round(age, 3)
    for metric, value in (
        ("db.transactions", xact),
        ("db.cache.hits", hits),
        ("db.cache.lookups", lookups),
        ("db.deadlocks", deadlocks),
        ("db.temp_bytes", temp),
    ):
        s.add(metric, int(value), instance, age_s=age)
