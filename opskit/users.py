"""Accounts: the service functions behind ``opskit user ...`` and the account pages
(``opskit.user_views``): create, change password, disable, the first admin, sessions as people
see them, the first admin's password file.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

from flask import (
    current_app,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from opskit import db
from opskit.auth import check_password_strength, generate_password, hash_password
from opskit.models import Role, User, UserSession
from opskit.sessions import current_session_id, end_sessions, open_session_filter

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.ENGINEER: _l("Engineer"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.VIEWER: _l("Viewer (read-only)"),
}


class UserError(ValueError):
    """A user operation was refused; the message says why."""


# --- services ------------------------------------------------------------------------------


def normalize_username(username: str) -> str:
    name = username.strip().lower()
    if not USERNAME_RE.match(name):
        raise UserError(
            f"user name {username!r}: use 2-64 lower-case letters, digits, '.', '_' or '-'"
        )
    return name


def get_user(username: str) -> User:
    user = db.session().scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise UserError(f"no user named {username!r}")
    return user


def create_user(
    username: str,
    role: str = Role.ENGINEER.value,
    password: str | None = None,
    display_name: str = "",
    locale: str | None = None,
) -> tuple[User, str]:
    """Create a user; returns the user and the password (generated when not given)."""
    name = normalize_username(username)
    try:
        role = Role(role).value
    except ValueError:
        raise UserError(
            f"role {role!r}: expected one of {', '.join(r.value for r in Role)}"
        ) from None
    sess = db.session()
    if sess.scalar(select(User.id).where(User.username == name)) is not None:
        raise UserError(f"user {name!r} already exists")
    if password is None:
        password = generate_password()
    elif problem := check_password_strength(password):
        raise UserError(problem)
    user = User(
        username=name,
        role=role,
        display_name=display_name.strip() or name,
        password_hash=hash_password(password),
        locale=locale,
    )
    sess.add(user)
    sess.commit()
    return user, password


def set_password(user: User, password: str | None = None) -> str:
    """Give ``user`` a new password (generated when not given); every change of a password goes
    through here (My account, an admin's reset, ``opskit user passwd``). Every session of the
    user ends with the old password (My account then re-issues the changing browser's). The
    first change of the first admin's password deletes ``<instance>/initial_admin_password``."""
    if password is None:
        password = generate_password()
    elif problem := check_password_strength(password):
        raise UserError(problem)
    user.password_hash = hash_password(password)
    end_sessions(user.id)
    db.session().commit()
    if initial_password_user() == user.username:
        forget_initial_password()
    return password


def set_active(user: User, active: bool) -> None:
    """Allow or stop the user's logins; disabling also ends every session they have, so enabling
    them again does not bring an old cookie back."""
    if not active and user.role == Role.ADMIN and other_active_admins(user) == 0:
        raise UserError(f"{user.username} is the last active admin and cannot be disabled")
    user.active = active
    if not active:
        end_sessions(user.id)
    db.session().commit()


def other_active_admins(user: User) -> int:
    rows = db.session().scalars(
        select(User.id).where(User.role == Role.ADMIN.value, User.active, User.id != user.id)
    )
    return len(rows.all())


def ensure_first_admin(username: str = "admin") -> str | None:
    """Create the first admin when the database has no user; return its password, else None.

    The password is also written to ``<instance>/initial_admin_password`` (mode 0600), so it is
    not lost when the command that printed it fails or its terminal is closed; the file goes
    away when that admin's password is changed (``set_password``).
    """
    if db.session().scalar(select(User.id).limit(1)) is not None:
        return None
    # named by the role in the site's language (管理员), greeted by it until renamed
    shown = str(ROLE_LABELS[Role.ADMIN])
    user, password = create_user(username, Role.ADMIN.value, display_name=shown)
    write_initial_password(user.username, password)
    return password


# --- sessions as people see them ------------------------------------------------------------

#: (marker in the User-Agent, name), the first match wins: the order matters (Edge and Opera
#: also say Chrome, Chrome also says Safari)
BROWSERS: tuple[tuple[str, Any], ...] = (
    ("MicroMessenger", _l("WeChat")),
    ("EdgiOS", "Edge"),
    ("EdgA/", "Edge"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser", "Samsung Internet"),
    ("FxiOS", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS: tuple[tuple[str, str], ...] = (
    ("iPad", "iPad"),
    ("iPhone", "iPhone"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("CrOS", "ChromeOS"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_user_agent(user_agent: str) -> str:
    """A browser's User-Agent in words: "Safari on iPad", "Chrome on Windows"."""
    browser = next((str(name) for mark, name in BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in SYSTEMS if mark in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    if browser:
        return browser
    if system:
        return _("A browser on %(system)s", system=system)
    return _("Unknown browser")


def session_entries(user_id: int, own: bool) -> list[dict[str, Any]]:
    """The open sessions of ``user_id`` for a page, most recently used first: what the device
    is, the address, when it started and was last used, whether it is this browser and where
    to post to end it (none for this browser on one's own account: that is *Log out*)."""
    current = current_session_id()
    rows = db.session().scalars(
        select(UserSession)
        .where(UserSession.user_id == user_id, open_session_filter())
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    entries = []
    for row in rows:
        if own:
            end_url = None if row.id == current else url_for("users.session_end", session_id=row.id)
        else:
            end_url = url_for("users.user_session_end", user_id=user_id, session_id=row.id)
        entries.append(
            {
                "id": row.id,
                "device": describe_user_agent(row.user_agent),
                "user_agent": row.user_agent,
                "ip": row.ip,
                "created_at": row.created_at,
                "last_seen_at": row.last_seen_at,
                "current": row.id == current,
                "end_url": end_url,
            }
        )
    return entries


# --- the first admin's password, kept until it is changed ------------------------------------

INITIAL_PASSWORD_FILE = "initial_admin_password"  # noqa: S105 - a file name


def initial_password_path() -> Path:
    """``<instance>/initial_admin_password``: the first admin's generated password."""
    return Path(current_app.instance_path) / INITIAL_PASSWORD_FILE


def write_initial_password(username: str, password: str) -> Path:
    """Write the file (``user: NAME`` and ``password: PASSWORD`` lines) with mode 0600 whatever
    the umask, replacing any earlier one; return its path."""
    path = initial_password_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # os.open's mode is narrowed by the umask, never widened
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(f"user: {username}\npassword: {password}\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return path


def initial_password_user() -> str | None:
    """The user name in the initial password file, or None when there is no such file."""
    try:
        text = initial_password_path().read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return None
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        if key.strip() == "user":
            return value.strip()
    return None


def forget_initial_password() -> None:
    initial_password_path().unlink(missing_ok=True)
