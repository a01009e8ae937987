"""``opskit export``: the frames of ``opskit.data`` as CSV, Parquet or Excel files.

    opskit export readings --metric ups.output.load_percent --since 90d -o ups.xlsx
    opskit export readings --metric env.temperature_c --since 2026-11-01 --until 2026-11-08 \\
        --asset SENS-01 --asset SENS-02 --rollup 5min --shape long --format parquet -o t.parquet
    opskit export alerts --since 30d --urgency A -o alerts.csv
    opskit export rounds --since 2026-10-01 -o rounds.xlsx
    opskit export assets --kind ups -o ups-assets.csv

``--format`` defaults to the output file's suffix. Bad input (an unknown metric, a ``--since``
after ``--until``, too long a period ...) exits with status 2 naming the option, and nothing is
written. Beside the ``opskit.data`` package, not in it: importing the package loads pandas,
which only the command that runs needs, not every ``opskit`` command (``opskit.cli`` adds
this group).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from opskit.outputs import OutputFile, parents_option

FORMATS = ("csv", "parquet", "xlsx")
#: opskit.data's argument names → the options that carry them
OPTIONS = {
    "metric": "--metric",
    "since": "--since",
    "until": "--until",
    "assets": "--asset",
    "site": "--site",
    "rollup": "--rollup",
    "shape": "--shape",
    "tz": "--tz",
    "urgency": "--urgency",
    "state": "--state",
    "kind": "--kind",
}


@click.group("export")
def export_group() -> None:
    """Readings, alerts, patrol rounds and assets as CSV, Parquet or Excel files."""


def _output(command: Any) -> Any:
    for option in reversed(
        (
            click.option(
                "-o",
                "--output",
                "output",
                type=OutputFile(),
                required=True,
                help="The file to write (replaced if it exists).",
            ),
            click.option(
                "--format",
                "fmt",
                type=click.Choice(FORMATS),
                default=None,
                help="csv, parquet (needs opskit[parquet]) or xlsx; default: the file's suffix.",
            ),
        )
    ):
        command = option(command)
    return parents_option(command)


def _zone(command: Any) -> Any:
    return click.option("--tz", default=None, help="Time zone of the times (default: the site's).")(
        command
    )


def _period(command: Any) -> Any:
    for option in reversed(
        (
            click.option(
                "--since",
                required=True,
                help="Start: a date/time in site time (2026-11-01, '2026-11-01 08:00') or "
                "back from now (90d, 12h, 2w).",
            ),
            click.option("--until", default=None, help="End (same forms); default: now."),
            click.option("--site", default=None, help="Only this site (name or id)."),
        )
    ):
        command = option(command)
    return command


def _run(read: Callable[[], Any], output: Path, fmt: str | None, what: str) -> None:
    """Read the frame and write it; bad input exits 2 naming its option, nothing written."""
    from opskit.data import export  # lazy: pandas costs ~0.5 s of every command's start

    try:
        chosen = export.format_of(output, fmt)
    except export.ExportError as exc:
        raise click.BadParameter(str(exc), param_hint="--format") from None
    try:
        frame = read()
    except ValueError as exc:
        name, _, _ = str(exc).partition(":")
        raise click.BadParameter(str(exc), param_hint=OPTIONS.get(name, name)) from None
    try:
        rows = export.write(frame, output, chosen, sheet=what)
    except export.ExportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{rows} rows of {what} written to {output} ({chosen})")


@export_group.command("readings")
@click.option("--metric", required=True, help="A metric, e.g. ups.output.load_percent.")
@_period
@click.option("--asset", "tags", multiple=True, help="Only this asset (its tag); repeatable.")
@click.option(
    "--rollup",
    type=click.Choice(("auto", "raw", "5min", "hourly")),
    default="auto",
    show_default=True,
    help="Raw readings, 5-minute or hourly averages; auto: by the period's length.",
)
@click.option(
    "--shape",
    type=click.Choice(("wide", "long")),
    default="wide",
    show_default=True,
    help="wide: a column per asset; long: a row per value (with min, max, count of rollups).",
)
@_output
@_zone
@with_appcontext
def export_readings(
    metric: str,
    since: str,
    until: str | None,
    site: str | None,
    tags: tuple[str, ...],
    rollup: str,
    shape: str,
    output: Path,
    fmt: str | None,
    tz: str | None,
    parents: bool,
) -> None:
    """One metric's readings (opskit.data.readings)."""
    from opskit import data  # lazy: pandas costs ~0.5 s of every command's start

    _run(
        lambda: data.readings(
            metric,
            since=since,
            until=until,
            assets=list(tags) or None,
            site=site,
            rollup=rollup,
            tz=tz,
            shape=shape,
        ),
        output,
        fmt,
        "readings",
    )


@export_group.command("alerts")
@_period
@click.option("--urgency", type=click.Choice(("A", "B", "C")), default=None)
@click.option(
    "--state",
    type=click.Choice(("open", "firing", "acknowledged", "resolved")),
    default=None,
    help="open: firing or acknowledged.",
)
@_output
@_zone
@with_appcontext
def export_alerts(
    since: str,
    until: str | None,
    site: str | None,
    urgency: str | None,
    state: str | None,
    output: Path,
    fmt: str | None,
    tz: str | None,
    parents: bool,
) -> None:
    """Alerts first seen in the period (opskit.data.alerts)."""
    from opskit import data  # lazy: pandas costs ~0.5 s of every command's start

    _run(
        lambda: data.alerts(since, until, site=site, urgency=urgency, state=state, tz=tz),
        output,
        fmt,
        "alerts",
    )


@export_group.command("rounds")
@_period
@_output
@_zone
@with_appcontext
def export_rounds(
    since: str,
    until: str | None,
    site: str | None,
    output: Path,
    fmt: str | None,
    tz: str | None,
    parents: bool,
) -> None:
    """Patrol rounds started in the period, with their findings counted (opskit.data.rounds)."""
    from opskit import data  # lazy: pandas costs ~0.5 s of every command's start

    _run(lambda: data.rounds(since, until, site=site, tz=tz), output, fmt, "rounds")


@export_group.command("assets")
@click.option("--site", default=None, help="Only this site (name or id).")
@click.option("--kind", default=None, help="Only this kind (ups, server, pdu ...).")
@_output
@with_appcontext
def export_assets(
    site: str | None,
    kind: str | None,
    output: Path,
    fmt: str | None,
    parents: bool,
) -> None:
    """The registered assets (opskit.data.assets)."""
    from opskit import data  # lazy: pandas costs ~0.5 s of every command's start

    _run(lambda: data.assets(site=site, kind=kind), output, fmt, "assets")
