"""A runbook's Markdown as HTML, safely, and the difference between two versions.

**Rendering** uses markdown-it-py (maintained, CommonMark-exact, pure Python, typed) with its
``commonmark`` preset, raw HTML **off** (``<script>`` and every other tag typed into a runbook
is shown as text), tables and strikethrough on (lists are CommonMark's own). Links go through
markdown-it's ``validateLink``, which drops ``javascript:``, ``vbscript:``, ``file:`` and
``data:`` targets (the link's text stays, as text); the page's Content-Security-Policy is the
second wall (no inline script runs, no image loads from elsewhere). Tables get Bootstrap's
classes; links to other sites open in a new tab without an opener.

**The difference** of two versions is a line diff (``difflib``'s unified diff with a few lines
of context), as rows the template colours (added, removed, context, a gap): readable on a
tablet, unlike ``difflib.HtmlDiff``'s two wide columns.
"""

from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from markupsafe import Markup

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore

#: lines of context around each change in a version's difference
DIFF_CONTEXT = 3


def _decorate(state: StateCore) -> None:
    """Bootstrap's table classes; external links in a new tab, without an opener."""
    for token in state.tokens:
        if token.type == "table_open":
            token.attrSet("class", "table table-sm table-bordered align-top")
        for child in token.children or ():
            if child.type == "link_open":
                href = str(child.attrGet("href") or "")
                if href.startswith(("http://", "https://", "//")):
                    child.attrSet("target", "_blank")
                    child.attrSet("rel", "noopener noreferrer")


@functools.cache
def _parser() -> MarkdownIt:
    """The one parser, built on the first page that renders a runbook."""
    from markdown_it import MarkdownIt  # lazy: markdown-it costs ~0.1 s of every command's start

    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.push("opskit_decorate", _decorate)
    return md


def render(text: str) -> Markup:
    """The Markdown ``text`` as HTML safe to put in a page (raw HTML is escaped, not kept)."""
    return Markup(_parser().render(text or ""))  # noqa: S704  markdown-it's output, HTML disabled


@dataclass(frozen=True)
class DiffLine:
    """One row of a version's difference: ``kind`` is ``add``, ``del``, ``same`` or ``gap``
    (lines left out between two changes); the line numbers in the old and the new text."""

    kind: Literal["add", "del", "same", "gap"]
    text: str
    old: int | None = None
    new: int | None = None


def diff(old: str, new: str, context: int = DIFF_CONTEXT) -> list[DiffLine]:
    """The lines of ``new`` that differ from ``old``, with ``context`` lines around each
    change; [] when they are the same."""
    a, b = old.splitlines(), new.splitlines()
    rows: list[DiffLine] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        if rows:
            rows.append(DiffLine("gap", ""))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                rows += [DiffLine("same", a[i], i + 1, j1 + i - i1 + 1) for i in range(i1, i2)]
                continue
            if tag in ("replace", "delete"):
                rows += [DiffLine("del", a[i], old=i + 1) for i in range(i1, i2)]
            if tag in ("replace", "insert"):
                rows += [DiffLine("add", b[j], new=j + 1) for j in range(j1, j2)]
    return rows
