"""Report packs through the JSON API: built by an engineer's token (synchronously, kept where the
schedule keeps packs, audited), listed, downloaded as the xlsx workbook; the default period is
the current quarter; a wrong or future period is a 422 naming ``period``; viewers only read."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from opskit import auth, db
from opskit.i18n import site_tz
from opskit.models import AuditLog, User
from reports.periods import current_period, previous_quarter
from tests import factories

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def api(app: Flask) -> dict[str, Any]:
    with app.test_request_context("/"):
        sess = db.session()
        factories.rack()
        tokens = {}
        for login in ("engineer", "viewer"):
            user = sess.scalars(select(User).where(User.username == login)).one()
            tokens[login] = {"Authorization": f"Bearer {auth.create_token(user, 'script')}"}
        today = db.utcnow().astimezone(site_tz()).date()
        periods = {
            "last": previous_quarter(today, site_tz()).text,
            "current": current_period("quarter", today, site_tz()).text,
            "next_year": str(today.year + 1),
        }
        sess.commit()
    return {**tokens, **periods}


def test_build_list_download(app: Flask, api: dict[str, Any]) -> None:
    client = app.test_client()
    built = client.post(
        "/api/v1/report-packs", json={"period": api["last"], "lang": "en"}, headers=api["engineer"]
    )
    assert built.status_code == 201, built.get_json()
    pack = built.get_json()
    name = f"opskit-{api['last']}-en.xlsx"
    assert (pack["name"], pack["period"], pack["lang"]) == (name, api["last"], "en")
    assert pack["url"] == f"/api/v1/report-packs/{name}"
    assert built.headers["Location"].endswith(pack["url"])
    assert pack["size"] > 0

    listed = client.get("/api/v1/report-packs", headers=api["viewer"]).get_json()
    assert [p["name"] for p in listed["items"]] == [name] and listed["total"] == 1
    filtered = client.get("/api/v1/report-packs?lang=zh_CN", headers=api["viewer"]).get_json()
    assert filtered["items"] == []

    download = client.get(pack["url"], headers=api["viewer"])
    assert download.status_code == 200
    assert download.mimetype == XLSX
    assert len(download.data) == pack["size"]
    download.close()
    book = load_workbook(io.BytesIO(download.data), read_only=True)
    assert len(book.sheetnames) > 2  # the cover, the summary, the kinds' sheets
    cover = book[book.sheetnames[0]]
    text = " ".join(str(c) for row in cover.iter_rows(values_only=True) for c in row if c)
    assert api["last"] in text or "Quarterly service report" in text

    again = client.post(
        "/api/v1/report-packs", json={"period": api["last"], "lang": "en"}, headers=api["engineer"]
    )
    assert again.status_code == 201
    assert client.get("/api/v1/report-packs", headers=api["viewer"]).get_json()["total"] == 1
    with app.app_context():
        rows = db.session().scalars(
            select(AuditLog).where(AuditLog.object_type == "report_pack").order_by(AuditLog.id)
        )
        assert [(r.action, r.object_id, r.actor) for r in rows] == [
            ("create", name, "engineer"),
            ("update", name, "engineer"),
        ]


def test_default_period_is_the_current_quarter(app: Flask, api: dict[str, Any]) -> None:
    client = app.test_client()
    built = client.post("/api/v1/report-packs", json={}, headers=api["engineer"])
    assert built.status_code == 201, built.get_json()
    assert built.get_json()["period"] == api["current"]
    assert built.get_json()["lang"] == app.config["BABEL_DEFAULT_LOCALE"]


def test_refusals(app: Flask, api: dict[str, Any]) -> None:
    client = app.test_client()

    def post(body: dict[str, Any], who: str = "engineer") -> Any:
        return client.post("/api/v1/report-packs", json=body, headers=api[who])

    for wrong in ("2026Q5", "2026-13", "last quarter", api["next_year"]):
        response = post({"period": wrong})
        assert response.status_code == 422, wrong
        assert list(response.get_json()["fields"]) == ["period"]
    assert list(post({"period": api["last"], "kinds": ["ups"]}).get_json()["fields"]) == ["kinds"]
    assert post({"period": api["last"]}, "viewer").status_code == 403
    missing = client.get("/api/v1/report-packs/opskit-2020Q1-en.xlsx", headers=api["viewer"])
    assert missing.status_code == 404
    assert client.get("/api/v1/report-packs/..%2Fsecret", headers=api["viewer"]).status_code == 404
    assert client.get("/api/v1/report-packs", headers=api["viewer"]).get_json()["total"] == 0
