"""One syslog message from the bytes a device sent: RFC 5424, RFC 3164 and what switches send.

:func:`decode` turns bytes into text without ever refusing them: UTF-8 (a BOM dropped), else
GB18030 (a superset of GBK, what Chinese-language device firmware writes), else UTF-8 with
replacement characters. :func:`parse` reads the header:

- ``<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD...] MSG`` (RFC 5424; ``-`` for nil; the
  structured data kept as its text);
- ``<PRI>Mmm dd hh:mm:ss HOST TAG[pid]: MSG`` (RFC 3164) and its common variants: a year before
  or after the time (Huawei, H3C), milliseconds, a time zone, an ISO 8601 time (rsyslog), no
  time or host at all (Python's ``SysLogHandler``), a Cisco sequence number (``123: ``) and
  ``*`` before an unsynchronised time;
- the vendor tags: Huawei/H3C ``%%01IFNET/4/LINK_STATE(l)[0]:`` and Cisco
  ``%LINK-3-UPDOWN:`` (the program is ``IFNET/4/LINK_STATE`` / ``LINK-3-UPDOWN``).

A message without ``<PRI>`` is kept with facility user and severity notice (RFC 3164's rule
for a relay) when it reads as text; one with control characters (junk) or nothing in it is
malformed (:class:`Malformed`, counted by the receiver, never stored).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

MAX_TEXT = 4096  # characters of a message kept (RFC 5424 asks receivers for at least 2048)
MAX_HOST = 255
MAX_PROGRAM = 64

SEVERITIES = (
    "emergency",
    "alert",
    "critical",
    "error",
    "warning",
    "notice",
    "informational",
    "debug",
)
FACILITIES = {
    0: "kern",
    1: "user",
    2: "mail",
    3: "daemon",
    4: "auth",
    5: "syslog",
    6: "lpr",
    7: "news",
    8: "uucp",
    9: "cron",
    10: "authpriv",
    11: "ftp",
    12: "ntp",
    13: "audit",
    14: "alert",
    15: "clock",
    **{16 + n: f"local{n}" for n in range(8)},
}
DEFAULT_FACILITY, DEFAULT_SEVERITY = 1, 5  # user.notice, RFC 3164 4.3.3


class Malformed(ValueError):
    """Not a syslog message (empty, or junk without a header); the reason says which."""


@dataclass
class Message:
    """One parsed message as the receiver hands it to the database writer."""

    received_at: datetime
    source: str
    facility: int
    severity: int
    hostname: str = ""
    program: str = ""
    text: str = ""
    structured_data: str = ""
    truncated: bool = False


def decode(data: bytes) -> str:
    """Bytes as text: UTF-8, else GB18030 (GBK), else UTF-8 with replacement characters."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace")


_PRI = re.compile(r"<(\d{1,3})>")
_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_TZ = r"(?:Z|[+-]\d\d:?\d\d|(?:UTC|GMT|CST|BJT|CCT|[A-Z]{3,4})(?=:))"
_TIMESTAMP = re.compile(
    r"(?:"
    rf"[*.]?(?:\d{{4}}\s+)?(?:{_MONTHS})\s+\d{{1,2}}(?:\s+\d{{4}})?\s+\d\d:\d\d:\d\d"
    rf"(?:[.:]\d{{1,6}})?(?:\s+\d{{4}})?(?:\s*{_TZ})?"
    rf"|\d{{4}}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d{{1,9}})?{_TZ}?"
    r"):?\s+"
)
_SEQUENCE = re.compile(r"\d{1,10}:\s+")
#: Huawei (``%%01``) and H3C (``%%10``): module/level/brief, log type, sequence
_HUAWEI = re.compile(
    r"%%\d\d(?P<module>[A-Za-z0-9_-]+)/(?P<level>[0-7])/(?P<brief>[A-Za-z0-9_-]+)"
    r"(?:\([a-z]\))?(?:\[\d+\])?:\s*"
)
#: Cisco IOS / NX-OS: %FACILITY[-SUBFACILITY]-SEVERITY-MNEMONIC:
_CISCO = re.compile(r"%(?P<tag>[A-Z0-9_]+(?:-[A-Z0-9_]+)?-(?P<level>[0-7])-[A-Z0-9_]+):\s*")
#: RFC 3164's TAG: program, optional [pid], a colon
_TAG = re.compile(r"(?P<tag>[A-Za-z0-9_./@()-]{1,48})(?:\[[^\]\s]{0,32}\])?:(?:\s+|$)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _vendor_tag(rest: str) -> tuple[str, str] | None:
    """(program, message) when ``rest`` starts with a Huawei/H3C, Cisco or plain tag."""
    if m := _HUAWEI.match(rest):
        return f"{m['module']}/{m['level']}/{m['brief']}", rest[m.end() :]
    if m := _CISCO.match(rest):
        return m["tag"], rest[m.end() :]
    if m := _TAG.match(rest):
        return m["tag"], rest[m.end() :]
    return None


def _rfc5424(rest: str) -> tuple[str, str, str, str]:
    """(hostname, program, structured data, message) of what follows ``<PRI>1 ``."""
    parts = rest.split(" ", 5)
    while len(parts) < 6:
        parts.append("-")
    _timestamp, host, app, _procid, _msgid, tail = parts
    sd, msg = "", tail
    if tail.startswith("-"):
        msg = tail[2:] if tail.startswith("- ") else tail[1:]
    elif tail.startswith("["):
        end = _sd_end(tail)
        sd, msg = tail[:end], tail[end:].lstrip(" ")
    if msg.startswith("\ufeff"):
        msg = msg[1:]
    nil = lambda v: "" if v == "-" else v  # noqa: E731
    return nil(host), nil(app), sd, msg


def _sd_end(text: str) -> int:
    """Where the structured data elements ``[id k="v"]...`` end (quotes and escapes honoured)."""
    i, n = 0, len(text)
    while i < n and text[i] == "[":
        quoted = False
        i += 1
        while i < n:
            c = text[i]
            if c == "\\" and quoted:
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            elif c == "]" and not quoted:
                i += 1
                break
            i += 1
    return i


def structured_data(sd: str) -> dict[str, dict[str, str]]:
    """RFC 5424 structured data as ``{sd-id: {param: value}}`` (escapes undone)."""
    out: dict[str, dict[str, str]] = {}
    for element in re.finditer(r'\[([^\s\]]+)((?:\s+[^\s=\]]+="(?:[^"\\]|\\.)*")*)\s*\]', sd):
        params = out.setdefault(element[1], {})
        for p in re.finditer(r'([^\s=\]]+)="((?:[^"\\]|\\.)*)"', element[2]):
            params[p[1]] = re.sub(r"\\(.)", r"\1", p[2])
    return out


def _rfc3164(rest: str) -> tuple[str, str, str]:
    """(hostname, program, message) of what follows ``<PRI>`` in the BSD formats."""
    if m := _SEQUENCE.match(rest):  # Cisco's sequence number
        rest = rest[m.end() :]
    stamped = _TIMESTAMP.match(rest)
    if stamped is None:
        # Cisco with ``logging origin-id``: ``HOST: *Mar 1 ...: %TAG: ...``
        m = re.match(r"([A-Za-z0-9_.-]{1,63}):\s+", rest)
        if m and (stamped := _TIMESTAMP.match(rest, m.end())):
            tagged = _vendor_tag(rest[stamped.end() :])
            if tagged:
                return m[1], tagged[0], tagged[1]
        tagged = _vendor_tag(rest)
        return ("", *tagged) if tagged else ("", "", rest)
    rest = rest[stamped.end() :]
    tagged = _vendor_tag(rest) if rest.startswith("%") else None
    if tagged:
        return "", tagged[0], tagged[1]
    host, _, after = rest.partition(" ")
    if host.endswith(":") or "[" in host:  # a tag, no host
        tagged = _vendor_tag(rest)
        return ("", *tagged) if tagged else ("", "", rest)
    after = after.lstrip(" ")
    if m := _SEQUENCE.match(after):
        after = after[m.end() :]
    tagged = _vendor_tag(after)
    return (host, *tagged) if tagged else (host, "", after)


def parse(data: bytes, source: str, received_at: datetime) -> Message:
    """One message from one datagram or TCP frame (:class:`Malformed` when it is none)."""
    text = decode(data).strip("\x00\r\n\t ")
    if not text:
        raise Malformed("empty")
    pri = _PRI.match(text)
    if pri and int(pri[1]) <= 191:
        value = int(pri[1])
        facility, severity = value >> 3, value & 7
        rest = text[pri.end() :]
    else:
        if _CONTROL.search(text[:2048]) or "\ufffd" in text[:2048]:
            raise Malformed("no <PRI> and not text")
        facility, severity, rest = DEFAULT_FACILITY, DEFAULT_SEVERITY, text
    sd = ""
    if re.match(r"[1-9]\d{0,2} ", rest):  # RFC 5424's VERSION
        host, program, sd, message = _rfc5424(rest.split(" ", 1)[1])
    else:
        host, program, message = _rfc3164(rest)
    message = _CONTROL.sub(" ", message).strip()
    truncated = len(message) > MAX_TEXT
    return Message(
        received_at=received_at,
        source=source,
        facility=facility,
        severity=severity,
        hostname=host[:MAX_HOST],
        program=program[:MAX_PROGRAM],
        text=message[:MAX_TEXT],
        structured_data=sd[:MAX_TEXT],
        truncated=truncated,
    )
