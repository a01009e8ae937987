"""Diffs of two configuration versions (monitors/configs/diffs.py): rows written out by hand."""

from __future__ import annotations

import pytest

from monitors.configs.diffs import Row, side_by_side, summary, unified, unified_rows

# pure functions of the text: no clock involved
pytestmark = pytest.mark.dateless

OLD = "\n".join(
    [
        "hostname CORE-SW1",  # 1
        "!",  # 2
        "interface Gi0/1",  # 3
        " description uplink",  # 4
        " switchport mode trunk",  # 5
        "!",  # 6
        "interface Gi0/2",  # 7
        " shutdown",  # 8
        "!",  # 9
        "ntp server 10.1.1.1",  # 10
        "snmp-server community <masked> RO",  # 11
        "!",  # 12
        "line vty 0 4",  # 13
        " transport input ssh",  # 14
        "end",  # 15
    ]
)
# line 4 changed, line 8 removed, a logging line added after 10, 14 changed and a line added after
NEW = "\n".join(
    [
        "hostname CORE-SW1",  # 1
        "!",  # 2
        "interface Gi0/1",  # 3
        " description uplink to 核心-2",  # 4
        " switchport mode trunk",  # 5
        "!",  # 6
        "interface Gi0/2",  # 7
        "!",  # 8
        "ntp server 10.1.1.1",  # 9
        "logging host 10.1.1.9",  # 10
        "snmp-server community <masked> RO",  # 11
        "!",  # 12
        "line vty 0 4",  # 13
        " transport input ssh telnet",  # 14
        " exec-timeout 5 0",  # 15
        "end",  # 16
    ]
)


def test_side_by_side_pairs_changed_lines_and_folds_the_unchanged() -> None:
    assert side_by_side(OLD, NEW, context=1) == [
        Row("fold", hidden=2),
        Row("equal", 3, "interface Gi0/1", 3, "interface Gi0/1"),
        Row("changed", 4, " description uplink", 4, " description uplink to 核心-2"),
        Row("equal", 5, " switchport mode trunk", 5, " switchport mode trunk"),
        Row("equal", 6, "!", 6, "!"),
        Row("equal", 7, "interface Gi0/2", 7, "interface Gi0/2"),
        Row("removed", left_no=8, left=" shutdown"),
        Row("equal", 9, "!", 8, "!"),
        Row("equal", 10, "ntp server 10.1.1.1", 9, "ntp server 10.1.1.1"),
        Row("added", right_no=10, right="logging host 10.1.1.9"),
        Row(
            "equal",
            11,
            "snmp-server community <masked> RO",
            11,
            "snmp-server community <masked> RO",
        ),
        Row("equal", 12, "!", 12, "!"),
        Row("equal", 13, "line vty 0 4", 13, "line vty 0 4"),
        Row("changed", 14, " transport input ssh", 14, " transport input ssh telnet"),
        Row("added", right_no=15, right=" exec-timeout 5 0"),
        Row("equal", 15, "end", 16, "end"),
    ]


def test_a_long_unchanged_run_between_changes_is_folded_to_its_context() -> None:
    old = "\n".join(["a", *[f"line {n}" for n in range(2, 12)], "z"])  # 12 lines
    new = old.replace("a", "A", 1).replace("z", "Z")
    assert side_by_side(old, new, context=2) == [
        Row("changed", 1, "a", 1, "A"),
        Row("equal", 2, "line 2", 2, "line 2"),
        Row("equal", 3, "line 3", 3, "line 3"),
        Row("fold", hidden=6),
        Row("equal", 10, "line 10", 10, "line 10"),
        Row("equal", 11, "line 11", 11, "line 11"),
        Row("changed", 12, "z", 12, "Z"),
    ]
    # one line more of context leaves a fold hiding 4; a run that would hide one line is shown
    assert [r.hidden for r in side_by_side(old, new, context=3) if r.kind == "fold"] == [4]
    assert not [r for r in side_by_side(old, new, context=5) if r.kind == "fold"]
    assert len(side_by_side(old, new, context=5)) == 12


def test_unified_rows_put_removed_before_added_one_line_each() -> None:
    rows = unified_rows(OLD, NEW, context=0)
    assert rows == [
        Row("fold", hidden=3),
        Row("removed", left_no=4, left=" description uplink"),
        Row("added", right_no=4, right=" description uplink to 核心-2"),
        Row("fold", hidden=3),
        Row("removed", left_no=8, left=" shutdown"),
        Row("fold", hidden=2),
        Row("added", right_no=10, right="logging host 10.1.1.9"),
        Row("fold", hidden=3),
        Row("removed", left_no=14, left=" transport input ssh"),
        Row("added", right_no=14, right=" transport input ssh telnet"),
        Row("added", right_no=15, right=" exec-timeout 5 0"),
        Row("equal", 15, "end", 16, "end"),
    ]


def test_unified_text_is_diff_u_and_the_summary_counts_lines() -> None:
    text = unified(OLD, NEW, "CORE-SW1 v1", "CORE-SW1 v2", context=1)
    assert text.splitlines()[:8] == [
        "--- CORE-SW1 v1",
        "+++ CORE-SW1 v2",
        "@@ -3,3 +3,3 @@",
        " interface Gi0/1",
        "- description uplink",
        "+ description uplink to 核心-2",
        "  switchport mode trunk",
        "@@ -7,5 +7,5 @@",
    ]
    # three hunks: the unchanged run 5-7 and 11-13 are each longer than two lines of context
    assert [line for line in text.splitlines() if line.startswith("@@")] == [
        "@@ -3,3 +3,3 @@",
        "@@ -7,5 +7,5 @@",
        "@@ -13,3 +13,4 @@",
    ]
    assert text.endswith(" end\n")
    assert summary(OLD, NEW).added == 4 and summary(OLD, NEW).removed == 3
    assert summary(OLD, NEW).changed


def test_equal_texts_have_no_rows_and_a_final_newline_is_no_change() -> None:
    assert side_by_side(OLD, OLD + "\n") == []
    assert unified_rows(OLD, OLD) == []
    assert unified(OLD, OLD + "\n") == ""
    assert not summary(OLD, OLD).changed


def test_from_nothing_everything_is_added() -> None:
    assert side_by_side("", "a\nb") == [
        Row("added", right_no=1, right="a"),
        Row("added", right_no=2, right="b"),
    ]
