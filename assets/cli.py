"""`opskit assets ...`: Excel template, import and export (and the commands the packages above
add through ``assets.extensions``: ``remind``, the desk's warranty alerts); `opskit plan`: where
planned devices fit (``assets.plan``), and its planning workbook (``assets.plan_workbook``).

Exit status: 0 done (the summary is printed), 1 the workbook has problems (each is printed,
nothing was written), 2 usage errors (click's own).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import yaml
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _

from assets import capacity, excel, extensions, plan, plan_report, plan_scope, plan_workbook
from assets.services import reservations
from opskit import clock, db
from opskit.audit import acting_as, cli_actor
from opskit.outputs import OutputFile, parents_option
from opskit.validation import ValidationFailed


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


# --- opskit plan -----------------------------------------------------------------------------


@click.command("plan")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option(
    "--lang",
    type=click.Choice(["zh_Hans_CN", "en"]),
    default=None,
    help="Language of the reasons (default: the site's).",
)
@click.option(
    "--accept",
    type=click.IntRange(1),
    default=None,
    help="Reserve candidate N (1: the best): its units, ports and addresses are held (预留).",
)
@click.option("--name", "plan_name", default="", help="The plan's name (with --accept).")
@click.option("--owner", default="", help="Who the reservation is for (default: you).")
@click.option(
    "--hold-days",
    type=click.IntRange(1, 365),
    default=14,
    show_default=True,
    help="Days until the reservation expires.",
)
@click.option(
    "--report",
    type=OutputFile(),
    default=None,
    help="Write the planning workbook (设备配置现状及设备规划报告) of the candidate (--accept N's, "
    "else the best) to this .xlsx file.",
)
@parents_option
@with_appcontext
def plan_cmd(
    file: Path,
    as_json: bool,
    lang: str | None,
    accept: int | None,
    plan_name: str,
    owner: str,
    hold_days: int,
    report: Path | None,
    parents: bool,
) -> None:
    """Where the devices in FILE (YAML) fit: ranked candidates, and why other racks do not.

    FILE holds ``devices:`` (each ``name``, ``u``, optional ``watts``, ``feeds`` 1 or 2,
    ``ports`` such as ``{10G: 2}``, ``addresses`` such as ``{prefix: 10.1.2.0/24, count: 1}``)
    and optional ``site``, ``room``, ``near`` (a rack), ``together: true``, ``days``. Nothing is
    written unless ``--accept N`` reserves candidate N (the plan named by ``--name``, else the
    file's name). ``--report OUT.xlsx`` writes the planning workbook of that candidate (the
    state before it is reserved). Exit status: 0 answered (even with no candidate) or
    reserved, 1 the reservation was refused (what is taken is named; nothing was reserved), 2
    the file is wrong (each problem is printed, naming the device and field).
    """
    with force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            click.echo(_("error: %(file)s is not YAML: %(error)s", file=file, error=exc), err=True)
            sys.exit(2)
        try:
            request = plan.read_request(data)
        except plan.PlanInputError as exc:
            for error in exc.errors:
                click.echo(_("error: %(error)s", error=error), err=True)
            click.echo(_("Nothing was planned."), err=True)
            sys.exit(2)
        model, chosen = plan_scope.load(request)
        answer = plan.fit(request, model=model, chosen=chosen)
        if as_json:
            click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
        else:
            _print_answer(answer)
        name = plan_name or file.stem
        if report is not None:
            if accept is not None and accept > len(answer["candidates"]):
                click.echo(_("error: there is no candidate %(rank)d.", rank=accept), err=True)
                sys.exit(1)
            found = plan_report.collect(request, answer, model, name, accept or 1)
            written = plan_workbook.write(found, report, engineer=owner or cli_actor())
            click.echo(_("Planning report written to %(path)s.", path=written), err=as_json)
        if accept is not None:
            _accept(answer, accept, name, owner, hold_days, request.site_id, as_json)


def _accept(
    answer: dict[str, Any],
    rank: int,
    name: str,
    owner: str,
    days: int,
    site_id: int | None,
    as_json: bool,
) -> None:
    """Reserve candidate ``rank``; the outcome goes to standard error after ``--json`` (the
    JSON stays the only thing on standard output)."""
    if rank > len(answer["candidates"]):
        click.echo(_("error: there is no candidate %(rank)d.", rank=rank), err=True)
        sys.exit(1)
    candidate = answer["candidates"][rank - 1]
    expires = clock.now() + timedelta(days=days)
    try:
        with acting_as(cli_actor()):
            held = db.write(
                lambda: (
                    reservations.accept(candidate, name, owner or cli_actor(), expires, site_id).id
                )
            )
    except ValidationFailed as exc:
        for messages in exc.errors.values():
            for message in messages:
                click.echo(_("error: %(error)s", error=message), err=True)
        click.echo(_("Nothing was reserved."), err=True)
        sys.exit(1)
    click.echo(
        _(
            "Reserved candidate %(rank)d as reservation #%(id)d (plan %(plan)s) until %(until)s.",
            rank=rank,
            id=held,
            plan=name,
            until=expires.date().isoformat(),
        ),
        err=as_json,
    )


@assets_cli.command("release")
@click.argument("reservation", type=click.IntRange(1))
def release_cmd(reservation: int) -> None:
    """Release RESERVATION (its number): the units, ports and addresses it holds are free."""
    try:
        with acting_as(cli_actor()):
            db.write(lambda: reservations.release(reservation))
    except ValidationFailed as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(_("Reservation #%(id)d released.", id=reservation))


def _print_answer(answer: dict[str, Any]) -> None:
    if not answer["candidates"]:
        click.echo(_("No candidate: no rack in scope takes these devices."))
    for rank, candidate in enumerate(answer["candidates"], start=1):
        click.echo(_("Candidate %(rank)d: %(why)s", rank=rank, why=candidate["why"]))
        for p in candidate["placements"]:
            ports = ", ".join(f"{q['switch']} {q['port']}" for q in p["ports"])
            click.echo(
                f"  {p['device']}: {p['room']} / {p['rack']} U{p['u_start']}-U{p['u_end']}"
                f"  {p['watts']:.0f} W  {p['feeds']}" + (f"  {ports}" if ports else "")
            )
        for f in candidate["figures"]:
            feeds = ", ".join(f"{k} {v} %" for k, v in f["feed_percent_after"].items())
            click.echo(
                "  "
                + _(
                    "%(rack)s: %(load).0f W now (%(source)s) + %(planned).0f W → %(feeds)s; "
                    "%(before)d U free → %(after)d U",
                    rack=f["rack"],
                    load=f["load_w"],
                    source=capacity.LOAD_SOURCES[f["load_source"]],
                    planned=f["planned_w"],
                    feeds=feeds,
                    before=f["u_free_before"],
                    after=f["u_free_after"],
                )
            )
    if answer["rejected"]:
        click.echo(_("Rejected:"))
        for r in answer["rejected"]:
            click.echo(f"  {r['room']} / {r['rack']}: {r['reason']} ({r['device']})")
