"""The shipped rules load; a wrong rule file is refused naming the file, the rule and the field;
the instance file adds, replaces and turns off rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitors.syslog import rules

# rule files only
pytestmark = pytest.mark.dateless


def test_shipped_rules_load() -> None:
    names = {rule.name for rule in rules.load()}
    assert {"link_down", "auth_failure_burst", "bgp_peer_down"} <= names
    burst = next(r for r in rules.load() if r.name == "auth_failure_burst")
    assert (burst.burst_count, burst.burst_seconds) == (5, 60.0)


@pytest.mark.parametrize(
    ("rule", "where"),
    [
        ("{name: x, title: T, urgency: D, pattern: a}", "rule 'x': urgency"),
        ("{name: x, title: T, urgency: A, pattern: '(unclosed'}", "rule 'x': pattern"),
        ("{name: x, title: T, urgency: A, pattern: a, clear: '['}", "rule 'x': clear"),
        ("{name: x, urgency: A, pattern: a}", "rule 'x': title"),
        (
            "{name: x, title: T, urgency: A, pattern: a, burst: {count: 0, seconds: 5}}",
            "rule 'x': burst.count",
        ),
        (
            "{name: x, title: T, urgency: A, pattern: a, burst: {count: 3, seconds: -1}}",
            "rule 'x': burst.seconds",
        ),
        ("{name: x, title: T, urgency: A, pattern: a, colour: red}", "rule 'x': colour"),
        (
            "{name: x, title: T, urgency: A, pattern: a, min_severity: loud}",
            "rule 'x': min_severity",
        ),
        ("{name: Bad Name, title: T, urgency: A, pattern: a}", "rule 1: name"),
    ],
)
def test_errors_name_file_rule_and_field(tmp_path: Path, rule: str, where: str) -> None:
    path = tmp_path / "syslog_rules.yaml"
    path.write_text(f"rules:\n  - {rule}\n", encoding="utf-8")
    with pytest.raises(rules.RuleError) as caught:
        rules.load(path)
    assert str(caught.value).startswith(f"{path}: {where}")


def test_instance_file_adds_replaces_and_turns_off(tmp_path: Path) -> None:
    path = tmp_path / "syslog_rules.yaml"
    path.write_text(
        "rules:\n"
        "  - {name: link_down, enabled: false}\n"
        "  - {name: fan_fault, title: Fan, urgency: C, pattern: fan}\n"
        "  - {name: ups_on_battery, title: UPS on battery, title_zh: UPS 电池供电, urgency: A,"
        " pattern: 'on battery'}\n",
        encoding="utf-8",
    )
    found = {rule.name: rule for rule in rules.load(path)}
    assert "link_down" not in found
    assert found["fan_fault"].urgency == "C" and found["fan_fault"].origin == str(path)
    assert found["ups_on_battery"].title_zh == "UPS 电池供电"
