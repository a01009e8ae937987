"""Daily patrol: checklists as data, rounds, findings, sign-off, and the access/power logbook."""

from __future__ import annotations

from flask import Flask

# the logbook and override tables live outside models.py; importing them here registers them
# wherever the package is imported (``opskit.migrate.import_models`` imports inspections.models)
from inspections import limits as _limits  # noqa: F401
from inspections import logbook as _logbook  # noqa: F401
from inspections import queries
from opskit.alerts import wording


def init_app(app: Flask) -> None:
    from inspections import views

    app.register_blueprint(views.bp)

    from inspections import admin_views, logbook_views, patrol_views

    app.register_blueprint(logbook_views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(patrol_views.bp)
    wording.register_rule_titles("patrol.", queries.item_title)  # a finding's checklist item
