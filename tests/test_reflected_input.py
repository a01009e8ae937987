"""What a URL carries is never echoed as markup (issue #13, item 3).

``/patrol/rounds/new/offline?scheduled_for=<meta http-equiv="refresh" ...>`` answered the
markup verbatim in a text/html 400. Here every GET route (its path parts and every query
parameter the code reads) gets markup payloads, as each role that can see it; no HTML answer
may contain a payload unescaped.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask import Flask

from tests.conftest import login
from tests.sweep import fetch, get_routes, get_routes_with, query_parameters

# markup echoed back or not; the pages under shifted clocks are test_page_walk's
pytestmark = pytest.mark.dateless

PAYLOADS = (
    '<meta http-equiv="refresh" content="0;url=//evil.example/">',
    '"><svg onload=alert(1)>',
    "'><x-opskit-probe>",
)


def _unescaped(body: str) -> list[str]:
    return [p for p in PAYLOADS if p in body or "<x-opskit-probe>" in body or "<svg onload" in body]


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_no_get_route_echoes_markup(app: Flask, role: str) -> None:
    client = app.test_client()
    login(client, role)
    names = query_parameters()
    failures = []
    for payload in PAYLOADS:
        query = "&".join(f"{name}={quote(payload)}" for name in names)
        routes = get_routes(app) + get_routes_with(
            app, lambda numeric, p=payload: "1" if numeric else quote(p, safe="")
        )
        for rule, url in routes:
            for target in (url, f"{url}?{query}", f"{url}?{query}&adhoc=1"):
                status, content_type, body = fetch(client, target)
                if "html" in content_type and _unescaped(body):
                    failures.append(f"{status} {rule}: {target[:100]}")
    assert failures == []


def test_the_offline_round_page_escapes_its_message(app: Flask) -> None:
    client = app.test_client()
    login(client, "engineer")
    response = client.get("/patrol/rounds/new/offline?scheduled_for=" + quote(PAYLOADS[0], safe=""))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert PAYLOADS[0] not in body and "&lt;meta http-equiv" in body
