"""Reservations (``assets.services.reservations``): accepting a plan holds its units, ports and
addresses; the fit and the registry respect them; expired ones are released; two plans accepted
at the same moment for the same units: exactly one reservation, on SQLite and PostgreSQL. On
the room of ``test_plan`` (R1: free U3 and U5-U10, 900 W measured on feeds of 2,000 W; one free
10G port, XGE1/0/1 of SW1; 10.1.2.0/29 with .5 and .6 free)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from assets.models import Rack, Reservation, ReservedAddress, ReservedPort, ReservedUnit
from assets.plan import fit, read_request
from assets.services import reservations
from opskit import clock, db
from opskit.validation import ValidationFailed
from tests import factories
from tests.assets.test_plan import NOW, dev, seed_room
from tests.conftest import login, post_form

APP = {
    "devices": [dev("app", 2, 300, feeds=2, ports={"10G": 1}, addresses={"prefix": "10.1.2.0/29"})]
}


def _best(data: dict[str, Any]) -> dict[str, Any]:
    answer = fit(read_request(data), now=clock.now())
    return answer["candidates"][0]


def test_accept_holds_and_the_fit_and_the_registry_respect_it(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        seed_room()
        candidate = _best(APP)
        assert [(p["rack"], p["u_start"], p["u_end"]) for p in candidate["placements"]] == [
            ("R1", 5, 6)
        ]
        held = db.write(
            lambda: reservations.accept(candidate, "web", "张伟", NOW + timedelta(days=7)).id
        )
        sess = db.session()
        units = sess.execute(select(ReservedUnit.unit, ReservedUnit.device)).all()
        assert sorted(units) == [(5, "app"), (6, "app")]
        assert sess.execute(select(ReservedPort.port)).scalars().all() == ["XGigabitEthernet1/0/1"]
        # the prefix's next free address (.1 gateway, .2-.4 registered)
        assert sess.execute(select(ReservedAddress.address)).scalars().all() == ["10.1.2.5"]
        assert sess.get(Reservation, held).status == "reserved"
        # the fit: U5-U6 held, the 10G port held, one address left, 300 W more on R1
        answer = fit(read_request(APP), now=NOW)
        assert answer["candidates"] == []
        assert {r["rack"]: r["reason"] for r in answer["rejected"]}["R1"] == (
            "no free 10G port (0 free in room A机房, 1 needed)"
        )
        again = fit(
            read_request(
                {"devices": [dev("b", 2, 300, feeds=2, addresses={"prefix": "10.1.2.0/29"})]}
            ),
            now=NOW,
        )
        best = again["candidates"][0]
        assert [(p["rack"], p["u_start"]) for p in best["placements"]] == [("R1", 7)]
        # 900 measured + 300 held + 300 = 1,500 of 2,000
        assert best["figures"][0]["feed_percent_after"] == {"A": 75.0, "B": 75.0}
        assert again["prefixes"]["10.1.2.0/29"]["free_before"] == 1
        # the registry's forms: U5 is held
        rack = sess.scalar(select(Rack).where(Rack.name == "R1"))
        with pytest.raises(ValidationFailed) as caught:
            factories.asset("NEW-1", rack=rack, u_position=5, u_height=1)
        assert caught.value.errors["u_position"] == [
            "U5 of rack R1 is reserved for plan web until 2026-03-17."
        ]
        sess.rollback()
        # released: free again
        db.write(lambda: reservations.release(held))
        assert sess.scalar(select(func.count()).select_from(ReservedUnit)) == 0
        assert sess.get(Reservation, held).status == "released"
        assert [(p["rack"], p["u_start"]) for p in _best(APP)["placements"]] == [("R1", 5)]


def test_two_devices_take_the_next_two_addresses(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        seed_room()
        on_29 = {"prefix": "10.1.2.0/29"}
        pair = {"devices": [dev("a", 1, 100, addresses=on_29), dev("b", 1, 100, addresses=on_29)]}
        db.write(lambda: reservations.accept(_best(pair), "pair", "", NOW + timedelta(days=1)))
        rows = db.session().execute(select(ReservedAddress.device, ReservedAddress.address))
        assert sorted(rows) == [("a", "10.1.2.5"), ("b", "10.1.2.6")]


def test_an_expired_reservation_holds_nothing(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        with clock.frozen(NOW):
            seed_room()
            first = db.write(
                lambda: reservations.accept(_best(APP), "old", "", NOW + timedelta(hours=1)).id
            )
        with clock.frozen(NOW + timedelta(hours=2)):
            candidate = _best(APP)
            assert [(p["rack"], p["u_start"]) for p in candidate["placements"]] == [("R1", 5)]
            second = db.write(
                lambda: reservations.accept(candidate, "new", "", NOW + timedelta(days=1)).id
            )
        sess = db.session()
        assert sess.get(Reservation, first).status == "released"
        assert sess.get(Reservation, second).status == "reserved"
        assert set(sess.scalars(select(ReservedUnit.reservation_id))) == {second}


def test_two_plans_accepted_at_once_one_wins(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        seed_room()
        candidate = _best({"devices": [dev("app", 2, 300)]})
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def accept(name: str) -> None:
        with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
            db.session().scalar(select(func.count()).select_from(Rack))  # connected first
            barrier.wait()
            try:
                outcome[name] = db.write(
                    lambda: reservations.accept(candidate, name, "", NOW + timedelta(days=7)).id
                )
            except ValidationFailed as exc:
                outcome[name] = exc.errors["plan"][0]

    with clock.frozen(NOW):
        threads = [threading.Thread(target=accept, args=(name,)) for name in ("A", "B")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
    won = [name for name, result in outcome.items() if isinstance(result, int)]
    assert len(won) == 1, outcome
    lost = "B" if won == ["A"] else "A"
    # R1: a 2U at U5-U6 (the smallest run of 2U). The loser names the first unit it found held:
    # U5, or U6 when the winner committed between its two checks (PostgreSQL, read committed)
    assert outcome[lost] in {f"U{u} of rack R1 is reserved for plan {won[0]}." for u in (5, 6)}
    with db_app.app_context():
        sess = db.session()
        assert sess.scalars(select(Reservation.plan)).all() == won
        assert sorted(sess.scalars(select(ReservedUnit.unit))) == [5, 6]


def test_the_database_refuses_a_unit_held_twice(db_app: Flask) -> None:
    with db_app.app_context(), clock.frozen(NOW):
        seed_room()
        sess = db.session()
        rack_id = sess.scalar(select(Rack.id).where(Rack.name == "R1"))
        for plan in ("A", "B"):
            sess.add(Reservation(plan=plan, owner="", expires_at=NOW + timedelta(days=1)))
        sess.flush()
        ids = sess.scalars(select(Reservation.id).order_by(Reservation.id)).all()
        sess.add(ReservedUnit(reservation_id=ids[0], rack_id=rack_id, unit=5))
        sess.flush()
        sess.add(ReservedUnit(reservation_id=ids[1], rack_id=rack_id, unit=5))
        with pytest.raises(IntegrityError):
            sess.flush()
        sess.rollback()


def test_cli_accept_and_release(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        seed_room()
    plan = tmp_path / "web.yaml"
    plan.write_text("room: A机房\ndevices:\n  - {name: app, u: 2, watts: 300, feeds: 2}\n")
    runner = app.test_cli_runner()
    with clock.frozen(NOW):
        result = runner.invoke(args=["plan", str(plan), "--accept", "1", "--lang", "en"])
        assert result.exit_code == 0, result.output
        assert (
            "Reserved candidate 1 as reservation #1 (plan web) until 2026-03-24." in result.output
        )
        again = runner.invoke(args=["plan", str(plan), "--accept", "1", "--lang", "en"])
        assert again.exit_code == 1
        assert "Plan web already holds reservation #1." in again.output
        as_json = runner.invoke(
            args=["plan", str(plan), "--json", "--accept", "1", "--name", "web-2"]
        )
        assert as_json.exit_code == 0, as_json.output
        # the JSON alone on standard output: the next candidate (U7-U8), then reserved as #2
        assert json.loads(as_json.stdout)["candidates"][0]["placements"][0]["u_start"] == 7
        assert "#2" in as_json.stderr
        refused = runner.invoke(args=["plan", str(plan), "--accept", "9", "--lang", "en"])
        assert refused.exit_code == 1
        assert "there is no candidate 9" in refused.output
        released = runner.invoke(args=["assets", "release", "1"])
    assert released.exit_code == 0, released.output
    with app.app_context():
        # #1's U5-U6 freed, #2's U7-U8 still held
        assert sorted(db.session().scalars(select(ReservedUnit.unit))) == [7, 8]


PLAN_TEXT = "room: A机房\ndevices:\n  - {name: app, u: 2, watts: 300, feeds: 2}\n"


def test_the_planning_page(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        seed_room()
    login(client, "viewer")
    assert "一号机房" in client.get("/assets/plan").get_data(as_text=True)  # the example
    with clock.frozen(NOW):
        page = post_form(client, "/assets/plan", {"plan": PLAN_TEXT})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "U5–U6" in html and "候选 1" in html
    assert "没有连续 2U 空位（最长空位 1U）" in html  # R4, in the user's language
    assert "data-accept" not in html  # a viewer may ask, not reserve
    assert (
        post_form(client, "/assets/plan/accept", {"plan": PLAN_TEXT, "candidate": "1"}).status_code
        == 403
    )
    bad = post_form(
        client, "/assets/plan", {"plan": "devices:\n  - {name: big, u: 48, watts: 600W}\n"}
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400
    assert "devices[0] (big).u：48U 高于所有机柜（最高的机柜为 10U）。" in text
    assert "600W" in text and "{name: big, u: 48" in text  # what was typed is kept
    writer = app.test_client()
    login(writer, "engineer")
    with clock.frozen(NOW):
        form = {"plan": PLAN_TEXT, "candidate": "1", "name": "web"}
        accepted = post_form(writer, "/assets/plan/accept", form)
        assert accepted.status_code == 302
        retried = post_form(writer, "/assets/plan/accept", form)
    assert retried.status_code == 400
    assert "规划 web" in retried.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(select(Reservation.plan)).all() == ["web"]
        assert sorted(db.session().scalars(select(ReservedUnit.unit))) == [5, 6]
