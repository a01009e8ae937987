"""Database plumbing: SQLite pragmas, UTC timestamps, naming convention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from opskit import db
from opskit.models import User


def test_sqlite_runs_in_wal_with_foreign_keys_and_busy_timeout(app: Flask) -> None:
    with app.app_context():
        conn = db.session().connection()
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == db.SQLITE_BUSY_TIMEOUT_MS


def test_timestamps_are_stored_utc_and_come_back_aware(db_app: Flask) -> None:
    beijing = timezone(timedelta(hours=8))
    local = datetime(2026, 9, 30, 16, 0, tzinfo=beijing)
    with db_app.app_context():
        sess = db.session()
        user = sess.scalar(select(User).where(User.username == "viewer"))
        user.last_login_at = local
        sess.commit()
        sess.expire_all()
        stored = sess.scalar(select(User.last_login_at).where(User.username == "viewer"))
    assert stored == local
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.hour == 8


def test_naive_timestamps_are_refused(db_app: Flask) -> None:
    with db_app.app_context():
        sess = db.session()
        user = sess.scalar(select(User).where(User.username == "viewer"))
        user.last_login_at = datetime(2026, 1, 1, 8, 0)
        with pytest.raises(StatementError, match="naive datetime"):
            sess.commit()


def test_foreign_keys_are_enforced(db_app: Flask) -> None:
    from sqlalchemy.exc import IntegrityError

    from opskit.models import ApiToken

    with db_app.app_context():
        sess = db.session()
        sess.add(ApiToken(user_id=9999, name="x", token_hash="h" * 64, prefix="opk_x"))
        with pytest.raises(IntegrityError):
            sess.commit()


def test_constraint_names_follow_the_convention(app: Flask) -> None:
    from opskit.migrate import import_models

    metadata = import_models()
    names = {c.name for t in metadata.tables.values() for c in t.constraints}
    assert "pk_user_account" in names
    assert "uq_user_account_username" in names
    assert "ck_user_account_role_known" in names
    assert "fk_api_token_user_id_user_account" in names


def test_utcnow_is_aware() -> None:
    assert db.utcnow().tzinfo is UTC


def test_insert_rows_reads_back_as_the_orm_writes(db_app: Flask) -> None:
    """``db.insert_rows`` (the receivers' batches: COPY on PostgreSQL, executemany elsewhere)
    stores what an ORM insert of the same values stores: UTC times that come back aware and
    equal (a +08:00 time included), JSON, text with quotes, tabs, newlines and backslashes
    (COPY's own escapes), NULL; a row the database refuses fails the whole call."""
    from sqlalchemy import func
    from sqlalchemy.exc import DBAPIError

    from monitors.models import SnmpTrap

    beijing = timezone(timedelta(hours=8))
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=beijing)
    tricky = 'a "quoted"\ttab\nnew line \\N back\\slash, 温度'
    rows = [
        {
            "received_at": (at.replace(microsecond=0) if k == 0 else at) + timedelta(seconds=k),
            "source": f"10.0.0.{k}",
            "agent_addr": "",
            "version": "2c",
            "asset_id": None,
            "trap_oid": "1.3.6.1.6.3.1.1.5.3",
            "varbinds": {"1.3.6.1.2.1.2.2.1.1.3": k, "text": tricky, "list": [1, "x"]},
            "actions": tricky if k == 1 else "",
        }
        for k in range(3)
    ]
    with db_app.app_context():
        sess = db.session()
        db.write(lambda: db.insert_rows(SnmpTrap.__table__, rows))
        sess.expire_all()
        stored = sess.scalars(select(SnmpTrap).order_by(SnmpTrap.id)).all()
        assert [t.received_at for t in stored] == [r["received_at"] for r in rows]
        assert all(t.received_at.utcoffset() == timedelta(0) for t in stored)
        assert [t.varbinds for t in stored] == [r["varbinds"] for r in rows]
        assert [t.actions for t in stored] == [r["actions"] for r in rows]
        assert [t.asset_id for t in stored] == [None, None, None]
        # a time range over the stored column finds them as an ORM-written row is found
        since = at + timedelta(seconds=1)
        assert (
            sess.scalar(
                select(func.count()).select_from(SnmpTrap).where(SnmpTrap.received_at >= since)
            )
            == 2
        )
        # byte for byte what the ORM stores (SQLite compares times as text)
        orm = SnmpTrap(**dict(rows[0], source="orm"))
        sess.add(orm)
        sess.commit()
        raw = text(
            "SELECT CAST(received_at AS TEXT), CAST(varbinds AS TEXT) FROM snmp_trap WHERE id = :id"
        )
        by_orm = sess.execute(raw, {"id": orm.id}).one()
        by_rows = sess.execute(raw, {"id": stored[0].id}).one()
        assert by_rows == by_orm
        sess.delete(orm)
        sess.commit()
        naive = [dict(rows[0], received_at=datetime(2026, 3, 1, 9, 30))]
        with pytest.raises((ValueError, StatementError), match="naive datetime"):
            db.write(lambda: db.insert_rows(SnmpTrap.__table__, naive))
        sess.rollback()
        bad = [dict(rows[0], asset_id=999_999)]  # no such asset: the foreign key refuses it
        with pytest.raises(DBAPIError):
            db.write(lambda: db.insert_rows(SnmpTrap.__table__, [rows[0], *bad]))
        sess.rollback()
        assert sess.scalar(select(func.count()).select_from(SnmpTrap)) == 3
