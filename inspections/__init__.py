"""Daily patrol: checklists as data, rounds, findings, sign-off, and the access/power logbook."""

from __future__ import annotations

from flask import Flask

from inspections import queries, views
from opskit.alerts import wording


def init_app(app: Flask) -> None:
    for blueprint in views.BLUEPRINTS:
        app.register_blueprint(blueprint)
    wording.register_rule_titles("patrol.", queries.item_title)  # a finding's checklist item
    wording.register_message_words("patrol.", queries.alert_messages)  # its finding's message
