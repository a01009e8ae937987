"""What a syslog message means: rules in YAML that raise and clear alerts.

The shipped rules are ``monitors/syslog/rules.yaml``; the instance's
``<instance>/syslog_rules.yaml`` (same format) adds rules, and replaces or (``enabled:
false``) turns off shipped ones of the same name. One rule::

    - name: link_down                   # the alert rule is syslog.link_down
      title: Interface link down        # the alert's title in words (English) ...
      title_zh: 接口链路断开              # ... and in Chinese
      urgency: B                        # A, B or C
      pattern: 'Interface (?P<instance>\\S+), changed state to down'
      clear: 'Interface (?P<instance>\\S+), changed state to up'    # optional
      burst: {count: 5, seconds: 60}    # optional: raise at the 5th match within 60 s
      min_severity: warning             # optional: only messages this severe or worse

``pattern`` and ``clear`` are Python regular expressions searched in the message text, the
program/tag and the text joined by ": " (``LINK-3-UPDOWN: Interface Gi0/1, changed ...``), case
insensitive. A named group ``instance`` tells conditions of one device apart (one alert per
asset, rule and instance: ``syslog:asset7:link_down:Gi0/1``); a clear resolves the alert of
the same instance. A burst is counted per asset, rule and instance, in the writer's memory
(one ``opskit syslog receive`` per site), on the messages' arrival times. Before a message is
searched with a rule's expression, a cheap test (``literals``) turns it away when it lacks
every string the expression cannot match without (most messages match no rule).

:func:`load` raises :class:`RuleError` naming the file, the rule and the field.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitors.syslog import literals
from monitors.syslog.parsing import SEVERITIES
from opskit.rulefiles import read_rules

SHIPPED = Path(__file__).with_name("rules.yaml")
INSTANCE_FILE = "syslog_rules.yaml"
RULE_PREFIX = "syslog."
URGENCIES = ("A", "B", "C")
_FIELDS = {
    "name",
    "title",
    "title_zh",
    "urgency",
    "pattern",
    "clear",
    "burst",
    "min_severity",
    "enabled",
}


class RuleError(ValueError):
    """A rule file is wrong; the message names the file, the rule and the field."""


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    urgency: str
    pattern: re.Pattern[str]
    title_zh: str = ""
    clear: re.Pattern[str] | None = None
    burst_count: int = 1
    burst_seconds: float = 0.0
    min_severity: int = 7
    origin: str = ""
    #: strings the pattern (the clear) cannot match without (``literals.needs``)
    needs: literals.Needs = field(default=None, compare=False)
    clear_needs: literals.Needs = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", literals.needs(self.pattern))
        if self.clear is not None:
            object.__setattr__(self, "clear_needs", literals.needs(self.clear))


@dataclass(frozen=True)
class Action:
    action: str  # raise / clear
    rule: Rule
    instance: str = ""


def _regex(where: str, value: Any) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise RuleError(f"{where}: expected a regular expression")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise RuleError(f"{where}: not a regular expression: {exc}") from None


def _rule(origin: str, index: int, raw: Any) -> tuple[str, Rule | None]:
    if not isinstance(raw, dict):
        raise RuleError(f"{origin}: rule {index + 1}: expected a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,48}", name):
        raise RuleError(
            f"{origin}: rule {index + 1}: name: expected lower-case letters, digits and _, "
            f"got {name!r}"
        )
    at = f"{origin}: rule {name!r}"
    unknown = sorted(set(raw) - _FIELDS)
    if unknown:
        raise RuleError(f"{at}: {unknown[0]}: unknown field (known: {', '.join(sorted(_FIELDS))})")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError(f"{at}: enabled: expected true or false")
    if not enabled:
        return name, None
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise RuleError(f"{at}: title: expected the alert's title in words")
    title_zh = raw.get("title_zh", "")
    if not isinstance(title_zh, str):
        raise RuleError(f"{at}: title_zh: expected text")
    urgency = raw.get("urgency")
    if urgency not in URGENCIES:
        raise RuleError(f"{at}: urgency: expected A, B or C, got {urgency!r}")
    pattern = _regex(f"{at}: pattern", raw.get("pattern"))
    clear = _regex(f"{at}: clear", raw["clear"]) if raw.get("clear") is not None else None
    count, seconds = 1, 0.0
    if raw.get("burst") is not None:
        burst = raw["burst"]
        if not isinstance(burst, dict) or set(burst) != {"count", "seconds"}:
            raise RuleError(f"{at}: burst: expected {{count: N, seconds: M}}")
        count, seconds = burst["count"], burst["seconds"]
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100_000:
            raise RuleError(f"{at}: burst.count: expected a whole number from 1, got {count!r}")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
            raise RuleError(f"{at}: burst.seconds: expected seconds above 0, got {seconds!r}")
    min_severity = 7
    if raw.get("min_severity") is not None:
        if raw["min_severity"] not in SEVERITIES:
            raise RuleError(
                f"{at}: min_severity: expected one of {', '.join(SEVERITIES)}, "
                f"got {raw['min_severity']!r}"
            )
        min_severity = SEVERITIES.index(raw["min_severity"])
    return name, Rule(
        name=name,
        title=title.strip(),
        title_zh=title_zh.strip(),
        urgency=urgency,
        pattern=pattern,
        clear=clear,
        burst_count=count,
        burst_seconds=float(seconds),
        min_severity=min_severity,
        origin=origin,
    )


def read(path: Path) -> list[tuple[str, Rule | None]]:
    """The rules of one file, in order (``None``: turned off)."""
    return read_rules(path, _rule, RuleError, lambda name: f"rule {name!r}: name")


def load(instance_file: Path | None = None) -> list[Rule]:
    """The shipped rules, with the instance file's additions and replacements."""
    rules: dict[str, Rule | None] = dict(read(SHIPPED))
    if instance_file is not None and instance_file.exists():
        rules.update(read(instance_file))
    return [rule for rule in rules.values() if rule is not None]


def _instance(match: re.Match[str]) -> str:
    found = match.groupdict().get("instance")
    return (found or "").strip()[:64]


class Engine:
    """The rules applied to messages, with the bursts' memory (one per writer)."""

    def __init__(self, rules: list[Rule]) -> None:
        self.rules = rules
        self._hits: dict[tuple[str, str, str], deque[datetime]] = {}

    def actions(
        self, owner: str, severity: int, program: str, text: str, at: datetime
    ) -> list[Action]:
        """What the rules do with one message of ``owner`` (an asset or an address)."""
        subject = f"{program}: {text}" if program else text
        lowered = subject.lower() if subject.isascii() else None  # see literals
        may = literals.may_match
        out: list[Action] = []
        for rule in self.rules:
            if (
                rule.clear is not None
                and may(rule.clear_needs, lowered)
                and (m := rule.clear.search(subject))
            ):
                out.append(Action("clear", rule, _instance(m)))
                self._hits.pop((owner, rule.name, _instance(m)), None)
                continue
            if severity > rule.min_severity or not may(rule.needs, lowered):
                continue
            m = rule.pattern.search(subject)
            if m is None:
                continue
            instance = _instance(m)
            if rule.burst_count > 1:
                key = (owner, rule.name, instance)
                hits = self._hits.setdefault(key, deque(maxlen=rule.burst_count))
                hits.append(at)
                window = timedelta(seconds=rule.burst_seconds)
                while hits and at - hits[0] > window:
                    hits.popleft()
                if len(hits) < rule.burst_count:
                    continue
                hits.clear()
            out.append(Action("raise", rule, instance))
        if len(self._hits) > 50_000:  # forget the oldest partial bursts, never grow unbounded
            for key in list(self._hits)[:10_000]:
                del self._hits[key]
        return out
