"""Quarterly Excel reports built from every domain's queries."""

from __future__ import annotations

from flask import Flask

from opskit import jobs
from reports import api, cli, schedule, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)  # /api/v1/report-packs
    app.cli.add_command(cli.report_cli)
    jobs.register("report pack", schedule.run_due)  # the notifier builds the scheduled packs
