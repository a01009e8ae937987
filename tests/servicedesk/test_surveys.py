"""The satisfaction survey's data layer, on every database under test: a closed request gets
its survey; the signed link round trip; expired, used, tampered and unknown links refused with
their reason and nothing recorded; a score outside 1-5 refused naming the field; two answers
at once record one; the tablet hand-over; the figures for the reports."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from flask import Flask
from itsdangerous import URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from opskit import db
from opskit.audit import acting_as
from opskit.servicedesk import queries, services
from opskit.servicedesk.models import ServiceRequest, Survey
from opskit.servicedesk.services import surveys
from opskit.servicedesk.services.surveys import Refusal, SurveyRefused, Via
from opskit.validation import ValidationFailed
from tests.servicedesk.util import MIN, new, user_id

DAY = timedelta(days=1)


def closed(at: datetime, title: str = "打印机卡纸", **values) -> ServiceRequest:
    """A request raised at ``at``, resolved by the engineer 30 minutes later and closed at
    ``at`` + 60 minutes (flushed)."""
    req = new(at, title=title, **values)
    with acting_as("engineer", user_id("engineer")):
        services.resolve(req, "进纸器卡纸", "取出卡纸", at=at + 30 * MIN)
        services.close(req, at=at + 60 * MIN)
    return req


def state(survey_id: int) -> tuple:
    """What an answer writes, read fresh from the database."""
    sess = db.session()
    sess.expire_all()
    row = sess.get(Survey, survey_id)
    assert row is not None
    return (row.used_at, row.answered_at, row.score, row.comment, row.via)


UNANSWERED = (None, None, None, "", None)


def flip(token: str, index: int) -> str:
    """The token with one character changed (another base64 character)."""
    char = token[index]
    return token[:index] + ("A" if char != "A" else "B") + token[index + 1 :]


# --- the survey and its link ----------------------------------------------------------------


def test_closing_a_request_opens_its_survey(ctx: Session, t0: datetime) -> None:
    req = closed(t0)
    survey = services.survey_of(req.id)
    assert survey is not None
    assert survey.created_at == t0 + 60 * MIN
    assert survey.expires_at == t0 + 60 * MIN + timedelta(days=services.SURVEY_EXPIRY_DAYS)
    assert services.SURVEY_EXPIRY_DAYS == 7
    assert len(survey.token_nonce) >= 20
    assert state(survey.id) == UNANSWERED
    # asked again (reopened and closed, the tablet page): the same survey, the same link
    token = services.token_for(survey)
    assert services.open_survey(req) is survey
    assert services.token_for(services.open_survey(req)) == token


def test_expiry_follows_the_app_config(db_app: Flask, ctx: Session, t0: datetime) -> None:
    db_app.config["SURVEY_EXPIRY_DAYS"] = 2
    req = closed(t0)
    survey = services.survey_of(req.id)
    assert survey is not None and survey.expires_at == t0 + 60 * MIN + 2 * DAY


def test_an_open_request_has_no_survey_yet(ctx: Session, t0: datetime) -> None:
    req = new(t0)
    with pytest.raises(ValidationFailed) as refused:
        services.open_survey(req)
    assert "status" in refused.value.errors
    assert services.survey_of(req.id) is None
    # a resolved request may get its survey before the requester confirms
    services.resolve(req, "网线松动", at=t0 + 10 * MIN)
    assert services.open_survey(req, at=t0 + 11 * MIN).expires_at == t0 + 11 * MIN + 7 * DAY


def test_token_round_trip_records_the_answer_once(ctx: Session, t0: datetime) -> None:
    req = closed(t0)
    survey = services.survey_of(req.id)
    assert survey is not None
    token = services.token_for(survey)
    assert services.check_link(token) is survey
    at = t0 + 2 * DAY
    services.answer(token, "5", "  响应很快，谢谢  ", at=at)
    ctx.commit()
    assert state(survey.id) == (at, at, 5, "响应很快，谢谢", "link")
    with pytest.raises(SurveyRefused) as again:
        services.answer(token, 1, "再来一次", at=at + MIN)
    assert again.value.reason == Refusal.USED
    assert state(survey.id) == (at, at, 5, "响应很快，谢谢", "link")


# --- refusals: nothing recorded ----------------------------------------------------------------


def test_an_expired_link_is_refused(ctx: Session, t0: datetime) -> None:
    req = closed(t0)
    survey = services.survey_of(req.id)
    assert survey is not None
    token = services.token_for(survey)
    for late in (survey.expires_at, survey.expires_at + MIN):
        with pytest.raises(SurveyRefused) as refused:
            services.answer(token, 4, "晚了", at=late)
        assert refused.value.reason == Refusal.EXPIRED
    ctx.commit()
    assert state(survey.id) == UNANSWERED
    services.answer(token, 4, "还来得及", at=survey.expires_at - MIN)  # a minute before: fine


def test_a_tampered_link_is_refused(db_app: Flask, ctx: Session, t0: datetime) -> None:
    mine = closed(t0, "我的请求")
    other = closed(t0, "别人的请求")
    survey, theirs = services.survey_of(mine.id), services.survey_of(other.id)
    assert survey is not None and theirs is not None
    token = services.token_for(survey)
    signer = URLSafeSerializer(str(db_app.secret_key), salt=surveys.SALT)
    tampered = [
        *(flip(token, i) for i in (0, len(token) // 2, len(token) - 5)),  # a changed character
        token[:-3],  # copied incompletely
        "",
        "not-a-token",
        signer.dumps([mine.id, theirs.token_nonce]),  # another survey's nonce
        signer.dumps([mine.id, "x" * 22]),  # a made-up nonce
        signer.dumps({"r": mine.id}),  # well signed, not a survey link's payload
        URLSafeSerializer(str(db_app.secret_key), salt="other").dumps(
            [mine.id, survey.token_nonce]
        ),
        URLSafeSerializer("another-secret", salt=surveys.SALT).dumps([mine.id, survey.token_nonce]),
    ]
    for bad in tampered:
        with pytest.raises(SurveyRefused) as refused:
            services.answer(bad, 5, "", at=t0 + DAY)
        assert refused.value.reason == Refusal.TAMPERED, bad
    ctx.commit()
    assert state(survey.id) == UNANSWERED and state(theirs.id) == UNANSWERED


def test_an_unknown_link_is_refused(db_app: Flask, ctx: Session, t0: datetime) -> None:
    """Well signed, but its request has no survey (a request never closed; one deleted)."""
    signer = URLSafeSerializer(str(db_app.secret_key), salt=surveys.SALT)
    req = new(t0)
    for request_id in (req.id, req.id + 1000):
        with pytest.raises(SurveyRefused) as refused:
            services.answer(signer.dumps([request_id, "n" * 22]), 5, "", at=t0 + DAY)
        assert refused.value.reason == Refusal.UNKNOWN
    assert ctx.scalar(select(Survey.id)) is None


@pytest.mark.parametrize("score", [0, 6, -1, "0", "6", "abc", "", None, "4.5", True])
def test_a_score_outside_1_to_5_is_refused_naming_the_field(
    ctx: Session, t0: datetime, score
) -> None:
    req = closed(t0)
    survey = services.survey_of(req.id)
    assert survey is not None
    with pytest.raises(ValidationFailed) as refused:
        services.answer(services.token_for(survey), score, "评论", at=t0 + DAY)
    assert set(refused.value.errors) == {"score"}
    ctx.commit()
    assert state(survey.id) == UNANSWERED


def test_a_comment_too_long_is_refused(ctx: Session, t0: datetime) -> None:
    req = closed(t0)
    survey = services.survey_of(req.id)
    assert survey is not None
    with pytest.raises(ValidationFailed) as refused:
        services.answer(services.token_for(survey), 9, "很" * 2001, at=t0 + DAY)
    assert set(refused.value.errors) == {"score", "comment"}
    ctx.commit()
    assert state(survey.id) == UNANSWERED


# --- two answers at once ----------------------------------------------------------------------


def test_an_answer_read_before_another_was_recorded_records_nothing(
    db_app: Flask, ctx: Session, t0: datetime
) -> None:
    """The guarded write itself: this session read the survey unused, another answered and
    committed meanwhile; this one's write finds no unused row and is refused."""
    req = closed(t0)
    ctx.commit()
    survey = services.survey_of(req.id)
    assert survey is not None
    token = services.token_for(survey)
    stale = services.check_link(token, at=t0 + DAY)  # read unused here
    with db_app.app_context():  # another request (its own session) answers first
        db.write(lambda: services.answer(token, 2, "第一", at=t0 + DAY))
    with pytest.raises(SurveyRefused) as refused:
        db.write(lambda: surveys._record(stale, 5, "第二", Via.LINK, t0 + DAY + MIN))
    assert refused.value.reason == Refusal.USED
    assert state(survey.id)[2:] == (2, "第一", "link")


def _answer_in_threads(app: Flask, token: str, at: datetime, barrier_in_work: bool) -> list:
    """Two submissions of one link at once, each in its own thread, app context and session;
    what each got (the survey's score or the refusal's reason)."""
    barrier = threading.Barrier(2, timeout=20)
    results: list = [None, None]

    def submit(i: int) -> None:
        with app.app_context():

            def work() -> int | None:
                survey = services.check_link(token, at)
                if barrier_in_work:
                    barrier.wait()  # both have read the survey unused before either writes
                return surveys._record(survey, i + 3, f"第{i}", Via.LINK, at).score

            try:
                if not barrier_in_work:
                    barrier.wait()
                results[i] = db.write(lambda: work(), attempts=1)
            except SurveyRefused as refused:
                results[i] = refused.reason

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_submissions_at_once_record_one(db_app: Flask, ctx: Session, t0: datetime) -> None:
    req = closed(t0)
    ctx.commit()
    survey = services.survey_of(req.id)
    assert survey is not None
    token = services.token_for(survey)
    results = _answer_in_threads(db_app, token, t0 + DAY, barrier_in_work=False)
    assert results.count(Refusal.USED) == 1, results
    winner = next(r for r in results if r != Refusal.USED)
    assert winner in (3, 4) and state(survey.id)[2] == winner


def test_two_writes_racing_on_postgresql_record_one(db_app: Flask, ctx: Session, t0) -> None:
    """Both read the survey unused, then both write: the database's row lock and the
    ``WHERE used_at IS NULL`` make the second write touch no row."""
    if db.session().get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite writers take turns (BEGIN IMMEDIATE): they cannot both read first")
    req = closed(t0)
    ctx.commit()
    survey = services.survey_of(req.id)
    assert survey is not None
    results = _answer_in_threads(db_app, services.token_for(survey), t0 + DAY, True)
    assert results.count(Refusal.USED) == 1, results
    assert state(survey.id)[2] == next(r for r in results if r != Refusal.USED)


# --- the tablet ---------------------------------------------------------------------------------


def test_the_requester_answers_on_the_engineers_tablet(ctx: Session, t0: datetime) -> None:
    req = new(t0)
    services.resolve(req, "驱动异常", "重装驱动", at=t0 + 20 * MIN)
    assert services.survey_of(req.id) is None
    with acting_as("engineer", user_id("engineer")):
        survey = services.answer_on_tablet(req.id, 4, "师傅很耐心", at=t0 + 25 * MIN)
    assert survey.request_id == req.id  # made on demand: the request is resolved
    at = t0 + 25 * MIN
    assert state(survey.id) == (at, at, 4, "师傅很耐心", "tablet")
    with acting_as("engineer", user_id("engineer")), pytest.raises(SurveyRefused) as again:
        services.answer_on_tablet(req.id, 1, "", at=t0 + 26 * MIN)
    assert again.value.reason == Refusal.USED
    # and the link of an answered survey is used too
    with pytest.raises(SurveyRefused) as by_link:
        services.answer(services.token_for(survey), 1, "", at=t0 + 27 * MIN)
    assert by_link.value.reason == Refusal.USED
    assert state(survey.id)[2] == 4


def test_the_tablet_is_for_engineers_and_follows_the_rules(ctx: Session, t0: datetime) -> None:
    req = closed(t0)
    survey = services.survey_of(req.id)
    assert survey is not None
    with acting_as("viewer", user_id("viewer")), pytest.raises(services.NotAllowed):
        services.answer_on_tablet(req.id, 5, "")
    with acting_as("engineer", user_id("engineer")):
        with pytest.raises(ValidationFailed) as wrong:
            services.answer_on_tablet(req.id, 7, "很好", at=t0 + DAY)
        assert set(wrong.value.errors) == {"score"}
        with pytest.raises(SurveyRefused) as late:
            services.answer_on_tablet(req.id, 5, "", at=survey.expires_at)
        assert late.value.reason == Refusal.EXPIRED
        open_one = new(t0, title="还在处理")
        with pytest.raises(ValidationFailed) as early:
            services.answer_on_tablet(open_one.id, 5, "", at=t0 + DAY)
        assert "status" in early.value.errors
    ctx.commit()
    assert state(survey.id) == UNANSWERED


# --- the figures for the reports ----------------------------------------------------------------


def test_summary_and_answers_of_a_period(ctx: Session, t0: datetime) -> None:
    """Six surveys created in a week: five answered (scores 5, 5, 4, 2 in the week, one the
    week after), one never. The week's figures are computed by hand."""
    start = t0 - 7 * DAY
    end = start + 7 * DAY
    made = []
    for i in range(6):
        req = closed(start + i * DAY + 2 * 60 * MIN, title=f"请求 {i}")
        survey = services.survey_of(req.id)
        assert survey is not None
        made.append((req, survey))
    answers = [(0, 5, "很好"), (1, 5, ""), (2, 4, "还行"), (3, 2, "太慢")]
    for index, score, comment in answers:
        req, survey = made[index]
        services.answer(services.token_for(survey), score, comment, at=survey.created_at + DAY)
    late = made[4][1]
    services.answer(services.token_for(late), 1, "下周才填", at=end + 3 * 60 * MIN)
    ctx.commit()

    summary = queries.survey_summary(start, end)
    assert summary.answered == 4
    assert summary.by_score == {1: 0, 2: 1, 3: 0, 4: 1, 5: 2}
    assert summary.average == pytest.approx((5 + 5 + 4 + 2) / 4)
    assert (summary.created, summary.responded) == (6, 5)
    assert summary.response_rate == pytest.approx(5 / 6)

    rows = queries.survey_answers(start, end)
    assert [(r.number, r.score, r.comment, r.via) for r in rows] == [
        (made[i][0].number, score, comment, "link") for i, score, comment in answers
    ]
    assert {r.engineer for r in rows} == {"engineer"}
    assert [r.title for r in rows] == ["请求 0", "请求 1", "请求 2", "请求 3"]

    after = queries.survey_summary(end, end + 7 * DAY)
    assert (after.answered, after.by_score[1], after.average) == (1, 1, 1.0)
    assert (after.created, after.response_rate) == (0, None)
    empty = queries.survey_summary(start - 30 * DAY, start - 20 * DAY)
    assert (empty.answered, empty.average, empty.response_rate) == (0, None, None)
    assert queries.survey_of_request(made[0][0].id) is made[0][1]
