"""Repairs and vendor cases (services and queries), on every database under test: recorded for a
request or an asset, retried saves, every bad field named with nothing written, edits, the two
signatures, who may write, an asset's history and the assets with repeated faults."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opskit import clock, db
from opskit.audit import acting_as
from opskit.servicedesk import queries, services
from opskit.servicedesk.models import Repair, RepairPart
from opskit.servicedesk.services import PartInput
from opskit.validation import ValidationFailed
from tests.servicedesk.conftest import Site
from tests.servicedesk.repair_util import drawn_signature, repair_input, request_row
from tests.servicedesk.util import user_id


def _count(model: type) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


# --- recording -------------------------------------------------------------------------------


def test_a_repair_of_an_asset_is_stored_with_its_parts_and_vendor_case(
    ctx: Session, site: Site, t0: datetime
) -> None:
    with acting_as("engineer", user_id("engineer")):
        repair = db.write(
            lambda: services.record_repair(
                repair_input(t0), asset_id=site.server.id, client_id="form-repair-0001"
            )
        )
    row = ctx.scalar(select(Repair).where(Repair.client_id == "form-repair-0001"))
    assert row is not None and row.id == repair.id
    assert (row.asset_id, row.request_id, row.created_by) == (site.server.id, None, "engineer")
    assert (row.vendor, row.vendor_case_number, row.rma_number) == (
        "华为",
        "C-2026-0815",
        "RMA-77881",
    )
    assert row.downtime_end - row.downtime_start == timedelta(hours=2, minutes=30)
    assert row.vendor_opened_at == t0 - timedelta(hours=1)
    assert row.cost == Decimal("1200.50")
    assert row.work_done == "更换 2 号硬盘并重建阵列"
    assert [(p.part, p.serial_out, p.serial_in, p.quantity) for p in row.parts] == [
        ("600GB SAS 硬盘", "WX-OLD-001", "WX-NEW-002", 1)
    ]
    year = row.created_at.astimezone(clock.site_tz()).year
    assert queries.repair_number(row) == f"RP-{year}-{row.id:04d}"


def test_the_same_client_id_again_is_one_repair(ctx: Session, site: Site, t0: datetime) -> None:
    save = lambda: services.record_repair(  # noqa: E731
        repair_input(t0), asset_id=site.server.id, client_id="retry-repair-01"
    )
    first = db.write(save)
    again = db.write(
        lambda: services.record_repair(
            repair_input(t0, fault="saved again"),
            asset_id=site.server.id,
            client_id="retry-repair-01",
        )
    )
    assert again.id == first.id and again.fault == "RAID 阵列降级，2 号硬盘告警"
    assert _count(Repair) == 1 and _count(RepairPart) == 1


def test_a_repair_for_a_request_takes_the_request_s_asset_or_the_tag_typed(
    ctx: Session, site: Site, t0: datetime
) -> None:
    req = request_row(site.server.id, t0)
    ctx.commit()
    of_request = db.write(lambda: services.record_repair(repair_input(t0), request_id=req.id))
    assert (of_request.request_id, of_request.asset_id) == (req.id, site.server.id)
    scanned = db.write(
        lambda: services.record_repair(
            repair_input(t0), request_id=req.id, asset_tag="https://10.0.0.5:8443/a/SW-01"
        )
    )
    assert scanned.asset_id == site.switch.id
    assert [r.id for r in queries.repairs_of_request(req.id)] == [of_request.id, scanned.id]


# --- bad input: named, nothing written -------------------------------------------------------

BAD = [
    ("downtime_end", {"downtime_end": -timedelta(minutes=1)}),
    ("vendor_closed_at", {"vendor_closed_at": -timedelta(hours=2)}),
    ("cost", {"cost": Decimal("-0.01")}),
    ("fault", {"fault": "  "}),
    ("parts-1-part", {"parts": [PartInput("内存", "A1", "A2"), PartInput("", "SN-OUT", "")]}),
    ("parts-0-part", {"parts": [PartInput("", "", "SN-IN")]}),
    ("parts-0-quantity", {"parts": [PartInput("风扇", "", "", 0)]}),
    ("vendor_case_number", {"vendor_case_number": "C" * 65}),
]


@pytest.mark.parametrize(("field", "change"), BAD, ids=[f for f, _c in BAD])
def test_a_bad_value_is_refused_naming_its_field_and_nothing_is_written(
    ctx: Session, site: Site, t0: datetime, field: str, change: dict
) -> None:
    values = {}
    for name, value in change.items():
        if isinstance(value, timedelta):  # relative to the downtime start / the case opened
            base = t0 if name == "downtime_end" else t0 - timedelta(hours=1)
            value = base + value
        values[name] = value
    with pytest.raises(ValidationFailed) as refused:
        db.write(
            lambda: services.record_repair(repair_input(t0, **values), asset_id=site.server.id)
        )
    assert list(refused.value.errors) == [field]
    assert _count(Repair) == 0 and _count(RepairPart) == 0


def test_an_unknown_asset_is_named_by_how_it_was_given(
    ctx: Session, site: Site, t0: datetime
) -> None:
    with pytest.raises(ValidationFailed) as by_tag:
        db.write(lambda: services.record_repair(repair_input(t0), asset_tag="NO-SUCH-TAG"))
    assert list(by_tag.value.errors) == ["asset_tag"]
    assert "NO-SUCH-TAG" in by_tag.value.errors["asset_tag"][0]
    with pytest.raises(ValidationFailed) as by_id:
        db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.server.id + 999))
    assert list(by_id.value.errors) == ["asset_id"]
    req = request_row(None, t0)  # a request of no asset: the form must name one
    ctx.commit()
    with pytest.raises(ValidationFailed) as none:
        db.write(lambda: services.record_repair(repair_input(t0), request_id=req.id))
    assert list(none.value.errors) == ["asset_tag"]
    with pytest.raises(ValidationFailed) as no_request:
        db.write(lambda: services.record_repair(repair_input(t0), request_id=req.id + 999))
    assert "request_id" in no_request.value.errors
    assert _count(Repair) == 0


def test_every_wrong_field_is_named_at_once(ctx: Session, site: Site, t0: datetime) -> None:
    data = repair_input(
        t0,
        fault="",
        downtime_end=t0 - timedelta(hours=1),
        vendor_closed_at=t0 - timedelta(days=2),
        cost=Decimal("-5"),
        parts=[PartInput("", "OUT-1", "IN-1")],
    )
    with pytest.raises(ValidationFailed) as refused:
        db.write(lambda: services.record_repair(data, asset_tag="NOPE-1"))
    assert set(refused.value.errors) == {
        "fault",
        "downtime_end",
        "vendor_closed_at",
        "cost",
        "parts-0-part",
        "asset_tag",
    }
    assert _count(Repair) == 0


def test_empty_part_rows_are_left_out(ctx: Session, site: Site, t0: datetime) -> None:
    parts = [PartInput("", "", "", 1), PartInput("电源模块", "PSU-1", "PSU-2", 2)]
    repair = db.write(
        lambda: services.record_repair(repair_input(t0, parts=parts), asset_id=site.server.id)
    )
    assert [(p.part, p.quantity) for p in repair.parts] == [("电源模块", 2)]


# --- editing and signing ---------------------------------------------------------------------


def test_an_edit_changes_the_repair_and_replaces_its_parts(
    ctx: Session, site: Site, t0: datetime
) -> None:
    repair = db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.server.id))
    parts = [PartInput("风扇模块", "FAN-9", "FAN-10", 2)]
    changed = repair_input(t0, result="更换后风扇转速正常", parts=parts, cost=None)
    db.write(lambda: services.update_repair(repair, changed, asset_tag="PRN-01"))
    ctx.expire_all()
    row = ctx.get(Repair, repair.id)
    assert row is not None
    assert (row.result, row.cost, row.asset_id) == ("更换后风扇转速正常", None, site.printer.id)
    assert [(p.part, p.serial_out, p.serial_in, p.quantity) for p in row.parts] == [
        ("风扇模块", "FAN-9", "FAN-10", 2)
    ]
    assert _count(RepairPart) == 1


def test_a_refused_edit_changes_nothing(ctx: Session, site: Site, t0: datetime) -> None:
    repair = db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.server.id))
    bad = repair_input(t0, downtime_end=t0 - timedelta(minutes=5), parts=[])
    with pytest.raises(ValidationFailed) as refused:
        db.write(lambda: services.update_repair(ctx.get(Repair, repair.id), bad))
    assert list(refused.value.errors) == ["downtime_end"]
    ctx.expire_all()
    row = ctx.get(Repair, repair.id)
    assert row is not None and row.downtime_end == t0 + timedelta(hours=2, minutes=30)
    assert len(row.parts) == 1


def test_engineer_and_customer_sign_with_names_and_times(
    ctx: Session, site: Site, t0: datetime
) -> None:
    repair = db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.server.id))
    engineer_at = t0 + timedelta(hours=3)
    with acting_as("engineer", user_id("engineer")):
        db.write(
            lambda: services.sign_repair(
                repair, engineer_signature=drawn_signature(), at=engineer_at
            )
        )
    assert repair.signed_by_engineer == "Engineer"  # the account's full name by default
    assert repair.engineer_signed_at == engineer_at and repair.customer_signature == ""
    customer_at = engineer_at + timedelta(minutes=2)
    db.write(
        lambda: services.sign_repair(
            repair,
            customer_signature=drawn_signature(stroke=9),
            customer_name=" 王芳 ",
            at=customer_at,
        )
    )
    ctx.expire_all()
    row = ctx.get(Repair, repair.id)
    assert row is not None
    assert (row.signed_by_engineer, row.engineer_signed_at) == ("Engineer", engineer_at)
    assert (row.signed_by_customer, row.customer_signed_at) == ("王芳", customer_at)
    assert row.engineer_signature.startswith("data:image/png;base64,")
    assert row.customer_signature != row.engineer_signature


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"customer_signature": "SIG", "customer_name": ""}, "customer_name"),
        (
            {"customer_signature": "data:image/png;base64,AAAA", "customer_name": "王芳"},
            "customer_signature",
        ),
        ({"engineer_signature": "data:image/svg+xml;base64,PHN2Zz4="}, "engineer_signature"),
        ({}, "engineer_signature"),
    ],
    ids=["customer-without-name", "not-a-png", "not-png-type", "nothing-drawn"],
)
def test_a_bad_signature_is_refused_naming_its_field(
    ctx: Session, site: Site, t0: datetime, values: dict, field: str
) -> None:
    repair = db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.server.id))
    if values.get("customer_signature") == "SIG":
        values = {**values, "customer_signature": drawn_signature()}
    with pytest.raises(ValidationFailed) as refused:
        db.write(lambda: services.sign_repair(ctx.get(Repair, repair.id), **values))
    assert list(refused.value.errors) == [field]
    ctx.expire_all()
    row = ctx.get(Repair, repair.id)
    assert row is not None and row.customer_signature == row.engineer_signature == ""


def test_a_viewer_may_not_record_edit_or_sign(ctx: Session, site: Site, t0: datetime) -> None:
    repair = db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.server.id))
    with acting_as("viewer", user_id("viewer")):
        with pytest.raises(services.NotAllowed):
            db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.server.id))
        with pytest.raises(services.NotAllowed):
            db.write(lambda: services.update_repair(repair, repair_input(t0, fault="x")))
        with pytest.raises(services.NotAllowed):
            db.write(lambda: services.sign_repair(repair, engineer_signature=drawn_signature()))
    for role in ("engineer", "supervisor", "admin"):
        with acting_as(role, user_id(role)):
            db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.switch.id))
    assert _count(Repair) == 4
    ctx.expire_all()
    assert ctx.get(Repair, repair.id).fault == "RAID 阵列降级，2 号硬盘告警"  # type: ignore[union-attr]


# --- queries ---------------------------------------------------------------------------------


def test_an_asset_s_history_is_newest_first_with_its_parts(
    ctx: Session, site: Site, t0: datetime
) -> None:
    older = db.write(
        lambda: services.record_repair(
            repair_input(t0 - timedelta(days=30)), asset_id=site.server.id
        )
    )
    newer = db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.server.id))
    no_downtime = db.write(
        lambda: services.record_repair(
            repair_input(t0, downtime_start=None, downtime_end=None), asset_id=site.server.id
        )
    )
    db.write(lambda: services.record_repair(repair_input(t0), asset_id=site.switch.id))
    history = queries.repairs_of_asset(site.server.id)
    # no downtime: it happened when it was recorded (now), after the others' downtime
    assert [r.id for r in history] == [no_downtime.id, newer.id, older.id]
    assert all(len(r.parts) == 1 for r in history)
    assert queries.repair_when(no_downtime) == no_downtime.created_at
    assert queries.get_repair(newer.id).parts[0].serial_in == "WX-NEW-002"  # type: ignore[union-attr]
    assert queries.get_repair(newer.id + 999) is None


def _faults(now: datetime, **kwargs: int) -> dict[str, tuple[int, int, int]]:
    return {
        f.asset.asset_tag: (f.requests, f.repairs, f.faults)
        for f in queries.repeated_faults(now=now, **kwargs)
    }


def test_assets_with_more_than_two_faults_in_180_days_are_listed(ctx: Session, site: Site) -> None:
    now = clock.now()
    day = timedelta(days=1)
    # the server: three requests in the window, one repair for one of them (still 3 faults)
    # and one older request outside it
    reqs = [request_row(site.server.id, now - d * day, n) for n, d in enumerate((5, 40, 170), 1)]
    request_row(site.server.id, now - 200 * day, 9)
    # the switch: two requests and one repair of no request -> 3 faults
    request_row(site.switch.id, now - 3 * day, 11)
    request_row(site.switch.id, now - 4 * day, 12)
    # the printer: two faults only
    request_row(site.printer.id, now - 10 * day, 21)
    ctx.commit()
    db.write(lambda: services.record_repair(repair_input(now - 5 * day), request_id=reqs[0].id))
    db.write(lambda: services.record_repair(repair_input(now - 20 * day), asset_id=site.switch.id))
    db.write(lambda: services.record_repair(repair_input(now - 30 * day), asset_id=site.printer.id))
    # a repair outside the window is no fault of it
    db.write(
        lambda: services.record_repair(repair_input(now - 181 * day), asset_id=site.printer.id)
    )
    assert queries.REPEATED_FAULTS_OVER == 2 and queries.REPEATED_FAULTS_DAYS == 180
    found = queries.repeated_faults(now=now)
    assert [f.asset.asset_tag for f in found] == ["SW-01", "SRV-01"]  # same count: latest first
    assert _faults(now) == {"SRV-01": (3, 0, 3), "SW-01": (2, 1, 3)}
    assert found[0].last_at == now - 3 * day
    # the filters: more than 1 in 180 days adds the printer; more than 2 in 30 days: the switch
    assert _faults(now, over=1) == {
        "SRV-01": (3, 0, 3),
        "SW-01": (2, 1, 3),
        "PRN-01": (1, 1, 2),
    }
    assert _faults(now, days=30) == {"SW-01": (2, 1, 3)}
    assert _faults(now, days=10) == {}


def test_the_repeated_faults_defaults_come_from_the_config(
    ctx: Session, site: Site, db_app
) -> None:
    now = clock.now()
    for n in range(2):
        request_row(site.server.id, now - timedelta(days=50 + n), 30 + n)
    ctx.commit()
    assert _faults(now) == {}
    db_app.config.update(REPEATED_FAULTS_OVER=1, REPEATED_FAULTS_DAYS=60)
    assert queries.repeated_faults_defaults() == (1, 60)
    assert _faults(now) == {"SRV-01": (2, 0, 2)}
    db_app.config.update(REPEATED_FAULTS_DAYS=45)
    assert _faults(now) == {}
