"""The tracking rules as data (``tracking.yaml``): a finding's due date from its severity and
its asset's importance, and which new findings raise an alert."""

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

    def due_date(self, severity: str, importance: str | None, first_seen: date) -> date | None:
        days = self.due_days.get((severity, importance or "unregistered"))
        return None if days is None else first_seen + timedelta(days=days)

    def alert_urgency(self, severity: str, importance: str | None) -> str | None:
        """The urgency of the alert a new finding raises, ``None``: it raises none."""
        if severity in self.alert_severities and importance in self.alert_importances:
            return self.urgency.get(severity, "B")
        return None


def parse_rules(data: Any) -> Rules:
    """``tracking.yaml``'s content checked: a wrong key or value is an error naming it."""
    if not isinstance(data, dict) or set(data) - {"due_days", "alert"}:
        raise ValueError("tracking.yaml: the top level holds due_days and alert")
    due: dict[tuple[str, str], int] = {}
    for severity, row in (data.get("due_days") or {}).items():
        if severity not in SEVERITIES:
            raise ValueError(f"due_days: {severity!r} is not a severity ({', '.join(SEVERITIES)})")
        for importance, days in (row or {}).items():
            if importance not in IMPORTANCES:
                raise ValueError(f"due_days.{severity}: {importance!r} is not an importance")
            if not isinstance(days, int) or isinstance(days, bool) or days < 0:
                raise ValueError(f"due_days.{severity}.{importance}: {days!r} is not days")
            due[(severity, importance)] = days
    alert = data.get("alert") or {}
    severities = frozenset(alert.get("severities") or ())
    importances = frozenset(alert.get("importances") or ())
    urgency = dict(alert.get("urgency") or {})
    if severities - set(SEVERITIES) or importances - set(IMPORTANCES):
        raise ValueError("alert: unknown severities or importances")
    if set(urgency.values()) - set(URGENCIES):
        raise ValueError(f"alert.urgency: urgencies are {', '.join(URGENCIES)}")
    return Rules(due, severities, importances, urgency)


@functools.cache
def rules() -> Rules:
    return parse_rules(yaml.safe_load(RULES_FILE.read_text(encoding="utf-8")))
