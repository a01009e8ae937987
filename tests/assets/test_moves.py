"""Move plans in the registry (``assets.moves.services``) on SQLite and PostgreSQL: a plan is
checked whole (nothing written when a step is wrong), steps are done one at a time (out of
order refused naming the step powered off), a unit taken meanwhile is refused naming who holds
it and nothing changes, a retry does nothing twice, a paused plan refuses every step."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from assets.models import Asset, Link, Rack, RackUnit
from assets.move_models import MovePlan, MoveStep
from assets.moves import queries, services
from assets.services import reservations
from opskit import clock, db
from opskit.validation import ValidationFailed
from tests import factories


def seed() -> dict[str, int]:
    """Rack A01 (SRV-1 at U10-U11, SRV-2 at U20), rack B01 (OLD at U5, switch SW-2 at U42).
    A plan's own assets may leave units its other steps take (OLD's U5 is free for a plan
    that moves OLD)."""
    a01 = factories.rack(name="A01")
    b01 = factories.rack(name="B01")
    factories.asset("SRV-1", rack=a01, u_position=10, u_height=2, mgmt_ip="10.0.0.11")
    factories.asset("SRV-2", rack=a01, u_position=20, u_height=1)
    factories.asset("OLD", rack=b01, u_position=5, u_height=1)
    factories.asset("SW-2", kind="switch", rack=b01, u_position=42, u_height=1)
    return {"A01": a01.id, "B01": b01.id}


def two_steps() -> list[dict[str, object]]:
    return [
        {
            "asset": "SRV-1",
            "to_rack": "B01",
            "to_u": 10,
            "ports": [{"port": "eth0", "to_switch": "SW-2", "to_port": "Gi1/0/1"}],
            "address": "10.0.1.11",
        },
        {"asset": "SRV-2", "to_rack": "B01", "to_u": 20},
    ]


def make(name: str = "机房搬迁") -> MovePlan:
    return db.write(lambda: services.create_plan(name, two_steps(), "Engineer"))


def test_plan_checked_whole_and_nothing_written(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        factories.asset("FIX", rack=db.session().scalar(select(Rack).where(Rack.name == "B01")),
                        u_position=7)  # fmt: skip
        db.session().commit()
        steps = [
            {"asset": "SRV-1", "to_rack": "B01", "to_u": 6},  # 2U: FIX is at U7
            {"asset": "NOPE", "to_rack": "B01", "to_u": 30},
            {"asset": "SRV-2", "to_rack": "B01", "to_u": "twelve"},
            {"asset": "SRV-2", "to_rack": "B01", "to_u": 42},  # SW-2
            {"asset": "OLD", "to_rack": "C09", "to_u": 1},
            {"asset": "OLD", "to_rack": "B01", "to_u": 42},
        ]
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.create_plan("", steps, "Engineer"))
        assert caught.value.errors == {
            "name": ["A move plan needs a name."],
            "step 1": ["Step 1 (SRV-1): U7 of rack B01 is already occupied by FIX."],
            "step 2": ["Step 2 (NOPE): No asset has the tag “NOPE”."],
            "step 3": ["Step 3 (SRV-2): The new U must be a whole number, got “twelve”."],
            "step 4": ["Step 4 (SRV-2): U42 of rack B01 is already occupied by SW-2."],
            "step 5": [
                "Step 5 (OLD): No rack C09 (write room/rack when the name is in several rooms)."
            ],
            "step 6": ["Step 6 (OLD): U42 of rack B01 is already occupied by SW-2."],
        }
        assert db.session().scalar(select(func.count()).select_from(MovePlan)) == 0
        # outside the rack; a second plan for the same units; an asset already in a plan
        make()
        with pytest.raises(ValidationFailed) as caught:
            db.write(
                lambda: services.create_plan(
                    "second",
                    [
                        {"asset": "OLD", "to_rack": "B01", "to_u": 20},
                        {"asset": "SRV-1", "to_rack": "A01", "to_u": 42},
                    ],
                    "Engineer",
                )
            )
        assert caught.value.errors == {
            "step 1": ["Step 1 (OLD): U20 of rack B01 is where move plan 机房搬迁 puts SRV-2."],
            "step 2": [
                "Step 2 (SRV-1): SRV-1 is in move plan 机房搬迁.",
                "Step 2 (SRV-1): U42-U43 is outside rack A01 (1-42 U).",
            ],
        }


def test_reserved_unit_refused_at_creation(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        racks = seed()
        now = clock.now()
        candidate = {
            "placements": [
                {
                    "device": "web",
                    "rack": "B01",
                    "rack_id": racks["B01"],
                    "u_start": 30,
                    "u_end": 31,
                }
            ]
        }
        db.write(lambda: reservations.accept(candidate, "web", "张伟", now + timedelta(days=7)))
        with pytest.raises(ValidationFailed) as caught:
            db.write(
                lambda: services.create_plan(
                    "m", [{"asset": "SRV-2", "to_rack": "B01", "to_u": 31}], "Engineer"
                )
            )
        until = (now + timedelta(days=7)).date().isoformat()
        assert caught.value.errors == {
            "step 1": [f"Step 1 (SRV-2): U31 of rack B01 is reserved for plan web until {until}."]
        }


def test_two_asset_move_out_of_order_collision_retry(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        racks = seed()
        plan = make()
        one, two = plan.steps
        sess = db.session()
        # the first step: SRV-1 off; scanning SRV-2 meanwhile is out of order
        done = db.write(lambda: services.power_off(plan.id, one.id, "SRV-1"))
        assert not done.already and done.step.state == "powered_off"
        assert sess.get(MovePlan, plan.id).state == "in_progress"
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.power_off(plan.id, two.id, "SRV-2"))
        assert caught.value.errors == {
            "scan": [
                "Scanned SRV-2, but step 1 (SRV-1) is powered off: finish it first by scanning "
                "its new rack B01."
            ]
        }
        assert sess.get(MoveStep, two.id).state == "pending"
        # a retried power-off writes nothing
        assert db.write(lambda: services.power_off(plan.id, one.id, "SRV-1")).already
        # the wrong rack scanned
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.finish_step(plan.id, one.id, "A01", "Engineer"))
        assert caught.value.errors == {"rack": ["Scanned rack A01; SRV-1 goes to rack B01."]}
        moved = db.write(lambda: services.finish_step(plan.id, one.id, "b01", "Engineer"))
        assert not moved.already
        srv1 = sess.scalar(select(Asset).where(Asset.asset_tag == "SRV-1"))
        assert (srv1.rack_id, srv1.u_position, srv1.mgmt_ip) == (racks["B01"], 10, "10.0.1.11")
        units = sess.scalars(
            select(RackUnit.unit).where(RackUnit.asset_id == srv1.id).order_by(RackUnit.unit)
        ).all()
        assert units == [10, 11]
        link = sess.scalar(select(Link))
        assert {link.a_port, link.b_port} == {"eth0", "Gi1/0/1"}
        # a retried finish writes nothing
        assert db.write(lambda: services.finish_step(plan.id, one.id, "B01", "Engineer")).already
        # meanwhile someone puts NEW at B01 U20: the second step collides, nothing changes
        db.write(
            lambda: factories.asset(
                "NEW", rack=sess.get(Rack, racks["B01"]), u_position=20, u_height=1
            )
        )
        db.write(lambda: services.power_off(plan.id, two.id, "SRV-2"))
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.finish_step(plan.id, two.id, "B01", "Engineer"))
        assert caught.value.errors == {
            "rack": [
                "Collision: U20 of rack B01 is already occupied by NEW. Nothing was changed; "
                "choose another U."
            ]
        }
        sess.expire_all()
        srv2 = sess.scalar(select(Asset).where(Asset.asset_tag == "SRV-2"))
        assert (srv2.rack_id, srv2.u_position) == (racks["A01"], 20)
        assert sess.get(MoveStep, two.id).state == "powered_off"
        # another U: refused while taken, then U21
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.set_step_to_u(plan.id, two.id, 20))
        assert caught.value.errors == {"to_u": ["U20 of rack B01 is already occupied by NEW."]}
        db.write(lambda: services.set_step_to_u(plan.id, two.id, 21))
        db.write(lambda: services.finish_step(plan.id, two.id, "A机房/B01", "Engineer"))
        sess.expire_all()
        srv2 = sess.scalar(select(Asset).where(Asset.asset_tag == "SRV-2"))
        assert (srv2.rack_id, srv2.u_position) == (racks["B01"], 21)
        finished = sess.get(MovePlan, plan.id)
        assert (finished.state, finished.done_count) == ("done", 2)
        assert finished.finished_at is not None
        history = queries.moves_of_asset(srv2.id)
        assert [
            (h.plan.name, queries.where(h.from_rack, h.from_u, 1), h.done_by) for h in history
        ] == [("机房搬迁", "A01 U20", "Engineer")]
        # a finished plan refuses further scans
        with pytest.raises(ValidationFailed) as caught:
            services.check_scan(finished, "SRV-1")
        assert caught.value.errors == {"scan": ["Move plan 机房搬迁 is Done."]}


def test_scans_refused_by_name_and_pause(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        plan = make()
        with pytest.raises(ValidationFailed) as caught:
            services.check_scan(plan, "OLD")
        assert caught.value.errors == {
            "scan": [
                "Scanned OLD, which is not in move plan 机房搬迁; expected one of: SRV-1, SRV-2."
            ]
        }
        one = plan.steps[0]
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.power_off(plan.id, one.id, "SRV-2"))
        assert caught.value.errors == {"scan": ["Scanned SRV-2; this step moves SRV-1."]}
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.finish_step(plan.id, one.id, "B01", "Engineer"))
        assert caught.value.errors == {
            "scan": ["Step 1 (SRV-1) is not powered off: scan the asset and power it off first."]
        }
        db.write(lambda: services.pause(plan.id))
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.power_off(plan.id, one.id, "SRV-1"))
        assert caught.value.errors == {"scan": ["Move plan 机房搬迁 is paused: resume it first."]}
        assert db.session().get(MoveStep, one.id).state == "pending"
        db.write(lambda: services.resume(plan.id))
        assert db.session().get(MovePlan, plan.id).state == "draft"
        db.write(lambda: services.power_off(plan.id, one.id, "SRV-1"))
        db.write(lambda: services.pause(plan.id))
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.finish_step(plan.id, one.id, "B01", "Engineer"))
        assert caught.value.errors == {"scan": ["Move plan 机房搬迁 is paused: resume it first."]}
        db.write(lambda: services.resume(plan.id))
        assert db.session().get(MovePlan, plan.id).state == "in_progress"


def test_a_chain_inside_one_plan_and_retried_creation(db_app: Flask) -> None:
    """SRV-2 takes SRV-1's old units in the same plan: allowed at creation, refused only if
    done before SRV-1 has left; a retried form (same client token) is the same plan."""
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        steps = [
            {"asset": "SRV-2", "to_rack": "A01", "to_u": 10},
            {"asset": "SRV-1", "to_rack": "B01", "to_u": 30},
        ]
        first = db.write(lambda: services.create_plan("链", steps, "E", client_token="tok-1").id)
        again = db.write(lambda: services.create_plan("链", steps, "E", client_token="tok-1").id)
        assert first == again
        plan = db.session().get(MovePlan, first)
        srv2, _srv1 = plan.steps
        db.write(lambda: services.power_off(plan.id, srv2.id, "SRV-2"))
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.finish_step(plan.id, srv2.id, "A01", "E"))
        assert caught.value.errors["rack"] == [
            "Collision: U10 of rack A01 is already occupied by SRV-1. Nothing was changed; "
            "choose another U."
        ]


def test_cli_create_list_show(app: Flask, tmp_path) -> None:
    with app.app_context():
        seed()
        db.session().commit()
    runner = app.test_cli_runner()
    good = tmp_path / "north.yaml"
    good.write_text(
        "name: 北区搬迁\nsteps:\n"
        "  - {asset: SRV-1, to_rack: B01, to_u: 10, address: 10.0.1.11}\n"
        "  - {asset: SRV-2, to_rack: B01, to_u: 20}\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["moves", "create", str(good), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Move plan 北区搬迁 (#1) made with 2 steps." in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - {asset: SRV-1, to_rack: B01, to_u: 30}\n", encoding="utf-8")
    result = runner.invoke(args=["moves", "create", str(bad), "--lang", "en"])
    assert result.exit_code == 2
    assert "error: Step 1 (SRV-1): SRV-1 is in move plan 北区搬迁." in result.output
    listed = json.loads(runner.invoke(args=["moves", "list", "--json"]).output)
    assert listed == [
        {"name": "北区搬迁", "state": "draft", "owner": listed[0]["owner"], "done": 0, "total": 2}
    ]
    shown = json.loads(runner.invoke(args=["moves", "show", "北区搬迁", "--json"]).output)
    assert [(s["asset"], s["from"], s["to"], s["state"]) for s in shown["steps"]] == [
        ("SRV-1", "A01 U10-U11", "B01 U10-U11", "pending"),
        ("SRV-2", "A01 U20", "B01 U20", "pending"),
    ]
    assert shown["steps"][0]["addresses"] == [{"from": "10.0.0.11", "to": "10.0.1.11"}]
    missing = runner.invoke(args=["moves", "show", "南区"])
    assert missing.exit_code == 1


def test_cancel_frees_the_targets(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        plan = make()
        one = plan.steps[0]
        db.write(lambda: services.power_off(plan.id, one.id, "SRV-1"))
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.cancel(plan.id))
        assert caught.value.errors == {
            "plan": ["Step 1 (SRV-1) is powered off: rack it before cancelling the plan."]
        }
        db.write(lambda: services.finish_step(plan.id, one.id, "B01", "Engineer"))
        db.write(lambda: services.cancel(plan.id))
        cancelled = db.session().get(MovePlan, plan.id)
        assert (cancelled.state, [s.state for s in cancelled.steps]) == (
            "cancelled",
            ["done", "pending"],
        )
        with pytest.raises(ValidationFailed) as caught:
            db.write(lambda: services.cancel(plan.id))
        assert caught.value.errors == {"plan": ["Only an open move plan can be cancelled."]}
        # SRV-2's target (B01 U20) is free for another plan now
        again = db.write(
            lambda: services.create_plan(
                "again", [{"asset": "SRV-2", "to_rack": "B01", "to_u": 20}], "Engineer"
            )
        )
        assert [s.to_u for s in again.steps] == [20]
