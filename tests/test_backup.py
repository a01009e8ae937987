"""SQLite online backup and verified restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
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


# --- issue #13, item 8: private files, no restore under a running server ----------------------

OPSKIT = Path(sys.executable).with_name("opskit")


def _opskit(instance: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The ``opskit`` command under the usual umask 022, as a new engineer runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSKIT_")}
    env["OPSKIT_INSTANCE_PATH"] = str(instance)
    return subprocess.run(
        [str(OPSKIT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(0o022),
    )


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.real_clock  # the opskit commands run in their own processes, on the machine's clock
def test_database_backup_and_pack_are_private_under_umask_022(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    setup = _opskit(instance, "setup")
    assert setup.returncode == 0, setup.stderr
    database = instance / "opskit.db"
    assert _mode(database) == 0o600
    assert not [p.name for p in instance.iterdir() if _mode(p) & 0o077]
    made = _opskit(instance, "backup", str(tmp_path / "out" / "backup.db"), "--parents")
    assert made.returncode == 0, made.stderr
    assert _mode(tmp_path / "out" / "backup.db") == 0o600
    pack = str(tmp_path / "out" / "pack.xlsx")
    report = _opskit(instance, "report", "build", "--period", "2026Q3", "--out", pack)
    assert report.returncode == 0, report.stdout + report.stderr
    assert _mode(tmp_path / "out" / "pack.xlsx") == 0o600


def test_restore_is_refused_while_another_process_holds_the_database(
    live: Path, tmp_path: Path
) -> None:
    backup = backup_sqlite(f"sqlite:///{live}", tmp_path / "backup.db")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(live)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        with pytest.raises(BackupError, match=rf"in use by .*pid {holder.pid}.*--force"):
            restore_sqlite(backup.path, f"sqlite:///{live}")
        assert restore_sqlite(backup.path, f"sqlite:///{live}", force=True).revision
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert restore_sqlite(backup.path, f"sqlite:///{live}").revision == head_revision()


HOLD = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM user_account").fetchone()
print("holding", flush=True)
time.sleep(120)
"""
