"""What text a regular expression cannot match without: a cheap test before the search.

Most syslog messages match none of the rules, and searching each message with each rule's
expression costs a few µs a rule (case-insensitive, ``.{0,60}`` and alternations scanned at
every position). :func:`needs` reads an expression's parse tree (Python's own ``re`` parser)
and finds strings of which at least one must occur in any text it matches, as
``grep``-like tools do: a run of plain characters in the expression's main sequence (the
longest), or, for an alternation, one string from each branch. :func:`may_match` tests them
with ``in`` on the lower-cased text (well under a µs); only a text holding one is searched.

The test is a necessary condition, never a sufficient one, and it must never turn away a text
the expression matches: only printable ASCII characters are taken (lower-cased: for ASCII,
lower-casing agrees with ``re.IGNORECASE``, and a case-sensitive match is also a match of the
lower-cased strings), a text that is not all ASCII is always searched (Unicode case folding
has pairs such as K/KELVIN SIGN that lower-casing does not), and anything the reading does not
understand (look-arounds, back-references, optional parts, classes) gives no requirement.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

Needs = frozenset[str] | None


def _better(a: Needs, b: Needs) -> Needs:
    """The more selective requirement: the longer shortest string, then fewer strings."""
    if a is None:
        return b
    if b is None:
        return a
    score_a = (min(map(len, a)), -len(a))
    score_b = (min(map(len, b)), -len(b))
    return b if score_b > score_a else a


def _needs(items: Any) -> Needs:
    best: Needs = None
    run: list[str] = []

    def end_run() -> None:
        nonlocal best
        if run:
            best = _better(best, frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is sre.LITERAL and 32 <= av < 127:
            run.append(chr(av).lower())
            continue
        end_run()
        if op is sre.SUBPATTERN:
            best = _better(best, _needs(av[-1]))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            low, _high, inner = av
            if low >= 1:
                best = _better(best, _needs(inner))
        elif op is sre.ATOMIC_GROUP:
            best = _better(best, _needs(av))
        elif op is sre.BRANCH:
            branches = [_needs(branch) for branch in av[1]]
            if branches and all(b is not None for b in branches):
                best = _better(best, frozenset().union(*branches))  # type: ignore[arg-type]
        # anything else (classes, anchors, look-arounds, references) requires nothing
    end_run()
    return best


def needs(pattern: re.Pattern[str]) -> Needs:
    """Strings (lower-case) of which any text ``pattern`` matches holds at least one;
    ``None`` when none could be found (the text is then always searched)."""
    try:
        tree = sre_parse.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    except (re.error, TypeError):
        return None
    return _needs(tree)


def may_match(required: Needs, lowered: str | None) -> bool:
    """False only when the text (``lowered``: lower-cased, ``None`` when not all ASCII)
    cannot match: it lacks every string ``required`` names."""
    if required is None or lowered is None:
        return True
    for text in required:  # noqa: SIM110 - a loop: cheaper than any() over a generator
        if text in lowered:
            return True
    return False
