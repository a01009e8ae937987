"""One reader for the rule files kept as YAML: ``<key>:`` and a list of entries.

The syslog rules, the report's recommendation rules and the site's trap rules share one
format at the top (a single key holding a list) and, for the first two, one rule per entry
named by an id that a file may use only once. Each caller parses its own entries and words
its own errors; this module reads the file, checks the top and the ids, and raises the
caller's error class with the file named first.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml

T = TypeVar("T")

#: libyaml's safe loader when PyYAML was built with it: the same data as ``yaml.safe_load``,
#: about ten times faster (a report pack reads a dozen rule and checklist files)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """``yaml.safe_load(text)`` through libyaml when available (raises ``yaml.YAMLError``)."""
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader


def entries(text: str, key: str, what: str, fail: Callable[[str], Exception]) -> list[Any]:
    """The list under the one top-level ``key`` of a YAML text (empty for an empty text).

    ``fail(message)`` makes the caller's error; the message does not name the file (the
    caller's error does, in its own form)."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise fail(f"not YAML: {exc}") from None
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) != {key} or not isinstance(data[key], list):
        raise fail(f"expected one key, {key}: a list of {what}")
    return data[key]


def read_rules(
    path: Path,
    parse_one: Callable[[str, int, Any], tuple[str, T | None]],
    error: Callable[[str], Exception],
    duplicate: Callable[[str], str],
) -> list[tuple[str, T | None]]:
    """The rules of one ``rules:`` file, in order: ``parse_one(origin, index, raw)`` gives each
    entry's id and rule (``None``: turned off); an id used twice is refused with
    ``duplicate(id)`` naming it (e.g. ``rule 'x': name``). Errors are ``error(message)``
    with the message starting with the file's path."""
    origin = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{origin}: cannot read: {exc.strerror}") from None
    raws = entries(text, "rules", "rules", lambda message: error(f"{origin}: {message}"))
    out: list[tuple[str, T | None]] = []
    seen: set[str] = set()
    for index, raw in enumerate(raws):
        rule_id, rule = parse_one(origin, index, raw)
        if rule_id in seen:
            raise error(f"{origin}: {duplicate(rule_id)}: used twice in this file")
        seen.add(rule_id)
        out.append((rule_id, rule))
    return out
