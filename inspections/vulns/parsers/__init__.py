"""Scanner formats, one module each (``NAME``, ``parse(path) -> Scan``; the XML ones also name
their ``ROOTS``), registered in ``FORMATS``; ``detect`` picks one from the file's root element
or, for a table, its header."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from inspections.vulns.parsers import nessus, nmap, openvas, table
from inspections.vulns.parsers.base import ParseError, Scan, root_name

FORMATS: dict[str, Callable[[Path], Scan]] = {
    nmap.NAME: nmap.parse,
    openvas.NAME: openvas.parse,
    nessus.NAME: nessus.parse,
    table.NAME: table.parse,
}
ROOTS = {root: module.NAME for module in (nmap, openvas, nessus) for root in module.ROOTS}

__all__ = ["FORMATS", "ParseError", "Scan", "detect", "parse"]


def _looks_like_xml(path: Path) -> bool:
    with path.open("rb") as raw:
        head = raw.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"<")


def detect(path: Path) -> str:
    """The format of the file at ``path``, or a ParseError saying why none fits."""
    if not _looks_like_xml(path):
        table.header_fields(_csv_header(path))  # raises naming the unknown/missing columns
        return table.NAME
    root = root_name(path)
    if root in ROOTS:
        return ROOTS[root]
    if root == "NessusClientData":
        raise ParseError(
            "a Nessus v1 file (<NessusClientData>): export the scan as .nessus (version 2)"
        )
    if root.startswith("NessusClientData_v"):
        raise ParseError(
            f"a Nessus file of a version not seen before (<{root}>): opskit reads "
            "<NessusClientData_v2>"
        )
    known = ", ".join(f"<{r}>" for r in sorted(ROOTS))
    raise ParseError(f"the root element <{root}> is no scanner format opskit reads ({known})")


def _csv_header(path: Path) -> list[str]:
    with path.open(encoding=table.encoding_of(path), newline="") as text:
        try:
            return next(csv.reader(text))
        except StopIteration:
            raise ParseError("the file is empty") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ParseError(f"neither XML nor a CSV header on line 1 ({exc})") from None


def parse(path: Path, scanner: str = "auto") -> Scan:
    """The file's content, parsed by ``scanner``'s module (``auto``: ``detect``)."""
    name = detect(path) if scanner == "auto" else scanner
    if name not in FORMATS:
        raise ParseError(f"unknown scanner {scanner!r} (known: auto, {', '.join(FORMATS)})")
    if scanner != "auto" and name != table.NAME and _looks_like_xml(path):
        root = root_name(path)
        if ROOTS.get(root) != name:
            raise ParseError(f"--scanner {name}, but the file's root element is <{root}>")
    return FORMATS[name](path)
