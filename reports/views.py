"""Pages of this domain (a thin blueprint over its services and queries)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/")
def index() -> str:
    return render_template("reports/index.html")
