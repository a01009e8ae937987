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


#: the payloads sent as one value: each is found on its own in an answer (``_unescaped``), so one
#: request per URL checks all three (a third of the requests of one per payload)
PAYLOAD = "".join(PAYLOADS)


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_no_get_route_echoes_markup(app: Flask, role: str) -> None:
    client = app.test_client()
    login(client, role)
    query = "&".join(f"{name}={quote(PAYLOAD)}" for name in query_parameters())
    routes = get_routes(app) + get_routes_with(
        app, lambda numeric: "1" if numeric else quote(PAYLOAD, safe="")
    )
    failures = []
    for rule, url in routes:
        for target in (url, f"{url}?{query}", f"{url}?{query}&adhoc=1"):
            status, content_type, body = fetch(client, target)
            if "html" in content_type and _unescaped(body):
                failures.append(f"{status} {rule}: {target[:100]}")
    assert failures == []


def test_the_payloads_are_each_found_in_an_echo_of_all_of_them() -> None:
    """What makes one value enough: an answer echoing the combined value unescaped is caught
    for each payload, and an escaped echo is not."""
    from markupsafe import escape

    assert _unescaped(f"<p>{PAYLOAD}</p>") == list(PAYLOADS)
    assert _unescaped(f"<p>{escape(PAYLOAD)}</p>") == []


def test_the_offline_round_page_escapes_its_message(app: Flask) -> None:
    client = app.test_client()
    login(client, "engineer")
    response = client.get("/patrol/rounds/new/offline?scheduled_for=" + quote(PAYLOADS[0], safe=""))
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert PAYLOADS[0] not in body and "&lt;meta http-equiv" in body
