"""What the registry's pages share: the blueprint, the words every template gets, and the
helpers of form pages (argument parsing, 404, commit-or-error)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from assets.forms import (
    ADDRESS_STATUS_LABELS,
    IMPORTANCE_LABELS,
    KIND_LABELS,
    LINK_SOURCE_LABELS,
    STATUS_LABELS,
    WARRANTY_LABELS,
    apply_errors,
    label,
)
from assets.models import Asset
from opskit import clock, db
from opskit.models import WRITER_ROLES

bp = Blueprint("assets", __name__, url_prefix="/assets")

PER_PAGE = 50
ASSET_TEXT_FIELDS = (
    "asset_tag",
    "name",
    "kind",
    "status",
    "importance",
    "vendor",
    "model",
    "serial",
    "owner",
    "contact",
    "mgmt_ip",
    "purchase_date",
    "warranty_end",
    "support_level",
    "notes",
)
WARRANTY_SORTS = ("warranty_end", "asset_tag", "name", "kind", "support_level", "status")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "importance_labels": IMPORTANCE_LABELS,
        "address_status_labels": ADDRESS_STATUS_LABELS,
        "link_source_labels": LINK_SOURCE_LABELS,
        "warranty_labels": WARRANTY_LABELS,
        "label": label,
        "can_write": current_user.is_authenticated and current_user.role in WRITER_ROLES,
    }


# --- helpers --------------------------------------------------------------------------------


def int_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def is_htmx() -> bool:
    """A partial is wanted: htmx asked, and not to restore a page from history."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def local_today() -> date:
    return clock.site_today()


def warranty_state(asset: Asset, today: date) -> tuple[str, int | None]:
    """("expired" | "30" | "90" | "ok" | "unknown", days left)."""
    if asset.warranty_end is None:
        return "unknown", None
    days = (asset.warranty_end - today).days
    if days < 0:
        return "expired", days
    if days <= 30:
        return "30", days
    if days <= 90:
        return "90", days
    return "ok", days


def get_or_404(model: type, object_id: int) -> Any:
    obj = db.session().get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def form_page(template: str, form: Any, failed: bool, **context: Any) -> Any:
    return render_template(template, form=form, **context), (400 if failed else 200)


def commit_or_error(form: Any, field: str) -> bool:
    """Commit; a concurrent duplicate (unique constraint) becomes an error beside ``field``."""
    try:
        db.session().commit()
    except IntegrityError:
        db.session().rollback()
        apply_errors(form, {field: [_("Someone saved the same entry just now; check and retry.")]})
        return False
    return True
