"""The `opskit` command: users, tokens, setup, TLS, backup — through the real CLI entry point."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from opskit import db
from opskit.cli import cli
from opskit.models import AuditLog, User
from tests.conftest import csrf_token, head_revision


@pytest.fixture
def run(app):
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app), input=input)

    return invoke


def test_user_create_generates_a_password_that_logs_in(app, run) -> None:
    result = run("user", "create", "Zhao.Liu", "--role", "supervisor", "--name", "赵六")
    assert result.exit_code == 0, result.output
    assert "created zhao.liu (supervisor)" in result.output
    password = result.output.split("password: ")[1].strip()
    client = app.test_client()
    response = client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "username": "zhao.liu", "password": password},
    )
    assert response.status_code == 302
    with app.app_context():
        entry = db.session().scalar(select(AuditLog).where(AuditLog.action == "create"))
        assert entry.actor.startswith("cli")


def test_user_create_refuses_bad_input(run) -> None:
    dup = run("user", "create", "engineer")
    assert dup.exit_code == 1 and "user 'engineer' already exists" in dup.output
    bad = run("user", "create", "has space")
    assert bad.exit_code == 1 and "user name 'has space'" in bad.output
    weak = run("user", "create", "newbie", "--password-stdin", input="short\n")
    assert weak.exit_code == 1 and "密码至少需要 10 个字符" in weak.output  # site default zh_CN


def test_passwd_and_disable(app, run) -> None:
    result = run("user", "passwd", "viewer", "--password-stdin", input="brand-new-secret\n")
    assert result.exit_code == 0, result.output
    assert "password:" not in result.output  # given on stdin: not echoed
    assert run("user", "disable", "viewer").exit_code == 0
    with app.app_context():
        user = db.session().scalar(select(User).where(User.username == "viewer"))
        assert user.active is False
    missing = run("user", "disable", "nobody")
    assert missing.exit_code == 1 and "no user named 'nobody'" in missing.output


def test_last_admin_cannot_be_disabled(run) -> None:
    result = run("user", "disable", "admin")
    assert result.exit_code == 1
    assert "last active admin" in result.output


def test_token_create_prints_a_working_token(app, run) -> None:
    result = run("token", "create", "engineer", "--name", "cmdb sync")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["username"] == "engineer"


def test_setup_creates_first_admin_only_once(tmp_path: Path, sqlite_template: Path) -> None:
    from opskit import create_app
    from opskit.config import Settings

    settings = Settings(instance_path=tmp_path / "inst", secret_key="k")
    app = create_app({"TESTING": True}, settings=settings)
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)
    first = runner.invoke(cli, ["setup"], obj=info)
    assert first.exit_code == 0, first.output
    assert "user:     admin" in first.output
    second = runner.invoke(cli, ["setup"], obj=info)
    assert second.exit_code == 0 and "password" not in second.output
    with app.app_context():
        assert [u.role for u in db.session().scalars(select(User))] == ["admin"]
    app.extensions["opskit.engine"].dispose()


def test_tls_init_prints_fingerprint(app, run) -> None:
    result = run("tls", "init", "opskit.lan", "192.168.10.5")
    assert result.exit_code == 0, result.output
    assert "CA fingerprint:     SHA-256 " in result.output
    assert "opskit.lan" in result.output and "192.168.10.5" in result.output
    with app.test_client().get("/tls/ca.crt") as ca:
        assert ca.status_code == 200 and b"BEGIN CERTIFICATE" in ca.data
    bad = run("tls", "init", "bad host")
    assert bad.exit_code == 1 and "error:" in bad.output


def test_backup_and_restore_commands(app, run, tmp_path: Path) -> None:
    target = tmp_path / "backup.db"
    result = run("backup", str(target))
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    copy = tmp_path / "copy.db"
    shutil.copyfile(target, copy)
    assert run("user", "create", "temp.user").exit_code == 0
    restored = run("restore", str(copy), "--yes")
    assert restored.exit_code == 0, restored.output
    with app.app_context():
        db.session().close()
        names = set(db.session().scalars(select(User.username)))
    assert "temp.user" not in names and "engineer" in names


def test_db_current_shows_head(run) -> None:
    result = run("db", "current")
    assert result.exit_code == 0
    assert f"current: {head_revision()}" in result.output
