"""The request pages on SQLite and PostgreSQL, through the views as the tablet uses them: logging a
phone request (a retried save is one request; every bad field named, everything typed kept;
people seen before suggested; the asset by its tag or label), the whole life of a request
(respond, remote and on-site work, arrival by the asset's label and a wrong label refused,
suspend/resume, resolve without and with a cause, close, reopen), the temporary measure with a
spare machine lent and returned, assigning (supervisors only), what a viewer may do, the queue
by deadline, the dashboard tile, the requests of an alert, an incident and a patrol finding,
and every page read by every role in both languages with the page walk's checks."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import func, select

from opskit import clock, db
from opskit.alerts import incidents
from opskit.alerts import services as alerts
from opskit.audit import acting_as
from opskit.servicedesk import queries, services
from opskit.servicedesk.models import Loan, RequestPhoto, ServiceRequest
from tests import factories
from tests.conftest import login, post_form
from tests.servicedesk.test_links import _finding
from tests.servicedesk.util import page_problems

MIN = timedelta(minutes=1)


@dataclass(frozen=True)
class Site:
    server: int  # SRV-01 in room A
    printer: int  # PRN-01 in room A
    switch: int  # SW-01 in room B
    spare: int  # SPARE-01, a spare (备用)
    room_a: int


@pytest.fixture
def site(db_app: Flask) -> Site:
    with db_app.app_context():
        a1 = factories.rack(room="A机房", name="A01")
        b1 = factories.rack(room="B机房", name="B01")
        made = Site(
            factories.asset("SRV-01", name="财务服务器", rack=a1, u_position=1).id,
            factories.asset("PRN-01", kind="other", name="打印机", rack=a1, u_position=3).id,
            factories.asset("SW-01", kind="switch", name="接入交换机", rack=b1, u_position=1).id,
            factories.asset("SPARE-01", name="备机 1", rack=a1, u_position=5, status="spare").id,
            a1.room_id,
        )
        db.session().commit()
        return made


def _client(app: Flask, role: str) -> FlaskClient:
    client = app.test_client()
    login(client, role)
    return client


def _text(body: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", body, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _count(app: Flask) -> int:
    with app.app_context():
        return db.session().scalar(select(func.count()).select_from(ServiceRequest)) or 0


def _row(app: Flask, request_id: int) -> ServiceRequest:
    with app.app_context():
        found = queries.get_request(request_id)
        assert found is not None
        return found


def _client_id(page: str) -> str:
    match = re.search(r'name="client_id" value="([^"]+)"', page)
    assert match, "no client id on the form"
    return match.group(1)


def _form(**values: str) -> dict[str, str]:
    data = {
        "description": "财务部打印机卡纸，无法打印",
        "category": "hardware",
        "urgency": "C",
        "channel": "phone",
        "requester_name": "王芳",
        "requester_department": "财务部",
        "requester_phone": "138 0013 8000",
        "asset_tag": "PRN-01",
    }
    data.update(values)
    return data


def _log(client: FlaskClient, **values: str) -> int:
    """Log a request through the form (a fresh client id from the page); its id."""
    client_id = _client_id(client.get("/requests/new").get_data(as_text=True))
    response = post_form(client, "/requests/new", _form(client_id=client_id, **values))
    assert response.status_code == 303, _text(response.get_data(as_text=True))[:600]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _opened(app: Flask, raised_at: datetime, **values: Any) -> int:
    """A request logged by the services (no account: the desk's own), raised at ``raised_at``."""
    with app.test_request_context("/"), acting_as("system"):
        data: dict[str, Any] = {
            "description": "网络中断",
            "category": "network",
            "channel": "phone",
            "urgency": "A",
            "raised_at": raised_at,
        }
        data.update(values)
        req = services.open_request(**data)
        db.session().commit()
        return req.id


# --- logging a phone request -----------------------------------------------------------------


def test_the_form_has_the_defaults_a_phone_call_needs(db_app: Flask, site: Site) -> None:
    page = _client(db_app, "engineer").get("/requests/new").get_data(as_text=True)
    assert re.search(r'id="urgency-C" value="C" autocomplete="off" checked', page)
    assert re.search(r'id="channel-phone" value="phone" autocomplete="off" checked', page)
    assert not re.search(r'name="category"[^>]*checked', page)  # a conscious choice
    assert re.search(r'<input[^>]*id="requester_phone"[^>]*type="tel" inputmode="tel"', page)
    assert 'id="scan"' in page and 'data-fill="asset_tag"' in page  # the label scanner
    assert len(_client_id(page)) >= 8


def test_log_a_request_and_a_retried_save_is_one(db_app: Flask, site: Site) -> None:
    engineer = _client(db_app, "engineer")
    client_id = _client_id(engineer.get("/requests/new").get_data(as_text=True))
    first = post_form(engineer, "/requests/new", _form(client_id=client_id))
    assert first.status_code == 303
    # the tablet lost the answer and sends the same form again
    again = post_form(engineer, "/requests/new", _form(client_id=client_id))
    assert again.status_code == 303 and again.headers["Location"] == first.headers["Location"]
    assert _count(db_app) == 1
    request_id = int(first.headers["Location"].rsplit("/", 1)[1])
    req = _row(db_app, request_id)
    assert (req.urgency, req.channel, req.category, req.asset_id, req.room_id) == (
        "C",
        "phone",
        "hardware",
        site.printer,
        site.room_a,
    )
    assert (req.requester_name, req.requester_department, req.created_by) == (
        "王芳",
        "财务部",
        "engineer",
    )
    page = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    text = _text(page)
    assert req.number in text and "PRN-01 打印机" in text and "财务部" in text
    assert 'href="tel:13800138000"' in page
    assert len(re.findall(r'class="opskit-clock ', page)) == 4  # the four clocks


def test_every_bad_field_is_named_and_everything_typed_is_kept(db_app: Flask, site: Site) -> None:
    engineer = _client(db_app, "engineer")
    client_id = _client_id(engineer.get("/requests/new").get_data(as_text=True))
    typed = _form(
        client_id=client_id,
        description="  ",
        category="",
        asset_tag="NOPE-404",
        requester_phone="12345",
        requester_name="赵六",
        requester_department="行政部",
        urgency="A",
    )
    response = post_form(engineer, "/requests/new", typed)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for field in ("description", "category", "asset_tag", "requester_phone"):
        assert f'data-field="{field}"' in page, field
    assert 'value="NOPE-404"' in page and 'value="12345"' in page
    assert 'value="赵六"' in page and 'value="行政部"' in page
    assert re.search(r'id="urgency-A" value="A" autocomplete="off" checked', page)
    assert f'value="{client_id}"' in page  # the same form: corrected, it is still one request
    assert _count(db_app) == 0
    fixed = post_form(engineer, "/requests/new", _form(client_id=client_id, urgency="A"))
    assert fixed.status_code == 303 and _count(db_app) == 1


def test_people_seen_before_and_the_asset_are_offered_as_typed(db_app: Flask, site: Site) -> None:
    engineer = _client(db_app, "engineer")
    _log(engineer)
    people = engineer.get("/requests/requesters?requester_name=王").get_data(as_text=True)
    assert 'data-name="王芳" data-department="财务部" data-phone="138 0013 8000"' in people
    assert engineer.get("/requests/requesters?requester_name=").get_data(as_text=True).strip() == ""
    found = engineer.get("/requests/asset?asset_tag=srv-01 ").get_data(as_text=True)
    assert 'data-field="asset-unknown"' in found  # tags are exact
    found = engineer.get("/requests/asset?asset_tag=SRV-01").get_data(as_text=True)
    assert f'data-asset-id="{site.server}"' in found and "财务服务器" in found
    label = "https://opskit.lan:8443/a/SRV-01"  # what the label's QR code holds
    assert f'data-asset-id="{site.server}"' in engineer.get(
        f"/requests/asset?asset_tag={label}"
    ).get_data(as_text=True)
    # a label's URL in the form is the asset too
    request_id = _log(engineer, asset_tag=label)
    assert _row(db_app, request_id).asset_id == site.server


def _png(colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2400, 1200), colour).save(out, "PNG")
    return out.getvalue()


def test_photos_are_stored_once_with_the_request(db_app: Flask, site: Site) -> None:
    engineer = _client(db_app, "engineer")
    client_id = _client_id(engineer.get("/requests/new").get_data(as_text=True))

    def send(*files: tuple[bytes, str, str], **values: str):
        data: dict[str, Any] = _form(client_id=client_id, **values)
        data["photos"] = [(io.BytesIO(b), name, kind) for b, name, kind in files]
        return post_form(engineer, "/requests/new", data, content_type="multipart/form-data")

    not_a_photo = send((_png(), "a.png", "image/png"), (b"%PDF-1.4", "b.pdf", "application/pdf"))
    assert not_a_photo.status_code == 400
    page = not_a_photo.get_data(as_text=True)
    assert 'data-field="photos"' in page and "b.pdf" in page
    assert _count(db_app) == 0
    # a wrong field too: both named; the photos asked for again
    page = send((_png(), "a.png", "image/png"), requester_phone="123").get_data(as_text=True)
    assert 'data-field="requester_phone"' in page and 'data-field="photos"' in page
    too_many = send(*[(_png(), f"{n}.png", "image/png") for n in range(7)])
    assert too_many.status_code == 400 and _count(db_app) == 0

    photos = [(_png("red"), "a.png", "image/png"), (_png("blue"), "b.png", "image/png")]
    first = send(*photos)
    assert first.status_code == 303
    again = send(*photos)  # the tablet retries the same form
    assert again.headers["Location"] == first.headers["Location"]
    page = engineer.get(first.headers["Location"]).get_data(as_text=True)
    urls = re.findall(r'<img src="(/requests/photos/\d+)"', page)
    assert len(urls) == 2
    with db_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(RequestPhoto)) == 2
    shown = _client(db_app, "viewer").get(urls[0])
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert Image.open(io.BytesIO(shown.data)).size == (1600, 800)  # scaled down
    assert engineer.get("/requests/photos/999999").status_code == 404


# --- the life of a request -------------------------------------------------------------------


def _step(client: FlaskClient, request_id: int, step: str, **data: str):
    return post_form(client, f"/requests/{request_id}/{step}", data)


def _status(app: Flask, request_id: int) -> str:
    return _row(app, request_id).status


def test_the_whole_life_through_the_pages(db_app: Flask, site: Site) -> None:
    engineer = _client(db_app, "engineer")
    request_id = _log(engineer, asset_tag="SRV-01", urgency="A")
    page = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    assert 'data-action="respond"' in page and 'data-action="close"' not in page

    assert _step(engineer, request_id, "respond").status_code == 303
    assert _status(db_app, request_id) == "responded"
    assert _row(db_app, request_id).assigned_to == "engineer"  # who responds takes it
    assert _step(engineer, request_id, "start", mode="remote").status_code == 303
    req = _row(db_app, request_id)
    assert (req.status, req.work_mode) == ("in_progress", "remote")

    # on site: the label of another room's switch is refused, naming the field, keeping it
    wrong = _step(engineer, request_id, "arrive", scanned_code="SW-01")
    assert wrong.status_code == 400
    page = wrong.get_data(as_text=True)
    assert 'data-field="scanned_code"' in page and 'value="SW-01"' in page
    assert re.search(r'<details[^>]*id="step-arrive" open', page)
    assert _row(db_app, request_id).onsite_at is None
    label = "http://127.0.0.1:5000/a/SRV-01"
    assert _step(engineer, request_id, "arrive", scanned_code=label).status_code == 303
    req = _row(db_app, request_id)
    assert (req.work_mode, req.onsite_how, req.onsite_tag) == ("onsite", "asset", "SRV-01")

    assert _step(engineer, request_id, "suspend", reason="waiting_vendor").status_code == 303
    page = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    assert _status(db_app, request_id) == "suspended"
    assert 'data-state="suspended"' in page and 'data-action="resume"' in page
    assert _step(engineer, request_id, "resume").status_code == 303
    assert _status(db_app, request_id) == "in_progress"

    # resolving needs the cause; what was typed stays
    refused = _step(engineer, request_id, "resolve", work_done="更换硬盘", parts_note="硬盘 1 块")
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert 'data-field="cause"' in page and "更换硬盘" in page and 'value="硬盘 1 块"' in page
    resolved = _step(
        engineer, request_id, "resolve", cause="硬盘故障", work_done="更换硬盘", parts_note="硬盘"
    )
    assert resolved.status_code == 303 and _status(db_app, request_id) == "resolved"

    # a step the status does not allow says why
    again = _step(engineer, request_id, "respond")
    assert again.status_code == 409
    assert 'id="step-refused"' in again.get_data(as_text=True)

    assert _step(engineer, request_id, "close").status_code == 303
    assert _status(db_app, request_id) == "closed"
    assert 'data-field="note"' in _step(engineer, request_id, "reopen").get_data(as_text=True)
    assert _step(engineer, request_id, "reopen", note="又坏了").status_code == 303
    assert _status(db_app, request_id) == "in_progress"

    page = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    history = _text(page[page.index('id="request-history"') :])
    kinds = re.findall(r'<tr data-kind="(\w+)"', page)
    assert kinds == [
        "opened",
        "responded",
        "assigned",
        "work_started",
        "onsite",
        "suspended",
        "resumed",
        "resolved",
        "closed",
        "reopened",
    ]
    assert "Engineer" in history and " engineer " not in f" {history} "  # full names only
    assert "SRV-01" in history and "又坏了" in history


def test_a_temporary_measure_lends_a_spare_until_it_is_returned(db_app: Flask, site: Site) -> None:
    engineer = _client(db_app, "engineer")
    request_id = _log(engineer, asset_tag="SRV-01", urgency="B")
    page = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    assert f'<option value="{site.spare}">SPARE-01 备机 1</option>' in page
    empty = _step(engineer, request_id, "temporary-measure", spare_asset_id=str(site.spare))
    assert empty.status_code == 400
    assert 'data-field="temporary_measure"' in empty.get_data(as_text=True)
    lent = _step(
        engineer,
        request_id,
        "temporary-measure",
        temporary_measure="借用备机 SPARE-01 顶替",
        spare_asset_id=str(site.spare),
    )
    assert lent.status_code == 303
    page = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    assert "借用备机 SPARE-01 顶替" in _text(page)
    assert re.search(r'data-loan="\d+" data-out="1"', page)
    assert f'<option value="{site.spare}">' not in page  # lent: no longer offered
    with db_app.app_context():
        loan = db.session().scalar(select(Loan).where(Loan.request_id == request_id))
        assert loan is not None and loan.asset_id == site.spare
        loan_id = loan.id
    assert _step(engineer, request_id, f"loans/{loan_id}/return").status_code == 303
    page = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    assert re.search(r'data-loan="\d+" data-out="0"', page)
    kinds = re.findall(r'<tr data-kind="(\w+)"', page)
    assert kinds[-2:] == ["temporary_measure", "loan_returned"]
    # returned twice (a retried tap): said, nothing more recorded
    assert _step(engineer, request_id, f"loans/{loan_id}/return").status_code == 400


def test_past_the_fix_by_cap_the_page_asks_for_a_temporary_measure(
    db_app: Flask, site: Site
) -> None:
    request_id = _opened(db_app, clock.now() - timedelta(days=20), urgency="C")
    engineer = _client(db_app, "engineer")
    page = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    assert 'id="needs-measure"' in page
    assert re.search(r'<details[^>]*id="step-measure" open', page)
    assert 'data-field="needs-measure"' in engineer.get("/requests/").get_data(as_text=True)
    _step(engineer, request_id, "temporary-measure", temporary_measure="临时改用备用打印机")
    assert 'id="needs-measure"' not in engineer.get(f"/requests/{request_id}").get_data(
        as_text=True
    )


def test_supervisors_assign_engineers_do_not(db_app: Flask, site: Site) -> None:
    request_id = _opened(db_app, clock.now() - 10 * MIN)
    engineer = _client(db_app, "engineer")
    assert 'id="step-assign"' not in engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    refused = _step(engineer, request_id, "assign", assigned_to="engineer")
    assert refused.status_code == 403
    assert _row(db_app, request_id).assigned_to is None
    supervisor = _client(db_app, "supervisor")
    queue = supervisor.get("/requests/").get_data(as_text=True)
    assert f'data-assign="{request_id}"' in queue  # reassigned from the queue too
    not_an_engineer = _step(supervisor, request_id, "assign", assigned_to="viewer")
    assert not_an_engineer.status_code == 400
    assert 'data-field="assigned_to"' in not_an_engineer.get_data(as_text=True)
    done = post_form(
        supervisor,
        f"/requests/{request_id}/assign",
        {"assigned_to": "engineer", "next": "/requests/?scope=all"},
    )
    assert done.status_code == 303 and done.headers["Location"] == "/requests/?scope=all"
    assert _row(db_app, request_id).assigned_to == "engineer"
    history = engineer.get(f"/requests/{request_id}").get_data(as_text=True)
    assert re.search(r"[（(]Engineer[）)]", _text(history[history.index('id="request-history"') :]))


def test_a_viewer_reads_logs_and_confirms_or_reopens_only_their_own(
    db_app: Flask, site: Site
) -> None:
    viewer = _client(db_app, "viewer")
    mine = _log(viewer, asset_tag="")
    assert _row(db_app, mine).created_by == "viewer"
    others = _opened(db_app, clock.now() - 5 * MIN)
    page = viewer.get(f"/requests/{mine}").get_data(as_text=True)
    assert 'data-action="respond"' not in page and 'id="step-resolve"' not in page
    for step, data in (
        ("respond", {}),
        ("start", {"mode": "remote"}),
        ("arrive", {"scanned_code": "SRV-01"}),
        ("resolve", {"cause": "x"}),
        ("temporary-measure", {"temporary_measure": "x"}),
        ("assign", {"assigned_to": "engineer"}),
    ):
        assert _step(viewer, mine, step, **data).status_code == 403, step
    assert _status(db_app, mine) == "new"

    engineer = _client(db_app, "engineer")
    for request_id in (mine, others):
        _step(engineer, request_id, "resolve", cause="已处理")
    assert 'data-action="close"' in viewer.get(f"/requests/{mine}").get_data(as_text=True)
    assert 'data-action="close"' not in viewer.get(f"/requests/{others}").get_data(as_text=True)
    assert _step(viewer, others, "close").status_code == 403
    assert _step(viewer, others, "reopen", note="没修好").status_code == 403
    assert _status(db_app, others) == "resolved"
    assert _step(viewer, mine, "close").status_code == 303
    assert _step(viewer, mine, "reopen", note="还是不行").status_code == 303
    assert _status(db_app, mine) == "in_progress"
    assert viewer.get("/requests/").status_code == 200


# --- the queue and the dashboard -------------------------------------------------------------


def test_the_queue_is_ordered_by_the_nearest_deadline(db_app: Flask, site: Site) -> None:
    now = clock.now()
    late = _opened(db_app, now - 60 * MIN, description="A 级，早已超时")  # respond by -55 min
    soon = _opened(db_app, now - 2 * MIN, urgency="B", description="B 级，3 分钟内响应")
    later = _opened(db_app, now - MIN, description="A 级，4 分钟内响应")
    done = _opened(db_app, now - 30 * MIN, description="已解决")
    theirs = _opened(db_app, now - 3 * MIN, description="指派给主管")
    with db_app.test_request_context("/"), acting_as("system"):
        services.resolve(queries.get_request(done), "重启")
        services.assign(queries.get_request(theirs), "supervisor")
        db.session().commit()
    engineer = _client(db_app, "engineer")

    def order(url: str) -> list[int]:
        page = engineer.get(url).get_data(as_text=True)
        return [
            int(i) for i in re.findall(r'class="card mb-3 opskit-request" id="request-(\d+)"', page)
        ]

    assert order("/requests/") == [late, soon, later]  # mine: assigned to me or to nobody
    assert order("/requests/?scope=all") == [late, theirs, soon, later]  # due -55, +2, +3, +4
    assert order("/requests/?scope=all&urgency=B") == [soon]
    assert order("/requests/?scope=all&status=resolved") == [done]
    page = engineer.get("/requests/").get_data(as_text=True)
    first = page[page.index(f'id="request-{late}"') :]
    assert re.search(r'data-clock="acknowledge" data-state="breached"', first)
    assert "data-live=" in first  # the next clock counts down in the page
    partial = engineer.get("/requests/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial and f'id="request-{late}"' in partial


def test_the_dashboard_tile_counts_open_requests_and_shows_the_nearest_deadline(
    db_app: Flask, site: Site
) -> None:
    now = clock.now()
    _opened(db_app, now - 60 * MIN)  # A, overdue
    soon = _opened(db_app, now - 2 * MIN, urgency="B")  # respond by now + 3 min
    _opened(db_app, now - 20 * 24 * 60 * MIN, urgency="C")  # past its fix-by cap
    done = _opened(db_app, now - 30 * MIN)
    with db_app.test_request_context("/"), acting_as("system"):
        services.resolve(queries.get_request(done), "重启")
        db.session().commit()
    tile = _client(db_app, "viewer").get("/tiles/requests").get_data(as_text=True)
    count = r'data-(?:field|urgency)="(open-requests|[ABC])">\s*\S+ <span[^>]*data-count>(\d+)'
    counts = dict(re.findall(count, tile))
    assert counts == {"open-requests": "3", "A": "1", "B": "1", "C": "1"}
    assert re.search(r'data-field="overdue">[^<]*2', tile)  # A late, C past its caps
    assert re.search(r'data-field="needs-measure">[^<]*1', tile)
    assert f'data-field="nearest-deadline" data-request-id="{soon}"' in tile
    assert 'data-tile="requests"' in _client(db_app, "engineer").get("/").get_data(as_text=True)


# --- from an alert, an incident, a patrol finding --------------------------------------------


def test_requests_from_an_alert_an_incident_and_a_finding(db_app: Flask, site: Site) -> None:
    with db_app.test_request_context("/"), acting_as("system"):
        alert = alerts.raise_alert(
            "monitor:host.down:asset=srv",
            source="monitor",
            rule="host.down",
            urgency="B",
            message="SRV-01 无法 ping 通",
            asset_id=site.server,
        )
        incident = incidents.open_incident("财务系统中断", grade="major", urgency="A")
        room = SimpleNamespace(server=SimpleNamespace(room_id=site.room_a))
        finding = _finding(db.session(), room, clock.now() - 30 * MIN)
        db.session().commit()
        alert_id, incident_id, finding_id = alert.id, incident.id, finding.id
    engineer = _client(db_app, "engineer")

    page = engineer.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert f'href="/requests/new?alert_id={alert_id}"' in page
    form = engineer.get(f"/requests/new?alert_id={alert_id}").get_data(as_text=True)
    assert "SRV-01 无法 ping 通" in form and f'name="alert_id" value="{alert_id}"' in form
    assert re.search(r'id="urgency-B" value="B" autocomplete="off" checked', form)
    data = {"client_id": _client_id(form), "alert_id": str(alert_id), "category": "network"}
    data |= {"description": "SRV-01 无法 ping 通", "urgency": "B"}
    response = post_form(engineer, "/requests/new", data)
    assert response.status_code == 303
    from_alert = int(response.headers["Location"].rsplit("/", 1)[1])
    req = _row(db_app, from_alert)
    assert (req.alert_id, req.channel, req.asset_id) == (alert_id, "alert", site.server)
    # a second tap on the alert page: the open request, not a second one
    data["client_id"] = "another-tap-0001"
    assert (
        post_form(engineer, "/requests/new", data)
        .headers["Location"]
        .endswith(f"/requests/{from_alert}")
    )
    assert f'data-request="{from_alert}"' in engineer.get(f"/alerts/{alert_id}").get_data(
        as_text=True
    )
    detail = engineer.get(f"/requests/{from_alert}").get_data(as_text=True)
    assert f'href="/alerts/{alert_id}"' in detail

    form = engineer.get(f"/requests/new?incident_id={incident_id}").get_data(as_text=True)
    data = _form(client_id=_client_id(form), incident_id=str(incident_id), urgency="A")
    response = post_form(engineer, "/requests/new", data)
    from_incident = int(response.headers["Location"].rsplit("/", 1)[1])
    assert _row(db_app, from_incident).incident_id == incident_id
    page = engineer.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert f'data-request="{from_incident}"' in page

    round_page = engineer.get(f"/patrol/findings/{finding_id}")
    assert round_page.status_code == 302
    page = engineer.get(round_page.headers["Location"]).get_data(as_text=True)
    link = re.search(rf'href="(/requests/new\?[^"]*finding_id={finding_id}[^"]*)"', page)
    assert link, "no request button on the finding"
    form = engineer.get(unescape(link.group(1))).get_data(as_text=True)
    assert "热通道温度 35°C" in form
    data = {"client_id": _client_id(form), "finding_id": str(finding_id), "category": "other"}
    data |= {"description": "热通道温度 35°C", "urgency": "C", "room_id": str(site.room_a)}
    response = post_form(engineer, "/requests/new", data)
    from_finding = int(response.headers["Location"].rsplit("/", 1)[1])
    req = _row(db_app, from_finding)
    assert (req.finding_id, req.channel, req.room_id) == (finding_id, "patrol", site.room_a)
    detail = engineer.get(f"/requests/{from_finding}").get_data(as_text=True)
    assert f'href="/patrol/findings/{finding_id}"' in detail


# --- what every role reads, in both languages (the page walk's checks) -----------------------


@pytest.fixture
def every_page(db_app: Flask, site: Site) -> Iterator[list[str]]:
    engineer = _client(db_app, "engineer")
    one = _log(engineer, asset_tag="SRV-01", urgency="B")
    _step(engineer, one, "respond")
    _step(engineer, one, "arrive", scanned_code="SRV-01")
    _step(
        engineer,
        one,
        "temporary-measure",
        temporary_measure="借用备机",
        spare_asset_id=str(site.spare),
    )
    _step(engineer, one, "suspend", reason="waiting_requester", note="等报修人回电")
    two = _log(engineer, asset_tag="")
    _step(engineer, two, "resolve", cause="重装驱动")
    _step(engineer, two, "close")
    yield [
        "/requests/",
        "/requests/?scope=mine&status=any",
        "/requests/new",
        f"/requests/{one}",
        f"/requests/{two}",
        "/requests/requesters?requester_name=王",
        "/requests/asset?asset_tag=SRV-01",
        "/tiles/requests",
    ]


def test_every_request_page_passes_the_page_walk_s_checks(
    db_app: Flask, every_page: list[str]
) -> None:
    """The pages the walk skips (the demo has no request yet) and the ones it reaches, as every
    role and in both languages: no error, no stored key or identifier, no login name."""
    from opskit.models import Role
    from opskit.servicedesk.categories import categories
    from opskit.servicedesk.models import (
        Channel,
        CloseHow,
        EventKind,
        OnsiteHow,
        Status,
        SuspendReason,
        WorkMode,
    )

    enums = (Role, Status, Channel, EventKind, WorkMode, SuspendReason, CloseHow, OnsiteHow)
    keys = {m.value for enum in enums for m in enum} | set(categories())
    problems = page_problems(db_app, every_page, keys)
    assert problems == []
