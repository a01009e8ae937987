"""What every scanner format parses into, the error a bad file raises, and the hardened XML
stream the XML formats read.

A scanner file comes from outside (a customer's scanner, a USB stick), so:

- XML is read by ``defusedxml.ElementTree.iterparse``: an entity declaration (the billion
  laughs) or an external entity/DTD (a local file read) is refused, not expanded;
- it is streamed: each record (``<host>``, ``<ReportHost>``, ``<result>``) is handled when it
  ends and cleared, so memory follows the largest record, not the file;
- a record is bounded too: more than ``MAX_GAP`` bytes without an element beginning or ending
  (one huge text, attribute or comment) is refused while it is being read, as are files with
  more than ``MAX_HOSTS`` hosts or ``MAX_FINDINGS`` findings.
"""

from __future__ import annotations

import contextlib
import ipaddress
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import defusedxml
import defusedxml.ElementTree as SafeET

MAX_GAP = 8 * 1024 * 1024
MAX_HOSTS = 65_536
MAX_FINDINGS = 500_000
#: CVSS v3 qualitative ratings, the score's lower bound → severity
SEVERITY_BY_SCORE = ((9.0, "critical"), (7.0, "high"), (4.0, "medium"), (0.1, "low"))


class ParseError(ValueError):
    """The file cannot be imported; the message names what was wrong and where."""


@dataclass
class Host:
    ip: str
    hostname: str = ""
    mac: str = ""


@dataclass(frozen=True)
class Service:
    ip: str
    port: int
    protocol: str
    state: str = "open"
    service: str = ""
    product: str = ""
    version: str = ""


@dataclass(frozen=True)
class Finding:
    ip: str
    plugin_id: str
    name: str
    severity: str
    port: int = 0
    protocol: str = ""
    cves: tuple[str, ...] = ()
    cvss_score: float | None = None
    cvss_vector: str = ""
    solution: str = ""


@dataclass
class Scan:
    """One file's content: the hosts it covered (by IP), nmap's services, the findings."""

    scanner: str
    version: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    hosts: dict[str, Host] = field(default_factory=dict)
    services: list[Service] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    #: things the user should know that did not stop the import (a version not seen before)
    warnings: list[str] = field(default_factory=list)

    def add_host(self, host: Host, where: str = "") -> Host:
        """The host, its address and MAC in the registry's spelling (``2001:DB8::1`` →
        ``2001:db8::1``, ``AA-BB-…`` → ``aa:bb:…``); one per address. A value that is no IP
        address is an error naming ``where``."""
        try:
            host.ip = str(ipaddress.ip_address(host.ip.strip()))
        except ValueError:
            raise ParseError(f"{where or 'a host'}: {host.ip!r} is not an IP address") from None
        host.mac = host.mac.strip().lower().replace("-", ":")
        known = self.hosts.get(host.ip)
        if known is None:
            if len(self.hosts) >= MAX_HOSTS:
                raise ParseError(f"more than {MAX_HOSTS} hosts in one file: split the scan")
            self.hosts[host.ip] = host
            return host
        known.hostname = known.hostname or host.hostname
        known.mac = known.mac or host.mac
        return known

    def add_finding(self, finding: Finding) -> None:
        if len(self.findings) >= MAX_FINDINGS:
            raise ParseError(f"more than {MAX_FINDINGS} findings in one file: split the scan")
        self.findings.append(finding)


def severity_of_score(score: float | None) -> str | None:
    """The CVSS v3 rating of a score (0 → info), ``None`` without a score."""
    if score is None:
        return None
    for bound, name in SEVERITY_BY_SCORE:
        if score >= bound:
            return name
    return "info"


def number(text: str | None, what: str) -> float | None:
    """A score as a float (empty: None); anything else is an error naming ``what``."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ParseError(f"{what}: {text!r} is not a number") from None
    if not 0 <= value <= 10:
        raise ParseError(f"{what}: {text!r} is outside 0-10")
    return value


def epoch(text: str | None) -> datetime | None:
    text = (text or "").strip()
    if not text.isdigit():
        return None
    return datetime.fromtimestamp(int(text), UTC)


def iso(text: str | None) -> datetime | None:
    """An ISO 8601 instant (``2023-09-28T14:48:02Z``); no zone is taken as UTC."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local(tag: str) -> str:
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


class _GapReader:
    """The file as iterparse reads it (16 KB at a time), refusing to go on when more than
    ``MAX_GAP`` bytes went by without an element beginning or ending."""

    def __init__(self, raw: BinaryIO, max_gap: int) -> None:
        self.raw = raw
        self.max_gap = max_gap
        self.read_bytes = 0
        self.last_event_at = 0
        self.open_element = ""

    def read(self, size: int = -1) -> bytes:
        if self.read_bytes - self.last_event_at > self.max_gap:
            where = f"inside <{self.open_element}>" if self.open_element else "before the root"
            raise ParseError(
                f"more than {self.max_gap // (1024 * 1024)} MB without an element beginning "
                f"or ending ({where}, from byte {self.last_event_at}): not a scanner's file"
            )
        data = self.raw.read(size)
        self.read_bytes += len(data)
        return data


def xml_events(
    path: Path, records: frozenset[str] = frozenset(), max_gap: int = MAX_GAP
) -> Iterator[tuple[str, ET.Element, ET.Element | None]]:
    """``("start" | "end", element, parent)`` through the file, hardened (see the module).

    Memory stays flat: once the caller has seen an element end, it is dropped from its parent,
    unless it lies inside an open record (an element named in ``records``: ``<host>``, whose
    children the caller reads when the record ends); the record itself is dropped then.
    """
    stack: list[ET.Element] = []
    inside = 0  # open records
    with path.open("rb") as raw:
        reader = _GapReader(raw, max_gap)
        try:
            for event, element in SafeET.iterparse(reader, events=("start", "end")):
                reader.last_event_at = reader.read_bytes
                name = local(element.tag)
                reader.open_element = name
                if event == "start":
                    parent = stack[-1] if stack else None
                    stack.append(element)
                    inside += name in records
                    yield event, element, parent
                    continue
                stack.pop()
                inside -= name in records
                parent = stack[-1] if stack else None
                yield event, element, parent
                if parent is not None and not inside:
                    with contextlib.suppress(ValueError):  # the caller dropped it already
                        parent.remove(element)
        except defusedxml.EntitiesForbidden as exc:
            raise ParseError(
                f"the file declares the XML entity {exc.name!r}: entity declarations are "
                "refused (they can expand to gigabytes, or read local files)"
            ) from None
        except defusedxml.ExternalReferenceForbidden as exc:
            raise ParseError(
                f"the file refers to an external resource ({exc.sysid or exc.pubid}): "
                "refused (it could read local files or the network)"
            ) from None
        except defusedxml.DTDForbidden:
            raise ParseError("the file declares a DTD with content: refused") from None
        except defusedxml.DefusedXmlException as exc:
            raise ParseError(f"unsafe XML refused: {exc}") from None
        except ET.ParseError as exc:
            line, column = exc.position
            if "no element found" in str(exc) or "unclosed token" in str(exc):
                raise ParseError(
                    f"the file ends before its XML does (line {line}, column {column}): "
                    "truncated? (copy the whole file again)"
                ) from None
            raise ParseError(
                f"not well-formed XML at line {line}, column {column}: {exc}"
            ) from None


def root_name(path: Path) -> str:
    """The name of the file's root element (read through the hardened stream)."""
    for event, element, _parent in xml_events(path):
        if event == "start":
            return local(element.tag)
    raise ParseError("the file holds no XML element")
