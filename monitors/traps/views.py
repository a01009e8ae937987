"""The traps page: what ``opskit traps`` received, newest first, and what the rules did."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from monitors.traps import queries

bp = Blueprint("traps", __name__, url_prefix="/monitoring/traps")


@bp.get("/")
def index() -> str:
    """Every received trap (or the unknown ones: no profile rule maps them)."""
    unknown = request.args.get("show") == "unknown"
    page = request.args.get("page", 1, type=int) or 1
    listed = queries.list_traps(page, unknown_only=unknown)
    return render_template(
        "monitors/traps.html",
        listed=listed,
        assets=queries.assets_of(listed.items),
        unknown=unknown,
    )
