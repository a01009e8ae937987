"""Where a command writes a file the engineer named: checked before anything is written.

opskit writes a workbook or a backup to a temporary file beside the destination and moves it
into place, so a failed run never leaves half a file. Moving replaces whatever the name points
to: given ``/dev/full`` or ``/dev/null`` as root, a FIFO or a socket, it would replace the
device with a workbook. So a destination must be a regular file or not exist yet, its folder
must be a folder, and the name must not be empty or a folder. A folder that does not exist is
made only when asked: ``--parents`` on the command (:func:`parents_option`), so a mistyped
path is refused rather than silently created.
``OutputFile`` is the click parameter type of every such argument (``--out``, ``FILE``); the
writers call :func:`check_output_path` themselves too (their own folders, e.g. the instance's
reports, are made as needed).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import click


class OutputPathError(ValueError):
    """The destination cannot take a file opskit writes (the message says why)."""


def check_output_path(path: str | Path, parents: bool = True) -> Path:
    """``path`` as a Path when a file may be written there; raises ``OutputPathError``.
    ``parents`` False: its folder must exist already."""
    text = str(path).strip()
    if not text:
        raise OutputPathError("no file name given: expected a path such as report.xlsx")
    target = Path(text)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        mode = None  # a parent is a file: said below
    except OSError as exc:
        raise OutputPathError(f"{target}: cannot be read ({exc.strerror})") from None
    if mode is not None:
        if stat.S_ISDIR(mode):
            raise OutputPathError(f"{target} is a folder: expected a file name in it")
        if not stat.S_ISREG(mode):
            raise OutputPathError(
                f"{target} is not a regular file (a device, pipe or socket): opskit replaces "
                "the file it writes, so give the name of a new or ordinary file"
            )
    for parent in target.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(f"{parent} is a file, not a folder: {target} cannot be made")
            break
    folder = target.absolute().parent
    if not parents and not folder.is_dir():
        raise OutputPathError(
            f"the folder {folder} does not exist: create it, or add --parents to have it made"
        )
    return target


def parents_option(command: Any) -> Any:
    """The ``--parents`` flag of a command writing an ``OutputFile`` (read before the file's
    name is checked)."""
    return click.option(
        "--parents",
        is_flag=True,
        is_eager=True,
        help="Make the output file's folder (and its parents) when it does not exist.",
    )(command)


class OutputFile(click.Path):
    """A click argument naming a file to write (see the module's docstring)."""

    def __init__(self) -> None:
        super().__init__(dir_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        parents = bool(ctx is not None and ctx.params.get("parents"))
        try:
            check_output_path(value, parents=parents)
        except OutputPathError as exc:
            self.fail(str(exc), param, ctx)
        return super().convert(value, param, ctx)
