"""MySQL and MariaDB servers (PyMySQL: pure Python, so it installs on any laptop without a C
compiler or libmysqlclient): connections, statements, slow statements, InnoDB buffer pool and
row locks, deadlocks, the longest statement, replication lag on a replica, schema sizes and the
ten largest tables (InnoDB's estimates, as ``information_schema.TABLES`` has them).

Least privilege: ``PROCESS`` (other sessions' statements, ``INNODB_METRICS``), ``REPLICATION
CLIENT`` (MariaDB 10.5+: ``SLAVE MONITOR``, for the replica status) and ``SELECT`` on
``performance_schema``; sizes cover the schemas the account may see. A statement refused for a
privilege leaves its metric out and names the privilege in ``missing`` (the server's own words).

The counters (``SHOW GLOBAL STATUS``: ``Queries``, ``Slow_queries``, ``Created_tmp_disk_tables``,
``Innodb_deadlocks`` on MariaDB, the buffer pool's read requests and disk reads) carry
``age_s`` = ``Uptime_since_flush_status``: a ``FLUSH STATUS`` or a restart between two checks
gives no rate (``monitors.counters``). With ``performance_schema`` on, the statement digests'
counters go to ``monitors.statements`` (top statements by time).
"""

from __future__ import annotations

from typing import Any

import pymysql
from pymysql.constants import ER

from monitors.kinds.database import DatabaseKind, Refused, Sample, database_fields
from monitors.statements import READ_LIMIT, TEXT_CHARS

STATUS = (
    "Threads_connected",
    "Queries",
    "Slow_queries",
    "Created_tmp_disk_tables",
    "Innodb_row_lock_current_waits",
    "Innodb_deadlocks",
    "Innodb_buffer_pool_read_requests",
    "Innodb_buffer_pool_reads",
    "Innodb_buffer_pool_pages_total",
    "Innodb_buffer_pool_pages_free",
    "Uptime",
    "Uptime_since_flush_status",
)
SYSTEM_SCHEMAS = ("mysql", "information_schema", "performance_schema", "sys")

#: server errors that mean "this account lacks a privilege" (the message names it)
DENIED = {
    ER.SPECIFIC_ACCESS_DENIED_ERROR,
    ER.TABLEACCESS_DENIED_ERROR,
    ER.DBACCESS_DENIED_ERROR,
    ER.ACCESS_DENIED_ERROR,
    1142,
    1143,
}


def _connect(settings: dict[str, Any], password: str | None) -> pymysql.Connection[Any]:
    timeout = float(settings.get("timeout", 5.0))
    ssl: dict[str, Any] | None = None
    if settings.get("tls") == "require":
        ssl = {"check_hostname": False, "verify_mode": False}
    elif settings.get("tls") == "verify":
        ssl = {"check_hostname": True, "verify_mode": True}
    where = f"{settings['host']}:{settings.get('port', 3306)}"
    try:
        return pymysql.connect(
            host=settings["host"],
            port=int(settings.get("port", 3306)),
            user=settings.get("user") or "root",
            password=password or "",
            connect_timeout=timeout,
            read_timeout=timeout,
            write_timeout=timeout,
            ssl=ssl,
            autocommit=True,
            program_name="opskit monitor",
        )
    except pymysql.err.MySQLError as exc:
        raise _refused(where, exc, timeout) from None


def _refused(where: str, exc: Exception, timeout: float) -> Refused:
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    text = " ".join(str(exc.args[1] if len(exc.args) > 1 else exc).split())
    if code == ER.ACCESS_DENIED_ERROR:
        return Refused(f"mysql {where}: wrong user name or password ({text})")
    if code == ER.CON_COUNT_ERROR:  # Too many connections: the server's max_connections
        return Refused(
            f"mysql {where}: the server refused the monitor's connection, its connection "
            f"slots are all taken ({text})",
            full=True,
        )
    if code == 1226:  # ER_USER_LIMIT_REACHED: the account's max_user_connections
        return Refused(
            f"mysql {where}: the server refused the monitor's connection, the account's "
            f"connection limit is reached ({text})"
        )
    if "timed out" in text.lower() or code == 2013:
        return Refused(f"mysql {where}: no answer within {timeout:g} s")
    return Refused(f"mysql {where}: {text}")


class MysqlKind(DatabaseKind):
    """A MySQL or MariaDB server. Settings: host, port (3306), user, tls, timeout (5 s), slow_s
    (1 s, for ``db.slow_queries.running``); secret ``{"password"}``."""

    key = "mysql"
    label = "MySQL / MariaDB"
    engine = "mysql"
    default_port = 3306
    default_user = "root"
    fields = database_fields(3306, database=False)

    def sample(self, settings: dict[str, Any], password: str | None) -> Sample:
        timeout = float(settings.get("timeout", 5.0))
        where = f"{settings['host']}:{settings.get('port', 3306)}"
        conn = _connect(settings, password)
        try:
            return _read(conn, settings)
        except pymysql.err.MySQLError as exc:
            raise _refused(where, exc, timeout) from None
        finally:
            conn.close()


def _denied(exc: pymysql.err.MySQLError) -> str | None:
    """The server's words when ``exc`` is a missing privilege, else None."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    return " ".join(str(exc.args[1]).split()) if code in DENIED and len(exc.args) > 1 else None


def _rows(conn: pymysql.Connection[Any], sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, args or None)
        return list(cur.fetchall())


def _read(conn: pymysql.Connection[Any], settings: dict[str, Any]) -> Sample:
    version = str(_rows(conn, "SELECT VERSION()")[0][0])
    mariadb = "mariadb" in version.lower()
    marks = ", ".join(["%s"] * len(STATUS))
    status = {
        str(k): v
        for k, v in _rows(conn, f"SHOW GLOBAL STATUS WHERE Variable_name IN ({marks})", *STATUS)
    }
    variables = dict(
        _rows(
            conn,
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN "
            "('max_connections', 'performance_schema')",
        )
    )
    uptime = float(status["Uptime"])
    s = Sample("mariadb" if mariadb else "mysql", version, uptime_s=uptime)
    age = float(status.get("Uptime_since_flush_status", uptime))

    def number(name: str) -> int | None:
        raw = status.get(name)
        return int(raw) if raw not in (None, "") else None

    used, most = number("Threads_connected"), int(variables["max_connections"])
    s.add("db.connections.used", used)
    if used is not None and most:
        s.add("db.connections.used_percent", round(100.0 * used / most, 2))
    s.add("db.queries", number("Queries"), age_s=age)
    s.add("db.slow_queries", number("Slow_queries"), age_s=age)
    s.add("db.temp_disk_tables", number("Created_tmp_disk_tables"), age_s=age)
    s.add("db.locks.waiting", number("Innodb_row_lock_current_waits"))
    requests, reads = number("Innodb_buffer_pool_read_requests"), number("Innodb_buffer_pool_reads")
    if requests is not None and reads is not None:
        s.add("db.cache.hits", max(0, requests - reads), age_s=age)
        s.add("db.cache.lookups", requests, age_s=age)
    total, free = number("Innodb_buffer_pool_pages_total"), number("Innodb_buffer_pool_pages_free")
    if total:
        s.add("db.buffer_pool.used_percent", round(100.0 * (total - (free or 0)) / total, 2))

    grants = _global_grants(conn)
    process = bool(grants & {"PROCESS", "SUPER", "ALL PRIVILEGES"})
    if number("Innodb_deadlocks") is not None:  # MariaDB
        s.add("db.deadlocks", number("Innodb_deadlocks"), age_s=age)
    else:  # MySQL: lock_deadlocks counts since the start (not reset by FLUSH STATUS)
        try:
            found = _rows(
                conn,
                "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'lock_deadlocks'",
            )
            if found:
                s.add("db.deadlocks", int(found[0][0]), age_s=uptime)
        except pymysql.err.MySQLError as exc:
            if (why := _denied(exc)) is None:
                raise
            s.withheld("db.deadlocks_per_h", f"needs PROCESS ({why})")

    if process:
        # SHOW PROCESSLIST, not information_schema.PROCESSLIST: no temporary table on disk
        # (the check would otherwise count itself in db.temp_disk_tables)
        times = []
        with conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute("SHOW FULL PROCESSLIST")
            own = conn.thread_id()
            for row in cur.fetchall():
                if row.get("Command") == "Query" and row.get("Id") != own:
                    seconds = row.get("Time")
                    times.append(float(seconds) if seconds is not None else 0.0)
        slow_s = float(settings.get("slow_s", 1.0))
        s.add("db.longest_query_s", round(max(times, default=0.0), 3))
        s.add("db.slow_queries.running", sum(1 for t in times if t >= slow_s))
    else:
        why = "other sessions' statements: needs PROCESS"
        s.withheld("db.longest_query_s", why)
        s.withheld("db.slow_queries.running", why)

    _replication(conn, s, "SLAVE MONITOR" if mariadb else "REPLICATION CLIENT")

    # two plain reads: joining SCHEMATA to TABLES, or reading information_schema's own tables,
    # makes temporary tables on disk, which db.temp_disk_tables would count
    schemas = [
        str(r[0]) for r in _rows(conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
    ]
    sizes = {
        str(schema): int(size or 0)
        for schema, size in _rows(
            conn,
            "SELECT TABLE_SCHEMA, SUM(COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0)) "
            "FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN "
            "('mysql', 'information_schema', 'performance_schema', 'sys') "
            "GROUP BY TABLE_SCHEMA",
        )
    }
    largest = _rows(
        conn,
        "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0) "
        "FROM information_schema.TABLES WHERE TABLE_SCHEMA NOT IN "
        "('mysql', 'information_schema', 'performance_schema', 'sys') "
        "AND TABLE_TYPE = 'BASE TABLE' ORDER BY 3 DESC, 1, 2 LIMIT 10",
    )
    for schema, table, size in largest:
        s.add("db.table_size_bytes", int(size), f"{schema}.{table}")
    visible = sorted(n for n in schemas if n.lower() not in SYSTEM_SCHEMAS)
    for schema in visible:
        s.add("db.size_bytes", sizes.get(schema, 0), schema)
    if not visible:
        s.withheld(
            "db.size_bytes",
            "no schema visible to this account (sizes cover the schemas it holds a privilege "
            "on: grant SELECT on them, or SHOW DATABASES)",
        )

    if str(variables.get("performance_schema", "OFF")).upper() != "ON":
        s.withheld(
            "db.top_statements",
            "performance_schema is OFF (performance_schema=ON in the server's configuration, "
            "then a restart)",
        )
    else:
        try:
            _statements(conn, s)
        except pymysql.err.MySQLError as exc:
            if (why := _denied(exc)) is None:
                raise
            s.withheld("db.top_statements", f"needs SELECT on performance_schema ({why})")
    return s


def _statements(conn: pymysql.Connection[Any], s: Sample) -> None:
    """The statement counters of ``events_statements_summary_by_digest`` (timer in picoseconds;
    rows sent + affected; ``since``: the digest's ``FIRST_SEEN``, which a ``TRUNCATE`` of the
    table or a restart renews, and ``at`` the server's time, both to the second)."""
    at = str(_rows(conn, "SELECT LEFT(CAST(NOW() AS CHAR), 19)")[0][0])
    rows = _rows(
        conn,
        "SELECT COALESCE(SCHEMA_NAME, ''), DIGEST, LEFT(COALESCE(DIGEST_TEXT, ''), %s), "
        "COUNT_STAR, SUM_TIMER_WAIT / 1000000000, SUM_ROWS_SENT + SUM_ROWS_AFFECTED, "
        "LEFT(CAST(FIRST_SEEN AS CHAR), 19) "
        "FROM performance_schema.events_statements_summary_by_digest "
        "WHERE DIGEST IS NOT NULL ORDER BY SUM_TIMER_WAIT DESC, 1, 2 LIMIT %s",
        TEXT_CHARS,
        READ_LIMIT + 1,
    )
    s.statements = {
        "reset": "",
        "at": at,
        "complete": len(rows) <= READ_LIMIT,
        "rows": [
            {
                "database": str(schema),
                "id": str(digest),
                "text": str(text).strip(),
                "calls": int(calls),
                "total_ms": float(ms),
                "rows": int(count),
                "since": str(since) if since is not None else None,
            }
            for schema, digest, text, calls, ms, count, since in rows[:READ_LIMIT]
        ],
    }


def _global_grants(conn: pymysql.Connection[Any]) -> set[str]:
    """The privileges this account holds ON *.* (``SHOW GRANTS``, always allowed)."""
    found: set[str] = set()
    for (line,) in _rows(conn, "SHOW GRANTS"):
        text = str(line)
        if text.upper().startswith("GRANT ") and " ON *.* " in text:
            granted = text[6 : text.index(" ON *.* ")]
            found |= {p.strip().upper() for p in granted.split(",")}
    return found


def _replication(conn: pymysql.Connection[Any], s: Sample, grant: str) -> None:
    """``db.replication.lag_s`` on a replica (nothing on a server that replicates from none);
    ``grant``: the privilege the replica status needs (MariaDB 10.5+ split REPLICATION CLIENT
    into BINLOG MONITOR and SLAVE MONITOR, the latter reads the replica status)."""
    rows: list[dict[str, Any]] = []
    for statement in ("SHOW REPLICA STATUS", "SHOW SLAVE STATUS"):
        try:
            with conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(statement)
                rows = list(cur.fetchall())
            break
        except pymysql.err.MySQLError as exc:
            if (why := _denied(exc)) is not None:
                s.withheld("db.replication.lag_s", f"needs {grant} ({why})")
                return
            if exc.args and exc.args[0] == ER.PARSE_ERROR:  # older: no SHOW REPLICA STATUS
                continue
            raise
    if not rows:
        return
    row = rows[0]
    lag = row.get("Seconds_Behind_Source", row.get("Seconds_Behind_Master"))
    if lag is None:
        s.withheld("db.replication.lag_s", "replication is stopped (the replica reports no lag)")
    else:
        s.add("db.replication.lag_s", float(lag))
