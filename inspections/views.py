"""Pages of this domain (a thin blueprint over its services and queries)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("inspections", __name__, url_prefix="/patrol")


@bp.route("/")
def index() -> str:
    return render_template("inspections/index.html")


from inspections import round_views  # noqa: E402,F401 - the round pages register on bp
