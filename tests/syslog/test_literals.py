"""The rules' cheap test before the search (``monitors.syslog.literals``) never turns away a
text the expression matches, and turns away most texts that cannot match: checked on the
shipped rules against the bench's thousands of messages in five vendors' formats, on
generated texts built around each expression's own strings, and on tricky expressions
(alternations, optional parts, groups, inline flags, classes, non-ASCII)."""

from __future__ import annotations

import random
import re

import pytest

from bench.ingest import syslog_datagrams
from monitors.syslog import literals, rules
from monitors.syslog.parsing import parse

pytestmark = pytest.mark.dateless  # expressions and texts only


def _lowered(text: str) -> str | None:
    return text.lower() if text.isascii() else None


def _never_turns_away(pattern: re.Pattern[str], texts: list[str]) -> int:
    """Asserts the test keeps every matching text; how many texts it turned away."""
    required = literals.needs(pattern)
    turned_away = 0
    for text in texts:
        if not literals.may_match(required, _lowered(text)):
            assert pattern.search(text) is None, (pattern.pattern, text)
            turned_away += 1
    return turned_away


def _texts() -> list[str]:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for data in syslog_datagrams(3000, ["sw1", "sw2"], 0.5):
        m = parse(data, "10.0.0.1", at)
        out.append(f"{m.program}: {m.text}" if m.program else m.text)
    return out


def test_the_shipped_rules_keep_every_match_and_skip_most_messages() -> None:
    texts = _texts()
    shipped = rules.load()
    matched = skipped = searched = 0
    for rule in shipped:
        for pattern in filter(None, (rule.pattern, rule.clear)):
            assert literals.needs(pattern), f"{rule.name}: no string found to test for"
            skipped += _never_turns_away(pattern, texts)
            searched += len(texts)
            matched += sum(pattern.search(t) is not None for t in texts)
    assert matched > 500, "the messages exercise the rules"
    assert skipped / searched > 0.7, "most searches are saved"


def test_generated_texts_around_each_expressions_strings() -> None:
    rng = random.Random(7)
    noise = ["", " ", "x", "Interface", "GE0/0/1", "DOWN", "up", "%", "：", "é", "K", "ſ"]
    for rule in rules.load():
        for pattern in filter(None, (rule.pattern, rule.clear)):
            required = sorted(literals.needs(pattern) or {""})
            texts = []
            for _ in range(400):
                pieces = [rng.choice(noise) for _ in range(rng.randrange(6))]
                pieces.insert(rng.randrange(len(pieces) + 1), rng.choice(required))
                text = " ".join(pieces)
                texts += [text, text.upper(), text.title(), text.replace(" ", "")]
            _never_turns_away(pattern, texts)


@pytest.mark.parametrize(
    ("expression", "flags", "needs", "texts"),
    [
        (r"link (?:down|up)\b", re.I, {"link "}, ["LINK DOWN", "link  up", "lnk down"]),
        (r"(?:foo|ba?r)", 0, {"foo", "b"}, ["br", "foo", "bar", "fo r"]),  # one of each branch
        (r"(?:foo|[xy]+)", 0, None, ["foo", "xy"]),  # a branch with nothing certain
        (r"a(?:bc)?d", 0, {"a"}, ["ad", "abcd", "xd"]),
        (r"(?:abc){2,}", 0, {"abc"}, ["abcabc", "ABCABC", "ab"]),
        (r"x[yz]+w", 0, {"x"}, ["xyw", "w"]),
        (r"(?i:PSU) fail", 0, {" fail"}, ["psu fail", "PSU fail", "PSU FAIL"]),
        (r"(?-i:PSU) fail", re.I, {" fail"}, ["psu fail", "PSU FAIL"]),
        (r"k\w+", re.I, {"k"}, ["\u212aelvin", "Kelvin", "elvin"]),  # KELVIN SIGN: not ASCII
        (r"s\w", re.I, {"s"}, ["\u017ft", "st", "tt"]),  # LONG S folds to s under re.I
        (r"温度\s*过高", 0, None, ["温度 过高", "ok"]),  # no ASCII string to test for
        (r"(?=abc)a", 0, {"a"}, ["abc", "xbc"]),  # a look-ahead requires nothing itself
        (r"(a)b\1", 0, {"a"}, ["aba", "abb", "bb"]),  # the group's string (a back-reference: none)
    ],
)
def test_expressions(expression: str, flags: int, needs: set[str] | None, texts: list[str]) -> None:
    pattern = re.compile(expression, flags)
    found = literals.needs(pattern)
    assert (set(found) if found is not None else None) == needs
    _never_turns_away(pattern, texts)


def test_a_text_that_is_not_ascii_is_always_searched() -> None:
    assert literals.may_match(frozenset({"fan"}), None)
    assert literals.may_match(None, "anything")
    assert not literals.may_match(frozenset({"fan", "psu"}), "link down")
