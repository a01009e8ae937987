"""Monitoring: SNMP, host, ping, TCP and HTTP monitors, device profiles, readings, the poller."""

from __future__ import annotations

from flask import Flask

from assets import extensions as registry
from monitors import cli, queries, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    registry.ASSET_STATES["monitors"] = queries.asset_colours  # the rack's colours
    app.cli.add_command(cli.snmp_cli)
    app.cli.add_command(cli.poll_cmd)
    app.cli.add_command(cli.rollup_cmd)
