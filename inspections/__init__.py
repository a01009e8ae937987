"""Daily patrol: checklists as data, rounds, findings, sign-off, and the access/power logbook."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from inspections import views

    app.register_blueprint(views.bp)
