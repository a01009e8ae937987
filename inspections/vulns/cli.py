"""``opskit vulns import``: a scanner file into findings (all or nothing); ``set-state``: a
finding's state by hand (until the pages exist); ``fix``: its fix, a service request opened for it
or an upgrade record linked; ``reopen-expired``: accepted risks past their end opened again."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy.exc import IntegrityError

from inspections.vulns import fixes, parsers, queries, services
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


@vulns_cli.command("set-state")
@click.argument("finding_id", type=int)
@click.argument("state", type=click.Choice(["open", "in_progress", "accepted", "false_positive"]))
@click.option("--reason", default="", help="Why (required for accepted and false_positive).")
@click.option("--approver", default="", help="Who accepted the risk (accepted).")
@click.option(
    "--until",
    "accepted_until",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Last day of the accepted risk (accepted); it reopens the day after.",
)
def set_state_cmd(
    finding_id: int, state: str, reason: str, approver: str, accepted_until: datetime | None
) -> None:
    """Move finding FINDING_ID to STATE: in_progress (修复中), accepted (接受风险), false_positive
    (误报) or open (待处理); fixed (已修复) is set by a later scan only."""
    finding = queries.get_finding(finding_id)
    if finding is None:
        raise click.UsageError(f"no finding {finding_id}")
    try:
        with acting_as(cli_actor()):
            services.set_state(
                finding,
                state,
                reason=reason,
                approver=approver,
                accepted_until=accepted_until.date() if accepted_until else None,
            )
    except ValueError as exc:
        db.session().rollback()
        raise click.UsageError(str(exc)) from None
    db.session().commit()
    click.echo(f"finding {finding_id}: {state}")


@vulns_cli.command("fix")
@click.argument("finding_id", type=int)
@click.option(
    "--request", "open_request", is_flag=True, help="Open its service request (once: again, it)."
)
@click.option(
    "--upgrade", "upgrade_id", type=int, help="Link this upgrade record of its asset (0: unlink)."
)
def fix_cmd(finding_id: int, open_request: bool, upgrade_id: int | None) -> None:
    """Record finding FINDING_ID's fix: a service request opened for it, an upgrade record."""
    finding = queries.get_finding(finding_id)
    if finding is None:
        raise click.UsageError(f"no finding {finding_id}")
    if not open_request and upgrade_id is None:
        raise click.UsageError("say --request, --upgrade ID or both")
    try:
        with acting_as(cli_actor()):
            if upgrade_id is not None:
                fixes.link_upgrade(finding, upgrade_id or None)
            req, created = fixes.open_fix_request(finding) if open_request else (None, False)
    except ValueError as exc:  # FixRefused, or the desk's ValidationFailed
        db.session().rollback()
        raise click.UsageError(str(exc)) from None
    db.session().commit()
    if upgrade_id is not None:
        click.echo(f"finding {finding_id}: upgrade record {upgrade_id or '-'}")
    if req is not None:
        click.echo(f"finding {finding_id}: {'opened' if created else 'has'} {req.number}")
