"""The per-row keys of the file seen so far, kept on disk so memory does not grow with it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar


class Keys:
    """For checks across rows while streaming.

    Tags, rack units, prefixes, addresses, link ends and circuit ids of every row read so far,
    each with its row number and the value as typed. A million rows' worth of Python sets and
    dicts would cost hundreds of MB, so they live in a private temporary SQLite database (SQLite
    deletes it when it is closed) with an 8 MiB page cache: memory does not grow with the file.
    """

    REPORTED = 1  # a duplicate: the first row was reported too
    BAD = 2  # an asset row that failed: rows naming its tag are not reported again

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)  # "": private on-disk temp database
        for pragma in ("cache_size=-8192", "journal_mode=OFF", "synchronous=OFF"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute(
            "CREATE TABLE k (kind TEXT, key TEXT, row INTEGER, raw TEXT, flag INTEGER,"
            " PRIMARY KEY (kind, key)) WITHOUT ROWID"
        )

    def __enter__(self) -> Keys:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.db.close()

    def find(self, kind: str, keys: Iterable[str]) -> dict[str, list[Any]]:
        """key → [row, raw, flag] of the keys already stored."""
        out: dict[str, list[Any]] = {}
        for chunk in chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            for key, row, raw, flag in self.db.execute(
                f"SELECT key, row, raw, flag FROM k WHERE kind = ? AND key IN ({marks})",  # noqa: S608 - placeholders only
                (kind, *chunk),
            ):
                out[key] = [row, raw, flag]
        return out

    def add(self, kind: str, items: Iterable[tuple[str, int, str, int]]) -> None:
        """Store (key, row, raw, flag) items; a key already stored keeps its first row."""
        self.db.executemany(
            "INSERT OR IGNORE INTO k VALUES (?, ?, ?, ?, ?)",
            ((kind, key, row, raw, flag) for key, row, raw, flag in items),
        )

    def flag(self, kind: str, keys: Iterable[str], bit: int) -> None:
        self.db.executemany(
            "UPDATE k SET flag = flag | ? WHERE kind = ? AND key = ?",
            ((bit, kind, key) for key in keys),
        )

    def flagged(self, kind: str, keys: Iterable[str], bit: int) -> set[str]:
        return {key for key, (_row, _raw, flag) in self.find(kind, keys).items() if flag & bit}


T = TypeVar("T")


def chunks(items: list[T], size: int = 500) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
