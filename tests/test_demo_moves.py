"""The living demo's finished move (``opskit.demo.moves``, ``site.yaml``'s ``move_done``): the
KVM of 二号机房 moved from B01 U20 to U18 two days before the seed, as on the tablet — its
power-off and power-on in the logbook 25 minutes apart, its alerts in maintenance between, the
plan done and the move on the asset's page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from assets.models import Asset
from assets.move_models import MovePlan
from inspections.logbook.models import PowerEvent
from opskit import db
from opskit.alerts.models import MaintenanceWindow
from tests.conftest import demo_app, demo_seeded_at, login

pytestmark = pytest.mark.xdist_group("demo_moves")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Flask]:
    yield from demo_app(tmp_path_factory, demo_template, "demo-moves")


def test_the_demo_has_a_finished_move(demo: Flask) -> None:
    with demo.app_context():
        sess = db.session()
        seeded = demo_seeded_at()
        plan = sess.scalars(select(MovePlan)).one()
        assert (plan.name, plan.state, plan.owner) == ("二号机房 KVM 调整", "done", "张伟")
        (step,) = plan.steps
        kvm = sess.scalar(select(Asset).where(Asset.asset_tag == "ZJ-KVM-002"))
        assert (step.asset_id, step.from_rack.name, step.from_u) == (kvm.id, "B01", 20)
        assert (kvm.rack.name, kvm.u_position) == ("B01", 18)
        off_at = seeded - timedelta(days=2)
        assert step.done_at == off_at + timedelta(minutes=25)
        assert step.done_by == "张伟"
        events = sess.execute(
            select(PowerEvent.action, PowerEvent.occurred_at, PowerEvent.performed_by)
            .where(PowerEvent.asset_id == kvm.id)
            .order_by(PowerEvent.occurred_at)
        ).all()
        assert [tuple(e) for e in events] == [
            ("off", off_at, "张伟"),
            ("on", off_at + timedelta(minutes=25), "张伟"),
        ]
        window = sess.get(MaintenanceWindow, step.maintenance_id)
        assert (window.asset_id, window.starts_at, window.ends_at) == (
            kvm.id,
            off_at,
            off_at + timedelta(minutes=25),
        )
        asset_id, plan_id = kvm.id, plan.id
    client = demo.test_client()
    login(client, "engineer")
    page = client.get(f"/assets/{asset_id}").get_data(as_text=True)
    moves = page[page.index('id="asset-moves"') :]
    assert "二号机房 KVM 调整" in moves and "B01 U20" in moves and "B01 U18" in moves
    detail = client.get(f"/moves/{plan_id}").get_data(as_text=True)
    assert "已搬迁 1 / 1" in detail
