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
