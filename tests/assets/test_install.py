"""Installing a reservation by scanning labels (``assets.services.install``), on SQLite and
PostgreSQL, on the room of ``test_plan`` (R1: free U3 and U5-U10; one free 10G port, SW1's
XGigabitEthernet1/0/1; 10.1.2.0/29 with .5 and .6 free).

The plan: web-1 (2U, 300 W, two feeds, a 10G port and an address) and web-2 (1U, 100 W, an
address). By hand: web-1 takes R1 U5-U6 (the smallest run of 2U), the port, 10.1.2.5; web-2
the rack already used, its smallest run of 1U: R1 U3, and 10.1.2.6.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from assets.models import (
    Asset,
    IPAddress,
    Link,
    Reservation,
    ReservedAddress,
    ReservedPort,
    ReservedUnit,
)
from assets.plan import fit, read_request
from assets.services import install, reservations
from opskit import clock, db
from opskit.validation import ValidationFailed
from tests import factories
from tests.assets.test_plan import NOW, dev, seed_room
from tests.conftest import login, post_form

PLAN = {
    "devices": [
        dev("web-1", 2, 300, feeds=2, ports={"10G": 1}, addresses={"prefix": "10.1.2.0/29"}),
        dev("web-2", 1, 100, addresses={"prefix": "10.1.2.0/29"}),
    ]
}
LABEL = "http://10.0.0.5:8000/a/"  # what a printed label's QR code holds, before the tag


def reserve(data: dict[str, Any] = PLAN, name: str = "web", days: int = 14) -> int:
    candidate = fit(read_request(data), now=clock.now())["candidates"][0]
    return db.write(
        lambda: reservations.accept(candidate, name, "张伟", clock.now() + timedelta(days=days)).id
    )


def scan(reservation_id: int, device: str, code: str) -> install.Installed:
    return db.write(lambda: install.install(reservation_id, device, code))


def refused(reservation_id: int, device: str, code: str) -> str:
    with pytest.raises(ValidationFailed) as caught:
        scan(reservation_id, device, code)
    return caught.value.errors["scanned_code"][0]


def held_units() -> list[tuple[str, int]]:
    return sorted(
        tuple(r) for r in db.session().execute(select(ReservedUnit.device, ReservedUnit.unit))
    )


def test_scanning_a_new_label_installs_the_device(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        seed_room()
        held = reserve()
        assert held_units() == [("web-1", 5), ("web-1", 6), ("web-2", 3)]
        done = scan(held, "web-1", LABEL + "NEW-01")
        assert (done.created, done.again, done.done) == (True, False, False)
        sess = db.session()
        asset = sess.scalar(select(Asset).where(Asset.asset_tag == "NEW-01"))
        assert asset is not None
        assert (asset.name, asset.kind, asset.rack.name, asset.u_position, asset.u_height) == (
            "web-1",
            "server",
            "R1",
            5,
            2,
        )
        assert asset.specs == {"power_watts": 300}
        assert asset.mgmt_ip == "10.1.2.5"
        assert sorted(u.unit for u in asset.units) == [5, 6]
        address = sess.scalar(select(IPAddress).where(IPAddress.address == "10.1.2.5"))
        assert (address.asset_id, address.status, address.hostname) == (asset.id, "active", "web-1")
        link = sess.scalar(
            select(Link).where((Link.a_asset_id == asset.id) | (Link.b_asset_id == asset.id))
        )
        ends = {(link.a_asset.asset_tag, link.a_port), (link.b_asset.asset_tag, link.b_port)}
        assert ends == {("NEW-01", "10G-1"), ("SW1", "XGigabitEthernet1/0/1")}
        # web-1's holds became the asset's; web-2's stay held
        assert held_units() == [("web-2", 3)]
        assert sess.scalars(select(ReservedPort.port)).all() == []
        assert sess.scalars(select(ReservedAddress.address)).all() == ["10.1.2.6"]
        reservation = sess.get(Reservation, held)
        assert reservation.status == "reserved"
        installed = reservation.placements[0]["installed"]
        assert (installed["tag"], installed["asset_id"], installed["addresses"]) == (
            "NEW-01",
            asset.id,
            ["10.1.2.5"],
        )
        # a retried form (the same label for the same device): the same asset, nothing more
        again = scan(held, "web-1", "NEW-01")
        assert (again.asset.id, again.again, again.created) == (asset.id, True, False)
        assert (
            sess.scalar(select(func.count()).select_from(Asset).where(Asset.name == "web-1")) == 1
        )
        assert sess.scalar(select(func.count()).select_from(Link)) == 2  # S1's and NEW-01's
        # the last device: typed tag; the reservation is installed
        last = scan(held, "web-2", "  NEW-02 ")
        assert last.done
        assert (last.asset.rack.name, last.asset.u_position, last.asset.mgmt_ip) == (
            "R1",
            3,
            "10.1.2.6",
        )
        assert sess.get(Reservation, held).status == "installed"
        assert held_units() == []


def test_wrong_labels_are_refused_by_name(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        seed_room()
        held = reserve()
        scan(held, "web-1", "NEW-01")
        assert refused(held, "web-2", LABEL + "S1") == (
            "Label S1 belongs to S1, already placed in rack R1 U1: scan the label of the new web-2."
        )
        assert refused(held, "web-2", "NEW-01") == (
            "Label NEW-01 was already installed as web-1 of this plan."
        )
        assert refused(held, "web-1", "NEW-09") == "web-1 is already installed as NEW-01."
        assert refused(held, "web-2", "  ") == "Scan the label of the new web-2, or type its tag."
        assert refused(held, "web-2", "NEW 02") == "Use letters, digits and . _ - / # (up to 64)."
        db.write(lambda: factories.asset("PRE-2", name="spare box", u_height=2))
        assert refused(held, "web-2", "PRE-2") == (
            "PRE-2 (spare box) is registered as 2U; the plan reserved 1U in rack R1 for web-2."
        )
        with pytest.raises(ValidationFailed) as caught:
            scan(held, "web-9", "NEW-09")
        assert caught.value.errors["device"] == ["Plan web has no device web-9."]
        # nothing of the refusals stayed: web-2 still held, no NEW-09, PRE-2 not placed
        assert held_units() == [("web-2", 3)]
        sess = db.session()
        assert sess.scalar(select(Asset.id).where(Asset.asset_tag == "NEW-09")) is None
        assert sess.scalar(select(Asset.rack_id).where(Asset.asset_tag == "PRE-2")) is None
        assert sess.scalars(select(ReservedAddress.address)).all() == ["10.1.2.6"]


def test_a_registered_spare_is_placed(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        seed_room()
        held = reserve()
        db.write(lambda: factories.asset("SN-77", name="浪潮 NF5280", serial="X1", u_height=1))
        done = scan(held, "web-2", LABEL + "SN-77")
        assert (done.created, done.asset.name, done.asset.serial) == (False, "浪潮 NF5280", "X1")
        assert (done.asset.rack.name, done.asset.u_position, done.asset.mgmt_ip) == (
            "R1",
            3,
            "10.1.2.6",
        )


def test_finishing_frees_what_was_not_used(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        seed_room()
        held = reserve()
        scan(held, "web-2", "NEW-02")
        db.write(lambda: install.finish(held))
        sess = db.session()
        assert sess.get(Reservation, held).status == "installed"
        assert held_units() == []
        assert sess.scalars(select(ReservedPort.port)).all() == []
        assert sess.scalars(select(ReservedAddress.address)).all() == []
        # U5-U6 and the port are free for the next plan again
        best = fit(read_request({"devices": PLAN["devices"][:1]}), now=NOW)["candidates"][0]
        assert [(p["rack"], p["u_start"]) for p in best["placements"]] == [("R1", 5)]
        assert refused(held, "web-1", "NEW-01") == (
            f"Plan web (reservation #{held}) is finished: nothing more is installed."
        )
        db.write(lambda: install.finish(held))  # again: nothing changes
        assert sess.get(Reservation, held).status == "installed"
        nothing = reserve({"devices": [dev("db", 1, 100)]}, name="db")
        db.write(lambda: install.finish(nothing))
        assert sess.get(Reservation, nothing).status == "released"


def test_an_expired_reservation_installs_nothing(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        with clock.frozen(NOW):
            seed_room()
            held = reserve(days=1)
        with clock.frozen(NOW + timedelta(days=2)):
            assert refused(held, "web-1", "NEW-01") == (
                f"Reservation #{held} of plan web expired on 2026-03-11: its units are free "
                "again. Plan and reserve again."
            )
            assert db.session().scalar(select(Asset.id).where(Asset.asset_tag == "NEW-01")) is None


def test_a_plan_device_kind(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"), clock.frozen(NOW):
        seed_room()
        held = reserve({"devices": [dev("san", 1, 200, kind="storage")]}, name="san")
        assert scan(held, "san", "ST-1").asset.kind == "storage"
        with pytest.raises(Exception) as caught:
            read_request({"devices": [dev("x", 1, 1, kind="toaster")]})
        assert caught.value.errors == [  # type: ignore[attr-defined]
            "devices[0] (x).kind: “toaster” is not a kind of asset (e.g. server, storage, switch)."
        ]


def test_the_install_page(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), clock.frozen(NOW):
        seed_room()
        held = reserve()
    page = f"/assets/plan/reservations/{held}"
    viewer, engineer = db_app.test_client(), db_app.test_client()
    login(viewer, "viewer")
    login(engineer, "engineer")
    with clock.frozen(NOW):
        html = viewer.get(page).get_data(as_text=True)
        assert "规划 web" in html and "机柜 R1 U5–U6" in html and "10.1.2.5" in html
        assert "已安装 0 / 2 台设备。" in html
        assert 'id="install-form"' in html and 'name="device"' not in html  # a viewer looks
        form = {"device": "web-1", "scanned_code": LABEL + "NEW-01"}
        assert post_form(viewer, page + "/install", form).status_code == 403
        no_token = engineer.post(page + "/install", data=form)
        assert no_token.status_code == 400
        html = engineer.get(page).get_data(as_text=True)
        assert 'value="web-1" checked' in html and 'id="scan"' in html
        done = post_form(engineer, page + "/install", form)
        assert done.status_code == 302 and done.location.endswith(page)
        html = engineer.get(page).get_data(as_text=True)
        assert "web-1 已作为 NEW-01 安装在机柜 R1 U5–U6。" in html
        assert "已安装为" in html and ">NEW-01</a>" in html and "已安装 1 / 2 台设备。" in html
        assert 'value="web-2" checked' in html  # the next device waiting
        again = post_form(engineer, page + "/install", form)  # a double tap
        assert again.status_code == 302
        assert "web-1 此前已作为 NEW-01 安装。" in engineer.get(page).get_data(as_text=True)
        wrong = post_form(engineer, page + "/install", {"device": "web-2", "scanned_code": "S1"})
        assert wrong.status_code == 400
        assert "标签 S1 属于 S1，已安装在机柜 R1 U1：请扫描新设备 web-2 的标签。" in wrong.get_data(
            as_text=True
        )
        post_form(engineer, "/language", {"locale": "en"})
        none = post_form(engineer, page + "/install", {"scanned_code": "NEW-02"})
        assert none.status_code == 400
        assert "Choose the device you mount." in none.get_data(as_text=True)
        finished = post_form(engineer, page + "/finish")
        assert finished.status_code == 302
        html = engineer.get(page).get_data(as_text=True)
        assert "Plan finished: what was not installed is free again." in html
        assert "Installed as" in html and "Not installed" in html
        assert 'id="install-finish"' not in html
        listing = engineer.get("/assets/plan").get_data(as_text=True)
        assert f'href="{page}">web</a>' in listing and "1 / 2" in listing
    with db_app.app_context():
        sess = db.session()
        assert sess.scalars(select(Asset.asset_tag).where(Asset.name.like("web-%"))).all() == [
            "NEW-01"
        ]
        assert sess.get(Reservation, held).status == "installed"
        assert held_units() == []
