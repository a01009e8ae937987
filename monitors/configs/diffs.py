"""Two versions of a device's configuration compared (pure functions over the masked texts).

- :func:`unified` is the text of ``diff -u`` (what a download or an e-mail carries);
- :func:`unified_rows` is the same as rows a page colours: each line with its kind and its
  numbers on the left (older) and right (newer) side, hunks separated by a fold row;
- :func:`side_by_side` pairs the two sides on one row each: a removed line next to the line added
  in its place is one ``changed`` row; lines added or removed beyond the pairs have an empty side.

The common first and last lines of the two texts are set aside before ``difflib`` compares the
rest (:func:`opcodes`): a one-line change in a 400,000-line configuration is compared in no time,
where ``difflib`` alone takes time quadratic in the repeated lines (``!``) it holds.
:func:`changed_lines` says how many lines are left to compare, so a page can decline a diff
too large to show.

Both row forms keep ``context`` unchanged lines around each change and fold the unchanged run
between two changes (or at either end) into one ``fold`` row that says how many lines it hides;
a run whose fold would hide a single line is shown whole instead. Lines are compared as they
are, after ``str.splitlines`` (so a final newline or its absence is no change). The texts are
the masked ones: a page never sees a secret, and a changed password shows as no change in the
rows, though its hash differs (the version exists).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Literal

Kind = Literal["equal", "changed", "added", "removed", "fold"]


@dataclass(frozen=True)
class Row:
    """One row of a diff. ``fold``: ``hidden`` unchanged lines not shown, the numbers ``None``.
    In :func:`unified_rows` a row is one line: ``left`` and ``right`` hold the same text for an
    equal line, only ``left`` for a removed one and only ``right`` for an added one."""

    kind: Kind
    left_no: int | None = None
    left: str = ""
    right_no: int | None = None
    right: str = ""
    hidden: int = 0


@dataclass(frozen=True)
class Summary:
    """Lines added and removed (a changed line counts once on each side)."""

    added: int
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def _lines(text: str) -> list[str]:
    return text.splitlines()


Opcode = tuple[str, int, int, int, int]


def _common_ends(a: list[str], b: list[str]) -> tuple[int, int]:
    """How many first lines, then last lines (of what remains), ``a`` and ``b`` share."""
    limit = min(len(a), len(b))
    head = 0
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, tail


def changed_lines(old: str, new: str) -> tuple[int, int]:
    """The lines of ``old`` and of ``new`` between their common first and last lines: what a
    diff compares (0, 0 when the texts have the same lines)."""
    a, b = _lines(old), _lines(new)
    head, tail = _common_ends(a, b)
    return len(a) - head - tail, len(b) - head - tail


def opcodes(a: list[str], b: list[str]) -> list[Opcode]:
    """``difflib``'s opcodes of ``a`` → ``b``, the common first and last lines set aside."""
    head, tail = _common_ends(a, b)
    middle = difflib.SequenceMatcher(
        None, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=False
    ).get_opcodes()
    found: list[Opcode] = []
    if head:
        found.append(("equal", 0, head, 0, head))
    for tag, i1, i2, j1, j2 in middle:
        if i1 == i2 and j1 == j2:
            continue  # difflib's one empty "equal" for two empty sequences
        found.append((tag, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        found.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    merged: list[Opcode] = []
    for op in found:
        if merged and op[0] == "equal" and merged[-1][0] == "equal":
            last = merged.pop()
            op = ("equal", last[1], op[2], last[3], op[4])
        merged.append(op)
    return merged


def summary(old: str, new: str) -> Summary:
    """How many lines ``new`` adds and removes compared with ``old``."""
    added = removed = 0
    for tag, i1, i2, j1, j2 in opcodes(_lines(old), _lines(new)):
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return Summary(added=added, removed=removed)


def unified(old: str, new: str, old_name: str = "a", new_name: str = "b", context: int = 3) -> str:
    """The unified diff (``---``/``+++`` headers, ``@@`` hunks) of ``old`` → ``new``; "" if
    they are equal."""
    lines = difflib.unified_diff(
        _lines(old), _lines(new), fromfile=old_name, tofile=new_name, n=context, lineterm=""
    )
    text = "\n".join(lines)
    return text + "\n" if text else ""


def _equal_rows(
    a: list[str], b: list[str], i1: int, i2: int, j1: int, context: int, first: bool, last: bool
) -> list[Row]:
    """The unchanged run a[i1:i2] (= b[j1:...]) with its middle folded."""
    count = i2 - i1
    keep_head = 0 if first else context
    keep_tail = 0 if last else context
    shown: list[int]
    if count <= keep_head + keep_tail + 1:
        shown = list(range(count))
        hidden = 0
    else:
        shown = [*range(keep_head), *range(count - keep_tail, count)]
        hidden = count - keep_head - keep_tail
    rows: list[Row] = []
    for k in shown:
        if hidden and k == count - keep_tail:
            rows.append(Row("fold", hidden=hidden))
        rows.append(Row("equal", i1 + k + 1, a[i1 + k], j1 + k + 1, b[j1 + k]))
    if hidden and keep_tail == 0:
        rows.append(Row("fold", hidden=hidden))
    return rows


def _rows(old: str, new: str, context: int, paired: bool) -> list[Row]:
    a, b = _lines(old), _lines(new)
    ops = opcodes(a, b)
    if all(tag == "equal" for tag, *_ in ops):
        return []
    rows: list[Row] = []
    last_index = len(ops) - 1
    for index, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            rows += _equal_rows(a, b, i1, i2, j1, context, index == 0, index == last_index)
            continue
        removed = list(range(i1, i2)) if tag in ("replace", "delete") else []
        added = list(range(j1, j2)) if tag in ("replace", "insert") else []
        if paired:
            pairs = min(len(removed), len(added))
            for i, j in zip(removed[:pairs], added[:pairs], strict=True):
                rows.append(Row("changed", i + 1, a[i], j + 1, b[j]))
            removed, added = removed[pairs:], added[pairs:]
        rows += [Row("removed", left_no=i + 1, left=a[i]) for i in removed]
        rows += [Row("added", right_no=j + 1, right=b[j]) for j in added]
    return rows


def side_by_side(old: str, new: str, context: int = 3) -> list[Row]:
    """Rows of the two texts side by side (see the module's docstring); [] when equal."""
    return _rows(old, new, context, paired=True)


def unified_rows(old: str, new: str, context: int = 3) -> list[Row]:
    """Rows of the unified diff, one line each (removed before added); [] when equal."""
    return _rows(old, new, context, paired=False)
