"""syslog: trigram indexes for the search page's text search, on PostgreSQL with pg_trgm (#16)

The page's text search is ``text ILIKE '%...%' OR program ILIKE ... OR hostname ILIKE ...``
(``opskit.db.text_search``). Without an index it reads every row of the time range: 0.3 s for
7 days of 1 million rows, seconds at 10 million (``bench/syslog_search.py``). A GIN index with
``gin_trgm_ops`` on each of the three columns lets PostgreSQL find rare text through the
indexes (a BitmapOr of the three) and keep the ``received_at`` index for common text.

``pg_trgm`` ships with PostgreSQL (``postgresql-contrib``, in Debian's ``postgresql`` package)
and is a *trusted* extension since PostgreSQL 13: the database's owner may create it without
being a superuser. Where it is not available (not installed, or the role may not create it),
this migration creates nothing and says so in the log; the search then reads the time range as
before (correct, slower). Run ``CREATE EXTENSION pg_trgm;`` as a superuser and
``opskit db downgrade 0017_syslog && opskit db upgrade`` to add the indexes later.

The extension goes into ``public`` when it exists (else the current schema), and the indexes
name its operator class with that schema, so a connection's ``search_path`` never matters.
SQLite: nothing (its search reads the range). The names end in ``_trgm``: autogenerate and the
models-vs-migrations test leave such indexes out (``opskit.migrate.OPTIONAL_INDEX_SUFFIX``).

Revision ID: 0018_syslog_text_trgm
Revises: 0017_syslog
Create Date: 2026-12-06 09:00:00.000000
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_syslog_text_trgm"
down_revision: str | None = "0017_syslog"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")
COLUMNS = ("text", "program", "hostname")


def _trgm_schema(bind: sa.engine.Connection) -> str | None:
    """The schema holding pg_trgm, created when missing and allowed; ``None``: unavailable."""
    found = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    if found:
        return str(found)
    available = bind.execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
    ).scalar()
    if not available:
        log.warning("pg_trgm is not installed on this server: syslog text search without index")
        return None
    public = bind.execute(sa.text("SELECT 1 FROM pg_namespace WHERE nspname = 'public'")).scalar()
    schema = "public" if public else str(bind.execute(sa.text("SELECT current_schema()")).scalar())
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text(f'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA "{schema}"'))
        savepoint.commit()
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        # another process may have created it meanwhile; else this role may not
        found = bind.execute(
            sa.text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n"
                " ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        ).scalar()
        if found:
            return str(found)
        log.warning("pg_trgm could not be created (%s): syslog text search without index", exc)
        return None
    return schema


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = _trgm_schema(bind)
    if schema is None:
        return
    for column in COLUMNS:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS ix_syslog_message_{column}_trgm ON syslog_message"
            f' USING gin ({column} "{schema}".gin_trgm_ops)'
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_syslog_message_{column}_trgm")
