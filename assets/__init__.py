"""Asset registry: sites, rooms, racks, assets, IP prefixes and addresses, links."""

from __future__ import annotations

from flask import Flask

from assets import api, cli, excel_views, extensions, labels, views
from assets import move_models as move_models  # the move tables in the metadata
from assets.moves import cli as moves_cli


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(excel_views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(labels.bp)
    app.cli.add_command(cli.assets_cli)
    app.cli.add_command(cli.plan_cmd)
    app.cli.add_command(moves_cli.moves_cli)
    # the tabs the packages above add (assets.extensions), read by templates/assets/_nav.html
    app.jinja_env.globals["registry_tabs"] = extensions.registry_tabs
