"""The monitoring API's blueprint and its tags (``monitors.api``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from opskit import jsonapi, openapi

bp = jsonapi.api_blueprint("monitors_api", __name__)

MONITORS = "monitors"
READINGS = "readings"
openapi.tag(MONITORS, _l("Monitors"))
openapi.tag(READINGS, _l("Readings and metrics"))
