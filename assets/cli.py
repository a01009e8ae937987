"""`opskit assets ...`: Excel template, import and export (being built)."""

from __future__ import annotations

from flask.cli import AppGroup

assets_cli = AppGroup("assets", help="Asset registry: Excel template, import, export.")
