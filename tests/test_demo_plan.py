"""The living demo answers ``opskit plan`` (``assets.plan``) with real figures: its racks' power
ratings (``site.yaml``'s ``rack_power``), the PDUs' seeded readings (``apc_pdu_light``: about
3,140 W at the 95th percentile, ``apc_pdu_heavy``: about 5,840 W), the air conditioners'
capacity and the access switches' ports (``opskit.demo.ports``); and its plan in progress
(``opskit.demo.plans``: two servers reserved)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from assets import capacity
from assets.models import Reservation, ReservedAddress, ReservedPort, ReservedUnit
from assets.plan import fit, read_request
from opskit import db
from tests.conftest import demo_app, demo_seeded_at

pytestmark = pytest.mark.xdist_group("demo_plan")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Flask]:
    yield from demo_app(tmp_path_factory, demo_template, "demo-plan")


def test_the_demo_answers_a_plan(demo: Flask) -> None:
    with demo.app_context(), demo.test_request_context(), force_locale("en"):
        now = demo_seeded_at()
        model = capacity.load(now=now)
        racks = {r.name: r for r in model.racks.values()}
        # room A fed twice, room B once; every rack measured by its PDU
        assert (racks["A01"].rated_a, racks["A01"].rated_b) == (7360, 7360)
        assert (racks["B01"].rated_a, racks["B01"].rated_b) == (7360, None)
        assert {r.load_source for r in racks.values()} == {"measured"}
        # the PDUs' measured draw (the plan in progress adds its planned watts to load_w)
        assert racks["A03"].feed_w["A"] > 5800 > 3200 > racks["A01"].feed_w["A"]
        rooms = {r.name: r for r in model.rooms.values()}
        assert rooms["一号机房"].cooling_w == 50_000
        free = [p.port for p in rooms["一号机房"].ports]
        # ports 1-12 polled: the linked ones are up, 12 had traffic three days ago
        assert free and all(p.startswith("XGigabitEthernet1/0/") for p in free)
        assert "XGigabitEthernet1/0/12" not in free
        plan = {
            "room": "一号机房",
            "devices": [
                {"name": f"app-{i}", "u": 2, "watts": 600, "feeds": 2, "ports": {"10G": 1}}
                for i in (1, 2)
            ],
        }
        answer = fit(read_request(plan), now=now)
        assert answer["candidates"], answer["rejected"]
        assert {c["racks"][0] for c in answer["candidates"]} <= {"A01", "A02", "A05"}
        rejected = {r["rack"]: r["code"] for r in answer["rejected"]}
        assert rejected == {"A03": "power", "A04": "power"}
        assert all(r["reason"].startswith("feed A over 80 %") for r in answer["rejected"])


def test_the_demo_has_a_plan_in_progress(demo: Flask) -> None:
    with demo.app_context():
        sess = db.session()
        (reservation,) = sess.scalars(select(Reservation)).all()
        assert (reservation.plan, reservation.owner, reservation.status) == (
            "OA 系统扩容",
            "张伟",
            "reserved",
        )
        assert [p["device"] for p in reservation.placements] == ["OA-新-01", "OA-新-02"]
        # two 2U servers: four units, a 10G port and an address each
        assert sess.scalar(select(func.count()).select_from(ReservedUnit)) == 4
        assert sess.scalar(select(func.count()).select_from(ReservedPort)) == 2
        addresses = sess.scalars(select(ReservedAddress.address)).all()
        assert len(addresses) == 2 and all(a.startswith("10.20.") for a in addresses)
        assert reservation.expires_at - demo_seeded_at() == timedelta(days=10)
        # the capacity model counts them: the held units are not free
        model = capacity.load(now=demo_seeded_at())
        held = {(r.name, u) for r in model.racks.values() for u in r.reserved}
        assert len(held) == 4
