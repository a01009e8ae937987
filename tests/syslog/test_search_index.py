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


def test_a_text_search_pages_the_same_with_and_without_its_first_look(db_app: Flask) -> None:
    """The first look at the newest messages (``probe``) finds a common text's page; a rarer one
    falls through to the whole search: the pages are the same either way, cursor included."""
    from datetime import timedelta

    from sqlalchemy import insert

    from monitors.syslog import queries
    from monitors.syslog.models import SyslogMessage
    from opskit import clock

    with db_app.app_context():
        now = clock.now()
        needles = {0, 1, 2, 3, 7, 20, 33, 39}  # positions from the newest
        rows = [
            dict(
                received_at=now - timedelta(seconds=i // 2),  # pairs share a second: ids break ties
                source="10.1.0.9",
                asset_id=None,
                facility=23,
                severity=5 if i % 3 else 3,
                hostname="",
                program="LINK-3-UPDOWN" if i in needles else "SYS-5-CONFIG_I",
                text=f"message {i}" + (" Needle here" if i in needles else ""),
                structured_data="",
            )
            for i in reversed(range(40))
        ]
        db.session().execute(insert(SyslogMessage), rows)
        db.session().commit()

        def pages(**args: object) -> list[list[str]]:
            out, before = [], None
            while True:
                found = queries.search(text="needle", per_page=2, before=before, **args)  # type: ignore[arg-type]
                out.append([m.text.split(" Needle")[0] for m in found.items])
                if found.next_cursor is None:
                    return out
                before = found.next_cursor

        expected = [f"message {i}" for i in sorted(needles)]
        want = [expected[k : k + 2] for k in range(0, len(expected), 2)]
        assert pages(probe=5) == pages(probe=0) == pages() == want
        severe = queries.search(text="needle", max_severity=3, probe=5, per_page=50)
        assert [m.text.split(" Needle")[0] for m in severe.items] == [
            f"message {i}" for i in sorted(needles) if i % 3 == 0
        ]
