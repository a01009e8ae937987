"""Accounts: the service functions behind ``opskit user ...`` and the account pages.

Admins manage users at ``/admin/users``; every user manages their own password, language,
API tokens and sessions (the browsers they are logged in on) at ``/account``.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from opskit import db
from opskit.auth import (
    check_password_strength,
    create_token,
    current_session_id,
    end_sessions,
    forget_login,
    generate_password,
    hash_password,
    open_session_filter,
    require_roles,
    self_service,
    session_lifetime,
    start_session,
)
from opskit.models import ApiToken, Role, User, UserSession

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
    if not active and user.role == Role.ADMIN and _other_active_admins(user) == 0:
        raise UserError(f"{user.username} is the last active admin and cannot be disabled")
    user.active = active
    if not active:
        end_sessions(user.id)
    db.session().commit()


def _other_active_admins(user: User) -> int:
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


# --- forms ---------------------------------------------------------------------------------


def _role_choices() -> list[tuple[str, str]]:
    return [(role.value, str(label)) for role, label in ROLE_LABELS.items()]


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    display_name = StringField(_l("Full name"), validators=[Optional(), Length(max=128)])
    role = SelectField(_l("Role"), choices=_role_choices)
    active = BooleanField(_l("Active"), default=True)

    def validate_username(self, field: StringField) -> None:
        try:
            field.data = normalize_username(field.data or "")
        except UserError:
            raise ValidationError(
                _("Use 2-64 lower-case letters, digits, '.', '_' or '-'.")
            ) from None


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    confirm = PasswordField(_l("Repeat new password"), validators=[DataRequired()])

    def validate_current(self, field: PasswordField) -> None:
        if not check_password_hash(current_user.password_hash, field.data or ""):
            raise ValidationError(_("The current password is wrong."))

    def validate_new(self, field: PasswordField) -> None:
        if problem := check_password_strength(field.data or ""):
            raise ValidationError(problem)

    def validate_confirm(self, field: PasswordField) -> None:
        if field.data != self.new.data:
            raise ValidationError(_("The two passwords differ."))


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


# --- views ---------------------------------------------------------------------------------

bp = Blueprint("users", __name__)


@bp.route("/admin/users", methods=["GET", "POST"])
@require_roles(Role.ADMIN)
def user_list() -> Any:
    form = UserForm()
    new_password = None
    if form.validate_on_submit():
        try:
            user, new_password = create_user(
                form.username.data or "",
                form.role.data or "",
                display_name=form.display_name.data or "",
            )
        except UserError as exc:
            form.username.errors = [*form.username.errors, str(exc)]
        else:
            flash(_("User %(name)s created.", name=user.username), "success")
            form = UserForm(formdata=None)
    users = db.session().scalars(select(User).order_by(User.username)).all()
    status = 400 if form.errors else 200
    return (
        render_template(
            "admin/users.html",
            users=users,
            form=form,
            new_password=new_password,
            role_labels=ROLE_LABELS,
        ),
        status,
    )


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@require_roles(Role.ADMIN)
def user_edit(user_id: int) -> Any:
    user = db.session().get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    new_password = None
    error = None
    if form.validate_on_submit():
        try:
            if (
                form.role.data != user.role
                and user.role == Role.ADMIN
                and _other_active_admins(user) == 0
            ):
                raise UserError(_("The last active admin must stay an admin."))
            user.display_name = form.display_name.data or user.username
            user.role = Role(form.role.data).value
            if request.form.get("reset_password"):
                new_password = set_password(user)
                if user.id == current_user.id:
                    start_session(user)  # an admin's own reset keeps their own session
            set_active(user, bool(form.active.data))
        except UserError as exc:
            db.session().rollback()
            error = str(exc)
        else:
            flash(_("Saved."), "success")
            if new_password is None:
                return redirect(url_for("users.user_list"))
    status = 400 if (form.errors or error) else 200
    return (
        render_template(
            "admin/user_edit.html",
            user=user,
            form=form,
            error=error,
            new_password=new_password,
            sessions=session_entries(user.id, own=False),
        ),
        status,
    )


@bp.route("/admin/users/<int:user_id>/sessions/end", methods=["POST"])
@require_roles(Role.ADMIN)
def user_sessions_end(user_id: int) -> Any:
    """Sign a user out everywhere (every browser; API tokens are kept)."""
    user = db.session().get(User, user_id) or abort(404)
    ended = end_sessions(user.id)
    db.session().commit()
    if user.id == current_user.id:
        forget_login()
        flash(_("You were signed out everywhere."), "info")
        return redirect(url_for("auth.login"))
    flash(
        _("%(name)s was signed out everywhere (%(n)d sessions).", name=user.username, n=ended),
        "success",
    )
    return redirect(url_for("users.user_edit", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/sessions/<int:session_id>/end", methods=["POST"])
@require_roles(Role.ADMIN)
def user_session_end(user_id: int, session_id: int) -> Any:
    row = db.session().get(UserSession, session_id)
    if row is None or row.user_id != user_id:
        abort(404)
    end_sessions(user_id, session_id=session_id)
    db.session().commit()
    if session_id == current_session_id():
        forget_login()
        return redirect(url_for("auth.login"))
    flash(_("That session was signed out."), "success")
    return redirect(url_for("users.user_edit", user_id=user_id))


@bp.route("/account", methods=["GET", "POST"])
@self_service
def account() -> Any:
    form = PasswordForm()
    if form.validate_on_submit():
        user = db.session().get(User, current_user.id)
        assert user is not None
        set_password(user, form.new.data)  # ends every session of the user ...
        start_session(user)  # ... and this browser carries on with a new one
        flash(_("Password changed. Your other sessions were signed out."), "success")
        return redirect(url_for("users.account"))
    return _account_page(form=form, token_form=TokenForm(formdata=None))


def _account_page(**kwargs: Any) -> Any:
    tokens = db.session().scalars(
        select(ApiToken)
        .where(ApiToken.user_id == current_user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at)
    )
    kwargs.setdefault("form", PasswordForm(formdata=None))
    kwargs.setdefault("token_form", TokenForm(formdata=None))
    errors = kwargs["form"].errors or kwargs["token_form"].errors
    sessions = session_entries(current_user.id, own=True)
    hours = round(session_lifetime().total_seconds() / 3600)
    return render_template(
        "admin/account.html", tokens=tokens.all(), sessions=sessions, session_hours=hours, **kwargs
    ), (400 if errors else 200)


@bp.route("/account/tokens", methods=["POST"])
@self_service
def token_create() -> Any:
    form = TokenForm()
    if not form.validate_on_submit():
        return _account_page(token_form=form)
    user = db.session().get(User, current_user.id)
    assert user is not None
    token = create_token(user, (form.name.data or "").strip())
    db.session().commit()
    return _account_page(new_token=token)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@self_service
def token_revoke(token_id: int) -> Any:
    token = db.session().get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    token.revoked_at = db.utcnow()
    db.session().commit()
    flash(_("Token revoked."), "success")
    return redirect(url_for("users.account"))


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@self_service
def session_end(session_id: int) -> Any:
    """End one of one's own sessions (another tablet, a PC left logged in)."""
    row = db.session().get(UserSession, session_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    end_sessions(current_user.id, session_id=session_id)
    db.session().commit()
    if session_id == current_session_id():
        forget_login()
        return redirect(url_for("auth.login"))
    flash(_("That session was signed out."), "success")
    return redirect(url_for("users.account"))


@bp.route("/account/sessions/end-others", methods=["POST"])
@self_service
def sessions_end_others() -> Any:
    """Sign out everywhere but this browser."""
    ended = end_sessions(current_user.id, keep=current_session_id())
    db.session().commit()
    flash(_("Signed out everywhere else (%(n)d sessions).", n=ended), "success")
    return redirect(url_for("users.account"))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
