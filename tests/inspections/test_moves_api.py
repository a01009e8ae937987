"""A move's steps through the JSON API on SQLite and PostgreSQL (``inspections.moves.api``):
power off, rack and power on, skip, and the plan's pause, resume and cancel, with the same
services as the tablet (the logbook's power-off/on), the same roles (a viewer's token 403,
skipping for engineers and admins) and a client's retry answered ``already`` with nothing
written twice."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from assets.moves import services as moves
from inspections.logbook.models import PowerEvent
from opskit import auth, db
from opskit.models import User
from tests.assets.test_moves import seed, two_steps


def _headers(name: str) -> dict[str, Any]:
    user = db.session().scalars(select(User).where(User.username == name)).one()
    return {"Authorization": f"Bearer {auth.create_token(user, 't')}"}


def test_steps_and_plan_actions(db_client: FlaskClient, db_app: Flask) -> None:
    with db_app.test_request_context("/"):
        seed()
        plan = moves.create_plan("机房搬迁", two_steps(), "Engineer")
        other = moves.create_plan("备用", [{"asset": "OLD", "to_rack": "A01", "to_u": 30}], "Admin")
        plan_id, one, two, other_id = plan.id, plan.steps[0].id, plan.steps[1].id, other.id
        other_step = other.steps[0].id
        srv1 = plan.steps[0].asset_id
        tokens = {name: _headers(name) for name in ("engineer", "supervisor", "viewer")}
        db.session().commit()
    engineer = tokens["engineer"]
    base = f"/api/v1/moves/{plan_id}"

    def post(path: str, body: Any = None, who: str = "engineer") -> Any:
        return db_client.post(base + path, json=body, headers=tokens[who])

    # a viewer may not; the wrong asset scanned is refused naming it
    assert post(f"/steps/{one}/power-off", {"asset_tag": "SRV-1"}, "viewer").status_code == 403
    wrong = post(f"/steps/{one}/power-off", {"asset_tag": "SRV-2"})
    assert wrong.status_code == 409, wrong.get_json()
    assert wrong.get_json()["message"] == "扫描到 SRV-2；这一步搬迁的是 SRV-1。"
    # powered off once, even when the client retries (the label's URL scanned)
    off = post(f"/steps/{one}/power-off", {"asset_tag": "https://opskit.lan/a/SRV-1"})
    assert off.status_code == 200, off.get_json()
    body = off.get_json()
    assert (body["already"], body["step"]["state"], body["plan"]["state"]) == (
        False,
        "powered_off",
        "in_progress",
    )
    again = post(f"/steps/{one}/power-off", {"asset_tag": "SRV-1"}).get_json()
    assert again["already"] is True and again["step"]["state"] == "powered_off"
    # out of order: SRV-2 while SRV-1 is off
    busy = post(f"/steps/{two}/power-off", {"asset_tag": "SRV-2"})
    assert busy.status_code == 409
    assert "第 1 步（SRV-1）已关机" in busy.get_json()["message"]
    # a step powered off is not skipped; the wrong rack is refused
    assert post(f"/steps/{one}/skip", {"reason": "没时间"}).status_code == 409
    assert post(f"/steps/{one}/finish", {"rack": "A01"}).status_code == 409
    done = post(f"/steps/{one}/finish", {"rack": "B01"})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["step"]["to_where"] == "B01 U10-U11"
    assert post(f"/steps/{one}/finish", {"rack": "B01"}).get_json()["already"] is True
    with db_app.app_context():
        actions = db.session().scalars(
            select(PowerEvent.action).where(PowerEvent.asset_id == srv1).order_by(PowerEvent.id)
        )
        assert list(actions) == ["off", "on"]
    # skipping: a supervisor may not, a reason is required, then once
    assert post(f"/steps/{two}/skip", {"reason": "保留"}, "supervisor").status_code == 403
    blank = post(f"/steps/{two}/skip", {"reason": "  "})
    assert blank.status_code == 422 and "reason" in blank.get_json()["fields"]
    assert post(f"/steps/{two}/skip", {}).status_code == 422
    skipped = post(f"/steps/{two}/skip", {"reason": "客户要求保留原位"})
    assert skipped.status_code == 200, skipped.get_json()
    got = skipped.get_json()
    assert (got["step"]["state"], got["step"]["skip_reason"], got["step"]["done_by"]) == (
        "skipped",
        "客户要求保留原位",
        "Engineer",
    )
    assert (got["plan"]["state"], got["plan"]["steps_done"]) == ("done", 2)
    assert post(f"/steps/{two}/skip", {"reason": "再来"}).get_json()["already"] is True
    read = db_client.get(base, headers=tokens["viewer"]).get_json()
    assert read["steps"][1]["skip_reason"] == "客户要求保留原位"
    # unknown plan, a step of another plan
    assert db_client.post("/api/v1/moves/99999/pause", headers=engineer).status_code == 404
    assert post(f"/steps/{other_step}/skip", {"reason": "x"}).status_code == 404
    # the plan's actions, a retry answered ``already``
    other_base = f"/api/v1/moves/{other_id}"
    paused = db_client.post(f"{other_base}/pause", headers=engineer)
    assert paused.status_code == 200, paused.get_json()
    assert (paused.get_json()["already"], paused.get_json()["plan"]["state"]) == (False, "paused")
    assert db_client.post(f"{other_base}/pause", headers=engineer).get_json()["already"] is True
    assert db_client.post(f"{other_base}/pause", headers=tokens["viewer"]).status_code == 403
    resumed = db_client.post(f"{other_base}/resume", headers=engineer).get_json()
    assert (resumed["already"], resumed["plan"]["state"]) == (False, "draft")
    cancelled = db_client.post(f"{other_base}/cancel", headers=tokens["supervisor"])
    assert cancelled.get_json()["plan"]["state"] == "cancelled"
    assert db_client.post(f"{other_base}/cancel", headers=engineer).get_json()["already"] is True
    refused = db_client.post(f"{other_base}/pause", headers=engineer)
    assert refused.status_code == 409
    assert refused.get_json()["message"] == "只有进行中的搬迁计划可以暂停。"
