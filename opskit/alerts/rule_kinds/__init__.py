"""Alert rule kinds, one module each, registered in one dict literal.

A kind (``opskit.alerts.rule_kinds.base.RuleKind``) reads its own fields of a rule's YAML and
judges what the engine shows it (a reading, the device's up/down, the age of the newest
reading); ``opskit.alerts.rules`` keeps the rule states and raises and clears the alerts,
asking the rule's kind (``of(rule)``) instead of testing its name. Adding a kind: one module
here, one line below, its documentation at the head of ``rules.yaml``.
"""

from __future__ import annotations

from opskit.alerts.rule_kinds import stale, state, threshold, unreachable
from opskit.alerts.rule_kinds.base import Judges, Rule, RuleError, RuleKind, Seen

#: every kind by its name (``kind:`` in the YAML), in the order the errors list them
KINDS: dict[str, RuleKind] = {
    "threshold": threshold.KIND,
    "state": state.KIND,
    "unreachable": unreachable.KIND,
    "stale": stale.KIND,
}


def of(rule: Rule) -> RuleKind:
    """The kind of a loaded rule (``load_rules`` refuses a kind not in ``KINDS``)."""
    return KINDS[rule.kind]


__all__ = ["KINDS", "Judges", "Rule", "RuleError", "RuleKind", "Seen", "of"]
