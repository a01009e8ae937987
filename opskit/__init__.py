"""opskit: the resident data-center engineer's toolkit.

``create_app()`` builds the Flask application: settings, database, security, translations, the
core pages, and each domain's blueprint and commands, registered inside the factory so that
importing ``opskit`` never imports a domain.
"""

from __future__ import annotations

import importlib
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import configure_mappers

import templates  # the top-level templates/ folder, installed as a package
from opskit import audit, auth, bounds, db, i18n, people
from opskit.config import LOCALES, Settings
from opskit.domains import DOMAINS
from opskit.version import __version__

__all__ = ["DOMAINS", "__version__", "create_app"]


def _templates_dir() -> str:
    return str(Path(templates.__file__).resolve().parent)


def create_app(config: dict[str, Any] | None = None, settings: Settings | None = None) -> Flask:
    """Build the app. ``config`` overrides Flask config keys (tests use it)."""
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        template_folder=_templates_dir(),
        static_folder="static",
    )
    app.config.update(
        SECRET_KEY=settings.ensure_secret_key(),
        DATABASE_URL=settings.resolved_database_url(),
        OPSKIT_SETTINGS=settings,
        ENCRYPTION_KEY=settings.encryption_key,
        BASE_URL=settings.base_url,
        SITE_NAME=settings.site_name,
        REPORT_SCHEDULE=settings.report_periods(),
        SITE_TIMEZONE=settings.timezone,
        LOCALES=LOCALES,
        METRICS_ALLOW=settings.metrics_networks(),  # who may read /metrics without a token
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        LOGIN_MAX_FAILURES=settings.login_max_failures,
        LOGIN_LOCKOUT_MINUTES=settings.login_lockout_minutes,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.session_hours),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,  # a patrol form may stay open for a whole round
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        SEND_FILE_MAX_AGE_DEFAULT=timedelta(days=7),
    )
    if config:
        app.config.update(config)

    # opskit.web imports the dashboard, which imports the domains, whose models import opskit.db
    # and so run this file first: at module level, a domain imported first would meet itself
    # half-built (the domains themselves are imported by name, below)
    from opskit import web  # lazy: a real cycle, opskit -> web -> dashboard -> domains -> opskit

    bounds.install_converter(app)
    db.init_app(app)
    audit.install()
    i18n.init_app(app)
    people.init_app(app)
    auth.init_app(app)
    web.init_app(app)
    bounds.init_app(app)
    app.extensions["opskit.app_factory"] = create_app  # poller processes build their apps by it
    for name in DOMAINS:
        importlib.import_module(name).init_app(app)  # the domains: named, imported here
    i18n.filters_said_per_reader(app)  # every blueprint's filters are in by now
    # every model is imported now: relate the mappers once here (~0.2 s), not inside the first
    # request or report that queries (and a wrong relationship fails at start, not on a page)
    configure_mappers()
    return app
