"""``opskit vulns import``: a scanner file into findings (all or nothing), and
``opskit vulns reopen-expired``: accepted risks past their end opened again."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from inspections.vulns import parsers, services
from opskit import db
from opskit.audit import acting_as, cli_actor

vulns_cli = AppGroup("vulns", help="Vulnerability scans: import scanner files, track findings.")


@vulns_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--scanner",
    type=click.Choice(["auto", *parsers.FORMATS]),
    default="auto",
    show_default=True,
    help="The file's format; auto: from its root element (XML) or header (CSV).",
)
@click.option("--dry-run", is_flag=True, help="Parse, match and count; write nothing.")
@click.option(
    "--partial",
    is_flag=True,
    help="A scan of some plugins only: findings it does not report are not marked fixed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def import_cmd(file: Path, scanner: str, dry_run: bool, partial: bool, as_json: bool) -> None:
    """Import FILE (nmap XML, Greenbone/OpenVAS XML report, Nessus .nessus v2, or a CSV mapped
    by inspections/vulns/csv_columns.yaml): hosts matched to assets by IP, host name or MAC,
    findings deduplicated and tracked. All or nothing; the same file twice is one scan."""
    sess = db.session()
    try:
        with acting_as(cli_actor()):
            summary = services.import_file(file, scanner, dry_run=dry_run, partial=partial)
        if dry_run:
            sess.rollback()
        else:
            sess.commit()
    except services.ImportRefused as exc:
        sess.rollback()
        click.echo(f"error: {file.name}: {exc}; nothing was imported.", err=True)
        sys.exit(1)
    except IntegrityError:  # the same file or finding written by an import running alongside
        sess.rollback()
        click.echo(
            f"error: {file.name}: another import wrote the same scan or findings at the same "
            "time; nothing was imported (import it again to see what it adds).",
            err=True,
        )
        sys.exit(1)
    except BaseException:
        sess.rollback()
        raise
    if as_json:
        click.echo(json.dumps(summary.as_json(), ensure_ascii=False, indent=2))
        return
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    if summary.already_imported:
        click.echo(f"{file.name} was imported before (scan {summary.scan_id}): nothing new.")
        return
    click.echo(
        f"{summary.scanner}: {summary.hosts} hosts ({summary.hosts_matched} registered), "
        f"{summary.services} services, {summary.findings_new} new findings, "
        f"{summary.findings_seen_again} seen again, {summary.findings_fixed} fixed, "
        f"{summary.findings_reopened} reopened, {summary.alerts_raised} alerts"
    )
    for host in summary.hosts_unmatched:
        name = " ".join(v for v in (host["hostname"], host["mac"]) if v)
        click.echo(f"  not registered: {host['ip']}{f' ({name})' if name else ''}")
    click.echo(
        "dry run: nothing was written." if dry_run else f"imported as scan {summary.scan_id}."
    )


@vulns_cli.command("reopen-expired")
def reopen_expired_cmd() -> None:
    """Open again the accepted risks whose acceptance has ended (the site's date)."""
    with acting_as(cli_actor()):
        count = services.reopen_expired()
    db.session().commit()
    click.echo(f"{count} accepted risk(s) reopened.")
