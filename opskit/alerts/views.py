"""Pages of this domain (a thin blueprint over its services and queries)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.route("/")
def index() -> str:
    return render_template("alerts/index.html")
