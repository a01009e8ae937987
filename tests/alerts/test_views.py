"""Alert review pages: clocks shown, acknowledge/resolve by role, history kept."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from opskit import db
from opskit.alerts import services
from opskit.alerts.models import Alert, AlertEvent
from tests import factories
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
        kinds = factories.event_kinds(alert_id)
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
    from opskit.models import AuditLog
    from opskit.sla import default_policy_text

    login(client, "engineer")
    # everyone reads the service levels as a table; only admins edit them
    page = client.get("/alerts/policy").get_data(as_text=True)
    assert 'id="policy-levels"' in page and 'id="policy-form"' not in page
    assert "# Service levels" not in page  # not the YAML and its English comments
    assert post_form(client, "/alerts/policy", {"policy": "levels: 3"}).status_code == 403
    post_form(client, "/logout")
    login(client, "admin")
    page = client.get("/alerts/policy").get_data(as_text=True)
    level1 = page.split('data-level="1"')[1].split("</tr>")[0]
    level2 = page.split('data-level="2"')[1].split("</tr>")[0]
    cells = [c.split(">", 1)[1] for c in level1.split("<td data-clock=")[1:]]
    assert [c.split("<")[0] for c in cells] == ["5 分钟", "2 小时", "3 小时"]
    assert "7x24" in level1 and "A · 系统无法使用" in level1
    assert "工作时间（5x8）" in level2 and ">7 小时<" in level2
    assert "75 %" in page and "08:00–17:00" in page
    assert 'id="policy-form"' in page
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


def _seed_words(app: Flask) -> tuple[int, int]:
    """A patrol finding on an asset, acknowledged by an engineer with a full name, with an SLA
    event; and a monitoring alert of a rule from rules.yaml."""
    from opskit.alerts.models import EventKind
    from opskit.audit import acting_as
    from opskit.models import User
    from tests import factories

    with app.test_request_context("/"):
        db.session().scalar(select(User).where(User.username == "engineer")).display_name = "王强"
        rack = factories.rack(room="A机房", name="A01")
        ups = factories.asset("ZJ-UPS-01", kind="ups", rack=rack, u_position=1, name="一号UPS")
        with acting_as("poller"):
            patrol = services.raise_alert(
                "patrol:room_environment.hot_aisle_temperature:asset=1",
                source="patrol",
                rule="patrol.room_environment.hot_aisle_temperature",
                urgency="C",
                message="热通道温度 38 ℃",
                asset_id=ups.id,
                at=db.utcnow() - timedelta(hours=1),
            )
        with acting_as("engineer"):
            services.acknowledge(patrol, "马上去看")
        db.session().add(
            AlertEvent(
                alert=patrol,
                kind=EventKind.SLA_BREACHED.value,
                at=db.utcnow(),
                actor="sla",
                note="onsite",
                urgency="C",
            )
        )
        monitor = services.raise_alert(
            "rule:storage.full:1:/",
            source="monitor",
            rule="storage.full",
            urgency="C",
            message="存储空间将满",
            asset_id=ups.id,
        )
        db.session().commit()
        return patrol.id, monitor.id


def test_sources_rules_people_and_events_are_words_not_keys(app: Flask, client) -> None:
    import re

    patrol_id, monitor_id = _seed_words(app)
    login(client, "viewer")
    listing = client.get("/alerts/").get_data(as_text=True)
    card = listing.split(f'id="alert-{patrol_id}"')[1].split('class="card mb-3')[0]
    assert "巡检 · 机房环境 · 热通道温度" in card
    assert "ZJ-UPS-01 一号UPS" in card
    other = listing.split(f'id="alert-{monitor_id}"')[1].split('class="card mb-3')[0]
    assert "监控 · 存储空间" in other  # the rule's title from rules.yaml
    page = client.get(f"/alerts/{patrol_id}").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", " ", page)
    assert "巡检 · 机房环境 · 热通道温度" in text
    assert "ZJ-UPS-01 一号UPS" in text and f"#{patrol_id}</a>" not in page
    history = page.split('id="alert-history"')[1]
    rows = re.findall(r'<tr data-kind="(\w+)">(.*?)</tr>', history, re.S)
    shown = [
        (kind, *(re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r)))
        for kind, r in rows
    ]
    assert [(k, event, by) for k, _at, event, by, _note in shown] == [
        ("raised", "已产生", "系统"),  # raised by opskit itself (the poller)
        ("acknowledged", "已确认", "王强"),
        ("sla_breached", "SLA 已超时（到场）", "系统"),
    ]
    assert shown[2][4] == ""  # the SLA event's note (its clock) is in its phrase
    # no stored key anywhere in the visible text
    for key in ("patrol.", "room_environment", "hot_aisle", "storage.full", "sla_breached"):
        assert key not in text, key
    with app.test_request_context("/"):
        from flask import session

        session["locale"] = "en"
        from opskit.alerts import wording

        assert (
            wording.event_text("sla_warning", "acknowledge") == "SLA about to run out (Acknowledge)"
        )
        assert wording.rule_title("storage.full") == "Storage space"
        assert wording.rule_title("patrol.room_environment.hot_aisle_temperature") == (
            "Room environment · Hot-aisle temperature"
        )
        assert wording.rule_title("manual") is None  # unknown: the page shows only the source


def test_acknowledge_and_on_site_on_the_alert_page_once(app: Flask, client) -> None:
    alert_id = _seed(app)
    login(client, "viewer")
    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert 'id="alert-actions"' not in page  # viewers get no buttons
    post_form(client, "/logout")
    login(client, "engineer")
    page = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    actions = page.split('id="alert-actions"')[1].split("</div>")[0]
    assert 'data-action="acknowledge"' in actions and 'data-action="onsite"' in actions
    assert f'name="next" value="/alerts/{alert_id}"' in actions
    here = f"/alerts/{alert_id}"
    ack = post_form(client, f"{here}/acknowledge", {"next": here})
    assert (ack.status_code, ack.headers["Location"]) == (303, here)
    again = post_form(client, f"{here}/acknowledge", {"next": here})  # a retried POST
    assert (again.status_code, again.headers["Location"]) == (303, here)
    assert "已于" in client.get(here).get_data(as_text=True)  # "… 已于 … 确认。", not an error
    for _ in range(2):
        assert post_form(client, f"{here}/onsite", {"next": here}).status_code == 303
    with app.app_context():
        alert = db.session().get(Alert, alert_id)
        assert (alert.status, alert.acknowledged_by, alert.onsite_by) == (
            "acknowledged",
            "engineer",
            "engineer",
        )
        kinds = factories.event_kinds(alert_id)
    assert kinds == ["raised", "acknowledged", "onsite"]  # one event each
    page = client.get(here).get_data(as_text=True)
    assert 'data-action="acknowledge"' not in page and 'data-action="onsite"' not in page
    assert 'data-field="acknowledged"' in page and 'data-field="onsite"' in page
    # without a CSRF token the step is refused
    assert client.post(f"{here}/resolve", data={"note": "x"}).status_code == 400


def test_a_step_taken_meanwhile_by_another_request_adds_no_event(app: Flask) -> None:
    """Two requests load the firing alert; the first acknowledges; the second's write finds the
    row no longer firing (UPDATE ... WHERE status = 'firing' matched nothing)."""
    from opskit.validation import ValidationFailed

    alert_id = _seed(app)
    with app.app_context():
        stale = db.session().get(Alert, alert_id)
        assert stale.status == "firing"
        with app.app_context():  # another request, its own session
            other = db.session().get(Alert, alert_id)
            services.acknowledge(other, "first")
            services.record_onsite(other, "first")
            db.session().commit()
        assert stale.status == "firing"  # this request still sees it firing
        try:
            services.acknowledge(stale, "second")
        except ValidationFailed as exc:
            assert "status" in exc.errors
        else:
            raise AssertionError("acknowledged twice")
        assert stale.status == "acknowledged"  # reloaded
        services.record_onsite(stale, "second")  # already recorded: nothing happens
        db.session().commit()
        notes = (
            db.session()
            .execute(
                select(AlertEvent.kind, AlertEvent.note).where(AlertEvent.alert_id == alert_id)
            )
            .all()
        )
    assert sorted(notes) == [
        ("acknowledged", "first"),
        ("onsite", "first"),
        ("raised", "UPS-01 市电中断，电池供电"),
    ]
