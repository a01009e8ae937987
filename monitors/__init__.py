"""Monitoring: SNMP, host, ping, TCP and HTTP monitors, device profiles, readings, the poller,
SNMP traps."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _

from assets import extensions as registry
from monitors import api, capacity, cli, prometheus, queries, views
from monitors.traps import cli as trap_cli
from monitors.traps import rules as trap_rules
from monitors.traps import views as trap_views
from opskit.alerts import wording


def _trap_title(profile: str, condition: str) -> str | None:
    """An alert a trap raised is called by its condition's title (``traps:`` in a profile, or
    the site's own rule: its Chinese title unless the page is in English)."""
    if profile == trap_rules.SITE_PROFILE:
        return trap_rules.site_title(condition, wording.english())
    title = trap_rules.titles().get(condition)
    return _(title) if title else None


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(trap_views.bp)
    app.register_blueprint(prometheus.bp)  # /metrics
    app.register_blueprint(api.bp)  # /api/v1/monitors, /api/v1/readings
    registry.ASSET_STATES["monitors"] = queries.asset_colours  # the rack's colours
    registry.POWER_DRAW["monitors"] = capacity.pdu_draw  # the capacity model's measured draw
    registry.PORT_STATES["monitors"] = capacity.switch_ports  # and its free ports
    registry.ROOM_TEMPERATURES["monitors"] = capacity.room_temperatures  # its cooling trend
    wording.register_rule_titles(trap_rules.RULE_PREFIX, _trap_title)
    app.cli.add_command(cli.snmp_cli)
    app.cli.add_command(cli.sql_cli)
    app.cli.add_command(cli.poll_cmd)
    app.cli.add_command(cli.rollup_cmd)
    app.cli.add_command(trap_cli.traps_cmd)
