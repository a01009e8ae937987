"""The alert pages say an alert's message in the reader's language (``wording.alert_messages``):
a patrol finding's message recomposed from its answer, a trap alert's title by its rule's words;
a manual alert as typed. The alert list and page, the dashboard's tile, the incident page, the
service desk's "from the alert" and the notifier (the site's language) all say the same; in
Chinese everything reads as stored. A page of alerts costs the same queries for 1 patrol
finding as for 5."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import event, func, select

from inspections import services as patrol
from monitors.traps import store as trap_store
from monitors.traps.receiver import Trap
from opskit import clock, db
from opskit.alerts import incidents, notify, services
from opskit.alerts.models import Alert, AlertEvent
from opskit.audit import acting_as
from tests import factories
from tests.conftest import login, post_form
from tests.inspections.test_rounds import answers as round_answers

ON_BATTERY = "1.3.6.1.2.1.33.2.1"  # upsTrapOnBattery (the ups_mib profile: UPS on battery)
#: what the English pages say of the seeded alerts (the room's name is typed: as stored)
EN_FINDING = "A机房 Room environment · Cold-aisle temperature: 30.5°C ("
EN_TRAP = f"UPS on battery (SNMP trap {ON_BATTERY} from 10.9.0.1)"
ZH_TRAP = f"UPS 电池供电 (SNMP trap {ON_BATTERY} from 10.9.0.1)"


@dataclass
class Seeded:
    finding: int  # the alert ids
    trap: int
    manual: int
    messages: dict[int, str]  # alert id → the stored message (Chinese: the site's language)


def _patrol_finding(room: str, n: int) -> None:
    """A round in ``room`` whose cold aisle is too warm: a finding and its alert."""
    room_id = factories.rack(room=room, name=f"R{n}").room_id
    answers = round_answers(cold_aisle_temperature="30.5")
    answers[0]["note"] = "北侧偏热"  # an abnormal answer says what was seen (typed: as typed)
    with acting_as("engineer"):
        patrol.submit_round(
            f"words-round-{n:04d}",
            {
                "room_id": room_id,
                "checklist_keys": ["room_environment"],
                "answers": answers,
                "signature_name": "张工",
            },
        )


def _seed(app: Flask) -> Seeded:
    with app.test_request_context("/"):
        _patrol_finding("A机房", 1)
        trap_store.store([Trap(clock.now(), "10.9.0.1", "2c", ON_BATTERY, "", [])], {})
        manual = services.raise_alert(
            "manual:door",
            source="manual",
            rule="manual",
            urgency="C",
            message="B机房门禁故障（手工登记）",
            at=db.utcnow() - timedelta(minutes=5),
        )
        db.session().commit()
        alerts = db.session().scalars(select(Alert).order_by(Alert.id)).all()
        by_source = {a.source: a for a in alerts}
        trap = next(a for a in alerts if a.rule.startswith("trap."))
        return Seeded(
            by_source["patrol"].id,
            trap.id,
            manual.id,
            {a.id: a.message for a in alerts},
        )


def _card(listing: str, alert_id: int) -> str:
    return listing.split(f'id="alert-{alert_id}"')[1].split('class="card mb-3')[0]


def _heading(page: str) -> str:
    return re.sub(r"<[^>]+>", "", page.split('<h1 class="h4">')[1].split("</h1>")[0]).strip()


def _tile(page: str) -> str:
    match = re.search(r'<section[^>]*id="tile-alerts".*?</section>', page, re.S)
    assert match, "the alerts tile is missing"
    return match.group(0)


def test_the_pages_say_the_messages_in_the_readers_language(
    app: Flask, client: FlaskClient
) -> None:
    s = _seed(app)
    stored = s.messages
    assert stored[s.trap] == ZH_TRAP  # stored in the site's language
    assert "机房环境 · 冷通道温度: 30.5°C（" in stored[s.finding]
    login(client, "viewer")

    # Chinese: as stored, everywhere
    listing = client.get("/alerts/").get_data(as_text=True)
    for alert_id in (s.finding, s.trap, s.manual):
        assert f">{stored[alert_id]}</a>" in _card(listing, alert_id)
        heading = _heading(client.get(f"/alerts/{alert_id}").get_data(as_text=True))
        assert heading.endswith(f" {stored[alert_id]}")
    tile = _tile(client.get("/").get_data(as_text=True))
    assert stored[s.finding] in tile and ZH_TRAP in tile

    # English: opskit's words in English, what a person typed as typed
    post_form(client, "/language", {"locale": "en", "next": "/"})
    listing = client.get("/alerts/").get_data(as_text=True)
    finding_card, trap_card = _card(listing, s.finding), _card(listing, s.trap)
    assert EN_FINDING in finding_card and "机房环境" not in finding_card
    assert f">{EN_TRAP}</a>" in trap_card and "电池供电" not in trap_card
    assert f">{stored[s.manual]}</a>" in _card(listing, s.manual)  # typed by hand
    finding_page = _heading(client.get(f"/alerts/{s.finding}").get_data(as_text=True))
    assert EN_FINDING in finding_page and "冷通道温度" not in finding_page
    assert EN_TRAP in _heading(client.get(f"/alerts/{s.trap}").get_data(as_text=True))
    assert stored[s.manual] in _heading(client.get(f"/alerts/{s.manual}").get_data(as_text=True))
    tile = _tile(client.get("/").get_data(as_text=True))
    assert EN_FINDING in tile and EN_TRAP in tile
    assert "机房环境" not in tile and "电池供电" not in tile
    # the htmx refresh of the list and of the tile say the same
    partial = client.get("/alerts/", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert EN_TRAP in _card(partial, s.trap)
    assert EN_TRAP in client.get("/tiles/alerts").get_data(as_text=True)

    # back in Chinese: as before
    post_form(client, "/language", {"locale": "zh_CN", "next": "/"})
    listing = client.get("/alerts/").get_data(as_text=True)
    assert f">{ZH_TRAP}</a>" in _card(listing, s.trap)
    assert f">{stored[s.finding]}</a>" in _card(listing, s.finding)


def test_incident_desk_and_notifier_say_it_too(app: Flask, client: FlaskClient) -> None:
    s = _seed(app)
    with app.test_request_context("/"), acting_as("engineer"):
        trap = db.session().get(Alert, s.trap)
        assert trap is not None
        incident = incidents.open_from_alert(trap)
        db.session().commit()
        incident_id = incident.id
        assert "事件已创建。" in [e.note for e in incident.entries]
    login(client, "engineer")
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert f"#{s.trap}</a> {ZH_TRAP}" in page and "<td>事件已创建。</td>" in page
    post_form(client, "/language", {"locale": "en", "next": "/"})
    page = client.get(f"/incidents/{incident_id}").get_data(as_text=True)
    assert f"#{s.trap}</a> {EN_TRAP}" in page and "<td>Incident opened.</td>" in page
    assert "电池供电" not in page.split('id="incident-timeline"')[0].split("<dl")[1]
    # the service desk's new request from the alert names it, and offers it as the description
    form = client.get(f"/requests/new?alert_id={s.trap}").get_data(as_text=True)
    origin = form.split('id="request-origin"')[1].split("</div>")[0]
    assert EN_TRAP in origin and "电池供电" not in origin

    # the notifier writes in the site's language: Chinese as stored, English when the site is
    def rendered(alert_id: int) -> Any:
        with app.app_context():
            raised = db.session().scalar(
                select(AlertEvent).where(
                    AlertEvent.alert_id == alert_id, AlertEvent.kind == "raised"
                )
            )
            assert raised is not None
            return notify.render(raised)

    zh = rendered(s.trap)
    assert zh.title == f"[A] {ZH_TRAP}" and zh.payload["message"] == ZH_TRAP
    app.config["BABEL_DEFAULT_LOCALE"] = "en"
    en, finding = rendered(s.trap), rendered(s.finding)
    assert en.title == f"[A] {EN_TRAP}" and en.text.startswith(f"### [A] {EN_TRAP}\n")
    assert en.payload["message"] == ZH_TRAP  # the data as stored
    assert EN_FINDING in finding.title and "机房环境" not in finding.text


def test_a_page_of_patrol_findings_costs_the_queries_of_one(
    db_app: Flask, db_client: FlaskClient
) -> None:
    """The messages are recomposed for the whole page at once: 5 findings in 5 rooms and 3
    trap alerts read no more than 1 finding and 1 trap alert."""
    login(db_client, "viewer")
    post_form(db_client, "/language", {"locale": "en", "next": "/"})

    def statements() -> int:
        seen: list[str] = []

        def count(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
            seen.append(statement)

        engine = db_app.extensions["opskit.engine"]
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = db_client.get("/alerts/").get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page.count(EN_FINDING[len("A机房") :]) == shown["findings"]
        return len(seen)

    shown = {"findings": 0}
    with db_app.test_request_context("/"):
        _patrol_finding("A机房", 1)
        trap_store.store([Trap(clock.now(), "10.9.0.1", "2c", ON_BATTERY, "", [])], {})
        db.session().commit()
    shown["findings"] = 1
    one = statements()
    with db_app.test_request_context("/"):
        for n in range(2, 6):
            _patrol_finding(f"{n}号机房", n)
        for host in ("10.9.0.2", "10.9.0.3"):
            trap_store.store([Trap(clock.now(), host, "2c", ON_BATTERY, "", [])], {})
        db.session().commit()
        assert db.session().scalar(select(func.count()).select_from(Alert)) == 8
    shown["findings"] = 5
    assert statements() == one


def test_a_message_with_a_number_placeholder_is_said_again(app: Flask) -> None:
    """A msgid with ``%(days)d`` is matched as the catalog has it: the warranty reminder stored
    in Chinese reads in English with its number, and the other way round."""
    from opskit.alerts import wording
    from opskit.alerts.warranty import SAID

    stored = "SRV-01 数据库服务器：保修将于 2027-01-31 到期（57 天）"
    with app.test_request_context("/"), force_locale("en"):
        assert wording.said_again(stored, SAID) == (
            "SRV-01 数据库服务器: warranty ends on 2027-01-31 (57 days)"
        )
    english = "SRV-02 Core switch: warranty ends on 2027-03-01 (3 days)"
    with app.test_request_context("/"), force_locale("zh_Hans_CN"):
        assert wording.said_again(english, SAID) == (
            "SRV-02 Core switch：保修将于 2027-03-01 到期（3 天）"
        )
        assert wording.said_again("SRV-02: warranty ends soon", SAID) is None
