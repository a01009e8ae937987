"""°F readings converted to °C, and impossible readings dropped with a note (#16).

The rules: a profile entry may say ``unit: °F`` for a °C metric (the probe converts after scale
and offset); a reading outside the range its unit allows (``monitors.metrics.UNIT_RANGES``, or
the metric's own ``range``) is not a metric but a note naming metric, instance, raw value and why.
The probe's reading logic is exercised on values as an agent returns them; the agents themselves
are covered by the snmpsim conformance tests (test_conformance_vendors.py: NetBotz °F, Sentry4
humidity -1 %).
"""

from __future__ import annotations

from typing import Any

import pytest

from monitors.metrics import METRICS, UNIT_RANGES, impossible, value_range
from monitors.probe import _metric_rows, _Reader
from monitors.profiles import ProfileError, parse_profile

COL = "1.3.6.1.4.1.99999.1.1"
NAME = "1.3.6.1.4.1.99999.1.2"


def _profile(**entry: Any) -> Any:
    data = {"name": "p", "match": {"always": True}, "metrics": [entry]}
    return parse_profile("p.yaml", data)


def test_fahrenheit_unit_parses_for_a_celsius_metric_only() -> None:
    spec = _profile(metric="env.temperature_c", column=COL, scale=0.1, unit="°F").metrics[0]
    assert spec.fahrenheit
    assert not _profile(metric="env.temperature_c", column=COL, unit="°C").metrics[0].fahrenheit
    with pytest.raises(ProfileError, match=r"metrics\[0\]\.unit: '°F' does not match"):
        _profile(metric="ups.input.voltage_v", column=COL, unit="°F")
    with pytest.raises(ProfileError, match=r"'K' does not match the unit of env.temperature_c"):
        _profile(metric="env.temperature_c", column=COL, unit="K")


def test_fahrenheit_is_converted_after_scale_and_offset() -> None:
    spec = _profile(
        metric="env.temperature_c", column=COL, instance=NAME, scale=0.1, unit="°F"
    ).metrics[0]
    reader = _Reader({}, {COL: {"1": 680, "2": 2120, "3": -400}, NAME: {"1": b"rack", "2": b"hot"}})
    notes: list[dict[str, Any]] = []
    rows = {r["instance"]: r["value"] for r in _metric_rows(reader, spec, notes)}
    # 68.0 °F = 20 °C, 212.0 °F = 100 °C, -40.0 °F = -40 °C (unnamed row: its index)
    assert rows == {"rack": 20, "hot": 100, "3": -40}
    assert notes == []


def test_limits_come_from_one_table() -> None:
    assert value_range("env.temperature_c") == (-273.15, None)
    assert value_range("env.humidity_percent") == (0, 100)
    assert value_range("ups.output.load_percent") == (0, None)  # its own range: overload
    assert value_range("http.cert_days_left") == (None, None)  # an expired certificate: < 0
    assert impossible("env.temperature_c", -273.15) is None
    assert impossible("env.temperature_c", -273.16) == "below -273.15 °C, the lowest possible value"
    assert impossible("env.humidity_percent", 100.5) == "above 100 %, the highest possible value"
    assert impossible("env.humidity_percent", -1) == "below 0 %, the lowest possible value"
    assert impossible("ups.output.load_percent", 130) is None
    assert impossible("pdu.current_a", -0.1) is not None
    assert impossible("http.cert_days_left", -3) is None


def test_every_measured_unit_has_a_range_or_is_listed_as_unbounded() -> None:
    unbounded = {"", "d"}  # plain numbers (load averages, counts, HTTP codes), days left
    for name, entry in METRICS.items():
        if entry["kind"] != "state":
            assert entry["unit"] in UNIT_RANGES or entry["unit"] in unbounded, name
    used = {entry["unit"] for entry in METRICS.values()}
    assert set(UNIT_RANGES) <= used  # no rule for a unit nothing reads


def test_impossible_readings_are_dropped_with_a_note() -> None:
    spec = _profile(metric="env.humidity_percent", column=COL, instance=NAME).metrics[0]
    reader = _Reader({}, {COL: {"1": 45, "2": -1, "3": 250}, NAME: {"1": b"a", "2": b"b"}})
    notes: list[dict[str, Any]] = []
    rows = _metric_rows(reader, spec, notes)
    assert [(r["instance"], r["value"]) for r in rows] == [("a", 45)]
    assert notes == [
        {
            "metric": "env.humidity_percent",
            "instance": "b",
            "raw": -1,
            "value": -1,
            "why": "impossible: below 0 %, the lowest possible value; not recorded",
        },
        {
            "metric": "env.humidity_percent",
            "instance": "3",
            "raw": 250,
            "value": 250,
            "why": "impossible: above 100 %, the highest possible value; not recorded",
        },
    ]


def test_the_range_applies_after_the_fahrenheit_conversion() -> None:
    spec = _profile(metric="env.temperature_c", oid=COL + ".0", scale=0.1, unit="°F").metrics[0]
    notes: list[dict[str, Any]] = []
    # -500.0 °F is below absolute zero (-459.67 °F): the converted -295.56 °C is refused
    assert _metric_rows(_Reader({COL + ".0": -5000}, {}), spec, notes) == []
    assert notes[0]["raw"] == -5000 and notes[0]["value"] == pytest.approx(-295.5556, abs=1e-4)
    assert "below -273.15 °C" in notes[0]["why"]
    # -459.0 °F (-272.78 °C) is cold but possible
    rows = _metric_rows(_Reader({COL + ".0": -4590}, {}), spec, [])
    assert rows[0]["value"] == pytest.approx(-272.7778, abs=1e-4)
