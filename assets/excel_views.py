"""Excel upload (import) and download (export) pages of the registry (being built)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("assets_excel", __name__, url_prefix="/assets/excel")
