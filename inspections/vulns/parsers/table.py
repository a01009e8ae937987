"""A scanner's CSV export (绿盟 RSAS, 启明星辰 天镜 and others): the columns are mapped by their
header text through ``csv_columns.yaml`` (data, not code: a new export needs a line there). UTF-8
(with or without BOM) or GB18030 (Excel's Chinese default) are read; rows are streamed."""

from __future__ import annotations

import csv
import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from inspections.vulns.parsers.base import (
    Finding,
    Host,
    ParseError,
    Scan,
    number,
    severity_of_score,
)
from opskit import clock

NAME = "csv"
COLUMNS_FILE = Path(__file__).resolve().parent.parent / "csv_columns.yaml"
CVE = re.compile(r"CVE-\d{4}-\d{4,}", re.IGNORECASE)


def _key(header: str) -> str:
    return re.sub(r"\s+", "", header).lower()


@functools.cache
def mapping() -> tuple[dict[str, str], set[str], tuple[str, ...], dict[str, str]]:
    """(header key → field, ignored header keys, required fields, severity word → severity)."""
    data: dict[str, Any] = yaml.safe_load(COLUMNS_FILE.read_text(encoding="utf-8"))
    headers = {_key(h): name for name, texts in data["fields"].items() for h in texts}
    ignored = {_key(h) for h in data.get("ignored", [])}
    words = {_key(w): level for level, texts in data["severities"].items() for w in texts}
    return headers, ignored, tuple(data["required"]), words


def encoding_of(path: Path) -> str:
    with path.open("rb") as raw:
        head = raw.read(64 * 1024)
    try:
        head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut by the 64 KB
            return "gb18030"
    return "utf-8-sig"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def header_fields(header: list[str]) -> dict[str, int]:
    """field → column index; an unknown or repeated column is an error naming it."""
    headers, ignored, required, _words = mapping()
    found: dict[str, int] = {}
    unknown = []
    for index, text in enumerate(header):
        key = _key(text)
        if not key or key in ignored:
            continue
        name = headers.get(key)
        if name is None:
            unknown.append(f"{text!r} (column {_column_letter(index)})")
        elif name in found:
            raise ParseError(
                f"columns {header[found[name]]!r} and {text!r} (column {_column_letter(index)}) "
                f"both hold {name}"
            )
        else:
            found[name] = index
    if unknown:
        raise ParseError(
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}: add "
            f"{'them' if len(unknown) > 1 else 'it'} to {COLUMNS_FILE.name} (under a field, or "
            "under ignored)"
        )
    missing = [name for name in required if name not in found]
    if missing:
        names = {n: [h for h, f in headers.items() if f == n] for n in missing}
        raise ParseError(
            "missing column(s): "
            + "; ".join(f"{n} (one of {', '.join(names[n][:4])} ...)" for n in missing)
        )
    return found


def _when(text: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:  # the scanner's wall clock: the site's time
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=clock.site_tz())
        except ValueError:
            continue
    return None


def parse(path: Path) -> Scan:
    scan = Scan(scanner=NAME)
    _headers, _ignored, _required, words = mapping()
    encoding = encoding_of(path)
    with path.open(encoding=encoding, newline="") as text:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise ParseError("the CSV file is empty") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ParseError(f"line 1: not a CSV header ({exc})") from None
        columns = header_fields(header)
        times: list[datetime] = []
        try:
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                _row(scan, row, columns, words, reader.line_num, header, times)
        except csv.Error as exc:
            raise ParseError(f"line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise ParseError(
                f"after line {reader.line_num}: neither UTF-8 nor GB18030 text"
            ) from None
    if times:
        scan.started_at, scan.finished_at = min(times), max(times)
    return scan


def _row(
    scan: Scan,
    row: list[str],
    columns: dict[str, int],
    words: dict[str, str],
    line: int,
    header: list[str],
    times: list[datetime],
) -> None:
    def cell(name: str) -> str:
        index = columns.get(name)
        if index is None or index >= len(row):
            return ""
        value = row[index].strip()
        return value

    def where(name: str) -> str:
        return f"line {line}, column {header[columns[name]]!r}"

    ip = cell("ip")
    if not ip:
        raise ParseError(f"{where('ip')}: empty (every row needs the host's IP)")
    name = cell("name")
    if not name:
        raise ParseError(f"{where('name')}: empty (every row needs the vulnerability's name)")
    score = number(cell("cvss_score"), where("cvss_score")) if "cvss_score" in columns else None
    severity_text = cell("severity")
    severity = words.get(_key(severity_text)) or (
        severity_of_score(score) if not severity_text else None
    )
    if severity is None:
        known = sorted({w for w in mapping()[3]})
        raise ParseError(
            f"{where('severity')}: {severity_text!r} is not a known level "
            f"(known: {', '.join(known[:12])} ...)"
        )
    port_text = cell("port")
    port_part, _, protocol = port_text.partition("/")
    port_part = port_part.strip()
    if port_part and not port_part.isdigit():
        raise ParseError(f"{where('port')}: {port_text!r} is not a port number")
    port = int(port_part) if port_part else 0
    if port > 65535:
        raise ParseError(f"{where('port')}: {port} is not a port number (0-65535)")
    protocol = (cell("protocol") or protocol).strip().lower()[:8] if port else ""
    if "scanned_at" in columns and cell("scanned_at"):
        when = _when(cell("scanned_at"))
        if when is None:
            raise ParseError(
                f"{where('scanned_at')}: {cell('scanned_at')!r} is not a time "
                "(e.g. 2026-11-20 09:30:00)"
            )
        times.append(when)
    ip = scan.add_host(Host(ip=ip, hostname=cell("hostname"), mac=cell("mac")), where("ip")).ip
    if severity == "info":
        return
    scan.add_finding(
        Finding(
            ip=ip,
            plugin_id=cell("plugin_id") or f"name:{name[:120]}",
            name=name[:500],
            severity=severity,
            port=port,
            protocol=protocol,
            cves=tuple(dict.fromkeys(c.upper() for c in CVE.findall(cell("cves")))),
            cvss_score=score,
            cvss_vector=cell("cvss_vector")[:200],
            solution=cell("solution"),
        )
    )
