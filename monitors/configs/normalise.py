"""A device's configuration output → what a backup stores, shows and hashes (pure functions).

- :func:`render` turns terminal output into lines as a screen would show them: backspaces and
  cursor-left escapes (``\\b``, ``ESC[nD``) move back over what follows, other escapes are
  dropped, a lone carriage return starts the line again; pager prompts left behind
  (``--More--``, ``---- More ----``, ``<--- More --->``) are removed, and a line that held
  nothing but a pager is no line.
- :func:`normalise` drops the platform's volatile lines (timestamps, ``ntp clock-period``, ...),
  masks its secrets, and hashes the result: the SHA-256 of the text without volatile lines
  (secrets that a device prints differently every time masked, all others as they are), so an
  unchanged configuration keeps its hash and a changed password does not.

Bytes are decoded as UTF-8, else GB18030 (GBK, what Chinese-language firmware writes), else UTF-8
with replacement characters.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from monitors.configs.platforms import PAGING_PROMPTS, Platform
from monitors.syslog.parsing import decode

MASK = "<masked>"

_ESCAPE = re.compile(r"\x1b\[(\d*)([A-Za-z])|\x1b[()][A-Za-z0-9]|\x1b.|\x08|\r")
_PAGER = re.compile(r"\s*(?:" + "|".join(PAGING_PROMPTS) + r")\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Normalised:
    """One configuration: ``text`` is stored (encrypted), ``masked`` is shown."""

    text: str
    masked: str
    sha256: str
    lines: int
    masked_count: int
    volatile_removed: int


def _render_line(line: str) -> str:
    cells: list[str] = []
    cursor = 0
    pos = 0
    for m in _ESCAPE.finditer(line):
        for ch in line[pos : m.start()]:
            if cursor < len(cells):
                cells[cursor] = ch
            else:
                cells.append(ch)
            cursor += 1
        pos = m.end()
        mark = m.group(0)
        if mark == "\x08":
            cursor = max(0, cursor - 1)
        elif mark == "\r":
            cursor = 0
        elif m.group(2) == "D":
            cursor = max(0, cursor - int(m.group(1) or 1))
        elif m.group(2) == "K":  # erase to the end of the line
            del cells[cursor:]
    for ch in line[pos:]:
        if cursor < len(cells):
            cells[cursor] = ch
        else:
            cells.append(ch)
        cursor += 1
    return "".join(cells).rstrip()


def render(text: str) -> list[str]:
    """Terminal output as the lines a screen would show (see the module's docstring)."""
    lines = []
    # a NUL is nothing on a screen: CR NUL (Telnet's bare carriage return) would otherwise end a
    # line with a return that writes the line again from its start; netmiko reads CR NUL LF as
    # LF NUL LF (its lone CR made a line end), one line end
    text = text.replace("\n\x00\n", "\n").replace("\x00", "")
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = _render_line(raw) if _ESCAPE.search(raw) else raw.rstrip()
        if _PAGER.search(line):
            if _PAGER.fullmatch(line):
                continue  # a pager left on a line of its own: no line of the configuration
            line = _PAGER.sub("", line, count=1) if _PAGER.match(line) else _PAGER.sub(" ", line)
        lines.append(_CONTROL.sub("", line).rstrip())
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _mask(line: str, platform: Platform, only_varying: bool) -> tuple[str, int]:
    count = 0
    for secret in platform.secrets:
        if only_varying and not secret.varies:
            continue
        m = secret.pattern.search(line)
        if m is None:
            continue
        spans = sorted(
            m.span(name) for name in secret.pattern.groupindex if m.group(name) is not None
        )
        for start, end in reversed(spans):
            if line[start:end] != MASK:
                line = line[:start] + MASK + line[end:]
                count += 1
    return line, count


def normalise(raw: bytes | str, platform: Platform) -> Normalised:
    """What a backup of this output stores, shows and hashes (see the module's docstring)."""
    text = decode(raw) if isinstance(raw, bytes) else raw
    kept: list[str] = []
    removed = 0
    for line in render(text):
        if any(p.search(line) for p in platform.volatile):
            removed += 1
        else:
            kept.append(line)
    masked_lines = []
    hashed_lines = []
    masked = 0
    for line in kept:
        shown, n = _mask(line, platform, only_varying=False)
        masked_lines.append(shown)
        masked += n
        hashed_lines.append(_mask(line, platform, only_varying=True)[0])
    body = "\n".join(kept) + "\n" if kept else ""
    hashed = "\n".join(hashed_lines) + "\n" if kept else ""
    return Normalised(
        text=body,
        masked="\n".join(masked_lines) + "\n" if kept else "",
        sha256=hashlib.sha256(hashed.encode("utf-8")).hexdigest(),
        lines=len(kept),
        masked_count=masked,
        volatile_removed=removed,
    )
