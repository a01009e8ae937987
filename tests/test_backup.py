"""SQLite online backup and verified restore."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from opskit.backup import BackupError, backup_sqlite, restore_sqlite
from tests.conftest import head_revision


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "live.db"
    shutil.copyfile(sqlite_template, path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            "INSERT INTO user_account (username, display_name, role, password_hash, active,"
            " created_at) VALUES ('wang', '王工', 'engineer', 'x', 1, '2026-01-01 00:00:00')"
        )
    return path


def _usernames(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT username FROM user_account ORDER BY id")]


def test_backup_while_a_writer_holds_uncommitted_changes(live: Path, tmp_path: Path) -> None:
    writer = sqlite3.connect(live)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE user_account SET display_name = 'uncommitted'")
    info = backup_sqlite(f"sqlite:///{live}", tmp_path / "b" / "opskit-backup.db")
    writer.rollback()
    writer.close()
    assert info.revision == head_revision()
    assert _usernames(info.path) == ["wang"]
    with sqlite3.connect(info.path) as conn:
        assert conn.execute("SELECT display_name FROM user_account").fetchone()[0] == "王工"
    assert not list((tmp_path / "b").glob("*.partial"))


def test_restore_replaces_the_database(live: Path, tmp_path: Path) -> None:
    backup = backup_sqlite(f"sqlite:///{live}", tmp_path / "backup.db").path
    with sqlite3.connect(live) as conn:
        conn.execute("DELETE FROM user_account")
    assert _usernames(live) == []
    info = restore_sqlite(backup, f"sqlite:///{live}")
    assert info.revision == head_revision()
    assert _usernames(live) == ["wang"]


def test_restore_refuses_a_file_that_is_not_an_opskit_database(live: Path, tmp_path: Path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BackupError, match="not a readable SQLite database"):
        restore_sqlite(garbage, f"sqlite:///{live}")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(BackupError, match="not an opskit database"):
        restore_sqlite(other, f"sqlite:///{live}")
    assert _usernames(live) == ["wang"]


def test_postgresql_is_pointed_at_pg_dump(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite("postgresql+psycopg://postgres@127.0.0.1/test", tmp_path / "x.db")
