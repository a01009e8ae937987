"""The audit log keeps who changed what, with before/after values (SQLite and PostgreSQL)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from opskit import db
from opskit.audit import SECRET, acting_as
from opskit.models import AuditLog, User
from opskit.users import create_user, set_active
from tests.conftest import login, post_form


def _entries(app: Flask, object_type: str = "user_account") -> list[AuditLog]:
    with app.app_context():
        return list(
            db.session().scalars(
                select(AuditLog).where(AuditLog.object_type == object_type).order_by(AuditLog.id)
            )
        )


def test_role_change_in_the_web_ui_is_audited(db_app: Flask, db_client) -> None:
    with db_app.app_context():
        engineer_id = db.session().scalar(select(User.id).where(User.username == "engineer"))
    login(db_client, "admin")
    response = post_form(
        db_client,
        f"/admin/users/{engineer_id}",
        {"display_name": "王工", "role": "supervisor", "active": "y"},
    )
    assert response.status_code == 302
    (entry,) = _entries(db_app)
    assert entry.action == "update"
    assert entry.actor == "admin"
    assert entry.object_id == str(engineer_id)
    assert entry.changes == {
        "display_name": ["Engineer", "王工"],
        "role": ["engineer", "supervisor"],
    }
    assert entry.at.tzinfo is not None


def test_create_and_password_change_hide_secrets(db_app: Flask) -> None:
    with db_app.app_context(), acting_as("cli:root"):
        user, _password = create_user("li.si", "viewer", display_name="李四")
        from opskit.users import set_password

        set_password(user, "another-password")
        set_active(user, False)
    created, password_changed, disabled = _entries(db_app)
    assert created.action == "create" and created.actor == "cli:root"
    assert created.object_id == str(user.id)
    assert created.changes["username"] == [None, "li.si"]
    assert created.changes["role"] == [None, "viewer"]
    assert created.changes["password_hash"] == [None, SECRET]
    assert password_changed.changes == {"password_hash": [SECRET, SECRET]}
    assert disabled.changes == {"active": [True, False]}
    assert all("scrypt" not in str(e.changes) for e in (created, password_changed))


def test_delete_is_audited_with_before_values(db_app: Flask) -> None:
    with db_app.app_context():
        sess = db.session()
        viewer = sess.scalar(select(User).where(User.username == "viewer"))
        sess.delete(viewer)
        sess.commit()
    (entry,) = _entries(db_app)
    assert entry.action == "delete" and entry.actor == "system"
    assert entry.changes["username"] == ["viewer", None]
    assert entry.changes["role"] == ["viewer", None]


def test_rolled_back_change_leaves_no_audit_row(db_app: Flask) -> None:
    with db_app.app_context():
        sess = db.session()
        viewer = sess.scalar(select(User).where(User.username == "viewer"))
        viewer.role = "admin"
        sess.flush()
        sess.rollback()
    assert _entries(db_app) == []
