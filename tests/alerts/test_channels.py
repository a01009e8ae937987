"""Channel pages: admin only, secrets write-only and encrypted, failures shown on the page."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select, text

from opskit import db
from opskit.alerts.models import NotificationChannel
from tests.conftest import login, post_form
from tests.test_serve import free_port

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=TOPSECRET"


def _form(**overrides) -> dict:
    data = {
        "name": "值班群",
        "kind": "wecom",
        "urgency_A": "1",
        "urgency_B": "1",
        "enabled": "1",
        "hold_outside_hours": "1",
        "url": WECOM,
    }
    data.update(overrides)
    return data


def test_admin_creates_channel_secret_encrypted_and_never_shown(app: Flask, client) -> None:
    login(client, "admin")
    assert post_form(client, "/alerts/channels/new", _form()).status_code == 302
    with app.app_context():
        channel = db.session().scalar(select(NotificationChannel))
        assert (channel.kind, channel.urgencies, channel.secret) == ("wecom", "AB", WECOM)
        raw = db.session().execute(text("SELECT secret FROM notification_channel")).scalar_one()
        assert "TOPSECRET" not in raw
        channel_id = channel.id
    for path in ("/alerts/channels/", f"/alerts/channels/{channel_id}"):
        assert "TOPSECRET" not in client.get(path).get_data(as_text=True)
    # saving the form without a URL keeps the stored secret
    post_form(client, f"/alerts/channels/{channel_id}", _form(url="", urgency_C="1"))
    with app.app_context():
        channel = db.session().get(NotificationChannel, channel_id)
        assert channel.secret == WECOM and channel.urgencies == "ABC"


def test_rejected_channel_form_keeps_input_and_names_the_field(client) -> None:
    login(client, "admin")
    response = post_form(client, "/alerts/channels/new", _form(url="ftp://x", urgency_A=""))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-field="url"' in page and 'value="值班群"' in page


def test_only_admins_edit_channels(client) -> None:
    login(client, "engineer")
    assert client.get("/alerts/channels/").status_code == 403
    assert post_form(client, "/alerts/channels/new", _form()).status_code == 403


def test_failed_test_send_is_reported_on_the_channel_page(app: Flask, client) -> None:
    login(client, "admin")
    dead = f"http://127.0.0.1:{free_port()}/robot"
    post_form(client, "/alerts/channels/new", _form(kind="webhook", url=dead))
    with app.app_context():
        channel_id = db.session().scalar(select(NotificationChannel.id))
    post_form(client, f"/alerts/channels/{channel_id}/test")
    page = client.get("/alerts/channels/").get_data(as_text=True)
    assert 'data-field="last_error"' in page and "cannot reach 127.0.0.1" in page


def test_channel_limited_to_a_site_from_the_form(app: Flask, client) -> None:
    from tests import factories

    with app.test_request_context("/"):
        site_id = factories.rack(site="上海数据中心").room.site_id
        db.session().commit()
    login(client, "admin")
    page = client.get("/alerts/channels/new").get_data(as_text=True)
    assert f'name="sites" value="{site_id}"' in page
    post_form(client, "/alerts/channels/new", _form(sites=str(site_id)))
    with app.app_context():
        channel = db.session().scalar(select(NotificationChannel))
        assert channel.settings == {"sites": [site_id]}
