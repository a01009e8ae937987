"""Core tables: the people who use opskit, their API tokens, sessions, login attempts and the
audit log."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opskit.db import Base, utcnow


class Role(enum.StrEnum):
    """What a person may do. Viewers are the customer's read-only staff."""

    ADMIN = "admin"
    ENGINEER = "engineer"
    SUPERVISOR = "supervisor"
    VIEWER = "viewer"


#: Roles allowed to change operational data (assets, rounds, alerts ...).
WRITER_ROLES = frozenset({Role.ADMIN, Role.ENGINEER, Role.SUPERVISOR})


class Audited:
    """Mixin: every insert, update and delete of the model is written to the audit log.

    Columns declared with ``info={"secret": True}`` are recorded as changed but never with
    their value; columns with ``info={"audit": False}`` (bookkeeping such as the last login
    time, which has its own log) are left out.
    """

    __audited__ = True


class User(Audited, Base):
    """A person who logs in: resident engineer, supervisor, admin or customer viewer."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN ('admin', 'engineer', 'supervisor', 'viewer')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16), default=Role.ENGINEER.value)
    password_hash: Mapped[str] = mapped_column(String(255), info={"secret": True})
    locale: Mapped[str | None] = mapped_column(String(8))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(info={"audit": False})

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def can_write(self) -> bool:
        return self.role in WRITER_ROLES

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Audited, Base):
    """A Bearer token for ``/api/v1``; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, info={"secret": True})
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class UserSession(Base):
    """One login in one browser. The session cookie holds a random id; this row holds its SHA-256.

    Every request checks its row (``opskit.auth``'s user loader): a session that was ended
    (``revoked_at``: logout, password change, user disabled, "sign out everywhere") or is older
    than ``OPSKIT_SESSION_HOURS`` logs nobody in, whatever the signed cookie says. The
    User-Agent at login is kept to name the device in the session list; ``last_seen_at`` and
    ``ip`` (the latest address) are written at most once a minute. Bookkeeping, not audited;
    rows older than the session lifetime are deleted at the next login.
    """

    __tablename__ = "user_session"
    __table_args__ = (
        Index("ix_user_session_user_id", "user_id"),
        Index("ix_user_session_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """One try at the login form; failures within a window lock the name and the address."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_at", "username", "at"),
        Index("ix_login_attempt_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    success: Mapped[bool]


class AuditLog(Base):
    """Who changed what and when: one row per inserted, updated or deleted audited object."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(8))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    changes: Mapped[dict[str, Any]]


class SiteSetting(Audited, Base):
    """A named document an admin edits in the UI (e.g. the SLA policy YAML), audited."""

    __tablename__ = "site_setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, info={"audit": False}
    )

    @property
    def audit_label(self) -> str:
        return self.key
