"""Recommendations: rules in YAML turning the kinds' findings (``reports.findings``) into
reasoned recommendations, each with its evidence and a stable id.

The shipped rules are ``reports/recommendations.yaml``; the instance's
``<instance>/recommendations.yaml`` (same format) adds rules with new ids, replaces shipped
ones with the same id, and turns one off with ``enabled: false`` (its other fields may then be
left out). One rule::

    - id: R-STOR-01                 # stable: the next quarter says which were acted on
      when: storage.volume_use      # the finding key it reads
      where:                        # optional: every condition must hold
        used_pct: {min: 90}         # a figure >= 90; also max (<=), above (>), below (<),
                                    # in (one of a list: [A, B])
      priority: high                # high, medium or low
      text: "Free or extend {volume} on {subject}: {used_pct} % used."
      text_zh: "..."                # the text in Chinese (the workbook's default language)

Texts name figures of the finding in braces (``{used_pct}``, with an optional format such as
``{share:.1%}``), and ``{subject}``, ``{metric}``, ``{value}`` and ``{period}``: plain names only,
never attributes or indexes (texts are filled, not evaluated). A condition on a figure the
finding lacks, and a text naming one, are errors naming the file, the rule and the field;
a figure that is empty (None) fails its condition.

:func:`load` raises :class:`RecommendationError` naming the file, the rule and the field.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from flask_babel import get_locale
from flask_babel import gettext as _

from opskit.rulefiles import read_rules
from reports.findings import Finding

SHIPPED = Path(__file__).with_name("recommendations.yaml")
INSTANCE_FILE = "recommendations.yaml"
PRIORITIES = ("high", "medium", "low")
COMPARISONS = ("min", "max", "above", "below", "in")
_FIELDS = {"id", "when", "where", "priority", "text", "text_zh", "enabled"}
_ID = re.compile(r"R-[A-Z0-9]+(?:-[A-Z0-9]+)*")
_KEY = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")
_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_SPEC = re.compile(r"[<>^]?[+-]?,?(?:\.\d{1,2})?[dfg%]?")


class RecommendationError(ValueError):
    """A rule file is wrong; the message names the file, the rule and the field."""


@dataclass(frozen=True)
class Condition:
    figure: str
    op: str  # one of COMPARISONS
    bound: Any  # a number, or a list for "in"

    def holds(self, value: Any) -> bool:
        if value is None:
            return False
        if self.op == "in":
            return bool(value in self.bound)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        if self.op == "min":
            return bool(value >= self.bound)
        if self.op == "max":
            return bool(value <= self.bound)
        if self.op == "above":
            return bool(value > self.bound)
        return bool(value < self.bound)


@dataclass(frozen=True)
class Rule:
    id: str
    when: str
    priority: str
    text: str
    text_zh: str = ""
    conditions: tuple[Condition, ...] = ()
    origin: str = ""

    def where(self) -> str:
        return f"{self.origin}: rule {self.id}"

    def matches(self, finding: Finding) -> bool:
        if finding.key != self.when:
            return False
        fields = finding.fields()
        for c in self.conditions:
            if c.figure not in fields:
                raise RecommendationError(
                    f"{self.where()}: where.{c.figure}: the finding has no such figure "
                    f"(it has: {', '.join(sorted(fields))})"
                )
            if not c.holds(fields[c.figure]):
                return False
        return True

    def words(self, finding: Finding, chinese: bool) -> str:
        """The rule's text in the workbook's language, filled from ``finding``."""
        text, field = (self.text_zh, "text_zh") if chinese and self.text_zh else (self.text, "text")
        fields = finding.fields()
        missing = sorted(set(placeholders(text)) - set(fields))
        if missing:
            raise RecommendationError(
                f"{self.where()}: {field}: no figure {missing[0]!r} in the finding "
                f"(it has: {', '.join(sorted(fields))})"
            )
        return fill(text, fields)


@dataclass(frozen=True)
class Recommendation:
    rule: Rule
    finding: Finding
    text: str

    @property
    def priority_rank(self) -> int:
        return PRIORITIES.index(self.rule.priority)


def priority_words() -> dict[str, str]:
    """A priority in words (高/中/低)."""
    return {"high": _("High priority"), "medium": _("Medium priority"), "low": _("Low priority")}


def fill(text: str, fields: dict[str, Any]) -> str:
    """``text`` with its ``{name}`` / ``{name:.1f}`` fields filled from ``fields``: an empty
    figure shows as —, a value its format does not fit as it is (never an error)."""
    out = []
    for literal, name, spec, _conversion in string.Formatter().parse(text):
        out.append(literal)
        if name is None:
            continue
        value = fields[name]
        if value is None:
            out.append("—")
            continue
        try:
            out.append(format(value, spec or ""))
        except (TypeError, ValueError):
            out.append(str(value))
    return "".join(out)


def placeholders(text: str) -> list[str]:
    """The names a text fills in (its ``{name}`` fields)."""
    return [name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name]


def _text(at: str, field: str, value: Any, required: bool) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise RecommendationError(f"{at}: {field}: expected the recommendation in words")
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError as exc:
        raise RecommendationError(f"{at}: {field}: braces not closed: {exc}") from None
    for _lit, name, spec, conversion in parts:
        if name is None:
            continue
        if not _NAME.fullmatch(name):
            raise RecommendationError(
                f"{at}: {field}: {{{name}}}: expected a figure's plain name "
                "(lower-case letters, digits and _)"
            )
        if conversion is not None or not _SPEC.fullmatch(spec or ""):
            raise RecommendationError(f"{at}: {field}: {{{name}}}: unsupported format {spec!r}")
    return value.strip()


def _conditions(at: str, raw: Any) -> tuple[Condition, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        raise RecommendationError(f"{at}: where: expected figure: {{min: N}} pairs")
    out = []
    for figure, tests in raw.items():
        where = f"{at}: where.{figure}"
        if not isinstance(figure, str) or not _NAME.fullmatch(figure):
            raise RecommendationError(f"{where}: expected a figure's plain name")
        if not isinstance(tests, dict) or not tests:
            raise RecommendationError(f"{where}: expected {{min: N}}, {{below: N}}, {{in: [..]}}")
        for op, bound in tests.items():
            if op not in COMPARISONS:
                raise RecommendationError(
                    f"{where}: {op}: unknown comparison (known: {', '.join(COMPARISONS)})"
                )
            if op == "in":
                if not isinstance(bound, list) or not bound:
                    raise RecommendationError(f"{where}: in: expected a list of values")
            elif not isinstance(bound, int | float) or isinstance(bound, bool):
                raise RecommendationError(f"{where}: {op}: expected a number, got {bound!r}")
            out.append(Condition(figure, op, bound))
    return tuple(out)


def _rule(origin: str, index: int, raw: Any) -> tuple[str, Rule | None]:
    if not isinstance(raw, dict):
        raise RecommendationError(f"{origin}: rule {index + 1}: expected a mapping")
    rule_id = raw.get("id")
    if not isinstance(rule_id, str) or not _ID.fullmatch(rule_id):
        raise RecommendationError(
            f"{origin}: rule {index + 1}: id: expected R- and upper-case letters, digits and "
            f"dashes (R-LOAD-01), got {rule_id!r}"
        )
    at = f"{origin}: rule {rule_id}"
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise RecommendationError(
            f"{at}: {unknown[0]}: unknown field (known: {', '.join(sorted(_FIELDS))})"
        )
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RecommendationError(f"{at}: enabled: expected true or false")
    if not enabled:
        return rule_id, None
    when = raw.get("when")
    if not isinstance(when, str) or not _KEY.fullmatch(when):
        raise RecommendationError(
            f"{at}: when: expected a finding key such as storage.volume_use, got {when!r}"
        )
    priority = raw.get("priority")
    if priority not in PRIORITIES:
        raise RecommendationError(
            f"{at}: priority: expected one of {', '.join(PRIORITIES)}, got {priority!r}"
        )
    return rule_id, Rule(
        id=rule_id,
        when=when,
        priority=priority,
        text=_text(at, "text", raw.get("text"), True),
        text_zh=_text(at, "text_zh", raw.get("text_zh"), False),
        conditions=_conditions(at, raw.get("where")),
        origin=origin,
    )


def read(path: Path) -> list[tuple[str, Rule | None]]:
    """The rules of one file, in order (``None``: turned off)."""
    return read_rules(path, _rule, RecommendationError, lambda rule_id: f"rule {rule_id}: id")


def instance_file() -> Path | None:
    """``<instance>/recommendations.yaml`` of the running app (None outside one)."""
    return Path(current_app.instance_path) / INSTANCE_FILE if has_app_context() else None


def load(instance: Path | None = None) -> list[Rule]:
    """The shipped rules, with the instance file's additions, replacements and turning off."""
    rules: dict[str, Rule | None] = dict(read(SHIPPED))
    if instance is not None and instance.exists():
        rules.update(read(instance))
    return [rule for rule in rules.values() if rule is not None]


def recommend(findings: Iterable[Finding], rules: list[Rule]) -> list[Recommendation]:
    """Every rule that holds for every finding, filled in the workbook's language: high
    priority first, then the more severe finding, then by rule id."""
    chinese = str(get_locale() or "zh").startswith("zh")
    by_key: dict[str, list[Rule]] = {}
    for rule in rules:
        by_key.setdefault(rule.when, []).append(rule)
    out = [
        Recommendation(rule, f, rule.words(f, chinese))
        for f in findings
        for rule in by_key.get(f.key, [])
        if rule.matches(f)
    ]
    out.sort(key=lambda r: (r.priority_rank, -r.finding.severity, r.rule.id))
    return out
