"""The JSON API under ``/api/v1``: Bearer tokens only (see ``opskit.auth``).

Domains register their own API blueprints under the same prefix and declare their operations
in ``opskit.openapi``; this module holds what belongs to the core: ``/me`` and the OpenAPI
document at ``/api/v1/openapi.json`` (behind the token like every other ``/api/`` route).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, jsonify
from flask_login import current_user

from opskit import openapi
from opskit.models import Role
from opskit.openapi import Field, ObjectSchema, Operation
from opskit.version import __version__

bp = Blueprint("api", __name__, url_prefix="/api/v1")

ME = ObjectSchema(
    "Me",
    [
        Field("username"),
        Field("display_name"),
        Field("role", enum=tuple(r.value for r in Role)),
        Field("can_write", "boolean"),
    ],
    "The user a token belongs to.",
)

openapi.register(
    Operation(
        "get", "/api/v1/me", "getMe", "Who the token belongs to", "core", result=ME, errors=(401,)
    )
)


@bp.get("/me")
def me() -> Any:
    """Who the token belongs to: a cheap way to check a token."""
    return jsonify(ME.dump(current_user))


@bp.get("/openapi.json")
def openapi_document() -> Any:
    """The OpenAPI 3 document of every ``/api/v1`` operation."""
    return jsonify(openapi.document("opskit API", __version__))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
