"""The round page shows each reading's limits as the round judges them (issue #19): the bands
shown, the numbers patrol.js judges with and the band marked on load are the limits
``services.limits_at`` gives ``checklists.evaluate``, overrides of site, room and asset included."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from inspections import checklists as cl
from inspections import limits, queries, services
from inspections.limits import LimitOverride
from inspections.models import PatrolAnswer, PatrolFinding
from monitors.models import Reading
from opskit import clock, db
from opskit.audit import acting_as
from tests import factories
from tests.conftest import csrf_token, login


def reading(limits_: cl.Limits, unit: str = "V") -> cl.Item:
    return cl.Item(key="x", label="x", kind="reading", unit=unit, limits=limits_)


#: (limits, what the form shows): every way the bands can be laid out
CASES = [
    # the iPad's case: warning limits wider than the normal range
    (
        cl.Limits(214, 226, 209, 231, 200, 240),
        [("ok", "214–226 V"), ("warning", "< 209 / > 231 V"), ("critical", "< 200 / > 240 V")],
    ),
    # no warning limits: a warning starts at the normal edges
    (
        cl.Limits(198, 242, None, None, 187, 253),
        [("ok", "198–242 V"), ("warning", "< 198 / > 242 V"), ("critical", "< 187 / > 253 V")],
    ),
    # an open normal range (hot aisle)
    (
        cl.Limits(None, 38, None, None, None, 45),
        [("ok", "≤ 38 V"), ("warning", "> 38 V"), ("critical", "> 45 V")],
    ),
    (cl.Limits(10, None), [("ok", "≥ 10 V"), ("warning", "< 10 V")]),
    # critical at the warning limit: above it is critical at once, so no warning is shown there
    (
        cl.Limits(0, 70, None, 80, None, 80),
        [("ok", "0–70 V"), ("warning", "< 0 V"), ("critical", "> 80 V")],
    ),
    (cl.Limits(critical_high=90), [("critical", "> 90 V")]),
    (cl.Limits(), []),
]


def _shipped_readings() -> list[cl.Item]:
    loaded = cl.load_checklists()
    assert not loaded.errors
    return [i for c in loaded.checklists.values() for i in c.items if i.kind == "reading"]


def predicted(bounds: dict[str, tuple[float | None, float | None]], value: float) -> str:
    """The band of ``value`` read off the shown bounds alone, as the engineer reads them."""
    for level, band in (("critical", "critical"), ("warning", "warning"), ("ok", "outside_normal")):
        low, high = bounds[level]
        if (low is not None and value < low) or (high is not None and value > high):
            return band
    return "normal"


def probes(lim: cl.Limits) -> list[float]:
    """Each limit, just inside and just beyond it, and values far outside all of them."""
    edges = [getattr(lim, name) for name in cl.LIMIT_FIELDS.values()]
    edges = [e for e in edges if e is not None] or [0.0]
    values = [min(edges) - 50, max(edges) + 50]
    for edge in edges:
        values += [edge - 0.01, edge, edge + 0.01]
    return values


@pytest.mark.parametrize(("lim", "shown"), CASES)
def test_the_form_shows_the_bounds_the_judgement_uses(lim: cl.Limits, shown: list) -> None:
    assert cl.check_limits(lim) is None  # a valid set of limits
    item = reading(lim)
    assert limits.shown_limits(item, lim) == shown
    bounds = limits.judged_bounds(lim)
    for value in probes(lim):
        outcome = cl.evaluate(item, str(value), lim)
        assert limits.band_for(outcome.status, outcome.code) == predicted(bounds, value), value
        assert limits.band_of(item, lim, str(value)) == predicted(bounds, value), value


def test_every_shipped_reading_is_shown_as_judged() -> None:
    readings = _shipped_readings()
    assert len(readings) >= 10
    for item in readings:
        bounds = limits.judged_bounds(item.limits)
        for value in probes(item.limits):
            assert limits.band_of(item, item.limits, value) == predicted(bounds, value), (
                item.key,
                value,
            )
        data = limits.limit_data(item.limits)  # what patrol.js judges with
        for name, number in (
            ("nmin", item.limits.normal_min),
            ("nmax", item.limits.normal_max),
            ("wlow", item.limits.effective_warning_low),
            ("whigh", item.limits.effective_warning_high),
            ("clow", item.limits.critical_low),
            ("chigh", item.limits.critical_high),
        ):
            assert data[name] == ("" if number is None else repr(float(number))), (item.key, name)


def test_nothing_to_mark_without_a_number() -> None:
    item = reading(cl.Limits(214, 226, 209, 231, 200, 240))
    assert [limits.band_of(item, item.limits, v) for v in (None, "", "  ", "abc")] == [""] * 4
    check = cl.Item(key="c", label="c", kind="check")
    assert limits.band_of(check, check.limits, "fail") == ""


# --- the round page ---------------------------------------------------------------------------


class _Items(HTMLParser):
    """Each patrol item of a round page: its data-* attributes, the bands shown, the badge."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, dict[str, Any]] = {}
        self._item: dict[str, Any] | None = None
        self._into: str | None = None  # "limit:<level>" or "badge" while inside one

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if "patrol-item" in classes:
            self._item = {"data": a, "shown": {}, "badge": None}
            self.items[a["data-field"]] = self._item
        elif self._item is not None and "data-limit" in a:
            self._into = f"limit:{a['data-limit']}"
            self._item["shown"][a["data-limit"]] = ""
        elif self._item is not None and "patrol-band" in classes:
            self._into = "badge"
            self._item["badge"] = {**a, "text": ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._into = None

    def handle_data(self, data: str) -> None:
        if self._item is None or self._into is None:
            return
        if self._into == "badge":
            self._item["badge"]["text"] += data.strip()
        else:
            level = self._into.split(":")[1]
            self._item["shown"][level] += data


def page_items(client, client_id: str) -> dict[str, dict[str, Any]]:
    page = client.get(f"/patrol/rounds/{client_id}")
    assert page.status_code == 200
    parser = _Items()
    parser.feed(page.get_data(as_text=True))
    return parser.items


def band_from_data(data: dict[str, str], value: float) -> str:
    """The band patrol.js gives ``value`` from the item's data-* (its readingBand, in Python)."""

    def num(name: str) -> float | None:
        return float(data[f"data-{name}"]) if data[f"data-{name}"] else None

    bounds = {
        "critical": (num("clow"), num("chigh")),
        "warning": (num("wlow"), num("whigh")),
        "ok": (num("nmin"), num("nmax")),
    }
    return predicted(bounds, value)


SITE = {
    "normal": [214, 226],
    "warning": {"low": 209, "high": 231},
    "critical": {"low": 200, "high": 240},
}


def test_round_page_shows_marks_and_judges_with_the_overrides(app: Flask) -> None:
    """A site override of the mains voltage, a room override on top, an asset override for one
    of two PDUs: each PDU's item shows its own bands, patrol.js gets the same numbers, the
    monitored value is marked on load, and a saved answer is judged as shown."""
    with app.test_request_context("/"), acting_as("admin"):
        rack = factories.rack()
        pdu1 = factories.asset("PDU-1", kind="pdu", rack=rack)
        pdu2 = factories.asset("PDU-2", kind="pdu", rack=rack)
        room_id, site_id = rack.room_id, rack.room.site_id
        sess = db.session()
        for scope, target, lim in (
            ("site", site_id, SITE),
            ("room", room_id, {"warning": {"high": 233}}),
            ("asset", pdu2.id, {"normal": {"max": 228}, "critical": {"high": None}}),
        ):
            sess.add(
                LimitOverride(
                    checklist="power_distribution",
                    item="mains_voltage",
                    scope=scope,
                    target_id=target,
                    limits=lim,
                )
            )
        polled = clock.now() - timedelta(minutes=3)
        for asset, volts in ((pdu1, 230.0), (pdu2, 245.0)):
            sess.add(
                Reading(asset_id=asset.id, metric="pdu.input.voltage_v", at=polled, value=volts)
            )
        sess.add(Reading(asset_id=pdu1.id, metric="pdu.phase1.current_a", at=polled, value=10.0))
        sess.commit()
        ids = (pdu1.id, pdu2.id)
    with app.test_request_context("/"), acting_as("engineer"):
        services.start_round(
            "limits-shown-1", room_id=room_id, checklist_keys=["power_distribution"]
        )
        db.session().commit()  # services flush, their caller commits
    engineer = app.test_client()
    login(engineer, "engineer")
    items = page_items(engineer, "limits-shown-1")
    field1, field2 = (f"asset:{i}/power_distribution/mains_voltage" for i in ids)

    # what each PDU's form says: the site's normal range, the room's warning limit, and for
    # PDU-2 its own normal maximum and no critical maximum
    assert items[field1]["shown"] == {
        "ok": "正常 214–226 V",
        "warning": "警告 < 209 / > 233 V",
        "critical": "严重 < 200 / > 240 V",
    }
    assert items[field2]["shown"] == {
        "ok": "正常 214–228 V",
        "warning": "警告 < 209 / > 233 V",
        "critical": "严重 < 200 V",
    }
    # the same numbers the round judges with (services.limits_at), in the data-* patrol.js reads
    with app.test_request_context("/"):
        patrol = queries.find_round("limits-shown-1")
        item = queries.get_checklist("power_distribution").item("mains_voltage")
        for asset_id, field in zip(ids, (field1, field2), strict=True):
            judged = queries.limits_at("power_distribution", item, patrol, asset_id)
            data = items[field]["data"]
            assert {k: data[f"data-{k}"] for k in limits.limit_data(judged)} == limits.limit_data(
                judged
            )
    assert items[field1]["data"]["data-whigh"] == "233.0"
    assert items[field2]["data"]["data-chigh"] == ""
    # the monitored values, marked before anything is typed: 230 V is outside PDU-1's normal
    # range (not a warning below 233), 245 V beyond PDU-2's warning limit (no critical maximum)
    assert items[field1]["badge"] == {
        "class": "badge patrol-band",
        "data-band": "outside_normal",
        "data-source": "monitored",
        "text": "超出正常范围",
    }
    assert items[field2]["badge"]["data-band"] == "warning"
    assert items[field2]["badge"]["text"] == "超出警告范围"
    # a reading inside the normal range carries no mark (the badge is hidden)
    current = items[f"asset:{ids[0]}/power_distribution/current_l1"]
    assert current["badge"]["data-band"] == "normal" and "hidden" in current["badge"]
    assert current["badge"]["text"] == ""
    # nor does one with nothing to judge (no monitored value, nothing typed)
    current = items[f"asset:{ids[1]}/power_distribution/current_l1"]
    assert current["badge"]["data-band"] == "" and "hidden" in current["badge"]

    # every saved value is judged as the page's numbers say, and the answer says so too
    token = csrf_token(engineer, "/")
    for asset_id, field in zip(ids, (field1, field2), strict=True):
        data = items[field]["data"]
        for value in (
            199.9,
            200,
            208.9,
            209,
            213.9,
            214,
            226,
            226.1,
            228,
            228.1,
            233,
            233.1,
            240.1,
        ):
            saved = engineer.post(
                "/patrol/rounds/limits-shown-1/answers",
                json={
                    "target": f"asset:{asset_id}",
                    "checklist": "power_distribution",
                    "item": "mains_voltage",
                    "value": f"{value:g}",
                },
                headers={"X-CSRFToken": token},
            )
            assert saved.status_code == 200, saved.get_data(as_text=True)
            expected = band_from_data(data, value)
            assert saved.json["band"] == expected, (field, value)
            with app.app_context():
                row = db.session().scalar(
                    select(PatrolAnswer).where(
                        PatrolAnswer.asset_id == asset_id, PatrolAnswer.item_key == "mains_voltage"
                    )
                )
                assert limits.band_for(row.level, row.code) == expected, (field, value)
    # the last values stay on the page, marked as typed: 240.1 V is critical at PDU-1 and only
    # a warning at PDU-2
    items = page_items(engineer, "limits-shown-1")
    assert (items[field1]["badge"]["data-band"], items[field1]["badge"]["data-source"]) == (
        "critical",
        "entered",
    )
    assert items[field1]["badge"]["text"] == "超出严重范围"
    assert items[field2]["badge"]["data-band"] == "warning"
    with app.app_context():
        assert db.session().scalar(select(PatrolFinding)) is None  # nothing submitted yet


def test_bands_and_marks_in_both_languages(app: Flask) -> None:
    with app.app_context():
        room_id = factories.rack().room_id
        db.session().commit()
    with app.test_request_context("/"), acting_as("engineer"):
        services.start_round("limits-shown-2", room_id=room_id, checklist_keys=["room_environment"])
        db.session().commit()  # services flush, their caller commits
    engineer = app.test_client()
    login(engineer, "engineer")
    html = engineer.get("/patrol/rounds/limits-shown-2").get_data(as_text=True)
    strings = re.search(r'<div id="patrol-strings"[^>]*>', html, re.S)
    assert strings is not None
    assert 'data-band-outside-normal="超出正常范围"' in strings.group(0)
    assert 'data-band-warning="超出警告范围"' in strings.group(0)
    assert 'data-band-critical="超出严重范围"' in strings.group(0)
    temp = page_items(engineer, "limits-shown-2")["room/room_environment/cold_aisle_temperature"]
    assert temp["shown"] == {
        "ok": "正常 18–27 °C",
        "warning": "警告 < 18 / > 27 °C",
        "critical": "严重 < 15 / > 32 °C",
    }
    with engineer.session_transaction() as sess:
        sess["locale"] = "en"
    html = engineer.get("/patrol/rounds/limits-shown-2").get_data(as_text=True)
    assert 'data-band-outside-normal="Outside the normal range"' in html
    temp = page_items(engineer, "limits-shown-2")["room/room_environment/cold_aisle_temperature"]
    assert temp["shown"] == {
        "ok": "Normal 18–27 °C",
        "warning": "Warning < 18 / > 27 °C",
        "critical": "Critical < 15 / > 32 °C",
    }
