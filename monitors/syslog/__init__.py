"""Syslog (issue #16): ``opskit syslog receive`` takes the messages switches and servers send
(the contract's 网络运行日志), stores each one, and its rules raise and clear alerts.

- ``parsing``: bytes → :class:`~monitors.syslog.parsing.Message` (RFC 3164, RFC 5424,
  Huawei/H3C, Cisco; UTF-8, GBK/GB18030, else replacement characters);
- ``receiver``: UDP and TCP sockets on an asyncio thread, a bounded queue, the counters;
- ``store``: the database writer (asset matching, batched inserts, alerts), the retention;
- ``rules`` (+ ``rules.yaml``): patterns → raise/clear, bursts;
- ``models`` / ``queries`` / ``views``: the table, the search, the page; ``cli``: the commands.

Wired by ``create_app`` as a package of its own in ``opskit.domains.DOMAINS`` (its models are
found there by Alembic too).
"""

from __future__ import annotations

from flask import Flask

from monitors.syslog import cli, rules, store, views
from opskit import jobs
from opskit.alerts import wording


def _rule_title(_group: str, name: str) -> str | None:
    """An alert a syslog rule raised is called by the rule's title."""
    try:
        found = {rule.name: rule for rule in store.load_rules()}
    except rules.RuleError:
        return None
    rule = found.get(name)
    if rule is None:
        return None
    return rule.title if wording.english() or not rule.title_zh else rule.title_zh


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.syslog_cli)
    wording.register_rule_titles(rules.RULE_PREFIX, _rule_title)
    jobs.register("syslog retention", store.prune_job, every=3600.0)
