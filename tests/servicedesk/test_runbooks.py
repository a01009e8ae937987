"""Runbooks (故障恢复流程及应急措施): versions (an edit a new version, the old ones kept, a restore
a new version with the old text), a resolved request as a draft (an unresolved one refused),
every bad field named with nothing written, Markdown rendered without the HTML typed into it,
the runbooks of an asset (its own, its kind's, its systems') and of a request on their pages,
the pages themselves (a refused form keeps what was typed, CSRF, the difference of a version),
and viewers refused on every write. Services on SQLite and PostgreSQL; times from the clock."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from assets import extensions
from opskit import clock, db
from opskit.audit import acting_as
from opskit.servicedesk import queries, runbook_text, services
from opskit.servicedesk.models import (
    Repair,
    RepairPart,
    Runbook,
    RunbookVersion,
    ServiceRequest,
)
from opskit.servicedesk.services import RunbookInput
from opskit.validation import ValidationFailed
from tests import factories
from tests.conftest import PERSONAS, login, post_form
from tests.servicedesk.util import MIN, new, user_id

UPS_STEPS = """## 适用情况

UPS 逆变器故障或需要维护时，将负载切换到静态旁路。

1. 确认旁路输入电压正常（380 V ± 10%）
2. 在面板选择“转旁路”，确认负载由旁路供电
3. 记录告警与时间，通知厂家

| 项目 | 正常值 |
|---|---|
| 输出电压 | 220 V |
"""


def ups_runbook(**values: object) -> RunbookInput:
    data: dict[str, object] = {
        "title": "UPS 切换到旁路",
        "scope": "asset_kind",
        "asset_kind": "ups",
        "body": UPS_STEPS,
    }
    data.update(values)
    return RunbookInput(**data)


def versions(runbook_id: int) -> list[tuple[int, str]]:
    return [(v.version, v.body) for v in reversed(queries.versions_of(runbook_id))]


def count(model: type) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


# --- versions --------------------------------------------------------------------------------


def test_an_edit_is_a_new_version_and_a_restore_brings_an_old_text_back(ctx, t0) -> None:
    with acting_as("engineer", user_id("engineer")):
        runbook = services.create_runbook(ups_runbook(note="初版"), at=t0)
        ctx.commit()
        v2_body = UPS_STEPS + "4. 故障排除后转回逆变器供电\n"
        v2 = services.edit_runbook(
            runbook.id, ups_runbook(body=v2_body, note="补充转回步骤"), base_version=1, at=t0 + MIN
        )
        ctx.commit()
    assert v2 is not None and v2.version == 2
    assert runbook.current_version == 2
    assert versions(runbook.id) == [(1, UPS_STEPS), (2, v2_body)]  # v1 kept as it was
    first = queries.get_version(runbook.id, 1)
    assert first is not None and (first.author, first.at, first.note) == ("engineer", t0, "初版")
    assert (v2.author, v2.at, v2.note) == ("engineer", t0 + MIN, "补充转回步骤")

    with acting_as("supervisor", user_id("supervisor")):
        v3 = services.restore_version(runbook.id, 1, at=t0 + 2 * MIN)
        ctx.commit()
    assert (v3.version, v3.body, v3.author) == (3, UPS_STEPS, "supervisor")
    assert "1" in v3.note  # restored from version 1
    assert runbook.current_version == 3
    assert [n for n, _ in versions(runbook.id)] == [1, 2, 3]
    assert queries.get_version(runbook.id, 2).body == v2_body
    # the same restore again (a second tap) makes no fourth version
    assert services.restore_version(runbook.id, 1).version == 3
    with pytest.raises(ValidationFailed) as refused:
        services.restore_version(runbook.id, 9)
    assert set(refused.value.errors) == {"version"}


def test_saving_what_is_shown_makes_no_version_and_a_stale_form_is_refused(ctx, t0) -> None:
    runbook = services.create_runbook(ups_runbook(), at=t0)
    # the browser posts \r\n; the same text again is no change (a retried post, a double tap)
    same = ups_runbook(body=UPS_STEPS.replace("\n", "\r\n") + "\r\n\r\n")
    assert services.edit_runbook(runbook, same, base_version=1) is None
    assert count(RunbookVersion) == 1
    # a title change alone is a change: a new version (with the same text)
    renamed = services.edit_runbook(runbook, ups_runbook(title="UPS 转旁路操作"), base_version=1)
    assert renamed is not None and renamed.version == 2 and runbook.title == "UPS 转旁路操作"
    ctx.commit()
    # a form opened on version 1 after version 2 was saved: refused, nothing written
    with pytest.raises(ValidationFailed) as refused:
        services.edit_runbook(runbook, ups_runbook(body="另一个人的改动"), base_version=1)
    assert set(refused.value.errors) == {"base_version"}
    ctx.rollback()
    assert count(RunbookVersion) == 2
    assert services.edit_runbook(runbook, ups_runbook(body="看过后再保存"), base_version=2)


def test_scope_changes_with_an_edit_and_drops_the_other_targets(ctx, site) -> None:
    runbook = services.create_runbook(ups_runbook(system_name="忽略", asset_tag="SRV-01"))
    assert (runbook.scope, runbook.asset_kind, runbook.system_name, runbook.asset_id) == (
        "asset_kind",
        "ups",
        "",
        None,
    )
    services.edit_runbook(runbook, ups_runbook(scope="asset", asset_tag="SRV-01"))
    assert (runbook.scope, runbook.asset_kind, runbook.asset_id) == ("asset", None, site.server.id)
    services.edit_runbook(runbook, ups_runbook(scope="system", system_name="  财务   系统 "))
    assert (runbook.scope, runbook.system_name, runbook.asset_id) == ("system", "财务 系统", None)


# --- validation ------------------------------------------------------------------------------


def test_every_bad_field_is_named_and_nothing_is_written(ctx, site) -> None:
    cases = [
        (RunbookInput(scope="asset_kind", asset_kind="ups"), {"title", "body"}),
        (RunbookInput(title="t", body="  \n "), {"body", "scope"}),
        (ups_runbook(scope="asset_kind", asset_kind=""), {"asset_kind"}),
        (ups_runbook(scope="asset_kind", asset_kind="spaceship"), {"asset_kind"}),
        (ups_runbook(scope="system", system_name="   "), {"system_name"}),
        (ups_runbook(scope="asset", asset_tag=""), {"asset_tag"}),
        (ups_runbook(scope="asset", asset_tag="NO-SUCH-TAG"), {"asset_tag"}),
        (ups_runbook(scope="asset", asset_id=site.server.id + 999), {"asset_id"}),
        (ups_runbook(scope="galaxy"), {"scope"}),
        (
            ups_runbook(title="长" * 201, scope="system", system_name="x" * 129),
            {"title", "system_name"},
        ),
    ]
    for data, fields in cases:
        with pytest.raises(ValidationFailed) as refused:
            services.create_runbook(data)
        assert set(refused.value.errors) == fields, data
        assert services.runbook_errors(data).keys() == fields
    assert "NO-SUCH-TAG" in " ".join(services.runbook_errors(cases[6][0])["asset_tag"])
    assert count(Runbook) == 0 and count(RunbookVersion) == 0
    # a scanned label's URL names its asset
    scanned = ups_runbook(scope="asset", asset_tag="https://opskit.lan/a/SRV-01")
    assert services.create_runbook(scanned).asset_id == site.server.id


def test_viewers_read_but_do_not_write(ctx, site, t0) -> None:
    runbook = services.create_runbook(ups_runbook())
    req = resolved_request(t0)
    ctx.commit()
    with acting_as("viewer", user_id("viewer")):
        for write in (
            lambda: services.create_runbook(ups_runbook()),
            lambda: services.edit_runbook(runbook.id, ups_runbook(body="改")),
            lambda: services.restore_version(runbook.id, 1),
            lambda: services.draft_from_request(req.id),
        ):
            with pytest.raises(services.NotAllowed):
                write()
        assert [i.runbook.id for i in queries.list_runbooks()] == [runbook.id]
    ctx.rollback()
    assert count(Runbook) == 1 and count(RunbookVersion) == 1


# --- a resolved request as a draft -----------------------------------------------------------


def resolved_request(t0: datetime, **values: object) -> ServiceRequest:
    req = new(t0, asset_tag="SRV-01", **values)
    with acting_as("engineer", user_id("engineer")):
        services.resolve(
            req,
            "RAID 卡电池失效，写缓存被关闭",
            "检查 RAID 卡日志\n更换 RAID 卡电池\n开启写缓存并观察 30 分钟",
            "RAID 卡电池 x1",
            at=t0 + 60 * MIN,
        )
    return req


def test_a_resolved_request_becomes_a_draft_with_its_steps(ctx, site, t0) -> None:
    req = resolved_request(t0, title="财务服务器响应缓慢", description="财务系统查询很慢")
    repair = Repair(client_id="rb-repair-1", request_id=req.id, asset_id=site.server.id, fault="慢")
    repair.parts = [RepairPart(part="BBU 电池模块", serial_out="OLD-1", serial_in="NEW-2")]
    ctx.add(repair)
    ctx.flush()
    with acting_as("engineer", user_id("engineer")):
        runbook = services.draft_from_request(req.id, at=t0 + 2 * 60 * MIN)
        ctx.commit()
    assert runbook.title == "财务服务器响应缓慢"
    assert (runbook.scope, runbook.asset_id, runbook.current_version) == (
        "asset",
        site.server.id,
        0,  # a draft
    )
    (draft,) = queries.versions_of(runbook.id)
    assert (draft.version, draft.source_request_id, draft.author) == (1, req.id, "engineer")
    assert draft.at == t0 + 2 * 60 * MIN and req.number in draft.note
    body = draft.body
    for text in (
        "财务系统查询很慢",
        "RAID 卡电池失效，写缓存被关闭",
        "1. 检查 RAID 卡日志",
        "2. 更换 RAID 卡电池",
        "3. 开启写缓存并观察 30 分钟",
        "- RAID 卡电池 x1",
        "BBU 电池模块",
        "OLD-1",
        "NEW-2",
        req.number,
    ):
        assert text in body, text
    # a draft shows on no asset or request page, but in the list
    assert queries.runbooks_for_asset(site.server.id) == []
    assert queries.runbooks_for_request(req.id) == []
    assert [i.is_draft for i in queries.list_runbooks()] == [True]
    # the same request again: the same draft (a second tap)
    assert services.draft_from_request(req.id).id == runbook.id
    assert count(Runbook) == 1
    # its first edit is version 2, current, still from the request
    made = services.edit_runbook(
        runbook.id,
        RunbookInput(
            title="RAID 卡电池失效处置", scope="asset", asset_id=site.server.id, body=body
        ),
        base_version=1,
    )
    ctx.commit()
    assert made is not None and (made.version, made.source_request_id) == (2, req.id)
    assert runbook.current_version == 2
    assert [i.runbook.id for i in queries.runbooks_for_request(req.id)] == [runbook.id]


def test_an_unresolved_request_is_not_drafted(ctx, site, t0) -> None:
    req = new(t0, asset_tag="SRV-01")
    with pytest.raises(ValidationFailed) as refused:
        services.draft_from_request(req.id)
    assert set(refused.value.errors) == {"status"}
    assert req.number in refused.value.errors["status"][0]
    with pytest.raises(ValidationFailed):
        services.draft_from_request(req.id + 999)
    assert count(Runbook) == 0


def test_a_request_without_asset_drafts_and_the_form_asks_for_the_scope(ctx, site, t0) -> None:
    req = new(t0)
    services.resolve(req, "账号被锁定", "解锁账号", at=t0 + 10 * MIN)
    runbook = services.draft_from_request(req.id)
    assert (runbook.scope, runbook.asset_id) == ("asset", None)
    shown = queries.versions_of(runbook.id)[0]
    with pytest.raises(ValidationFailed) as refused:
        services.edit_runbook(
            runbook, RunbookInput(title=runbook.title, scope="asset", body=shown.body)
        )
    assert set(refused.value.errors) == {"asset_tag"}


# --- Markdown --------------------------------------------------------------------------------


def test_markdown_keeps_tables_and_lists_and_drops_scripts_and_javascript_links() -> None:
    html = str(
        runbook_text.render(
            "<script>alert('x')</script>\n\n"
            "[点我](javascript:alert(1)) [再点](JaVaScRiPt:alert(2)) [手册](https://support.example.cn/ups)\n\n"
            '<img src="x" onerror="alert(3)">\n\n'
            "1. 第一步\n2. 第二步\n\n- 甲\n- 乙\n\n| 列 | 值 |\n|---|---|\n| 电压 | 220 V |\n"
        )
    )
    assert "<script" not in html and "&lt;script&gt;" in html
    assert "<img" not in html and "&lt;img" in html
    assert (
        'href="javascript' not in html.lower()
        and '<a href="https://support.example.cn/ups"' in html
    )
    assert re.search(r"<ol>\s*<li>第一步</li>\s*<li>第二步</li>\s*</ol>", html)
    assert re.search(r"<ul>\s*<li>甲</li>", html)
    assert '<table class="table' in html and "<td>220 V</td>" in html


def test_a_version_s_difference_lists_what_was_added_and_removed() -> None:
    rows = runbook_text.diff("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(r.kind, r.text) for r in rows] == [
        ("same", "a"),
        ("del", "b"),
        ("add", "B"),
        ("same", "c"),
        ("add", "d"),
    ]
    assert runbook_text.diff("same\n", "same\n") == []


# --- which runbooks apply --------------------------------------------------------------------


def test_an_asset_gets_its_own_its_kind_s_and_its_systems_runbooks(ctx, site, t0) -> None:
    ups = factories.asset("UPS-01", kind="ups", name="1号UPS")
    own = services.create_runbook(
        RunbookInput(
            title="财务服务器重启顺序", scope="asset", asset_tag="SRV-01", body="1. 先停应用"
        )
    )
    kind = services.create_runbook(
        RunbookInput(title="服务器硬盘更换", scope="asset_kind", asset_kind="server", body="换盘")
    )
    system = services.create_runbook(
        RunbookInput(title="财务系统应急", scope="system", system_name="财务", body="切到备机")
    )
    services.create_runbook(ups_runbook())  # another kind
    services.create_runbook(
        RunbookInput(title="邮件系统", scope="system", system_name="邮件", body="x")
    )
    ctx.commit()
    found = [i.runbook.id for i in queries.runbooks_for_asset(site.server.id)]  # 财务服务器
    assert found == [own.id, system.id, kind.id]  # its own first, then the system, the kind
    assert [i.runbook.title for i in queries.runbooks_for_asset(ups.id)] == ["UPS 切换到旁路"]
    # the system's name in the notes counts too, ignoring case
    spare = site.spare
    spare.notes = "承载 OA 与 财务 报表"
    ctx.commit()
    assert system.id in [i.runbook.id for i in queries.runbooks_for_asset(spare.id)]
    # a request's runbooks are its asset's
    req = new(t0, asset_tag="SRV-01")
    assert [i.runbook.id for i in queries.runbooks_for_request(req.id)] == found
    assert queries.runbooks_for_request(new(t0, client_id="no-asset-0001").id) == []


def test_search_finds_title_system_asset_and_current_text_literally(ctx, site) -> None:
    a = services.create_runbook(ups_runbook())
    b = services.create_runbook(
        RunbookInput(
            title="核心交换机故障切换", scope="asset", asset_tag="SW-01", body="VRRP 100% 切换"
        )
    )
    services.edit_runbook(
        b, RunbookInput(title=b.title, scope="asset", asset_tag="SW-01", body="堆叠切换")
    )
    ctx.commit()

    def titles(q: str = "", scope: str = "", kind: str = "") -> list[str]:
        return [i.runbook.title for i in queries.list_runbooks(q, scope, kind)]

    assert titles("旁路") == ["UPS 切换到旁路"]
    assert titles("堆叠") == ["核心交换机故障切换"]  # the current text
    assert titles("VRRP") == []  # an old version's text is not searched
    assert titles("SW-01") == titles("接入交换机") == ["核心交换机故障切换"]
    assert titles("%") == ["UPS 切换到旁路"]  # its "± 10%"; the switch's 100% is old
    assert titles("_") == []
    assert titles(scope="asset") == ["核心交换机故障切换"]
    assert titles(kind="ups") == [a.title]


# --- the pages -------------------------------------------------------------------------------


def _client(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    login(client, role)
    return client


@pytest.fixture
def pages(db_app: Flask) -> dict[str, int]:
    """A UPS, a server with a resolved request, a runbook of every UPS with two versions."""
    with db_app.test_request_context("/"):
        t0 = (clock.now() - timedelta(days=1)).replace(second=0, microsecond=0)
        rack = factories.rack(room="A机房", name="A01")
        server = factories.asset("SRV-01", name="财务服务器", rack=rack, u_position=1)
        ups = factories.asset("UPS-01", kind="ups", name="1号UPS")
        other = factories.asset("SW-01", kind="switch", name="接入交换机", rack=rack, u_position=9)
        runbook = services.create_runbook(ups_runbook(), at=t0)
        services.edit_runbook(runbook, ups_runbook(body=UPS_STEPS + "4. 转回逆变器\n"), at=t0 + MIN)
        req = resolved_request(t0)
        db.session().commit()
        return {
            "runbook": runbook.id,
            "ups": ups.id,
            "server": server.id,
            "switch": other.id,
            "request": req.id,
        }


def test_a_viewer_reads_and_is_refused_403_on_every_write(db_app: Flask, pages) -> None:
    viewer = _client(db_app, "viewer")
    rid = pages["runbook"]
    for url in (
        "/runbooks/",
        f"/runbooks/{rid}",
        f"/runbooks/{rid}/versions/1",
        f"/assets/{pages['ups']}/runbooks",
    ):
        assert viewer.get(url).status_code == 200, url
    assert viewer.get("/runbooks/new").status_code == 403
    assert viewer.get(f"/runbooks/{rid}/edit").status_code == 403
    for url, data in (
        ("/runbooks/new", {"title": "x", "scope": "system", "system_name": "x", "body": "x"}),
        (
            f"/runbooks/{rid}/edit",
            {"title": "x", "scope": "system", "system_name": "x", "body": "x"},
        ),
        (f"/runbooks/{rid}/versions/1/restore", {}),
        (f"/requests/{pages['request']}/runbook-draft", {}),
    ):
        assert post_form(viewer, url, data).status_code == 403, url
    page = viewer.get(f"/runbooks/{rid}").get_data(as_text=True)
    assert 'id="runbook-edit"' not in page
    assert 'id="version-restore"' not in viewer.get(f"/runbooks/{rid}/versions/1").get_data(
        as_text=True
    )
    with db_app.app_context():
        assert count(Runbook) == 1 and count(RunbookVersion) == 2


def test_a_new_runbook_refused_keeps_what_was_typed_then_saves(db_app: Flask, pages) -> None:
    engineer = _client(db_app, "engineer")
    typed = {
        "title": "",
        "scope": "asset",
        "asset_tag": "NOPE-404",
        "body": "1. 关闭 <b>告警</b> 蜂鸣\n2. 检查",
        "note": "第一次写",
    }
    response = post_form(engineer, "/runbooks/new", typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-field="title"' in page and 'data-field="asset_tag"' in page
    assert 'value="NOPE-404"' in page and 'value="第一次写"' in page
    assert "1. 关闭 &lt;b&gt;告警&lt;/b&gt; 蜂鸣\n2. 检查</textarea>" in page
    assert re.search(r'value="asset"\s+checked', page)
    # without the CSRF token: refused, nothing stored
    plain = engineer.post("/runbooks/new", data={**typed, "title": "t", "asset_tag": "SRV-01"})
    assert plain.status_code == 400
    response = post_form(
        engineer, "/runbooks/new", {**typed, "title": "财务服务器告警", "asset_tag": "SRV-01"}
    )
    assert response.status_code == 303
    with db_app.app_context():
        made = db.session().scalar(select(Runbook).where(Runbook.title == "财务服务器告警"))
        assert (
            made is not None and made.asset_id == pages["server"] and made.created_by == "engineer"
        )
    shown = engineer.get(response.headers["Location"]).get_data(as_text=True)
    assert "<b>告警</b>" not in shown and "&lt;b&gt;告警&lt;/b&gt;" in shown


def test_edit_page_saves_a_version_and_the_version_page_shows_the_change(
    db_app: Flask, pages
) -> None:
    engineer = _client(db_app, "engineer")
    rid = pages["runbook"]
    form = engineer.get(f"/runbooks/{rid}/edit").get_data(as_text=True)
    assert 'name="base_version" value="2"' in form and "4. 转回逆变器" in form
    data = {
        "title": "UPS 切换到旁路",
        "scope": "asset_kind",
        "asset_kind": "ups",
        "body": UPS_STEPS + "4. 转回逆变器\n5. 填写运行日志\n",
        "note": "加日志",
        "base_version": "2",
    }
    assert post_form(engineer, f"/runbooks/{rid}/edit", data).status_code == 303
    again = post_form(engineer, f"/runbooks/{rid}/edit", data)  # the double tap
    assert again.status_code == 303
    stale = post_form(engineer, f"/runbooks/{rid}/edit", {**data, "body": "旧页面上的改动"})
    assert stale.status_code == 400  # opened on version 2, version 3 saved since
    page = stale.get_data(as_text=True)
    assert 'data-field="base_version"' in page and "旧页面上的改动</textarea>" in page
    assert 'name="base_version" value="3"' in page  # seen now: the next save goes through
    detail = engineer.get(f"/runbooks/{rid}").get_data(as_text=True)
    assert detail.count('data-version="') == 3 and "5. 填写运行日志" not in detail  # rendered
    assert "<li>填写运行日志</li>" in detail
    version = engineer.get(f"/runbooks/{rid}/versions/3").get_data(as_text=True)
    assert re.search(r'data-kind="add">.*?填写运行日志', version, re.S)
    assert 'id="version-restore"' not in version  # the current one
    first = engineer.get(f"/runbooks/{rid}/versions/1").get_data(as_text=True)
    assert "No earlier version" in first or "没有更早的版本" in first
    restored = post_form(engineer, f"/runbooks/{rid}/versions/1/restore")
    assert restored.status_code == 303
    with db_app.app_context():
        assert versions(rid)[-1] == (4, UPS_STEPS)
    assert engineer.get(f"/runbooks/{rid}/versions/9").status_code == 404
    assert engineer.get(f"/runbooks/{rid + 99}").status_code == 404


def test_the_request_s_draft_opens_its_edit_page(db_app: Flask, pages) -> None:
    engineer = _client(db_app, "engineer")
    response = post_form(engineer, f"/requests/{pages['request']}/runbook-draft")
    assert response.status_code == 303
    match = re.fullmatch(r"/runbooks/(\d+)/edit", response.headers["Location"])
    assert match
    form = engineer.get(response.headers["Location"]).get_data(as_text=True)
    assert "RAID 卡电池失效" in form and 'value="SRV-01"' in form
    assert (
        post_form(engineer, f"/requests/{pages['request']}/runbook-draft").headers["Location"]
        == response.headers["Location"]
    )
    assert (
        post_form(engineer, f"/requests/{pages['request'] + 99}/runbook-draft").status_code == 404
    )
    with db_app.test_request_context("/"):
        unresolved = new(clock.now() - timedelta(hours=1), client_id="rb-open-0001").id
        db.session().commit()
    refused = post_form(engineer, f"/requests/{unresolved}/runbook-draft")
    assert refused.status_code == 303 and not refused.headers["Location"].endswith("/edit")
    with db_app.app_context():
        assert count(Runbook) == 2  # the UPS runbook and the one draft


def test_the_asset_page_shows_the_asset_s_and_its_kind_s_runbooks(db_app: Flask, pages) -> None:
    engineer = _client(db_app, "engineer")
    post_form(
        engineer,
        "/runbooks/new",
        {"title": "财务服务器重启", "scope": "asset", "asset_tag": "SRV-01", "body": "1. 停应用"},
    )
    post_form(
        engineer,
        "/runbooks/new",
        {
            "title": "服务器电源故障",
            "scope": "asset_kind",
            "asset_kind": "server",
            "body": "换电源",
        },
    )
    with db_app.test_request_context("/"):
        assert f"/assets/{pages['server']}/runbooks" in extensions.asset_panels(pages["server"])
    asset_page = engineer.get(f"/assets/{pages['server']}").get_data(as_text=True)
    assert f'hx-get="/assets/{pages["server"]}/runbooks"' in asset_page
    panel = engineer.get(f"/assets/{pages['server']}/runbooks").get_data(as_text=True)
    assert "财务服务器重启" in panel and "服务器电源故障" in panel
    assert "UPS 切换到旁路" not in panel
    assert "<li>停应用</li>" in panel  # the steps, rendered, a tap away
    ups = engineer.get(f"/assets/{pages['ups']}/runbooks").get_data(as_text=True)
    assert "UPS 切换到旁路" in ups and "财务服务器重启" not in ups
    none = engineer.get(f"/assets/{pages['switch']}/runbooks").get_data(as_text=True)
    assert 'data-count="0"' in none
    assert engineer.get(f"/assets/{pages['switch'] + 99}/runbooks").status_code == 404


def test_the_request_page_panel_lists_its_runbooks_and_offers_the_draft(
    db_app: Flask, pages
) -> None:
    """The include line the request page uses, rendered as it would be there."""
    with db_app.test_request_context("/"):
        from flask import render_template_string
        from flask_login import login_user

        from opskit.models import User

        user = db.session().scalar(select(User).where(User.username == "engineer"))
        login_user(user)
        server_runbook = services.create_runbook(
            RunbookInput(
                title="服务器硬盘更换", scope="asset_kind", asset_kind="server", body="换盘"
            )
        )
        db.session().commit()
        sr = db.session().get(ServiceRequest, pages["request"])
        html = render_template_string(
            "{% with runbooks=runbooks_for_request(sr.id), draft_request=sr %}"
            '{% include "servicedesk/_runbooks_panel.html" %}{% endwith %}',
            sr=sr,
        )
    assert f'data-runbook="{server_runbook.id}"' in html and "UPS 切换到旁路" not in html
    assert 'id="runbook-draft"' in html and f"/requests/{pages['request']}/runbook-draft" in html


def test_the_list_searches_and_filters(db_app: Flask, pages) -> None:
    viewer = _client(db_app, "viewer")
    assert "UPS 切换到旁路" in viewer.get("/runbooks/?q=旁路").get_data(as_text=True)
    assert 'id="runbook-none"' in viewer.get("/runbooks/?q=不存在的词").get_data(as_text=True)
    assert 'id="runbook-none"' in viewer.get("/runbooks/?scope=system").get_data(as_text=True)
    assert "UPS 切换到旁路" in viewer.get("/runbooks/?scope=bogus&kind=ups").get_data(as_text=True)


# --- what every role reads, in both languages (the page walk's checks) -------------------------


def test_every_runbook_page_passes_the_page_walk_s_checks(db_app: Flask, pages) -> None:
    from opskit.models import Role
    from opskit.servicedesk.models import RunbookScope
    from tests.test_page_walk import problems_in, visible_text  # builds its route list once

    keys = {m.value for enum in (Role, RunbookScope) for m in enum} | {"ups", "server"}
    keys = {k for k in keys if re.fullmatch(r"[a-z][a-z0-9_]*", k)}
    logins = {name: name.title() for name in PERSONAS}
    engineer = _client(db_app, "engineer")
    post_form(engineer, f"/requests/{pages['request']}/runbook-draft")
    with db_app.app_context():
        draft = db.session().scalar(select(Runbook.id).where(Runbook.current_version == 0))
    rid = pages["runbook"]
    urls = [
        "/runbooks/",
        "/runbooks/?q=UPS&scope=asset_kind&kind=ups",
        "/runbooks/new",
        f"/runbooks/{rid}",
        f"/runbooks/{rid}/edit",
        f"/runbooks/{rid}/versions/1",
        f"/runbooks/{rid}/versions/2",
        f"/runbooks/{draft}",
        f"/runbooks/{draft}/edit",
        f"/assets/{pages['ups']}/runbooks",
        f"/assets/{pages['server']}/runbooks",
    ]
    problems, seen = [], 0
    for locale in ("zh_CN", "en"):
        for role in PERSONAS:
            client = db_app.test_client()
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
                problems += [
                    f"{url} ({role}, {locale}): {p}"
                    for p in problems_in(url, text, locale, keys, logins)
                ]
    assert problems == []
    assert seen == 2 * (4 * len(urls) - 3)  # a viewer reads all but the three forms
