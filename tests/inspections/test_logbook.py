"""The access and power logbook: forms, one-tap sign-out, retries, filters, roles, Excel export."""

from __future__ import annotations

import io
import re
import threading
from datetime import UTC, datetime, timedelta

import openpyxl
from sqlalchemy import select, text

from inspections.logbook import queries as logbook_queries
from inspections.logbook import services as logbook
from inspections.logbook.models import AccessEntry, PowerEvent
from opskit import db
from opskit.models import AuditLog
from tests import factories
from tests.conftest import csrf_token, login

TOKEN_RE = re.compile(r'name="client_token" value="([^"]+)"')


def _setup(app) -> dict[str, int]:
    with app.app_context():
        rack = factories.rack("总部", "A机房", "A01")
        other = factories.rack("总部", "B机房", "B01")
        server = factories.asset("SRV-001", name="数据库服务器", rack=rack)
        factories.asset("SRV-900", name="备份服务器", rack=other)
        db.session().commit()
        return {"room": rack.room_id, "other_room": other.room_id, "asset": server.id}


def post_form(client, path: str, data: dict | None = None, **kwargs):
    """POST with the session's CSRF token, read from a logbook page (not the home page)."""
    token = csrf_token(client, "/patrol/logbook/")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def _token(client, path: str) -> str:
    match = TOKEN_RE.search(client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def test_sign_in_retry_sign_out_and_list(db_app, db_client) -> None:
    ids = _setup(db_app)
    login(db_client, "engineer")
    token = _token(db_client, "/patrol/logbook/access/new")
    data = {
        "client_token": token,
        "room_id": str(ids["room"]),
        "name": "张伟",
        "organisation": "华为技术服务",
        "purpose": "更换硬盘",
        "escort": "李工",
        "id_number": "1101 0519 9001 011234",
    }
    first = post_form(db_client, "/patrol/logbook/access/new", data)
    assert first.status_code == 303
    again = post_form(db_client, "/patrol/logbook/access/new", data, follow_redirects=True)
    assert "已经登记过" in again.get_data(as_text=True) or "already recorded" in again.get_data(
        as_text=True
    )
    with db_app.app_context():
        rows = db.session().scalars(select(AccessEntry)).all()
        assert len(rows) == 1
        entry = rows[0]
        assert (entry.name, entry.organisation, entry.escort) == ("张伟", "华为技术服务", "李工")
        assert entry.id_number == "110105199001011234"
        assert entry.out_at is None
        assert entry.recorded_by.username == "engineer"
        # stored encrypted: the raw column never holds the number
        raw = db.session().execute(text("SELECT id_number FROM access_entry")).scalar_one()
        assert "1234" not in raw
        entry_id = entry.id
        audit = db.session().scalars(select(AuditLog).where(AuditLog.object_type == "access_entry"))
        assert [a.changes["id_number"] for a in audit] == [[None, "******"]]  # never the value
    book = openpyxl.load_workbook(io.BytesIO(db_client.get("/patrol/logbook/export.xlsx").data))
    row = [c.value for c in book.worksheets[0][2]]
    assert row[1] == "张伟" and row[5] == "**************1234"
    assert row[8] == "Engineer"  # recorded by: the full name, not the login name "engineer"
    page = db_client.get("/patrol/logbook/").get_data(as_text=True)
    assert 'id="people-inside"' in page and "张伟" in page
    assert "**************1234" in page and "110105199001011234" not in page
    # one tap signs out; a second tap keeps the first time
    assert post_form(db_client, f"/patrol/logbook/access/{entry_id}/out").status_code == 303
    with db_app.app_context():
        out = db.session().get(AccessEntry, entry_id).out_at
        assert out is not None
    post_form(db_client, f"/patrol/logbook/access/{entry_id}/out")
    with db_app.app_context():
        assert db.session().get(AccessEntry, entry_id).out_at == out
    assert 'id="people-inside"' not in db_client.get("/patrol/logbook/").get_data(as_text=True)


def test_rejected_form_keeps_input_and_names_fields(db_client, db_app) -> None:
    _setup(db_app)
    login(db_client, "engineer")
    token = _token(db_client, "/patrol/logbook/access/new")
    response = post_form(
        db_client,
        "/patrol/logbook/access/new",
        {
            "client_token": token,
            "room_id": "",
            "name": "王芳",
            "organisation": "移动 <公司>",
            "purpose": "",
            "in_at": "昨天",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="王芳"' in page and 'value="移动 &lt;公司&gt;"' in page
    assert f'value="{token}"' in page  # the retry keeps the same token
    for name in ("room_id", "purpose", "in_at"):
        assert f'data-field="{name}"' in page
    assert "2026-11-26 09:30" in page  # the expected format is named
    with db_app.app_context():
        assert db.session().scalars(select(AccessEntry)).all() == []


def test_power_event_from_typed_tag_and_errors(db_app, db_client) -> None:
    ids = _setup(db_app)
    login(db_client, "engineer")
    page = db_client.get("/patrol/logbook/power/new?tag=SRV-001").get_data(as_text=True)
    assert 'value="SRV-001"' in page and "数据库服务器" in page
    token = TOKEN_RE.search(page).group(1)
    bad = post_form(
        db_client,
        "/patrol/logbook/power/new",
        {"client_token": token, "asset_tag": "NOPE-1", "reason": "", "change_ref": "CHG-7"},
    )
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    assert "NOPE-1" in body and 'data-field="asset_tag"' in body
    assert 'data-field="action"' in body and 'data-field="reason"' in body
    assert 'value="CHG-7"' in body
    data = {
        "client_token": token,
        "asset_tag": "SRV-001",
        "action": "off",
        "reason": '=HYPERLINK("http://x")',
        "change_ref": "CHG-2026-118",
        "occurred_at": "2026-11-20T22:15",
    }
    assert post_form(db_client, "/patrol/logbook/power/new", data).status_code == 303
    assert post_form(db_client, "/patrol/logbook/power/new", data).status_code == 303
    with db_app.app_context():
        events = db.session().scalars(select(PowerEvent)).all()
        assert len(events) == 1
        event = events[0]
        assert event.asset_id == ids["asset"] and event.action == "off"
        assert event.performed_by == "Engineer"  # the user's display name by default
        assert event.occurred_at == datetime(2026, 11, 20, 14, 15, tzinfo=UTC)  # Shanghai −8h
    listing = db_client.get("/patrol/logbook/?tab=power").get_data(as_text=True)
    assert "CHG-2026-118" in listing and "下电" in listing


def test_filters_counts_latest_and_export(db_app, db_client) -> None:
    ids = _setup(db_app)
    tz = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    with db_app.app_context():
        base = {"organisation": "电信", "purpose": "巡检"}
        a = logbook.record_entry(
            {**base, "room_id": ids["room"], "name": "赵一", "in_at": "2026-11-20 09:00"},
            tz,
            now=now,
        )
        logbook.sign_out(a, datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
        logbook.record_entry(
            {**base, "room_id": ids["other_room"], "name": "钱二", "in_at": "2026-11-24 10:00"},
            tz,
            now=now,
        )
        logbook.record_entry(
            {**base, "room_id": ids["room"], "name": "=cmd|' /C calc'!A0", "in_at": ""},
            tz,
            now=now,
        )
        logbook.record_power(
            {"asset_tag": "SRV-001", "action": "restart", "reason": "补丁", "performed_by": "孙三"},
            tz,
            now=now,
        )
        logbook.record_power(
            {"asset_tag": "SRV-900", "action": "on", "reason": "上线", "performed_by": "孙三"},
            tz,
            now=now - timedelta(days=1),
        )
        db.session().commit()
        counts = logbook_queries.logbook_counts(now - timedelta(days=30), now + timedelta(hours=1))
        assert (counts.visits, counts.visitors, counts.still_inside) == (3, 3, 2)
        assert (counts.power_on, counts.power_off, counts.restarts) == (1, 0, 1)
        room_counts = logbook_queries.logbook_counts(now - timedelta(days=30), now, ids["room"])
        assert (room_counts.visits, room_counts.power_on, room_counts.restarts) == (1, 0, 0)
        latest = logbook_queries.latest_entries(3)
        assert [line.kind for line in latest] == ["access", "power", "power"]
        assert latest[0].open and latest[1].subject.startswith("SRV-001")
    with db_app.test_request_context("/"):
        from inspections.queries import latest_logbook_entries

        lines = [str(line) for line in latest_logbook_entries(limit=3)]
        assert lines[0] == "11-25 16:00 A机房：=cmd|' /C calc'!A0 进入（巡检） · 仍在机房内"
        assert lines[1] == "11-25 16:00 SRV-001 数据库服务器 重启（补丁）"
    login(db_client, "viewer")
    page = db_client.get(
        f"/patrol/logbook/?start=2026-11-19&end=2026-11-21&room={ids['room']}"
    ).get_data(as_text=True)
    assert "赵一" in page and "钱二" not in page
    assert 'id="logbook-sign-in"' not in page  # viewers read only
    assert db_client.get("/patrol/logbook/access/new").status_code == 403
    assert post_form(db_client, "/patrol/logbook/power/new", {}).status_code == 403
    assert "钱二" in db_client.get("/patrol/logbook/?q=钱").get_data(as_text=True)
    response = db_client.get("/patrol/logbook/export.xlsx?start=2026-11-01&end=2026-11-30")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    access, power = book.worksheets
    header = [c.value for c in access[1]]
    assert header[:4] == ["机房", "姓名", "单位", "事由"]
    names = {row[1].value: row for row in access.iter_rows(min_row=2)}
    assert set(names) == {"赵一", "钱二", "=cmd|' /C calc'!A0"}
    formula_row = names["=cmd|' /C calc'!A0"]
    assert formula_row[1].data_type == "s"  # written as text, not a formula
    assert names["赵一"][6].value == datetime(2026, 11, 20, 9, 0)  # local time
    assert names["赵一"][7].value == datetime(2026, 11, 20, 11, 0)
    assert names["钱二"][0].value == "总部 / B机房"
    power_rows = [[c.value for c in row] for row in power.iter_rows(min_row=2)]
    assert sorted(r[1] for r in power_rows) == ["SRV-001", "SRV-900"]
    assert {r[4] for r in power_rows} == {"重启", "上电"}


def test_concurrent_retries_of_one_form_store_one_row(db_app) -> None:
    """Eight copies of one submission at once (a tablet retrying on bad Wi-Fi): one row,
    the others answered as duplicates, no "database is locked" and no error."""
    ids = _setup(db_app)
    tz = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    values = {
        "client_token": "retry-token-0001",
        "room_id": str(ids["room"]),
        "name": "周六",
        "purpose": "抄表",
    }
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def submit() -> None:
        with db_app.app_context():
            barrier.wait()
            try:
                db.write(lambda: logbook.record_entry(values, tz))
                outcomes.append("stored")
            except logbook.Duplicate:
                outcomes.append("duplicate")
            except Exception as exc:  # any other outcome fails the test below
                outcomes.append(repr(exc))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["duplicate"] * 7 + ["stored"]
    with db_app.app_context():
        rows = db.session().scalars(select(AccessEntry)).all()
        assert [(r.name, r.client_token) for r in rows] == [("周六", "retry-token-0001")]


def test_entries_are_corrected_keeping_the_id_number_and_the_history(db_app, db_client) -> None:
    ids = _setup(db_app)
    tz = __import__("zoneinfo").ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    with db_app.app_context():
        entry = logbook.record_entry(
            {
                "room_id": ids["room"],
                "name": "张三",
                "purpose": "巡检",
                "id_number": "110105199001011234",
                "in_at": "2026-11-24 09:00",
            },
            tz,
            now=now,
        )
        event = logbook.record_power(
            {"asset_tag": "SRV-001", "action": "on", "reason": "上线", "performed_by": "孙三"},
            tz,
            now=now,
        )
        db.session().commit()
        entry_id, event_id = entry.id, event.id
    login(db_client, "engineer")
    page = db_client.get(f"/patrol/logbook/access/{entry_id}/edit").get_data(as_text=True)
    assert 'value="2026-11-24T09:00"' in page and "**************1234" in page
    assert "110105199001011234" not in page
    bad = post_form(
        db_client,
        f"/patrol/logbook/access/{entry_id}/edit",
        {
            "room_id": str(ids["room"]),
            "name": "张珊",
            "purpose": "巡检",
            "in_at": "2026-11-24T09:00",
            "out_at": "2026-11-24T08:00",
        },
    )
    assert bad.status_code == 400 and 'data-field="out_at"' in bad.get_data(as_text=True)
    assert 'value="张珊"' in bad.get_data(as_text=True)
    ok = post_form(
        db_client,
        f"/patrol/logbook/access/{entry_id}/edit",
        {
            "room_id": str(ids["other_room"]),
            "name": "张珊",
            "purpose": "巡检",
            "in_at": "2026-11-24T09:00",
            "out_at": "2026-11-24T11:30",
        },
    )
    assert ok.status_code == 303
    moved = post_form(
        db_client,
        f"/patrol/logbook/power/{event_id}/edit",
        {
            "asset_tag": "SRV-900",
            "action": "restart",
            "reason": "上线后重启",
            "performed_by": "孙三",
            "occurred_at": "2026-11-25T15:00",
        },
    )
    assert moved.status_code == 303
    with db_app.app_context():
        entry = db.session().get(AccessEntry, entry_id)
        assert (entry.name, entry.room_id, entry.id_number) == (
            "张珊",
            ids["other_room"],
            "110105199001011234",
        )
        assert entry.out_at == datetime(2026, 11, 24, 3, 30, tzinfo=UTC)
        event = db.session().get(PowerEvent, event_id)
        assert (event.asset.asset_tag, event.action) == ("SRV-900", "restart")
        assert event.occurred_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
        history = (
            db.session()
            .scalars(
                select(AuditLog).where(
                    AuditLog.object_type == "access_entry", AuditLog.action == "update"
                )
            )
            .all()
        )
        assert len(history) == 1 and history[0].changes["name"] == ["张三", "张珊"]
    login_page = post_form(db_client, "/logout")
    assert login_page.status_code == 302
    login(db_client, "viewer")
    assert db_client.get(f"/patrol/logbook/access/{entry_id}/edit").status_code == 403
    assert 'id="edit-entry-' not in db_client.get("/patrol/logbook/").get_data(as_text=True)
