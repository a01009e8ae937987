"""The registry's Excel import respects reservations (``assets.services.reservations``): a row
placing an asset in units another plan holds, or registering an address it holds, is refused
naming the row, the cell and the plan, and nothing of the workbook is written. On the room of
``test_plan`` with ``test_install``'s plan web reserved (R1 U5-U6 and U3; 10.1.2.5 and .6)."""

from __future__ import annotations

from flask import Flask
from flask_babel import force_locale
from sqlalchemy import select

from assets import excel
from assets.models import Asset
from opskit import clock, db
from tests.assets.test_excel import ASSET_HEAD, all_counts, lines, xlsx
from tests.assets.test_install import reserve
from tests.assets.test_plan import NOW, seed_room

ADDRESS_HEAD = ["IP地址", "所属网段", "资产编号"]


def test_the_import_refuses_what_a_plan_holds(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), clock.frozen(NOW):
        seed_room()
        reserve()
        before = all_counts()
        book = xlsx(
            {
                "资产": [
                    ASSET_HEAD,
                    ["SRV-OK", "可以", "服务器", "总部", "A机房", "R1", 9, 1],
                    ["SRV-1", "新一号", "服务器", "总部", "A机房", "R1", 6, 1],
                    ["S2", "S2", "服务器", "总部", "A机房", "R1", 3, 1],  # moved into U3
                ],
                "IP地址": [
                    ADDRESS_HEAD,
                    ["10.1.2.6", "10.1.2.0/29", "SRV-OK"],
                ],
            }
        )
        result = excel.import_workbook(book)
        assert lines(result) == [
            # the registered asset's row is checked first, then the new ones
            "资产 第4行 起始U位(u_position)：“3” 机柜 R1 的 U3 已为规划 web 预留至 2026-03-24。",
            "资产 第3行 起始U位(u_position)：“6” 机柜 R1 的 U6 已为规划 web 预留至 2026-03-24。",
            "IP地址 第2行 IP地址(address)：“10.1.2.6” 10.1.2.6 已为规划 web 预留至 2026-03-24。",
        ]
        assert [(p.row, p.cell) for p in result.problems] == [(4, "G4"), (3, "G3"), (2, "A2")]
        assert not result.committed
        assert all_counts() == before  # not even the good row
        sess = db.session()
        assert sess.scalar(select(Asset.u_position).where(Asset.asset_tag == "S2")) == 4
        with force_locale("en"):
            english = lines(excel.import_workbook(book))
        assert english[0] == (
            "资产 row 4, 起始U位(u_position): “3” U3 of rack R1 is reserved for plan web until "
            "2026-03-24."
        )
        # outside the plan's units the same row goes in
        free = xlsx(
            {"资产": [ASSET_HEAD, ["SRV-1", "新一号", "服务器", "总部", "A机房", "R1", 9, 1]]}
        )
        assert lines(excel.import_workbook(free)) == []
        assert sess.scalar(select(Asset.u_position).where(Asset.asset_tag == "SRV-1")) == 9
