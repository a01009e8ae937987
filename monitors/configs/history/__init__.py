"""Device configurations' history (issue #22): the pages (a device's backups on its asset page,
the access form, the versions, a version's diff), the offline copies (``opskit configs export``
and ``verify``) and the reads behind them and the reports (``queries``).

Wired by ``create_app`` as a package of its own in ``opskit.domains.DOMAINS``; its commands join
the ``opskit configs`` group.
"""

from __future__ import annotations

from flask import Flask

from monitors.configs.cli import configs_cli
from monitors.configs.history import api, cli, views


def init_app(app: Flask) -> None:
    configs_cli.add_command(cli.export_cmd)
    configs_cli.add_command(cli.verify_cmd)
    views.init_app(app)
    app.register_blueprint(api.bp)  # /api/v1/configs/...
