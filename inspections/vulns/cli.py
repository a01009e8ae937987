"""``opskit vulns``."""

from __future__ import annotations

import click


@click.group("vulns")
def vulns_cli() -> None:
    """Vulnerability scans: import scanner files, track findings to the fix."""
