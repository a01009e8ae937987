"""Registry rules on SQLite and PostgreSQL: rack occupancy, addresses inside prefixes, links."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import func, select

from assets import queries, services
from assets.models import Asset, RackUnit
from opskit import db
from opskit.validation import ValidationFailed
from tests import factories


@pytest.fixture
def ctx(db_app: Flask):
    with db_app.test_request_context("/"):
        yield db.session()


def test_asset_occupies_its_units(ctx) -> None:
    rack = factories.rack()
    a = factories.asset("SRV-001", rack=rack, u_position=10, u_height=2)
    ctx.commit()
    units = ctx.scalars(select(RackUnit.unit).where(RackUnit.asset_id == a.id)).all()
    assert sorted(units) == [10, 11]
    assert a.room is rack.room


def test_two_assets_cannot_share_a_unit(ctx) -> None:
    rack = factories.rack()
    factories.asset("SRV-001", rack=rack, u_position=10, u_height=2)
    with pytest.raises(ValidationFailed) as info:
        factories.asset("SRV-002", rack=rack, u_position=11, u_height=1)
    assert info.value.errors == {"u_position": ["机柜 A01 的 U11 已被 SRV-001 占用。"]}
    ctx.rollback()
    assert ctx.scalar(select(func.count()).select_from(Asset)) == 0


def test_asset_must_fit_inside_the_rack(ctx) -> None:
    rack = factories.rack(u_height=42)
    with pytest.raises(ValidationFailed) as info:
        factories.asset("SRV-001", rack=rack, u_position=41, u_height=4)
    assert "U41-U44" in info.value.errors["u_position"][0]
    with pytest.raises(ValidationFailed):
        factories.asset("SRV-002", rack=rack, u_position=0, u_height=1)


def test_zero_u_assets_share_a_rack_without_units(ctx) -> None:
    rack = factories.rack()
    factories.asset("PDU-A", kind="pdu", rack=rack, u_position=1, u_height=0)
    factories.asset("PDU-B", kind="pdu", rack=rack, u_position=1, u_height=0)
    factories.asset("SRV-1", rack=rack, u_position=1, u_height=1)
    ctx.commit()
    assert queries.rack_utilisation(rack) == (1, 42)


def test_moving_an_asset_frees_its_old_units(ctx) -> None:
    rack = factories.rack()
    a = factories.asset("SRV-001", rack=rack, u_position=10, u_height=2)
    services.save_asset({"u_position": 20}, a)
    ctx.flush()
    b = factories.asset("SRV-002", rack=rack, u_position=10, u_height=2)
    ctx.commit()
    assert sorted(u.unit for u in a.units) == [20, 21]
    assert sorted(u.unit for u in b.units) == [10, 11]


def test_database_refuses_double_booking_even_without_the_service(ctx) -> None:
    from sqlalchemy.exc import IntegrityError

    rack = factories.rack()
    a = factories.asset("SRV-001", rack=rack, u_position=5)
    b = factories.asset("SRV-002")
    ctx.add(RackUnit(rack_id=rack.id, unit=5, asset_id=b.id))
    with pytest.raises(IntegrityError):
        ctx.flush()
    ctx.rollback()
    del a


def test_rack_elevation_lists_top_down(ctx) -> None:
    rack = factories.rack(u_height=6)
    factories.asset("SRV-A", rack=rack, u_position=2, u_height=2)
    factories.asset("SW-1", kind="switch", rack=rack, u_position=6)
    ctx.commit()
    slots = [
        (s.unit, s.height, s.asset.asset_tag if s.asset else None)
        for s in queries.rack_elevation(rack)
    ]
    assert slots == [(6, 1, "SW-1"), (5, 1, None), (4, 1, None), (2, 2, "SRV-A"), (1, 1, None)]


def test_duplicate_tag_and_unknown_kind(ctx) -> None:
    factories.asset("SRV-001")
    with pytest.raises(ValidationFailed) as info:
        factories.asset("SRV-001", kind="toaster")
    assert set(info.value.errors) == {"asset_tag", "kind"}


def test_warranty_before_purchase_is_refused(ctx) -> None:
    with pytest.raises(ValidationFailed) as info:
        factories.asset("SRV-1", purchase_date=date(2025, 1, 1), warranty_end=date(2024, 1, 1))
    assert list(info.value.errors) == ["warranty_end"]


# --- addresses --------------------------------------------------------------------------------


def test_address_goes_to_the_most_specific_prefix(ctx) -> None:
    factories.prefix("10.1.0.0/16")
    small = factories.prefix("10.1.20.0/24", vlan=20, gateway="10.1.20.1")
    ip = services.save_address({"address": "10.1.20.15", "hostname": "db01"})
    ctx.commit()
    assert ip.prefix is small


def test_address_outside_every_prefix_is_refused(ctx) -> None:
    factories.prefix("10.1.20.0/24")
    with pytest.raises(ValidationFailed) as info:
        services.save_address({"address": "192.168.1.5"})
    assert "192.168.1.5" in info.value.errors["address"][0]
    p = factories.prefix("10.9.0.0/24")
    with pytest.raises(ValidationFailed) as info:
        services.save_address({"address": "10.1.20.5", "prefix": p})
    assert "10.9.0.0/24" in info.value.errors["address"][0]


def test_address_is_unique_and_valid(ctx) -> None:
    factories.prefix("10.1.20.0/24")
    services.save_address({"address": "10.1.20.15"})
    ctx.flush()
    with pytest.raises(ValidationFailed):
        services.save_address({"address": "10.1.20.15"})
    with pytest.raises(ValidationFailed):
        services.save_address({"address": "10.1.20.300"})
    with pytest.raises(ValidationFailed):
        services.save_address({"address": "10.1.20.16", "mac": "zz:11"})


def test_ipv6_prefix_and_address(ctx) -> None:
    p = factories.prefix("2001:db8:10::/64")
    ip = services.save_address({"address": "2001:DB8:10::a", "mac": "00-1A-2B-3C-4D-5E"})
    ctx.commit()
    assert ip.address == "2001:db8:10::a" and ip.family == 6 and ip.prefix is p
    assert ip.mac == "00:1a:2b:3c:4d:5e"


def test_prefix_with_host_bits_suggests_the_network(ctx) -> None:
    with pytest.raises(ValidationFailed) as info:
        factories.prefix("10.1.20.5/24")
    assert "10.1.20.0/24" in info.value.errors["cidr"][0]


@pytest.mark.parametrize(
    ("cidr", "registered", "gateway", "used", "size", "percent"),
    [
        ("10.0.0.0/24", ["10.0.0.10", "10.0.0.11"], "10.0.0.1", 3, 254, 1.2),
        ("10.0.0.0/30", ["10.0.0.1"], None, 1, 2, 50.0),
        ("10.0.0.0/31", ["10.0.0.0"], None, 1, 2, 50.0),
        ("10.0.0.7/32", ["10.0.0.7"], None, 1, 1, 100.0),
        ("2001:db8::/126", ["2001:db8::1"], None, 1, 4, 25.0),
    ],
)
def test_utilisation_arithmetic(ctx, cidr, registered, gateway, used, size, percent) -> None:
    p = factories.prefix(cidr, gateway=gateway)
    for address in registered:
        services.save_address({"address": address})
    if cidr == "10.0.0.0/24":  # a row marked "free" does not count as used
        services.save_address({"address": "10.0.0.99", "status": "free"})
    ctx.commit()
    u = queries.prefix_utilisation(p)
    assert (u.used, u.size, u.percent) == (used, size, percent)
    assert queries.prefix_utilisations(queries.list_prefixes()) == {p.id: u}  # one query, same


def test_free_ranges_and_next_free(ctx) -> None:
    p = factories.prefix("192.168.5.0/29", gateway="192.168.5.1")  # usable .1-.6
    services.save_address({"address": "192.168.5.2"})
    services.save_address({"address": "192.168.5.5"})
    ctx.commit()
    assert list(queries.free_ranges(p)) == [
        ("192.168.5.3", "192.168.5.4", 2),
        ("192.168.5.6", "192.168.5.6", 1),
    ]
    assert queries.next_free_address(p) == "192.168.5.3"


# --- links, lines, reminders -----------------------------------------------------------------


def test_link_ends_are_canonical_and_ports_single(ctx) -> None:
    sw = factories.asset("SW-1", kind="switch")
    srv = factories.asset("SRV-1")
    link = services.save_link(srv, "eth0", sw, "Gi1/0/1", medium="copper")
    ctx.flush()
    assert (link.a_asset, link.a_port) == (sw, "Gi1/0/1")
    other = factories.asset("SRV-2")
    with pytest.raises(ValidationFailed) as info:
        services.save_link(other, "eth0", sw, "Gi1/0/1")
    assert "Gi1/0/1" in str(info.value)


def test_communication_line_details(ctx) -> None:
    line = factories.asset("LINE-CT-01", kind="line", name="电信专线")
    services.save_line(
        line, {"circuit_id": "SH-0001", "carrier": "中国电信", "bandwidth_mbps": 100}
    )
    ctx.commit()
    assert line.line.carrier == "中国电信" and line.line.bandwidth_mbps == 100
    server = factories.asset("SRV-1")
    with pytest.raises(ValidationFailed):
        services.save_line(server, {"circuit_id": "X"})


def test_warranty_reminders(ctx) -> None:
    today = date(2026, 11, 25)
    factories.asset("OLD", warranty_end=date(2026, 11, 1))
    factories.asset("SOON", warranty_end=date(2026, 12, 20))
    factories.asset("LATER", warranty_end=date(2027, 2, 1))
    factories.asset("FAR", warranty_end=date(2028, 1, 1))
    factories.asset("GONE", warranty_end=date(2026, 1, 1), status="retired")
    ctx.commit()
    reminders = queries.warranty_reminders(today)
    assert [(r.asset.asset_tag, r.days_left, r.state) for r in reminders] == [
        ("OLD", -24, "expired"),
        ("SOON", 25, "30"),
        ("LATER", 68, "90"),
    ]


def test_sites_rooms_racks_rules(ctx) -> None:
    site = services.save_site({"name": "总部", "address": "上海"})
    other = services.save_site({"name": "分部"})
    with pytest.raises(ValidationFailed) as info:
        services.save_site({"name": "总部"})
    assert "总部" in info.value.errors["name"][0]
    room_a = services.save_room({"site": site, "name": "A机房"})
    room_b = services.save_room({"site": other, "name": "B机房"})
    services.save_room({"site": other, "name": "A机房"})  # same name, other site: fine
    with pytest.raises(ValidationFailed):
        services.save_room({"site": site, "name": "A机房"})
    rack = services.save_rack({"room": room_a, "name": "A01", "u_height": 42})
    server = factories.asset("SRV-1", rack=rack, u_position=30, u_height=2)
    ctx.flush()
    with pytest.raises(ValidationFailed) as info:
        services.save_rack({"u_height": 30}, rack)  # U31 is in use
    assert "U31" in info.value.errors["u_height"][0]
    with pytest.raises(ValidationFailed):
        services.save_rack({"u_height": 61}, rack)
    services.save_rack({"room": room_b}, rack)  # the rack moves, its assets with it
    ctx.commit()
    assert rack.room is room_b and server.room is room_b
