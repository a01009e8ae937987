"""Access rules, checked over the whole URL map so new routes are covered automatically."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.routing.converters import NumberConverter

from opskit import db
from opskit.models import ApiToken, AuditLog, User
from tests.conftest import csrf_token, login, post_form

# who may write what; the pages under shifted clocks are test_page_walk's
pytestmark = pytest.mark.dateless

#: Endpoints anyone may reach. Adding one here is a security decision: say why in the review.
PUBLIC = {
    "static",
    "auth.login",
    "auth.logout",  # a session ended elsewhere still logs out to the login page
    "auth.set_language",
    "home.healthz",
    "home.tls_ca",
    # browsers fetch the icons and the manifest before anyone logs in
    "home.favicon",
    "home.apple_touch_icon",
    "home.manifest",
    # the requester's satisfaction survey (#15): no account; the signed, single-use, expiring
    # token is the key, and the page links nowhere into opskit
    "surveys.answer",
}
#: Writes any logged-in user (viewers too) may make, to their own session or account only.
SELF_SERVICE = {
    "auth.login",
    "auth.logout",
    "auth.set_language",
    "users.account",
    "users.token_create",
    "users.token_revoke",
    "users.session_end",
    "users.sessions_end_others",
}
#: Writes a viewer (the customer's staff) may make too; the service checks what exactly: they
#: log service requests, and confirm or reopen only their own (tests/servicedesk/
#: test_request_views.py: test_a_viewer_reads_logs_and_confirms_or_reopens_only_their_own).
#: (assets.plan_answer: the planning page's answer, a POST that writes nothing; and
#: assets.plan_report_download: its planning workbook, a download)
VIEWERS_TOO = {
    "requests.new",
    "requests.close",
    "requests.reopen",
    "assets.plan_answer",
    "assets.plan_report_download",
    # the API's fit answers a plan like the page above: it writes nothing (accepting does)
    "assets_api.fit",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def _sample_url(app: Flask, rule) -> str:
    values = {}
    for arg in rule.arguments:
        numeric = isinstance(rule._converters[arg], NumberConverter)
        values[arg] = 1 if numeric else "x"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def _rules(app: Flask):
    return [r for r in app.url_map.iter_rules()]


def test_public_endpoints_are_exactly_the_listed_ones(app: Flask) -> None:
    public = {
        rule.endpoint
        for rule in _rules(app)
        if rule.endpoint == "static"
        or getattr(app.view_functions[rule.endpoint], "opskit_public", False)
    }
    assert public == PUBLIC


def test_every_route_needs_login(app: Flask, client) -> None:
    checked = 0
    for rule in _rules(app):
        if rule.endpoint in PUBLIC:
            continue
        url = _sample_url(app, rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            checked += 1
            scraped = getattr(app.view_functions[rule.endpoint], "opskit_scraped", False)
            if url.startswith("/api/") or scraped:  # machines: a Bearer token (/metrics too)
                assert response.status_code == 401, (method, url)
                assert response.is_json
            elif method == "GET":
                assert response.status_code == 302, (method, url, response.status_code)
                assert response.headers["Location"].startswith("/login?next=")
            else:  # a write without session: refused before anything runs
                assert response.status_code in {400, 401}, (method, url, response.status_code)
    assert checked >= 10


def test_the_writes_viewers_make_too_are_exactly_the_listed_ones(app: Flask) -> None:
    marked = {
        rule.endpoint
        for rule in _rules(app)
        if getattr(app.view_functions[rule.endpoint], "opskit_viewers_too", False)
    }
    assert marked == VIEWERS_TOO


def test_unauthenticated_write_with_csrf_token_gets_401(app: Flask, client) -> None:
    token = csrf_token(client)
    response = client.post("/admin/users", data={"csrf_token": token, "username": "eve"})
    assert response.status_code == 401
    with app.app_context():
        assert db.session().scalar(select(User).where(User.username == "eve")) is None


def test_public_pages_answer_without_login(client) -> None:
    assert client.get("/login").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["database"] == "ok"
    assert client.get("/tls/ca.crt").status_code == 404  # no CA yet, but not a login redirect


def test_viewer_cannot_perform_any_write(app: Flask, client) -> None:
    login(client, "viewer")
    with app.app_context():
        before = db.session().scalar(select(func.count()).select_from(AuditLog))
    checked = 0
    for rule in _rules(app):
        methods = rule.methods & WRITE_METHODS
        if (
            not methods
            or rule.endpoint in SELF_SERVICE | VIEWERS_TOO
            or rule.rule.startswith("/api/")
        ):
            continue  # the API takes tokens, not sessions: see test_api_viewer_token_cannot_write
        if rule.endpoint == "surveys.answer":
            continue  # anyone holding a survey link answers it: tests/servicedesk/test_survey_pages
        url = _sample_url(app, rule)
        for method in methods:
            token = csrf_token(client, "/")
            response = client.open(url, method=method, data={"csrf_token": token, "role": "admin"})
            assert response.status_code == 403, (method, url, response.status_code)
            checked += 1
    assert checked >= 2
    with app.app_context():
        after = db.session().scalar(select(func.count()).select_from(AuditLog))
        assert after == before
        assert db.session().scalar(select(User.role).where(User.username == "viewer")) == "viewer"


def test_viewer_cannot_open_admin_pages(client) -> None:
    login(client, "viewer")
    assert client.get("/admin/users").status_code == 403
    login_engineer = client  # same client, log out first
    post_form(login_engineer, "/logout")
    login(client, "engineer")
    assert client.get("/admin/users").status_code == 403


def test_admin_can_create_user(app: Flask, client) -> None:
    login(client, "admin")
    response = post_form(
        client,
        "/admin/users",
        {"username": "zhang.san", "display_name": "张三", "role": "engineer"},
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="new-password"' in page
    with app.app_context():
        user = db.session().scalar(select(User).where(User.username == "zhang.san"))
        assert user is not None and user.role == "engineer" and user.display_name == "张三"


def test_rejected_user_form_keeps_what_was_typed(app: Flask, client) -> None:
    login(client, "admin")
    response = post_form(
        client, "/admin/users", {"username": "Bad Name!", "display_name": "李四", "role": "viewer"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="Bad Name!"' in page
    assert 'value="李四"' in page
    assert 'data-field="username"' in page


@pytest.mark.parametrize("path", ["/account/tokens", "/admin/users", "/logout"])
def test_post_without_csrf_token_is_refused(app: Flask, client, path: str) -> None:
    login(client, "admin")
    response = client.post(path, data={"name": "x", "username": "mallory", "role": "admin"})
    assert response.status_code == 400
    with app.app_context():
        sess = db.session()
        assert sess.scalar(select(func.count()).select_from(ApiToken)) == 0
        assert sess.scalar(select(User).where(User.username == "mallory")) is None
    # still logged in: the refused logout did nothing
    assert client.get("/").status_code == 200


def test_login_form_needs_csrf_token(client) -> None:
    response = client.post("/login", data={"username": "admin", "password": "admin-password-1"})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_open_redirect_after_login_is_ignored(client) -> None:
    token = csrf_token(client)
    response = client.post(
        "/login?next=https://evil.example/",
        data={"csrf_token": token, "username": "admin", "password": "admin-password-1"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_security_headers(client) -> None:
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_new_undecorated_write_route_is_protected_by_default(
    persona_hashes, sqlite_template, tmp_path
) -> None:
    """A domain that forgets every decorator still gets login, CSRF and the writer-role check."""
    import shutil

    from tests.conftest import make_test_app

    path = tmp_path / "x.db"
    shutil.copyfile(sqlite_template, path)
    app = make_test_app(f"sqlite:///{path}", tmp_path / "instance", persona_hashes)

    @app.route("/forgetful", methods=["GET", "POST"])
    def forgetful():
        return "changed"

    client = app.test_client()
    assert client.get("/forgetful").status_code == 302
    login(client, "viewer")
    assert client.get("/forgetful").status_code == 200
    assert post_form(client, "/forgetful").status_code == 403
    assert client.post("/forgetful").status_code == 400  # no CSRF token
    post_form(client, "/logout")
    login(client, "engineer")
    assert post_form(client, "/forgetful").get_data(as_text=True) == "changed"
    app.extensions["opskit.engine"].dispose()


def test_api_viewer_token_cannot_write(app: Flask, client) -> None:
    """Every API write answers 403 to a viewer's token, whatever the body."""
    from opskit.auth import create_token

    with app.app_context():
        viewer = db.session().scalar(select(User).where(User.username == "viewer"))
        token = create_token(viewer, "read-only")
        db.session().commit()
        before = db.session().scalar(select(func.count()).select_from(AuditLog))
    headers = {"Authorization": f"Bearer {token}"}
    checked = 0
    for rule in _rules(app):
        if not rule.rule.startswith("/api/"):
            continue
        for method in rule.methods & WRITE_METHODS:
            if rule.endpoint in VIEWERS_TOO:  # asks, writes nothing (the audit count below)
                continue
            response = client.open(
                _sample_url(app, rule), method=method, json={"name": "x"}, headers=headers
            )
            assert response.status_code == 403, (method, rule.rule, response.status_code)
            checked += 1
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(AuditLog)) == before
    assert checked >= 7  # create and update of each registry resource at least
