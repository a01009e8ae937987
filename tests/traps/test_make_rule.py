"""The traps page's "make a rule": an engineer turns an unknown trap OID into a site rule
(``<instance>/trap_rules.yaml``, audited), the running receiver applies it to the next trap sent
by pysnmp; viewers are refused; a wrong form keeps what was typed and names the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from monitors.traps import rules
from opskit import db
from opskit.models import AuditLog
from tests.conftest import login, post_form
from tests.traps.test_receiver import (  # noqa: F401 - the fixture is used by name
    Running,
    _open_alert,
    _send,
    _trap_with,
    _v2c,
    _wait,
    running,
)

OID = "1.3.6.1.4.1.99999.0.7"  # a vendor trap no profile knows
VARIABLE = "1.3.6.1.4.1.99999.1.2"
RULE = {
    "oid": OID,
    "action": "raise",
    "condition": "ac_compressor_alarm",
    "urgency": "A",
    "title_zh": "精密空调压缩机告警",
    "title": "Air conditioner compressor alarm",
    "where_varbind": VARIABLE,
    "where_in": "3, 4",
}


def _site_file(app: Flask) -> Path:
    return Path(app.instance_path) / rules.SITE_FILE


def test_an_engineer_makes_a_rule_and_the_next_trap_raises_the_alert(
    running: Running,  # noqa: F811 - the receiver fixture imported above
    db_client: FlaskClient,
) -> None:
    from pysnmp.proto.rfc1902 import Integer

    _send(running.port, _v2c(), OID, [(f"{VARIABLE}.0", Integer(3))])
    first = _wait(running.app, _trap_with(OID), "the unknown trap stored")
    assert first.actions == ""
    login(db_client, "engineer")
    page = db_client.get("/monitoring/traps/?show=unknown").get_data(as_text=True)
    assert f'href="/monitoring/traps/rule?oid={OID}"' in page  # its "make a rule" button

    form = db_client.get(f"/monitoring/traps/rule?oid={OID}")
    assert form.status_code == 200
    text = form.get_data(as_text=True)
    assert f'value="{OID}"' in text and f"{VARIABLE}.0" in text  # the newest trap's variables

    response = post_form(db_client, "/monitoring/traps/rule", RULE)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    saved = yaml.safe_load(_site_file(running.app).read_text(encoding="utf-8"))
    assert saved == {
        "traps": [
            {
                "oid": OID,
                "raise": "ac_compressor_alarm",
                "urgency": "A",
                "title": "Air conditioner compressor alarm",
                "title_zh": "精密空调压缩机告警",
                "where": {"varbind": VARIABLE, "in": ["3", "4"]},
            }
        ]
    }
    with running.app.app_context():
        audit = db.session().scalar(select(AuditLog).where(AuditLog.object_type == "trap_rule"))
        assert audit is not None and audit.actor == "engineer" and audit.object_id == OID

    # the stored trap of that OID is no longer unknown
    page = db_client.get("/monitoring/traps/?show=unknown").get_data(as_text=True)
    assert f'data-oid="{OID}"' not in page
    # a retried submission adds nothing
    again = post_form(
        db_client, "/monitoring/traps/rule", {**RULE, "where_in": "3,4 "}, follow_redirects=True
    )
    assert "nothing was added" in again.get_data(as_text=True) or "未添加" in again.get_data(
        as_text=True
    )
    assert len(yaml.safe_load(_site_file(running.app).read_text())["traps"]) == 1

    # the running receiver applies the rule to the next trap (its variable listed)
    key = f"trap:asset{running.asset_id}:ac_compressor_alarm"
    _send(running.port, _v2c(), OID, [(f"{VARIABLE}.0", Integer(4))])
    alert = _wait(running.app, _open_alert(key), "the new rule raising an A alert")
    assert (alert.urgency, alert.rule) == ("A", "trap.site.ac_compressor_alarm")
    alerts = db_client.get("/alerts/").get_data(as_text=True)
    assert "精密空调压缩机告警" in alerts  # the alert called by the rule's title, in words

    # a clearing rule for the same condition; a variable outside the list raises nothing
    cleared = post_form(
        db_client,
        "/monitoring/traps/rule",
        {"oid": "1.3.6.1.4.1.99999.0.8", "action": "clear", "condition": "ac_compressor_alarm"},
    )
    assert cleared.status_code == 303
    _send(running.port, _v2c(), "1.3.6.1.4.1.99999.0.8")
    with running.app.app_context():
        from opskit.alerts.models import Alert

        def resolved() -> Alert | None:
            return db.session().scalar(
                select(Alert).where(Alert.dedup_key == key, Alert.status == "resolved")
            )

    _wait(running.app, resolved, "the clearing rule resolving the alert")


def test_a_viewer_may_look_but_not_make_rules(db_client: FlaskClient, db_app: Flask) -> None:
    login(db_client, "viewer")
    assert db_client.get(f"/monitoring/traps/rule?oid={OID}").status_code == 403
    refused = post_form(
        db_client,
        "/monitoring/traps/rule",
        {"oid": OID, "action": "raise", "condition": "x", "urgency": "A", "title": "X"},
    )
    assert refused.status_code == 403
    assert not _site_file(db_app).exists()
    assert "make-rule" not in db_client.get("/monitoring/traps/").get_data(as_text=True)


def test_without_the_csrf_token_nothing_is_saved(db_client: FlaskClient, db_app: Flask) -> None:
    login(db_client, "engineer")
    response = db_client.post(
        "/monitoring/traps/rule",
        data={"oid": OID, "action": "raise", "condition": "x", "urgency": "A", "title": "X"},
    )
    assert response.status_code == 400
    assert not _site_file(db_app).exists()


@pytest.mark.parametrize(
    ("form", "field", "says"),
    [
        ({"condition": "Compressor Alarm!"}, "condition", "lower-case"),
        ({"urgency": "D"}, "urgency", "A, B or C"),
        ({"title": "", "title_zh": ""}, "title", "title in words"),
        ({"oid": "1.3.six"}, "oid", "numeric OID"),
        ({"where_varbind": "ifIndex", "where_in": "3"}, "where_varbind", "numeric OID"),
        ({"where_varbind": VARIABLE, "where_in": " , "}, "where_in", "separated by commas"),
        ({"action": "clear", "condition": "never_raised"}, "condition", "make the rule"),
    ],
)
def test_a_wrong_form_keeps_what_was_typed_and_names_the_field(
    db_client: FlaskClient, db_app: Flask, form: dict[str, str], field: str, says: str
) -> None:
    login(db_client, "engineer")
    post_form(db_client, "/language", {"locale": "en", "next": "/"})  # English messages
    typed = {
        "oid": OID,
        "action": "raise",
        "condition": "ac_fault",
        "urgency": "B",
        "title": "Air conditioner fault",
        "title_zh": "空调故障",
        "where_varbind": "",
        "where_in": "",
        **form,
    }
    response = post_form(db_client, "/monitoring/traps/rule", typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    errors = re.findall(r'data-error="([a-z_]+)">([^<]+)<', page)
    assert [name for name, _ in errors] == [field], errors
    assert says in errors[0][1], errors
    for name in ("oid", "condition", "title", "title_zh", "where_varbind", "where_in"):
        if typed[name].strip():
            assert f'value="{typed[name].strip()}"' in page, name  # nothing typed is lost
    assert not _site_file(db_app).exists()


def test_a_hand_broken_site_file_is_reported_and_the_shipped_rules_go_on(
    db_app: Flask, db_client: FlaskClient
) -> None:
    _site_file(db_app).parent.mkdir(parents=True, exist_ok=True)
    _site_file(db_app).write_text(
        "traps:\n  - {oid: 1.3.6.1.4.1.9.0.1, raise: hot, urgency: Z, title: Hot}\n",
        encoding="utf-8",
    )
    with db_app.app_context():
        assert "traps[0].urgency" in rules.site_problem()
        assert rules.actions("1.3.6.1.4.1.9.0.1", []) == []
        assert [a.condition for a in rules.actions("1.3.6.1.2.1.33.2.1", [])] == ["ups_on_battery"]
    login(db_client, "engineer")
    page = db_client.get("/monitoring/traps/").get_data(as_text=True)
    assert 'id="trap-rules-problem"' in page and "traps[0].urgency" in page
