"""Daily patrol: checklists as data, rounds, findings, sign-off, and the access/power logbook."""

from __future__ import annotations

from flask import Flask

from inspections import views


def init_app(app: Flask) -> None:
    for blueprint in views.BLUEPRINTS:
        app.register_blueprint(blueprint)
