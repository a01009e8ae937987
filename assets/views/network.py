"""Prefixes, addresses and links: their lists, detail and forms."""

from __future__ import annotations

from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from assets import queries, services
from assets.forms import (
    AddressForm,
    LinkForm,
    PrefixForm,
    apply_errors,
    choices,
)
from assets.models import Asset, IPAddress, Prefix, Site
from assets.views.common import (
    PER_PAGE,
    bp,
    commit_or_error,
    form_page,
    get_or_404,
    int_arg,
)
from opskit import db
from opskit.validation import ValidationFailed

# --- prefixes and addresses -----------------------------------------------------------------


@bp.route("/prefixes/")
def prefixes() -> Any:
    rows = [(p, queries.prefix_utilisation(p)) for p in queries.list_prefixes()]
    return render_template("assets/prefixes.html", rows=rows)


def _prefix_form_page(prefix: Prefix | None) -> Any:
    if request.method == "GET":
        form = PrefixForm(obj=prefix, site=str(prefix.site_id or "") if prefix else "")
    else:
        form = PrefixForm()
    form.site.choices = choices([("", "—")] + [(str(s.id), s.name) for s in queries.all_sites()])
    failed = request.method == "POST"
    if form.validate_on_submit():
        sess = db.session()
        values = {
            "cidr": form.cidr.data or "",
            "vlan": form.vlan.data,
            "purpose": form.purpose.data or "",
            "gateway": (form.gateway.data or "").strip() or None,
            "notes": form.notes.data or "",
            "site": sess.get(Site, int(form.site.data)) if form.site.data else None,
        }
        try:
            saved = services.save_prefix(values, prefix)
            sess.flush()
        except ValidationFailed as exc:
            sess.rollback()
            form.form_errors = apply_errors(form, exc.errors)
        else:
            if commit_or_error(form, "cidr"):
                flash(_("Prefix %(cidr)s saved.", cidr=saved.cidr), "success")
                return redirect(url_for("assets.prefix_detail", prefix_id=saved.id))
    title = _("Edit prefix") if prefix is not None else _("New prefix")
    return form_page("assets/simple_form.html", form, failed, title=title)


@bp.route("/prefixes/new", methods=["GET", "POST"])
def prefix_create() -> Any:
    return _prefix_form_page(None)


@bp.route("/prefixes/<int:prefix_id>/edit", methods=["GET", "POST"])
def prefix_edit(prefix_id: int) -> Any:
    return _prefix_form_page(get_or_404(Prefix, prefix_id))


@bp.route("/prefixes/<int:prefix_id>")
def prefix_detail(prefix_id: int) -> Any:
    prefix = get_or_404(Prefix, prefix_id)
    return render_template(
        "assets/prefix.html",
        prefix=prefix,
        utilisation=queries.prefix_utilisation(prefix),
        free=list(queries.free_ranges(prefix, limit=20)),
        next_free=queries.next_free_address(prefix),
        addresses=queries.prefix_addresses(prefix, page=int_arg("page") or 1),
    )


def _address_form_page(prefix: Prefix, address: IPAddress | None) -> Any:
    if request.method == "GET":
        initial = {}
        if address is not None:
            initial["asset"] = address.asset.asset_tag if address.asset else ""
        else:
            wanted = request.args.get("address", "").strip()
            initial["address"] = wanted or queries.next_free_address(prefix) or ""
        form = AddressForm(obj=address, **initial)
    else:
        form = AddressForm()
    failed = request.method == "POST"
    if form.validate_on_submit():
        sess = db.session()
        tag = (form.asset.data or "").strip()
        asset = queries.asset_by_tag(tag) if tag else None
        if tag and asset is None:
            apply_errors(form, {"asset": [_("No asset has the tag %(tag)s.", tag=tag)]})
        else:
            values = {
                "address": form.address.data or "",
                "prefix": prefix,
                "status": form.status.data,
                "asset": asset,
                "interface": form.interface.data or "",
                "hostname": form.hostname.data or "",
                "mac": form.mac.data or None,
                "notes": form.notes.data or "",
            }
            try:
                services.save_address(values, address)
                sess.flush()
            except ValidationFailed as exc:
                sess.rollback()
                form.form_errors = apply_errors(form, exc.errors)
            else:
                if commit_or_error(form, "address"):
                    flash(_("Address %(ip)s saved.", ip=values["address"].strip()), "success")
                    return redirect(url_for("assets.prefix_detail", prefix_id=prefix.id))
    title = (
        _("Edit address in %(cidr)s", cidr=prefix.cidr)
        if address is not None
        else _("New address in %(cidr)s", cidr=prefix.cidr)
    )
    back = url_for("assets.prefix_detail", prefix_id=prefix.id)
    return form_page("assets/simple_form.html", form, failed, title=title, back=back)


@bp.route("/prefixes/<int:prefix_id>/addresses/new", methods=["GET", "POST"])
def address_create(prefix_id: int) -> Any:
    return _address_form_page(get_or_404(Prefix, prefix_id), None)


@bp.route("/addresses/<int:address_id>/edit", methods=["GET", "POST"])
def address_edit(address_id: int) -> Any:
    address = get_or_404(IPAddress, address_id)
    return _address_form_page(address.prefix, address)


# --- links ----------------------------------------------------------------------------------


@bp.route("/links/")
def links() -> Any:
    q = request.args.get("q", "").strip()[:100]
    result = queries.list_links(page=int_arg("page") or 1, per_page=PER_PAGE, q=q)
    return render_template("assets/links.html", result=result, q=q)


@bp.route("/links/new", methods=["GET", "POST"])
def link_create() -> Any:
    if request.method == "GET":
        form = LinkForm(a_asset=request.args.get("a_asset", ""))
    else:
        form = LinkForm()
    failed = request.method == "POST"
    if form.validate_on_submit():
        sess = db.session()
        ends: dict[str, Asset | None] = {}
        errors: dict[str, list[str]] = {}
        for field in ("a_asset", "b_asset"):
            tag = (getattr(form, field).data or "").strip()
            ends[field] = queries.asset_by_tag(tag)
            if ends[field] is None:
                errors[field] = [_("No asset has the tag %(tag)s.", tag=tag)]
        if errors:
            apply_errors(form, errors)
        else:
            try:
                services.save_link(
                    ends["a_asset"],  # type: ignore[arg-type]
                    form.a_port.data or "",
                    ends["b_asset"],  # type: ignore[arg-type]
                    form.b_port.data or "",
                    medium=form.medium.data or "",
                    notes=form.notes.data or "",
                )
                sess.flush()
            except ValidationFailed as exc:
                sess.rollback()
                form.form_errors = apply_errors(form, exc.errors)
            else:
                if commit_or_error(form, "a_port"):
                    flash(_("Link saved."), "success")
                    return redirect(url_for("assets.links"))
    return form_page(
        "assets/simple_form.html", form, failed, title=_("New link"), back=url_for("assets.links")
    )
