"""Schemathesis drives every operation of ``/api/v1/openapi.json`` against the app in-process.

The document is OpenAPI 3.1 generated from the pydantic models (``opskit.openapi``), read from a
full app, so every domain's operations join as they are declared; a route under ``/api/v1`` that
is not declared (no schema) fails ``test_every_api_route_is_in_the_document``.

With an engineer's token (writes allowed) and a seeded registry, generated requests — valid ones
and hostile ones (wrong types, missing fields, odd text) — must never get a server error, and
every response must match the document's own schema, content type and listed status codes.

Bounded: a fixed seed (derandomized Hypothesis), a few examples per operation and mode, no
example database, no shrinking. Each test gets its own app on its own copy of one database the
session seeded once (the registry, the request, the token), and the literals schemathesis reads
from the app's source to generate with are read once, not once per operation (0.25 s each).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assets import services
from assets.models import Reservation
from assets.moves import services as moves
from inspections.vulns import services as vulns
from monitors import rollups
from monitors import services as monitors
from monitors.configs.models import ConfigDevice
from monitors.models import Reading
from opskit import auth, clock, db, openapi
from opskit.audit import acting_as
from opskit.models import User
from opskit.servicedesk import services as requests
from tests import factories
from tests.configs import stored
from tests.conftest import make_test_app
from tests.vulns.scans import Item, ScanHost, nessus

# the API against its document; dates in it are generated, not today's
pytestmark = pytest.mark.dateless

MAX_EXAMPLES = 15
#: Operations whose every valid request does a whole job: a pack build writes every report kind
#: (1-2 s each); its body is two optional fields, which a few examples cover
EXAMPLES = {("POST", "/api/v1/report-packs", GenerationMode.POSITIVE): 4}
SEED = 20_240_601
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def _whole_document() -> dict[str, Any]:
    """The document of a full app: every domain's operations, those added later too."""
    with tempfile.TemporaryDirectory() as folder:
        make_test_app("sqlite://", Path(folder), None)
    return openapi.document("", "")


_PATHS = _whole_document()["paths"]
OPERATIONS = sorted((method.upper(), path) for path, ops in _PATHS.items() for method in ops)


def _can_be_wrong(op: dict[str, Any]) -> bool:
    """True if some input of the operation can be invalid: a body, a query parameter, a path
    parameter with a constraint (any text is a valid ``{name}``: nothing to make wrong there)."""
    return "requestBody" in op or any(
        p["in"] != "path" or p["schema"] != {"type": "string"} for p in op.get("parameters", ())
    )


#: Each operation with valid data, and with invalid data where it takes any input that can be.
RUNS = [
    pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
    for method, path in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _can_be_wrong(_PATHS[path][method.lower()])
]


def _seed_registry() -> None:
    rack = factories.rack("总部", "A机房", "A01")
    factories.rack("总部", "A机房", "A02", u_height=24)
    server = factories.asset("SRV-001", rack=rack, u_position=10, u_height=2)
    switch = factories.asset("SW-001", kind="switch", rack=rack, u_position=40)
    factories.asset("UPS-001", kind="ups", room=rack.room)
    factories.prefix("10.1.20.0/24", vlan=20, gateway="10.1.20.1")
    factories.prefix("2001:db8::/64")
    services.save_address({"address": "10.1.20.11", "asset": server})
    services.save_address({"address": "10.1.20.12", "asset": switch, "status": "reserved"})
    services.save_link(server, "eth0", switch, "Gi1/0/1")
    # a service request (id 1, the documents' example id) for its steps to act on
    requests.open_request(
        description="打印机卡纸",
        category="hardware",
        channel="phone",
        urgency="C",
        asset_tag="SRV-001",
    )


def _seed_monitoring() -> None:
    """A monitor (id 1) of SRV-001 (asset 1) and an hour of its UPS load readings, for the
    monitors' and the readings' operations."""
    monitors.add_monitor(1, "ping", {"host": "192.0.2.11"})
    now = clock.now()
    db.session().add_all(
        Reading(
            asset_id=1,
            metric="ups.output.load_percent",
            at=now - timedelta(minutes=5 * n),
            value=40.0 + n,
        )
        for n in range(12)
    )


def _seed_vulns() -> None:
    """A scan (id 1) with a medium finding (id 1) on a host no one registered (no alert)."""
    with tempfile.TemporaryDirectory() as folder:
        started = clock.now() - timedelta(hours=1)
        items = [Item("9001", 22, 2, name="Weak SSH ciphers")]
        vulns.import_file(
            nessus(Path(folder) / "seed.nessus", started, [ScanHost("10.9.9.9", items=items)])
        )


def _seed_configs() -> None:
    """SRV-001's configuration backups (device of asset 1, versions 1 and 2); a fetch of it
    fails at once (nothing listens on 127.0.0.1:9)."""
    db.session().add(
        ConfigDevice(asset_id=1, platform="cisco_ios", host="127.0.0.1", port=9, username="b")
    )
    at = clock.now() - timedelta(days=1)
    first = stored.version(1, 1, at, "hostname SRV-001\nend")
    stored.version(1, 2, at + timedelta(hours=1), "hostname SRV-01\nend").previous_id = first.id


def _seed_reservation() -> None:
    """A reservation (id 1) holding nothing yet, for the planning's operations."""
    expires = clock.now() + timedelta(days=14)
    db.session().add(
        Reservation(plan="种子预留", owner="工程师", expires_at=expires, placements=[])
    )
    # a move plan (id 1): SW-001 from A01 U40 to A02 U20, not started
    moves.create_plan("种子搬迁", [{"asset": "SW-001", "to_rack": "A02", "to_u": 20}], "工程师")


def _seed_desk() -> None:
    """An alert (id 1) of SRV-001, an incident (id 1) opened from it, a visit and a power event
    (ids 1) in the logbook, for the alerts', incidents' and logbook's operations."""
    from datetime import timedelta as _delta

    from inspections.logbook import services as logbook
    from opskit.alerts import incidents
    from opskit.alerts import services as alerts
    from opskit.i18n import site_tz

    alert = alerts.raise_alert(
        "monitor:srv-001:down",
        source="monitor",
        rule="device.unreachable",
        urgency="B",
        message="SRV-001 无法访问",
        asset_id=1,
        at=db.utcnow() - _delta(minutes=20),
    )
    incidents.open_from_alert(alert)
    logbook.record_entry(
        {"room_id": "1", "name": "李雷", "purpose": "巡检", "client_token": "seed-visit-1"},
        site_tz(),
    )
    logbook.record_power(
        {"asset_tag": "SRV-001", "action": "off", "reason": "换电源", "performed_by": "李雷"},
        site_tz(),
    )


def _seed_patrol(engineer: User) -> None:
    """A patrol plan (id 1) of room 1 and the engineer's round of it (id 1), submitted with a
    finding (id 1), for the patrol's operations (after the desk's: its alert stays id 1)."""
    from inspections import services as patrol

    normal = {
        "cold_aisle_temperature": "23.5",
        "cold_aisle_humidity": "48",
        "hot_aisle_temperature": "33",
        "no_water_leak": "fail",
        "no_smell_or_noise": "pass",
        "lighting": "pass",
        "cleanliness": "clean",
    }
    answers = [
        {"checklist": "room_environment", "item": key, "value": value, "note": "空调下方有积水"}
        for key, value in normal.items()
    ]
    plan = patrol.save_plan(
        {
            "name": "每日环境巡检",
            "room_id": 1,
            "checklist_keys": ["room_environment"],
            "schedule_times": "09:00",
        }
    )
    with acting_as(engineer.username, engineer.id):
        patrol.start_round("seed-round-1", room_id=1, plan_id=plan.id)
        patrol.submit_round("seed-round-1", {"answers": answers, "signature_name": "工程师"})


def _token(app: Flask) -> str:
    with app.test_request_context("/"):
        sess = db.session()
        _seed_registry()
        _seed_vulns()
        _seed_configs()
        _seed_reservation()
        _seed_desk()
        _seed_monitoring()
        engineer = sess.query(User).filter_by(username="engineer").one()
        _seed_patrol(engineer)
        token = auth.create_token(engineer, "schemathesis")
        sess.commit()
    return token


def test_every_api_route_is_in_the_document(app: Flask) -> None:
    """A route under ``/api/v1`` of the full app that is not declared with
    ``opskit.openapi.operation`` (no schema) fails here, and so does a declared operation
    without its route."""
    routes = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = app.test_client().get("/api/v1/openapi.json", headers=_bearer(app)).get_json()
    operations = {(m.upper(), path) for path, ops in documented["paths"].items() for m in ops}
    assert routes - operations == set(), "routes without a schema"
    assert operations - routes == set(), "documented operations without a route"
    assert len(routes) >= 44


def _bearer(app: Flask) -> dict[str, str]:
    with app.app_context():
        viewer = db.session().query(User).filter_by(username="viewer").one()
        token = auth.create_token(viewer, "route walk")
        db.session().commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def seeded_database(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, persona_hashes: dict[str, str]
) -> tuple[Path, str]:
    """A database with the personas, the registry and the request, and the engineer's token."""
    folder = tmp_path_factory.mktemp("schemathesis")
    path = folder / "opskit.db"
    shutil.copyfile(sqlite_template, path)
    app = make_test_app(f"sqlite:///{path}", folder / "instance", persona_hashes)
    token = _token(app)
    app.extensions["opskit.engine"].dispose()
    return path, token


@pytest.fixture
def seeded_app(seeded_database: tuple[Path, str], tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    """A fresh app on a fresh copy of the seeded database, and the token that opens it."""
    template, token = seeded_database
    path = tmp_path / "opskit.db"
    shutil.copyfile(template, path)
    app = make_test_app(f"sqlite:///{path}", tmp_path / "instance", None)
    yield app, token
    app.extensions["opskit.engine"].dispose()


#: schemathesis's pool of the literals in the app's modules, the same for every app of the
#: session: read from the first schema, handed to the others (a schema keeps it per app object)
_CONSTANTS: dict[str, Any] = {}


@pytest.mark.parametrize(("method", "path", "mode"), RUNS)
def test_operation_conforms_to_the_document(
    seeded_app: tuple[Flask, str], method: str, path: str, mode: GenerationMode
) -> None:
    app, token = seeded_app
    headers = {"Authorization": f"Bearer {token}"}
    config = schemathesis.Config(seed=SEED)
    config.projects.default.update(headers=headers)
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=config, headers=headers
    )
    if "pool" in _CONSTANTS:
        _app, version, pool = _CONSTANTS["pool"]
        schema._constants_pool_cache = (app, version, pool)
    operation = schema[path][method]

    @settings(
        max_examples=EXAMPLES.get((method, path, mode), MAX_EXAMPLES),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(mode))
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
    if "pool" not in _CONSTANTS and schema._constants_pool_cache is not None:
        _CONSTANTS["pool"] = schema._constants_pool_cache


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_readings_in_each_layout_conform(seeded_app: tuple[Flask, str], layout: str) -> None:
    """The readings' two answers with values in them (generated requests seldom name the seeded
    metric and span), raw and rolled up with stats, against the document: ``ReadingsAnswer``
    is one of ``Readings`` and ``ReadingColumns`` by ``layout``."""
    app, token = seeded_app
    with app.app_context():  # the seeded hour of readings in 5-minute rollups too
        rollups.run(now=clock.now(), since=clock.now() - timedelta(hours=2))
        db.session().commit()
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=headers)
    operation = schema["/api/v1/readings"]["GET"]
    for rollup in ("raw", "5min"):
        query = {"metric": "ups.output.load_percent", "rollup": rollup, "stats": "true"}
        case = operation.Case(query={**query, "layout": layout})
        response = case.call(headers=headers)
        body = response.json()
        values = body["rows"] if layout == "rows" else body["chunks"][0]["value"]
        assert response.status_code == 200 and values, body
        case.validate_response(response, checks=CHECKS, headers=headers)
