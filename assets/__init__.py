"""Asset registry: sites, rooms, racks, assets, IP prefixes and addresses, links."""

from __future__ import annotations

from flask import Flask

from assets import api, capacity_history, cli, excel_views, extensions, labels, rack_labels, views
from assets import move_models as move_models  # the move tables in the metadata
from assets import snapshot_models as snapshot_models  # the capacity history's table
from assets.moves import cli as moves_cli
from opskit import jobs


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(excel_views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(labels.bp)
    app.register_blueprint(rack_labels.bp)  # /labels/racks, /r
    app.cli.add_command(cli.assets_cli)
    app.cli.add_command(cli.plan_cmd)
    app.cli.add_command(moves_cli.moves_cli)
    # the tabs the packages above add (assets.extensions), read by templates/assets/_nav.html
    app.jinja_env.globals["registry_tabs"] = extensions.registry_tabs
    # the daily capacity snapshot the 容量规划 forecast reads (cheap when today's is taken)
    jobs.register(capacity_history.JOB, capacity_history.run_due)
