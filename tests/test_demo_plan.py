"""The living demo answers ``opskit plan`` (``assets.plan``) with real figures: its racks' power
ratings (``site.yaml``'s ``rack_power``), the PDUs' seeded readings (``apc_pdu_light``: about
3,140 W at the 95th percentile, ``apc_pdu_heavy``: about 5,840 W), the air conditioners'
capacity and the access switches' ports (``opskit.demo.ports``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale

from assets import capacity
from assets.plan import fit, read_request
from opskit import db
from opskit.models import SiteSetting
from tests.conftest import copy_demo, make_test_app

pytestmark = pytest.mark.xdist_group("demo_plan")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Flask]:
    folder = tmp_path_factory.mktemp("demo-plan")
    app = make_test_app(copy_demo(demo_template, folder), folder / "instance", None)
    yield app
    app.extensions["opskit.engine"].dispose()


def _seeded_at() -> datetime:
    marker = db.session().get(SiteSetting, "demo")
    assert marker is not None
    return datetime.fromisoformat(json.loads(marker.value)["created_at"])


def test_the_demo_answers_a_plan(demo: Flask) -> None:
    with demo.app_context(), demo.test_request_context(), force_locale("en"):
        now = _seeded_at()
        model = capacity.load(now=now)
        racks = {r.name: r for r in model.racks.values()}
        # room A fed twice, room B once; every rack measured by its PDU
        assert (racks["A01"].rated_a, racks["A01"].rated_b) == (7360, 7360)
        assert (racks["B01"].rated_a, racks["B01"].rated_b) == (7360, None)
        assert {r.load_source for r in racks.values()} == {"measured"}
        assert racks["A03"].load_w > 5800 > 3200 > racks["A01"].load_w
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
