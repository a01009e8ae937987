"""A retried timeline line is written once, on SQLite and PostgreSQL: the page's form carries a
fresh ``client_id`` per render and the API body may carry one; the same id again writes nothing
and answers (or redirects) as the first, different ids are two lines, no id is as before. Two
retries at the same moment: the unique key lets one in, the other finds its line."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from opskit import auth, db
from opskit.alerts import incidents
from opskit.alerts.models import Incident, IncidentEntry
from opskit.audit import acting_as
from opskit.models import User
from tests.conftest import login, post_form

CLIENT_ID_RE = re.compile(r'name="client_id" value="([^"]+)"')


@pytest.fixture
def seeded(db_app: Flask) -> dict[str, Any]:
    """An open incident and the engineer's Bearer header."""
    with db_app.test_request_context("/"), acting_as("engineer"):
        sess = db.session()
        incident = incidents.open_incident("UPS-01 市电中断")
        sess.flush()
        engineer = sess.scalars(select(User).where(User.username == "engineer")).one()
        header = {"Authorization": f"Bearer {auth.create_token(engineer, 'nms')}"}
        sess.commit()
        return {"incident": incident.id, "headers": header}


def _notes(app: Flask, incident_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session().scalars(
                select(IncidentEntry.note)
                .where(IncidentEntry.incident_id == incident_id)
                .order_by(IncidentEntry.id)
            )
        )


def test_the_api_writes_a_retried_line_once(
    db_client: FlaskClient, db_app: Flask, seeded: dict[str, Any]
) -> None:
    url = f"/api/v1/incidents/{seeded['incident']}/entries"
    headers = seeded["headers"]
    body = {"phase": "contain", "note": "切换至旁路供电", "client_id": "nms-retry-0001"}
    first = db_client.post(url, json=body, headers=headers)
    assert first.status_code == 200, first.get_json()
    again = db_client.post(url, json=body, headers=headers)
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["entries"] == first.get_json()["entries"]
    assert _notes(db_app, seeded["incident"])[1:] == ["切换至旁路供电"]

    # another id is another line; no id is as before: each post a line
    other = {**body, "client_id": "nms-retry-0002"}
    assert db_client.post(url, json=other, headers=headers).status_code == 200
    plain = {"phase": "eradicate", "note": "更换电池组"}
    for _ in range(2):
        assert db_client.post(url, json=plain, headers=headers).status_code == 200
    assert _notes(db_app, seeded["incident"])[1:] == ["切换至旁路供电"] * 2 + ["更换电池组"] * 2

    # a malformed id is a 422 by its name, nothing written
    bad = db_client.post(url, json={**body, "client_id": "short"}, headers=headers)
    assert bad.status_code == 422 and "client_id" in bad.get_json()["fields"]
    assert len(_notes(db_app, seeded["incident"])) == 5

    # the incident closed meanwhile: the retry still answers as the first (no 409), unchanged
    close = f"/api/v1/incidents/{seeded['incident']}/close"
    closing = {"root_cause": "市电跳闸", "measures": "更换空开"}
    assert db_client.post(close, json=closing, headers=headers).status_code == 200
    late = db_client.post(url, json=body, headers=headers)
    assert late.status_code == 200 and late.get_json()["status"] == "closed"
    assert _notes(db_app, seeded["incident"]).count("切换至旁路供电") == 2


def test_the_page_form_writes_a_resubmitted_line_once(
    db_client: FlaskClient, db_app: Flask, seeded: dict[str, Any]
) -> None:
    login(db_client, "engineer")
    path = f"/incidents/{seeded['incident']}"
    page = db_client.get(path).get_data(as_text=True)
    form_id = CLIENT_ID_RE.search(page)
    assert form_id is not None
    fresh = CLIENT_ID_RE.search(db_client.get(path).get_data(as_text=True))
    assert fresh is not None and fresh.group(1) != form_id.group(1)  # one per render

    data = {"phase": "contain", "note": "切换至旁路供电", "client_id": form_id.group(1)}
    first = post_form(db_client, f"{path}/entries", data)
    again = post_form(db_client, f"{path}/entries", data)  # the double tap
    assert (first.status_code, again.status_code) == (303, 303)
    assert first.headers["Location"] == again.headers["Location"]
    assert _notes(db_app, seeded["incident"])[1:] == ["切换至旁路供电"]

    data_b = {**data, "client_id": fresh.group(1)}
    assert post_form(db_client, f"{path}/entries", data_b).status_code == 303
    plain = {"phase": "eradicate", "note": "更换电池组"}
    for _ in range(2):
        assert post_form(db_client, f"{path}/entries", plain).status_code == 303
    assert _notes(db_app, seeded["incident"])[1:] == ["切换至旁路供电"] * 2 + ["更换电池组"] * 2

    # a refused form keeps its id: corrected and sent again, it is still one submission
    refused = post_form(
        db_client, f"{path}/entries", {**data, "note": " ", "client_id": "form-keep-1"}
    )
    assert refused.status_code == 400
    assert 'name="client_id" value="form-keep-1"' in refused.get_data(as_text=True)


def test_two_retries_at_the_same_moment_write_one_line(
    db_app: Flask, seeded: dict[str, Any]
) -> None:
    barrier = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def submit(name: str) -> None:
        with db_app.test_request_context("/"), acting_as("engineer"):
            sess = db.session()
            incident = sess.get_one(Incident, seeded["incident"])
            barrier.wait()
            try:
                outcome[name] = db.write(
                    lambda: incidents.add_entry(
                        incident, "contain", "切换至旁路供电", client_id="race-0000001"
                    )
                )
            except Exception as exc:  # shown by the assertion below
                outcome[name] = exc

    threads = [threading.Thread(target=submit, args=(name,)) for name in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcome.values(), key=str) == [False, True], outcome
    assert _notes(db_app, seeded["incident"])[1:] == ["切换至旁路供电"]
