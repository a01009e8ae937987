"""The traps page: what ``opskit traps`` received, newest first, and what the rules did; and the
"make a rule" form for a trap OID no rule knows (engineers and admins), which writes the site's
rules file (``<instance>/trap_rules.yaml``, audited) that the receiver reads again at once."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from monitors.profiles import ProfileError
from monitors.traps import forms, queries, rules
from opskit import audit, db
from opskit.auth import require_roles

bp = Blueprint("traps", __name__, url_prefix="/monitoring/traps")

RULE_ROLES = ("admin", "engineer")
#: the audit log's name for a rule of the site's file
AUDIT_TYPE = "trap_rule"


@bp.get("/")
def index() -> str:
    """Every received trap (or the unknown ones: no rule is about their OID)."""
    unknown = request.args.get("show") == "unknown"
    page = request.args.get("page", 1, type=int) or 1
    known = rules.known_oids()
    listed = queries.list_traps(page, unknown_only=unknown, known_oids=known)
    english = str(get_locale() or "").startswith("en")
    return render_template(
        "monitors/traps.html",
        listed=listed,
        assets=queries.assets_of(listed.items),
        done={t.id: rules.described(t.actions, english) for t in listed.items if t.actions},
        unknown=unknown,
        known_oids=known,
        can_make_rules=_can_make_rules(),
        site_problem=rules.site_problem(),
    )


def _can_make_rules() -> bool:
    from flask_login import current_user

    return bool(current_user.is_authenticated and current_user.role in RULE_ROLES)


def _page(values: dict[str, str], errors: dict[str, list[str]], status: int = 200) -> Any:
    oid = forms._oid(values.get("oid", ""))
    return (
        render_template(
            "monitors/trap_rule.html",
            values=values,
            errors=errors,
            sample=queries.latest_with_oid(oid) if oid else None,
            conditions=rules.conditions(),
            site_problem=rules.site_problem(),
            site_file=rules.site_path(),
        ),
        status,
    )


@bp.route("/rule", methods=["GET", "POST"])
@require_roles(*RULE_ROLES)
def make_rule() -> Any:
    """A rule for one trap OID: raise or clear a condition, optionally only when a variable has
    one of the listed values. Saved to the site's file, audited; a retry adds nothing."""
    if request.method == "GET":  # for the OID of the button (or any OID, typed in)
        oid = forms._oid((request.args.get("oid") or "").strip())
        return _page(forms.blank(oid, forms.suggest_condition(oid)), {})
    values = forms.typed(request.form)
    entry, errors = forms.check(values)
    if not errors and rules.site_problem():
        errors = {"oid": [_("The site's rules file has a mistake; correct it by hand first.")]}
    if errors:
        return _page(values, errors, 422)
    try:
        added = rules.add_site_rule(entry)
    except ProfileError as exc:
        return _page(values, forms.from_schema(exc), 422)
    except OSError as exc:
        problem = _(
            "%(file)s could not be written: %(problem)s", file=rules.site_path(), problem=exc
        )
        return _page(values, {"oid": [problem]}, 500)
    if not added:
        flash(_("This rule is already in the site's rules; nothing was added."), "info")
        return redirect(url_for("traps.index")), 303
    what = f"raise {entry['raise']}" if "raise" in entry else f"clear {entry['clear']}"
    audit.record(
        "create",
        AUDIT_TYPE,
        entry["oid"],
        f"{entry['oid']}: {what}",
        {key: (None, value) for key, value in entry.items()},
    )
    db.session().commit()
    flash(
        _(
            "Rule saved: traps %(oid)s now %(what)s. The receiver applies it from the next trap.",
            oid=entry["oid"],
            what=_("raise an alert") if "raise" in entry else _("clear the alert"),
        ),
        "success",
    )
    return redirect(url_for("traps.index")), 303
