"""Skipping a move step on SQLite and PostgreSQL: a pending step skipped with a reason (kept on
the step, shown on the move's page and the asset's history, in the audit log) frees the units it
was to take and its asset; a step powered off cannot be skipped (the message says why); a retry
or two taps at once skip it once; only engineers and admins skip, from the plan's page or the
tablet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from assets.models import Asset
from assets.move_models import MovePlan, MoveStep
from assets.moves import services as moves
from inspections.moves import services as onsite
from opskit import clock, db
from opskit.models import AuditLog, User
from opskit.validation import ValidationFailed
from tests.assets.test_moves import seed, two_steps
from tests.conftest import login, post_form
from tests.inspections.test_moves_onsite import two_at_once

REASON = "客户要求 SRV-2 留在原位"


def _user(name: str) -> User:
    return db.session().scalars(select(User).where(User.username == name)).one()


def _refusal(work: object) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        db.write(work)  # type: ignore[arg-type]
    return caught.value.errors


def test_a_pending_step_is_skipped_once_and_frees_its_units(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        plan = db.write(lambda: moves.create_plan("north", two_steps(), "Engineer"))
        plan_id, one, two = plan.id, plan.steps[0].id, plan.steps[1].id
        engineer, supervisor = _user("engineer"), _user("supervisor")
        # SRV-2's target B01 U20 is held by the plan: another plan may not take it
        other = [{"asset": "OLD", "to_rack": "B01", "to_u": 20}]
        assert _refusal(lambda: moves.create_plan("east", other, "Admin")) == {
            "step 1": ["Step 1 (OLD): U20 of rack B01 is where move plan north puts SRV-2."]
        }
        # a reason is required; a supervisor may not skip
        assert _refusal(lambda: onsite.skip(plan_id, two, "  \n ", engineer)) == {
            "reason": ["Say why the step is skipped."]
        }
        with pytest.raises(onsite.NotAllowed):
            db.write(lambda: onsite.skip(plan_id, two, REASON, supervisor))
        assert db.session().get(MoveStep, two).state == "pending"
        # skipped, with who, when and why
        at = clock.now()
        with clock.frozen(at):
            outcome = db.write(lambda: onsite.skip(plan_id, two, f" {REASON} ", engineer))
        assert not outcome.already
        step = db.session().get(MoveStep, two)
        assert (step.state, step.skip_reason, step.done_by) == ("skipped", REASON, "Engineer")
        assert step.done_at == at
        # a retry (a reload, a double tap) changes nothing
        with clock.frozen(at + timedelta(minutes=5)):
            assert db.write(lambda: onsite.skip(plan_id, two, "another reason", engineer)).already
        db.session().expire_all()
        step = db.session().get(MoveStep, two)
        assert (step.skip_reason, step.done_at) == (REASON, at)
        # the units and the asset are free: another plan may take U20 and move SRV-2
        east = db.write(lambda: moves.create_plan("east", other, "Admin"))
        srv2 = [{"asset": "SRV-2", "to_rack": "B01", "to_u": 30}]
        db.write(lambda: moves.create_plan("south", srv2, "Admin"))
        assert [s.state for s in east.steps] == ["pending"]
        # step 1 powered off cannot be skipped; racked, it finishes the plan
        tz = clock.site_tz()
        db.write(lambda: onsite.power_off(plan_id, one, "SRV-1", tz, engineer))
        assert _refusal(lambda: onsite.skip(plan_id, one, "no time", engineer)) == {
            "step": [
                "Step 1 (SRV-1) is powered off and its alerts are in maintenance: skipping it "
                "would leave it so. Rack it and power it on first."
            ]
        }
        db.write(lambda: onsite.finish(plan_id, one, "B01", tz, engineer))
        db.session().expire_all()
        found = db.session().get(MovePlan, plan_id)
        assert (found.state, found.done_count) == ("done", 2)
        # SRV-2 did not move
        srv = db.session().scalar(select(Asset).where(Asset.asset_tag == "SRV-2"))
        assert (srv.rack.name, srv.u_position) == ("A01", 20)
        # the audit log has the skip and its reason
        rows = (
            db.session()
            .scalars(
                select(AuditLog).where(
                    AuditLog.object_type == "move_step", AuditLog.object_id == str(two)
                )
            )
            .all()
        )
        assert any(REASON in str(r.changes) for r in rows)


def test_paused_or_moved_steps_are_not_skipped(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        steps = [*two_steps(), {"asset": "OLD", "to_rack": "B01", "to_u": 30}]
        plan = db.write(lambda: moves.create_plan("north", steps, "Engineer"))
        plan_id, one, two = plan.id, plan.steps[0].id, plan.steps[1].id
        tz = clock.site_tz()
        db.write(lambda: onsite.power_off(plan_id, one, "SRV-1", tz, None))
        db.write(lambda: onsite.finish(plan_id, one, "B01", tz, None))
        assert _refusal(lambda: onsite.skip(plan_id, one, "late", None)) == {
            "step": ["SRV-1 was already moved (step 1)."]
        }
        db.write(lambda: moves.pause(plan_id))
        assert _refusal(lambda: onsite.skip(plan_id, two, "late", None)) == {
            "scan": ["Move plan north is paused: resume it first."]
        }
        assert db.session().get(MoveStep, two).state == "pending"


def test_two_taps_at_once_skip_the_step_once(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        plan = db.write(lambda: moves.create_plan("north", two_steps(), "Engineer"))
        plan_id, step_id = plan.id, plan.steps[1].id
    outcome = two_at_once(db_app, lambda: onsite.skip(plan_id, step_id, "tapped", None))
    assert sorted(outcome.values(), key=str) == [False, True], outcome
    with db_app.app_context():
        step = db.session().get(MoveStep, step_id)
        assert step.state == "skipped" and step.skip_reason == "tapped"


def _ids(db_app: Flask) -> tuple[int, int, int, int]:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        plan = db.write(lambda: moves.create_plan("二号机房搬迁", two_steps(), "Engineer"))
        srv2 = plan.steps[1].asset_id
        return plan.id, plan.steps[0].id, plan.steps[1].id, srv2


def test_skip_on_the_move_page_and_the_tablet(db_app: Flask, db_client: FlaskClient) -> None:
    plan_id, one, two, srv2 = _ids(db_app)
    detail, carry = f"/moves/{plan_id}", f"/moves/{plan_id}/carry"
    skip_two = f"/moves/{plan_id}/steps/{two}/skip"
    # supervisors and viewers see no skip form and are refused
    for name in ("supervisor", "viewer"):
        other = db_app.test_client()
        login(other, name)
        assert "move-skip" not in other.get(detail).get_data(as_text=True)
        assert post_form(other, skip_two, {"reason": REASON}).status_code == 403
    login(db_client, "engineer")
    # no CSRF token: refused
    assert db_client.post(skip_two, data={"reason": REASON}).status_code == 400
    page = db_client.get(detail).get_data(as_text=True)
    assert page.count('class="mt-1 move-skip"') == 2  # each pending step
    # no reason: said, nothing skipped
    resp = post_form(db_client, skip_two, {"reason": " ", "back": detail})
    assert resp.headers["Location"] == detail
    assert "请说明跳过该步骤的原因。" in db_client.get(detail).get_data(as_text=True)
    # the tablet: the scanned pending step offers 跳过
    page = db_client.get(carry, query_string={"tag": "SRV-2"}).get_data(as_text=True)
    assert 'id="move-skip"' in page and "跳过此步骤…" in page
    resp = post_form(db_client, skip_two, {"reason": REASON, "back": carry})
    assert resp.headers["Location"] == carry
    page = db_client.get(carry).get_data(as_text=True)
    assert "第 2 步已跳过：SRV-2 留在原处。" in page
    # a double tap: nothing said twice, nothing changed
    post_form(db_client, skip_two, {"reason": "again", "back": carry})
    assert "第 2 步已跳过" not in db_client.get(carry).get_data(as_text=True)
    # a foreign back address is not followed
    resp = post_form(db_client, skip_two, {"reason": REASON, "back": "https://evil.example/"})
    assert resp.headers["Location"] == detail
    # the move's page and the asset's history say why
    page = db_client.get(detail).get_data(as_text=True)
    assert f"跳过原因：{REASON}" in page or f"跳过原因: {REASON}" in page
    assert "已搬迁 0 / 2 · " in page and "已跳过 1 步" in page
    history = db_client.get(f"/assets/{srv2}").get_data(as_text=True)
    history = history[history.index('id="asset-moves"') :]
    assert REASON in history and "二号机房搬迁" in history
    with db_app.app_context():
        step = db.session().get(MoveStep, two)
        assert (step.state, step.skip_reason, step.done_by) == ("skipped", REASON, "Engineer")
        assert db.session().get(MoveStep, one).state == "pending"
