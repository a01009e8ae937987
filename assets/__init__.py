"""Asset registry: sites, rooms, racks, assets, IP prefixes and addresses, links."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from assets import views

    app.register_blueprint(views.bp)
