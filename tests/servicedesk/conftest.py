"""Fixtures of the service-desk tests: a request context on every database under test, a small
registry (two rooms, assets and a spare), and the moment the tests count from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from assets.models import Asset
from opskit import clock, db
from tests import factories


@pytest.fixture
def ctx(db_app: Flask) -> Iterator[Session]:
    with db_app.test_request_context("/"):
        yield db.session()


@dataclass(frozen=True)
class Site:
    server: Asset  # in room A
    printer: Asset  # in room A, another rack
    switch: Asset  # in room B
    spare: Asset  # a spare server, room A
    spare2: Asset


@pytest.fixture
def site(ctx: Session) -> Site:
    a1 = factories.rack(room="A机房", name="A01")
    a2 = factories.rack(room="A机房", name="A02")
    b1 = factories.rack(room="B机房", name="B01")
    made = Site(
        server=factories.asset("SRV-01", name="财务服务器", rack=a1, u_position=1),
        printer=factories.asset("PRN-01", kind="other", name="打印机", rack=a2, u_position=1),
        switch=factories.asset("SW-01", kind="switch", name="接入交换机", rack=b1, u_position=1),
        spare=factories.asset("SPARE-01", name="备机 1", rack=a1, u_position=5, status="spare"),
        spare2=factories.asset("SPARE-02", name="备机 2", rack=a1, u_position=7, status="spare"),
    )
    ctx.commit()
    return made


@pytest.fixture
def t0() -> datetime:
    """A day before now, to the minute: requests are raised then, steps are taken after it, and
    every test hands its "now" to the code explicitly (no date is fixed)."""
    return (clock.now() - timedelta(days=1)).replace(second=0, microsecond=0)
