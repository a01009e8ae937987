"""Database plumbing: one declarative ``Base``, one engine per app, one session per app context.

- ``Base`` carries a constraint naming convention so Alembic migrations name every index and
  constraint the same way on SQLite and PostgreSQL.
- ``UTCDateTime`` is the type of every ``Mapped[datetime]``: values must be time-zone aware, are
  stored as UTC and always come back aware (SQLite has no time zones; PostgreSQL uses timestamptz).
- SQLite runs in WAL mode with foreign keys enforced and a busy timeout, so the poller, the web
  server and the CLI can share one file.
- ``session()`` returns the session of the current app context; it is closed (and rolled back
  if not committed) when the context ends.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from flask import Flask, current_app, g
from sqlalchemy import (
    JSON,
    ColumnElement,
    CursorResult,
    DateTime,
    Engine,
    MetaData,
    Result,
    Table,
    create_engine,
    event,
    or_,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from opskit import clock
from opskit.files import make_private

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 15_000
#: texts a SQLite timestamp column's result processor remembers (``UTCDateTime``) before it
#: starts over
PARSED_TIMES = 4096


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC; naive datetimes are refused so local time never leaks in."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store time-zone aware UTC datetimes")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], Any] | None:
        """SQLAlchemy's processing (text to datetime, then ``process_result_value``), each
        distinct text done once on SQLite: a report reads tens of thousands of timestamps that
        share a few moments (ARP polls, rollup buckets), and parsing one costs ~20 times a
        lookup. The datetimes are immutable, so rows may share one; the memory is bounded
        (``PARSED_TIMES`` texts, then it starts over)."""
        convert = super().result_processor(dialect, coltype)
        if convert is None or dialect.name != "sqlite":
            return convert
        parsed: dict[Any, Any] = {}

        def process(value: Any) -> Any:
            found = parsed.get(value)
            if found is None:
                if value is None:
                    return None
                if len(parsed) >= PARSED_TIMES:
                    parsed.clear()
                found = parsed[value] = convert(value)
            return found

        return process


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }
    if TYPE_CHECKING:  # every model here maps one Table (SQLAlchemy types it as any FromClause)
        __table__: ClassVar[Table]


def rowcount(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE run through ``Session.execute`` touched.
    SQLAlchemy types that call's answer as a plain ``Result``; for these statements it is a
    ``CursorResult``, which counts them."""
    assert isinstance(result, CursorResult)
    return result.rowcount


def utcnow() -> datetime:
    """The current instant in UTC, from the one clock (``opskit.clock``; tests may set it)."""
    return clock.now()


def text_search(text: str, *columns: Any) -> ColumnElement[bool]:
    """Rows where any of ``columns`` contains ``text`` (case-insensitive), taken literally.

    ``%`` and ``_`` typed into a search box are characters to find, not LIKE wildcards (a
    search for ``%`` used to match everything).
    """
    escaped = text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """Create an engine with opskit's settings for the database behind ``url``."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, pool_pre_ping=False
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            # SQLite gives the -wal and -shm files the database file's mode
            event.listen(engine, "connect", lambda *_: make_private(database), once=True)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def init_app(app: Flask) -> None:
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["opskit.engine"] = engine
    app.extensions["opskit.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["opskit.engine"]


def session() -> Session:
    """The database session of the current app context."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["opskit.sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    sess: Session | None = g.pop("db_session", None)
    if sess is not None:
        sess.close()


@dataclass(frozen=True)
class Page:
    """One page of a list: ``items`` of page ``page`` (1-based) of ``total`` rows matching the
    filters, ``per_page`` rows a page."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# --- write transactions -----------------------------------------------------------------------

T = TypeVar("T")

_WRITER_LOCKS: dict[int, threading.Lock] = {}
_WRITER_LOCKS_GUARD = threading.Lock()


def _writer_lock(bind: Any) -> threading.Lock:
    """One lock per SQLite engine: this process's writers queue on it, in order, instead of
    racing for SQLite's single write lock and timing out under load."""
    with _WRITER_LOCKS_GUARD:
        return _WRITER_LOCKS.setdefault(id(bind), threading.Lock())


def write(work: Callable[[], T], attempts: int = 3) -> T:
    """Run ``work()`` (services that flush) in one write transaction and commit it: the one
    commit of a view, a CLI command or a worker. Rolls back and re-raises when ``work`` raises.

    What the session holds is committed first (it ends the request's reads; the connection
    goes back while this waits). SQLite: writers of this process take turns (``_writer_lock``)
    and the transaction starts with ``BEGIN IMMEDIATE`` (other processes: the busy timeout). A
    unique-key race (two retries of one submission on PostgreSQL) or a lock timeout is retried
    up to ``attempts`` times: ``work`` must find what the other request stored (look up by the
    client's id first), so a retry is never a duplicate.
    """
    sess = session()
    bind = sess.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for attempt in range(attempts):
        last = attempt == attempts - 1
        sess.commit()
        with _writer_lock(bind) if sqlite else contextlib.nullcontext():
            try:
                if sqlite:
                    raw = sess.connection().connection.dbapi_connection
                    if raw is not None and not raw.in_transaction:
                        sess.connection().exec_driver_sql("BEGIN IMMEDIATE")
                result = work()
                sess.commit()
                return result
            except IntegrityError:
                sess.rollback()
                if last:
                    raise
            except OperationalError as exc:
                sess.rollback()
                if last or "locked" not in str(exc):
                    raise
            except BaseException:
                sess.rollback()
                raise
    raise AssertionError("unreachable")


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """What ``UTCDateTime`` stores on SQLite (UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``), in one C
    call instead of SQLAlchemy's two processors (a tenth of a syslog message's storing)."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: store time-zone aware UTC datetimes")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _converter(kind: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """A column type's conversion of a Python value into what the driver is handed."""
    if isinstance(kind, UTCDateTime) and dialect.name == "sqlite":
        return _sqlite_utc_text
    return kind.dialect_impl(dialect).bind_processor(dialect)


_INSERT_PLANS: dict[tuple[int, tuple[str, ...], str], tuple[str, list[Any]]] = {}


def insert_rows(table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` (mappings of the same columns, every column a row needs given: no
    defaults are filled, nothing is returned) into ``table`` in one driver call inside the
    session's transaction: ``COPY ... FROM STDIN`` on PostgreSQL (psycopg), ``executemany``
    elsewhere. The columns' own conversions (UTC datetimes, JSON) are applied, so the rows read
    back as the ORM would have written them. For the receivers' batches (thousands of rows a
    second), where the ORM's and Core's work on each row costs more than the database's."""
    if not rows:
        return 0
    conn = session().connection()
    dialect = conn.dialect
    names = tuple(rows[0])
    plan_key = (id(table), names, dialect.name)
    plan = _INSERT_PLANS.get(plan_key)
    if plan is None:
        quote = dialect.identifier_preparer.quote
        columns = ", ".join(quote(name) for name in names)
        target = dialect.identifier_preparer.format_table(table)
        if dialect.name == "postgresql":
            sql = f"COPY {target} ({columns}) FROM STDIN"
        else:
            marks = ", ".join("?" if dialect.paramstyle == "qmark" else "%s" for _ in names)
            sql = f"INSERT INTO {target} ({columns}) VALUES ({marks})"  # noqa: S608
        processors = [_converter(table.c[name].type, dialect) for name in names]
        plan = _INSERT_PLANS.setdefault(plan_key, (sql, processors))
    sql, processors = plan
    converted = [
        tuple(
            row[name] if convert is None else convert(row[name])
            for name, convert in zip(names, processors, strict=True)
        )
        for row in rows
    ]
    if dialect.name == "postgresql":
        from psycopg.types.json import Json  # the PostgreSQL driver, there only

        raw: Any = conn.connection.dbapi_connection
        if raw is None:
            raise RuntimeError("the session's connection has no driver connection")
        try:
            with raw.cursor() as cursor, cursor.copy(sql) as copy:
                for values in converted:  # JSON columns' values: the driver's JSON wrapper
                    copy.write_row([Json(v) if isinstance(v, dict | list) else v for v in values])
        except dialect.loaded_dbapi.Error as exc:  # as SQLAlchemy raises the driver's errors
            raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from exc
    else:
        conn.exec_driver_sql(sql, converted)
    return len(converted)
