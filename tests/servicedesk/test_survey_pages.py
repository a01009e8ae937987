"""The survey's pages: the public page of the link (no account, no navigation, nothing
internal, the browser's session stays anonymous), its refusals with their status, the score
refused naming the field with the comment kept, and the engineer's page with the QR code and
the tablet hand-over."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from html import unescape

import pytest
import segno
from flask import Flask, url_for
from flask.testing import FlaskClient
from flask_babel import force_locale, format_date
from itsdangerous import URLSafeSerializer
from sqlalchemy import select
from werkzeug.routing.converters import NumberConverter

from opskit import clock, db
from opskit.audit import acting_as
from opskit.servicedesk import services
from opskit.servicedesk.models import ServiceRequest, Status, Survey
from opskit.servicedesk.services import surveys
from tests.assets.test_labels import svg_matrix
from tests.conftest import CSRF_RE, login
from tests.servicedesk.util import MIN, new, user_id
from tests.test_access import PUBLIC
from tests.test_page_walk import problems_in, visible_text

DAY = timedelta(days=1)
#: what the requester must never see of the request (opskit's own records of it)
INTERNAL = (
    "王芳",  # the requester's name, department and phone
    "财务部",
    "13800138000",
    "硒鼓卡在第二个进纸口",  # the description
    "搓纸轮老化",  # the cause, the work done
    "更换搓纸轮",
)


@dataclass(frozen=True)
class Case:
    request_id: int
    number: str
    title: str
    token: str
    link: str  # the path of the link
    survey_id: int


def _closed(title: str = "打印机无法打印") -> Case:
    t0 = (clock.now() - DAY).replace(second=0, microsecond=0)
    req = new(
        t0,
        title=title,
        description="硒鼓卡在第二个进纸口，打印时报错",
        requester_name="王芳",
        requester_department="财务部",
        requester_phone="13800138000",
    )
    with acting_as("engineer", user_id("engineer")):
        services.resolve(req, "搓纸轮老化", "更换搓纸轮", at=t0 + 30 * MIN)
        services.close(req, at=t0 + 60 * MIN)
    survey = services.survey_of(req.id)
    assert survey is not None
    db.session().commit()
    token = services.token_for(survey)
    return Case(req.id, req.number, title, token, f"/survey/{token}", survey.id)


@pytest.fixture
def case(app: Flask) -> Case:
    with app.test_request_context("/"):
        return _closed()


def answer_of(app: Flask, survey_id: int) -> tuple:
    with app.app_context():
        row = db.session().get(Survey, survey_id)
        assert row is not None
        return (row.score, row.comment, row.via, row.used_at is not None)


NOTHING = (None, "", None, False)


def token_of(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def post_answer(client: FlaskClient, path: str, data: dict, token_page: str | None = None):
    """POST like the browser: with the CSRF token of the page it was shown."""
    page = token_page or client.get(path).get_data(as_text=True)
    return client.post(path, data={"csrf_token": token_of(page), **data})


def is_anonymous(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" not in session


# --- the public page ----------------------------------------------------------------------------


def test_the_public_page_shows_the_request_and_nothing_internal(
    app: Flask, client: FlaskClient, case: Case
) -> None:
    response = client.get(case.link)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    text = visible_text(page)
    with app.test_request_context("/"):
        req = db.session().get(ServiceRequest, case.request_id)
        assert req is not None
        with force_locale("zh_CN"):
            day = format_date(req.raised_at.astimezone(clock.site_tz()).date(), "long")
    for shown in (case.number, case.title, day, "Engineer"):  # the persona's full name
        assert shown in text, shown
    for hidden in INTERNAL:
        assert hidden not in page, hidden
    assert not re.search(r"\bengineer\b", text)  # the engineer's login: the full name is shown
    # no navigation, no link into opskit, no script: only its own form and the language switch
    assert "<nav" not in page and "navbar" not in page
    assert re.findall(r"<a\b", page) == []
    assert "<script" not in page
    forms = re.findall(r"<form\b[^>]*>", page)
    actions = [m.group(1) if (m := re.search(r'action="([^"]*)"', f)) else "" for f in forms]
    assert sorted(actions) == ["", "/language"]
    # five large score buttons
    assert re.findall(r'name="score"[^>]*value="(\d)"', page) == ["1", "2", "3", "4", "5"]
    assert page.count('class="btn btn-outline-primary survey-score"') == 5
    assert "min-height: 72px" in page
    assert problems_in("surveys.answer", text, "zh_CN", set(), {"engineer": "Engineer"}) == []


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_the_public_page_speaks_the_chosen_language(
    client: FlaskClient, case: Case, locale: str
) -> None:
    with client.session_transaction() as session:
        session["locale"] = locale
    text = visible_text(client.get(case.link).get_data(as_text=True))
    words = {"zh_CN": ("满意度调查", "非常满意", "提交"), "en": ("Satisfaction survey", "Submit")}
    for word in words[locale]:
        assert word in text
    assert problems_in("surveys.answer", text, locale, set(), {"engineer": "Engineer"}) == []


def test_answering_records_once_and_thanks(app: Flask, client: FlaskClient, case: Case) -> None:
    response = post_answer(client, case.link, {"score": "5", "comment": "很快就修好了"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(case.link)
    thanks = client.get(case.link)  # this browser answered: the thanks again, not a refusal
    assert thanks.status_code == 200
    assert 'id="survey-thanks"' in thanks.get_data(as_text=True)
    assert answer_of(app, case.survey_id) == (5, "很快就修好了", "link", True)
    # the same link again, from this browser or another
    again = post_answer(client, case.link, {"score": "1", "comment": "改主意了"}, thanks.text)
    assert again.status_code == 410
    other = app.test_client()
    used = other.get(case.link)
    assert used.status_code == 410
    assert 'data-reason="used"' in used.get_data(as_text=True)
    assert post_answer(other, case.link, {"score": "1"}, used.text).status_code == 410
    assert answer_of(app, case.survey_id) == (5, "很快就修好了", "link", True)
    assert is_anonymous(client) and is_anonymous(other)


def _refused_links(app: Flask, case: Case) -> dict[str, tuple[str, int]]:
    """reason -> (path, status) of a link refused for that reason."""
    signer = URLSafeSerializer(str(app.secret_key), salt=surveys.SALT)
    with app.test_request_context("/"):
        other = _closed("另一个请求")
        never = new(clock.now() - DAY, title="还没解决")
        db.session().commit()
        other_nonce = db.session().get(Survey, other.survey_id).token_nonce  # type: ignore[union-attr]
    flipped = case.token[:5] + ("A" if case.token[5] != "A" else "B") + case.token[6:]
    return {
        "tampered": (f"/survey/{flipped}", 404),
        "wrong-nonce": (f"/survey/{signer.dumps([case.request_id, other_nonce])}", 404),
        "unknown": (f"/survey/{signer.dumps([never.id, 'n' * 22])}", 404),
    }


@pytest.mark.parametrize("kind", ["tampered", "wrong-nonce", "unknown"])
def test_a_tampered_or_unknown_link_is_not_found(
    app: Flask, client: FlaskClient, case: Case, kind: str
) -> None:
    path, status = _refused_links(app, case)[kind]
    reason = "unknown" if kind == "unknown" else "tampered"
    response = client.get(path)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert f'data-reason="{reason}"' in page
    assert 'id="survey-form"' not in page
    assert post_answer(client, path, {"score": "5"}, page).status_code == status
    assert answer_of(app, case.survey_id) == NOTHING
    with app.app_context():
        assert db.session().scalar(select(Survey.id).where(Survey.used_at.is_not(None))) is None


def test_an_expired_link_is_gone(app: Flask, client: FlaskClient, case: Case) -> None:
    with app.app_context():
        expires = db.session().get(Survey, case.survey_id).expires_at  # type: ignore[union-attr]
    with clock.frozen(expires - MIN):
        assert client.get(case.link).status_code == 200
    with clock.frozen(expires + MIN):
        response = client.get(case.link)
        assert response.status_code == 410
        page = response.get_data(as_text=True)
        assert 'data-reason="expired"' in page and "已过期" in page
        assert post_answer(client, case.link, {"score": "5"}, page).status_code == 410
    assert answer_of(app, case.survey_id) == NOTHING


def test_the_refusals_say_which_in_both_languages(
    app: Flask, client: FlaskClient, case: Case
) -> None:
    pages = {}
    for locale in ("zh_CN", "en"):
        with client.session_transaction() as session:
            session["locale"] = locale
        for kind, (path, _status) in _refused_links(app, case).items():
            pages[(locale, kind)] = visible_text(client.get(path).get_data(as_text=True))
    assert "无效" in pages[("zh_CN", "tampered")] and "not valid" in pages[("en", "tampered")]
    assert "不存在" in pages[("zh_CN", "unknown")] and "not exist" in pages[("en", "unknown")]
    assert pages[("zh_CN", "tampered")] != pages[("zh_CN", "unknown")]


@pytest.mark.parametrize("score", ["9", "0", "", "abc"])
def test_a_wrong_score_is_refused_naming_the_field_and_keeping_the_comment(
    app: Flask, client: FlaskClient, case: Case, score: str
) -> None:
    response = post_answer(
        client, case.link, {"score": score, "comment": "打印机修好了 <b>很快</b>"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-field="score"' in page and "1 到 5" in page
    comment = re.search(r'<textarea[^>]*name="comment"[^>]*>(.*?)</textarea>', page, re.S)
    assert comment and unescape(comment.group(1)) == "打印机修好了 <b>很快</b>"
    assert "<b>很快</b>" not in page  # kept as text, not markup
    assert answer_of(app, case.survey_id) == NOTHING
    # the corrected answer goes through
    fixed = post_answer(client, case.link, {"score": "4", "comment": "打印机修好了"}, page)
    assert fixed.status_code == 303
    assert answer_of(app, case.survey_id) == (4, "打印机修好了", "link", True)


def test_the_form_needs_its_csrf_token(app: Flask, client: FlaskClient, case: Case) -> None:
    client.get(case.link)
    assert client.post(case.link, data={"score": "5"}).status_code == 400
    assert client.post(case.link, data={"score": "5", "csrf_token": "forged"}).status_code == 400
    assert answer_of(app, case.survey_id) == NOTHING


def _sample_url(app: Flask, rule) -> str:
    values = {
        arg: 1 if isinstance(rule._converters[arg], NumberConverter) else "x"
        for arg in rule.arguments
    }
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_no_other_page_is_reachable_from_the_public_page(
    app: Flask, client: FlaskClient, case: Case
) -> None:
    page = client.get(case.link).get_data(as_text=True)
    assert post_answer(client, case.link, {"score": "3"}, page).status_code == 303
    assert is_anonymous(client)
    for path in ("/", "/requests/", f"/requests/{case.request_id}/survey", "/alerts/"):
        response = client.get(path)
        if response.status_code == 404 and path == "/requests/":
            continue  # the request list is not routed yet
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path
    checked = 0
    for rule in app.url_map.iter_rules():  # every page of opskit that is not public
        if rule.endpoint in PUBLIC or rule.endpoint == "surveys.answer":
            continue
        if "GET" in (rule.methods or ()) and not rule.rule.startswith("/api/"):
            response = client.get(_sample_url(app, rule))
            if getattr(app.view_functions[rule.endpoint], "opskit_scraped", False):
                # /metrics: for scrapers with a token, a session never opens it
                assert response.status_code == 401, rule.rule
                continue
            assert response.status_code == 302, rule.rule
            assert response.headers["Location"].startswith("/login?next="), rule.rule
            checked += 1
    assert checked > 50
    # posting elsewhere with this session's CSRF token: refused, nothing done
    token = token_of(page)
    for path in (f"/requests/{case.request_id}/survey", f"/requests/{case.request_id}/survey/new"):
        response = client.post(path, data={"csrf_token": token, "score": "1"})
        assert response.status_code == 401, path
    assert answer_of(app, case.survey_id) == (3, "", "link", True)
    assert is_anonymous(client)


def test_a_logged_in_engineer_sees_the_same_page(app: Flask, client: FlaskClient, case) -> None:
    login(client, "engineer")
    page = client.get(case.link).get_data(as_text=True)
    assert "<nav" not in page and re.findall(r"<a\b", page) == []


# --- the engineer's page -------------------------------------------------------------------------


def test_the_survey_page_shows_the_link_and_its_qr_code(
    app: Flask, client: FlaskClient, case: Case
) -> None:
    login(client, "engineer")
    page = client.get(f"/requests/{case.request_id}/survey").get_data(as_text=True)
    link = f"http://localhost{case.link}"
    assert f'<code id="survey-link">{link}</code>' in page
    svg = re.search(r'<div class="survey-qr[^>]*>(<svg.*?</svg>)', page, re.S)
    assert svg, "no inline SVG QR code"
    qr = segno.make_qr(link, error="q")
    assert svg_matrix(svg.group(1)) == [[bool(v) for v in row] for row in qr.matrix_iter(border=4)]
    assert 'id="survey-loopback"' in page  # localhost: phones cannot open it
    assert 'id="survey-form"' in page
    app.config["BASE_URL"] = "https://opskit.lan:8443"
    page = client.get(f"/requests/{case.request_id}/survey").get_data(as_text=True)
    assert f'<code id="survey-link">https://opskit.lan:8443{case.link}</code>' in page
    assert 'id="survey-loopback"' not in page


def test_the_requester_answers_on_the_tablet(app: Flask, client: FlaskClient, case: Case) -> None:
    login(client, "engineer")
    path = f"/requests/{case.request_id}/survey"
    wrong = post_answer(client, path, {"score": "0", "comment": "师傅很专业"})
    assert wrong.status_code == 400
    assert 'data-field="score"' in wrong.text and "师傅很专业</textarea>" in wrong.text
    assert answer_of(app, case.survey_id) == NOTHING
    assert post_answer(client, path, {"score": "5", "comment": "师傅很专业"}).status_code == 303
    assert answer_of(app, case.survey_id) == (5, "师傅很专业", "tablet", True)
    page = client.get(path).get_data(as_text=True)
    assert 'data-state="answered"' in page and "师傅很专业" in page
    assert 'id="survey-form"' not in page and 'id="survey-qr"' not in page
    again = post_answer(client, path, {"score": "1"}, page)
    assert again.status_code == 409 and 'id="survey-refused"' in again.text
    assert app.test_client().get(case.link).status_code == 410  # the link is used too
    assert answer_of(app, case.survey_id) == (5, "师傅很专业", "tablet", True)


def test_a_viewer_sees_the_survey_but_cannot_hand_over(
    app: Flask, client: FlaskClient, case: Case
) -> None:
    login(client, "viewer")
    path = f"/requests/{case.request_id}/survey"
    page = client.get(path).get_data(as_text=True)
    assert 'id="survey-panel"' in page and 'id="survey-form"' not in page
    assert post_answer(client, path, {"score": "5"}, page).status_code == 403
    assert answer_of(app, case.survey_id) == NOTHING


def test_a_resolved_request_gets_its_survey_on_demand(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context("/"):
        req = new(clock.now() - DAY, title="邮箱登录失败")
        services.resolve(req, "密码过期", "重置密码", at=clock.now() - DAY + 20 * MIN)
        open_one = new(clock.now() - DAY, title="还在处理")
        db.session().commit()
        ids = (req.id, open_one.id)
    login(client, "engineer")
    page = client.get(f"/requests/{ids[0]}/survey").get_data(as_text=True)
    assert 'data-state="none"' in page and 'id="survey-create"' in page
    made = post_answer(client, f"/requests/{ids[0]}/survey/new", {}, page)
    assert made.status_code == 303
    page = client.get(f"/requests/{ids[0]}/survey").get_data(as_text=True)
    assert 'data-state="open"' in page and 'id="survey-link"' in page
    with app.app_context():
        survey = db.session().scalar(select(Survey).where(Survey.request_id == ids[0]))
        assert survey is not None and survey.used_at is None
        status = db.session().get(ServiceRequest, ids[0]).status  # type: ignore[union-attr]
        assert status == Status.RESOLVED.value
    # a request still being worked: no survey, no form; asking is refused naming the status
    page = client.get(f"/requests/{ids[1]}/survey").get_data(as_text=True)
    assert 'id="survey-form"' not in page and 'id="survey-create"' not in page
    refused = post_answer(client, f"/requests/{ids[1]}/survey/new", {}, page)
    assert refused.status_code == 400 and 'id="error-status"' in refused.text
    assert client.get("/requests/999999/survey").status_code == 404


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("role", ["engineer", "viewer"])
def test_the_survey_page_reads_well(app: Flask, case: Case, locale: str, role: str) -> None:
    """The page walk's checks (no identifier, stored key or login name shown), open and
    answered, in both languages."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["locale"] = locale
    login(client, role)
    keys = {s.value for s in Status} | {"link", "tablet", "open", "answered", "expired", "none"}
    path = f"/requests/{case.request_id}/survey"

    def check() -> None:
        page = client.get(path).get_data(as_text=True)
        assert problems_in("surveys.tablet", visible_text(page), locale, keys, {}) == []
        assert ("满意度调查" in page) == (locale == "zh_CN")

    check()  # open: the link, the QR code (and the form for the engineer)
    with app.test_request_context("/"):
        services.answer(case.token, 4, "不错")
        db.session().commit()
    check()  # answered
