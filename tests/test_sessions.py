"""Sessions that end (issue #13, finding 2): a copied session cookie stops working.

Each test copies a logged-in client's cookie onto another client (what someone who read it off
a shared tablet or a proxy log could do) and checks what that copy can still open. Run on SQLite
and PostgreSQL (``db_app``).
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from opskit import clock, db, models
from opskit.auth import create_token
from opskit.models import User
from tests.conftest import csrf_token, login, post_form

IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def _client(app: Flask, user_agent: str | None = None, address: str | None = None) -> FlaskClient:
    client = app.test_client()
    if user_agent:
        client.environ_base["HTTP_USER_AGENT"] = user_agent
    if address:
        client.environ_base["REMOTE_ADDR"] = address
    return client


def _copy(app: Flask, source: FlaskClient) -> FlaskClient:
    """Another client holding the same session cookie (and the same browser's User-Agent)."""
    cookie = source.get_cookie("session")
    assert cookie is not None
    copy = app.test_client()
    copy.environ_base.update(source.environ_base)
    copy.set_cookie("session", cookie.value)
    return copy


def _logged_in(client: FlaskClient) -> bool:
    response = client.get("/account")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def _user_id(app: Flask, username: str) -> int:
    with app.app_context():
        user_id = db.session().scalar(select(User.id).where(User.username == username))
    assert user_id is not None
    return user_id


def _open_sessions(app: Flask, username: str) -> int:
    with app.app_context():
        return db.session().scalar(
            select(func.count())
            .select_from(models.UserSession)
            .where(
                models.UserSession.user_id == _user_id(app, username),
                models.UserSession.revoked_at.is_(None),
            )
        )


def test_copied_cookie_stops_working_after_logout(db_app: Flask) -> None:
    engineer = _client(db_app)
    login(engineer, "engineer")
    copy = _copy(db_app, engineer)
    assert _logged_in(copy)
    assert post_form(engineer, "/logout").status_code == 302
    assert not _logged_in(engineer)
    assert not _logged_in(copy)
    assert copy.get("/").status_code == 302  # any page: to the login form
    token = csrf_token(copy)  # from the login page: the copy is logged out
    assert copy.post("/account/tokens", data={"csrf_token": token, "name": "x"}).status_code == 401
    assert _open_sessions(db_app, "engineer") == 0


def test_password_change_ends_the_other_sessions_and_keeps_this_one(db_app: Flask) -> None:
    changing = _client(db_app, IPAD)
    login(changing, "viewer")
    old_cookie = _copy(db_app, changing)  # the changing browser's cookie before the change
    other = _client(db_app, WINDOWS_CHROME)
    login(other, "viewer")
    response = post_form(
        changing,
        "/account",
        {"current": "viewer-password-1", "new": "a-new-password", "confirm": "a-new-password"},
    )
    assert response.status_code == 302
    assert _logged_in(changing)  # re-issued: the browser that changed it carries on
    assert not _logged_in(other)
    assert not _logged_in(old_cookie)
    assert _open_sessions(db_app, "viewer") == 1


def test_an_admins_password_reset_ends_every_session_of_that_user(db_app: Flask) -> None:
    engineer = _client(db_app)
    login(engineer, "engineer")
    admin = _client(db_app)
    login(admin, "admin")
    engineer_id = _user_id(db_app, "engineer")
    response = post_form(
        admin,
        f"/admin/users/{engineer_id}",
        {
            "username": "engineer",
            "display_name": "Engineer",
            "role": "engineer",
            "active": "y",
            "reset_password": "1",
        },
    )
    assert response.status_code == 200 and 'id="new-password"' in response.get_data(as_text=True)
    assert not _logged_in(engineer)
    assert _logged_in(admin)


def test_disabling_a_user_ends_their_sessions_for_good(db_app: Flask) -> None:
    engineer = _client(db_app)
    login(engineer, "engineer")
    copy = _copy(db_app, engineer)
    admin = _client(db_app)
    login(admin, "admin")
    engineer_id = _user_id(db_app, "engineer")
    form = {"username": "engineer", "display_name": "Engineer", "role": "engineer"}
    assert post_form(admin, f"/admin/users/{engineer_id}", form).status_code == 302  # disabled
    assert not _logged_in(engineer)
    # enabled again: the sessions stay ended, the engineer logs in anew
    assert (
        post_form(admin, f"/admin/users/{engineer_id}", {**form, "active": "y"}).status_code == 302
    )
    assert not _logged_in(engineer)
    assert not _logged_in(copy)
    assert _open_sessions(db_app, "engineer") == 0
    login(engineer, "engineer")
    assert _logged_in(engineer)


def test_sign_out_everywhere_else_keeps_only_this_device(db_app: Flask) -> None:
    here = _client(db_app, IPAD)
    login(here, "viewer")  # a viewer (read-only) manages their own sessions too
    there = _client(db_app, WINDOWS_CHROME)
    login(there, "viewer")
    copy = _copy(db_app, there)
    engineer = _client(db_app)
    login(engineer, "engineer")
    response = post_form(here, "/account/sessions/end-others")
    assert response.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(there) and not _logged_in(copy)
    assert _logged_in(engineer)  # other people's sessions are theirs
    assert _open_sessions(db_app, "viewer") == 1


def _session_rows(page: str) -> dict[str, str]:
    """The session list on a page: each row's text by the id of its row."""
    rows = re.findall(r'<li[^>]*data-session="(\d+)"[^>]*>(.*?)</li>', page, re.S)
    return {sid: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip() for sid, body in rows}


def test_session_list_shows_each_session_and_ends_one(db_app: Flask) -> None:
    ipad = _client(db_app, IPAD, "10.20.0.7")
    login(ipad, "viewer")
    laptop = _client(db_app, WINDOWS_CHROME, "10.20.0.99")
    login(laptop, "viewer")
    page = ipad.get("/account").get_data(as_text=True)
    rows = _session_rows(page)
    assert len(rows) == 2, rows
    (this_id,) = [sid for sid, text in rows.items() if "本设备" in text]
    (other_id,) = [sid for sid in rows if sid != this_id]
    assert "iPad 上的 Safari" in rows[this_id] and "10.20.0.7" in rows[this_id]
    assert "Windows 上的 Chrome" in rows[other_id] and "10.20.0.99" in rows[other_id]
    assert "登录时间" in rows[other_id] and "最近活动" in rows[other_id]
    assert f"/account/sessions/{other_id}/end" in page
    assert f"/account/sessions/{this_id}/end" not in page  # this device: the Log out button
    # in English too
    english = _client(db_app, IPAD)
    english.set_cookie("session", ipad.get_cookie("session").value)
    post_form(english, "/language", {"locale": "en", "next": "/account"})
    rows_en = _session_rows(english.get("/account").get_data(as_text=True))
    assert "Chrome on Windows" in rows_en[other_id] and "This device" in rows_en[this_id]

    assert post_form(ipad, f"/account/sessions/{other_id}/end").status_code == 302
    assert not _logged_in(laptop)
    assert _logged_in(ipad)
    assert set(_session_rows(ipad.get("/account").get_data(as_text=True))) == {this_id}
    with db_app.app_context():
        ended = db.session().get(models.UserSession, int(other_id))
        assert ended is not None and ended.revoked_at is not None


def test_nobody_ends_someone_elses_session(db_app: Flask) -> None:
    engineer = _client(db_app)
    login(engineer, "engineer")
    with db_app.app_context():
        engineer_session = db.session().scalar(select(models.UserSession.id))
    assert engineer_session is not None
    for name in ("viewer", "supervisor"):
        other = _client(db_app)
        login(other, name)
        response = post_form(other, f"/account/sessions/{engineer_session}/end")
        assert response.status_code == 404
        assert "engineer" not in other.get("/account").get_data(as_text=True).lower()
    assert _logged_in(engineer)
    assert _open_sessions(db_app, "engineer") == 1


def test_user_page_signs_a_user_out_everywhere_for_admins_only(db_app: Flask) -> None:
    engineer = _client(db_app, IPAD)
    login(engineer, "engineer")
    engineer_id = _user_id(db_app, "engineer")
    supervisor = _client(db_app)
    login(supervisor, "supervisor")
    path = f"/admin/users/{engineer_id}/sessions/end"
    assert post_form(supervisor, path).status_code == 403
    assert _logged_in(engineer)
    admin = _client(db_app)
    login(admin, "admin")
    page = admin.get(f"/admin/users/{engineer_id}").get_data(as_text=True)
    assert path in page and "iPad 上的 Safari" in page
    response = post_form(admin, path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/users/{engineer_id}")
    assert not _logged_in(engineer)
    assert _logged_in(admin)
    assert _open_sessions(db_app, "engineer") == 0


def test_an_admin_ends_one_session_of_another_user(db_app: Flask) -> None:
    engineer = _client(db_app)
    login(engineer, "engineer")
    with db_app.app_context():
        engineer_session = db.session().scalar(select(models.UserSession.id))
    admin = _client(db_app)
    login(admin, "admin")
    engineer_id = _user_id(db_app, "engineer")
    path = f"/admin/users/{engineer_id}/sessions/{engineer_session}/end"
    assert path in admin.get(f"/admin/users/{engineer_id}").get_data(as_text=True)
    # a session id under another user's page is not found
    viewer_id = _user_id(db_app, "viewer")
    wrong = f"/admin/users/{viewer_id}/sessions/{engineer_session}/end"
    assert post_form(admin, wrong).status_code == 404
    assert _logged_in(engineer)
    assert post_form(admin, path).status_code == 302
    assert not _logged_in(engineer)


def test_admin_signing_themself_out_everywhere_ends_this_session_too(db_app: Flask) -> None:
    admin = _client(db_app)
    login(admin, "admin")
    response = post_form(admin, f"/admin/users/{_user_id(db_app, 'admin')}/sessions/end")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not _logged_in(admin)


def test_expired_sessions_are_refused_by_the_server_and_pruned_at_login(db_app: Flask) -> None:
    """The signed cookie's own age check reads the real clock; the server's reads opskit's."""
    start = clock.now()
    hours = db_app.permanent_session_lifetime
    with clock.frozen(start):
        engineer = _client(db_app)
        login(engineer, "engineer")
    with clock.frozen(start + hours - timedelta(minutes=1)):
        assert _logged_in(engineer)
    with clock.frozen(start + hours + timedelta(minutes=1)):
        assert not _logged_in(engineer)
        login(_client(db_app), "viewer")  # a login prunes sessions past the lifetime
        with db_app.app_context():
            users = db.session().scalars(select(models.UserSession.user_id)).all()
        assert users == [_user_id(db_app, "viewer")]


def test_last_seen_is_written_at_most_once_a_minute(db_app: Flask) -> None:
    start = clock.now()
    laptop = _client(db_app, address="10.0.0.1")
    with clock.frozen(start):
        login(laptop, "engineer")

    def seen() -> tuple:
        with db_app.app_context():
            row = db.session().scalar(select(models.UserSession))
            return row.last_seen_at, row.ip

    laptop.environ_base["REMOTE_ADDR"] = "10.0.0.2"
    with clock.frozen(start + timedelta(seconds=40)):
        assert _logged_in(laptop)
    assert seen() == (start, "10.0.0.1")
    with clock.frozen(start + timedelta(seconds=70)):
        assert _logged_in(laptop)
    assert seen() == (start + timedelta(seconds=70), "10.0.0.2")


def test_api_tokens_outlive_the_sessions(db_app: Flask) -> None:
    with db_app.app_context():
        user = db.session().scalar(select(User).where(User.username == "engineer"))
        token = create_token(user, "tablet")
        db.session().commit()
    headers = {"Authorization": f"Bearer {token}"}
    engineer = _client(db_app)
    login(engineer, "engineer")
    post_form(engineer, "/account/sessions/end-others")
    post_form(engineer, "/logout")
    assert engineer.get("/api/v1/me", headers=headers).status_code == 200


def test_logging_out_of_a_session_ended_elsewhere_leads_to_the_login_page(db_app: Flask) -> None:
    tablet = _client(db_app, IPAD)
    login(tablet, "engineer")
    token = csrf_token(tablet, "/account")  # the page on the tablet, before it was signed out
    admin = _client(db_app)
    login(admin, "admin")
    post_form(admin, f"/admin/users/{_user_id(db_app, 'engineer')}/sessions/end")
    response = tablet.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert not _logged_in(tablet)
