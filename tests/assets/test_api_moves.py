"""Move plans through the JSON API on SQLite and PostgreSQL (read only): the plans listed with
their state in words and their steps counted, filtered by state and paged; one plan with its
steps in order, each from where to where."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from opskit import auth, db
from opskit.models import User
from tests.assets.test_moves import make, seed


def test_move_plans_and_their_steps_are_read(db_client: FlaskClient, db_app: Flask) -> None:
    with db_app.test_request_context("/"):
        seed()
        plan_id = make().id
        user = db.session().scalars(select(User).where(User.username == "viewer")).one()
        headers: dict[str, Any] = {"Authorization": f"Bearer {auth.create_token(user, 't')}"}
        db.session().commit()
    listed = db_client.get("/api/v1/moves", headers=headers)
    assert listed.status_code == 200, listed.get_json()
    plans = listed.get_json()["items"]
    assert [
        (p["name"], p["state"], p["state_label"], p["steps_total"], p["steps_done"]) for p in plans
    ] == [("机房搬迁", "draft", "草稿", 2, 0)]
    none = db_client.get("/api/v1/moves", query_string={"state": "done"}, headers=headers)
    assert none.get_json()["total"] == 0
    bad = db_client.get("/api/v1/moves", query_string={"state": "gone"}, headers=headers)
    assert bad.status_code == 422 and "state" in bad.get_json()["fields"]
    got = db_client.get(f"/api/v1/moves/{plan_id}", headers=headers).get_json()
    steps = [(s["asset_tag"], s["from_where"], s["to_where"], s["state"]) for s in got["steps"]]
    assert steps == [
        ("SRV-1", "A01 U10-U11", "B01 U10-U11", "pending"),
        ("SRV-2", "A01 U20", "B01 U20", "pending"),
    ]
    assert got["steps"][0]["ports"] == [
        {"from": "", "port": "eth0", "to_switch": "SW-2", "to_port": "Gi1/0/1"}
    ]
    assert db_client.get("/api/v1/moves/99999", headers=headers).status_code == 404
