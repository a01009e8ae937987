"""Excel upload (import) and download (template, export) pages of the registry.

GET shows the form; POST checks the uploaded workbook and imports it (or only checks it on a
dry run), then shows the problems in a table (the first few of each kind; the rest counted, so
a sheet of a million bad rows is still a small page), or the summary. The upload is read
where werkzeug spooled it, a batch of rows at a time (``excel.import_workbook``); more than
``OPSKIT_IMPORT_MAX_ROWS`` data rows are refused. Writer roles only for the POST
(the access hook does that). A browser cannot keep the chosen file after a round trip, so the
page names the file to choose again.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Response, render_template, request
from flask_babel import gettext as _

from assets import excel
from opskit import clock

bp = Blueprint("assets_excel", __name__, url_prefix="/assets/excel")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _download(name: str, write: Callable[[Path], object]) -> Response:
    with tempfile.TemporaryDirectory(prefix="opskit-xlsx-") as folder:
        path = Path(folder) / "out.xlsx"
        write(path)
        data = path.read_bytes()
    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/", methods=["GET", "POST"])
def index() -> str | tuple[str, int]:
    max_rows = excel.import_max_rows()
    if request.method == "GET":
        return render_template(
            "assets/import.html", result=None, filename="", dry_run=False, max_rows=max_rows
        )
    upload = request.files.get("file")
    dry_run = bool(request.form.get("dry_run"))
    if upload is None or not upload.filename:
        return (
            render_template(
                "assets/import.html",
                result=None,
                filename="",
                dry_run=dry_run,
                max_rows=max_rows,
                file_error=_("Choose an Excel workbook (.xlsx) to import."),
            ),
            400,
        )
    result = excel.import_workbook(upload.stream, dry_run=dry_run, max_rows=max_rows)
    status = 200 if result.ok else 422
    return (
        render_template(
            "assets/import.html",
            result=result,
            filename=upload.filename,
            dry_run=dry_run,
            max_rows=max_rows,
        ),
        status,
    )


@bp.route("/template.xlsx")
def template() -> Response:
    return _download("opskit-assets-template.xlsx", excel.write_template)


@bp.route("/export.xlsx")
def export() -> Response:
    return _download(f"opskit-assets-{clock.site_today().isoformat()}.xlsx", excel.write_export)
