"""JSON API of the registry under /api/v1 (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("assets_api", __name__, url_prefix="/api/v1")
