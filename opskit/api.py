"""The JSON API under ``/api/v1``: Bearer tokens only (see ``opskit.auth``).

Domains register their own API blueprints under the same prefix and declare their operations
with ``opskit.openapi.operation``; this module holds what belongs to the core: ``/me`` and the
OpenAPI document at ``/api/v1/openapi.json`` (behind the token like every other ``/api/``
route).
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import ConfigDict

from opskit import api_docs, jsonapi, openapi
from opskit.apischema import Output, one_of
from opskit.models import Role
from opskit.openapi import operation
from opskit.version import __version__

bp = jsonapi.api_blueprint("api", __name__)


class Me(Output):
    """The user a token belongs to."""

    username: str
    display_name: str
    role: Annotated[str, one_of(Role)]
    can_write: bool


openapi.tag("core", _l("Core"))


@operation(bp, "GET", "/me", response=Me, tag="core", summary=_l("Who the token belongs to"))
def me() -> Any:
    """Who the token belongs to: a cheap way to check a token."""
    return current_user


class Document(Output):
    """An OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@operation(
    bp, "GET", "/openapi.json", response=Document, tag="core", summary=_l("This API's description")
)
def openapi_document() -> Any:
    """The OpenAPI 3.1 document of every ``/api/v1`` operation (also shown at ``/api/docs``)."""
    with force_locale("en"):  # one document for every reader; /api-docs is in theirs
        return openapi.document("opskit API", __version__)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    api_docs.init_app(app)
