"""One vocabulary for specs (``assets.specs``): the asset form, the API's service, the Excel
import and export, the demo and the report's 设备配置 sheet all store and read the same keys."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from assets import excel
from assets.models import Asset
from assets.specs import SpecError, normalise, parse_value
from opskit import clock, db
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories
from tests.assets.test_excel import lines, xlsx
from tests.assets.test_views import ASSET_FORM, _field_error, _input_value
from tests.conftest import login, post_form

TZ = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("key", "typed", "stored"),
    [
        ("memory_gb", "64GB", 64),
        ("memory_gb", "64 GB", 64),
        ("memory_gb", "64", 64),
        ("memory_gb", 64.0, 64),
        ("memory_gb", "１ TB", 1024),  # full-width digit
        ("memory_gb", "1.5 TB", 1536),
        ("memory_gb", "512 mb", 0.5),
        ("cpu_cores", "32", 32),
        ("cpu_cores", "32 核", 32),
        ("cpu_cores", "56 cores", 56),
        ("disks", " 4 x 1.92 TB SSD ", "4 x 1.92 TB SSD"),
        ("cpu_model", "", ""),
    ],
)
def test_values_read_as_the_vocabulary_reads_them(app: Flask, key, typed, stored) -> None:
    with app.test_request_context("/"):
        assert parse_value(key, typed) == stored


def test_bad_values_name_the_spec_and_what_was_expected(app: Flask) -> None:
    with app.test_request_context("/"):
        with pytest.raises(SpecError, match=r"^内存（GB）：“很多” 不是以 GB 计的容量"):
            parse_value("memory_gb", "很多")
        with pytest.raises(SpecError, match=r"^CPU 核数：“2.5” 不是整数（例如 32）"):
            parse_value("cpu_cores", "2.5")
        specs, errors = normalise({"CPU": "Xeon", "内存": "-4 GB", "raid": "RAID5"})
        assert specs == {"cpu_model": "Xeon", "raid": "RAID5"}
        assert errors == ["内存（GB）：“-4 GB” 不是以 GB 计的容量（例如 64、64 GB 或 1 TB）"]


def test_the_form_has_a_field_per_spec_and_keeps_the_others(db_client: FlaskClient) -> None:
    login(db_client, "engineer")
    bad = {**ASSET_FORM, "memory_gb": "很多", "cpu_cores": "x", "specs": "电源: 2x800W"}
    response = post_form(db_client, "/assets/new", bad)
    assert response.status_code == 400  # each bad spec beside its field, in words
    html = response.get_data(as_text=True)
    assert _field_error(html, "memory_gb") == [
        "内存（GB）：“很多” 不是以 GB 计的容量（例如 64、64 GB 或 1 TB）"
    ]
    assert _field_error(html, "cpu_cores") == ["CPU 核数：“x” 不是整数（例如 32）"]
    assert _input_value(html, "memory_gb") == "很多"  # kept as typed
    good = {
        **bad,
        "cpu_model": "2x Xeon Gold 6330",
        "cpu_cores": "56",
        "memory_gb": "512 GB",
        "disks": "4x 1.92TB SSD",
        "specs": "电源: 2x800W\n硬盘: 2x 480GB",  # a vocabulary key typed as a line, field set
    }
    assert post_form(db_client, "/assets/new", good).status_code == 302
    with db_client.application.app_context():
        asset = db.session().scalar(select(Asset))
        assert asset.specs == {
            "cpu_model": "2x Xeon Gold 6330",
            "cpu_cores": 56,
            "memory_gb": 512,
            "disks": "4x 1.92TB SSD",
            "电源": "2x800W",
            "硬盘": "2x 480GB",  # the field won; the line kept under its name, not lost
        }
        asset_id = asset.id
    page = db_client.get(f"/assets/{asset_id}").get_data(as_text=True)
    assert '<dt class="col-5">内存（GB）</dt><dd class="col-7">512</dd>' in page
    edit = db_client.get(f"/assets/{asset_id}/edit").get_data(as_text=True)
    assert _input_value(edit, "memory_gb") == "512" and _input_value(edit, "cpu_cores") == "56"
    assert "电源: 2x800W" in edit and "cpu_model:" not in edit


def test_excel_reads_other_spellings_and_names_a_bad_cell(db_app: Flask, tmp_path: Path) -> None:
    head = ["资产编号", "名称", "类型", "CPU", "核数", "内存", "硬盘", "固件", "其他规格"]
    with db_app.test_request_context("/"):
        book = xlsx(
            {
                "资产": [
                    head,
                    ["SRV-1", "一号", "服务器", "Xeon", 32, "64 GB", "2x SSD", "1.2", "raid=RAID1"],
                ]
            }
        )
        result = excel.import_workbook(book)
        assert result.ok, lines(result)
        asset = db.session().scalar(select(Asset).where(Asset.asset_tag == "SRV-1"))
        assert asset.specs == {
            "cpu_model": "Xeon",
            "cpu_cores": 32,
            "memory_gb": 64,
            "disks": "2x SSD",
            "firmware": "1.2",
            "raid": "RAID1",
        }
        bad = xlsx({"资产": [head, ["SRV-2", "二号", "服务器", "", "", "很多", "", "", ""]]})
        result = excel.import_workbook(bad)
        assert lines(result) == [
            "资产 第2行 内存GB(memory_gb)：“很多” 不是以 GB 计的容量（例如 64、64 GB 或 1 TB）"
        ]
        db.session().rollback()
        assert db.session().scalar(select(Asset).where(Asset.asset_tag == "SRV-2")) is None
        path = tmp_path / "export.xlsx"
        excel.write_export(path)
        ws = openpyxl.load_workbook(path)["资产"]
        cells = {c.value: v.value for c, v in zip(ws[1], ws[2], strict=False)}
        assert (cells["CPU型号"], cells["CPU核数"], cells["内存GB"]) == ("Xeon", 32, 64)
        assert (cells["磁盘"], cells["固件/系统"], cells["其他规格"]) == (
            "2x SSD",
            "1.2",
            "raid=RAID1",
        )


def test_the_demo_configuration_sheet_shows_its_servers(app: Flask, tmp_path: Path) -> None:
    from opskit.demo.registry import seed_registry

    out = tmp_path / "pack.xlsx"
    with app.test_request_context("/"), clock.frozen(datetime(2026, 11, 15, 2, 0, tzinfo=UTC)):
        seed_registry()
        factories.asset("OLD-1", specs={"CPU": "E5-2680", "内存": "128 GB"})  # typed the old way
        db.session().commit()
        build_pack(parse_period("2026Q3", TZ), out, ["config_storage"])
    ws = openpyxl.load_workbook(out)["设备配置"]
    head = [c.value for c in ws[3]]
    rows = [dict(zip(head, r, strict=False)) for r in ws.iter_rows(min_row=4, values_only=True)]
    servers = {r["资产编号"]: r for r in rows if r["类型"] == "服务器"}
    specs = {
        t: (r["CPU（登记）"], r["内存 GB（登记）"], r["磁盘（登记）"]) for t, r in servers.items()
    }
    assert specs.pop("OLD-1") == ("E5-2680", 128, None)  # typed the old way, stored the new
    assert len(specs) > 20 and all(all(cells) for cells in specs.values())  # none empty
    assert specs.pop("ZJ-SRV-901") == ("2 x Xeon Silver 4314，32 核", 256, "4 x 1.2 TB SAS")
    assert specs.pop("ZJ-SRV-000") == ("Xeon E-2378，8 核", 32, "2 x 960 GB SSD")  # opskit's
    assert set(specs.values()) == {("2 x Xeon Gold 6330，56 核", 512, "4 x 1.92 TB SSD")}
