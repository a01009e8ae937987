"""Monitoring pages: the monitors list, the topology graph, and the monitoring part of an asset
page (live values, trend charts, probe and add). A thin blueprint over queries and services."""

from __future__ import annotations

import json
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

from monitors import queries, services
from opskit import db
from opskit.auth import require_roles
from opskit.db import utcnow
from opskit.validation import ValidationFailed

bp = Blueprint("monitors", __name__, url_prefix="/monitoring")

PER_PAGE = 50
#: Metrics shown first on the monitors list (one value each), in this order.
KEY_METRICS = (
    "ups.output.source",
    "ups.output.load_percent",
    "ups.battery.charge_percent",
    "env.temperature_c",
    "env.humidity_percent",
    "ac.supply_temperature_c",
    "host.cpu.load_percent",
    "host.memory.used_percent",
    "pdu.current_a",
    "service.up",
)
PROBE_ROLES = ("admin", "engineer")
SERIES_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "90d": timedelta(days=90)}


def _asset_or_404(asset_id: int) -> Any:
    from assets import queries as assets

    asset = assets.get_asset(asset_id)
    if asset is None:
        abort(404)
    return asset


def _value(r: Any) -> Any:
    return r.text if r.text is not None else r.value


def _key_values(readings: dict[tuple[str, str], Any], limit: int = 4) -> list[tuple[str, Any]]:
    """A few headline values of one asset: the key metrics first, one instance each."""
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    ordered = sorted(
        readings.items(),
        key=lambda kv: (
            KEY_METRICS.index(kv[0][0]) if kv[0][0] in KEY_METRICS else 99,
            kv[0],
        ),
    )
    for (metric, instance), r in ordered:
        if metric in seen or metric not in KEY_METRICS:
            continue
        seen.add(metric)
        label = f"{metric}[{instance}]" if instance else metric
        out.append((label, _value(r)))
        if len(out) >= limit:
            break
    return out


@bp.route("/")
def index() -> str:
    from assets import queries as assets

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
            "values": _key_values(latest.get(m.asset_id, {})),
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
    )


# --- topology --------------------------------------------------------------------------------


@bp.route("/topology")
def topology() -> str:
    return render_template("monitors/topology.html")


@bp.route("/topology.json")
def topology_json() -> Any:
    """Nodes and edges from registered links and LLDP neighbours seen in the last day."""
    from assets import queries as assets
    from opskit.alerts import queries as alerts

    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []
    seen_pairs: set[tuple[str, str]] = set()

    def asset_node(a: Any) -> str:
        key = f"a{a.id}"
        nodes.setdefault(
            key,
            {
                "id": key,
                "asset_id": a.id,
                "name": a.asset_tag,
                "label": a.name,
                "kind": a.kind,
                "url": url_for("assets.detail", asset_id=a.id),
            },
        )
        return key

    for link in assets.topology_links():
        a, b = asset_node(link.a_asset), asset_node(link.b_asset)
        seen_pairs.add((min(a, b), max(a, b)))
        edges.append(
            {
                "source": a,
                "target": b,
                "ports": f"{link.a_port} ↔ {link.b_port}",
                "source_kind": "registered",
            }
        )
    neighbours = queries.lldp_neighbors_of(since=utcnow() - timedelta(days=1))
    ids = {n.asset_id for n in neighbours} | {
        n.remote_asset_id for n in neighbours if n.remote_asset_id
    }
    known = {a.id: a for a in assets.assets_by_ids(sorted(ids - {None}))} if ids else {}
    for n in neighbours:
        local = known.get(n.asset_id)
        if local is None:
            continue
        a = asset_node(local)
        remote = known.get(n.remote_asset_id) if n.remote_asset_id else None
        if remote is not None:
            b = asset_node(remote)
        else:
            name = n.remote_sys_name or n.remote_chassis_id or "?"
            b = f"n:{name}"
            nodes.setdefault(
                b,
                {
                    "id": b,
                    "asset_id": None,
                    "name": name,
                    "label": "",
                    "kind": "unregistered",
                    "url": None,
                },
            )
        pair = (min(a, b), max(a, b))
        if pair in seen_pairs:
            continue
        seen_pairs.add(pair)
        edges.append(
            {
                "source": a,
                "target": b,
                "ports": f"{n.local_port} ↔ {n.remote_port}",
                "source_kind": "lldp",
            }
        )
    asset_ids = [n["asset_id"] for n in nodes.values() if n["asset_id"]]
    states = queries.asset_states(asset_ids)
    urgency = alerts.open_urgency_by_asset(asset_ids)
    for node in nodes.values():
        aid = node["asset_id"]
        node["state"] = (
            queries.node_state(states.get(aid), urgency.get(aid)) if aid else "unregistered"
        )
    return jsonify(nodes=list(nodes.values()), edges=edges)


# --- the monitoring part of an asset page ----------------------------------------------------


@bp.route("/assets/<int:asset_id>/panel")
def asset_panel(asset_id: int) -> str:
    asset = _asset_or_404(asset_id)
    return render_template(
        "monitors/_asset_panel.html",
        asset=asset,
        can_probe=_can_probe(),
        form=_blank_form(asset),
        **_live(asset.id),
    )


@bp.route("/assets/<int:asset_id>/live")
def asset_live(asset_id: int) -> str:
    asset = _asset_or_404(asset_id)
    return render_template("monitors/_asset_live.html", asset=asset, **_live(asset.id))


def _live(asset_id: int) -> dict[str, Any]:
    monitors = queries.monitors(asset_id)
    latest = queries.latest_values([asset_id], since=utcnow() - timedelta(days=1)).get(asset_id, {})
    readings = [r for _key, r in sorted(latest.items())]
    charts = [r for r in readings if r.value is not None and r.text is None][:8]
    return {"monitors": monitors, "readings": readings, "charts": charts}


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


FORM_FIELDS = (
    "host",
    "port",
    "version",
    "user",
    "auth_proto",
    "priv_proto",
    "context",
    "interval_s",
)
SECRET_FIELDS = ("community", "auth_key", "priv_key")


def _blank_form(asset: Any) -> dict[str, Any]:
    return {
        "host": asset.mgmt_ip or "",
        "port": "161",
        "version": "2c",
        "user": "",
        "auth_proto": "",
        "priv_proto": "",
        "context": "",
        "interval_s": "60",
        "sealed": "",
        "has_secret": False,
    }


def _typed_secret(form: dict[str, Any]) -> dict[str, str]:
    """The credentials typed now, else those sealed (encrypted) in the form by the last probe."""
    from opskit.crypto import decrypt

    typed = {k: request.form.get(k, "") for k in SECRET_FIELDS if request.form.get(k, "")}
    if typed:
        return typed
    sealed = request.form.get("sealed", "")
    if sealed:
        try:
            return json.loads(decrypt(sealed))
        except Exception:  # tampered or from another key: ask again
            return {}
    return {}


def _settings(form: dict[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {"host": form["host"].strip(), "port": form["port"] or 161}
    settings["version"] = form["version"] or "2c"
    if settings["version"] == "3":
        settings.update(
            user=form["user"].strip(),
            auth_proto=form["auth_proto"] or None,
            priv_proto=form["priv_proto"] or None,
            context=form["context"],
        )
    return settings


@bp.route("/assets/<int:asset_id>/probe", methods=["POST"])
@require_roles(*PROBE_ROLES)
def asset_probe(asset_id: int) -> Any:
    """Probe an SNMP agent for this asset; with ``action=add`` also add the monitor."""
    from monitors import kinds, snmp
    from monitors.probe import probe
    from opskit.crypto import encrypt

    asset = _asset_or_404(asset_id)
    form = {k: request.form.get(k, "").strip() for k in FORM_FIELDS}
    secret = _typed_secret(form)
    form["sealed"] = encrypt(json.dumps(secret)) if secret else ""
    form["has_secret"] = bool(secret)
    errors: dict[str, list[str]] = {}
    result: dict[str, Any] | None = None
    problem = ""
    settings: dict[str, Any] = {}
    try:
        settings = kinds.validate("snmp", _settings(form))
    except ValidationFailed as exc:
        errors = exc.errors
    interval = form["interval_s"] or "60"
    if not interval.isdigit() or not 5 <= int(interval) <= 86400:
        errors["interval_s"] = [_("Expected a whole number of seconds from 5 to 86400.")]
    if settings.get("version") == "3":
        if settings.get("auth_proto") and not secret.get("auth_key"):
            errors["auth_key"] = [_("Enter the authentication key.")]
        if settings.get("priv_proto") and not secret.get("priv_key"):
            errors["priv_key"] = [_("Enter the privacy key.")]
    elif not secret.get("community"):
        errors["community"] = [_("Enter the community.")]
    if not errors:
        try:
            creds = kinds.get("snmp").credentials(settings, json.dumps(secret))
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
            asset.id, "snmp", settings, secret, interval_s=int(interval), name="SNMP"
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
