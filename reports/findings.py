"""Findings: what a report kind found in the period, for the 综述 (summary) sheet and the
recommendations engine (``reports.recommendations``).

A kind gives findings through the optional ``findings`` function of its ``Kind``
(``reports/kinds/base.py``): ``findings(ctx) -> list[Finding]``, computed from the same data
as its sheets (share it through ``Context.once``, so a pack computes it once) and never
needing the sheets to be built first. A kind without it contributes none.

A finding is a fact with its evidence, in words (it is shown in the workbook): ``subject``
(an asset's name and tag, a room's name), ``metric`` (the thing measured), ``value`` and the
``period`` the value covers. ``key`` says what was found (``load.forecast_limit``,
``warranty.expired``); it is never shown: the recommendation rules are chosen by it
(``when:`` in ``recommendations.yaml``) and their texts are filled from ``figures`` (plus
``subject``, ``metric``, ``value`` and ``period``). Figures are numbers or short texts, rounded
as they should be read (``used_pct: 91.5``); texts in figures are words in the workbook's
language (findings are computed inside the pack's locale). ``figures["value_unit"]``, when
given, is the unit the evidence column shows after ``value`` (``%``, ``Mbit/s``).

Summary sentences: a finding whose key ends in ``.summary`` is one of the 综述 sheet's
sentences. The kinds of this package give figures that ``reports.summary`` turns into
sentences; a kind may instead give the whole sentence, in the workbook's language, as
``figures["text"]`` (what ``availability.summary`` and ``environment.summary`` are expected to
do: the summary shows them in their place, and omits them when the kind is not in the pack).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: the key suffix of a summary sentence's finding
SUMMARY = ".summary"


@dataclass(frozen=True)
class Finding:
    key: str  # what was found, e.g. "load.cpu_forecast_limit", "warranty.expired"
    subject: str  # what it is about, in words (asset name + tag, room name)
    metric: str  # the measured thing, in words
    value: float | int | str | None
    period: str  # the period or window the value covers, in words
    figures: dict[str, Any] = field(default_factory=dict)  # filled into rule texts
    severity: int = 0  # to order them (higher first)

    @property
    def is_summary(self) -> bool:
        """Whether this finding is a sentence of the summary rather than something found."""
        return self.key.endswith(SUMMARY)

    def fields(self) -> dict[str, Any]:
        """What a rule's text may name: the figures, and subject, metric, value, period."""
        return {
            **self.figures,
            "subject": self.subject,
            "metric": self.metric,
            "value": self.value,
            "period": self.period,
        }


def ordered(findings: list[Finding]) -> list[Finding]:
    """Findings by severity, highest first (stable otherwise)."""
    return sorted(findings, key=lambda f: -f.severity)
