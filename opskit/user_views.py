"""The account pages: admins manage users at ``/admin/users``; every user manages their own
password, language, API tokens and sessions (the browsers they are logged in on) at
``/account``. The writes are ``opskit.users``'s.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
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
from opskit.auth import check_password_strength, create_token, require_roles, self_service
from opskit.models import ApiToken, Role, User, UserSession
from opskit.sessions import (
    current_session_id,
    end_sessions,
    forget_login,
    session_lifetime,
    start_session,
)
from opskit.users import (
    ROLE_LABELS,
    UserError,
    create_user,
    normalize_username,
    other_active_admins,
    session_entries,
    set_active,
    set_password,
)

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
                and other_active_admins(user) == 0
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
