"""The ``traps:`` section of the device profiles: the shipped mapping and its validation."""

from __future__ import annotations

from typing import Any

import pytest

from monitors.profiles import ProfileError, load_profiles, parse_profile

pytestmark = pytest.mark.dateless


def _profile(traps: Any) -> dict[str, Any]:
    return {"name": "t", "match": {"always": True}, "traps": traps}


def test_shipped_profiles_map_the_ups_traps() -> None:
    specs = {(t.oid, t.action): t for p in load_profiles() for t in p.traps}
    on_battery = specs[("1.3.6.1.2.1.33.2.1", "raise")]
    assert (on_battery.conditions, on_battery.urgency, on_battery.title) == (
        ("ups_on_battery",),
        "A",
        "UPS on battery",
    )
    assert specs[("1.3.6.1.4.1.318.0.5", "raise")].conditions == ("ups_on_battery",)
    assert "ups_on_battery" in specs[("1.3.6.1.4.1.318.0.9", "clear")].conditions
    assert specs[("1.3.6.1.6.3.1.1.5.3", "raise")].instance == "1.3.6.1.2.1.2.2.1.1"
    assert specs[("1.3.6.1.6.3.1.1.5.1", "raise")].conditions == ("device_restarted",)


def test_every_condition_has_one_title_and_every_clear_a_raise() -> None:
    titles: dict[str, set[tuple[str, str]]] = {}
    cleared: set[str] = set()
    for profile in load_profiles():
        for spec in profile.traps:
            for condition in spec.conditions:
                if spec.action == "raise":
                    titles.setdefault(condition, set()).add((spec.title, spec.urgency))
                else:
                    cleared.add(condition)
    assert all(len(found) == 1 for found in titles.values()), titles
    assert cleared <= set(titles)


@pytest.mark.parametrize(
    ("traps", "field", "says"),
    [
        ("x", "traps", "expected a list"),
        ([{"raise": "a", "urgency": "A", "title": "A"}], "traps[0].oid", "numeric OID"),
        ([{"oid": "1.3.6.1", "urgency": "A"}], "traps[0]", "raise or clear"),
        ([{"oid": "1.3.x", "clear": "a"}], "traps[0].oid", "numeric OID"),
        ([{"oid": "1.3.6.1", "raise": "a", "title": "A"}], "traps[0].urgency", "A, B or C"),
        ([{"oid": "1.3.6.1", "raise": "a", "urgency": "D"}], "traps[0].urgency", "A, B or C"),
        ([{"oid": "1.3.6.1", "raise": "a", "urgency": "A"}], "traps[0].title", "required"),
        ([{"oid": "1.3.6.1", "clear": "a", "urgency": "A"}], "traps[0].urgency", "only for"),
        ([{"oid": "1.3.6.1", "clear": "Bad Name"}], "traps[0].clear", "condition name"),
        ([{"oid": "1.3.6.1", "clear": ["a", "B"]}], "traps[0].clear[1]", "condition name"),
        ([{"oid": "1.3.6.1", "clear": "a", "where": {"in": [1]}}], "traps[0].where", "varbind"),
        ([{"oid": "1.3.6.1", "clear": "a", "colour": 1}], "traps[0].colour", "unknown key"),
    ],
)
def test_mistakes_name_the_file_and_field(traps: Any, field: str, says: str) -> None:
    with pytest.raises(ProfileError) as caught:
        parse_profile("x.yaml", _profile(traps))
    assert (caught.value.file, caught.value.field) == ("x.yaml", field)
    assert says in caught.value.message


def test_a_valid_entry() -> None:
    profile = parse_profile(
        "x.yaml",
        _profile(
            [
                {
                    "oid": ".1.3.6.1.4.1.9.0.1",
                    "raise": "hot",
                    "urgency": "B",
                    "title": "Too hot",
                    "where": {"varbind": "1.3.6.1.4.1.9.1", "in": [2, "x"]},
                    "instance": "1.3.6.1.4.1.9.2",
                }
            ]
        ),
    )
    (spec,) = profile.traps
    assert spec.oid == "1.3.6.1.4.1.9.0.1"
    assert spec.where == (("1.3.6.1.4.1.9.1", frozenset({"2", "x"})),)


def test_every_title_is_in_the_catalog_list() -> None:
    from monitors.traps.rules import CATALOG_TITLES, titles

    assert set(titles().values()) <= {t._args[0] for t in CATALOG_TITLES}
