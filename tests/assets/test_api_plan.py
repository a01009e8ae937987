"""Planning through the JSON API on SQLite and PostgreSQL: a fit answers what ``opskit plan
--json`` prints (viewers may ask; a wrong plan is 422 keyed by the plan's place, nothing
written); accepting a candidate reserves it once (a retry under the same name is 409, nothing
held twice); reservations listed and released. On the room of ``test_plan``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assets.models import Reservation, ReservedUnit
from opskit import auth, clock, db
from opskit.models import User
from tests.assets.test_plan import NOW, dev, seed_room

# the room's readings are seeded at fixed instants and the clock is frozen on them
pytestmark = pytest.mark.dateless

APP = {
    "devices": [dev("app", 2, 300, feeds=2, ports={"10G": 1}, addresses={"prefix": "10.1.2.0/29"})]
}


@pytest.fixture
def api(db_app: Flask) -> dict[str, Any]:
    with db_app.test_request_context("/"), clock.frozen(NOW):
        seed_room()
        headers = {}
        for name in ("engineer", "viewer"):
            user = db.session().scalars(select(User).where(User.username == name)).one()
            headers[name] = {"Authorization": f"Bearer {auth.create_token(user, 'script')}"}
        db.session().commit()
    return headers


def _held(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(ReservedUnit)) or 0


def test_a_fit_answers_what_the_command_prints(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any], tmp_path: Path
) -> None:
    with clock.frozen(NOW):
        got = db_client.post("/api/v1/plan/fit", json=APP, headers=api["viewer"])
        assert got.status_code == 200, got.get_json()
        answer = got.get_json()
        placements = answer["candidates"][0]["placements"]
        assert [(p["rack"], p["u_start"], p["u_end"]) for p in placements] == [("R1", 5, 6)]
        path = tmp_path / "plan.yaml"
        path.write_text(yaml.safe_dump(APP, allow_unicode=True), encoding="utf-8")
        printed = db_app.test_cli_runner().invoke(args=["plan", str(path), "--json"])
        assert printed.exit_code == 0, printed.output
        assert json.loads(printed.stdout) == answer

        wrong = {"devices": [{"name": "big", "u": 99}], "room": "没有这个机房"}
        bad = db_client.post("/api/v1/plan/fit", json=wrong, headers=api["viewer"])
        assert bad.status_code == 422
        assert set(bad.get_json()["fields"]) == {"room", "devices[0] (big).u"}
        unknown = db_client.post(
            "/api/v1/plan/fit", json={**APP, "colour": 1}, headers=api["viewer"]
        )
        assert unknown.status_code == 422 and "colour" in unknown.get_json()["fields"]
    assert _held(db_app) == 0


def test_a_candidate_is_reserved_once_listed_and_released(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    body = {"plan": APP, "candidate": 1, "name": "OA 扩容"}
    with clock.frozen(NOW):
        assert (
            db_client.post(
                "/api/v1/plan/reservations", json=body, headers=api["viewer"]
            ).status_code
            == 403
        )
        nothing = {**body, "candidate": 9}
        missing = db_client.post("/api/v1/plan/reservations", json=nothing, headers=api["engineer"])
        assert missing.status_code == 422 and "candidate" in missing.get_json()["fields"]
        made = db_client.post("/api/v1/plan/reservations", json=body, headers=api["engineer"])
        assert made.status_code == 201, made.get_json()
        held = made.get_json()
        assert (held["plan"], held["status"], held["status_label"]) == (
            "OA 扩容",
            "reserved",
            "预留",
        )
        assert made.headers["Location"] == f"/api/v1/plan/reservations/{held['id']}"
        assert _held(db_app) == 2
        again = db_client.post("/api/v1/plan/reservations", json=body, headers=api["engineer"])
        assert again.status_code == 409 and "plan" in again.get_json()["fields"]
        assert _held(db_app) == 2

        listed = db_client.get(
            "/api/v1/plan/reservations", query_string={"status": "reserved"}, headers=api["viewer"]
        ).get_json()
        assert [r["id"] for r in listed["items"]] == [held["id"]]
        url = f"/api/v1/plan/reservations/{held['id']}/release"
        assert db_client.post(url, headers=api["viewer"]).status_code == 403
        freed = db_client.post(url, headers=api["engineer"])
        assert freed.status_code == 200 and freed.get_json()["status"] == "released"
        assert _held(db_app) == 0
        with db_app.app_context():
            assert db.session().scalar(select(func.count()).select_from(Reservation)) == 1
