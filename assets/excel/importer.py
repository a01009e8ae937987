"""Importing the registry workbook: its sheets in dependency order, a batch of rows at a time.

Import = stream each sheet's rows (``sheets``) in dependency order, check every cell, and apply
the valid rows through ``assets.services`` a batch of ``BATCH`` rows at a time, all in one
transaction; each problem is recorded with its sheet, row, column and value (the first few of
each kind kept for display, the rest counted); anything wrong (or a dry run) rolls every batch
back. Memory does not grow with the file: a batch's rows and ORM objects are let go once it is
flushed, and the checks across rows (duplicates, shared rack units) keep compact per-row keys in
a temporary SQLite file (``keys``). More than ``OPSKIT_IMPORT_MAX_ROWS`` data rows are refused.
Rows are upserted: assets by tag, prefixes by CIDR, addresses by address, links by their ends,
lines by the asset's tag. Values that do not change are not written, so importing the same
workbook twice leaves the audit log alone the second time.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import IO, Any

from flask_babel import gettext as _
from sqlalchemy.exc import SQLAlchemyError

from assets.excel.asset_rows import apply_assets
from assets.excel.columns import (
    ADDRESSES,
    ASSETS,
    HELP_SHEET,
    LINES,
    LINKS,
    PREFIXES,
    SHEETS,
    header_key,
    sheet_lookup,
)
from assets.excel.context import ImportContext
from assets.excel.keys import Keys
from assets.excel.network_rows import apply_addresses, apply_lines, apply_links, apply_prefixes
from assets.excel.result import ImportResult, Problem, TooManyRows, import_max_rows
from assets.excel.sheets import Row, open_sheet
from opskit import db
from opskit.xlsx import reader
from opskit.xlsx.reader import WorkbookError, is_blank

BATCH = 1000  # rows checked and written (flushed) together


def run(ctx: ImportContext, wb: Any) -> None:
    """Read the sheets in dependency order, each a stream of batches of BATCH rows."""
    known = _known_sheets(ctx, wb)
    ctx.places.preload()
    for spec, apply in (
        (ASSETS, apply_assets),
        (PREFIXES, apply_prefixes),
        (ADDRESSES, apply_addresses),
        (LINKS, apply_links),
        (LINES, apply_lines),
    ):
        ws = known.get(spec.key)
        if ws is None:
            continue
        sheet = open_sheet(spec, ws, ctx.result)
        if sheet is None:
            continue
        ctx.result.counts.setdefault(spec.zh, Counter(created=0, updated=0, unchanged=0))
        batch: list[Row] = []
        for row in sheet.rows(ctx.result):
            batch.append(row)
            if len(batch) >= BATCH:
                apply(ctx, sheet, batch)
                ctx.end_batch()
                batch = []
        if batch:
            apply(ctx, sheet, batch)
            ctx.end_batch()
    if ctx.result.ok and not ctx.result.rows_read:
        raise WorkbookError(_("The workbook contains no data rows (only headers or nothing)."))


def _known_sheets(ctx: ImportContext, wb: Any) -> dict[str, Any]:
    lookup = sheet_lookup()
    names = list(wb.sheetnames)
    known: dict[str, Any] = {}
    any_cell = False
    for name in names:
        spec = lookup.get(header_key(name))
        if spec is None:
            if header_key(name) != header_key(HELP_SHEET):
                ws = wb[name]
                if any(not is_blank(v) for r in ws.iter_rows(values_only=True) for v in r):
                    any_cell = True
                    ctx.result.warnings.append(
                        _("Sheet %(sheet)s is not an import sheet and was ignored.", sheet=name)
                    )
            continue
        if spec.key in known:
            ctx.result.add_problem(
                Problem(name, message=_("This table appears on two sheets; keep one."))
            )
            continue
        known[spec.key] = wb[name]
    if not known:
        if not any_cell:
            raise WorkbookError(_("The workbook is empty."))
        raise WorkbookError(
            _(
                "The workbook has no sheet named %(names)s (its sheets: %(found)s).",
                names="、".join(s.zh for s in SHEETS),
                found="、".join(names),
            )
        )
    return known


def import_workbook(
    source: bytes | str | Path | IO[bytes], dry_run: bool = False, max_rows: int | None = None
) -> ImportResult:
    """Check and apply a workbook in one transaction; commit only if nothing is wrong.

    Rows are read, checked and written (flushed) a batch at a time, so memory does not grow
    with the file; the transaction is one, so a problem anywhere (or a dry run) rolls back
    every batch. More than ``max_rows`` data rows (default ``OPSKIT_IMPORT_MAX_ROWS``) are
    refused. Uses (and ends) the transaction of ``db.session()``: commits on success, else
    rolls back.
    """
    result = ImportResult(dry_run=dry_run, max_rows=max_rows or import_max_rows())
    try:
        wb = reader.open_workbook(source)
    except WorkbookError as exc:
        result.add_problem(Problem(message=str(exc)))
        return result
    sess = db.session()
    try:
        try:
            with Keys() as keys:
                run(ImportContext(result, keys), wb)
        except WorkbookError as exc:
            sess.rollback()
            result.add_problem(Problem(message=str(exc)))
            return result
        except TooManyRows:
            sess.rollback()
            return result
        except SQLAlchemyError as exc:  # a constraint the services did not foresee
            sess.rollback()
            result.add_problem(
                Problem(
                    message=_(
                        "The database refused the import: %(error)s",
                        error=str(getattr(exc, "orig", exc)).splitlines()[0],
                    )
                )
            )
            return result
        except BaseException:
            sess.rollback()
            raise
        finally:
            wb.close()
        if result.problem_count or dry_run:
            sess.rollback()
            return result
        sess.commit()
        result.committed = True
        return result
    finally:
        if result.rows_read >= BATCH:
            reader.release_memory()
