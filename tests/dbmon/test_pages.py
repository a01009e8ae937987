"""A database monitor from the asset page: added with the settings form, its password typed on
the add form or the edit form, stored encrypted and never shown back (not even on a rejected
form, which keeps everything else typed)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from monitors import services
from monitors.models import Monitor
from opskit import db
from tests import factories
from tests.conftest import login, post_form

# what the servers count does not depend on the date: left out of the shifted-clock runs
pytestmark = pytest.mark.dateless


def _monitor(app: Flask, asset_id: int) -> Monitor:
    with app.app_context():
        return db.session().scalars(select(Monitor).where(Monitor.asset_id == asset_id)).one()


def test_add_a_mysql_monitor_and_set_its_password(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        asset_id = factories.asset("DB-01", kind="server").id
        db.session().commit()
    login(client, "engineer")
    page = client.get(f"/monitoring/assets/{asset_id}/add?kind=mysql").get_data(as_text=True)
    assert 'value="3306"' in page  # the engine's port as the default
    assert 'name="tls"' in page and 'name="slow_s"' in page
    url = f"/monitoring/assets/{asset_id}/add"
    bad = {"kind": "mysql", "host": "10.0.5.22", "tls": "sometimes", "interval_s": "60"}
    r = post_form(client, url, bad)
    assert r.status_code == 422 and 'data-error="tls"' in r.get_data(as_text=True)
    form: dict[str, Any] = {"kind": "mysql", "host": "10.0.5.22", "user": "opskit_monitor"}
    r = post_form(client, url, {**form, "interval_s": "60"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    monitor = _monitor(app, asset_id)
    assert monitor.settings == {
        "host": "10.0.5.22",
        "port": 3306,
        "user": "opskit_monitor",
        "tls": "",
        "timeout": 5.0,
        "slow_s": 1.0,
    }

    edit = f"/monitoring/monitors/{monitor.id}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert 'name="password"' in page
    r = post_form(
        client,
        edit,
        {
            "host": "10.0.5.22",
            "user": "opskit_monitor",
            "interval_s": "60",
            "enabled": "1",
            "password": "Pa55-word-9",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    page = client.get(edit).get_data(as_text=True)
    assert "Pa55-word-9" not in page
    with app.app_context():
        stored = db.session().get(Monitor, monitor.id)
        assert stored is not None
        assert services.stored_secret(stored) == {"password": "Pa55-word-9"}
        raw = (
            db.session()
            .connection()
            .exec_driver_sql(f"SELECT secret FROM monitor WHERE id = {monitor.id}")
            .scalar()
        )
        assert "Pa55-word-9" not in json.dumps(raw)


def test_the_add_form_takes_the_password(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        asset_id = factories.asset("DB-02", kind="server").id
        db.session().commit()
    login(client, "engineer")
    url = f"/monitoring/assets/{asset_id}/add"
    page = client.get(f"{url}?kind=postgresql").get_data(as_text=True)
    assert 'name="password" type="password"' in page and 'id="monitor-secret-note"' in page
    secret = "Add-Pa55-7"
    form = {"kind": "postgresql", "host": "10.0.5.23", "user": "opskit_monitor", "password": secret}
    r = post_form(client, url, {**form, "interval_s": "60", "tls": "sometimes"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'data-error="tls"' in page
    assert 'value="10.0.5.23"' in page and 'value="opskit_monitor"' in page  # kept as typed
    assert secret not in page  # the password is typed again
    with app.app_context():
        assert db.session().scalars(select(Monitor)).all() == []

    for _attempt in range(2):  # a retried submission is not a second monitor
        r = post_form(client, url, {**form, "interval_s": "60"})
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    monitor = _monitor(app, asset_id)
    with app.app_context():
        stored = db.session().get(Monitor, monitor.id)
        assert stored is not None and services.stored_secret(stored) == {"password": secret}
        raw = (
            db.session()
            .connection()
            .exec_driver_sql(f"SELECT secret FROM monitor WHERE id = {monitor.id}")
            .scalar()
        )
        assert secret not in json.dumps(raw)
    page = client.get(f"/monitoring/monitors/{monitor.id}/edit").get_data(as_text=True)
    assert secret not in page and 'name="password"' in page
