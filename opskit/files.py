"""Files opskit writes are private to the account that runs it.

The database (and its -wal/-shm files, which SQLite creates with the database file's mode),
backups, report packs, TLS keys and patrol photos hold the customer's registry, people's
names and secrets. Under the usual umask 022 they were created 0644: readable by every
account on the laptop. Every ``opskit`` command starts with ``restrict_umask()`` (new files
0600, folders 0700), and the files that matter most are also set 0600 explicitly where they
are written, so a library user with a loose umask gets the same.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

PRIVATE_FILE = 0o600


def restrict_umask() -> None:
    """From now on this process creates files 0600 and folders 0700 (whatever the umask was)."""
    old = os.umask(0o077)
    os.umask(old | 0o077)


def make_private(path: Path | str) -> None:
    """Owner read/write only (no-op where the file system has no such modes)."""
    with contextlib.suppress(NotImplementedError, PermissionError):
        os.chmod(path, PRIVATE_FILE)


def write_atomic(path: Path, text: str) -> None:
    """Write a text file atomically (a temporary file beside it, synced, then renamed over
    it): a reader, in this process or another, sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
