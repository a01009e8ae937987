"""Report packs in the JSON API (``/api/v1/report-packs``): build, list, download.

- ``POST /report-packs`` (engineer, supervisor, admin; a viewer's or another role's token gets
  403): builds the pack of ``period`` (a quarter like ``2026Q3``, a month like ``2026-10`` or a
  year; default the current quarter; a period that has not begun is a 422 naming ``period``) in
  ``lang`` (default the site's language), every kind, **synchronously, in the request, as the
  Reports page builds its download** (no job queue: the page's build is one request too; it
  takes seconds to a minute on a big site, so give the client a long timeout). The pack is kept
  where the schedule keeps its packs (``<instance>/reports/opskit-2026Q3-zh_CN.xlsx``, written
  to a temporary file and renamed: a reader never sees half a workbook), so it is listed on the
  Reports page too; building the same period and language again replaces it with a fresh
  snapshot. Audited (``opskit.audit.record``) with the token's user. 201 with the pack and its
  download URL in ``Location``.
- ``GET /report-packs``: the kept packs, newest period first, paged; filters ``period``, ``lang``.
- ``GET /report-packs/{name}``: the workbook, as the page's download
  (``application/vnd.openxmlformats-officedocument.spreadsheetml.sheet``).
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from flask import current_app, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import Field

from opskit import audit, db, jsonapi, openapi
from opskit.apischema import Input, Output, Page, Paging, one_of
from opskit.i18n import site_tz
from opskit.jsonapi import ApiError
from opskit.openapi import Created, File, operation
from opskit.validation import ValidationFailed
from reports.build import build_pack
from reports.periods import PeriodError, current_period, parse_period
from reports.schedule import StoredPack, packs_dir, stored_name, stored_packs, stored_path

bp = jsonapi.api_blueprint("report_packs_api", __name__)
TAG = "report packs"
openapi.tag(TAG, _l("Report packs"))

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LANGS = ("zh_CN", "en")
BUILDERS = ("engineer", "supervisor", "admin")
PERIOD_PATTERN = r"^\d{4}(Q[1-4]|-(0[1-9]|1[0-2]))?$"
PeriodText = Annotated[
    str,
    Field(
        pattern=PERIOD_PATTERN,
        examples=["2026Q3"],
        description="A quarter (2026Q3), a month (2026-10) or a year (2026)",
    ),
]
Lang = Annotated[str, one_of(LANGS)]


class PackOut(Output):
    """A report pack kept on the server."""

    name: str = Field(examples=["opskit-2026Q3-zh_CN.xlsx"])
    period: str
    lang: Lang
    size: int = Field(description="Bytes")
    built_at: datetime
    url: str = Field(description="Where to download it")


def pack_out(pack: StoredPack) -> dict[str, Any]:
    return {
        "name": pack.name,
        "period": pack.period,
        "lang": pack.lang,
        "size": pack.size,
        "built_at": pack.built.replace(tzinfo=site_tz()),
        "url": url_for("report_packs_api.download_pack", name=pack.name),
    }


class PackFilter(Paging):
    period: PeriodText | None = None
    lang: Lang | None = None


@operation(
    bp,
    "GET",
    "/report-packs",
    query=PackFilter,
    response=Page[PackOut],
    tag=TAG,
    summary=_l("List the kept report packs"),
)
def list_packs(query: PackFilter) -> Any:
    """The packs the schedule and the API kept, newest period first."""
    packs = [
        p
        for p in stored_packs()
        if query.period in (None, p.period) and query.lang in (None, p.lang)
    ]
    start = (query.page - 1) * query.per_page
    shown = packs[start : start + query.per_page]
    return {
        "items": [pack_out(p) for p in shown],
        "total": len(packs),
        "page": query.page,
        "per_page": query.per_page,
    }


@operation(
    bp,
    "GET",
    "/report-packs/<name>",
    response=File(XLSX),
    errors=(404,),
    tag=TAG,
    summary=_l("Download a report pack"),
)
def download_pack(name: str) -> Any:
    """The workbook (xlsx)."""
    path = stored_path(name)
    if path is None:
        raise ApiError(404, "not_found", _("No such report pack."))
    return send_file(path, as_attachment=True, download_name=name, mimetype=XLSX)


class PackBuild(Input):
    """Which pack to build."""

    period: PeriodText | None = Field(None, description="Default: the current quarter")
    lang: Lang | None = Field(None, description="Default: the site's language")


def _pack(path: Path) -> StoredPack:
    return next(p for p in stored_packs() if p.name == path.name)


@operation(
    bp,
    "POST",
    "/report-packs",
    body=PackBuild,
    response=PackOut,
    status=201,
    tag=TAG,
    summary=_l("Build a report pack"),
)
def build(body: PackBuild) -> Any:
    """Build the pack now (synchronously, as the Reports page does) and keep it."""
    if current_user.role not in BUILDERS:
        raise ApiError(403, "forbidden", _("Only engineers, supervisors and admins build packs."))
    today = db.utcnow().astimezone(site_tz()).date()
    try:
        if body.period is None:
            period = current_period("quarter", today, site_tz())
        else:
            period = parse_period(body.period, site_tz())
    except PeriodError as exc:
        raise ValidationFailed.one("period", str(exc)) from None
    if period.first_day > today:
        message = _("%(period)s has not begun yet.", period=period.text)
        raise ValidationFailed.one("period", message)
    lang = body.lang or current_app.config["BABEL_DEFAULT_LOCALE"]
    folder = packs_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stored_name(period, lang)
    handle, temporary = tempfile.mkstemp(suffix=".xlsx.part", dir=folder)
    os.close(handle)
    try:
        engineer = current_user.display_name or current_user.username
        build_pack(period, temporary, lang=lang, engineer=engineer)
        replaced = path.exists()
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
    size = path.stat().st_size
    audit.record(
        "update" if replaced else "create",
        "report_pack",
        path.name,
        _("Report pack %(period)s", period=period.text),
        {"size": (None, size)},
    )
    db.session().commit()
    return Created(pack_out(_pack(path)), url_for(".download_pack", name=path.name))
