"""Firmware upgrade records (升级记录, issue #22): ``models`` (the record), ``services`` (plan,
start only with a fresh configuration backup, finish, read the version back), ``queries``,
``views`` (the pages on the device's configuration pages).

Wired by ``create_app`` as a package of its own in ``opskit.domains.DOMAINS`` (its models are
found there by Alembic too).
"""

from __future__ import annotations

from flask import Flask

from monitors.configs.upgrades import views


def init_app(app: Flask) -> None:
    views.init_app(app)
