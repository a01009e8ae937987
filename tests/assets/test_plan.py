"""Capacity model and fit (``assets.capacity``, ``assets.plan``, ``opskit plan``) on one small
seeded room, on SQLite and PostgreSQL. Every expected answer is worked out by hand from the
room below, in the comments beside it.

Room A机房 (cooling 4,000 W: limit 3,200 W), four 10U racks:

- R1: feeds A and B of 2,000 W (limit 1,600 W each). S1 2U at U1 and S2 1U at U4: free runs
  U3 and U5-U10. PDUs P1A (feed A) and P1B (feed B) measured: 19 readings of 500 W and one of
  1,500 W on A (95th percentile 500: the spike is not the draw), 400 W on B: 900 W measured.
- R2: feed A of 1,000 W (limit 800 W). S3 4U at U1 with no power spec: a server's stated
  default, 400 W (estimated). Free: U5-U10.
- R3: no rating. Empty.
- R4: feed A of 3,000 W (limit 2,400 W). Five 1U switches at U2, U4, U6, U8, U10 with a 50 W
  nameplate each: 250 W. Free runs of 1U only (U1, U3, U5, U7, U9).

Room IT load: 900 + 400 + 0 + 250 = 1,550 W. The switch SW1 (R4 U10) saw: XGE1/0/1 down, no
traffic (free 10G); XGE1/0/2 down but traffic three days ago; XGE1/0/3 down but linked to S1;
XGE1/0/4 up; XGE1/0/5 down and administratively down; GE1/0/1 down (free 1G). Prefixes:
10.1.2.0/29 (usable .1-.6; gateway .1 and .2-.4 registered: 2 free), 10.1.3.0/30 (usable .1-.2;
gateway .1 and .2: full).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import insert, select

from assets import capacity, services
from assets.models import Rack
from assets.plan import PlanInputError, fit, read_request
from assets.specs import SpecError, normalise, parse_value
from monitors.models import Reading
from opskit import clock, db
from opskit.validation import ValidationFailed
from tests import factories
from tests.assets.test_api import _token
from tests.conftest import login, post_form

NOW = datetime(2026, 3, 10, 4, 0, tzinfo=UTC)


def seed_room() -> None:
    site, _ = services.get_or_create_site("总部")
    room, _ = services.get_or_create_room(site, "A机房")
    racks = {}
    for name, a, b in (("R1", 2000, 2000), ("R2", 1000, None), ("R3", None, None)):
        racks[name] = services.save_rack(
            {"room": room, "name": name, "u_height": 10, "power_a_watts": a, "power_b_watts": b}
        )
    racks["R4"] = services.save_rack(
        {"room": room, "name": "R4", "u_height": 10, "power_a_watts": 3000}
    )
    db.session().flush()
    s1 = factories.asset(
        "S1", rack=racks["R1"], u_position=1, u_height=2, specs={"power_watts": 300}
    )
    factories.asset("S2", rack=racks["R1"], u_position=4, u_height=1, specs={"power_watts": 300})
    pdu_a = factories.asset("P1A", "pdu", rack=racks["R1"], u_height=0, specs={"feed": "A"})
    pdu_b = factories.asset("P1B", "pdu", rack=racks["R1"], u_height=0, specs={"feed": "B"})
    factories.asset("S3", rack=racks["R2"], u_position=1, u_height=4)
    switches = [
        factories.asset(
            f"SW{n}", "switch", rack=racks["R4"], u_position=u, specs={"power_watts": 50}
        )
        for n, u in zip((5, 4, 3, 2, 1), (2, 4, 6, 8, 10), strict=True)
    ]
    sw1 = switches[-1]
    factories.asset("AC1", "precision_ac", room=room, specs={"cooling_watts": "4 kW"})
    services.save_link(s1, "eth0", sw1, "XGigabitEthernet1/0/3")
    p29 = factories.prefix("10.1.2.0/29", gateway="10.1.2.1")
    p30 = factories.prefix("10.1.3.0/30", gateway="10.1.3.1")
    for address, prefix in (("10.1.2.2", p29), ("10.1.2.3", p29), ("10.1.2.4", p29)):
        services.save_address({"address": address, "prefix": prefix})
    services.save_address({"address": "10.1.3.2", "prefix": p30})
    rows: list[dict[str, Any]] = []
    for i in range(20):
        at = NOW - timedelta(hours=2 + i * 6)
        rows.append(_reading(pdu_a.id, "pdu.power_w", "", at, value=1500.0 if i == 7 else 500.0))
        rows.append(_reading(pdu_b.id, "pdu.power_w", "", at, value=400.0))
    # a reading older than the window: not the draw
    rows.append(_reading(pdu_b.id, "pdu.power_w", "", NOW - timedelta(days=20), value=9000.0))
    polled = NOW - timedelta(minutes=5)
    for port, oper, admin in (
        ("XGigabitEthernet1/0/1", "down", "up"),
        ("XGigabitEthernet1/0/2", "down", "up"),
        ("XGigabitEthernet1/0/3", "down", "up"),
        ("XGigabitEthernet1/0/4", "up", "up"),
        ("XGigabitEthernet1/0/5", "down", "down"),
        ("GigabitEthernet1/0/1", "down", "up"),
    ):
        rows.append(_reading(sw1.id, "if.oper_status", port, polled, text=oper))
        rows.append(_reading(sw1.id, "if.admin_status", port, polled, text=admin))
    # XGE1/0/1 was up with traffic 20 days ago: outside the window, still free
    rows.append(
        _reading(sw1.id, "if.in_bps", "XGigabitEthernet1/0/1", NOW - timedelta(days=20), value=5e6)
    )
    rows.append(
        _reading(sw1.id, "if.in_bps", "XGigabitEthernet1/0/2", NOW - timedelta(days=3), value=5e6)
    )
    rows.append(_reading(sw1.id, "if.out_bps", "XGigabitEthernet1/0/4", polled, value=1e8))
    db.session().execute(insert(Reading), rows)
    db.session().commit()


def _reading(asset_id: int, metric: str, instance: str, at: datetime, **value: Any) -> dict:
    return {"asset_id": asset_id, "metric": metric, "instance": instance, "at": at, **value}


def test_capacity_model(db_app: Flask) -> None:
    with db_app.app_context():
        seed_room()
        model = capacity.load(now=NOW)
        racks = {r.name: r for r in model.racks.values()}
        assert racks["R1"].free_runs() == [(3, 3), (5, 10)]
        assert racks["R4"].free_runs() == [(1, 1), (3, 3), (5, 5), (7, 7), (9, 9)]
        assert (racks["R1"].load_w, racks["R1"].load_source) == (900.0, "measured")
        assert racks["R1"].feed_w == {"A": 500.0, "B": 400.0}
        assert (racks["R2"].load_w, racks["R2"].load_source) == (400.0, "estimated")
        assert (racks["R3"].load_w, racks["R3"].feeds) == (0.0, 0)
        assert (racks["R4"].load_w, racks["R4"].load_source) == (250.0, "nameplate")
        (room,) = model.rooms.values()
        assert room.cooling_w == 4000.0
        assert room.it_load_w(model.racks) == 1550.0
        assert [(p.switch, p.port, p.speed) for p in room.ports] == [
            ("SW1", "GigabitEthernet1/0/1", "1G"),
            ("SW1", "XGigabitEthernet1/0/1", "10G"),
        ]


def dev(name: str, u: int, watts: float, feeds: int = 1, **more: Any) -> dict[str, Any]:
    return {"name": name, "u": u, "watts": watts, "feeds": feeds, **more}


NO_RATING = ("R3", "rating", "no power rating recorded for the rack")
#: (case, plan, [(racks, [(device, rack, u_start, u_end)])] best first, [(rack, code, reason)])
CASES: list[tuple[str, dict[str, Any], list[Any], list[tuple[str, str, str]]]] = [
    (
        # R1: the smallest run of 2U is U5-U10; 900 + 300 = 1,200 W on either feed (of 1,600).
        "one dual-fed 2U server",
        {"devices": [dev("app", 2, 300, feeds=2)]},
        [(["R1"], [("app", "R1", 5, 6)])],
        [
            ("R2", "feeds", "needs 2 feeds, the rack has 1"),
            NO_RATING,
            ("R4", "u", "no contiguous 2U (longest free run 1U)"),
        ],
    ),
    (
        # U fragmentation: a 1U fills the smallest run (R1 U3, R4 U1, R2 U5). Headroom left:
        # R4 1 - 350/3000 = 88 %, R1 1 - 1000/2000 = 50 %, R2 1 - 500/1000 = 50 %; R1 keeps
        # 6U free, R2 5U: R4, R1, R2.
        "a 1U fills the smallest free run",
        {"devices": [dev("small", 1, 100)]},
        [
            (["R4"], [("small", "R4", 1, 1)]),
            (["R1"], [("small", "R1", 3, 3)]),
            (["R2"], [("small", "R2", 5, 5)]),
        ],
        [NO_RATING],
    ),
    (
        # A/B from the PDUs: 900 + 800 = 1,700 W > 1,600 on feed A (each feed carries all).
        "dual-fed 800 W over feed A's 80 %",
        {"devices": [dev("hot", 1, 800, feeds=2)]},
        [],
        [
            ("R1", "power", "feed A over 80 % (1700 of 2000 W, 85 %)"),
            ("R2", "feeds", "needs 2 feeds, the rack has 1"),
            NO_RATING,
            ("R4", "feeds", "needs 2 feeds, the rack has 1"),
        ],
    ),
    (
        # single-fed: R2 400 + 800 = 1,200 > 800; R4 250 + 800 = 1,050 <= 2,400
        "single-fed 800 W",
        {"devices": [dev("hot", 1, 800)]},
        [(["R4"], [("hot", "R4", 1, 1)])],
        [
            ("R1", "power", "feed A over 80 % (1700 of 2000 W, 85 %)"),
            ("R2", "power", "feed A over 80 % (1200 of 1000 W, 120 %)"),
            NO_RATING,
        ],
    ),
    (
        # R4 takes 250 + 2,100 = 2,350 W (<= 2,400) but the room: 1,550 + 2,100 = 3,650 > 3,200
        "the room's cooling",
        {"devices": [dev("heater", 1, 2100)]},
        [],
        [
            ("R1", "power", "feed A over 80 % (3000 of 2000 W, 150 %)"),
            ("R2", "power", "feed A over 80 % (2500 of 1000 W, 250 %)"),
            NO_RATING,
            ("R4", "cooling", "room A机房 cooling over 80 % (3650 of 4000 W)"),
        ],
    ),
    (
        # one free 10G port in the room (XGE1/0/1): 1/0/2 had traffic, 1/0/3 is linked,
        # 1/0/4 is up, 1/0/5 is administratively down
        "two 10G ports",
        {"devices": [dev("net", 1, 100, ports={"10G": 2})]},
        [],
        [
            ("R1", "ports", "no free 10G port (1 free in room A机房, 2 needed)"),
            ("R2", "ports", "no free 10G port (1 free in room A机房, 2 needed)"),
            NO_RATING,
            ("R4", "ports", "no free 10G port (1 free in room A机房, 2 needed)"),
        ],
    ),
    (
        "the prefix has 2 free",
        {"devices": [dev("ip", 1, 100, addresses={"prefix": "10.1.2.0/29", "count": 3})]},
        [],
        [
            ("R1", "prefix", "prefix 10.1.2.0/29 full (2 free, 3 needed)"),
            ("R2", "prefix", "prefix 10.1.2.0/29 full (2 free, 3 needed)"),
            NO_RATING,
            ("R4", "prefix", "prefix 10.1.2.0/29 full (2 free, 3 needed)"),
        ],
    ),
    (
        "a full prefix",
        {"devices": [dev("ip", 1, 100, addresses=[{"prefix": "10.1.3.0/30"}])]},
        [],
        [
            ("R1", "prefix", "prefix 10.1.3.0/30 full (0 free, 1 needed)"),
            ("R2", "prefix", "prefix 10.1.3.0/30 full (0 free, 1 needed)"),
            NO_RATING,
            ("R4", "prefix", "prefix 10.1.3.0/30 full (0 free, 1 needed)"),
        ],
    ),
    (
        # R1 alone: a (U3, 1,400 W), then b at 1,900 W is over 1,600. Without `together` b and
        # c go to R4 (R2: 400 + 500 = 900 > 800); R4 alone takes all three (U1, U3, U5).
        "three 500 W, fewest racks first",
        {"devices": [dev("a", 1, 500), dev("b", 1, 500), dev("c", 1, 500)]},
        [
            (["R4"], [("a", "R4", 1, 1), ("b", "R4", 3, 3), ("c", "R4", 5, 5)]),
            (["R1", "R4"], [("a", "R1", 3, 3), ("b", "R4", 1, 1), ("c", "R4", 3, 3)]),
        ],
        [("R2", "power", "feed A over 80 % (900 of 1000 W, 90 %)"), NO_RATING],
    ),
    (
        "together: one rack only",
        {"together": True, "devices": [dev("a", 1, 500), dev("b", 1, 500), dev("c", 1, 500)]},
        [(["R4"], [("a", "R4", 1, 1), ("b", "R4", 3, 3), ("c", "R4", 5, 5)])],
        [
            ("R1", "power", "feed A over 80 % (1900 of 2000 W, 95 %)"),
            ("R2", "power", "feed A over 80 % (900 of 1000 W, 90 %)"),
            NO_RATING,
        ],
    ),
    (
        # nearest first: R2 (0 racks away), R1 (1), R4 (2)
        "near R2",
        {"near": "R2", "devices": [dev("small", 1, 100)]},
        [
            (["R2"], [("small", "R2", 5, 5)]),
            (["R1"], [("small", "R1", 3, 3)]),
            (["R4"], [("small", "R4", 1, 1)]),
        ],
        [NO_RATING],
    ),
]


def test_fit_table(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed_room()
        for name, data, expected, rejected in CASES:
            answer = fit(read_request(data), now=NOW)
            got = [
                (
                    c["racks"],
                    [(p["device"], p["rack"], p["u_start"], p["u_end"]) for p in c["placements"]],
                )
                for c in answer["candidates"]
            ]
            assert got == expected, name
            got_rejected = [(r["rack"], r["code"], r["reason"]) for r in answer["rejected"]]
            assert got_rejected == rejected, name


def test_fit_figures_and_chinese(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed_room()
        request = read_request(
            {
                "devices": [
                    dev(
                        "app",
                        2,
                        300,
                        feeds=2,
                        ports={"10g": 1},
                        addresses={"prefix": "10.1.2.0/29"},
                    )
                ]
            }
        )
        answer = fit(request, now=NOW)
        (candidate,) = answer["candidates"]
        (placement,) = candidate["placements"]
        assert placement["ports"] == [
            {"switch": "SW1", "port": "XGigabitEthernet1/0/1", "speed": "10G"}
        ]
        assert placement["feeds"] == "A+B"
        (figures,) = candidate["figures"]
        # 900 measured + 300 = 1,200 of 2,000 on each feed; room 1,850 of 4,000
        assert figures["feed_percent_after"] == {"A": 60.0, "B": 60.0}
        assert figures["room_cooling_percent_after"] == 46.2
        assert (figures["u_free_before"], figures["u_free_after"]) == (7, 5)
        assert figures["room_ports_free_after"] == {"1G": 1}
        # the registry's next free address of the prefix: .5 (.1-.4 taken)
        assert answer["prefixes"]["10.1.2.0/29"] == {"free_before": 2, "next_free": "10.1.2.5"}
    with db_app.test_request_context(), force_locale("zh_Hans_CN"):
        answer = fit(read_request({"devices": [dev("big", 2, 100)]}), now=NOW)
        reasons = {r["rack"]: r["reason"] for r in answer["rejected"]}
        assert reasons == {"R3": "机柜未登记额定功率", "R4": "没有连续 2U 空位（最长空位 1U）"}


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        (
            {"devices": [dev("big", 48, 100)]},
            ["devices[0] (big).u: 48U is taller than any rack (the tallest has 10U)."],
        ),
        (
            {"devices": [dev("a", 1, 100), dev("b", 1, "600W")]},  # type: ignore[arg-type]
            ["devices[1] (b).watts: “600W” is not a number of watts (e.g. 600)."],
        ),
        (
            {"devices": [{"name": "a", "watts": 100}]},
            ["devices[0] (a).u: missing (the height in rack units, e.g. 2)."],
        ),
        (
            {"devices": [dev("a", 1, 100, addresses={"prefix": "10.9.9.0/24"})]},
            ["devices[0] (a).addresses.prefix: 10.9.9.0/24 is not a registered prefix."],
        ),
        (
            {"room": "B机房", "devices": [dev("a", 1, 100, feeds=3)]},
            ["room: no room named “B机房”.", "devices[0] (a).feeds: “3” is not 1 or 2."],
        ),
    ],
)
def test_bad_input(app: Flask, data: dict[str, Any], errors: list[str]) -> None:
    with app.app_context(), app.test_request_context(), force_locale("en"):
        seed_room()
        with pytest.raises(PlanInputError) as caught:
            read_request(data)
        assert caught.value.errors == errors


def test_cli(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        seed_room()
    runner = app.test_cli_runner()
    good = tmp_path / "plan.yaml"
    good.write_text("room: A机房\ndevices:\n  - {name: app, u: 2, watts: 300, feeds: 2}\n")
    with clock.frozen(NOW):
        result = runner.invoke(args=["plan", str(good), "--json", "--lang", "en"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert [
        (p["rack"], p["u_start"], p["u_end"]) for p in answer["candidates"][0]["placements"]
    ] == [("R1", 5, 6)]
    assert {r["rack"]: r["reason"] for r in answer["rejected"]}["R4"] == (
        "no contiguous 2U (longest free run 1U)"
    )
    with clock.frozen(NOW):
        text = runner.invoke(args=["plan", str(good)])
    assert text.exit_code == 0
    assert "候选 1" in text.output and "R1 U5-U6" in text.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("devices:\n  - {name: big, u: 48, watts: 600W}\n")
    result = runner.invoke(args=["plan", str(bad), "--lang", "en"])
    assert result.exit_code == 2
    assert "devices[0] (big).u: 48U is taller than any rack (the tallest has 10U)." in result.output
    assert "devices[0] (big).watts: “600W” is not a number of watts (e.g. 600)." in result.output


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("750", 750),
        ("750 W", 750),
        ("0.75 kW", 750),
        ("1.25kw", 1250),
        (600.0, 600),
        ("25 千瓦", 25000),
    ],
)
def test_power_spec_in_watts(app: Flask, typed: Any, stored: int) -> None:
    with app.test_request_context():
        assert parse_value("power_watts", typed) == stored
        assert normalise({"额定功率": typed}) == ({"power_watts": stored}, [])


def test_power_spec_and_rack_rating_refused(app: Flask) -> None:
    with app.test_request_context(), force_locale("en"):
        with pytest.raises(SpecError, match="is not a power in watts"):
            parse_value("cooling_watts", "25 horsepower")
        site, _ = services.get_or_create_site("总部")
        room, _ = services.get_or_create_room(site, "A机房")
        with pytest.raises(ValidationFailed) as caught:
            services.save_rack({"room": room, "name": "R9", "power_b_watts": 2000})
        assert caught.value.errors == {
            "power_a_watts": ["A rack with a feed B needs the rating of its feed A."]
        }
        with pytest.raises(ValidationFailed) as caught:
            services.save_rack({"room": room, "name": "R9", "power_a_watts": "2000W"})
        assert caught.value.errors == {
            "power_a_watts": ["The rated power is a whole number of watts above 0."]
        }


def test_rack_form_and_api_keep_the_power_ratings(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        site, _ = services.get_or_create_site("总部")
        room, _ = services.get_or_create_room(site, "A机房")
        db.session().commit()
        room_id = room.id
    login(client, "engineer")
    only_b = {"room": str(room_id), "name": "R9", "u_height": "42", "power_b_watts": "3680"}
    refused = post_form(client, "/assets/racks/new", only_b)
    assert refused.status_code == 400
    assert "须先填写 A 路的额定功率" in refused.get_data(as_text=True)
    response = post_form(client, "/assets/racks/new", {**only_b, "power_a_watts": "7360"})
    assert response.status_code == 302
    with app.app_context():
        rack = db.session().scalar(select(Rack).where(Rack.name == "R9"))
        assert (rack.power_a_watts, rack.power_b_watts) == (7360, 3680)
        rack_id = rack.id
    api = app.test_client()
    headers = _token(app, "engineer")
    got = api.get(f"/api/v1/racks/{rack_id}", headers=headers).get_json()
    assert (got["power_a_watts"], got["power_b_watts"]) == (7360, 3680)
    changed = api.patch(f"/api/v1/racks/{rack_id}", json={"power_b_watts": None}, headers=headers)
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert (body["power_a_watts"], body["power_b_watts"]) == (7360, None)


def test_racks_of_the_same_name_in_two_sites_are_two_candidates(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed_room()
        other, _ = services.get_or_create_site("分部")
        room, _ = services.get_or_create_room(other, "A机房")
        services.save_rack(
            {"room": room, "name": "R1", "u_height": 10, "power_a_watts": 2000,
             "power_b_watts": 2000}
        )  # fmt: skip
        db.session().commit()
        # the model of every site (a plan naming none is fitted in one: test_plan_scope)
        every = capacity.load(now=NOW)
        answer = fit(read_request({"devices": [dev("small", 1, 100)]}), model=every, now=NOW)
        # 分部's empty R1: 1 - 100/2000 = 95 % headroom left, before 总部's R4 (88 %)
        got = [(c["site"], c["racks"], c["placements"][0]["u_start"]) for c in answer["candidates"]]
        assert got == [
            ("分部", ["R1"], 1),
            ("总部", ["R4"], 1),
            ("总部", ["R1"], 3),
            ("总部", ["R2"], 5),
        ]
        assert [r["rack"] for r in answer["rejected"]] == ["R3"]
