"""Alert review pages: clocks shown, acknowledge/resolve by role, history kept."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from opskit import db
from opskit.alerts import services
from opskit.alerts.models import Alert, AlertEvent
from tests.conftest import login, post_form


def _seed(app: Flask, urgency: str = "A", minutes_ago: int = 30) -> int:
    with app.test_request_context("/"):
        alert = services.raise_alert(
            "monitor:ups:1",
            source="monitor",
            rule="ups.on_battery",
            urgency=urgency,
            message="UPS-01 市电中断，电池供电",
            at=db.utcnow() - timedelta(minutes=minutes_ago),
        )
        db.session().commit()
        return alert.id


def test_list_shows_alert_with_its_three_clocks(app: Flask, client) -> None:
    alert_id = _seed(app)
    login(client, "viewer")
    page = client.get("/alerts/").get_data(as_text=True)
    assert "UPS-01 市电中断，电池供电" in page
    card = page.split(f'id="alert-{alert_id}"')[1]
    assert card.count("data-clock=") == 3
    assert 'data-clock="onsite" data-state="running"' in card
    # on site within 2 h, raised 30 min ago: about 1:30:00 left
    remaining = int(card.split('data-clock="onsite"')[1].split('data-remaining="')[1].split('"')[0])
    assert 89 * 60 <= remaining <= 90 * 60
    assert 'data-action="acknowledge"' not in card  # viewers get no buttons


def test_viewer_cannot_acknowledge(app: Flask, client) -> None:
    alert_id = _seed(app)
    login(client, "viewer")
    assert post_form(client, f"/alerts/{alert_id}/acknowledge").status_code == 403
    with app.app_context():
        assert db.session().get(Alert, alert_id).status == "firing"


def test_engineer_acknowledges_then_resolves_with_a_note(app: Flask, client) -> None:
    alert_id = _seed(app)
    login(client, "engineer")
    response = post_form(client, f"/alerts/{alert_id}/acknowledge", {"note": "收到"})
    assert response.status_code == 303
    empty = post_form(client, f"/alerts/{alert_id}/resolve", {"note": " "})
    assert empty.status_code == 303
    assert "请填写处理措施" in client.get(empty.headers["Location"]).get_data(as_text=True)
    done = post_form(client, f"/alerts/{alert_id}/resolve", {"note": "市电恢复"})
    assert done.status_code == 303
    with app.app_context():
        alert = db.session().get(Alert, alert_id)
        assert (alert.status, alert.acknowledged_by, alert.resolution_note) == (
            "resolved",
            "engineer",
            "市电恢复",
        )
        kinds = (
            db.session()
            .scalars(
                select(AlertEvent.kind)
                .where(AlertEvent.alert_id == alert_id)
                .order_by(AlertEvent.id)
            )
            .all()
        )
    assert kinds == ["raised", "acknowledged", "resolved"]
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'data-kind="resolved"' in detail and "市电恢复" in detail


def test_filters_and_htmx_partial(app: Flask, client) -> None:
    _seed(app, "A")
    with app.test_request_context("/"):
        services.raise_alert(
            "patrol:temp", source="patrol", rule="room.temp", urgency="C", message="A机房温度偏高"
        )
        db.session().commit()
    login(client, "engineer")
    only_c = client.get("/alerts/?urgency=C").get_data(as_text=True)
    assert "A机房温度偏高" in only_c and "UPS-01" not in only_c
    partial = client.get("/alerts/?source=monitor", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert "<html" not in body and "UPS-01" in body and "A机房温度偏高" not in body


def test_admin_edits_the_policy_validated_and_audited(app: Flask, client) -> None:
    from opskit.alerts.sla import default_policy_text
    from opskit.models import AuditLog

    login(client, "engineer")
    assert client.get("/alerts/policy").status_code == 403
    post_form(client, "/logout")
    login(client, "admin")
    page = client.get("/alerts/policy").get_data(as_text=True)
    assert 'id="policy-levels"' in page and "2:00:00" in page  # on site 2 h at level 1
    bad = post_form(client, "/alerts/policy", {"policy": "levels: {1: {urgencies: [A]}}"})
    assert bad.status_code == 400
    assert "levels.1.hours" in bad.get_data(as_text=True)
    assert "urgencies: [A]" in bad.get_data(as_text=True)  # what was typed is kept
    faster = default_policy_text().replace("onsite: 2h", "onsite: 1h")
    assert post_form(client, "/alerts/policy", {"policy": faster}).status_code == 303
    with app.test_request_context("/"):
        from opskit.alerts.queries import current_policy

        level = current_policy().level_for("A")
        assert level.targets["onsite"] == timedelta(hours=1)
        entry = db.session().scalar(select(AuditLog).where(AuditLog.object_type == "site_setting"))
        assert entry.actor == "admin" and entry.action == "create"


def test_room_filter(app: Flask, client) -> None:
    from tests import factories

    with app.test_request_context("/"):
        a_rack = factories.rack(room="A机房", name="A01")
        b_rack = factories.rack(room="B机房", name="B01")
        for tag, rack in (("UPS-A", a_rack), ("UPS-B", b_rack)):
            ups = factories.asset(tag, kind="ups", rack=rack, u_position=1)
            services.raise_alert(
                f"k:{tag}",
                source="monitor",
                rule="r",
                urgency="B",
                message=f"{tag} 告警",
                asset_id=ups.id,
            )
        db.session().commit()
        room_a = a_rack.room_id
    login(client, "viewer")
    page = client.get(f"/alerts/?room={room_a}").get_data(as_text=True)
    assert "UPS-A 告警" in page and "UPS-B 告警" not in page
    assert f'<option value="{room_a}" selected>' in page
