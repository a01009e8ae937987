"""The registry's Excel format: one workbook, one sheet per table, in dependency order::

    资产 (assets)  →  网段 (prefixes)  →  IP地址 (addresses)  →  链路 (links)  →  通信线路 (lines)

Each sheet may be absent from an import; a present sheet needs its required columns. The header
row is the first row holding every required header, so merged title rows above it are skipped;
unknown columns are ignored (and listed as warnings).

- ``columns``: the sheets and columns, and what a cell of each column holds;
- ``sheets``: reading one sheet (its header row, then its rows checked) through the core's
  reader ``opskit.xlsx.reader``;
- ``importer`` (with ``keys``, ``locations`` and ``result``): applying the rows a batch at a
  time in one transaction, in memory that does not grow with the file;
- ``export``: the template and the export, through the core's writer ``opskit.xlsx.writer``.
"""

from __future__ import annotations

from assets.excel.export import write_export, write_template
from assets.excel.importer import import_workbook
from assets.excel.result import (
    SHOW_PER_COLUMN,
    SHOW_PER_KIND,
    ImportResult,
    Problem,
    import_max_rows,
)
from opskit.xlsx.reader import WorkbookError

__all__ = [
    "SHOW_PER_COLUMN",
    "SHOW_PER_KIND",
    "ImportResult",
    "Problem",
    "WorkbookError",
    "import_max_rows",
    "import_workbook",
    "write_export",
    "write_template",
]
