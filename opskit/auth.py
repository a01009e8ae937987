"""Accounts and access: login with throttling, roles on every write, API tokens.

Access is enforced in one place, a ``before_request`` hook, so a new route is protected the
moment it is registered:

- every endpoint needs a logged-in user unless its view is marked ``@public``;
- ``/api/`` endpoints accept only ``Authorization: Bearer <token>`` (no cookies, hence no CSRF
  exposure) and answer 401 in JSON;
- every request that is not GET/HEAD/OPTIONS needs a writer role (admin, engineer, supervisor)
  unless the view is marked ``@self_service`` (logout, one's own language, password or
  sessions) or ``@viewers_too`` (a write the customer's staff make too, whose service checks
  the role: logging a service request, confirming or reopening their own);
- views that need a particular role say so with ``@require_roles``;
- a view marked ``@scraped`` (Prometheus's ``/metrics``) is read by machines: a Bearer token of
  any role, as on ``/api/``, or no token from an address on ``OPSKIT_METRICS_ALLOW``; else 401
  in JSON (no or a bad token), or 403 when an allow-list is set and the address is not on it.

Sessions are server-side records (``UserSession``): the signed cookie carries a random session
id, the database its SHA-256, and the user loader checks that row on every request. So a
session really ends — at logout, a password change, when the user is disabled or signed out
everywhere, and ``OPSKIT_SESSION_HOURS`` after the login — and with it every copy of its
cookie, which a signed cookie alone cannot do.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache, wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from opskit import db
from opskit.models import WRITER_ROLES, ApiToken, LoginAttempt, Role, User
from opskit.sessions import (
    client_ip,
    current_session_id,
    end_sessions,
    forget_login,
    hash_token,
    session_row,
    start_session,
)

F = TypeVar("F", bound=Callable[..., Any])

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_PREFIX = "opk_"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD_LENGTH = 10

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
csrf = CSRFProtect()


# --- markers read by the access hook -------------------------------------------------------


def public(view: F) -> F:
    """No login needed (login page, health check)."""
    view.opskit_public = True  # type: ignore[attr-defined]
    return view


def self_service(view: F) -> F:
    """A write any logged-in user may do to their own session or profile (viewers too)."""
    view.opskit_self_service = True  # type: ignore[attr-defined]
    return view


def viewers_too(view: F) -> F:
    """A write viewers may make too; the service it calls decides what a viewer may do (a
    viewer logs a service request, and confirms or reopens only their own)."""
    view.opskit_viewers_too = True  # type: ignore[attr-defined]
    return view


def scraped(view: F) -> F:
    """Read by machines (Prometheus): a Bearer token, or an address on the allow-list."""
    view.opskit_scraped = True  # type: ignore[attr-defined]
    return view


def require_roles(*roles: Role | str) -> Callable[[F], F]:
    """Only these roles may call the view (any method)."""
    allowed = frozenset(Role(r) for r in roles)

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        wrapper.opskit_roles = allowed  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def _view_flag(name: str) -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(view is not None and getattr(view, name, False))


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def _allowed_scraper() -> bool | None:
    """Whether the address is on ``OPSKIT_METRICS_ALLOW`` (``None``: no allow-list is set)."""
    networks = current_app.config.get("METRICS_ALLOW") or ()
    if not networks:
        return None
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def _scraper_refused() -> Any:
    """A ``@scraped`` view's answer to a request without a valid token (None: let it in)."""
    if not request.headers.get("Authorization"):
        allowed = _allowed_scraper()
        if allowed:
            return None
        if allowed is False:
            return jsonify(error="forbidden", message="address not allowed, no token"), 403
    answer = jsonify(error="unauthorized", message="Bearer token required")
    return answer, 401, {"WWW-Authenticate": "Bearer"}


def _enforce_access() -> Any:
    if request.endpoint is None:  # 404/405 are answered by Flask itself
        return None
    machine = _view_flag("opskit_scraped")
    api = is_api_request() or machine
    if request.method not in SAFE_METHODS and not api:
        csrf.protect()  # raises CSRFError (400) before anything else happens
    if request.endpoint == "static" or _view_flag("opskit_public"):
        return None
    if api:
        user = _user_from_bearer()
        if user is None and machine:
            return _scraper_refused()
        if user is None:
            return jsonify(error="unauthorized", message="Bearer token required"), 401
        g._login_user = user  # for this request only: API calls never get a session cookie
    elif not current_user.is_authenticated:
        if request.method in SAFE_METHODS:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(401)
    writes = request.method not in SAFE_METHODS and not (
        _view_flag("opskit_self_service") or _view_flag("opskit_viewers_too")
    )
    if writes and current_user.role not in WRITER_ROLES:
        if api:
            return jsonify(error="forbidden", message="read-only role"), 403
        abort(403)
    return None


# --- passwords and throttling --------------------------------------------------------------


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def check_password_strength(password: str) -> str | None:
    """Return why the password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Password must be at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
    return None


def generate_password() -> str:
    return secrets.token_urlsafe(12)


#: failures for one name, from all addresses together, before each further try waits
NAME_FAILURES_FACTOR = 3
#: the longest wait a name's backoff imposes (seconds): nobody is locked out for good
NAME_BACKOFF_CAP_S = 300


def login_locked(username: str, ip: str, now: datetime) -> bool:
    """True if this login must be refused unchecked (too many failures within the window).

    Three counters, all within ``OPSKIT_LOGIN_LOCKOUT_MINUTES`` and, for a name, since its last
    success (attempts refused here are not recorded, so they do not extend a lock):

    - the name from this address: locked after ``OPSKIT_LOGIN_MAX_FAILURES`` failures;
    - this address, whatever the names: locked after four times as many (it may serve several
      engineers);
    - the name from every address together: after three times as many failures (more than
      one address can produce alone), each further try waits 2, 4, 8 ... seconds after the
      last failure, at most ``NAME_BACKOFF_CAP_S``.

    So a wrong password typed again and again from one address locks that address only: the
    admin still logs in from another one.
    """
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    since = now - timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
    sess = db.session()
    last_ok = sess.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    name_since = max(since, last_ok) if last_ok else since
    failed = LoginAttempt.success.is_(False)
    pair = sess.scalar(
        select(func.count()).where(
            LoginAttempt.username == username,
            LoginAttempt.ip == ip,
            failed,
            LoginAttempt.at > name_since,
        )
    )
    address = sess.scalar(
        select(func.count()).where(LoginAttempt.ip == ip, failed, LoginAttempt.at > since)
    )
    if (pair or 0) >= limit or (address or 0) >= 4 * limit:
        return True
    name_count, last_failure = sess.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, failed, LoginAttempt.at > name_since
        )
    ).one()
    over = (name_count or 0) - NAME_FAILURES_FACTOR * limit
    if over < 0 or last_failure is None:
        return False
    wait = min(2 ** min(over + 1, 16), NAME_BACKOFF_CAP_S)
    return now < last_failure + timedelta(seconds=wait)


@cache
def _dummy_hash() -> str:
    """A hash of a random password, made like real ones (same method, same cost)."""
    return hash_password(secrets.token_urlsafe(16))


class LoginRefused(Exception):
    """A login was refused; ``status`` is 401 (wrong credentials) or 429 (locked out)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def authenticate(username: str, password: str, ip: str) -> User:
    """Check a login and record the attempt; raises ``LoginRefused`` with the reason."""
    sess = db.session()
    now = db.utcnow()
    username = username.strip().lower()
    if login_locked(username, ip, now):
        minutes = current_app.config["LOGIN_LOCKOUT_MINUTES"]
        raise LoginRefused(_("Too many failed logins. Try again in %(n)d minutes.", n=minutes), 429)
    user = sess.scalar(select(User).where(User.username == username))
    # an unknown name costs the same hash check as a known one: the answer's time tells nothing
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = check_password_hash(stored, password) and user is not None and user.active
    sess.add(LoginAttempt(username=username, ip=ip, at=now, success=ok))
    if not ok or user is None:
        sess.commit()
        raise LoginRefused(_("Wrong user name or password."), 401)
    user.last_login_at = now
    sess.commit()
    return user


# --- API tokens ----------------------------------------------------------------------------


def create_token(user: User, name: str, expires_at: datetime | None = None) -> str:
    """Create a token for ``user`` and return it; it is shown once and stored only hashed."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session().add(
        ApiToken(
            user=user,
            name=name,
            token_hash=hash_token(token),
            prefix=token[: len(TOKEN_PREFIX) + 6],
            expires_at=expires_at,
        )
    )
    return token


def _user_from_bearer() -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    sess = db.session()
    row = sess.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip())))
    now = db.utcnow()
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if not row.user.active:
        return None
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        # Bookkeeping only: written without an audit entry so reads stay reads.
        sess.execute(
            ApiToken.__table__.update().where(ApiToken.id == row.id).values(last_used_at=now)
        )
        sess.commit()
    return row.user


# --- views ---------------------------------------------------------------------------------


class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


def safe_next(target: str | None, fallback: str) -> str:
    """Only same-site relative paths are followed after login or a language switch."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
@self_service
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("home.index")))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data or "", form.password.data or "", client_ip())
        except LoginRefused as refused:
            error, status = str(refused), refused.status
        else:
            locale = session.get("locale")
            session.clear()
            login_user(user)
            session.permanent = True
            start_session(user)
            if user.locale or locale:
                session["locale"] = user.locale or locale
            return redirect(safe_next(request.args.get("next"), url_for("home.index")))
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@public  # a session ended elsewhere (signed out from another device) still logs out cleanly
@self_service
def logout() -> Any:
    """End the session and have the browser forget what it kept of the site.

    ``Clear-Site-Data: "cache"`` empties the browser's HTTP cache of this origin (patrol photos
    are cached an hour) and its back/forward pages. Not ``"storage"``: measured in Chromium 156,
    that also deletes IndexedDB, i.e. the patrol work not sent yet, which must stay on the
    tablet for its engineer. ``"cache"`` leaves the Cache API and the service worker alone, so
    the logout button and the login page (``static/js/logout.js``) delete those themselves.

    The session's row is ended, so a copy of the cookie stops working too; the user's other
    sessions (another tablet, the office PC) go on (*My account* ends those).
    """
    session_id = current_session_id()
    if session_id is not None:
        end_sessions(current_user.id, session_id=session_id)
        db.session().commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    response = redirect(url_for("auth.login"))
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.route("/language", methods=["POST"])
@public
@self_service
def set_language() -> Any:
    locale = request.form.get("locale", "")
    if locale not in current_app.config["LOCALES"]:
        abort(400)
    session["locale"] = locale
    if current_user.is_authenticated:
        sess = db.session()
        user = sess.get(User, current_user.id)
        if user is not None and user.locale != locale:
            user.locale = locale
            sess.commit()
    return redirect(safe_next(request.form.get("next"), url_for("home.index")))


# --- wiring --------------------------------------------------------------------------------


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """The user of this request's cookie, if its session row still logs them in."""
    if not user_id.isdigit():
        forget_login()
        return None
    row = session_row(int(user_id))
    user = db.session().get(User, int(user_id)) if row is not None else None
    if row is None or user is None or not user.active:
        forget_login()
        return None
    g.opskit_session_id = row.id
    return user


def _unauthorized() -> Any:
    if is_api_request():
        return jsonify(error="unauthorized"), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.session_protection = "strong"
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False  # checked in _enforce_access, API excluded
    csrf.init_app(app)
    app.register_blueprint(bp)
    app.before_request(_enforce_access)
