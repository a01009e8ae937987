"""`opskit report build`: the report pack for a quarter, month or year, as one workbook."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import click
from flask.cli import AppGroup

from opskit.i18n import site_tz
from opskit.outputs import OutputFile, OutputPathError, check_output_path, parents_option
from reports import recommendations
from reports.build import ReportError, build_pack
from reports.kinds.base import listed
from reports.pdf import INSTALL_HINT, PdfError, pdf_path, soffice, to_pdf
from reports.periods import PeriodError, parse_period
from reports.schedule import resident_engineers, run_due

report_cli = AppGroup("report", help="Excel report packs for the customer.")


@report_cli.command("build")
@click.option("--period", required=True, help="2026Q3, 2026-10 or 2026 (site time zone).")
@click.option("--kinds", default="", help="Comma-separated kinds (default: all available).")
@click.option("--out", required=True, type=OutputFile(), help="The workbook to write (.xlsx).")
@click.option("--lang", type=click.Choice(["zh_CN", "en"]), default=None)
@click.option(
    "--engineer",
    default="",
    help="Name on the cover sheet (default: the active engineer accounts' full names).",
)
@click.option(
    "--pdf",
    is_flag=True,
    help="Also write the pack as PDF beside the workbook (<out>.pdf), through LibreOffice.",
)
@parents_option
def build_cmd(
    period: str, kinds: str, out: Path, lang: str | None, engineer: str, pdf: bool, parents: bool
) -> None:
    """Build the report workbook."""
    if pdf:  # refused before the workbook is built: the PDF's name, and LibreOffice
        try:
            check_output_path(pdf_path(out))
        except OutputPathError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        if soffice() is None:
            click.echo(f"error: --pdf: LibreOffice not found: {INSTALL_HINT}", err=True)
            sys.exit(2)
    try:
        chosen = [k.strip() for k in kinds.split(",") if k.strip()] or None
        written = build_pack(
            parse_period(period, site_tz()),
            out,
            chosen,
            lang,
            engineer or listed(resident_engineers(), lang),
        )
    except (PeriodError, ReportError, OutputPathError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    rows = ", ".join(f"{name} {n}" for name, n in written.items())
    click.echo(f"wrote {out} ({rows})")
    if pdf:
        try:
            click.echo(f"wrote {to_pdf(out)}")
        except (PdfError, OutputPathError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@report_cli.command("rules")
def rules_cmd() -> None:
    """Check the recommendation rules (shipped and <instance>/recommendations.yaml) and list
    them."""
    try:
        found = recommendations.load(recommendations.instance_file())
    except recommendations.RecommendationError as exc:
        raise click.ClickException(str(exc)) from None
    for rule in found:
        where = ", ".join(f"{c.figure} {c.op} {c.bound}" for c in rule.conditions)
        condition = f" where {where}" if where else ""
        click.echo(f"{rule.id}: {rule.priority}, on {rule.when}{condition} ({rule.origin})")


@report_cli.command("schedule")
@click.option("--now", "now_text", default=None, help="Pretend it is this UTC ISO time (tests).")
def schedule_cmd(now_text: str | None) -> None:
    """Build the scheduled packs that are due and not stored yet (idempotent; run it often)."""
    now = None
    if now_text:
        now = datetime.fromisoformat(now_text)
        now = now.replace(tzinfo=UTC) if now.tzinfo is None else now
    built = run_due(now)
    for path in built:
        click.echo(f"built {path}")
    if not built:
        click.echo("nothing due")
