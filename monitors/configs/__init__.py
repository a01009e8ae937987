"""Device configurations (issue #22): the configurations of switches, routers, firewalls and
servers, fetched over SSH or Telnet with netmiko.

- ``platforms`` (+ ``platforms.yaml``): each platform as data: netmiko's device types, the commands
  that print the configuration, the volatile lines and the secrets;
- ``normalise``: output → the stored text, the masked text and the hash (pure functions);
- ``device``: one fetch from one device (netmiko in a thread, bounded by a timeout);
- ``cli``: ``opskit configs probe``.

Wired by ``create_app`` as a package of its own in ``opskit.domains.DOMAINS``.
"""

from __future__ import annotations

from flask import Flask

from monitors.configs import cli


def init_app(app: Flask) -> None:
    app.cli.add_command(cli.configs_cli)
