"""Reports page: choose a period and kinds, download the workbook (any role may: it is a read)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    after_this_request,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from opskit import db
from opskit.i18n import site_tz
from reports.build import ReportError, build_pack
from reports.kinds import KINDS, PLANNED
from reports.periods import PeriodError, parse_period, previous_quarter, recent_periods
from reports.schedule import next_builds, stored_packs, stored_path

bp = Blueprint("reports", __name__, url_prefix="/reports")
TOKEN = re.compile(r"[A-Za-z0-9]{8,40}")


def _page(error: str | None = None, **form: Any) -> Any:
    today = db.utcnow().astimezone(site_tz()).date()
    default = previous_quarter(today, site_tz()).text
    labels = {
        "last_quarter": _("Last quarter"),
        "this_quarter": _("This quarter"),
        "last_month": _("Last month"),
        "this_month": _("This month"),
        "last_year": _("Last year"),
        "this_year": _("This year"),
    }
    return render_template(
        "reports/index.html",
        quick=[(key, labels[key], p) for key, p in recent_periods(today, site_tz())],
        kinds=KINDS,
        planned=PLANNED,
        error=error,
        period=form.get("period", default),
        lang=form.get("lang"),
        chosen=form.get("kinds") or list(KINDS),
        stored=stored_packs(),
        next_builds=next_builds(),
    ), (400 if error else 200)


@bp.route("/")
def index() -> Any:
    return _page()


@bp.route("/build")
def build() -> Any:
    """GET so that viewers (the customer) can download too; it writes nothing."""
    text = request.args.get("period", "")
    kinds = request.args.getlist("kinds")
    lang = request.args.get("lang") or None
    try:
        period = parse_period(text, site_tz())
        handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
        handle.close()
        path = Path(handle.name)
        build_pack(
            period,
            path,
            kinds or None,
            lang if lang in ("zh_CN", "en") else None,
            current_user.display_name or current_user.username,
        )
    except (PeriodError, ReportError) as exc:
        return _page(str(exc), period=text, kinds=kinds, lang=lang)

    @after_this_request
    def _cleanup(response: Any) -> Any:
        path.unlink(missing_ok=True)
        return response

    name = _("opskit-report-%(period)s.xlsx", period=period.text)
    response = send_file(
        path,
        as_attachment=True,
        download_name=name,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    token = request.args.get("token", "")
    if TOKEN.fullmatch(token):
        # the page's script waits for this to say the download has started (a download does
        # not leave the page, so nothing else tells it the build is over)
        response.set_cookie(
            "opskit_report",
            token,
            max_age=120,
            path=url_for("reports.index"),
            samesite="Strict",
            secure=request.is_secure,
        )
    return response


@bp.route("/stored/<name>")
def stored(name: str) -> Any:
    """A pack the schedule kept (any role: the customer downloads it)."""
    path = stored_path(name)
    if path is None:
        abort(404)
    return send_file(
        path,
        as_attachment=True,
        download_name=name,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
