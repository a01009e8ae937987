"""Every GET route and every query parameter the code reads, for tests that sweep them all.

The parameter names are read from the code (``request.args.get("room")``, ``_int_arg("page")``
...), so a parameter added tomorrow is swept too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing.converters import NumberConverter

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("opskit", "assets", "inspections", "monitors", "reports")
PARAM_RE = re.compile(
    r"""(?:request\.(?:args|values|form)\.(?:get|getlist)|_(?:int_|date_)?arg)\(\s*["']([a-z_]+)["']"""
)


def query_parameters() -> list[str]:
    names: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            names.update(PARAM_RE.findall(path.read_text(encoding="utf-8")))
    return sorted(names)


def get_routes(app: Flask, number: str = "1", text: str = "x") -> list[tuple[str, str]]:
    """(rule, url) of every GET route but static files, its parts filled with number/text."""
    return get_routes_with(app, lambda numeric: number if numeric else text)


def get_routes_with(app: Flask, fill: Callable[[bool], str]) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint == "static":
            continue
        url = rule.rule
        for name, converter in rule._converters.items():
            url = re.sub(rf"<[^>]*\b{name}>", fill(isinstance(converter, NumberConverter)), url)
        routes.append((rule.rule, url))
    return routes


def fetch(client: FlaskClient, url: str) -> tuple[int, str, str]:
    """(status, content type, text body or "") of a GET, closed (files are not left open)."""
    response = client.get(url)
    try:
        content_type = response.content_type or ""
        text = content_type.startswith("text/") or "json" in content_type
        return response.status_code, content_type, response.get_data(as_text=True) if text else ""
    finally:
        response.close()
