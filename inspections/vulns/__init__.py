"""Vulnerability scans (issue #20): scanner files imported as findings tied to the registry.

- ``models``: scans, the hosts they covered, nmap's service inventory, findings tracked across
  scans;
- ``parsers`` (one module per scanner format, + ``csv_columns.yaml``): a file → hosts, services
  and findings, streamed through a hardened XML parser (defusedxml);
- ``tracking`` (+ ``due_dates.yaml``): severity × importance → the due date;
- ``services``: the import (atomic), deduplication, fixed by a later scan, accepted risks that
  expire, the alert for a new critical/high finding on a core asset;
- ``queries``: reads; ``cli``: ``opskit vulns import``.

Wired by ``create_app`` as a package of its own in ``opskit.domains.DOMAINS``.
"""

from __future__ import annotations

from flask import Flask

from inspections.vulns import cli


def init_app(app: Flask) -> None:
    app.cli.add_command(cli.vulns_cli)
