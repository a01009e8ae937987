"""`opskit assets ...`: Excel template, import and export (and the commands the packages above
add through ``assets.extensions``: ``remind``, the desk's warranty alerts).

Exit status: 0 done (the summary is printed), 1 the workbook has problems (each is printed,
nothing was written), 2 usage errors (click's own).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from assets import excel, extensions
from opskit.audit import acting_as, cli_actor
from opskit.outputs import OutputFile, parents_option


class _AssetsGroup(AppGroup):
    """The registry's commands, and those the packages above add (``assets.extensions``)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, cmd_name) or extensions.COMMANDS.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *extensions.COMMANDS})


assets_cli = _AssetsGroup("assets", help="Asset registry: Excel template, import, export.")


@assets_cli.command("template")
@click.argument("file", type=OutputFile())
@parents_option
def template_cmd(file: Path, parents: bool) -> None:
    """Write the empty import workbook to FILE (.xlsx)."""
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
    with acting_as(cli_actor()):
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
@click.argument("file", type=OutputFile())
@parents_option
def export_cmd(file: Path, parents: bool) -> None:
    """Write every asset, prefix, address, link and line to FILE in the import layout."""
    counts = excel.write_export(file)
    parts = ", ".join(f"{sheet} {n}" for sheet, n in counts.items())
    click.echo(f"exported to {file}: {parts}")
