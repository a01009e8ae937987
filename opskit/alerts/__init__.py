"""The service desk shared by every domain: alerts, incidents, SLA clocks, notifications."""

from __future__ import annotations

from flask import Flask

from opskit.alerts import api, channels, cli, incident_api, incident_views, views, warranty


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(incident_views.bp)
    app.register_blueprint(channels.bp)
    app.cli.add_command(cli.sla_cli)
    app.cli.add_command(cli.notify_cli)
    warranty.init_app(app)  # `opskit assets remind`
    app.register_blueprint(api.bp)  # /api/v1/alerts, /api/v1/incidents
    app.register_blueprint(incident_api.bp)  # /api/v1/incidents/<id>/<step>
