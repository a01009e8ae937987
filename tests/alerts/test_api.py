"""Alerts and incidents through the JSON API on SQLite and PostgreSQL: list with every filter
(status, urgency, site, asset by id or tag, the period) and paging, each alert with its clocks;
one alert with its history; acknowledge / on site / resolve / comment as the pages do, the API
user in the history (and by full name on the alert's page); a retried step is a 409 saying who
took it, nothing written twice; viewers read only; incidents with their alerts and timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from opskit import auth, db
from opskit.alerts import incidents, services
from opskit.alerts.models import Alert
from opskit.models import User
from tests import factories
from tests.conftest import login, post_form


@pytest.fixture
def api(db_app: Flask) -> dict[str, Any]:
    """Bearer headers of 张伟 (an engineer) and the viewer; three alerts in two sites."""
    with db_app.test_request_context("/"):
        sess = db.session()
        rack = factories.rack(site="总部", room="A机房", name="A01")
        ups = factories.asset("UPS-01", kind="ups", room=rack.room)
        other = factories.rack(site="分部", room="B机房", name="B01")
        srv = factories.asset("SRV-09", rack=other, u_position=1)
        now = db.utcnow()
        old = services.raise_alert(
            "monitor:ups:old",
            source="monitor",
            rule="ups.on_battery",
            urgency="A",
            message="UPS-01 市电中断，电池供电",
            asset_id=ups.id,
            at=now - timedelta(days=40),
        )
        mid = services.raise_alert(
            "monitor:ups:load",
            source="monitor",
            rule="ups.load_high",
            urgency="B",
            message="UPS-01 负载过高",
            asset_id=ups.id,
            at=now - timedelta(hours=3),
        )
        new = services.raise_alert(
            "monitor:srv:down",
            source="monitor",
            rule="device.unreachable",
            urgency="C",
            message="SRV-09 无法访问",
            asset_id=srv.id,
            at=now - timedelta(minutes=20),
        )
        zhang = User(username="zhangwei", display_name="张伟", role="engineer", password_hash="x")
        sess.add(zhang)
        sess.flush()
        viewer = sess.scalars(select(User).where(User.username == "viewer")).one()
        headers = {
            "zhang": {"Authorization": f"Bearer {auth.create_token(zhang, 'nms')}"},
            "viewer": {"Authorization": f"Bearer {auth.create_token(viewer, 'wall')}"},
        }
        ids = {"old": old.id, "mid": mid.id, "new": new.id, "ups": ups.id, "srv": srv.id}
        ids["site"] = rack.room.site_id
        sess.commit()
    return {**headers, **ids}


def _ids(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[int]:
    response = client.get(f"/api/v1/alerts{query}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_list_filters_newest_first_with_clocks(db_client: FlaskClient, api: dict[str, Any]) -> None:
    viewer = api["viewer"]
    assert _ids(db_client, viewer) == [api["new"], api["mid"], api["old"]]
    assert _ids(db_client, viewer, "?urgency=B") == [api["mid"]]
    assert _ids(db_client, viewer, f"?site_id={api['site']}") == [api["mid"], api["old"]]
    assert _ids(db_client, viewer, f"?asset_id={api['srv']}") == [api["new"]]
    assert _ids(db_client, viewer, "?asset_tag=UPS-01") == [api["mid"], api["old"]]
    assert _ids(db_client, viewer, "?status=open&per_page=1&page=2") == [api["mid"]]
    week = (db.utcnow() - timedelta(days=7)).isoformat()
    assert _ids(db_client, viewer, f"?since={week.replace('+', '%2B')}") == [
        api["new"],
        api["mid"],
    ]
    page = db_client.get("/api/v1/alerts?urgency=C", headers=viewer).get_json()
    assert page["total"] == 1 and page["per_page"] == 50
    (item,) = page["items"]
    assert (item["asset_tag"], item["status"], item["message"]) == (
        "SRV-09",
        "firing",
        "SRV-09 无法访问",
    )
    assert set(item["clocks"]) == {"acknowledge", "onsite", "resolve"}
    assert item["clocks"]["onsite"]["state"] == "running"
    assert item["clocks"]["onsite"]["done_at"] is None
    assert item["clocks"]["onsite"]["deadline"].endswith("+08:00")


def test_bad_filters_are_named(db_client: FlaskClient, api: dict[str, Any]) -> None:
    viewer = api["viewer"]
    for query, field in (
        ("?status=burning", "status"),
        ("?urgency=D", "urgency"),
        ("?asset_tag=NOPE-1", "asset_tag"),
        ("?per_page=10000000", "per_page"),
        ("?colour=red", "colour"),
        ("?since=1990-01-01T00:00:00Z&until=2040-01-01T00:00:00Z", "since"),
        ("?since=2026-01-01", "since"),
    ):
        response = db_client.get(f"/api/v1/alerts{query}", headers=viewer)
        assert response.status_code == 422, query
        assert field in response.get_json()["fields"], (query, response.get_json())


def test_acknowledged_through_the_api_shows_the_api_user(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/alerts/{api['mid']}"
    response = db_client.post(f"{url}/acknowledge", json={"note": "已派人"}, headers=api["zhang"])
    assert response.status_code == 200, response.get_json()
    alert = response.get_json()
    assert (alert["status"], alert["acknowledged_by"]) == ("acknowledged", "zhangwei")
    assert alert["clocks"]["acknowledge"]["done_at"] is not None  # the clock stopped
    row = alert["history"][-1]
    assert (row["kind"], row["actor"], row["actor_name"], row["note"]) == (
        "acknowledged",
        "zhangwei",
        "张伟",
        "已派人",
    )
    # the same in the history read back, and by full name on the alert's page
    history = db_client.get(url, headers=api["viewer"]).get_json()["history"]
    assert [h["kind"] for h in history] == ["raised", "acknowledged"]
    assert (history[1]["actor"], history[1]["actor_name"]) == ("zhangwei", "张伟")
    login(db_client, "viewer")
    page = db_client.get(f"/alerts/{api['mid']}").get_data(as_text=True)
    acked = page.split('<tr data-kind="acknowledged">')[1].split("</tr>")[0]
    assert '<td data-field="actor">张伟</td>' in acked and "zhangwei" not in acked


def test_a_retried_step_is_a_409_naming_the_state(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/alerts/{api['new']}"
    zhang = api["zhang"]
    assert db_client.post(f"{url}/acknowledge", json={}, headers=zhang).status_code == 200
    again = db_client.post(f"{url}/acknowledge", json={}, headers=zhang)
    assert again.status_code == 409
    body = again.get_json()
    assert body["error"] == "conflict" and body["message"].startswith("张伟 已于")
    assert "确认" in body["fields"]["status"][0]
    assert db_client.post(f"{url}/onsite", json={}, headers=zhang).status_code == 200
    assert db_client.post(f"{url}/onsite", json={}, headers=zhang).status_code == 409
    empty = db_client.post(f"{url}/resolve", json={"note": " "}, headers=zhang)
    assert empty.status_code == 422 and "note" in empty.get_json()["fields"]
    missing = db_client.post(f"{url}/resolve", json={}, headers=zhang)
    assert missing.status_code == 422 and "note" in missing.get_json()["fields"]
    done = db_client.post(f"{url}/resolve", json={"note": "重启网卡"}, headers=zhang)
    assert done.status_code == 200 and done.get_json()["resolution_note"] == "重启网卡"
    assert db_client.post(f"{url}/resolve", json={"note": "x"}, headers=zhang).status_code == 409
    assert db_client.post(f"{url}/acknowledge", json={}, headers=zhang).status_code == 409
    comment = {"note": "复盘：交换机端口松动"}
    assert db_client.post(f"{url}/comment", json=comment, headers=zhang).status_code == 200
    repeat = db_client.post(f"{url}/comment", json=comment, headers=zhang)
    assert repeat.status_code == 409 and repeat.get_json()["message"] == "该评论已存在。"
    with db_app.app_context():
        assert factories.event_kinds(api["new"]) == [
            "raised",
            "acknowledged",
            "onsite",
            "resolved",
            "comment",
        ]


def test_viewers_read_only_and_unknown_alerts(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    url = f"/api/v1/alerts/{api['old']}"
    for step in ("acknowledge", "onsite", "comment"):
        response = db_client.post(f"{url}/{step}", json={"note": "x"}, headers=api["viewer"])
        assert response.status_code == 403
    ack = f"{url}/acknowledge"
    assert db_client.post(ack, json={"colour": 1}, headers=api["zhang"]).status_code == 422
    assert db_client.post(ack, json=[], headers=api["zhang"]).status_code == 400
    assert db_client.get("/api/v1/alerts/999999", headers=api["viewer"]).status_code == 404
    with db_app.app_context():
        assert db.session().get_one(Alert, api["old"]).status == "firing"
        assert factories.event_kinds(api["old"]) == ["raised"]


def test_incidents_with_their_alerts_and_timeline(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    with db_app.test_request_context("/"):
        alert = db.session().get_one(Alert, api["old"])
        first = incidents.open_from_alert(alert)
        db.session().flush()
        second = incidents.open_incident("空调漏水", grade="major", urgency="B")
        db.session().flush()
        incidents.close_incident(second, "冷凝水管堵塞", "疏通并加装漏水检测")
        db.session().commit()
        first_id, second_id = first.id, second.id
    viewer = api["viewer"]

    def ids(query: str = "") -> list[int]:
        response = db_client.get(f"/api/v1/incidents{query}", headers=viewer)
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids() == [second_id, first_id]  # newest first (the first opened at its alert)
    assert ids("?status=closed") == [second_id]
    assert ids("?grade=major") == [second_id]
    assert ids("?asset_tag=UPS-01") == [first_id]
    assert ids(f"?asset_id={api['srv']}") == []
    got = db_client.get(f"/api/v1/incidents/{first_id}", headers=viewer).get_json()
    assert got["alert_ids"] == [api["old"]] and got["asset_tags"] == ["UPS-01"]
    assert [a["message"] for a in got["alerts"]] == ["UPS-01 市电中断，电池供电"]
    assert set(got["alerts"][0]["clocks"]) == {"acknowledge", "onsite", "resolve"}
    assert set(got["clocks"]) == {"onsite", "resolve"}
    assert [e["phase"] for e in got["entries"]] == ["detect"]
    closed = db_client.get(f"/api/v1/incidents/{second_id}", headers=viewer).get_json()
    assert (closed["status"], closed["root_cause"], closed["clocks"]["resolve"]["state"]) == (
        "closed",
        "冷凝水管堵塞",
        "met",
    )
    assert db_client.get("/api/v1/incidents/424242", headers=viewer).status_code == 404
    bad = db_client.get("/api/v1/incidents?grade=huge", headers=viewer)
    assert bad.status_code == 422 and "grade" in bad.get_json()["fields"]


def test_comment_from_the_alert_page(
    db_client: FlaskClient, db_app: Flask, api: dict[str, Any]
) -> None:
    """The page's comment box takes the same step (services.comment) as the API."""
    login(db_client, "engineer")
    page = db_client.get(f"/alerts/{api['old']}").get_data(as_text=True)
    assert 'id="comment"' in page and "在处理记录中添加评论" in page
    for _ in range(2):  # a double tap: one comment
        response = post_form(
            db_client,
            f"/alerts/{api['old']}/comment",
            {"note": "已联系厂商", "next": f"/alerts/{api['old']}"},
        )
        assert response.status_code == 303
    page = db_client.get(f"/alerts/{api['old']}").get_data(as_text=True)
    row = page.split('<tr data-kind="comment">')[1].split("</tr>")[0]
    assert "评论" in row and "已联系厂商" in row and '<td data-field="actor">Engineer</td>' in row
    assert page.count('<tr data-kind="comment">') == 1
    viewer = db_app.test_client()
    login(viewer, "viewer")
    assert 'id="comment"' not in viewer.get(f"/alerts/{api['old']}").get_data(as_text=True)
    assert post_form(viewer, f"/alerts/{api['old']}/comment", {"note": "x"}).status_code == 403
