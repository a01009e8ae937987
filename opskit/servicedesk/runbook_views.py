"""Runbook pages (故障恢复流程及应急措施): the list with search and a scope filter, a runbook
with its current version rendered and its versions, writing and editing (each save a new
version), a version with its difference from the one before and its restore, a resolved
request turned into a draft, and the runbooks of an asset on the asset page (loaded through
``assets.extensions.ASSET_PANELS``). A thin blueprint over ``services`` and ``runbook_queries``.

``servicedesk/_runbooks_panel.html`` lists runbooks (``runbooks``: a list of
``RunbookItem``); the request page includes it with the template global
``runbooks_for_request(id)`` and, for its draft button, the request as ``draft_request``.

Engineers, supervisors and admins write (403 to a viewer, before anything is looked up);
everyone logged in reads. A refused form answers 400 with the errors beside the fields and
everything typed kept.
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
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from assets import extensions
from assets import queries as registry
from opskit import db
from opskit.auth import require_roles
from opskit.models import Role
from opskit.servicedesk import runbook_queries, runbook_text, services
from opskit.servicedesk.models import Runbook, RunbookScope, ServiceRequest
from opskit.servicedesk.runbook_queries import RunbookItem
from opskit.servicedesk.services.runbooks import DRAFTABLE_STATUSES
from opskit.validation import ValidationFailed

bp = Blueprint("runbooks", __name__)

WRITERS = (Role.ADMIN, Role.SUPERVISOR, Role.ENGINEER)
#: the request page's endpoint, linked when the desk's request pages are there
REQUEST_ENDPOINT = "requests.detail"
FORM_FIELDS = ("title", "scope", "asset_kind", "system_name", "asset_tag", "body", "note")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    extensions.ASSET_PANELS["runbooks"] = lambda asset_id: url_for(
        "runbooks.asset_panel", asset_id=asset_id
    )
    extensions.REGISTRY_TABS["runbooks"] = ("runbooks.index", _l("Runbooks"))
    app.jinja_env.filters["markdown"] = runbook_text.render
    app.jinja_env.globals.update(
        runbooks_for_request=runbook_queries.runbooks_for_request,
        runbook_target=target_text,
        can_write_runbooks=can_write,
        runbook_draftable=lambda sr: sr.status in DRAFTABLE_STATUSES,
        runbook_kind_label=lambda kind: str(registry.AssetKind.labels().get(kind, kind)),
    )


def can_write() -> bool:
    return bool(current_user.is_authenticated and current_user.role in WRITERS)


def target_text(runbook: Runbook, asset: registry.Asset | None = None) -> str:
    """What a runbook is for, in words: the asset kind, the system, or the asset."""
    if runbook.scope == RunbookScope.ASSET_KIND.value:
        kinds = registry.AssetKind.labels()
        kind = runbook.asset_kind or ""
        return str(kinds.get(kind, kind))
    if runbook.scope == RunbookScope.SYSTEM.value:
        return runbook.system_name
    if asset is None and runbook.asset_id is not None:
        asset = registry.get_asset(runbook.asset_id)
    return f"{asset.asset_tag} {asset.name}" if asset is not None else _("No asset chosen")


def _runbook_or_404(runbook_id: int) -> Runbook:
    return runbook_queries.get_runbook(runbook_id) or abort(404)


def _request_url(request_id: int | None) -> str | None:
    if request_id is None:
        return None
    try:
        return url_for(REQUEST_ENDPOINT, request_id=request_id)
    except BuildError:
        return None


def _sources(request_ids: set[int | None]) -> dict[int, tuple[str, str | None]]:
    """Request id → (its number, its page's URL when there is one)."""
    found: dict[int, tuple[str, str | None]] = {}
    for request_id in sorted(i for i in request_ids if i is not None):
        req = db.session().get(ServiceRequest, request_id)
        if req is not None:
            found[request_id] = (req.number, _request_url(request_id))
    return found


def _errors(errors: dict[str, list[str]]) -> dict[str, str]:
    return {key: " ".join(messages) for key, messages in errors.items()}


def _input(form: MultiDict[str, str]) -> services.RunbookInput:
    text = {name: form.get(name, "") for name in FORM_FIELDS}
    return services.RunbookInput(
        title=text["title"],
        scope=text["scope"],
        body=text["body"],
        note=text["note"],
        asset_kind=text["asset_kind"],
        system_name=text["system_name"],
        asset_tag=text["asset_tag"],
    )


def _values(runbook: Runbook) -> dict[str, str]:
    """A runbook's form as it stands: its shown version's text, no note."""
    shown = runbook_queries.latest_version(runbook)
    asset = registry.get_asset(runbook.asset_id) if runbook.asset_id else None
    return {
        "title": runbook.title,
        "scope": runbook.scope,
        "asset_kind": runbook.asset_kind or "",
        "system_name": runbook.system_name,
        "asset_tag": asset.asset_tag if asset is not None else "",
        "body": shown.body if shown is not None else "",
        "note": "",
        "base_version": str(max((v.version for v in runbook.versions), default=0)),
    }


def _form_page(
    *,
    title: str,
    values: dict[str, str],
    errors: dict[str, list[str]],
    runbook: Runbook | None,
    cancel_url: str,
) -> Any:
    return render_template(
        "servicedesk/runbooks/form.html",
        title=title,
        form=values,
        errors=_errors(errors),
        runbook=runbook,
        scopes=RunbookScope.labels(),
        kinds=registry.AssetKind.labels(),
        systems=runbook_queries.system_names(),
        cancel_url=cancel_url,
        sources=_sources({v.source_request_id for v in runbook.versions} if runbook else set()),
    ), (400 if errors else 200)


# --- the list and one runbook ----------------------------------------------------------------


@bp.route("/runbooks/")
def index() -> Any:
    q = request.args.get("q", "").strip()[:200]
    scope = request.args.get("scope", "")
    scope = scope if scope in RunbookScope.labels() else ""
    kind = request.args.get("kind", "")
    kind = kind if kind in registry.AssetKind.labels() else ""
    items = runbook_queries.list_runbooks(q, scope, kind)
    return render_template(
        "servicedesk/runbooks/index.html",
        items=items,
        q=q,
        scope=scope,
        kind=kind,
        scopes=RunbookScope.labels(),
        kinds=registry.AssetKind.labels(),
        can_write=can_write(),
        filtered=bool(q or scope or kind),
    )


@bp.route("/runbooks/<int:runbook_id>")
def detail(runbook_id: int) -> Any:
    runbook = _runbook_or_404(runbook_id)
    versions = runbook_queries.versions_of(runbook.id)
    shown = runbook_queries.latest_version(runbook)
    asset = registry.get_asset(runbook.asset_id) if runbook.asset_id else None
    return render_template(
        "servicedesk/runbooks/detail.html",
        runbook=runbook,
        shown=shown,
        versions=versions,
        asset=asset,
        target=target_text(runbook, asset),
        scopes=RunbookScope.labels(),
        sources=_sources({v.source_request_id for v in versions}),
        can_write=can_write(),
    )


@bp.route("/runbooks/<int:runbook_id>/versions/<int:version>")
def version(runbook_id: int, version: int) -> Any:
    runbook = _runbook_or_404(runbook_id)
    this = runbook_queries.get_version(runbook.id, version) or abort(404)
    before = runbook_queries.previous_version(runbook.id, version)
    changes = runbook_text.diff(before.body if before is not None else "", this.body)
    return render_template(
        "servicedesk/runbooks/version.html",
        runbook=runbook,
        this=this,
        before=before,
        changes=changes,
        sources=_sources({this.source_request_id}),
        can_write=can_write(),
    )


# --- writing -------------------------------------------------------------------------------


@bp.route("/runbooks/new", methods=["GET", "POST"])
@require_roles(*WRITERS)
def new() -> Any:
    if request.method == "GET":
        values = {name: request.args.get(name, "") for name in FORM_FIELDS}
        values["scope"] = values["scope"] or RunbookScope.ASSET_KIND.value
        return _form_page(
            title=_("New runbook"),
            values=values,
            errors={},
            runbook=None,
            cancel_url=url_for("runbooks.index"),
        )
    data = _input(request.form)
    try:
        runbook = db.write(lambda: services.create_runbook(data))
    except services.NotAllowed:
        abort(403)
    except ValidationFailed as exc:
        return _form_page(
            title=_("New runbook"),
            values=request.form.to_dict(),
            errors=exc.errors,
            runbook=None,
            cancel_url=url_for("runbooks.index"),
        )
    flash(_("Runbook saved as version 1."), "success")
    return redirect(url_for("runbooks.detail", runbook_id=runbook.id), 303)


def _base_version(raw: str | None) -> int | None:
    text = (raw or "").strip()
    return int(text) if text.isdigit() and len(text) <= 9 else None


@bp.route("/runbooks/<int:runbook_id>/edit", methods=["GET", "POST"])
@require_roles(*WRITERS)
def edit(runbook_id: int) -> Any:
    runbook = _runbook_or_404(runbook_id)
    title = _("Edit runbook") if runbook.current_version else _("Finish the runbook draft")
    cancel = url_for("runbooks.detail", runbook_id=runbook.id)
    if request.method == "GET":
        return _form_page(
            title=title, values=_values(runbook), errors={}, runbook=runbook, cancel_url=cancel
        )
    data = _input(request.form)
    base = _base_version(request.form.get("base_version"))
    try:
        made = db.write(lambda: services.edit_runbook(runbook.id, data, base_version=base))
    except services.NotAllowed:
        abort(403)
    except ValidationFailed as exc:
        runbook = _runbook_or_404(runbook_id)
        values = request.form.to_dict()
        if "base_version" in exc.errors:  # seen now: the next save goes over the newest
            values["base_version"] = _values(runbook)["base_version"]
        return _form_page(
            title=title,
            values=values,
            errors=exc.errors,
            runbook=runbook,
            cancel_url=cancel,
        )
    if made is None:
        flash(_("Nothing was changed: no new version."), "info")
    else:
        flash(_("Saved as version %(n)s.", n=made.version), "success")
    return redirect(url_for("runbooks.detail", runbook_id=runbook_id), 303)


@bp.post("/runbooks/<int:runbook_id>/versions/<int:version>/restore")
@require_roles(*WRITERS)
def restore(runbook_id: int, version: int) -> Any:
    runbook = _runbook_or_404(runbook_id)
    runbook_queries.get_version(runbook.id, version) or abort(404)
    try:
        made = db.write(lambda: services.restore_version(runbook_id, version))
    except services.NotAllowed:
        abort(403)
    flash(_("Version %(old)s restored as version %(n)s.", old=version, n=made.version), "success")
    return redirect(url_for("runbooks.detail", runbook_id=runbook_id), 303)


@bp.post("/requests/<int:request_id>/runbook-draft")
@require_roles(*WRITERS)
def draft(request_id: int) -> Any:
    """A resolved request as a runbook draft; its edit page opens."""
    db.session().get(ServiceRequest, request_id) or abort(404)
    try:
        runbook = db.write(lambda: services.draft_from_request(request_id))
    except services.NotAllowed:
        abort(403)
    except ValidationFailed as exc:
        flash(" ".join(m for messages in exc.errors.values() for m in messages), "danger")
        return redirect(_request_url(request_id) or url_for("runbooks.index"), 303)
    return redirect(url_for("runbooks.edit", runbook_id=runbook.id), 303)


# --- the asset page's part -----------------------------------------------------------------


@bp.route("/assets/<int:asset_id>/runbooks")
def asset_panel(asset_id: int) -> Any:
    """The runbooks of an asset (its own, its systems', its kind's), loaded into its page."""
    asset = registry.get_asset(asset_id) or abort(404)
    items: list[RunbookItem] = runbook_queries.runbooks_for_asset(asset.id)
    return render_template(
        "servicedesk/runbooks/_asset_panel.html",
        asset=asset,
        runbooks=items,
        can_write=can_write(),
    )
