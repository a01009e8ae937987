"""Backup and restore of the embedded SQLite database.

``backup_sqlite`` uses SQLite's online backup API: a consistent copy while the server and the
poller keep writing. ``restore_sqlite`` first checks that the file is an opskit database that
passes ``PRAGMA integrity_check``, then copies it into the live file through the same API (so
WAL readers never see a half-written file). PostgreSQL is backed up with ``pg_dump -Fc`` and
restored with ``pg_restore`` (see the README).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from opskit.files import make_private


class BackupError(RuntimeError):
    """A backup or restore was refused; nothing was changed."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    revision: str | None


def sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        raise BackupError(
            "backup/restore handle the embedded SQLite database only; "
            "for PostgreSQL use pg_dump -Fc / pg_restore (see README)"
        )
    return Path(url.removeprefix("sqlite:///"))


def _verify(path: Path) -> str | None:
    """Check ``path`` is a sound opskit database; return its Alembic revision."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            result = conn.execute("PRAGMA integrity_check").fetchone()
            if not result or result[0] != "ok":
                raise BackupError(f"{path}: integrity check failed: {result and result[0]}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            if "alembic_version" not in tables or "user_account" not in tables:
                raise BackupError(f"{path}: not an opskit database (no opskit tables)")
            row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
            return row[0] if row else None
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a readable SQLite database ({exc})") from None


def backup_sqlite(url: str, dest: Path) -> BackupInfo:
    source = sqlite_path(url)
    if not source.exists():
        raise BackupError(f"{source}: database file does not exist")
    dest = dest.resolve()
    if dest == source.resolve():
        raise BackupError("the backup file must differ from the database file")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    tmp.unlink(missing_ok=True)
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(tmp)) as out,
    ):
        src.backup(out)
        out.execute("PRAGMA journal_mode=DELETE")
    try:
        revision = _verify(tmp)
    except BackupError:
        tmp.unlink(missing_ok=True)
        raise
    make_private(tmp)
    os.replace(tmp, dest)
    return BackupInfo(dest, dest.stat().st_size, revision)


def holders(path: Path) -> list[str]:
    """Other processes that have ``path`` (or its -wal/-shm file) open: "name (pid N)".

    A running ``opskit serve``, ``opskit poll`` or ``opskit demo`` keeps the database open;
    replacing it under them would leave their connections and caches on the old data.
    Processes this account may not inspect are not seen.
    """
    import psutil

    wanted = {str(path.resolve()), *(f"{path.resolve()}-{end}" for end in ("wal", "shm"))}
    found = []
    for proc in psutil.process_iter(["pid", "name"]):
        if proc.info["pid"] == os.getpid():
            continue
        try:
            files = {f.path for f in proc.open_files()}
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        if files & wanted:
            found.append(f"{proc.info['name']} (pid {proc.info['pid']})")
    return found


def restore_sqlite(src: Path, url: str, force: bool = False) -> BackupInfo:
    """Copy the verified backup ``src`` into the live database.

    Refused while another process holds the database (stop the server and the poller
    first), unless ``force``.
    """
    target = sqlite_path(url)
    busy = holders(target) if target.exists() else []
    if busy and not force:
        raise BackupError(
            f"{target} is in use by {', '.join(busy)}: stop the server and the poller first "
            "(or pass --force to replace it under them)"
        )
    revision = _verify(src)
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        contextlib.closing(sqlite3.connect(f"file:{src}?mode=ro", uri=True)) as source,
        contextlib.closing(sqlite3.connect(target, timeout=30)) as live,
    ):
        source.backup(live)
    restored = _verify(target)
    if restored != revision:
        raise BackupError(f"{target}: restored revision {restored} differs from {revision}")
    return BackupInfo(target, target.stat().st_size, revision)
