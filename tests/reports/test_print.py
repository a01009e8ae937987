"""The pack as a printed document: every sheet's print setup, read back with openpyxl."""

from __future__ import annotations

import zipfile
from datetime import UTC
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask

from reports.build import build_pack
from reports.periods import parse_period
from tests.reports.test_pack import TZ, local, seed

HEADER_FILL = "DDEBF7"  # the shared writer's header cells


def fit(value: object) -> int:
    return 1 if value is None else int(str(value))


def header_row(ws: Any) -> int | None:
    """The 1-based row of the table's header (the first row of header-filled cells), found here
    from the cells themselves."""
    for row in ws.iter_rows(max_row=30):
        cells = [c for c in row if c.value is not None]
        if len(cells) > 1 and all((c.fill.fgColor.rgb or "").endswith(HEADER_FILL) for c in cells):
            return row[0].row
    return None


@pytest.mark.parametrize(
    ("lang", "footer"), [("zh_CN", "第 &P 页，共 &N 页"), ("en", "Page &P of &N")]
)
def test_every_sheet_prints_one_page_wide_with_headers_and_page_numbers(
    app: Flask, tmp_path: Path, lang: str, footer: str
) -> None:
    out = tmp_path / "pack.xlsx"
    with app.test_request_context("/"):
        seed()
        build_pack(
            parse_period("2026Q3", TZ),
            out,
            ["topology", "ip", "patrol", "alerts", "load", "warranty"],
            lang=lang,
            now=local("2026-10-09 09:00"),
        )
    book = openpyxl.load_workbook(out)
    sheets: list[Any] = list(book.worksheets)  # openpyxl's stubs: every part may be None
    images = [ws for ws in sheets if ws._images]
    assert images, "the topology diagram is in the pack"
    tables = 0
    for ws in sheets:
        cover = ws.title in ("封面", "Cover")  # one upright page: the sign-off on the first page
        assert ws.page_setup.orientation == ("portrait" if cover else "landscape"), ws.title
        assert ws.page_setup.paperSize == 9, ws.title  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage is True, ws.title
        # 1 is the file format's default, which xlsxwriter leaves out (openpyxl reads None)
        assert fit(ws.page_setup.fitToWidth) == 1, ws.title
        assert fit(ws.page_setup.fitToHeight) == (1 if ws in images or cover else 0), ws.title
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
        assert ws.oddFooter.center.text == footer
        assert ws.oddHeader.center.text == "&A"  # the sheet's name
        row = header_row(ws)
        if ws in images or ws.title in ("封面", "Cover"):
            assert ws.print_title_rows is None, ws.title
        elif row is not None:
            tables += 1
            # through the header row: note lines above a table are repeated with it
            assert ws.print_title_rows == f"$1:${row}", ws.title
    assert tables >= 5


@pytest.mark.parametrize(
    ("lang", "title", "subject"),
    [
        ("zh_CN", "2026年第3季度 驻场服务季度报告", "2026年第3季度"),
        ("en", "2026Q3 Quarterly service report", "2026Q3"),
    ],
)
def test_workbook_properties_name_the_pack_its_period_engineer_and_site(
    app: Flask, tmp_path: Path, lang: str, title: str, subject: str
) -> None:
    out = tmp_path / "pack.xlsx"
    now = local("2026-10-09 09:00")
    app.config["SITE_NAME"] = "示例医院"
    with app.test_request_context("/"):
        build_pack(
            parse_period("2026Q3", TZ), out, ["warranty"], lang=lang, engineer="张伟", now=now
        )
    props = openpyxl.load_workbook(out).properties
    assert props.title == title
    assert props.subject == subject
    assert props.creator == "张伟"
    assert props.created is not None
    assert props.created.replace(tzinfo=UTC) == now.astimezone(UTC)
    assert props.keywords and props.description
    app_xml = zipfile.ZipFile(out).read("docProps/app.xml").decode()
    assert "<Company>示例医院</Company>" in app_xml
