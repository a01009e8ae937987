"""Monitoring pages: the monitors list, the topology graph, and the monitoring part of an asset
page (live values, trend charts, probe and add). A thin blueprint over queries and services."""

from __future__ import annotations

import json
from dataclasses import dataclass
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

from monitors import kinds, metrics, queries, services
from monitors.models import Monitor
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
#: the kind the asset page's "probe and add" form checks and adds
SNMP = kinds.SNMP
SERIES_RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "90d": timedelta(days=90)}


def _asset_or_404(asset_id: int) -> Any:
    from assets import queries as assets

    asset = assets.get_asset(asset_id)
    if asset is None:
        abort(404)
    return asset


def _key_values(readings: dict[tuple[str, str], Any], limit: int = 4) -> list[dict[str, Any]]:
    """A few headline values of one asset: the key metrics first, one instance each."""
    out: list[dict[str, Any]] = []
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
        out.append(
            {
                "metric": metric,
                "instance": instance,
                "label": metric_label(metric),
                "value": reading_value(r),
            }
        )
        if len(out) >= limit:
            break
    return out


# --- metric names and values for people ------------------------------------------------------


def _number(value: float) -> str:
    if value != value:  # NaN
        return "—"
    if abs(value) >= 1e6:
        return f"{value:.0f}"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


_BYTE_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")
_BIT_UNITS = ("bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s")


def _scaled(value: float, step: int, units: tuple[str, ...]) -> str:
    i = 0
    while abs(value) >= step and i < len(units) - 1:
        value /= step
        i += 1
    return f"{_number(value)} {units[i]}"


@bp.app_template_filter("metric_label")
def metric_label(metric: str) -> str:
    """The metric's translated name (``ups.output.load_percent`` → 输出负载)."""
    return metrics.label(metric)


@bp.app_template_filter("monitor_kind")
def monitor_kind(kind: str) -> str:
    """A monitor kind as a word (``snmp`` → SNMP, ``host`` → 本服务器 ...)."""
    return str(kinds.of(kind).label)


@bp.app_template_filter("monitor_target")
def monitor_target(monitor: Any) -> str:
    """What a monitor checks, as people read it (``10.0.0.5:161``, a URL, "" for this host)."""
    return kinds.of(monitor.kind).describe(monitor.settings or {})


def display_value(metric: str, value: Any, unit: str | None = None) -> str:
    """A reading as people read it: a translated state word, or the number with its unit
    (bytes and bits per second scaled, an uptime in days and hours)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return metrics.state_label(metric, value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if unit is None:
        unit = metrics.METRICS.get(metric, {}).get("unit", "")
    if unit == "B":
        return _scaled(float(value), 1024, _BYTE_UNITS)
    if unit == "bit/s":
        return _scaled(float(value), 1000, _BIT_UNITS)
    if metric == "host.uptime_seconds" and value >= 86400:
        days, rest = divmod(int(value), 86400)
        return _("%(days)d d %(hours)d h", days=days, hours=rest // 3600)
    number = _number(float(value))
    if unit in ("%", "°C", ""):
        return number + unit
    return f"{number} {metrics.unit_label(unit)}"


@bp.app_template_filter("reading_value")
def reading_value(r: Any) -> str:
    """A stored reading (``text`` for states, ``value`` for numbers) as people read it."""
    return display_value(r.metric, r.text if r.text is not None else r.value)


@bp.app_template_filter("probed_value")
def probed_value(m: dict[str, Any]) -> str:
    """One metric of a probe result (``{metric, value, unit}``) as people read it."""
    return display_value(m["metric"], m.get("value"), m.get("unit"))


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
        can_manage=_can_manage(),
    )


# --- topology --------------------------------------------------------------------------------


@dataclass
class TopologyFilter:
    """The site or room the topology is drawn for (``?site=<id>&room=<id>``; neither: all).

    ``rooms`` are the rooms offered: the chosen site's, else every room. A room names its site
    when no site is asked. ``error``/``field``: an asked id that names no site or room, or a
    room of another site (the page and the JSON answer 404 with that message)."""

    sites: list[Any]
    rooms: list[Any]
    site: Any | None = None
    room: Any | None = None
    error: str | None = None
    field: str | None = None

    @property
    def active(self) -> bool:
        return self.site is not None or self.room is not None

    @property
    def room_ids(self) -> set[int]:
        """The rooms inside the filter (a node elsewhere is drawn as outside it)."""
        if self.room is not None:
            return {self.room.id}
        return {r.id for r in self.rooms}

    def args(self) -> dict[str, int]:
        out = {}
        if self.site is not None:
            out["site"] = self.site.id
        if self.room is not None:
            out["room"] = self.room.id
        return out


def _topology_filter() -> TopologyFilter:
    from assets import queries as assets

    sites = assets.all_sites()
    all_rooms = assets.all_rooms()
    sites_by_id = {str(s.id): s for s in sites}
    rooms_by_id = {str(r.id): r for r in all_rooms}
    site_arg = request.args.get("site", "").strip()
    room_arg = request.args.get("room", "").strip()
    chosen = TopologyFilter(sites, all_rooms)
    if site_arg not in ("", "all"):
        if site_arg not in sites_by_id:
            chosen.error = _(
                "No site has the id %(id)s (it may have been removed).", id=site_arg[:20]
            )
            chosen.field = "site"
            return chosen
        chosen.site = sites_by_id[site_arg]
    if room_arg not in ("", "all"):
        room = rooms_by_id.get(room_arg)
        if room is None:
            chosen.error = _(
                "No room has the id %(id)s (it may have been removed).", id=room_arg[:20]
            )
            chosen.field = "room"
        elif chosen.site is not None and room.site_id != chosen.site.id:
            chosen.error = _(
                "Room %(room)s is not in site %(site)s.", room=room.name, site=chosen.site.name
            )
            chosen.field = "room"
        else:
            chosen.room = room
            chosen.site = room.site
    if chosen.site is not None:
        chosen.rooms = [r for r in all_rooms if r.site_id == chosen.site.id]
    return chosen


@bp.route("/topology")
def topology() -> Any:
    """The topology page; ``?site=<id>&room=<id>`` draws only the links touching that site or
    room (the selects keep them in the URL, so the page can be shared)."""
    chosen = _topology_filter()
    page = render_template("monitors/topology.html", topo=chosen)
    return (page, 404) if chosen.error else page


@bp.route("/topology.json")
def topology_json() -> Any:
    """Nodes and edges from registered links and LLDP neighbours seen in the last day; with
    ``?site=``/``?room=``, only the links with at least one end in that site or room (the other
    end comes too, marked ``outside``)."""
    from assets import queries as assets
    from opskit.alerts import queries as alerts

    chosen = _topology_filter()
    if chosen.error:
        return jsonify(error=chosen.error, field=chosen.field), 404
    touching = (
        assets.topology_scope_assets(
            chosen.site.id if chosen.site else None, chosen.room.id if chosen.room else None
        )
        if chosen.active
        else None
    )
    inside = chosen.room_ids

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
                "outside": chosen.active and a.room_id not in inside,
            },
        )
        return key

    for link in assets.topology_links(touching=touching):
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
    neighbours = queries.lldp_neighbors_of(since=utcnow() - timedelta(days=1), touching=touching)
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
                    "outside": False,  # where an unregistered device stands is not known
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
    return jsonify(
        nodes=list(nodes.values()),
        edges=edges,
        filter={
            "site": chosen.site.id if chosen.site else None,
            "room": chosen.room.id if chosen.room else None,
        },
    )


# --- the monitoring part of an asset page ----------------------------------------------------


@bp.route("/assets/<int:asset_id>/panel")
def asset_panel(asset_id: int) -> str:
    asset = _asset_or_404(asset_id)
    return render_template(
        "monitors/_asset_panel.html",
        asset=asset,
        can_probe=_can_probe(),
        can_manage=_can_manage(),
        form=_blank_form(asset),
        **_live(asset.id),
    )


@bp.route("/assets/<int:asset_id>/live")
def asset_live(asset_id: int) -> str:
    asset = _asset_or_404(asset_id)
    return render_template(
        "monitors/_asset_live.html", asset=asset, can_manage=_can_manage(), **_live(asset.id)
    )


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
    from monitors import snmp
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
        settings = SNMP.validate(_settings(form))
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


@bp.app_template_filter("metric_unit")
def metric_unit(metric: str) -> str:
    """The metric's unit as people read it (translated), "" for states and counts."""
    return metrics.unit_label(metrics.METRICS.get(metric, {}).get("unit", ""))


# --- adding (non-SNMP kinds), editing, disabling and deleting monitors ------------------------


def _can_manage() -> bool:
    return _can_probe()


def _monitor_or_404(monitor_id: int) -> Any:
    monitor = db.session().get(Monitor, monitor_id)
    if monitor is None:
        abort(404)
    return monitor


def _form_values(kind: str) -> dict[str, str]:
    """The settings as typed (strings; checkboxes "1" or "")."""
    values = {}
    for f in kinds.of(kind).fields:
        if f.kind == "checkbox":
            values[f.name] = "1" if request.form.get(f.name) else ""
        else:
            values[f.name] = request.form.get(f.name, "").strip()
    values["interval_s"] = request.form.get("interval_s", "").strip()
    values["name"] = request.form.get("name", "").strip()
    return values


def _values_of(monitor: Any) -> dict[str, str]:
    """A stored monitor's settings as form values (never its secret)."""
    values = kinds.of(monitor.kind).values_of(monitor.settings)
    values["interval_s"] = str(monitor.interval_s)
    values["name"] = monitor.name or ""
    return values


def _safe_next() -> str:
    """``next`` when it is a path on this site, else ""."""
    target = request.values.get("next", "")
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return ""


def _field_names(kind: str) -> set[str]:
    impl = kinds.of(kind)
    return {f.name for f in (*impl.fields, *impl.secrets)} | {"interval_s", "name"}


def _back(asset_id: int) -> str:
    return _safe_next() or url_for("assets.detail", asset_id=asset_id)


@bp.route("/assets/<int:asset_id>/add", methods=["GET", "POST"])
@require_roles(*PROBE_ROLES)
def asset_add(asset_id: int) -> Any:
    """Add a host, ping, TCP or HTTP monitor to an asset from its settings form."""
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
        values = _form_values(kind)
        try:
            monitor, created = services.add_monitor(
                asset.id,
                kind,
                impl.settings_from(values),
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
            secrets=(),
            values=values,
            errors=errors,
            enabled=True,
            field_names=_field_names(kind),
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
        values = _values_of(monitor)
        enabled = monitor.enabled
    else:
        values = _form_values(monitor.kind)
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
            field_names=_field_names(monitor.kind),
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
