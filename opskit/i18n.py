"""Chinese first: locale and time-zone selection, and the date/number filters for templates.

The UI language is the user's own choice (stored on the account), else the one picked on the
login page, else ``OPSKIT_DEFAULT_LOCALE`` (zh_CN). The browser's Accept-Language is ignored on
purpose: machine-room tablets are often set up in English while their users read Chinese.
Times are stored in UTC and shown in the site time zone.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, has_request_context, session
from flask_babel import Babel, format_datetime, get_locale
from flask_login import current_user
from jinja2 import pass_context
from jinja2.defaults import DEFAULT_FILTERS

from opskit import clock

babel = Babel()


def select_locale() -> str:
    """The user's language; outside a request (CLI, poller) the site default."""
    locales = current_app.config["LOCALES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    if current_user and current_user.is_authenticated and current_user.locale in locales:
        return current_user.locale
    chosen = session.get("locale")
    if isinstance(chosen, str) and chosen in locales:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["SITE_TIMEZONE"]


#: the one ``site_tz`` is ``opskit.clock``'s; this name stays for the modules that import it here
site_tz = clock.site_tz


def html_lang() -> str:
    """The value for ``<html lang>``: zh-CN or en (ECharts picks its locale from it)."""
    return str(get_locale() or "zh_CN").replace("_Hans", "").replace("_", "-")


def _fmt_datetime(value: datetime | None, fmt: str = "short") -> str:
    if value is None:
        return ""
    return format_datetime(value, fmt)


def _fmt_duration(value: timedelta | None) -> str:
    """H:MM:SS, negative when overdue (the same format the countdown script writes)."""
    if value is None:
        return ""
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.filters["datetime"] = _fmt_datetime
    app.jinja_env.filters["duration"] = _fmt_duration

    @app.context_processor
    def _i18n_context() -> dict[str, Any]:
        return {"html_lang": html_lang, "current_locale": lambda: str(get_locale())}


def filters_said_per_reader(app: Flask) -> None:
    """Make every filter the app added run when a page is rendered, never when its template is
    compiled (call once every blueprint is registered).

    Jinja works out a filter of a constant (``{{ "db.cache_hit_percent"|metric_label }}``) while
    it compiles the template, and keeps the compiled template for every later request: the words
    would stay in the language (or time zone) of whoever opened the page first. A filter that
    takes the render context is never worked out at compile time, so each added filter is
    wrapped into one; Jinja's own filters are left as they are."""
    for name, function in list(app.jinja_env.filters.items()):
        # Jinja's own filters, and those already taking a context (the mark pass_* sets)
        if DEFAULT_FILTERS.get(name) is function or hasattr(function, "jinja_pass_arg"):
            continue
        app.jinja_env.filters[name] = _per_render(function)


def _per_render(function: Callable[..., Any]) -> Callable[..., Any]:
    @pass_context
    @functools.wraps(function)
    def said(_context: Any, *args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return said
