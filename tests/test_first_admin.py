"""The first admin's generated password: kept in <instance>/initial_admin_password (mode 0600)
until that admin's password is changed, so a failed first start does not lose it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash

from opskit import db, users
from opskit.cli import cli
from opskit.models import User
from tests.conftest import login, persona_password, post_form


@pytest.fixture
def umask_0() -> Iterator[None]:
    """The most open umask: the file must still be 0600."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_admin_password_is_kept_in_a_0600_file(app: Flask, umask_0) -> None:
    with app.app_context():
        sess = db.session()
        sess.execute(delete(User))
        sess.commit()
        path = Path(app.instance_path) / "initial_admin_password"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("user: old\npassword: from-an-older-database\n")
        path.chmod(0o644)  # an earlier file with wide permissions is replaced, not reused

        password = users.ensure_first_admin()

        assert password
        assert users.initial_password_path() == path
        assert _mode(path) == 0o600
        assert path.read_text() == f"user: admin\npassword: {password}\n"
        admin = sess.scalar(select(User).where(User.username == "admin"))
        assert admin is not None and check_password_hash(admin.password_hash, password)
        assert admin.display_name == "管理员"  # the site's language: 您好，管理员 on the home page
        assert users.initial_password_user() == "admin"
        # there is a user now: no second first admin, the file stays as it is
        assert users.ensure_first_admin() is None
        assert path.read_text() == f"user: admin\npassword: {password}\n"
    assert not list(path.parent.glob(".initial_admin_password*"))  # no temporary file left


def _keep_admin_password(app: Flask) -> Path:
    """The file as `opskit setup` leaves it for the persona admin."""
    with app.app_context():
        return users.write_initial_password("admin", persona_password("admin"))


def test_my_account_password_change_of_that_admin_deletes_the_file(
    app: Flask, client: FlaskClient
) -> None:
    path = _keep_admin_password(app)

    # another user's change leaves it
    login(client, "engineer")
    ok = post_form(
        client,
        "/account",
        {"current": "engineer-password-1", "new": "engineer-new-pw", "confirm": "engineer-new-pw"},
    )
    assert ok.status_code == 302
    assert path.exists()
    post_form(client, "/logout")

    # the admin's refused change leaves it
    login(client, "admin")
    bad = post_form(
        client, "/account", {"current": "wrong-password", "new": "admin-new-pw", "confirm": "x"}
    )
    assert bad.status_code == 400
    assert path.exists()

    # the admin's change deletes it
    ok = post_form(
        client,
        "/account",
        {
            "current": persona_password("admin"),
            "new": "admin-new-pw-1",
            "confirm": "admin-new-pw-1",
        },
    )
    assert ok.status_code == 302
    assert not path.exists()
    with app.app_context():
        assert users.initial_password_user() is None


def test_opskit_user_passwd_of_that_admin_deletes_the_file(app: Flask) -> None:
    path = _keep_admin_password(app)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app), input=input)

    result = run("user", "passwd", "viewer")
    assert result.exit_code == 0, result.output
    assert path.exists()
    result = run("user", "passwd", "admin", "--password-stdin", input="admin-new-pw-2\n")
    assert result.exit_code == 0, result.output
    assert not path.exists()


def test_an_admin_reset_of_that_admin_deletes_the_file(app: Flask, client: FlaskClient) -> None:
    """An admin's "new password" for the first admin (on the users page) makes the file stale."""
    path = _keep_admin_password(app)
    with app.app_context():
        sess = db.session()
        sess.add(
            User(
                username="second",
                display_name="Second",
                role="admin",
                password_hash=users.hash_password("second-admin-pw"),
            )
        )
        sess.commit()
        first = sess.scalar(select(User.id).where(User.username == "admin"))
    login(client, "second", "second-admin-pw")
    response = post_form(
        client,
        f"/admin/users/{first}",
        {"username": "admin", "display_name": "Admin", "role": "admin", "active": "y"},
    )
    assert response.status_code == 302  # saved without a new password: the file stays
    assert path.exists()
    response = post_form(
        client,
        f"/admin/users/{first}",
        {
            "username": "admin",
            "display_name": "Admin",
            "role": "admin",
            "active": "y",
            "reset_password": "1",
        },
    )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert not path.exists()
