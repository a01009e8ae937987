"""Excel in and out for the registry, on SQLite and PostgreSQL: template, import, export."""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from assets import excel, services
from assets.excel import importer
from assets.models import (
    Asset,
    CommunicationLine,
    IPAddress,
    Link,
    Prefix,
    Rack,
    RackUnit,
    Room,
    Site,
)
from opskit import db
from opskit.cli import cli
from opskit.models import AuditLog
from opskit.xlsx import reader
from tests import factories

ASSET_HEAD = ["资产编号", "名称", "类型", "站点", "机房", "机柜", "起始U位", "高度U", "管理IP"]


@pytest.fixture
def ctx(db_app: Flask):
    with db_app.test_request_context("/"):
        yield db.session()


def xlsx(sheets: dict[str, list[list]], merge: dict[str, str] | None = None) -> bytes:
    """A workbook built like a person would (openpyxl, not our writer)."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
        if merge and name in merge:
            ws.merge_cells(merge[name])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def count(model) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


def all_counts() -> dict[str, int]:
    return {
        m.__tablename__: count(m)
        for m in (Asset, Site, Room, Rack, RackUnit, Prefix, IPAddress, Link, CommunicationLine)
    }


def lines(result: excel.ImportResult) -> list[str]:
    return [p.line() for p in result.problems]


# --- template --------------------------------------------------------------------------------


def test_template_has_every_sheet_with_chinese_headers(ctx, tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    excel.write_template(path)
    wb = load_workbook(path)
    assert wb.sheetnames == ["资产", "网段", "IP地址", "链路", "通信线路", "说明"]
    heads = [c.value for c in wb["资产"][1]]
    assert heads[:5] == ["资产编号", "名称", "类型", "厂商", "型号"]
    assert "保修截止" in heads and "管理IP" in heads and "机柜高度U" in heads
    assert [c.value for c in wb["网段"][1]][:2] == ["网段", "VLAN"]
    assert wb["资产"].max_row == 1  # no data rows
    help_rows = [[c.value for c in row] for row in wb["说明"].iter_rows(min_row=2)]
    kind_help = next(r for r in help_rows if r[2] == "kind")
    assert "服务器" in kind_help[4] and kind_help[3]  # allowed values, required
    # importing the untouched template is refused with one clear message
    result = excel.import_workbook(path)
    assert lines(result) == ["工作簿中没有数据行（只有表头或什么都没有）。"]


# --- a realistic sheet -----------------------------------------------------------------------


def test_import_accepts_what_real_sheets_contain(ctx) -> None:
    factories.rack("总部", "A机房", "A01")
    ctx.commit()
    rows = [
        ["2026年第四季度 资产台账", None, None],  # merged title row above the header
        [],
        [
            " 资产编号 ",
            "名称",
            "KIND",  # English key, any case
            "厂商",
            "站点",
            "机房",
            "机柜",
            "起始U位",
            "高度U",
            "管理IP",
            "保修截止",
            "购买日期",
            "状态",
            "内存GB",
            "其他规格",
            "重要性",
            "不认识的列",
        ],
        [
            "ＳＲＶ－００１",  # full-width
            "  数据库服务器  ",
            "服务器",
            "华为",
            "总部",
            "A机房",
            "A01",
            "１０",  # number stored as (full-width) text
            "2U",
            " 10.1.20.11 ",
            datetime(2027, 6, 30),  # an Excel date
            "2024/6/30",
            "在用",
            "256",
            "raid=RAID5; 电源=2x800W",
            "core",
            "ignored",
        ],
        [
            "SW-001",
            "核心交换机",
            "switch",
            "H3C",
            "分部",  # new site, room and rack
            "B机房",
            "B07",
            12,
            1,
            "10.1.20.1",
            "2027年6月30日",
            None,
            "spare",
            None,
            None,
            "重要",
            None,
        ],
        [
            "UPS-1",
            "UPS 主机",
            "UPS",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "2027.6.30",
            "",
            "",
            "",
            "",
            "",
            "",
        ],
        [None] * 5,  # trailing blank rows
        [],
        ["   "],
    ]
    data = xlsx({"资产": rows}, merge={"资产": "A1:F1"})
    result = excel.import_workbook(data)
    assert result.ok, lines(result)
    assert result.committed
    assert result.counts["资产"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert result.created_locations == [
        "新站点：分部",
        "新机房：分部 / B机房",
        "新机柜：分部 / B机房 / B07（42U）",
    ]
    assert any("不认识的列" in w for w in result.warnings)
    srv = services_asset("SRV-001")
    assert srv.name == "数据库服务器"
    assert srv.kind == "server" and srv.status == "in_service" and srv.importance == "core"
    assert (srv.rack.name, srv.u_position, srv.u_height) == ("A01", 10, 2)
    assert srv.mgmt_ip == "10.1.20.11"
    assert srv.warranty_end == date(2027, 6, 30) and srv.purchase_date == date(2024, 6, 30)
    assert srv.specs == {"memory_gb": 256, "raid": "RAID5", "电源": "2x800W"}
    assert sorted(u.unit for u in srv.units) == [10, 11]
    sw = services_asset("SW-001")
    assert sw.status == "spare" and sw.importance == "important"
    assert sw.rack.u_height == 42 and sw.room.site.name == "分部"
    assert sw.warranty_end == date(2027, 6, 30)
    ups = services_asset("UPS-1")
    assert ups.kind == "ups" and ups.room is None and ups.warranty_end == date(2027, 6, 30)

    # the same file again changes nothing, not even the audit log
    audit_before = count(AuditLog)
    again = excel.import_workbook(data)
    assert again.ok, lines(again)
    assert again.counts["资产"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert again.created_locations == []
    assert count(AuditLog) == audit_before

    # a changed cell updates only that asset and logs only that field
    rows[4][1] = "核心交换机-1"
    third = excel.import_workbook(xlsx({"资产": rows}))
    assert third.counts["资产"] == {"created": 0, "updated": 1, "unchanged": 2}
    entries = ctx.scalars(select(AuditLog).where(AuditLog.id > 0).order_by(AuditLog.id)).all()
    new = [e for e in entries][audit_before:]
    assert [(e.object_type, e.changes) for e in new] == [
        ("asset", {"name": ["核心交换机", "核心交换机-1"]})
    ]


def services_asset(tag: str) -> Asset:
    asset = db.session().scalar(select(Asset).where(Asset.asset_tag == tag))
    assert asset is not None, tag
    return asset


def test_english_headers_and_every_sheet(ctx) -> None:
    data = xlsx(
        {
            "assets": [
                ["asset_tag", "name", "kind", "site", "room", "rack", "u_position", "mgmt_ip"],
                ["SW-1", "接入交换机", "switch", "总部", "A机房", "A01", 40, "10.1.20.2"],
                ["SRV-1", "应用服务器", "server", "总部", "A机房", "A01", 10, "10.1.20.11"],
                ["LINE-1", "电信专线", "line", "", "", "", "", ""],
            ],
            "网段": [
                ["cidr", "vlan", "purpose", "gateway", "site"],
                ["10.1.20.0/24", "20", "管理网", "10.1.20.1", "总部"],
            ],
            "IP地址": [
                ["address", "prefix", "status", "asset_tag", "interface", "mac"],
                ["10.1.20.11", "10.1.20.0/24", "在用", "SRV-1", "eth0", "AA-BB-CC-DD-EE-FF"],
                ["10.1.20.50", "", "reserved", "", "", ""],
            ],
            "链路": [
                ["a_asset_tag", "a_port", "b_asset_tag", "b_port", "medium"],
                ["SRV-1", "eth0", "SW-1", "Gi1/0/1", "网线"],
            ],
            "通信线路": [
                ["asset_tag", "circuit_id", "carrier", "bandwidth_mbps", "a_end", "z_end"],
                ["LINE-1", "BJ-100-200", "电信", "100Mbps", "总部A机房", "分部"],
            ],
        }
    )
    result = excel.import_workbook(data)
    assert result.ok, lines(result)
    assert all_counts() | {} == {
        "asset": 3,
        "site": 1,
        "room": 1,
        "rack": 1,
        "rack_unit": 2,
        "ip_prefix": 1,
        "ip_address": 2,
        "link": 1,
        "communication_line": 1,
    }
    prefix = ctx.scalar(select(Prefix))
    assert (prefix.vlan, prefix.gateway, prefix.site.name) == (20, "10.1.20.1", "总部")
    addr = ctx.scalar(select(IPAddress).where(IPAddress.address == "10.1.20.11"))
    assert addr.asset.asset_tag == "SRV-1" and addr.mac == "aa:bb:cc:dd:ee:ff"
    assert (
        ctx.scalar(select(IPAddress.status).where(IPAddress.address == "10.1.20.50")) == "reserved"
    )
    link = ctx.scalar(select(Link))
    assert {link.a_port, link.b_port} == {"eth0", "Gi1/0/1"} and link.medium == "网线"
    line = ctx.scalar(select(CommunicationLine))
    assert (line.circuit_id, line.bandwidth_mbps, line.carrier) == ("BJ-100-200", 100, "电信")


# --- export / import round trip -------------------------------------------------------------


def populate() -> None:
    rack = factories.rack("总部", "A机房", "A01", u_height=47)
    factories.asset(
        "SRV-001",
        name='=HYPERLINK("http://evil")',  # must come back as text, never a formula
        rack=rack,
        u_position=10,
        u_height=2,
        mgmt_ip="10.1.20.11",
        warranty_end=date(2027, 6, 30),
        purchase_date=date(2024, 1, 2),
        specs={"cpu": "2x Xeon 6330", "memory_gb": 512, "raid": "RAID10"},
        vendor="+86 Huawei",
        notes="-不要断电",
        importance="core",
    )
    sw = factories.asset("SW-001", kind="switch", rack=rack, u_position=40, serial="@0042")
    line = factories.asset("LINE-001", kind="line", name="联通专线", status="spare")
    services.save_line(line, {"circuit_id": "CU-42", "bandwidth_mbps": 200, "carrier": "联通"})
    prefix = factories.prefix("10.1.20.0/24", vlan=20, gateway="10.1.20.1", purpose="管理")
    factories.prefix("2001:db8::/64")
    srv = services_asset("SRV-001")
    services.save_address({"address": "10.1.20.11", "asset": srv, "interface": "bmc"})
    services.save_address({"address": "10.1.20.99", "prefix": prefix, "status": "dhcp"})
    services.save_address({"address": "2001:db8::5", "mac": "00:11:22:33:44:55"})
    services.save_link(srv, "eth0", sw, "Gi1/0/1", medium="光纤")
    db.session().commit()


def test_export_then_import_changes_nothing(ctx, tmp_path: Path) -> None:
    populate()
    before = all_counts()
    audit_before = count(AuditLog)
    path = tmp_path / "export.xlsx"
    counts = excel.write_export(path)
    assert counts == {"资产": 3, "网段": 2, "IP地址": 3, "链路": 1, "通信线路": 1}

    wb = load_workbook(path)  # cells as written
    ws = wb["资产"]
    head = [c.value for c in ws[1]]
    srv = {h: c for h, c in zip(head, ws[3], strict=False)}  # LINE-001, SRV-001, SW-001
    row = {h: c for h, c in zip(head, ws[4], strict=False)}
    assert srv["资产编号"].value == "SRV-001"
    assert srv["名称"].value == '=HYPERLINK("http://evil")' and srv["名称"].data_type == "s"
    assert srv["厂商"].value == "+86 Huawei" and srv["厂商"].data_type == "s"
    assert srv["备注"].data_type == "s"
    assert srv["类型"].value == "服务器" and srv["重要性"].value == "核心"
    assert srv["保修截止"].value == datetime(2027, 6, 30)
    assert srv["机柜高度U"].value == 47 and srv["起始U位"].value == 10
    assert srv["CPU型号"].value == "2x Xeon 6330" and srv["内存GB"].value == 512
    assert srv["其他规格"].value == "raid=RAID10"
    assert row["序列号"].value == "@0042" and row["序列号"].data_type == "s"

    result = excel.import_workbook(path)
    assert result.ok, lines(result)
    assert {s: dict(c) for s, c in result.counts.items()} == {
        "资产": {"created": 0, "updated": 0, "unchanged": 3},
        "网段": {"created": 0, "updated": 0, "unchanged": 2},
        "IP地址": {"created": 0, "updated": 0, "unchanged": 3},
        "链路": {"created": 0, "updated": 0, "unchanged": 1},
        "通信线路": {"created": 0, "updated": 0, "unchanged": 1},
    }
    assert all_counts() == before
    assert count(AuditLog) == audit_before


def test_export_imports_into_an_empty_database(db_app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    with db_app.test_request_context("/"):
        populate()
        excel.write_export(path)
        expected = all_counts()
        tables = [RackUnit, Link, CommunicationLine, IPAddress, Asset, Prefix, Rack, Room, Site]
        sess = db.session()
        for model in tables:
            sess.execute(model.__table__.delete())
        sess.commit()
    with db_app.test_request_context("/"):
        result = excel.import_workbook(path)
        assert result.ok, lines(result)
        assert all_counts() == expected
        srv = services_asset("SRV-001")
        assert srv.name == '=HYPERLINK("http://evil")' and srv.rack.u_height == 47
        assert srv.specs == {"cpu_model": "2x Xeon 6330", "memory_gb": 512, "raid": "RAID10"}


# --- bad workbooks ---------------------------------------------------------------------------


def _formula_book() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "资产"
    ws.append(ASSET_HEAD)
    ws.append(["SRV-1", "服务器一", "服务器"])
    ws.append(["SRV-2", '=A2&"-copy"', "服务器"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _occupied_book() -> bytes:
    return xlsx(
        {
            "资产": [
                ASSET_HEAD,
                ["SRV-1", "一号", "服务器", "总部", "A机房", "A01", 10, 2],
                ["SRV-2", "二号", "服务器", "总部", "A机房", "A01", 11, 1],
            ]
        }
    )


BAD_BOOKS = [
    (
        "missing_columns",
        lambda: xlsx({"资产": [["资产编号", "名称", "厂商"], ["SRV-1", "一号", "戴尔"]]}),
        ["资产 第1行：缺少必填列 类型(kind)（表头行须包含这些列）"],
    ),
    (
        "unknown_kind",
        lambda: xlsx(
            {"资产": [ASSET_HEAD, ["SRV-1", "一号", "服务器"], ["SRV-2", "二号", "toaster"]]}
        ),
        [
            "资产 第3行 类型(kind)：“toaster” 不是允许的取值（服务器、交换机、路由器、防火墙、"
            "存储、UPS、精密空调、PDU、环境传感器、KVM/控制台、通信线路、其他）"
        ],
    ),
    (
        "duplicate_tags",
        lambda: xlsx(
            {
                "资产": [
                    ASSET_HEAD,
                    ["SRV-1", "一号", "服务器"],
                    ["B", "b", "服务器"],
                    ["SRV-1", "又一号", "服务器"],
                ]
            }
        ),
        [
            "资产 第2行 资产编号(asset_tag)：“SRV-1” 在本文件中出现了多次（第 2、4 行）",
            "资产 第4行 资产编号(asset_tag)：“SRV-1” 在本文件中出现了多次（第 2、4 行）",
        ],
    ),
    (
        "occupied_units",
        _occupied_book,
        ["资产 第3行 起始U位(u_position)：“11” 机柜 A01 的 U11 已被第 2 行的 SRV-1 占用"],
    ),
    (
        "invalid_ip",
        lambda: xlsx(
            {
                "网段": [["网段"], ["10.1.20.0/24"]],
                "IP地址": [["IP地址", "状态"], ["10.1.20.300", "在用"]],
            }
        ),
        ["IP地址 第2行 IP地址(address)：“10.1.20.300” 10.1.20.300 不是有效的 IP 地址"],
    ),
    (
        "ip_outside_prefix",
        lambda: xlsx(
            {
                "网段": [["网段"], ["10.1.20.0/24"]],
                "IP地址": [
                    ["IP地址", "所属网段"],
                    ["10.1.30.5", "10.1.20.0/24"],
                    ["192.168.9.9", ""],
                ],
            }
        ),
        [
            "IP地址 第2行 IP地址(address)：“10.1.30.5” 10.1.30.5 不在网段 10.1.20.0/24 范围内。",
            "IP地址 第3行 IP地址(address)：“192.168.9.9” 192.168.9.9 "
            "不属于任何已登记的网段，请先登记网段。",
        ],
    ),
    (
        "formula",
        _formula_book,
        ['资产 第3行 名称(name)：“=A2&"-copy"” 是公式；请直接填写值（公式不会被导入）'],
    ),
    (
        "text_in_number_column",
        lambda: xlsx(
            {"资产": [ASSET_HEAD, ["SRV-1", "一号", "服务器", "总部", "A机房", "A01", "十"]]}
        ),
        ["资产 第2行 起始U位(u_position)：“十” 不是整数"],
    ),
    ("zero_bytes", lambda: b"", ["文件是空的。"]),
    (
        "empty_workbook",
        lambda: xlsx({"Sheet1": []}),
        ["工作簿是空的。"],
    ),
    (
        "no_known_sheet",
        lambda: xlsx({"Sheet1": [["a", "b"], [1, 2]]}),
        [
            "工作簿中没有名为 资产、网段、IP地址、链路、通信线路 的工作表"
            "（文件中的工作表：Sheet1）。"
        ],
    ),
    (
        "text_renamed_xlsx",
        lambda: "资产编号,名称,类型\nSRV-1,一号,服务器\n".encode(),
        ["这不是 Excel 工作簿（.xlsx）。请用 Excel 或 WPS 打开后另存为“Excel 工作簿(*.xlsx)”。"],
    ),
    (
        "broken_zip",
        lambda: _broken_zip(),
        ["无法作为 Excel 工作簿（.xlsx）读取；文件可能已损坏，或是其他格式改名为 .xlsx。"],
    ),
]


def _broken_zip() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    return out.getvalue()


@pytest.mark.parametrize(("case", "build", "expected"), BAD_BOOKS, ids=[b[0] for b in BAD_BOOKS])
def test_bad_workbooks_are_refused_with_their_message(ctx, case, build, expected) -> None:
    before = all_counts()
    audit_before = count(AuditLog)
    result = excel.import_workbook(build())
    assert not result.ok and not result.committed
    assert lines(result) == expected
    ctx.rollback()
    assert all_counts() == before
    assert count(AuditLog) == audit_before


def test_units_occupied_in_the_database(ctx) -> None:
    rack = factories.rack("总部", "A机房", "A01")
    factories.asset("OLD-1", rack=rack, u_position=20, u_height=2)
    ctx.commit()
    before = all_counts()
    result = excel.import_workbook(
        xlsx(
            {
                "资产": [
                    ASSET_HEAD,
                    ["SRV-1", "一号", "服务器", "总部", "A机房", "A01", 21],
                    ["SRV-2", "二号", "服务器", "总部", "A机房", "A01", 30],
                ]
            }
        )
    )
    assert lines(result) == [
        "资产 第2行 起始U位(u_position)：“21” 机柜 A01 的 U21 已被 OLD-1 占用。"
    ]
    assert all_counts() == before


def test_problems_carry_the_cell(ctx) -> None:
    result = excel.import_workbook(
        xlsx({"资产": [ASSET_HEAD, ["SRV-1", "一号", "服务器", "", "", "", "x"]]})
    )
    (problem,) = result.problems
    assert (problem.sheet, problem.row, problem.column, problem.value, problem.cell) == (
        "资产",
        2,
        "起始U位(u_position)",
        "x",
        "G2",
    )


def test_valid_rows_are_not_written_when_another_row_is_wrong(ctx) -> None:
    data = xlsx(
        {
            "资产": [ASSET_HEAD, ["SRV-1", "一号", "服务器", "总部", "A机房", "A01", 1]],
            "IP地址": [["IP地址"], ["10.9.9.9"]],
        }
    )
    result = excel.import_workbook(data)
    assert len(result.problems) == 1 and "10.9.9.9" in result.problems[0].line()
    assert all_counts() == dict.fromkeys(all_counts(), 0)


def test_dry_run_reports_but_writes_nothing(ctx) -> None:
    data = xlsx({"资产": [ASSET_HEAD, ["SRV-1", "一号", "服务器", "总部", "A机房", "A01", 1]]})
    result = excel.import_workbook(data, dry_run=True)
    assert result.ok and not result.committed
    assert result.counts["资产"]["created"] == 1
    assert len(result.created_locations) == 3
    assert all_counts() == dict.fromkeys(all_counts(), 0)
    assert count(AuditLog) == 0


# --- size ------------------------------------------------------------------------------------


def test_five_thousand_rows(ctx) -> None:
    rows = [[*ASSET_HEAD, "保修截止"]]
    for i in range(5000):
        rows.append(
            [
                f"SRV-{i:05d}",
                f"服务器{i}",
                "服务器",
                "总部",
                f"{i // 2000}号机房",
                f"R{i // 40:03d}",
                i % 40 + 1,
                1,
                f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                "2027-06-30",
            ]
        )
    result = excel.import_workbook(xlsx({"资产": rows}))
    assert result.ok, lines(result)[:5]
    assert result.counts["资产"]["created"] == 5000
    assert count(Asset) == 5000 and count(RackUnit) == 5000 and count(Rack) == 125


# --- command line ----------------------------------------------------------------------------


@pytest.fixture
def run(db_app: Flask):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: db_app))

    return invoke


def test_cli_template_import_export(db_app: Flask, run, tmp_path: Path) -> None:
    template = tmp_path / "t.xlsx"
    assert run("assets", "template", str(template)).exit_code == 0
    assert load_workbook(template).sheetnames[0] == "资产"

    good = tmp_path / "good.xlsx"
    good.write_bytes(
        xlsx({"资产": [ASSET_HEAD, ["SRV-1", "一号", "服务器", "总部", "A机房", "A01", 3]]})
    )
    dry = run("assets", "import", str(good), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "资产：新增 1" in dry.output
    with db_app.app_context():
        assert count(Asset) == 0
    done = run("assets", "import", str(good))
    assert done.exit_code == 0, done.output
    with db_app.app_context():
        assert count(Asset) == 1
        actors = set(db.session().scalars(select(AuditLog.actor)))
        assert actors and all(a.startswith("cli") for a in actors)

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(xlsx({"资产": [ASSET_HEAD, ["SRV-2", "二号", "toaster"]]}))
    refused = run("assets", "import", str(bad))
    assert refused.exit_code == 1
    assert "资产 第2行 类型(kind)：“toaster”" in refused.output
    assert run("assets", "import", str(tmp_path / "missing.xlsx")).exit_code == 2

    out = tmp_path / "out.xlsx"
    exported = run("assets", "export", str(out))
    assert exported.exit_code == 0, exported.output
    assert load_workbook(out)["资产"]["A2"].value == "SRV-1"
    # printed pages numbered in the site's language, as the report packs' are
    assert load_workbook(out)["资产"].oddFooter.center.text == "第 &P 页，共 &N 页"


# --- big workbooks: bounded memory, capped problem lists, the row limit ----------------------


def big_book(n: int, row: Any) -> bytes:
    """An n-row 资产 sheet written quickly (xlsxwriter); ``row(i)`` gives row i's cells."""
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet("资产")
    ws.write_row(0, 0, ASSET_HEAD)
    for i in range(n):
        ws.write_row(i + 1, 0, row(i))
    wb.close()
    return out.getvalue()


def test_many_bad_rows_give_the_first_of_each_kind_and_counts(ctx) -> None:
    """5,000 bad rows: a few problems of each kind are listed, the others only counted."""
    before = all_counts()

    def row(i: int) -> list:  # rows 2-3001: an unknown kind; rows 3002-5001: a bad U position
        if i < 3000:
            return [f"SRV-{i:05d}", f"服务器{i}", "toaster"]
        return [f"SRV-{i:05d}", f"服务器{i}", "服务器", "总部", "A机房", "A01", f"U{i}"]

    result = excel.import_workbook(big_book(5000, row))
    assert not result.ok and not result.committed
    assert result.problem_count == 5000
    assert len(result.problems) == 2 * excel.SHOW_PER_KIND
    assert [p.row for p in result.problems] == [2, 3, 4, 5, 6, 3002, 3003, 3004, 3005, 3006]
    assert result.problems[0].cell == "C2" and result.problems[-1].cell == "G3006"
    assert {key: o.count for key, o in result.omitted.items()} == {
        ("资产", "类型(kind)"): 2995,
        ("资产", "起始U位(u_position)"): 1995,
    }
    assert result.omitted_lines() == [
        "… 另有 2,995 行是同样的问题（资产 类型(kind)：不是允许的取值（服务器、交换机、路由器、"
        "防火墙、存储、UPS、精密空调、PDU、环境传感器、KVM/控制台、通信线路、其他））",
        "… 另有 1,995 行是同样的问题（资产 起始U位(u_position)：不是整数）",
    ]
    ctx.rollback()
    assert all_counts() == before


def test_problems_of_one_column_with_different_messages_are_capped(ctx) -> None:
    """Messages that name the row (duplicates) are many kinds: the column is capped too."""

    def row(i: int) -> list:  # every tag twice: rows 2 and 3 share one, 4 and 5 the next ...
        return [f"SRV-{i // 2:05d}", f"服务器{i}", "服务器"]

    result = excel.import_workbook(big_book(1000, row))
    assert result.problem_count == 1000
    assert len(result.problems) == excel.SHOW_PER_COLUMN
    assert lines(result)[:2] == [
        "资产 第2行 资产编号(asset_tag)：“SRV-00000” 在本文件中出现了多次（第 2、3 行）",
        "资产 第3行 资产编号(asset_tag)：“SRV-00000” 在本文件中出现了多次（第 2、3 行）",
    ]
    assert result.omitted_lines() == ["… 另有 980 处问题在 资产 资产编号(asset_tag)"]
    assert count(Asset) == 0


def test_a_workbook_over_the_row_limit_is_refused_and_writes_nothing(db_app: Flask, ctx) -> None:
    factories.asset("OLD-1", name="旧名字")
    ctx.commit()
    before = all_counts()
    db_app.config["IMPORT_MAX_ROWS"] = 100

    def row(i: int) -> list:  # valid rows; OLD-1 renamed on the first one
        return ["OLD-1" if i == 0 else f"SRV-{i:05d}", f"服务器{i}", "服务器"]

    exactly = excel.import_workbook(big_book(100, row), dry_run=True)
    assert exactly.ok, lines(exactly)
    result = excel.import_workbook(big_book(101, row))
    assert not result.ok and not result.committed and result.problem_count == 1
    assert lines(result) == [
        "资产 第102行：本工作簿的数据行超过 100 行，这是一次导入的上限（OPSKIT_IMPORT_MAX_ROWS）；"
        "未导入任何数据。请拆分成每个不超过 100 行的工作簿。"
    ]
    ctx.rollback()
    assert all_counts() == before
    assert services_asset("OLD-1").name == "旧名字"
    assert excel.import_workbook(big_book(101, row), max_rows=101).committed


def test_the_row_limit_setting_is_validated() -> None:
    from opskit.config import ConfigError, Settings

    assert Settings.from_env({}).import_max_rows == 200_000
    assert Settings.from_env({"OPSKIT_IMPORT_MAX_ROWS": "5000"}).import_max_rows == 5000
    for bad in ("0", "-1", "lots"):
        with pytest.raises(ConfigError, match="OPSKIT_IMPORT_MAX_ROWS"):
            Settings.from_env({"OPSKIT_IMPORT_MAX_ROWS": bad})


def test_a_failure_in_the_last_batch_rolls_back_the_earlier_batches(
    ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches are written as they go, in one transaction: the last one failing undoes all."""
    monkeypatch.setattr(importer, "BATCH", 50)
    rack = factories.rack("总部", "A机房", "A01")
    factories.asset("OLD-1", name="旧名字", rack=rack, u_position=40)
    factories.asset("OLD-2", name="旧名字二")
    ctx.commit()
    before = all_counts()
    audit_before = count(AuditLog)

    def row(i: int) -> list:
        if i == 0:  # batch 1 renames OLD-1 and moves it
            return ["OLD-1", "新名字", "服务器", "总部", "A机房", "A01", 1]
        if i == 60:  # batch 2 renames OLD-2
            return ["OLD-2", "新名字二", "服务器"]
        if i == 229:  # the last row, in the last batch: the services refuse its address
            return [f"SRV-{i:05d}", f"服务器{i}", "服务器", "", "", "", None, None, "10.0.0.999"]
        return [f"SRV-{i:05d}", f"服务器{i}", "服务器", "总部", "A机房", f"R{i // 40}", i % 40 + 1]

    result = excel.import_workbook(big_book(230, row))
    assert lines(result) == [
        "资产 第231行 管理IP(mgmt_ip)：“10.0.0.999” 10.0.0.999 不是有效的 IP 地址"
    ]
    assert result.counts["资产"]["created"] == 227 and result.counts["资产"]["updated"] == 2
    ctx.rollback()
    assert all_counts() == before and count(AuditLog) == audit_before
    old = services_asset("OLD-1")
    assert (old.name, old.u_position) == ("旧名字", 40)
    assert services_asset("OLD-2").name == "旧名字二"


def test_checks_across_rows_reach_across_batches(ctx, monkeypatch: pytest.MonkeyPatch) -> None:
    """Duplicate tags and shared rack units are found however far apart the rows are."""
    monkeypatch.setattr(importer, "BATCH", 10)

    def row(i: int) -> list:
        if i == 45:  # SRV-00003 again (row 5 and row 47)
            return ["SRV-00003", "又一个", "服务器"]
        if i == 33:  # U7 of R1 is row 8's (SRV-00006)
            return [f"SRV-{i:05d}", "撞机位", "服务器", "总部", "A机房", "R1", 7]
        rack = "R1" if i < 30 else "R2"
        return [f"SRV-{i:05d}", f"服务器{i}", "服务器", "总部", "A机房", rack, i % 30 + 1]

    result = excel.import_workbook(big_book(50, row))
    assert lines(result) == [
        "资产 第35行 起始U位(u_position)：“7” 机柜 R1 的 U7 已被第 8 行的 SRV-00006 占用",
        "资产 第5行 资产编号(asset_tag)：“SRV-00003” 在本文件中出现了多次（第 5、47 行）",
        "资产 第47行 资产编号(asset_tag)：“SRV-00003” 在本文件中出现了多次（第 5、47 行）",
    ]
    assert count(Asset) == 0


def test_cli_prints_the_first_problems_and_counts_the_rest(run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(big_book(300, lambda i: [f"SRV-{i:05d}", f"服务器{i}", "toaster"]))
    refused = run("assets", "import", str(bad))
    assert refused.exit_code == 1
    out = refused.output.splitlines()
    assert sum("类型(kind)：“toaster”" in line for line in out) == excel.SHOW_PER_KIND
    assert any(line.startswith("… 另有 295 行是同样的问题（资产 类型(kind)：") for line in out)
    assert out[-1] == "300 problem(s); nothing was written."


def test_the_constant_memory_row_reader_reads_what_openpyxl_reads() -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["资产编号", "名称", None, "类型"])
    ws.cell(row=4, column=2, value="after two missing rows")
    ws.cell(row=5, column=6, value=datetime(2027, 6, 30))
    ws.cell(row=6, column=1, value="=A1")
    ws.row_dimensions[4].height = 30  # a row with attributes
    out = io.BytesIO()
    wb.save(out)
    book = load_workbook(io.BytesIO(out.getvalue()), read_only=True)
    sheet = book.active
    sheet.reset_dimensions()

    def rows(iterator) -> list:
        return [[(c.value, c.data_type) for c in row] for row in iterator]

    ours = rows(reader.sheet_rows(sheet))
    assert ours == rows(sheet.iter_rows())
    assert len(ours) == 6 and ours[1] == [] and ours[5][0] == ("=A1", "f")
    book.close()
