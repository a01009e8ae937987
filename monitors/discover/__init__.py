"""Subnet discovery: sweep a range (ICMP and SNMP), probe who answered, propose assets and their
monitors, register the chosen ones in one transaction.

- ``sweep``: the network part (no database): which addresses answered, each responder probed
  with the device profiles (``monitors.probe``).
- ``proposals``: what each responder would be registered as (name, kind and maker from the
  matched profiles, model/serial/firmware from the probe's inventory, its SNMP or ping monitor),
  which addresses are registered already, and the LLDP neighbours no asset matches.
- ``register``: the one write: the chosen proposals become assets and monitors, all or nothing.
- ``cli`` (``opskit discover``) and ``views`` (``/monitoring/discover/``) over them.

Wired by ``create_app`` as a package of its own in ``opskit.domains.DOMAINS``, as syslog is.
"""

from __future__ import annotations

from flask import Flask

from monitors.discover import cli, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.discover_cmd)
