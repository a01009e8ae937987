"""The Excel page: upload with problems table or summary, dry run, downloads, roles."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from assets.models import Asset
from opskit import db
from tests import factories
from tests.conftest import login, post_form

HEAD = ["资产编号", "名称", "类型", "站点", "机房", "机柜", "起始U位"]


def book(*rows: list) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.title = "资产"
    ws.append(HEAD)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    out.seek(0)
    return out


def assets_in_db(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(Asset.asset_tag).order_by(Asset.asset_tag)))


def upload(client: FlaskClient, data: io.BytesIO, name: str = "台账.xlsx", dry_run: bool = False):
    form = {"file": (data, name)}
    if dry_run:
        form["dry_run"] = "1"
    return post_form(client, "/assets/excel/", form, content_type="multipart/form-data")


def test_upload_shows_every_problem_and_writes_nothing(
    db_app: Flask, db_client: FlaskClient
) -> None:
    login(db_client, "engineer")
    page = db_client.get("/assets/excel/").get_data(as_text=True)
    assert 'type="file"' in page and 'name="dry_run"' in page
    response = upload(
        db_client,
        book(
            ["SRV-1", "一号", "服务器", "总部", "A机房", "A01", 1],
            ["SRV-2", "二号", "toaster", "", "", "", "x"],
        ),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="excel-problems"' in html
    assert "toaster" in html and "类型(kind)" in html and "不是允许的取值" in html
    assert 'data-cell="C3"' in html and 'data-cell="G3"' in html and "不是整数" in html
    assert "台账.xlsx" in html and 'id="excel-last-file"' in html
    assert assets_in_db(db_app) == []


def test_dry_run_then_import(db_app: Flask, db_client: FlaskClient) -> None:
    login(db_client, "supervisor")
    rows = [["SRV-1", "一号", "服务器", "总部", "A机房", "A01", 1]]
    dry = upload(db_client, book(*rows), dry_run=True)
    assert dry.status_code == 200
    html = dry.get_data(as_text=True)
    assert 'id="excel-summary"' in html and "资产：新增 1，更新 0，未变 0" in html
    assert "新机柜：总部 / A机房 / A01（42U）" in html
    assert assets_in_db(db_app) == []
    done = upload(db_client, book(*rows))
    assert done.status_code == 200 and "已导入" in done.get_data(as_text=True)
    assert assets_in_db(db_app) == ["SRV-1"]
    again = upload(db_client, book(*rows)).get_data(as_text=True)
    assert "资产：新增 0，更新 0，未变 1" in again


def test_not_an_excel_file(db_app: Flask, db_client: FlaskClient) -> None:
    login(db_client, "engineer")
    response = upload(db_client, io.BytesIO(b"tag,name\nSRV-1,x\n"), name="fake.xlsx")
    assert response.status_code == 422
    assert "这不是 Excel 工作簿" in response.get_data(as_text=True)
    missing = post_form(db_client, "/assets/excel/", {}, content_type="multipart/form-data")
    assert missing.status_code == 400


def test_downloads_and_viewer(db_app: Flask, db_client: FlaskClient) -> None:
    with db_app.test_request_context("/"):
        factories.asset("SRV-1", name="=1+1")
        db.session().commit()
    login(db_client, "viewer")
    page = db_client.get("/assets/excel/").get_data(as_text=True)
    assert 'id="excel-upload"' not in page and 'id="excel-read-only"' in page
    template = db_client.get("/assets/excel/template.xlsx")
    assert template.status_code == 200
    assert load_workbook(io.BytesIO(template.data)).sheetnames[:2] == ["资产", "网段"]
    export = db_client.get("/assets/excel/export.xlsx")
    assert export.status_code == 200 and "attachment" in export.headers["Content-Disposition"]
    cell = load_workbook(io.BytesIO(export.data))["资产"]["B2"]
    assert cell.value == "=1+1" and cell.data_type == "s"
    refused = upload(db_client, book(["SRV-9", "九", "服务器", "", "", "", ""]))
    assert refused.status_code == 403
    with db_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Asset)) == 1


def big_book(n: int, kind: str = "服务器") -> io.BytesIO:
    import xlsxwriter

    out = io.BytesIO()
    wb = xlsxwriter.Workbook(out, {"in_memory": True})
    ws = wb.add_worksheet("资产")
    ws.write_row(0, 0, HEAD)
    for i in range(n):
        ws.write_row(i + 1, 0, [f"SRV-{i:05d}", f"服务器{i}", kind])
    wb.close()
    out.seek(0)
    return out


def test_a_sheet_of_bad_rows_gives_a_short_page(db_app: Flask, db_client: FlaskClient) -> None:
    """5,000 bad rows: the first few are listed, the rest counted; the page stays small."""
    login(db_client, "engineer")
    response = upload(db_client, big_book(5000, kind="toaster"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert len(html) < 60_000
    assert "台账.xlsx 中有 5000 处问题" in html
    assert html.count("<tr data-cell=") == 5
    assert 'data-cell="C2"' in html and 'data-cell="C6"' in html and 'data-cell="C7"' not in html
    omitted = html.split('id="excel-omitted"')[1].split("</ul>")[0]
    assert (
        'data-count="4995"' in omitted
        and "… 另有 4,995 行是同样的问题（资产 类型(kind)：" in omitted
    )
    assert assets_in_db(db_app) == []


def test_a_workbook_over_the_row_limit_is_refused_on_the_page(
    db_app: Flask, db_client: FlaskClient
) -> None:
    db_app.config["IMPORT_MAX_ROWS"] = 10
    login(db_client, "engineer")
    assert "每次导入最多 10 个数据行" in db_client.get("/assets/excel/").get_data(as_text=True)
    response = upload(db_client, big_book(11))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert (
        "资产" in html and "本工作簿的数据行超过 10 行" in html and "OPSKIT_IMPORT_MAX_ROWS" in html
    )
    assert assets_in_db(db_app) == []
    assert upload(db_client, big_book(10)).status_code == 200
    assert len(assets_in_db(db_app)) == 10
