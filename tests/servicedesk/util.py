"""Small helpers of the service-desk tests (call inside an app context)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from opskit import db
from opskit.models import User
from opskit.servicedesk import services
from opskit.servicedesk.models import RequestEvent, ServiceRequest
from tests.conftest import PERSONAS, login

MIN = timedelta(minutes=1)


def new(at: datetime, urgency: str = "A", **values: Any) -> ServiceRequest:
    """A phone request raised at ``at`` (flushed)."""
    data: dict[str, Any] = {
        "description": "财务部打印机无法打印，提示卡纸",
        "category": "hardware",
        "channel": "phone",
        "urgency": urgency,
        "requester_name": "王芳",
        "requester_department": "财务部",
        "requester_phone": "13800138000",
        "raised_at": at,
    }
    data.update(values)
    return services.open_request(**data)


def events(req: ServiceRequest) -> list[tuple[str, str | None, str | None, str]]:
    """(kind, from, to, detail) of the request's history, oldest first."""
    db.session().flush()
    rows = db.session().scalars(
        select(RequestEvent).where(RequestEvent.request_id == req.id).order_by(RequestEvent.id)
    )
    return [(e.kind, e.from_status, e.to_status, e.detail) for e in rows]


def kinds(req: ServiceRequest) -> list[str]:
    return [kind for kind, *_rest in events(req)]


def user_id(username: str) -> int:
    found = db.session().scalar(select(User.id).where(User.username == username))
    assert found is not None
    return found


def page_problems(app: Any, urls: list[str], keys: set[str]) -> list[str]:
    """The page walk's checks (no stored key or identifier, no login name) of ``urls`` read by
    every persona in both languages; each page must answer 200."""
    from tests.test_page_walk import problems_in, visible_text  # lazy: builds its route list

    keys = {k for k in keys if re.fullmatch(r"[a-z][a-z0-9_]*", k)}
    logins = {name: name.title() for name in PERSONAS}
    problems = []
    for locale in ("zh_CN", "en"):
        for role in PERSONAS:
            client = app.test_client()
            with client.session_transaction() as session:
                session["locale"] = locale
            login(client, role)
            for url in urls:
                response = client.get(url)
                assert response.status_code == 200, (url, role, response.status_code)
                text = visible_text(response.get_data(as_text=True))
                for problem in problems_in(url, text, locale, keys, logins):
                    problems.append(f"{url} ({role}, {locale}): {problem}")
    return problems
