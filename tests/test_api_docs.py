"""The API reference page (/api-docs): any logged-in user, both languages, nothing from outside."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from opskit import auth, db
from opskit.models import User
from tests.conftest import login, post_form


def test_docs_need_a_login(client: FlaskClient) -> None:
    response = client.get("/api-docs")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_viewer_reads_every_operation_in_chinese_and_english(client: FlaskClient) -> None:
    login(client, "viewer")
    page = client.get("/api-docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # tags → operations with parameters, body and answer fields, error codes
    assert 'id="tag-assets"' in html and 'id="tag-service-requests"' in html
    assert ">/api/v1/assets/{asset_id}</code>" in html
    listing = html[
        html.index('id="listAssets"') : html.index("</article>", html.index('id="listAssets"'))
    ]
    assert "<code>per_page</code>" in listing and "≤ 500" in listing
    assert "AssetOutPage" in listing and "401" in listing and "422" in listing
    create = html[
        html.index('id="createAsset"') : html.index("</article>", html.index('id="createAsset"'))
    ]
    assert "<code>asset_tag</code>" in create and "AssetCreate" in create
    assert "最多 64 个字符" in create and "403" in create
    assert "API 参考" in html and "参数" in html
    assert "列出资产" in listing and "新建资产" in create and "服务请求" in html
    # the docstrings' literals (``rows``) are code, not backquotes
    readings = html[html.index("/api/v1/readings</code>") :]
    readings = readings[: readings.index("</article>")]
    assert "<code>rollup</code>" in readings and "``" not in html
    # no script, stylesheet or font from another host
    assert not re.search(r"""(src|href)=["']https?://""", html)

    post_form(client, "/language", {"locale": "en", "next": "/api-docs"})
    english = client.get("/api-docs").get_data(as_text=True)
    assert "API reference" in english and "at most 64 characters" in english
    assert "The token's role may not do this" in english
    assert "List assets" in english and "Create asset" in english


def test_the_json_document_is_in_english_for_every_reader(app: Flask) -> None:
    with app.app_context():
        viewer = db.session().query(User).filter_by(username="viewer").one()
        token = auth.create_token(viewer, "docs")
        db.session().commit()
    doc = (
        app.test_client()
        .get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"})
        .get_json()
    )
    assert doc["paths"]["/api/v1/assets"]["get"]["summary"] == "List assets"
    assert {"name": "service requests", "description": "Service requests"} in doc["tags"]
