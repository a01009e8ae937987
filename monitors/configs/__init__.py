"""Device configurations (issue #22): the configurations of switches, routers, firewalls and
servers, fetched over SSH or Telnet with netmiko.

- ``platforms`` (+ ``platforms.yaml``): each platform as data: netmiko's device types, the commands
  that print the configuration, the volatile lines and the secrets;
- ``normalise``: output → the stored text, the masked text and the hash (pure functions);
- ``device``: one fetch from one device (netmiko in a thread, bounded by a timeout);
- ``cli``: ``opskit configs probe``;
- ``models`` / ``queries`` / ``services``: the devices' access (pinned SSH host keys), the
  versions stored, each attempt; storing a fetch, the 配置变更 / 配置备份失败 alerts;
- ``schedule``: due devices fetched by the poller's workers (``opskit poll``);
  ``backup_cli``: ``opskit configs set / fetch / accept-key / settings``.

Wired by ``create_app`` as a package of its own in ``opskit.domains.DOMAINS``.
"""

from __future__ import annotations

from flask import Flask

from monitors.configs import backup_cli, cli, services
from opskit.alerts import wording

_COMMANDS = backup_cli  # its commands join ``cli.configs_cli`` when it is imported


def init_app(app: Flask) -> None:
    app.cli.add_command(cli.configs_cli)
    wording.register_rule_titles(services.RULE_PREFIX, services.rule_title)
    wording.register_message_words(services.RULE_PREFIX, services.said_again)
