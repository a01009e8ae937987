"""A plan naming no site is fitted in one site chosen from the registry's free rack units
(``assets.plan_scope``), on SQLite and PostgreSQL. Three sites, one room each, 10U racks:

- 北区: rack N1 rated, U1-U6 taken: 4 free units (U7-U10).
- 南区: rack S1 rated, empty (10 free), and rack S2 not rated (never counted).
- 西区: rack W1 rated, empty but U1-U10 held by a live reservation: nothing free.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_babel import force_locale

from assets import services
from assets.plan import fit, read_request
from assets.plan_scope import _takes, site_of
from assets.services import reservations
from opskit import clock, db
from tests import factories
from tests.assets.test_plan import NOW, dev


def _seed() -> dict[str, int]:
    ids = {}
    for site_name, room_name, racks in (
        ("北区", "N机房", [("N1", 2000)]),
        ("南区", "S机房", [("S1", 2000), ("S2", None)]),
        ("西区", "W机房", [("W1", 2000)]),
    ):
        site, _ = services.get_or_create_site(site_name)
        room, _ = services.get_or_create_room(site, room_name)
        db.session().flush()
        ids[site_name] = site.id
        for name, rating in racks:
            rack = services.save_rack(
                {"room": room, "name": name, "u_height": 10, "power_a_watts": rating}
            )
            db.session().flush()
            ids[name] = rack.id
            if name == "N1":
                factories.asset("N-OLD", rack=rack, u_position=1, u_height=6)
    held = {"placements": [{"device": "w", "rack_id": ids["W1"], "rack": "W1", "room": "W机房",
                            "u_start": 1, "u_end": 10, "watts": 100}]}  # fmt: skip
    reservations.accept(held, "west", "", NOW + timedelta(days=3))
    db.session().commit()
    return ids


def test_the_roomiest_site_that_takes_the_devices(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        ids = _seed()
        two = read_request({"devices": [dev("a", 2, 100), dev("b", 2, 100)]})
        assert site_of(two) == (ids["南区"], True)  # 10 free units against 4
        answer = fit(two, now=NOW)
        assert answer["site_chosen"] == "南区"
        assert {c["site"] for c in answer["candidates"]} == {"南区"}
        # named: that site, nothing chosen
        named = read_request({"site": "北区", "devices": [dev("a", 2, 100)]})
        assert site_of(named) == (ids["北区"], False)
        assert fit(named, now=NOW)["site_chosen"] is None
        in_room = read_request({"room": "N机房", "devices": [dev("a", 2, 100)]})
        assert site_of(in_room) == (ids["北区"], False)
        # 12U of devices: no room has 12 free units: every site is fitted, and says why
        big = read_request({"devices": [dev("a", 6, 100), dev("b", 6, 100)]})
        assert site_of(big) == (None, False)
        answer = fit(big, now=NOW)
        assert answer["candidates"] == [] and answer["site_chosen"] is None
        assert sorted(r["rack"] for r in answer["rejected"]) == ["N1", "S1", "S2", "W1"]


def test_runs_take_devices_tallest_first() -> None:
    assert _takes([4, 2], [2, 2, 2])
    assert not _takes([3, 3], [2, 2, 2])
    assert _takes([3, 3], [3, 2])
    assert not _takes([], [1])
