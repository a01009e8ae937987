"""Core pages: the home page, ``/healthz``, the CA certificate download, error pages, headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    jsonify,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, NotFound

from monitors.queries import poller_health
from opskit import api, calendar_views, dashboard, db, user_views
from opskit.auth import is_api_request, public
from opskit.version import __version__

bp = Blueprint("home", __name__)

#: The main navigation: (endpoint, label, icon text). Every domain owns one entry.
NAVIGATION = (
    ("assets.index", _l("Assets"), "▦"),
    ("inspections.index", _l("Patrol"), "✓"),
    ("monitors.index", _l("Monitoring"), "∿"),
    ("vulns.findings", _l("Security"), "◈"),
    ("alerts.index", _l("Alerts"), "!"),
    ("requests.index", _l("Service desk"), "☎"),
    ("reports.index", _l("Reports"), "▤"),
)

# Everything the browser loads comes from opskit itself; the CSP makes that a rule.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'"
)


@bp.route("/")
def index() -> str:
    kiosk = request.args.get("kiosk") == "1"
    return _dashboard(kiosk)


@bp.route("/kiosk")
def kiosk() -> str:
    """The wall-screen view: larger type, no navigation, refreshing by itself."""
    return _dashboard(True)


def _unknown_site(choice: Any) -> str:
    return _("No site has the id %(id)s (it may have been removed).", id=choice.unknown)


def _dashboard(kiosk: bool) -> Any:
    """The dashboard of the chosen site (``?site=<id>`` or ``all``, else the one remembered).

    The page's ``?site=`` is remembered in the session; the wall screen's is not (its URL is
    its setting, and it may run in an engineer's own session).
    """
    choice = dashboard.choose_site(request.args.get("site"))
    page = {"kiosk": kiosk, "refresh_s": dashboard.refresh_seconds(), "sites": choice}
    if choice.unknown is not None:
        page["site_message"] = _unknown_site(choice)
        return render_template("home/index.html", tiles=[], **page), 404
    if "site" in request.args and not kiosk:
        dashboard.remember_site(choice)
    tiles = [dashboard.context(name, choice.site_id) for name in dashboard.TILES]
    return render_template("home/index.html", tiles=tiles, **page)


@bp.route("/tiles/<name>")
def tile(name: str) -> str:
    """One dashboard tile, for htmx to swap in place (of the site its ``?site=`` names)."""
    if name not in dashboard.TILES:
        raise NotFound()
    choice = dashboard.choose_site(request.args.get("site"))
    if choice.unknown is not None:
        raise NotFound(_unknown_site(choice))
    return render_template(
        "home/_tile.html",
        t=dashboard.context(name, choice.site_id),
        refresh_s=dashboard.refresh_seconds(),
        sites=choice,
    )


@bp.route("/healthz")
@public
def healthz() -> Any:
    """Liveness for load balancers and the engineer: database reachable, version."""
    body: dict[str, Any] = {"status": "ok", "version": __version__}
    try:
        db.session().execute(text("SELECT 1"))
        body["database"] = "ok"
        status = 200
    except Exception as exc:  # any driver error means "not healthy"
        body.update(status="error", database=f"error: {type(exc).__name__}")
        status = 503
    if status == 200:
        try:  # the poller's heartbeat, informational: a web-only install may run no poller
            body["poller"] = poller_health()
        except Exception as exc:
            db.session().rollback()
            body["poller"] = {"error": type(exc).__name__}
    return jsonify(body), status


@bp.route("/tls/ca.crt")
@public
def tls_ca() -> Any:
    """The local CA certificate (public material) so a tablet can install and trust it."""
    path = Path(current_app.instance_path) / "tls" / "ca.crt"
    if not path.is_file():
        raise NotFound(_("No local CA yet: run `opskit tls init HOST...` first."))
    return send_file(path, mimetype="application/x-x509-ca-cert", download_name="opskit-ca.crt")


# --- icons and the web app manifest (public: browsers fetch them before anyone logs in) -------

ICONS = "icons"  # under static/: drawn once by tools/draw_icons.py and committed
THEME_COLOR = "#212529"  # the navigation bar


def _icon(name: str, mimetype: str) -> Any:
    path = Path(current_app.static_folder or "") / ICONS / name
    return send_file(path, mimetype=mimetype, max_age=86400)


@bp.route("/favicon.ico")
@public
def favicon() -> Any:
    """The browser tab's icon, where every browser looks for it first."""
    return _icon("favicon.ico", "image/vnd.microsoft.icon")


@bp.route("/apple-touch-icon.png")
@bp.route("/apple-touch-icon-precomposed.png")
@public
def apple_touch_icon() -> Any:
    """The iPad's home-screen icon (180 px), also at the address Safari tries without a link."""
    return _icon("apple-touch-icon.png", "image/png")


@bp.route("/manifest.webmanifest")
@public
def manifest() -> Any:
    """The web app manifest: name, icons and colours when opskit is added to a home screen."""

    def icon(name: str, size: int, purpose: str) -> dict[str, str]:
        url = url_for("static", filename=f"{ICONS}/{name}", v=__version__)
        return {"src": url, "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}

    body = {
        "name": "opskit",
        "short_name": "opskit",
        "id": url_for("home.index"),
        "start_url": url_for("home.index"),
        "scope": url_for("home.index"),
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOR,
        "icons": [
            icon("icon-192.png", 192, "any"),
            icon("icon-512.png", 512, "any"),
            icon("icon-512.png", 512, "maskable"),
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


def _error(exc: HTTPException) -> Any:
    code = exc.code or 500
    # the exception's own headers (Allow on a 405, Retry-After ...) go with either answer
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    if is_api_request():
        body = jsonify(error=exc.name.lower().replace(" ", "_"), message=exc.description)
        return body, code, headers
    messages = {
        400: _("The request was not understood."),
        401: _("Please log in."),
        403: _("Your role does not allow this."),
        404: _("Page not found."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        429: _("Too many requests; please wait a moment."),
    }
    message = messages.get(code, exc.description or "")
    if exc.description and exc.description != type(exc).description:
        message = exc.description  # a view's own words for what was wrong (escaped on the page)
    return render_template("errors/error.html", code=code, message=message), code, headers


def _csrf_error(exc: CSRFError) -> Any:
    message = _("The form has expired or was not sent from opskit. Reload the page and retry.")
    if is_api_request():
        return jsonify(error="csrf", message=exc.description), 400
    return render_template("errors/error.html", code=400, message=message), 400


def _security_headers(response: Any) -> Any:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _error)
    app.after_request(_security_headers)

    @app.context_processor
    def _nav() -> dict[str, Any]:
        return {"navigation": NAVIGATION, "opskit_version": __version__}

    user_views.init_app(app)
    calendar_views.init_app(app)
    api.init_app(app)
