"""No 500 from a number past 64 bits, in a path or a query parameter (issue #13, item 4).

Every GET route is requested with each of its ``<int:...>`` parts set to 2**64 (expected: 404,
like any unknown id), and with every query parameter a view reads (found in the code, so a new
one is swept too) set to a number past the database's range; on SQLite and PostgreSQL.
"""

from __future__ import annotations

from flask import Flask

from tests.conftest import login
from tests.sweep import fetch, get_routes, query_parameters

HUGE = str(2**64 + 7)


def test_the_sweep_knows_the_parameters_that_failed() -> None:
    assert {"page", "room", "rack", "room_id", "plan_id", "ids"} <= set(query_parameters())


def test_no_route_answers_500_to_a_number_past_64_bits(db_app: Flask) -> None:
    client = db_app.test_client()
    login(client, "admin")
    query = "&".join(f"{name}={HUGE}" for name in query_parameters())
    failures = []
    for rule, url in get_routes(db_app, number=HUGE):
        for target in (url, f"{url}?{query}"):
            status, _type, _body = fetch(client, target)
            if status >= 500:
                failures.append(f"{status} {rule} ({target[:80]})")
        if "<int:" in rule:
            status, _type, _body = fetch(client, url)
            if status not in (404, 400):
                failures.append(f"{status} for an id past 64 bits: {rule}")
    assert failures == []


def test_out_of_range_answer_names_the_parameter(app: Flask) -> None:
    client = app.test_client()
    login(client, "admin")
    assert client.get(f"/assets/{HUGE}").status_code == 404
    response = client.get(f"/assets/?room={HUGE}")
    assert response.status_code == 400
    assert "数值超出范围（room）" in response.get_data(as_text=True)
