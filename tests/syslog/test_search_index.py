"""Migration 0018: the syslog text search's trigram indexes on PostgreSQL where pg_trgm can be
created, none on SQLite; the search finds the same rows either way (``test_page``)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import inspect, text

from opskit import db

TRIGRAM = {
    "ix_syslog_message_text_trgm",
    "ix_syslog_message_program_trgm",
    "ix_syslog_message_hostname_trgm",
}


def test_trigram_indexes_where_the_extension_is_available(db_app: Flask) -> None:
    with db_app.app_context():
        engine = db.engine()
        names = {ix["name"] for ix in inspect(engine).get_indexes("syslog_message")}
        assert {
            "ix_syslog_message_received_at_id",
            "ix_syslog_message_asset_id_received_at_id",
        } <= names
        if engine.dialect.name != "postgresql":
            assert not names & TRIGRAM
            return
        sess = db.session()
        available = sess.scalar(
            text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        )
        if available:  # this server ships it (Debian's postgresql does): the indexes are there
            assert names >= TRIGRAM
            defs = sess.scalars(
                text(
                    "SELECT indexdef FROM pg_indexes WHERE tablename = 'syslog_message'"
                    " AND schemaname = current_schema() AND indexname LIKE '%_trgm'"
                )
            )
            assert all("USING gin" in d and ".gin_trgm_ops" in d for d in defs)
        else:
            assert not names & TRIGRAM
