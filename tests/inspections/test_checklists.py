"""Patrol checklists as data: every shipped YAML file, broken files, limit evaluation, overrides.

Limits are inclusive on the acceptable side: a value exactly at a limit stays in the better
band; only a value strictly beyond the limit crosses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from assets.queries import asset_kinds
from inspections import checklists as cl
from inspections.checklists import ChecklistError, Item, Limits, evaluate, resolve_limits
from opskit.validation import ValidationFailed

SHIPPED = {
    "room_environment": 8,
    "ups": 10,
    "precision_ac": 8,
    "power_distribution": 8,
    "fire_security": 8,
    "rack_alarm_lamps": 7,
}


def test_every_shipped_checklist_is_valid_and_complete() -> None:
    loaded = cl.load_checklists()
    assert loaded.errors == []
    assert {key: len(c.items) for key, c in loaded.checklists.items()} == SHIPPED
    assert {p.stem for p in cl.PACKAGE_DIR.glob("*.yaml")} == set(SHIPPED)
    kinds = {item.kind for c in loaded.checklists.values() for item in c.items}
    assert kinds == set(cl.KINDS)  # every kind is used by at least one shipped item
    # which assets answer a checklist is the checklist's own (applies_to:), in asset kinds
    assert {key: c.applies_to for key, c in loaded.checklists.items() if c.applies_to} == {
        "ups": ("ups",),
        "precision_ac": ("precision_ac",),
        "power_distribution": ("pdu",),
    }
    for checklist in loaded.checklists.values():
        assert set(checklist.applies_to) <= set(asset_kinds()), checklist.key
        assert checklist.title and checklist.title_en
        for item in checklist.items:
            assert item.label and item.label_en, f"{checklist.key}.{item.key}"


def test_shipped_defaults_follow_gb50174_and_ups_load_limits() -> None:
    loaded = cl.load_checklists().checklists
    temp = loaded["room_environment"].item("cold_aisle_temperature")
    assert (temp.unit, temp.limits.normal_min, temp.limits.normal_max) == ("°C", 18, 27)
    assert temp.metric == "env.temperature_c"
    humidity = loaded["room_environment"].item("cold_aisle_humidity")
    assert (humidity.limits.normal_min, humidity.limits.normal_max) == (40, 60)
    load = loaded["ups"].item("load_percent")
    assert (load.limits.effective_warning_high, load.limits.critical_high) == (70, 90)
    assert (load.urgency, load.critical_urgency, load.metric) == (
        "C",
        "B",
        "ups.output.load_percent",
    )
    assert load.requires_note_when_abnormal is True
    assert loaded["ups"].item("battery_state").options[2].key == "discharging"


GOOD_ITEM = "  - {key: t, label: 温度, kind: reading, unit: °C, normal: [18, 27]}\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("items:\n" + GOOD_ITEM, "bad.yaml.title: required", id="missing-title"),
        pytest.param(
            "title: T\nitems:\n" + GOOD_ITEM + GOOD_ITEM,
            "bad.yaml: items[1].key: 't' is used twice",
            id="duplicate-key",
        ),
        pytest.param(
            "title: T\napplies_to: {ups: 1}\nitems:\n" + GOOD_ITEM,
            "bad.yaml.applies_to: expected a list of asset kinds",
            id="applies-to-not-a-list",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: x, label: X, kind: gauge}\n",
            "bad.yaml: item x.kind: unknown kind 'gauge'",
            id="unknown-kind",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: v, label: 电压, kind: reading, normal: [198, 242]}\n",
            "bad.yaml: item v.unit: a reading needs a unit",
            id="reading-without-unit",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: t, label: 温度, kind: reading, unit: °C,"
            " normal: [18, 27], warning: {high: 25}}\n",
            "bad.yaml: item t.warning.high: 25 lies inside the normal range 18–27",
            id="warning-inside-normal",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: t, label: 温度, kind: reading, unit: °C,"
            " normal: [18, 27], warning: {low: 15, high: 30}, critical: {low: 16}}\n",
            "bad.yaml: item t.critical.low: 16 lies inside the warning limits 15–30",
            id="critical-inside-warning",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: t, label: 温度, kind: reading, unit: °C,"
            " normal: [18, 27], critical: {high: 26}}\n",
            "bad.yaml: item t.critical.high: 26 lies inside the warning limits 18–27",
            id="critical-inside-defaulted-warning",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: s, label: 状态, kind: choice}\n",
            "bad.yaml: item s.options: a choice needs a list of options",
            id="choice-without-options",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: c, label: 检查, kind: check, urgency: D}\n",
            "bad.yaml: item c.urgency: expected A, B or C, got 'D'",
            id="bad-urgency",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: c, label: 检查, kind: check, critical_urgency: P1}\n",
            "bad.yaml: item c.critical_urgency: expected A, B or C",
            id="bad-critical-urgency",
        ),
        pytest.param("- a\n- b\n", "bad.yaml: expected a mapping", id="non-mapping-top-level"),
        pytest.param("title: [unclosed\n", "bad.yaml: not valid YAML", id="invalid-yaml"),
        pytest.param(
            "title: T\nitems:\n  - {key: c, label: 检查, kind: check, metric: Load}\n",
            "bad.yaml: item c.metric: expected a dotted name",
            id="bad-metric",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: c, label: 检查, kind: check, unit: V}\n",
            "bad.yaml: item c.unit: unknown field",
            id="field-of-another-kind",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: t, label: 温度, kind: reading, unit: °C,"
            " normal: [18, 27], warning: {top: 30}}\n",
            "bad.yaml: item t.warning.top: unknown field",
            id="unknown-limit-side",
        ),
        pytest.param(
            "title: T\nitems:\n  - {key: t, label: 温度, kind: reading, unit: °C,"
            " normal: [18, 27], tolerance: -1}\n",
            "bad.yaml: item t.tolerance: expected a number >= 0",
            id="negative-tolerance",
        ),
        pytest.param("title: T\nitems: []\n", "bad.yaml.items: expected a non-empty", id="empty"),
    ],
)
def test_a_broken_checklist_names_the_file_and_field(text: str, expected: str) -> None:
    with pytest.raises(ChecklistError) as info:
        cl.load_checklist(text, "site/bad.yaml")
    assert str(info.value).startswith("site/bad.yaml"), str(info.value)
    assert expected in str(info.value), str(info.value)


def test_dropped_files_add_and_replace_and_a_broken_one_hides_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "checklists"
    folder.mkdir()
    (folder / "generator.yaml").write_text(
        "title: 柴油发电机\nitems:\n  - {key: fuel, label: 油位, kind: reading, unit: '%',"
        " normal: [60, 100], warning: {low: 50}, critical: {low: 30}}\n",
        encoding="utf-8",
    )
    (folder / "ups.yaml").write_text(
        "title: UPS（本站）\nitems:\n  - {key: lamp, label: 告警灯, kind: check}\n",
        encoding="utf-8",
    )
    (folder / "broken.yml").write_text("title: X\nitems:\n  - {key: a, kind: dial}\n", "utf-8")
    (folder / "notes.txt").write_text("ignored", encoding="utf-8")

    loaded = cl.instance_checklists(tmp_path)

    assert set(loaded.checklists) == set(SHIPPED) | {"generator"}
    assert loaded.checklists["ups"].title == "UPS（本站）"
    assert len(loaded.checklists["ups"].items) == 1
    assert evaluate(loaded.checklists["generator"].item("fuel"), 45).status == "warning"
    assert loaded.errors == [
        f"{folder / 'broken.yml'}: item a.kind: unknown kind 'dial'; "
        "expected one of check, reading, choice, text, photo, signature"
    ]


def test_no_instance_folder_gives_the_shipped_set(tmp_path: Path) -> None:
    assert set(cl.instance_checklists(tmp_path).checklists) == set(SHIPPED)


def test_checklists_are_parsed_once_and_reread_when_a_file_changes(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every caller (services, limits, the dashboard's limits) shares one parse, kept until a
    checklist file is added, edited or removed."""
    from inspections import limits, queries

    parsed: list[str] = []
    real = cl.load_checklist

    def counting(text: str, source: str) -> cl.Checklist:
        parsed.append(Path(source).stem)
        return real(text, source)

    monkeypatch.setattr(cl, "load_checklist", counting)
    folder = Path(app.instance_path) / "checklists"
    metric = "env.temperature_c"
    with app.test_request_context("/"):
        first = queries.checklists()
        assert sorted(parsed) == sorted(SHIPPED)
        assert limits.site_checklists().checklists is first
        assert queries.get_checklist("ups") is first["ups"]
        assert queries.room_reading_limits("room_environment", metric, []) == {}
        assert len(parsed) == len(SHIPPED)  # nothing parsed again

        folder.mkdir(parents=True, exist_ok=True)
        (folder / "generator.yaml").write_text(
            "title: 柴油发电机\nitems:\n  - {key: fuel, label: 油位, kind: check}\n", "utf-8"
        )
        assert "generator" in queries.checklists()
        assert len(parsed) == 2 * len(SHIPPED) + 1
        assert limits.site_checklists().checklists is queries.checklists()
        assert len(parsed) == 2 * len(SHIPPED) + 1

        # a replaced room_environment without the temperature reading: the dashboard's limits go
        (folder / "room_environment.yaml").write_text(
            "title: 环境\nitems:\n  - {key: lamp, label: 告警灯, kind: check}\n", "utf-8"
        )
        assert queries.room_reading_limits("room_environment", metric, []) is None
        # edited in place
        (folder / "generator.yaml").write_text(
            "title: 发电机（改）\nitems:\n  - {key: fuel, label: 油位, kind: check}\n", "utf-8"
        )
        assert queries.get_checklist("generator").title == "发电机（改）"
        (folder / "generator.yaml").unlink()
        (folder / "room_environment.yaml").unlink()
        assert "generator" not in queries.checklists()
        assert queries.room_reading_limits("room_environment", metric, []) == {}
        count = len(parsed)
        queries.checklists()
        limits.site_checklists()
        assert len(parsed) == count


# --- limit evaluation --------------------------------------------------------------------------


def reading(**limits) -> Item:
    return Item(
        key="r",
        label="读数",
        kind="reading",
        unit="°C",
        limits=Limits(**limits),
        critical_urgency="B",
    )


TEMP = reading(
    normal_min=18, normal_max=27, warning_low=15, warning_high=30, critical_low=10, critical_high=35
)
# warning limits omitted: they default to the normal edges
LOAD = reading(normal_min=0, normal_max=70, critical_high=90)


@pytest.mark.parametrize(
    ("item", "value", "status", "code", "urgency"),
    [
        (TEMP, 22, "ok", "ok", None),
        (TEMP, 18, "ok", "ok", None),  # normal range is closed at both ends
        (TEMP, 27, "ok", "ok", None),
        (TEMP, 27.5, "ok", "outside_normal", None),  # beyond normal, within warning
        (TEMP, 16, "ok", "outside_normal", None),
        (TEMP, 30, "ok", "outside_normal", None),  # exactly at the warning limit: not crossed
        (TEMP, 30.01, "warning", "above_warning", "C"),
        (TEMP, 15, "ok", "outside_normal", None),
        (TEMP, 14.9, "warning", "below_warning", "C"),
        (TEMP, 35, "warning", "above_warning", "C"),  # exactly at critical: still warning
        (TEMP, 35.1, "critical", "above_critical", "B"),
        (TEMP, 10, "warning", "below_warning", "C"),
        (TEMP, 9.99, "critical", "below_critical", "B"),
        (TEMP, -40, "critical", "below_critical", "B"),
        (TEMP, "22.5", "ok", "ok", None),  # tablets send text
        (TEMP, "31,5", "warning", "above_warning", "C"),  # decimal comma
        (TEMP, "abc", "invalid", "not_a_number", None),
        (TEMP, "nan", "invalid", "not_a_number", None),
        (TEMP, True, "invalid", "not_a_number", None),
        (TEMP, "", "invalid", "required", None),
        (TEMP, None, "invalid", "required", None),
        (LOAD, 70, "ok", "ok", None),
        (LOAD, 70.1, "warning", "above_warning", "C"),
        (LOAD, 90, "warning", "above_warning", "C"),
        (LOAD, 90.1, "critical", "above_critical", "B"),
        (LOAD, -1, "warning", "below_warning", "C"),
    ],
)
def test_reading_limits(item: Item, value, status: str, code: str, urgency: str | None) -> None:
    outcome = evaluate(item, value)
    assert (outcome.status, outcome.code, outcome.urgency) == (status, code, urgency)
    assert outcome.abnormal == (status in ("warning", "critical"))


def test_messages_name_the_limit_and_translate() -> None:
    assert str(evaluate(TEMP, 36).message) == "Above the critical limit 35°C"
    assert str(evaluate(TEMP, 28).message) == (
        "Outside the normal range 18–27°C, within the warning limit"
    )
    assert str(evaluate(TEMP, "x").message) == "Enter a number, got “x”"


def test_messages_in_chinese(app: Flask) -> None:
    with app.test_request_context("/"), force_locale("zh_CN"):
        assert str(evaluate(TEMP, 36).message) == "高于严重限值 35°C"
        assert str(evaluate(LOAD, 71).message) == "高于告警限值 70°C"


CHECK = Item(key="c", label="无告警", kind="check", urgency="B")
CRIT_CHECK = Item(
    key="w", label="无漏水", kind="check", urgency="B", critical_urgency="A", fail_level="critical"
)
CHOICE = Item(
    key="s",
    label="电池",
    kind="choice",
    urgency="B",
    critical_urgency="A",
    options=(
        cl.Option("float", "浮充"),
        cl.Option("bypass", "旁路", level="warning"),
        cl.Option("discharging", "放电", level="critical"),
    ),
)
OPTIONAL_TEXT = Item(key="t", label="备注", kind="text", required=False)


@pytest.mark.parametrize(
    ("item", "value", "status", "code", "urgency"),
    [
        (CHECK, True, "ok", "ok", None),
        (CHECK, "pass", "ok", "ok", None),
        (CHECK, False, "warning", "check_failed", "B"),  # a failed check carries the item urgency
        (CHECK, "FAIL", "warning", "check_failed", "B"),
        (CHECK, "maybe", "invalid", "not_pass_fail", None),
        (CHECK, 1, "invalid", "not_pass_fail", None),
        (CRIT_CHECK, False, "critical", "check_failed", "A"),
        (CHOICE, "float", "ok", "ok", None),
        (CHOICE, "bypass", "warning", "abnormal_option", "B"),
        (CHOICE, "discharging", "critical", "abnormal_option", "A"),
        (CHOICE, "浮充", "invalid", "unknown_option", None),  # labels are not values
        (CHOICE, "boost", "invalid", "unknown_option", None),
        (OPTIONAL_TEXT, "", "ok", "ok", None),
        (OPTIONAL_TEXT, "风扇有异响", "ok", "ok", None),
        (OPTIONAL_TEXT, 12, "invalid", "not_text", None),
        (OPTIONAL_TEXT, ["a"], "invalid", "not_text", None),
        (Item(key="p", label="照片", kind="photo"), "ph-1", "ok", "ok", None),
        (Item(key="p", label="照片", kind="photo"), ["ph-1", ""], "invalid", "required", None),
        (Item(key="p", label="照片", kind="photo"), ["ph-1", "ph-2"], "ok", "ok", None),
        (Item(key="p", label="照片", kind="photo"), [], "invalid", "required", None),
        (
            Item(key="g", label="签名", kind="signature"),
            "data:image/png;base64,AA",
            "ok",
            "ok",
            None,
        ),
        (Item(key="g", label="签名", kind="signature"), "  ", "invalid", "required", None),
        (Item(key="x", label="未知", kind="dial"), 3, "invalid", "unsupported", None),
    ],
)
def test_other_kinds(item: Item, value, status: str, code: str, urgency: str | None) -> None:
    outcome = evaluate(item, value)
    assert (outcome.status, outcome.code, outcome.urgency) == (status, code, urgency)


def test_unknown_option_lists_the_options() -> None:
    assert str(evaluate(CHOICE, "boost").message) == (
        "“boost” is not one of: float, bypass, discharging"
    )


def test_abnormal_outcomes_ask_for_a_note_unless_the_item_says_not() -> None:
    assert evaluate(CHECK, False).needs_note is True
    assert evaluate(CHECK, True).needs_note is False
    relaxed = Item(key="c", label="x", kind="check", requires_note_when_abnormal=False)
    assert evaluate(relaxed, False).needs_note is False


def test_tolerance() -> None:
    item = Item(key="v", label="电压", kind="reading", unit="V", tolerance=3)
    assert item.within_tolerance(220, 223) and not item.within_tolerance(220, 223.5)
    assert Item(key="v", label="电压", kind="reading").within_tolerance(1, 100)


# --- overrides ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, TEMP.limits),
        ({"site": {"normal": [20, 26]}}, Limits(20, 26, 15, 30, 10, 35)),
        # partial: only the high side changes
        ({"site": {"warning": {"high": 32}}}, Limits(18, 27, 15, 32, 10, 35)),
        ({"room": {"critical": {"high": 33}}}, Limits(18, 27, 15, 30, 10, 33)),
        # site < room < asset, whatever the order of the mapping
        (
            {
                "asset": {"warning": {"high": 29}},
                "room": {"warning": {"high": 28}, "normal": {"max": 25}},
                "site": {"warning": {"high": 31, "low": 16}},
            },
            Limits(18, 25, 16, 29, 10, 35),
        ),
        (
            {"site": {"normal": {"min": 20}}, "asset": {"normal": {"max": 24}}},
            Limits(20, 24, 15, 30, 10, 35),
        ),
        ({"asset": {"critical": {"low": None}}}, Limits(18, 27, 15, 30, None, 35)),  # null removes
        ({"site": None, "room": {}}, TEMP.limits),
    ],
)
def test_override_precedence(overrides, expected: Limits) -> None:
    assert resolve_limits(TEMP, overrides) == expected


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"asset": {"warning": {"high": 26}}}, "asset.warning.high", "26 lies inside the normal"),
        # the room narrows normal past the site's warning: blame the more specific room
        (
            {"site": {"warning": {"high": 28}}, "room": {"normal": {"max": 29}}},
            "room.normal.max",
            "28 lies inside the normal range 18–29",
        ),
        ({"room": {"critical": {"high": 29}}}, "room.critical.high", "inside the warning limits"),
        ({"site": {"normal": [30, 20]}}, "site.normal.min", "30 is above normal.max 20"),
        ({"site": {"warning": {"high": "hot"}}}, "site.warning.high", "expected a number"),
        ({"site": {"alarm": {"high": 3}}}, "site.alarm", "unknown field"),
        ({"rack": {"normal": [1, 2]}}, "rack", "unknown override scope"),
    ],
)
def test_bad_overrides_name_scope_and_field(overrides, field: str, message: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        resolve_limits(TEMP, overrides)
    assert list(info.value.errors) == [field]
    assert message in info.value.errors[field][0]


def test_overridden_limits_change_the_outcome() -> None:
    limits = resolve_limits(
        LOAD, {"site": {"critical": {"high": 80}}, "asset": {"normal": {"max": 60}}}
    )
    assert evaluate(LOAD, 65, limits).code == "above_warning"
    assert evaluate(LOAD, 85, limits).status == "critical"
    assert evaluate(LOAD, 85).status == "warning"  # the item's own limits are untouched
