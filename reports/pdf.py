"""The pack as PDF, for those who print or mail a PDF: LibreOffice converts the workbook.

``opskit report build ... --pdf`` writes ``<out>.pdf`` beside the workbook. opskit has no PDF
writer of its own: the workbook is the document (its print setup — A4 landscape, tables one
page wide with their header rows repeated, the sheet's name above and "page N of M" below —
is what LibreOffice lays out), and LibreOffice Calc renders it headless, with the fonts of the
machine (Chinese text needs a CJK font: Debian's fonts-noto-cjk).

- **Where LibreOffice is**: ``OPSKIT_SOFFICE`` (a path), else ``soffice`` or ``libreoffice`` on
  the PATH. Debian: ``apt-get install libreoffice-calc-nogui`` (``make pdf-deps``). Without it
  the PDF is refused with that advice; the workbook is written all the same.
- **Each conversion has its own LibreOffice profile** in a temporary folder, so two builds at
  once (or an engineer's open LibreOffice) do not lock each other out, and a time limit
  (``OPSKIT_PDF_TIMEOUT``, seconds, default 180).
- **Safe output** as the workbook's: the PDF's name is checked like ``--out`` (never a device,
  pipe or folder), written beside it under a temporary name and moved into place, owner-only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from opskit.files import make_private
from opskit.outputs import check_output_path

DEFAULT_TIMEOUT_S = 180
INSTALL_HINT = (
    "install LibreOffice (Debian: apt-get install libreoffice-calc-nogui, or make pdf-deps) "
    "or set OPSKIT_SOFFICE to its soffice program"
)


class PdfError(RuntimeError):
    """The PDF could not be made (the message says why and what to do)."""


def soffice() -> str | None:
    """LibreOffice's program: ``OPSKIT_SOFFICE``, else ``soffice``/``libreoffice`` on the PATH."""
    named = os.environ.get("OPSKIT_SOFFICE", "").strip()
    if named:
        return named if Path(named).is_file() else shutil.which(named)
    return shutil.which("soffice") or shutil.which("libreoffice")


def pdf_path(workbook: Path) -> Path:
    """Where ``--pdf`` writes: the workbook's name with ``.pdf``."""
    return workbook.with_suffix(".pdf")


def to_pdf(workbook: Path, out: Path | None = None) -> Path:
    """Convert ``workbook`` to PDF at ``out`` (default: beside it); returns the PDF's path."""
    program = soffice()
    if program is None:
        raise PdfError(f"no PDF written: LibreOffice not found: {INSTALL_HINT}")
    target = check_output_path(out or pdf_path(workbook))
    try:
        timeout = float(os.environ.get("OPSKIT_PDF_TIMEOUT", DEFAULT_TIMEOUT_S))
    except ValueError:
        raise PdfError("OPSKIT_PDF_TIMEOUT: expected a number of seconds") from None
    with tempfile.TemporaryDirectory(prefix="opskit-pdf-") as work:
        folder = Path(work)
        source = folder / "pack.xlsx"  # a plain name: LibreOffice names its output after it
        shutil.copyfile(workbook, source)
        command = [
            program,
            f"-env:UserInstallation={(folder / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--nolockcheck",
            "--convert-to",
            "pdf:calc_pdf_Export",
            "--outdir",
            str(folder / "out"),
            str(source),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - LibreOffice, with our own arguments
                command, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise PdfError(
                f"no PDF written: LibreOffice took more than {timeout:g} s "
                "(OPSKIT_PDF_TIMEOUT sets the limit)"
            ) from None
        except OSError as exc:
            raise PdfError(f"no PDF written: cannot run {program}: {exc.strerror}") from None
        made = folder / "out" / "pack.pdf"
        if done.returncode != 0 or not made.is_file() or made.stat().st_size == 0:
            said = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
            raise PdfError(
                f"no PDF written: LibreOffice failed (exit {done.returncode})"
                + (f": {' / '.join(said)}" if said else "")
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".pdf", dir=target.parent)
        os.close(fd)
        try:
            shutil.copyfile(made, tmp)
            make_private(tmp)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return target
