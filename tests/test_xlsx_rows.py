"""Rows streamed by ``opskit.xlsx.rows`` are the XML xlsxwriter writes for the same cells."""

from __future__ import annotations

import re
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import xlsxwriter

from opskit.xlsx.rows import RowStream, supported

TEXTS = [
    "plain",
    "中文设备名",
    "=cmd|'/C calc'!A0",
    "a & b < c > d",
    'quote " inside',
    " leading",
    "trailing ",
    "\u3000全角空格",
    "line\nbreak",
    "tab\tinside",
    "ctrl\x01\x1f",
    "_x0041_ looks escaped",
    "non\ufffechar\uffff",
    "x" * 40000,  # truncated to Excel's 32,767
    "😀" * 20000,  # UTF-16 pairs: truncated too
    "",
]
NUMBERS = [0, 1, -2.5, 1e-9, 123456789012345678, 3.141592653589793, 1e300]
WHEN = [datetime(2026, 7, 1, 9, 30), datetime(1999, 12, 31)]


def sheet_data(path: Path, index: int) -> str:
    with zipfile.ZipFile(path) as z:
        xml = z.read(f"xl/worksheets/sheet{index}.xml").decode()
    return re.search(r"<sheetData>.*</sheetData>|<sheetData/>", xml, re.S).group(0)


def test_streamed_rows_are_what_xlsxwriter_writes(tmp_path: Path) -> None:
    path = tmp_path / "both.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False})
    fmt = book.add_format({"num_format": "0.00", "bg_color": "#FCE4D6"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    rows = [[(t, None), (t, fmt)] for t in TEXTS]
    rows += [[(n, None), (n, fmt)] for n in NUMBERS]
    rows += [[(w, day), (None, fmt)] for w in WHEN]
    rows += [[(None, None), (None, None)]]  # an empty row: not written at all
    rows += [[(None, None), ("last", None)]]

    plain = book.add_worksheet("per-cell")
    plain.write_string(0, 0, "header")
    for r, row in enumerate(rows, start=1):
        for c, (value, f) in enumerate(row):
            if isinstance(value, str):
                if value:
                    plain.write_string(r, c, value, f)
            elif isinstance(value, datetime):
                plain.write_datetime(r, c, value, f)
            elif value is None:
                if f is not None:
                    plain.write_blank(r, c, None, f)
            else:
                plain.write_number(r, c, value, f)
    plain.autofilter(0, 0, len(rows), 1)

    fast = book.add_worksheet("streamed")
    fast.write_string(0, 0, "header")
    assert supported(fast)
    stream = RowStream(fast, 1, 2)
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, (value, f) in enumerate(row):
            ref, xf = f"{stream.letters[c]}{r + 1}", (f._get_xf_index() if f else None)
            if isinstance(value, str):
                if value:
                    cells.append(stream.text(ref, value, xf))
            elif isinstance(value, datetime):
                cells.append(stream.date(ref, value, xf))
            elif value is None:
                if xf is not None:
                    cells.append(stream.blank(ref, xf))
            else:
                cells.append(stream.number(ref, value, xf))
        stream.row(cells)
    stream.close()
    fast.autofilter(0, 0, len(rows), 1)
    book.close()

    assert sheet_data(path, 2) == sheet_data(path, 1)
    with zipfile.ZipFile(path) as z:  # same dimensions and filter too (the first sheet is
        one, two = (  # the selected one: its view differs)
            re.sub(
                r"<sheetViews>.*</sheetViews>", "", z.read(f"xl/worksheets/sheet{i}.xml").decode()
            )
            for i in (1, 2)
        )
    assert one == two and '<dimension ref="A1:B28"/>' in one
    read = openpyxl.load_workbook(path)["streamed"]
    assert read["A4"].value == "=cmd|'/C calc'!A0" and read["A4"].data_type == "s"
    assert read["A7"].value == " leading" and read["B20"].value == -2.5
    assert read.cell(len(TEXTS) + len(NUMBERS) + 2, 1).value == datetime(2026, 7, 1, 9, 30)
    assert read.cell(len(TEXTS) + len(NUMBERS) + 2, 1).number_format == "yyyy-mm-dd"
    assert date(1999, 12, 31) == read.cell(len(TEXTS) + len(NUMBERS) + 3, 1).value.date()
