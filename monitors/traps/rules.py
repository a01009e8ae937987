"""What a trap means: the device profiles' ``traps:`` entries, indexed by trap OID.

The schema of ``traps:`` in ``monitors/profiles/*.yaml`` (validated by ``monitors.profiles``,
errors naming file and field)::

    traps:
      - oid: 1.3.6.1.2.1.33.2.1   # the trap's snmpTrapOID; a v1 trap: ENTERPRISE.0.SPECIFIC, or
                                  #   1.3.6.1.6.3.1.1.5.N for generic trap N-1 (RFC 3584)
        raise: ups_on_battery     # a condition ([a-z0-9_]+): its alert is raised; one alert per
                                  #   asset, condition and instance (deduplicated while open)
        urgency: A                # raise only: A, B or C
        title: UPS on battery     # raise only: the alert's title in English (the catalog has its
                                  #   translation); one title per condition in all profiles
        # clear: ups_on_battery   # or: the condition's open alert is resolved (or a list)
        where: {varbind: COLUMN, in: [VALUE, ...]}  # optional: the trap carries a varbind under
                                  #   COLUMN whose value (int, OID or text, as a string) is listed
        instance: COLUMN          # optional: the value of the varbind under COLUMN names the
                                  #   instance (an interface's ifIndex)

Trap OIDs are unique across vendors, so every shipped profile's entries apply to every trap
(whatever profiles the sending device matched when probed). Each entry whose OID and ``where``
match gives one :class:`Action` per condition; a trap no entry matches is unknown (stored and
listed, never an alert).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from flask_babel import lazy_gettext as _l

from monitors.profiles import TrapSpec, load_profiles

#: the profiles' trap titles, written here so the catalog extracts them (a test checks the list)
CATALOG_TITLES = (
    _l("UPS on battery"),
    _l("UPS battery low"),
    _l("UPS output overloaded"),
    _l("UPS on bypass"),
    _l("UPS fault"),
    _l("Link down"),
    _l("Device restarted"),
)
#: the alert rule of a trap condition: ``trap.<profile>.<condition>``
RULE_PREFIX = "trap."


@dataclass(frozen=True)
class Action:
    action: str  # raise / clear
    condition: str
    instance: str = ""
    urgency: str = ""
    title: str = ""
    profile: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.condition}" + (f"[{self.instance}]" if self.instance else "")


@cache
def _index() -> dict[str, tuple[tuple[str, TrapSpec], ...]]:
    found: dict[str, list[tuple[str, TrapSpec]]] = {}
    for profile in load_profiles():
        for spec in profile.traps:
            found.setdefault(spec.oid, []).append((profile.name, spec))
    return {oid: tuple(specs) for oid, specs in found.items()}


@cache
def titles() -> dict[str, str]:
    """condition → its title in English (the first raise entry naming it)."""
    out: dict[str, str] = {}
    for specs in _index().values():
        for _profile, spec in specs:
            if spec.action == "raise":
                for condition in spec.conditions:
                    out.setdefault(condition, spec.title)
    return out


def _under(oid: str, column: str) -> bool:
    return oid == column or oid.startswith(column + ".")


def _values(varbinds: list[tuple[str, Any]], column: str) -> list[str]:
    return [str(value) for oid, value in varbinds if _under(oid, column)]


def actions(trap_oid: str, varbinds: list[tuple[str, Any]]) -> list[Action]:
    """What the profiles do with this trap (empty: nothing knows it)."""
    out: list[Action] = []
    for profile, spec in _index().get(trap_oid, ()):
        if any(not set(_values(varbinds, col)) & allowed for col, allowed in spec.where):
            continue
        instance = ""
        if spec.instance is not None:
            found = _values(varbinds, spec.instance)
            instance = found[0] if found else ""
        for condition in spec.conditions:
            out.append(Action(spec.action, condition, instance, spec.urgency, spec.title, profile))
    return out
