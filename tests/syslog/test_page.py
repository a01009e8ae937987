"""The search page: login required, shows a stored message in words, filters by severity and
asset, pages by cursor."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, update

from monitors.syslog.models import SyslogMessage
from opskit import clock, db
from opskit.models import User
from tests import factories
from tests.conftest import login


def _seed(app: Flask) -> tuple[int, int]:
    with app.app_context():
        core = factories.asset("SW-CORE-01", kind="switch", mgmt_ip="10.1.0.1")
        access = factories.asset("SW-ACC-07", kind="switch", mgmt_ip="10.1.0.7")
        now = clock.now()
        rows = [
            dict(
                received_at=now - timedelta(minutes=5),
                source="10.1.0.1",
                asset_id=core.id,
                facility=23,
                severity=3,
                hostname="SW-CORE-01",
                program="LINK-3-UPDOWN",
                text="Interface GigabitEthernet0/1, changed state to down",
                structured_data="",
            ),
            dict(
                received_at=now - timedelta(minutes=4),
                source="10.1.0.7",
                asset_id=access.id,
                facility=4,
                severity=6,
                hostname="SW-ACC-07",
                program="sshd",
                text="Accepted password for admin",
                structured_data="",
            ),
        ]
        rows += [
            dict(
                received_at=now - timedelta(hours=2, seconds=i),
                source="10.1.0.7",
                asset_id=access.id,
                facility=16,
                severity=6,
                hostname="",
                program="ntpd",
                text=f"clock step {i}",
                structured_data="",
            )
            for i in range(60)
        ]
        db.session().execute(insert(SyslogMessage), rows)
        db.session().commit()
        return core.id, access.id


def test_login_required(client: FlaskClient) -> None:
    response = client.get("/monitoring/syslog/")
    assert response.status_code in (302, 401)


def test_page_shows_filters_and_pages(db_app: Flask) -> None:
    _seed(db_app)
    client = db_app.test_client()
    login(client, "viewer")
    page = client.get("/monitoring/syslog/").get_data(as_text=True)  # zh_CN by default
    assert "changed state to down" in page and "Accepted password for admin" in page
    assert "错误" in page and "本地7" not in page and "local7" in page  # severity in words
    assert "安全/认证" in page  # facility 4 in words

    with db_app.app_context():
        db.session().execute(update(User).where(User.username == "viewer").values(locale="en"))
        db.session().commit()
    en_page = client.get("/monitoring/syslog/").get_data(as_text=True)
    assert "Error" in en_page and "security/authorization" in en_page
    assert "Minimum severity" in en_page and "错误" not in en_page

    errors = client.get("/monitoring/syslog/?severity=3").get_data(as_text=True)
    assert "changed state to down" in errors and "Accepted password" not in errors

    access = client.get("/monitoring/syslog/?asset=SW-ACC-07").get_data(as_text=True)
    assert "Accepted password" in access and "changed state to down" not in access
    assert "clock step 0" in access

    text = client.get("/monitoring/syslog/?q=gigabitethernet0/1").get_data(as_text=True)
    assert "changed state to down" in text and "Accepted password" not in text

    # 62 rows: the first page has 50, the older page the last 12, none twice
    first = client.get("/monitoring/syslog/").get_data(as_text=True)
    assert len(re.findall(r'id="syslog-\d+"', first)) == 50
    older_href = first.split('id="syslog-older" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older_href).get_data(as_text=True)
    assert len(re.findall(r'id="syslog-\d+"', second)) == 12
    assert "clock step 59" in second and "clock step 10<" not in second
    assert "Accepted password" not in second

    unknown = client.get("/monitoring/syslog/?asset=NOPE").get_data(as_text=True)
    assert "NOPE" in unknown
