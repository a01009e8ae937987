"""Repair pages: the form from an asset and from a request (a refused form keeps what was typed,
a retried save is one repair), editing, signing on the tablet, the viewer refused on every
write, the asset page's repair history, the registry's repeated faults, and the written report
as a print view and as a Word file opened with python-docx."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape

import pytest
from docx import Document
from docx.oxml.ns import qn
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from opskit import clock, db
from opskit.servicedesk import queries, services
from opskit.servicedesk.models import Repair
from tests import factories
from tests.conftest import PERSONAS, csrf_token, login, post_form
from tests.servicedesk.repair_util import drawn_signature, repair_input, request_row


@dataclass(frozen=True)
class World:
    server: int
    switch: int
    request: int
    repair: int  # of the request, signed by both
    t0: datetime  # the downtime start, a day ago to the minute


@pytest.fixture
def world(app: Flask) -> World:
    t0 = (clock.now() - timedelta(days=1)).replace(second=0, microsecond=0)
    with app.test_request_context("/"):
        rack = factories.rack(room="A机房", name="A01")
        server = factories.asset(
            "SRV-01",
            name="财务服务器",
            rack=rack,
            u_position=10,
            u_height=2,
            vendor="华为",
            model="RH2288H V5",
            serial="2102311YJX10K8000123",
        )
        switch = factories.asset(
            "SW-01", kind="switch", name="接入交换机", rack=rack, u_position=40
        )
        req = request_row(server.id, t0 - timedelta(minutes=20))
        repair = services.record_repair(repair_input(t0), request_id=req.id)
        services.sign_repair(
            repair,
            engineer_signature=drawn_signature(),
            engineer_name="张伟",
            customer_signature=drawn_signature(stroke=12),
            customer_name="王芳",
            at=t0 + timedelta(hours=3),
        )
        db.session().commit()
        return World(server.id, switch.id, req.id, repair.id, t0)


def _client(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    login(client, role)
    return client


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(Repair)) or 0


def _text(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", body, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _local(app: Flask, moment: datetime) -> str:
    with app.app_context():
        return f"{moment.astimezone(clock.site_tz()):%Y-%m-%d %H:%M}"


def _form(t0: datetime, app: Flask, **values: str | list[str]) -> dict:
    data: dict = {
        "client_id": "page-form-0001",
        "fault": "交换机端口 24 不通",
        "diagnosis": "光模块损坏",
        "work_done": "更换光模块",
        "result": "端口恢复",
        "vendor": "H3C",
        "vendor_case_number": "H3C-555",
        "rma_number": "",
        "vendor_engineer": "",
        "vendor_opened_at": "",
        "vendor_closed_at": "",
        "downtime_start": _local(app, t0).replace(" ", "T"),
        "downtime_end": _local(app, t0 + timedelta(minutes=45)).replace(" ", "T"),
        "cost": "￥1,080.00",
        "part": ["10G SFP+ 光模块", ""],
        "serial_out": ["SFP-OLD-77", ""],
        "serial_in": ["SFP-NEW-88", ""],
        "quantity": ["1", ""],
    }
    data.update(values)
    return data


# --- who may write ----------------------------------------------------------------------------


def test_a_viewer_reads_but_is_refused_403_on_every_write(app: Flask, world: World) -> None:
    viewer = _client(app, "viewer")
    for url in (
        f"/repairs/{world.repair}",
        f"/repairs/{world.repair}/report",
        f"/repairs/{world.repair}/report.docx",
        f"/assets/{world.server}/repairs",
        "/assets/repeated-faults",
    ):
        assert viewer.get(url).status_code == 200, url
    writes = (
        f"/assets/{world.switch}/repairs/new",
        f"/requests/{world.request}/repairs/new",
        f"/repairs/{world.repair}/edit",
        f"/repairs/{world.repair}/sign",
    )
    token = csrf_token(viewer, "/")
    for url in writes:
        assert viewer.get(url).status_code == 403, url
        data = {"csrf_token": token, **_form(world.t0, app, client_id=f"viewer-{len(url):04d}")}
        data.update(engineer_signature=drawn_signature(), engineer_name="x")
        assert viewer.post(url, data=data).status_code == 403, url
    assert _count(app) == 1
    page = viewer.get(f"/repairs/{world.repair}").get_data(as_text=True)
    assert (
        f"/repairs/{world.repair}/edit" not in page and f"/repairs/{world.repair}/sign" not in page
    )


def test_a_post_without_csrf_token_is_refused(app: Flask, world: World) -> None:
    engineer = _client(app, "engineer")
    response = engineer.post(f"/assets/{world.switch}/repairs/new", data=_form(world.t0, app))
    assert response.status_code == 400
    assert _count(app) == 1


# --- the form ---------------------------------------------------------------------------------


def test_a_repair_recorded_from_the_asset_page_once_however_often_it_is_sent(
    app: Flask, world: World
) -> None:
    engineer = _client(app, "engineer")
    page = engineer.get(f"/assets/{world.switch}/repairs/new")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="csrf_token"' in body and re.search(r'name="client_id" value="\w{8,}"', body)
    assert "SW-01" in body and 'id="repair-part-template"' in body
    data = _form(world.t0, app)
    first = post_form(engineer, f"/assets/{world.switch}/repairs/new", data)
    assert first.status_code == 303
    again = post_form(engineer, f"/assets/{world.switch}/repairs/new", data)  # a flaky network
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert _count(app) == 2
    with app.app_context():
        repair = services.find_repair("page-form-0001")
        assert repair is not None and repair.asset_id == world.switch
        assert str(repair.cost) == "1080.00" and repair.created_by == "engineer"
        assert repair.downtime_end - repair.downtime_start == timedelta(minutes=45)
        assert repair.downtime_start == world.t0
        assert [(p.part, p.serial_out, p.serial_in) for p in repair.parts] == [
            ("10G SFP+ 光模块", "SFP-OLD-77", "SFP-NEW-88")
        ]
    shown = engineer.get(first.headers["Location"]).get_data(as_text=True)
    assert "SFP-OLD-77" in shown and "H3C-555" in shown


def test_a_refused_form_keeps_everything_typed_and_names_each_field(
    app: Flask, world: World
) -> None:
    engineer = _client(app, "engineer")
    data = _form(
        world.t0,
        app,
        downtime_end=_local(app, world.t0 - timedelta(hours=1)).replace(" ", "T"),
        vendor_opened_at="2026-13-45 99:99",
        cost="-12",
        part=["10G SFP+ 光模块", ""],
        serial_out=["SFP-OLD-77", "ORPHAN-SERIAL-1"],
        serial_in=["SFP-NEW-88", ""],
        quantity=["1", "two"],
    )
    response = post_form(engineer, f"/assets/{world.switch}/repairs/new", data)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    named = set(re.findall(r'data-field="([\w-]+)"', body))
    assert named == {
        "downtime_end",
        "vendor_opened_at",
        "cost",
        "parts-1-part",
        "parts-1-quantity",
    }
    for typed in ("交换机端口 24 不通", "光模块损坏", "H3C-555", "2026-13-45 99:99", "-12"):
        assert typed in unescape(body), typed
    for typed in ("SFP-OLD-77", "SFP-NEW-88", "ORPHAN-SERIAL-1", 'value="two"'):
        assert typed in body, typed
    assert 'value="page-form-0001"' in body  # the same form: a later save is still one repair
    assert _count(app) == 1


def test_a_repair_from_a_request_page_starts_from_the_request(app: Flask, world: World) -> None:
    engineer = _client(app, "engineer")
    page = engineer.get(f"/requests/{world.request}/repairs/new")
    assert page.status_code == 200
    body = unescape(page.get_data(as_text=True))
    assert "服务器前面板硬盘灯红色" in body and 'value="SRV-01"' in body
    refused = post_form(
        engineer,
        f"/requests/{world.request}/repairs/new",
        _form(world.t0, app, asset_tag="NO-SUCH-9", client_id="page-form-0002"),
    )
    assert refused.status_code == 400
    assert re.search(r'data-field="asset_tag">[^<]*NO-SUCH-9', refused.get_data(as_text=True))
    saved = post_form(
        engineer,
        f"/requests/{world.request}/repairs/new",
        _form(world.t0, app, asset_tag="SRV-01", client_id="page-form-0002"),
    )
    assert saved.status_code == 303
    with app.app_context():
        repair = services.find_repair("page-form-0002")
        assert repair is not None
        assert (repair.request_id, repair.asset_id) == (world.request, world.server)
    assert engineer.get(f"/requests/{world.request + 99}/repairs/new").status_code == 404
    assert engineer.get(f"/assets/{world.switch + 99}/repairs/new").status_code == 404


def test_an_edit_shows_the_repair_and_saves_the_change(app: Flask, world: World) -> None:
    supervisor = _client(app, "supervisor")
    page = supervisor.get(f"/repairs/{world.repair}/edit").get_data(as_text=True)
    assert 'value="WX-OLD-001"' in page and 'value="1200.50"' in page
    assert f'value="{_local(app, world.t0).replace(" ", "T")}"' in page
    data = _form(world.t0, app, asset_tag="SRV-01", result="观察一周无异常")
    response = post_form(supervisor, f"/repairs/{world.repair}/edit", data)
    assert response.status_code == 303
    with app.app_context():
        repair = queries.get_repair(world.repair)
        assert repair is not None and repair.result == "观察一周无异常"
        assert [p.serial_in for p in repair.parts] == ["SFP-NEW-88"]
        assert repair.customer_signature  # the signatures stay
    refused = post_form(supervisor, f"/repairs/{world.repair}/edit", {**data, "fault": ""})
    assert refused.status_code == 400 and 'data-field="fault"' in refused.get_data(as_text=True)


def test_signing_on_the_tablet_and_a_refused_signature_kept(app: Flask, world: World) -> None:
    engineer = _client(app, "engineer")
    post_form(
        engineer,
        f"/assets/{world.switch}/repairs/new",
        _form(world.t0, app, client_id="to-sign-0001"),
    )
    with app.app_context():
        found = services.find_repair("to-sign-0001")
        assert found is not None
        repair_id = found.id
    page = engineer.get(f"/repairs/{repair_id}/sign").get_data(as_text=True)
    assert page.count("data-signature-input=") == 2 and "js/signature.js" in page
    assert 'value="Engineer"' in page  # the engineer's own name, ready
    drawn = drawn_signature()
    refused = post_form(
        engineer,
        f"/repairs/{repair_id}/sign",
        {"engineer_name": "Engineer", "customer_name": "", "customer_signature": drawn},
    )
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert 'data-field="customer_name"' in body
    assert f'value="{drawn}"' in body  # the drawing comes back to the canvas
    saved = post_form(
        engineer,
        f"/repairs/{repair_id}/sign",
        {
            "engineer_name": "张伟",
            "engineer_signature": drawn_signature(stroke=3),
            "customer_name": "刘洋",
            "customer_signature": drawn,
        },
    )
    assert saved.status_code == 303
    with app.app_context():
        repair = queries.get_repair(repair_id)
        assert repair is not None
        assert (repair.signed_by_engineer, repair.signed_by_customer) == ("张伟", "刘洋")
        assert repair.customer_signature == drawn and repair.customer_signed_at is not None


# --- the asset page and the registry ----------------------------------------------------------


def test_the_asset_page_loads_its_repair_history(app: Flask, world: World) -> None:
    viewer = _client(app, "viewer")
    page = viewer.get(f"/assets/{world.server}").get_data(as_text=True)
    assert f'hx-get="/assets/{world.server}/repairs"' in page
    assert 'href="/assets/repeated-faults"' in page  # the registry's tab
    panel = viewer.get(f"/assets/{world.server}/repairs").get_data(as_text=True)
    assert f'data-repair="{world.repair}"' in panel
    assert "600GB SAS 硬盘" in panel and "RMA-77881" in panel
    assert f"/assets/{world.server}/repairs/new" not in panel  # a viewer records none
    engineer = _client(app, "engineer")
    assert f"/assets/{world.server}/repairs/new" in engineer.get(
        f"/assets/{world.server}/repairs"
    ).get_data(as_text=True)
    empty = viewer.get(f"/assets/{world.switch}/repairs").get_data(as_text=True)
    assert "data-repair=" not in empty
    assert viewer.get(f"/assets/{world.switch + 99}/repairs").status_code == 404


def test_the_registry_lists_assets_with_repeated_faults(app: Flask, world: World) -> None:
    now = clock.now()
    with app.test_request_context("/"):
        for n, days in enumerate((3, 30), start=2):  # 3 requests and a repair of one of them
            request_row(world.server, now - timedelta(days=days), n)
        db.session().commit()
    viewer = _client(app, "viewer")
    page = viewer.get("/assets/repeated-faults").get_data(as_text=True)
    assert re.search(r'<tr data-asset="SRV-01">', page)
    assert 'data-faults="3"' in page and 'data-asset="SW-01"' not in page
    assert 'class="nav-link active" href="/assets/repeated-faults"' in page
    stricter = viewer.get("/assets/repeated-faults?over=3").get_data(as_text=True)
    assert 'data-asset="SRV-01"' not in stricter and 'id="repeated-none"' in stricter
    shorter = viewer.get("/assets/repeated-faults?over=1&days=10").get_data(as_text=True)
    assert 'data-faults="2"' in shorter  # the last two: today's and 3 days ago
    wrong = viewer.get("/assets/repeated-faults?over=many")
    assert wrong.status_code == 200 and 'data-field="over"' in wrong.get_data(as_text=True)


# --- the written report -----------------------------------------------------------------------


def _expected(app: Flask, world: World) -> list[str]:
    t0 = world.t0
    raised = t0 - timedelta(minutes=20)
    return [
        "SRV-01",
        "财务服务器",
        "华为 RH2288H V5",
        "2102311YJX10K8000123",
        "总部 / A机房 / A01 U10–U11",
        _local(app, raised),  # request raised
        _local(app, raised + timedelta(minutes=3)),  # responded
        _local(app, raised + timedelta(minutes=50)),  # on site
        _local(app, raised + timedelta(hours=3)),  # resolved
        _local(app, t0),  # downtime start
        _local(app, t0 + timedelta(hours=2, minutes=30)),  # downtime end
        "2 小时 30 分钟",
        "RAID 阵列降级，2 号硬盘告警",
        "2 号硬盘坏道",
        "更换 2 号硬盘并重建阵列",
        "已修复，阵列恢复正常",
        "600GB SAS 硬盘",
        "WX-OLD-001",
        "WX-NEW-002",
        "华为",
        "C-2026-0815",
        "RMA-77881",
        "李工",
        "1,200.50 元",
        "张伟",
        "王芳",
        _local(app, t0 + timedelta(hours=3)),  # signed
    ]


def test_the_print_view_is_one_a4_page_in_chinese(app: Flask, world: World) -> None:
    engineer = _client(app, "engineer")
    with engineer.session_transaction() as session:
        session["locale"] = "en"  # an English screen: the customer's paper is still Chinese
    response = engineer.get(f"/repairs/{world.repair}/report")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    text = _text(body)
    for expected in [
        "维修情况书面报告",
        "设备信息",
        "时间线",
        "故障现象",
        "更换部件",
        "厂商工单",
        *_expected(app, world),
    ]:
        assert expected in text, expected
    assert (
        len(re.findall(r'<img class="repair-signature-img" src="data:image/png;base64,', body)) == 2
    )
    assert "css/repairs.css" in body and f"/repairs/{world.repair}/report.docx" in body
    with app.test_client().get("/static/css/repairs.css") as stylesheet:
        css = stylesheet.get_data(as_text=True)
    assert "size: A4" in css and "@media print" in css
    # the repair's own page follows the screen's language
    english = _text(engineer.get(f"/repairs/{world.repair}").get_data(as_text=True))
    assert "Parts replaced" in english and "WX-OLD-001" in english


def _docx_text(document) -> str:
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            lines.extend(cell.text for cell in row.cells)
    lines.extend(p.text for p in document.sections[0].footer.paragraphs)
    return "\n".join(lines)


def test_the_word_file_holds_the_report_and_both_signatures(app: Flask, world: World) -> None:
    viewer = _client(app, "viewer")
    response = viewer.get(f"/repairs/{world.repair}/report.docx")
    assert response.status_code == 200
    assert response.mimetype.endswith("wordprocessingml.document")
    with app.app_context():
        number = queries.repair_number(queries.get_repair(world.repair))  # type: ignore[arg-type]
    assert f"{number}.docx" in response.headers["Content-Disposition"]
    document = Document(io.BytesIO(response.data))
    text = _docx_text(document)
    for expected in ["维修情况书面报告", number, *_expected(app, world)]:
        assert expected in text, expected
    assert len(document.inline_shapes) == 2  # the engineer's and the customer's drawings
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    for name in ("Normal", "Heading 2", "Title"):
        fonts = document.styles[name].element.rPr.rFonts
        assert fonts.get(qn("w:eastAsia")) == "宋体", name
        assert fonts.get(qn("w:eastAsiaTheme")) is None, name


def test_an_unsigned_report_says_so(app: Flask, world: World) -> None:
    with app.test_request_context("/"):
        repair = services.record_repair(
            repair_input(world.t0, parts=[], cost=None), asset_id=world.switch
        )
        db.session().commit()
        repair_id = repair.id
    engineer = _client(app, "engineer")
    text = _text(engineer.get(f"/repairs/{repair_id}/report").get_data(as_text=True))
    assert text.count("未签字") == 2 and "未更换部件" in text
    document = Document(io.BytesIO(engineer.get(f"/repairs/{repair_id}/report.docx").data))
    assert len(document.inline_shapes) == 0
    assert "未签字" in _docx_text(document)
    assert engineer.get(f"/repairs/{repair_id + 99}/report.docx").status_code == 404


# --- what every role reads, in both languages (the page walk's checks) -------------------------


def test_every_repair_page_passes_the_page_walk_s_checks(app: Flask, world: World) -> None:
    """The pages the walk skips (the demo has no repair yet) and the ones it reaches, as every
    role and in both languages: no error, no stored key or identifier, no login name."""
    from opskit.models import Role
    from opskit.servicedesk.models import Channel, Status, Urgency
    from tests.test_page_walk import problems_in, visible_text  # builds its route list once

    keys = {m.value for enum in (Role, Status, Channel) for m in enum} | {"hardware"}
    keys = {k for k in keys if re.fullmatch(r"[a-z][a-z0-9_]*", k)} - {m.value for m in Urgency}
    logins = {name: name.title() for name in PERSONAS}
    urls = [
        f"/repairs/{world.repair}",
        f"/repairs/{world.repair}/edit",
        f"/repairs/{world.repair}/sign",
        f"/repairs/{world.repair}/report",
        f"/requests/{world.request}/repairs/new",
        f"/assets/{world.server}/repairs/new",
        f"/assets/{world.server}/repairs",
        "/assets/repeated-faults?over=0",
    ]
    problems = []
    seen = 0
    for locale in ("zh_CN", "en"):
        for role in PERSONAS:
            client = app.test_client()
            with client.session_transaction() as session:
                session["locale"] = locale
            login(client, role)
            for url in urls:
                response = client.get(url)
                assert response.status_code in (200, 403), (url, role, response.status_code)
                if response.status_code != 200:
                    continue
                seen += 1
                text = visible_text(response.get_data(as_text=True))
                for problem in problems_in(url, text, locale, keys, logins):
                    problems.append(f"{url} ({role}, {locale}): {problem}")
    assert problems == []
    assert seen == 2 * (4 * len(urls) - 4)  # a viewer reads all but the four forms
