"""The pack as PDF through LibreOffice (headless): `opskit report build ... --pdf`.

Runs where LibreOffice and poppler's tools are installed (`make pdf-deps`, which `make test`
runs); the demo's current quarter is converted, its text read back with pdftotext and its first
pages rendered to PNG for the README (docs/screenshots/pack-page-1.png, -2.png).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from flask import Flask

from opskit import db
from opskit.clock import site_tz
from reports.cli import report_cli
from reports.pdf import PdfError, to_pdf
from tests.conftest import copy_demo, make_test_app

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

needs_tools = pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftoppm") is None,
    reason="LibreOffice or poppler-utils not installed (make pdf-deps)",
)


def pdf_text(path: Path, first: int, last: int) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-f", str(first), "-l", str(last), str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def pdf_pages(path: Path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    line = next(x for x in info.stdout.splitlines() if x.startswith("Pages:"))
    return int(line.split()[1])


@needs_tools
def test_the_demo_quarter_as_pdf(demo_template: Path, tmp_path: Path) -> None:
    app = make_test_app(copy_demo(demo_template, tmp_path), tmp_path / "instance", None)
    runner = app.test_cli_runner()
    with app.app_context():
        today = db.utcnow().astimezone(site_tz())
    quarter = f"{today.year}Q{(today.month - 1) // 3 + 1}"  # the quarter still running
    out = tmp_path / "pack.xlsx"
    built = runner.invoke(report_cli, ["build", "--period", quarter, "--out", str(out), "--pdf"])
    assert built.exit_code == 0, built.output
    pdf = out.with_suffix(".pdf")
    assert f"wrote {pdf}" in built.output
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_mode & 0o077 == 0
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert pdf_pages(pdf) >= len(sheets)  # every sheet printed, each on a page of its own or more
    cover = pdf_text(pdf, 1, 1)
    # the cover, on its one page: the title, its figures, the table of contents naming the
    # sheets, the sign-off
    assert "驻场服务季度报告" in cover and "张江数据中心" in cover
    assert "目录" in cover and all(name in cover for name in sheets[1:6])
    assert "签字确认" in cover and "客户代表（签字）" in cover
    assert "第 1 页，共" in cover  # the footer, in the pack's language
    summary = pdf_text(pdf, 1, 6)
    assert "综述" in summary
    # the first pages as pictures for the README
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2
    for n, page in enumerate(pages, start=1):
        shutil.copyfile(page, SCREENSHOTS / f"pack-page-{n}.png")


def test_pdf_refused_clearly_without_libreoffice(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No LibreOffice: the build is refused before anything is written, saying what to do; a
    PDF name that is a folder is refused the same way."""
    monkeypatch.setenv("OPSKIT_SOFFICE", str(tmp_path / "no-such-soffice"))
    monkeypatch.setenv("PATH", str(tmp_path))
    folder = tmp_path / "packs"
    folder.mkdir()
    out = folder / "pack.xlsx"
    result = app.test_cli_runner().invoke(
        report_cli, ["build", "--period", "2026Q3", "--out", str(out), "--pdf"]
    )
    assert result.exit_code == 2
    assert "LibreOffice not found" in result.output and "libreoffice-calc-nogui" in result.output
    assert list(folder.iterdir()) == []  # nothing written, no temporary file
    (folder / "pack.pdf").mkdir()
    result = app.test_cli_runner().invoke(
        report_cli, ["build", "--period", "2026Q3", "--out", str(out), "--pdf"]
    )
    assert result.exit_code == 2 and "pack.pdf is a folder" in result.output
    assert not out.exists()
    with pytest.raises(PdfError, match="LibreOffice not found"):
        to_pdf(out)


@needs_tools
def test_pdf_conversion_failure_leaves_no_file(tmp_path: Path) -> None:
    """A file LibreOffice cannot read: a clear error, no PDF and no temporary file left."""
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(PdfError, match="no PDF written"):
        to_pdf(broken)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.xlsx"]
