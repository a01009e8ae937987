"""Pages of this domain (a thin blueprint over its services and queries)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, url_for

bp = Blueprint("inspections", __name__, url_prefix="/patrol")


@bp.route("/")
def index() -> Any:
    """The patrol entry of the main navigation: today's overview (or the round start page)."""
    if "patrol_views.today" in current_app.view_functions:
        return redirect(url_for("patrol_views.today"))
    return redirect(url_for("inspections.new_round"))


from inspections import round_views  # noqa: E402,F401 - the round pages register on bp
