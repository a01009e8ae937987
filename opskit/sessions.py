"""Server-side login sessions (``UserSession``): the signed cookie carries a random session id,
the database its SHA-256, and the user loader (``opskit.auth``) checks that row on every
request, so a session really ends at logout, a password change, when the user is disabled or
signed out everywhere, and ``OPSKIT_SESSION_HOURS`` after the login.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import (
    current_app,
    g,
    request,
    session,
)
from flask_login import current_user
from sqlalchemy import select

from opskit import db
from opskit.models import User, UserSession


def client_ip() -> str:
    return request.remote_addr or "-"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


#: the key of the session id in Flask's (signed, not encrypted) session cookie
SESSION_ID_KEY = "sid"
#: ``last_seen_at`` and the address of a session are written at most this often
LAST_SEEN_EVERY = timedelta(minutes=1)
_LOGIN_KEYS = ("_user_id", "_fresh", "_id", SESSION_ID_KEY)


def _user_agent() -> str:
    return (request.headers.get("User-Agent") or "")[:255]


def session_lifetime() -> timedelta:
    """How long a login lasts: ``OPSKIT_SESSION_HOURS`` from the login, not from the last use."""
    return current_app.permanent_session_lifetime


def open_session_filter(now: datetime | None = None) -> Any:
    """The condition a session row meets while it logs its user in: not ended, not expired."""
    now = now or db.utcnow()
    return (UserSession.revoked_at.is_(None)) & (UserSession.created_at > now - session_lifetime())


def start_session(user: User) -> UserSession:
    """Record a new session of ``user`` for this browser and put its id in the cookie.

    Called at login, and when a password change re-issues the changing browser's session. Rows
    past the session lifetime (ended or not) are deleted on the way.
    """
    sess = db.session()
    now = db.utcnow()
    sess.execute(
        UserSession.__table__.delete().where(UserSession.created_at <= now - session_lifetime())
    )
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=hash_token(token),
        created_at=now,
        last_seen_at=now,
        user_agent=_user_agent(),
        ip=client_ip()[:64],
    )
    sess.add(row)
    sess.commit()
    session[SESSION_ID_KEY] = token
    g.opskit_session_id = row.id
    return row


def current_session_id() -> int | None:
    """The id of this request's session row (None for API calls and anonymous requests)."""
    if current_user.is_authenticated:  # loads the user, which finds the session
        return g.get("opskit_session_id")
    return None


def end_sessions(user_id: int, *, session_id: int | None = None, keep: int | None = None) -> int:
    """End the sessions of ``user_id`` still open (only ``session_id`` if given; all but
    ``keep`` if given); the caller commits. Returns how many were ended."""
    stmt = (
        UserSession.__table__.update()
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=db.utcnow())
    )
    if session_id is not None:
        stmt = stmt.where(UserSession.id == session_id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep)
    return db.rowcount(db.session().execute(stmt))


def forget_login() -> None:
    """Drop the login from this browser's cookie (the language stays)."""
    for key in _LOGIN_KEYS:
        session.pop(key, None)
    g.pop("opskit_session_id", None)


def session_row(user_id: int) -> UserSession | None:
    """This request's session row if it still logs ``user_id`` in, else None."""
    token = session.get(SESSION_ID_KEY)
    if not isinstance(token, str) or not token:
        return None
    sess = db.session()
    now = db.utcnow()
    row = sess.scalar(
        select(UserSession).where(
            UserSession.token_hash == hash_token(token),
            UserSession.user_id == user_id,
            open_session_filter(now),
        )
    )
    # Not bound to the User-Agent: whoever copies a cookie copies that header as easily, and a
    # page's service worker may not send the page's (measured: Chromium emulating an iPad
    # fetches /sw.js with its own), which would sign a tablet out in the middle of a round.
    if row is None:
        return None
    ip = client_ip()[:64]
    if now - row.last_seen_at >= LAST_SEEN_EVERY:
        # Bookkeeping only: written without an audit entry so reads stay reads.
        sess.execute(
            UserSession.__table__.update()
            .where(UserSession.id == row.id)
            .values(last_seen_at=now, ip=ip)
        )
        sess.commit()
    return row
