"""Logging a request: the row and its first event, the tablet's retry, every bad field named."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from opskit import clock, db
from opskit.audit import acting_as
from opskit.servicedesk import categories, services
from opskit.servicedesk.models import RequestEvent, ServiceRequest
from opskit.validation import ValidationFailed
from tests.servicedesk.util import MIN, events, new, user_id


def _count(model: type) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


def test_a_request_is_stored_with_its_asset_room_and_first_event(ctx, site, t0) -> None:
    with acting_as("engineer", user_id("engineer")):
        req = new(t0, "B", asset_tag="SRV-01", client_id="tablet-0001")
    ctx.commit()
    row = ctx.scalar(select(ServiceRequest).where(ServiceRequest.client_id == "tablet-0001"))
    assert row is req
    assert (row.status, row.urgency, row.channel, row.category) == ("new", "B", "phone", "hardware")
    assert (row.asset_id, row.room_id) == (site.server.id, site.server.room_id)
    assert row.title == "财务部打印机无法打印，提示卡纸"  # the description's first line
    assert (row.requester_name, row.requester_department) == ("王芳", "财务部")
    assert row.raised_at == t0 and row.created_by == "engineer"
    year = t0.astimezone(clock.site_tz()).year
    assert row.number == f"SR-{year}-{row.id:04d}"
    assert events(row) == [("opened", None, "new", "")]


def test_the_same_client_id_twice_is_one_request(ctx, site, t0) -> None:
    first = new(t0, client_id="retry-abc-123")
    ctx.commit()
    again = new(t0 + MIN, client_id="retry-abc-123", description="saved again")
    ctx.commit()
    assert again.id == first.id
    assert _count(ServiceRequest) == 1
    assert _count(RequestEvent) == 1
    assert again.description == "财务部打印机无法打印，提示卡纸"


def test_a_retry_inside_db_write_is_one_request(ctx, site, t0) -> None:
    make = lambda: new(t0, client_id="write-retry-1")  # noqa: E731
    one = db.write(make)
    two = db.write(make)
    assert one.id == two.id and _count(ServiceRequest) == 1


def test_a_scanned_label_url_names_the_asset(ctx, site, t0) -> None:
    req = new(t0, asset_tag="https://192.168.10.5:8443/a/SW-01")
    assert req.asset_id == site.switch.id and req.room_id == site.switch.room_id


BAD = [
    ("description", {"description": "  "}),
    ("category", {"category": "printer"}),
    ("channel", {"channel": "fax"}),
    ("urgency", {"urgency": "D"}),
    ("asset_tag", {"asset_tag": "NO-SUCH-TAG"}),
    ("asset_id", {"asset_id": 999_999}),
    ("room_id", {"room_id": 999_999}),
    ("requester_phone", {"requester_phone": "12345"}),
    ("requester_phone", {"requester_phone": "not a number"}),
    ("requester_phone", {"requester_phone": "23800138000"}),
    ("requester_phone", {"requester_phone": "010-123"}),
    ("requester_name", {"requester_name": "名" * 129}),
    ("client_id", {"client_id": "short"}),
]


@pytest.mark.parametrize(
    ("field", "values"), BAD, ids=[f"{f}-{i}" for i, (f, _v) in enumerate(BAD)]
)
def test_a_bad_field_is_named_and_nothing_is_stored(ctx, site, t0, field, values) -> None:
    with pytest.raises(ValidationFailed) as caught:
        new(t0, **values)
    assert field in caught.value.errors, caught.value.errors
    ctx.rollback()
    assert _count(ServiceRequest) == 0


def test_several_bad_fields_are_named_together(ctx, site, t0) -> None:
    with pytest.raises(ValidationFailed) as caught:
        new(t0, description="", urgency="X", requester_phone="abc", asset_tag="NOPE")
    assert set(caught.value.errors) == {"description", "urgency", "requester_phone", "asset_tag"}
    assert "NOPE" in caught.value.errors["asset_tag"][0]
    assert "abc" in caught.value.errors["requester_phone"][0]


def test_a_request_raised_in_the_future_is_refused(ctx, site) -> None:
    with pytest.raises(ValidationFailed) as caught:
        new(clock.now() + timedelta(hours=1))
    assert "raised_at" in caught.value.errors


@pytest.mark.parametrize(
    "phone",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 13800138000",
        "+86-19912345678",
        "010-12345678",
        "01012345678",
        "0755-1234567",
        "(010)12345678",
        "010-12345678-8021",
        "0755-1234567转123",
        "021-87654321 ext. 55",
        "０１０－１２３４５６７８",  # typed with a full-width keyboard
    ],
)
def test_phone_numbers_accepted(phone: str) -> None:
    assert services.is_phone_number(phone)


@pytest.mark.parametrize(
    "phone",
    ["1380013800", "138001380001", "12800138000", "12345678", "010-123456", "0755", "phone", ""],
)
def test_phone_numbers_refused(phone: str) -> None:
    assert not services.is_phone_number(phone)


def test_the_shipped_categories_carry_both_words() -> None:
    found = categories.categories()
    assert list(found) == ["hardware", "software", "network", "account", "other"]
    assert [c.zh for c in found.values()] == ["硬件", "软件", "网络", "账号权限", "其他"]
    assert all(c.en for c in found.values())


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Hardware:\n  zh: 硬件\n  en: Hardware\n", "'Hardware'"),
        ("disk:\n  zh: 磁盘\n", "disk.en"),
        ("disk:\n  zh: 磁盘\n  en: Disk\n  fr: Disque\n", "'fr'"),
        ("- a\n- b\n", "expected a mapping"),
    ],
)
def test_a_broken_categories_file_names_the_key(text: str, named: str) -> None:
    with pytest.raises(categories.CategoryError) as caught:
        categories.parse(text, "categories.yaml")
    assert named in str(caught.value) and "categories.yaml" in str(caught.value)


def test_category_words_follow_the_language(app) -> None:
    with app.test_request_context("/"):
        assert categories.label("account") == "账号权限"
        from flask import session

        session["locale"] = "en"
        from flask_babel import refresh

        refresh()
        assert categories.label("account") == "Accounts and permissions"
        assert categories.label("unknown") == "unknown"
