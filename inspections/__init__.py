"""Daily patrol: checklists as data, rounds, findings, sign-off, and the access/power logbook."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from assets import extensions
from inspections import api, queries, views
from inspections.logbook import api as logbook_api
from inspections.moves import api as moves_api
from opskit.alerts import wording


def _room_temperature_limits(room_ids: list[int]) -> dict[int, float]:
    """room id → the upper normal temperature of the room patrol's ``env.temperature_c``
    reading (the site's and the room's overrides applied), for the cooling trend."""
    limits = queries.room_reading_limits("room_environment", "env.temperature_c", room_ids) or {}
    return {r: lim.normal_max for r, lim in limits.items() if lim.normal_max is not None}


def init_app(app: Flask) -> None:
    for blueprint in views.BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(logbook_api.bp)  # /api/v1/logbook/...
    app.register_blueprint(api.bp)  # /api/v1/patrol/...
    app.register_blueprint(moves_api.bp)  # /api/v1/moves/.../steps/... (the tablet's actions)
    wording.register_rule_titles("patrol.", queries.item_title)  # a finding's checklist item
    wording.register_message_words("patrol.", queries.alert_messages)  # its finding's message
    extensions.ROOM_TEMPERATURE_LIMITS["inspections"] = _room_temperature_limits
    extensions.REGISTRY_TABS["moves"] = ("moves.index", _l("Moves"))  # 搬迁, on the tablet
