"""Incidents: from an alert, through the phases, arrival by label scan, closing, the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from opskit import db
from opskit.alerts import incidents, services
from opskit.alerts.models import Alert, Incident
from opskit.audit import acting_as
from opskit.validation import ValidationFailed
from tests import factories
from tests.conftest import login, post_form

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _seed() -> tuple[Alert, int]:
    rack = factories.rack()
    ups = factories.asset("UPS-01", kind="ups", rack=rack, u_position=1, u_height=3)
    factories.asset("SRV-09", rack=rack, u_position=10)
    factories.asset("ELSEWHERE", room=factories.rack(room="B机房", name="B01").room)
    alert = services.raise_alert(
        "monitor:ups:1",
        source="monitor",
        rule="ups.on_battery",
        urgency="A",
        message="UPS-01 电池供电",
        asset_id=ups.id,
        at=T0,
    )
    db.session().flush()
    return alert, ups.id


@pytest.fixture
def ctx(db_app: Flask):
    with db_app.test_request_context("/"), acting_as("engineer"):
        yield db.session()


def test_incident_from_alert_through_phases_to_closing(ctx) -> None:
    alert, ups_id = _seed()
    incident = incidents.open_from_alert(alert)
    ctx.commit()
    assert (incident.urgency, incident.opened_at, incident.status) == ("A", T0, "open")
    assert [a.id for a in incident.assets] == [ups_id] and incident.alerts == [alert]
    assert incident.number == f"INC-2026-{incident.id:04d}"

    incidents.add_entry(incident, "contain", "切换到备用UPS", at=T0 + timedelta(minutes=40))
    with pytest.raises(ValidationFailed) as info:
        incidents.record_arrival(incident, "ELSEWHERE")
    assert "ELSEWHERE" in info.value.errors["tag"][0]
    with pytest.raises(ValidationFailed):
        incidents.record_arrival(incident, "NO-SUCH-TAG")
    incidents.record_arrival(incident, "SRV-09", at=T0 + timedelta(minutes=50))  # same room
    with pytest.raises(ValidationFailed) as info:
        incidents.close_incident(incident, "", "")
    assert set(info.value.errors) == {"root_cause", "measures"}
    incidents.close_incident(incident, "市电跳闸", "恢复供电并更换空开", at=T0 + timedelta(hours=3))
    ctx.commit()
    assert incident.onsite_at == T0 + timedelta(minutes=50) and incident.onsite_tag == "SRV-09"
    assert alert.onsite_at == T0 + timedelta(minutes=50)  # the alert's on-site clock stops too
    assert (incident.status, incident.phase) == ("closed", "recover")
    assert [(e.phase, e.actor) for e in incident.entries] == [
        ("detect", "engineer"),
        ("contain", "engineer"),
        ("contain", "engineer"),
        ("recover", "engineer"),
    ]
    with pytest.raises(ValidationFailed):
        incidents.add_entry(incident, "recover", "too late")


def test_incident_by_hand_names_unknown_tags(ctx) -> None:
    with pytest.raises(ValidationFailed) as info:
        incidents.open_incident("机房漏水", grade="major", asset_tags=["NOPE", ""])
    assert "NOPE" in info.value.errors["assets"][0]


def test_incident_pages(app: Flask, client) -> None:
    with app.test_request_context("/"):
        alert, _ups = _seed()
        db.session().commit()
        alert_id = alert.id
    login(client, "viewer")
    assert post_form(client, f"/incidents/from-alert/{alert_id}").status_code == 403
    post_form(client, "/logout")
    login(client, "engineer")
    response = post_form(client, f"/incidents/from-alert/{alert_id}")
    assert response.status_code == 302
    incident_path = response.headers["Location"]
    bad = post_form(client, f"{incident_path}/arrive", {"tag": "ELSEWHERE"})
    assert bad.status_code == 400 and 'data-field="tag"' in bad.get_data(as_text=True)
    assert post_form(client, f"{incident_path}/arrive", {"tag": "UPS-01"}).status_code == 303
    empty = post_form(client, f"{incident_path}/close", {"root_cause": "市电跳闸", "measures": ""})
    assert empty.status_code == 400
    assert 'value="' not in empty.get_data(as_text=True).split('id="root_cause"')[0][-5:]
    assert "市电跳闸" in empty.get_data(as_text=True)  # what was typed is kept
    post_form(client, f"{incident_path}/close", {"root_cause": "市电跳闸", "measures": "更换空开"})
    report = client.get(f"{incident_path}/report").get_data(as_text=True)
    assert "市电跳闸" in report and 'data-phase="recover"' in report and "UPS-01" in report
    with app.app_context():
        incident = db.session().scalar(select(Incident))
        assert incident.status == "closed" and incident.onsite_tag == "UPS-01"


def test_scan_page_returns_to_the_incident_with_the_tag(app: Flask, client) -> None:
    with app.test_request_context("/"), acting_as("engineer"):
        alert, _ups = _seed()
        incident = incidents.open_from_alert(alert)
        db.session().commit()
        path = f"/incidents/{incident.id}"
    login(client, "engineer")
    page = client.get(path).get_data(as_text=True)
    assert f'href="/scan?next={path}"' in page
    scan = client.get(f"/scan?next={path}").get_data(as_text=True)
    assert f'data-next="{path}"' in scan
    assert 'data-next=""' in client.get("/scan?next=https://evil.example/").get_data(as_text=True)
    back = client.get(f"{path}?tag=UPS-01").get_data(as_text=True)
    assert 'id="scanned-tag"' in back and 'value="UPS-01"' in back.split('id="arrive-form"')[1]
