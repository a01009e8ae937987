"""Moves carried out on site (``inspections.moves``) on SQLite and PostgreSQL: powering a step
off writes the logbook's power-off and a maintenance window for the asset (an alert raised
then is silenced); racking it writes the power-on, ends the window, and leaves the logbook and
the window as they were when the unit was taken meanwhile. The pages: roles, CSRF, the new
plan form (errors keep what was typed, a retried form is one plan), the tablet flow and the
asset page's move history."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import func, select

from assets.models import Asset, Rack
from assets.move_models import MovePlan, MoveStep
from assets.moves import services as moves
from inspections.logbook.models import PowerEvent
from inspections.moves import services as onsite
from opskit import clock, db
from opskit.alerts import services as alerts
from opskit.alerts.models import MaintenanceWindow
from opskit.models import User
from opskit.validation import ValidationFailed
from tests import factories
from tests.assets.test_moves import seed, two_steps
from tests.conftest import login, post_form


def _power(asset_id: int) -> list[tuple[str, str]]:
    rows = db.session().execute(
        select(PowerEvent.action, PowerEvent.reason)
        .where(PowerEvent.asset_id == asset_id)
        .order_by(PowerEvent.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_logbook_and_maintenance_around_a_step(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        racks = seed()
        plan = db.write(lambda: moves.create_plan("north", two_steps(), "Engineer"))
        one, two = plan.steps
        user = db.session().scalar(select(User).where(User.username == "engineer"))
        tz = clock.site_tz()
        srv1 = one.asset_id
        db.write(lambda: onsite.power_off(plan.id, one.id, "SRV-1", tz, user))
        reason = "Move north, step 1: A01 U10-U11 → B01 U10-U11"
        assert _power(srv1) == [("off", reason)]
        window = db.session().get(
            MaintenanceWindow, db.session().get(MoveStep, one.id).maintenance_id
        )
        assert (window.asset_id, window.reason) == (srv1, reason)
        assert window.ends_at > clock.now()
        # an alert of the asset raised while it is off is silenced
        alert = db.write(
            lambda: alerts.raise_alert(
                "test.move",
                source="manual",
                rule="manual",
                urgency="B",
                message="SRV-1 unreachable",
                asset_id=srv1,
            )
        )
        assert alert.silenced
        # a retry writes no second power-off
        assert db.write(lambda: onsite.power_off(plan.id, one.id, "SRV-1", tz, user)).already
        assert len(_power(srv1)) == 1
        later = clock.now() + timedelta(minutes=25)
        with clock.frozen(later):
            db.write(lambda: onsite.finish(plan.id, one.id, "B01", tz, user))
        assert _power(srv1) == [("off", reason), ("on", reason)]
        db.session().expire_all()
        assert db.session().get(MaintenanceWindow, window.id).ends_at == later
        assert db.write(lambda: onsite.finish(plan.id, one.id, "B01", tz, user)).already
        assert len(_power(srv1)) == 2
        # the second step collides: no power-on, the window stays open
        db.write(
            lambda: factories.asset("NEW", rack=db.session().get(Rack, racks["B01"]), u_position=20)
        )
        db.write(lambda: onsite.power_off(plan.id, two.id, "SRV-2", tz, user))
        try:
            db.write(lambda: onsite.finish(plan.id, two.id, "B01", tz, user))
        except ValidationFailed as exc:
            assert exc.errors["rack"] == [
                "Collision: U20 of rack B01 is already occupied by NEW. Nothing was changed; "
                "choose another U."
            ]
        else:
            raise AssertionError("the collision was not refused")
        db.session().expire_all()
        step = db.session().get(MoveStep, two.id)
        assert [a for a, _r in _power(step.asset_id)] == ["off"]
        assert db.session().get(MaintenanceWindow, step.maintenance_id).ends_at > clock.now()


def _plan_id(client: FlaskClient) -> int:
    found = re.search(r"/moves/(\d+)", client.get("/moves/").get_data(as_text=True))
    assert found
    return int(found.group(1))


def test_pages_roles_csrf_and_the_tablet_flow(db_app: Flask, db_client: FlaskClient) -> None:
    with db_app.app_context():
        seed()
        db.session().commit()
    form = {
        "name": "二号机房搬迁",
        "client_token": "token-12345",
        "rows": "3",
        "asset-0": "SRV-1",
        "to_rack-0": "A机房/B01",
        "to_u-0": "10",
        "ports-0": "eth0>SW-2:Gi1/0/1",
        "address-0": "10.0.1.11",
        "asset-1": "http://opskit.example/a/SRV-2",
        "to_rack-1": "B01",
        "to_u-1": "20",
    }
    # a viewer reads, but may not write
    viewer = db_app.test_client()
    login(viewer, "viewer")
    assert viewer.get("/moves/").status_code == 200
    assert post_form(viewer, "/moves/new", form).status_code == 403
    login(db_client, "engineer")
    # no CSRF token: refused
    assert db_client.post("/moves/new", data=form).status_code == 400
    # a wrong row: the form comes back with what was typed and the row named
    bad = {**form, "to_u-1": "4O"}
    page = post_form(db_client, "/moves/new", bad)
    text = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "第 2 步（http://opskit.example/a/SRV-2）" not in text
    assert "第 2 步 (SRV-2): 新 U 位必须是整数，实际为“4O”。" in text
    assert 'value="4O"' in text
    with db_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(MovePlan)) == 0
    # saved once, even when sent twice
    assert post_form(db_client, "/moves/new", form).status_code == 302
    assert post_form(db_client, "/moves/new", form).status_code == 302
    with db_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(MovePlan)) == 1
        steps = db.session().scalars(select(MoveStep).order_by(MoveStep.position)).all()
        one, two = steps[0].id, steps[1].id
    plan_id = _plan_id(db_client)
    detail = db_client.get(f"/moves/{plan_id}").get_data(as_text=True)
    assert "已搬迁 0 / 2" in detail
    assert "eth0: — → SW-2 Gi1/0/1" in detail
    assert "10.0.0.11 → 10.0.1.11" in detail
    # the tablet: an asset not in the plan
    carry = f"/moves/{plan_id}/carry"
    text = db_client.get(carry, query_string={"tag": "OLD"}).get_data(as_text=True)
    assert "扫描到 OLD，它不在搬迁计划 二号机房搬迁 中；应为以下之一：SRV-1, SRV-2。" in text
    text = db_client.get(carry, query_string={"tag": "SRV-1"}).get_data(as_text=True)
    assert "第 1 步：SRV-1 SRV-1" in text and "关机" in text
    assert (
        post_form(
            db_client, f"/moves/{plan_id}/steps/{one}/off", {"asset_tag": "SRV-1"}
        ).status_code
        == 302
    )
    # out of order: SRV-2 while SRV-1 is off
    resp = post_form(db_client, f"/moves/{plan_id}/steps/{two}/off", {"asset_tag": "SRV-2"})
    text = db_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "扫描到 SRV-2，但第 1 步（SRV-1）已关机：请先扫描其新机柜 B01 完成该步。" in text
    assert "上架并开机" in text
    # a viewer cannot rack it
    finish = f"/moves/{plan_id}/steps/{one}/finish"
    assert post_form(viewer, finish, {"rack_code": "B01"}).status_code == 403
    assert post_form(viewer, f"/moves/{plan_id}/cancel").status_code == 403
    assert "新建搬迁计划" not in viewer.get("/moves/").get_data(as_text=True)
    resp = post_form(db_client, finish, {"rack_code": "B01"})
    text = db_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "SRV-1 已上架到 B01 U10-U11 并开机。" in text
    assert "已搬迁 1 / 2" in text
    # pause: the tablet says so; resume
    post_form(db_client, f"/moves/{plan_id}/pause")
    assert "本次搬迁已暂停，恢复后继续。" in db_client.get(carry).get_data(as_text=True)
    post_form(db_client, f"/moves/{plan_id}/resume")
    post_form(db_client, f"/moves/{plan_id}/steps/{two}/off", {"asset_tag": "SRV-2"})
    post_form(db_client, f"/moves/{plan_id}/steps/{two}/finish", {"rack_code": "B01"})
    detail = db_client.get(f"/moves/{plan_id}").get_data(as_text=True)
    assert "已搬迁 2 / 2" in detail
    assert '<span class="badge text-bg-secondary fs-6" id="move-state">已完成</span>' in detail
    # the asset page: the move's history
    with db_app.app_context():
        srv1 = db.session().scalar(select(Asset).where(Asset.asset_tag == "SRV-1"))
        asset_id = srv1.id
    page = db_client.get(f"/assets/{asset_id}").get_data(as_text=True)
    history = page[page.index('id="asset-moves"') :]
    assert "二号机房搬迁" in history
    assert "A01 U10-U11" in history and "B01 U10-U11" in history
    assert "Engineer" in history


def two_at_once(db_app: Flask, work: Callable[[], moves.Outcome]) -> dict[str, object]:
    """``work`` run by two threads released at the same moment, each in its own transaction
    (a double tap on two connections): thread name → its outcome's ``already``, or the error."""
    barrier = threading.Barrier(2)
    outcome: dict[str, object] = {}

    def tap(name: str) -> None:
        with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
            db.session().scalar(select(func.count()).select_from(MovePlan))  # connected first
            barrier.wait()
            try:
                outcome[name] = db.write(work).already
            except Exception as exc:  # the test reports what happened
                outcome[name] = repr(exc)

    threads = [threading.Thread(target=tap, args=(name,)) for name in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcome


def test_two_taps_at_once_rack_the_asset_once(db_app: Flask) -> None:
    """Two submissions of 上架并开机 at the same moment (a double tap on two connections):
    one racks the asset, the other finds the step done; one power-on in the logbook."""
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        plan = db.write(lambda: moves.create_plan("north", two_steps(), "Engineer"))
        plan_id, step_id, asset_id = plan.id, plan.steps[0].id, plan.steps[0].asset_id
        db.write(lambda: onsite.power_off(plan_id, step_id, "SRV-1", clock.site_tz(), None))
    outcome = two_at_once(
        db_app, lambda: onsite.finish(plan_id, step_id, "B01", clock.site_tz(), None)
    )
    assert sorted(outcome.values(), key=str) == [False, True], outcome
    with db_app.app_context():
        assert [a for a, _r in _power(asset_id)] == ["off", "on"]
        assert db.session().get(MoveStep, step_id).state == "done"
