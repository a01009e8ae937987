"""What every sheet's rows share while they are applied: the session, the problems found, the
keys of the rows seen so far, the sites/rooms/racks by name, and the lookups of rows by key.

Nothing is kept from one batch to the next but compact keys: the per-row keys of the file in
``keys`` (on disk) and the ids of sites, rooms and racks by name (``locations``). After each
batch the session is flushed and the batch's objects leave it, so memory does not grow with the
file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from assets.excel.keys import Keys, chunks
from assets.excel.locations import LOCATIONS, Locations, Misplaced
from assets.excel.result import ImportResult, Problem
from assets.excel.sheets import ImportSheet, Row
from assets.models import Asset, Prefix, Rack, Room
from opskit import db
from opskit.validation import ValidationFailed


class ImportContext:
    """One import's shared state; the sheets' rows are applied through it in one transaction."""

    def __init__(self, result: ImportResult, keys: Keys) -> None:
        self.result = result
        self.keys = keys
        self.sess = db.session()
        # objects the caller already had in the session stay there; the import's own objects
        # are expunged after every batch
        self.kept = list(self.sess.identity_map.values())
        self.kept_ids = {id(obj) for obj in self.kept}
        self.places = Locations(self.sess, result)

    # problems

    def problem(self, sheet: ImportSheet, row: Row, key: str, message: str) -> None:
        row.failed = True
        col = sheet.spec.column(key)
        self.result.add_problem(
            Problem(
                sheet.title,
                row.number,
                col.label,
                row.raw.get(key, ""),
                message,
                sheet.cell(key, row.number),
            )
        )

    def failed(self, sheet: ImportSheet, row: Row, exc: ValidationFailed, fallback: str) -> None:
        keys = {c.key for c in sheet.spec.columns}
        for fld, messages in exc.errors.items():
            key = fld if fld in keys and sheet.has(fld) else fallback
            for message in messages:
                self.problem(sheet, row, key, message)

    def unique(self, sheet: ImportSheet, rows: list[Row], column: str, key_of: Any) -> None:
        """The same key on two rows of the sheet: report both (every later one, too)."""
        kind = f"{sheet.spec.key}.{column}"
        keyed = [(row, key) for row in rows for key in dict.fromkeys(key_of(row.values)) if key]
        if not keyed:
            return
        seen: dict[str, list[Any]] = self.keys.find(kind, {key for _row, key in keyed})
        stored = set(seen)
        batch_rows: dict[int, Row] = {}
        col = sheet.spec.column(column)
        for row, key in keyed:
            first = seen.get(key)
            if first is None:
                seen[key] = [row.number, row.raw.get(column, ""), 0]
                batch_rows[row.number] = row
                continue
            number, raw, flag = first
            numbers = f"{number}、{row.number}"
            message = _("appears more than once in this file (rows %(rows)s)", rows=numbers)
            if not flag & Keys.REPORTED:
                first[2] = flag | Keys.REPORTED
                if number in batch_rows:
                    batch_rows[number].failed = True
                self.result.add_problem(
                    Problem(
                        sheet.title, number, col.label, raw, message, sheet.cell(column, number)
                    )
                )
            row.failed = True
            self.result.add_problem(
                Problem(
                    sheet.title,
                    row.number,
                    col.label,
                    row.raw.get(column, ""),
                    message,
                    sheet.cell(column, row.number),
                )
            )
        self.keys.add(kind, ((k, v[0], v[1], v[2]) for k, v in seen.items() if k not in stored))
        self.keys.flag(kind, [k for k in stored if seen[k][2] & Keys.REPORTED], Keys.REPORTED)

    # lookups

    def assets_by_tag(self, tags: Iterable[str | None], *options: Any) -> dict[str, Asset]:
        """The registered assets of ``tags`` (blank ones left out), by tag."""
        found: dict[str, Asset] = {}
        for chunk in chunks(sorted({t for t in tags if t})):
            query = select(Asset).where(Asset.asset_tag.in_(chunk))
            for asset in self.sess.scalars(query.options(*options)):
                found[asset.asset_tag] = asset
        return found

    def bad_tags(self, tags: Iterable[str]) -> set[str]:
        """Tags whose own asset row failed (only once something has failed)."""
        if self.result.ok:
            return set()
        return self.keys.flagged("assets.asset_tag", {t for t in tags if t}, Keys.BAD)

    def count(self, sheet: ImportSheet, what: str) -> None:
        self.result.counts.setdefault(sheet.spec.zh, Counter())[what] += 1

    def end_batch(self) -> None:
        """Write the batch (inside the transaction) and let go of its objects.

        Sites, rooms and racks stay: they are few (a rack holds dozens of rows), and a row of a
        later batch links to them again; let go, a rack's room would come back as a second copy
        of the same row ("another instance with key ... is already present in this session").
        """
        self.sess.flush()
        for obj in list(self.sess.identity_map.values()):
            if isinstance(obj, LOCATIONS) or id(obj) in self.kept_ids:
                continue
            if obj in self.sess:  # cascades expunge some
                self.sess.expunge(obj)

    def location(self, sheet: ImportSheet, row: Row) -> tuple[Room | None, Rack | None] | None:
        try:
            return self.places.locate(sheet, row.values)
        except Misplaced as exc:
            self.problem(sheet, row, exc.column, exc.message)
            return None

    def prefixes_by_cidr(self, cidrs: Iterable[str]) -> dict[str, Prefix]:
        found: dict[str, Prefix] = {}
        for chunk in chunks(sorted(set(cidrs))):
            for prefix in self.sess.scalars(select(Prefix).where(Prefix.cidr.in_(chunk))):
                found[prefix.cidr] = prefix
        return found

    def asset_ref(
        self, sheet: ImportSheet, row: Row, key: str, assets: dict[str, Asset], bad: set[str]
    ) -> Asset | bool | None:
        """The asset named in column ``key``; False when it is unknown (reported) or broken."""
        tag = row.values.get(key) or ""
        if not tag:
            return None
        if tag in bad:
            row.failed = True
            return False  # its own row already carries the problem
        asset = assets.get(tag)
        if asset is None:
            self.problem(
                sheet,
                row,
                key,
                _("no asset has this tag (register it on the 资产 sheet or in opskit first)"),
            )
            return False
        return asset

    def refs(
        self, rows: list[Row], *columns: str, line: bool = False
    ) -> tuple[dict[str, Asset], set[str]]:
        tags = {r.values.get(c) or "" for r in rows if not r.failed for c in columns}
        options = (selectinload(Asset.line),) if line else ()
        return self.assets_by_tag(tags, *options), self.bad_tags(tags)
