"""`opskit assets ...`: Excel template, import and export.

Exit status: 0 done (the summary is printed), 1 the workbook has problems (each is printed,
nothing was written), 2 usage errors (click's own).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

assets_cli = AppGroup("assets", help="Asset registry: Excel template, import, export.")


def _actor() -> str:
    from opskit.cli import _cli_actor

    return _cli_actor()


@assets_cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def template_cmd(file: Path) -> None:
    """Write the empty import workbook to FILE (.xlsx)."""
    from assets import excel

    excel.write_template(file)
    click.echo(f"template written to {file}")


@assets_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check everything and report; write nothing.")
def import_cmd(file: Path, dry_run: bool) -> None:
    """Import FILE (.xlsx): all rows or nothing; rows are matched by asset tag.

    Read and written a batch of rows at a time in one transaction; at most
    OPSKIT_IMPORT_MAX_ROWS data rows (default 200,000). Problems: the first few of each kind
    are printed, the rest counted.
    """
    from assets import excel
    from opskit.audit import acting_as

    with acting_as(_actor()):
        result = excel.import_workbook(file, dry_run=dry_run)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not result.ok:
        for problem in result.problems:  # the first few of each kind
            click.echo(problem.line(), err=True)
        for line in result.omitted_lines():  # "… and 999,990 more rows with the same problem"
            click.echo(line, err=True)
        click.echo(f"{result.problem_count:,} problem(s); nothing was written.", err=True)
        sys.exit(1)
    for line in result.summary_lines():
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing was written.")
    else:
        click.echo("imported.")


@assets_cli.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
def export_cmd(file: Path) -> None:
    """Write every asset, prefix, address, link and line to FILE in the import layout."""
    from assets import excel

    counts = excel.write_export(file)
    parts = ", ".join(f"{sheet} {n}" for sheet, n in counts.items())
    click.echo(f"exported to {file}: {parts}")


@assets_cli.command("remind")
def remind_cmd() -> None:
    """Raise or clear warranty alerts (expired or ending within 30 days); run daily."""
    from assets.reminders import sync_warranty_alerts
    from opskit import db
    from opskit.audit import acting_as
    from opskit.i18n import site_tz

    today = db.utcnow().astimezone(site_tz()).date()
    with acting_as("reminders"):
        open_count, cleared = sync_warranty_alerts(today)
        db.session().commit()
    click.echo(f"warranty alerts open: {open_count}, cleared: {cleared}")
