"""The tracking rules as data (``tracking.yaml``): a finding's due date from its severity and
its asset's importance, which new findings raise an alert, and the urgency of the service
request opened to fix one."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from inspections.vulns.models import SEVERITIES

RULES_FILE = Path(__file__).resolve().parent / "tracking.yaml"
IMPORTANCES = ("core", "important", "general", "unregistered")
URGENCIES = ("A", "B", "C")


@dataclass(frozen=True)
class Rules:
    due_days: dict[tuple[str, str], int]
    alert_severities: frozenset[str]
    alert_importances: frozenset[str]
    urgency: dict[str, str]
    request_urgencies: dict[tuple[str, str], str]

    def due_date(self, severity: str, importance: str | None, first_seen: date) -> date | None:
        days = self.due_days.get((severity, importance or "unregistered"))
        return None if days is None else first_seen + timedelta(days=days)

    def alert_urgency(self, severity: str, importance: str | None) -> str | None:
        """The urgency of the alert a new finding raises, ``None``: it raises none."""
        if severity in self.alert_severities and importance in self.alert_importances:
            return self.urgency.get(severity, "B")
        return None

    def request_urgency(self, severity: str, importance: str | None) -> str:
        """The urgency of the service request that fixes such a finding (C unless named)."""
        return self.request_urgencies.get((severity, importance or "unregistered"), "C")


def _importance_table(data: Any, name: str, check: Any) -> dict[tuple[str, str], Any]:
    """A severity → importance → value table; ``check`` says whether a value is right."""
    table: dict[tuple[str, str], Any] = {}
    for severity, row in (data or {}).items():
        if severity not in SEVERITIES:
            raise ValueError(f"{name}: {severity!r} is not a severity ({', '.join(SEVERITIES)})")
        for importance, value in (row or {}).items():
            if importance not in IMPORTANCES:
                raise ValueError(f"{name}.{severity}: {importance!r} is not an importance")
            if not check(value):
                raise ValueError(f"{name}.{severity}.{importance}: {value!r} is not allowed")
            table[(severity, importance)] = value
    return table


def parse_rules(data: Any) -> Rules:
    """``tracking.yaml``'s content checked: a wrong key or value is an error naming it."""
    if not isinstance(data, dict) or set(data) - {"due_days", "alert", "request_urgency"}:
        raise ValueError("tracking.yaml: the top level holds due_days, alert and request_urgency")
    due = _importance_table(
        data.get("due_days"),
        "due_days",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
    )
    alert = data.get("alert") or {}
    severities = frozenset(alert.get("severities") or ())
    importances = frozenset(alert.get("importances") or ())
    urgency = dict(alert.get("urgency") or {})
    if severities - set(SEVERITIES) or importances - set(IMPORTANCES):
        raise ValueError("alert: unknown severities or importances")
    if set(urgency.values()) - set(URGENCIES):
        raise ValueError(f"alert.urgency: urgencies are {', '.join(URGENCIES)}")
    requests = _importance_table(
        data.get("request_urgency"), "request_urgency", lambda v: v in URGENCIES
    )
    return Rules(due, severities, importances, urgency, requests)


@functools.cache
def rules() -> Rules:
    return parse_rules(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")))
