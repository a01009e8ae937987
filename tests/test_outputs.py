"""Where commands write what the engineer named: never over a device, pipe or folder, never a
traceback; the report command's periods are checked (years, not begun) before anything is
written, and nothing is left behind."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from opskit import clock
from opskit.cli import cli
from opskit.outputs import OutputPathError, check_output_path
from opskit.xlsx.writer import ReportWriter
from reports.periods import PeriodError, parse_period


def _report(app: Flask, *args: str):
    info = ScriptInfo(create_app=lambda: app)
    return CliRunner().invoke(cli, ["report", "build", *args], obj=info)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_fifo_a_device_a_folder_and_a_file_as_folder_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "plain").write_text("not a folder")
    cases = {
        str(fifo): "is not a regular file",
        "/dev/null": "is not a regular file",
        str(tmp_path): "is a folder",
        str(tmp_path / "plain" / "r.xlsx"): "is a file, not a folder",
        "  ": "no file name given",
    }
    for path, message in cases.items():
        with pytest.raises(OutputPathError, match=message):
            check_output_path(path)
        with pytest.raises(OutputPathError, match=message):
            ReportWriter(path)
    assert fifo.exists() and _files(tmp_path) == ["pipe", "plain"]  # no temporary file left
    # a new file (in a folder still to be made) and an ordinary existing file are fine
    assert check_output_path(tmp_path / "new" / "r.xlsx") == tmp_path / "new" / "r.xlsx"
    assert check_output_path(tmp_path / "plain") == tmp_path / "plain"


def test_report_build_refuses_bad_destinations_and_periods_without_a_traceback(
    app: Flask, tmp_path: Path
) -> None:
    tmp_path = tmp_path / "out"  # the app's database lives in tmp_path itself
    tmp_path.mkdir()
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "plain").write_text("x")
    this_year = clock.now().astimezone(clock.site_tz()).year
    started = f"{this_year}"
    bad_out = {
        str(tmp_path / "pipe"): "is not a regular file",
        "/dev/null": "is not a regular file",
        "": "no file name given",
        str(tmp_path / "plain" / "r.xlsx"): "is a file, not a folder",
    }
    for out, message in bad_out.items():
        result = _report(app, "--period", started, "--out", out)
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
    upcoming = f"{this_year + 1}"
    bad_period = {  # the command speaks the site's language (Chinese by default)
        "0000": "“0000”：年份须在 1970 至 2999 之间",
        "9999Q4": "“9999Q4”：年份须在 1970 至 2999 之间",
        "2026Q9": "2026Q9",
        upcoming: f"{upcoming} 尚未开始",
    }
    out = tmp_path / "r.xlsx"
    for period, message in bad_period.items():
        result = _report(app, "--period", period, "--out", str(out))
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
    assert _files(tmp_path) == ["pipe", "plain"]  # nothing written, no temporary file left
    assert (tmp_path / "plain").read_text() == "x"


def test_a_period_is_refused_until_it_begins() -> None:
    tz = clock.site_tz()
    now = clock.now()
    local_today = now.astimezone(tz).date()
    month = parse_period(f"{local_today.year}-{local_today.month:02d}", tz)
    month.check_started(now)  # running: allowed
    month.check_started(month.start)
    with pytest.raises(PeriodError, match="has not started yet"):
        month.check_started(month.start - timedelta(seconds=1))


@pytest.mark.parametrize(
    "command",
    [
        ["assets", "template"],
        ["assets", "export"],
        ["backup"],
        ["report", "build", "--period", "2026-07", "--kinds", "warranty", "--out"],
    ],
    ids=["assets template", "assets export", "backup", "report build"],
)
def test_a_missing_folder_is_made_only_with_parents(
    app: Flask, tmp_path: Path, command: list[str]
) -> None:
    """A mistyped folder is refused with the way out named; ``--parents`` makes it."""
    info = ScriptInfo(create_app=lambda: app)
    target = tmp_path / "out" / "2026" / "file.xlsx"
    refused = CliRunner().invoke(cli, [*command, str(target)], obj=info)
    assert refused.exit_code == 2, refused.output
    assert "does not exist" in refused.output and "--parents" in refused.output
    assert not (tmp_path / "out").exists()
    made = CliRunner().invoke(cli, [*command, str(target), "--parents"], obj=info)
    assert made.exit_code == 0, made.output
    assert target.is_file() and target.stat().st_size > 0
