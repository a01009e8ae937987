"""The JSON API under ``/api/v1``: Bearer tokens only (see ``opskit.auth``).

Domains register their own API blueprints under the same prefix; this one holds what belongs
to the core.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify
from flask_login import current_user

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.get("/me")
def me() -> Any:
    """Who the token belongs to: a cheap way to check a token."""
    return jsonify(
        username=current_user.username,
        display_name=current_user.display_name,
        role=current_user.role,
        can_write=current_user.can_write,
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
