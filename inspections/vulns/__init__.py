"""Vulnerability scans (issue #20): scanner files imported as findings tied to the registry.

- ``models``: scans, the hosts they covered, nmap's service inventory, findings tracked across
  scans;
- ``parsers`` (one module per scanner format, + ``csv_columns.yaml``): a file → hosts, services
  and findings, streamed through a hardened XML parser (defusedxml);
- ``tracking`` (+ ``due_dates.yaml``): severity × importance → the due date;
- ``services``: the import (atomic), deduplication, fixed by a later scan, accepted risks that
  expire, the alert for a new critical/high finding on a core asset;
- ``queries``: reads; ``cli``: ``opskit vulns import``; ``views`` (+ ``inventory``): the
  pages, the upload and the asset page's 安全 section.

Wired by ``create_app`` as a package of its own in ``opskit.domains.DOMAINS``.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _

from inspections.vulns import api, cli, views
from inspections.vulns.models import SEVERITY_LABELS
from opskit.alerts import wording


def rule_title(_group: str, severity: str) -> str | None:
    """What the alert pages call a finding's rule: ``vulns.critical`` → 漏洞扫描 · 严重."""
    label = SEVERITY_LABELS.get(severity)
    return f"{_('Vulnerability scan')} · {label}" if label is not None else None


def init_app(app: Flask) -> None:
    app.cli.add_command(cli.vulns_cli)
    views.init_app(app)
    app.register_blueprint(api.bp)  # /api/v1/vulns/...
    wording.register_rule_titles("vulns.", rule_title)
