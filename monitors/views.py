"""Monitoring pages: the monitors list, a monitor's page (availability and state changes, from
its state flips), the topology graph, and the monitoring part of an asset page (live values,
trend charts, probe and add). A thin blueprint over queries and services."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from assets import queries as assets
from monitors import formatting, forms, graph, kinds, queries, services, snmp
from monitors.models import Monitor
from monitors.probe import probe
from opskit import db
from opskit.auth import require_roles
from opskit.crypto import encrypt
from opskit.db import utcnow
from opskit.validation import ValidationFailed

bp = Blueprint("monitors", __name__, url_prefix="/monitoring")

PER_PAGE = 50
PROBE_ROLES = services.MANAGE_ROLES
#: the kind the asset page's "probe and add" form checks and adds
SNMP = kinds.SNMP
SERIES_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "90d": timedelta(days=90)}


def _asset_or_404(asset_id: int) -> Any:
    asset = assets.get_asset(asset_id)
    if asset is None:
        abort(404)
    return asset


FILTERS: dict[str, Callable[..., Any]] = {
    "metric_label": formatting.metric_label,
    "metric_unit": formatting.metric_unit,
    "monitor_kind": formatting.monitor_kind,
    "monitor_target": formatting.monitor_target,
    "reading_value": formatting.reading_value,
    "probed_value": formatting.probed_value,
    "availability_percent": formatting.availability_percent,
    "time_span": formatting.time_span,
}
for _name, _filter in FILTERS.items():
    bp.add_app_template_filter(_filter, _name)


@bp.route("/")
def index() -> str:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    state = request.args.get("state") or None
    if state not in (None, "up", "down", "unknown"):
        state = None
    items, total = queries.monitor_page(page, PER_PAGE, state)
    asset_ids = sorted({m.asset_id for m in items})
    by_id = {a.id: a for a in assets.assets_by_ids(asset_ids)}
    latest = queries.latest_values(asset_ids)
    rows = [
        {
            "monitor": m,
            "asset": by_id.get(m.asset_id),
            "values": formatting.key_values(latest.get(m.asset_id, {})),
        }
        for m in items
    ]
    return render_template(
        "monitors/index.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        state=state,
        counts=queries.state_counts(),
        can_manage=_can_manage(),
    )


# --- topology --------------------------------------------------------------------------------


@bp.route("/topology")
def topology() -> Any:
    """The topology page; ``?site=<id>&room=<id>`` draws only the links touching that site or
    room (the selects keep them in the URL, so the page can be shared)."""
    chosen = graph.topology_filter(request.args)
    page = render_template("monitors/topology.html", topo=chosen)
    return (page, 404) if chosen.error else page


@bp.route("/topology.json")
def topology_json() -> Any:
    """The graph of ``monitors.graph.topology_graph``; 404 for a filter naming no site/room."""
    chosen = graph.topology_filter(request.args)
    if chosen.error:
        return jsonify(error=chosen.error, field=chosen.field), 404
    return jsonify(**graph.topology_graph(chosen, _asset_url))


def _asset_url(asset_id: int) -> str:
    return url_for("assets.detail", asset_id=asset_id)


# --- the monitoring part of an asset page ----------------------------------------------------


@bp.route("/assets/<int:asset_id>/panel")
def asset_panel(asset_id: int) -> str:
    asset = _asset_or_404(asset_id)
    return render_template(
        "monitors/_asset_panel.html",
        asset=asset,
        can_probe=_can_probe(),
        can_manage=_can_manage(),
        form=forms.blank_probe_form(asset),
        **_live(asset.id),
    )


@bp.route("/assets/<int:asset_id>/live")
def asset_live(asset_id: int) -> str:
    asset = _asset_or_404(asset_id)
    return render_template(
        "monitors/_asset_live.html", asset=asset, can_manage=_can_manage(), **_live(asset.id)
    )


#: a database server's trends, in this order, drawn apart from the host's (server-wide values;
#: the size per database)
DB_TRENDS = (
    "db.connections.used_percent",
    "db.transactions_per_s",
    "db.queries_per_s",
    "db.cache_hit_percent",
    "db.locks.waiting",
    "db.deadlocks_per_h",
    "db.longest_query_s",
    "db.replication.lag_s",
    "db.slow_queries_per_min",
    "db.size_bytes",
)


def _live(asset_id: int) -> dict[str, Any]:
    """The asset's monitors, latest readings and trends: up to 8 of its values (database
    metrics aside), and a database server's ``DB_TRENDS`` (up to 12) in a section of their own."""
    monitors = queries.monitors(asset_id)
    latest = queries.latest_values([asset_id], since=utcnow() - timedelta(days=1)).get(asset_id, {})
    readings = [r for _key, r in sorted(latest.items())]
    numeric = [r for r in readings if r.value is not None and r.text is None]
    charts = [r for r in numeric if not r.metric.startswith("db.")][:8]
    db_charts = sorted(
        (
            r
            for r in numeric
            if r.metric in DB_TRENDS and (r.instance == "" or r.metric == "db.size_bytes")
        ),
        key=lambda r: (DB_TRENDS.index(r.metric), r.instance),
    )[:12]
    return {"monitors": monitors, "readings": readings, "charts": charts, "db_charts": db_charts}


@bp.route("/assets/<int:asset_id>/series.json")
def asset_series(asset_id: int) -> Any:
    _asset_or_404(asset_id)
    metric = request.args.get("metric", "")
    instance = request.args.get("instance", "")
    span = SERIES_RANGES.get(request.args.get("range", "24h"), SERIES_RANGES["24h"])
    points = queries.series(asset_id, metric, instance, since=utcnow() - span)
    return jsonify(
        metric=metric,
        instance=instance,
        resolution=queries.resolution_for(span),
        points=[[at.isoformat(), value] for at, value in points],
    )


def _can_probe() -> bool:
    return current_user.is_authenticated and current_user.role in PROBE_ROLES


@bp.route("/assets/<int:asset_id>/probe", methods=["POST"])
@require_roles(*PROBE_ROLES)
def asset_probe(asset_id: int) -> Any:
    """Probe an SNMP agent for this asset; with ``action=add`` also add the monitor."""
    asset = _asset_or_404(asset_id)
    form = forms.probe_form(request.form)
    secret = forms.typed_secret(request.form)
    form["sealed"] = encrypt(json.dumps(secret)) if secret else ""
    form["has_secret"] = bool(secret)
    errors: dict[str, list[str]] = {}
    result: dict[str, Any] | None = None
    problem = ""
    settings: dict[str, Any] = {}
    try:
        settings = SNMP.validate(SNMP.settings_from(form))
    except ValidationFailed as exc:
        errors = exc.errors
    interval = form["interval_s"] or "60"
    if not interval.isdigit() or not 5 <= int(interval) <= 86400:
        errors["interval_s"] = [_("Expected a whole number of seconds from 5 to 86400.")]
    errors.update({k: [v] for k, v in SNMP.secret_problems(settings, secret).items()})
    if not errors:
        try:
            creds = SNMP.credentials(settings, json.dumps(secret))
            result = probe(
                settings["host"],
                settings["port"],
                creds,
                timeout=settings.get("timeout", 2.0),
                retries=settings.get("retries", 1),
            )
        except (snmp.SnmpError, ValueError, OSError) as exc:
            problem = _("The probe failed: %(reason)s", reason=str(exc) or type(exc).__name__)
    if result is not None and request.form.get("action") == "add":
        monitor, created = services.add_monitor(
            asset.id, SNMP.key, settings, secret, interval_s=int(interval), name="SNMP"
        )
        db.session().commit()
        if created:
            flash(
                _(
                    "SNMP monitor added: %(host)s:%(port)s.",
                    host=settings["host"],
                    port=settings["port"],
                ),
                "success",
            )
        else:
            flash(
                _(
                    "This device is already monitored (monitor #%(id)d); nothing was added.",
                    id=monitor.id,
                ),
                "info",
            )
        target = url_for("assets.detail", asset_id=asset.id)
        if request.headers.get("HX-Request"):
            response = jsonify(ok=True)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
    context = {
        "asset": asset,
        "form": form,
        "errors": errors,
        "result": result,
        "problem": problem,
        "can_probe": True,
    }
    status = 422 if errors or problem else 200
    if request.headers.get("HX-Request"):
        # htmx swaps only 2xx answers by default: send the form back with 200 and the error in it
        return render_template("monitors/_probe.html", **context)
    return render_template("monitors/probe_page.html", **context), status


# --- one monitor: its availability and state changes ----------------------------------------


@bp.route("/monitors/<int:monitor_id>")
def detail(monitor_id: int) -> str:
    """A monitor's page: its state, availability over the last 7 and 30 days (from its state
    flips) and its last 10 state changes."""
    monitor = _monitor_or_404(monitor_id)
    return render_template(
        "monitors/detail.html",
        monitor=monitor,
        asset=_asset_or_404(monitor.asset_id),
        periods=queries.recent_availability(monitor.id),
        flips=queries.recent_flips(monitor.id),
        can_manage=_can_manage(),
    )


# --- adding (non-SNMP kinds), editing, disabling and deleting monitors ------------------------


def _can_manage() -> bool:
    return _can_probe()


def _monitor_or_404(monitor_id: int) -> Any:
    monitor = db.session().get(Monitor, monitor_id)
    if monitor is None:
        abort(404)
    return monitor


def _safe_next() -> str:
    """``next`` when it is a path on this site, else ""."""
    target = request.values.get("next", "")
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return ""


def _back(asset_id: int) -> str:
    return _safe_next() or url_for("assets.detail", asset_id=asset_id)


@bp.route("/assets/<int:asset_id>/add", methods=["GET", "POST"])
@require_roles(*PROBE_ROLES)
def asset_add(asset_id: int) -> Any:
    """Add a host, ping, TCP, HTTP or database monitor to an asset from its settings form (a
    database's password too)."""
    asset = _asset_or_404(asset_id)
    offered = kinds.add_form_kinds()
    kind = request.values.get("kind", offered[0])
    if kind not in offered:
        kind = offered[0]
    impl = kinds.of(kind)
    errors: dict[str, list[str]] = {}
    if request.method == "GET":
        values = {**impl.defaults(asset), "interval_s": "60", "name": ""}
    else:
        values = forms.form_values(kind, request.form)
        # credentials typed now (a database's password): stored encrypted, never shown back,
        # not kept on a rejected form (typed again)
        typed = {f.name: request.form.get(f.name, "") for f in impl.secrets}
        try:
            monitor, created = services.add_monitor(
                asset.id,
                kind,
                impl.settings_from(values),
                secret={k: v for k, v in typed.items() if v} or None,
                interval_s=values["interval_s"] or 60,
                name=values["name"],
            )
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            db.session().commit()
            if created:
                flash(_("Monitor added: %(what)s.", what=_describe(monitor)), "success")
            else:
                flash(
                    _(
                        "This is already monitored (monitor #%(id)d); nothing was added.",
                        id=monitor.id,
                    ),
                    "info",
                )
            return redirect(url_for("assets.detail", asset_id=asset.id))
    return (
        render_template(
            "monitors/edit.html",
            asset=asset,
            monitor=None,
            kind=impl,
            kinds=[kinds.of(k) for k in offered],
            fields=impl.fields,
            secrets=impl.secrets,
            values=values,
            errors=errors,
            enabled=True,
            field_names=forms.field_names(kind),
        ),
        422 if errors else 200,
    )


def _describe(monitor: Any) -> str:
    impl = kinds.of(monitor.kind)
    label = impl.label if monitor.kind in kinds.KINDS else monitor.kind
    return f"{label} {impl.describe(monitor.settings)}".strip()


@bp.route("/monitors/<int:monitor_id>/edit", methods=["GET", "POST"])
@require_roles(*PROBE_ROLES)
def edit(monitor_id: int) -> Any:
    """Change a monitor: settings, interval, enabled; credentials replaced only when typed."""
    monitor = _monitor_or_404(monitor_id)
    asset = _asset_or_404(monitor.asset_id)
    impl = kinds.of(monitor.kind)
    fields, secrets = impl.fields, impl.secrets
    errors: dict[str, list[str]] = {}
    if request.method == "GET":
        values = forms.values_of(monitor)
        enabled = monitor.enabled
    else:
        values = forms.form_values(monitor.kind, request.form)
        enabled = bool(request.form.get("enabled"))
        typed = {f.name: request.form.get(f.name, "") for f in secrets}
        try:
            services.update_monitor(
                monitor,
                impl.settings_from(values),
                values["interval_s"],
                enabled,
                new_secret=typed,
                name=values["name"],
            )
        except ValidationFailed as exc:
            db.session().rollback()
            errors = exc.errors
            monitor = _monitor_or_404(monitor_id)
        else:
            db.session().commit()
            flash(_("Monitor saved: %(what)s.", what=_describe(monitor)), "success")
            return redirect(_back(asset.id))
    return (
        render_template(
            "monitors/edit.html",
            asset=asset,
            monitor=monitor,
            kind=impl,
            kinds=(),
            fields=fields,
            secrets=secrets,
            stored_keys=set(services.stored_secret(monitor)),  # names only, never values
            values=values,
            errors=errors,
            enabled=enabled,
            back=_safe_next(),
            field_names=forms.field_names(monitor.kind),
        ),
        422 if errors else 200,
    )


@bp.route("/monitors/<int:monitor_id>/enabled", methods=["POST"])
@require_roles(*PROBE_ROLES)
def set_enabled(monitor_id: int) -> Any:
    """Disable (``enabled=0``) or enable (``enabled=1``) a monitor."""
    monitor = _monitor_or_404(monitor_id)
    enabled = request.form.get("enabled") == "1"
    if services.set_enabled(monitor, enabled):
        db.session().commit()
    if enabled:
        flash(_("Monitor enabled: %(what)s.", what=_describe(monitor)), "success")
    else:
        flash(_("Monitor disabled: %(what)s.", what=_describe(monitor)), "info")
    return redirect(_back(monitor.asset_id))


@bp.route("/monitors/<int:monitor_id>/delete", methods=["POST"])
@require_roles(*PROBE_ROLES)
def delete(monitor_id: int) -> Any:
    """Delete a monitor (after the confirm box is ticked); its readings stay with the asset."""
    monitor = db.session().get(Monitor, monitor_id)
    if monitor is None:  # a retried delete: already gone
        flash(_("This monitor was already deleted."), "info")
        return redirect(_back_to_list())
    asset_id, what = monitor.asset_id, _describe(monitor)
    if not request.form.get("confirm"):
        flash(_("Tick the box to confirm that the monitor is to be deleted."), "danger")
        return redirect(url_for("monitors.edit", monitor_id=monitor.id))
    services.delete_monitor(monitor)
    db.session().commit()
    flash(_("Monitor deleted: %(what)s. Its readings stay with the asset.", what=what), "success")
    return redirect(_back(asset_id))


def _back_to_list() -> str:
    return _safe_next() or url_for("monitors.index")
