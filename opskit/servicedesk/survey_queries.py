"""Reads of the satisfaction surveys (满意度) for the request pages and the reports; offered to
other packages through ``opskit.servicedesk.queries``.

A period is ``[start, end)`` in aware datetimes (``reports.periods.Period.start/end``).

- ``survey_answers``: the surveys *answered* in the period, oldest first, with their request's
  number and title, the engineer (login name: show it with ``opskit.people.full_name``), score
  and comment.
- ``survey_summary``: over the same answers, their count, the average score and the count of
  each score 1-5; and the response rate: of the surveys *created* in the period, the share
  answered by now (expired or still open unanswered ones count as not answered, so the rate of
  a period still running can only rise). Answered / created of the same period would pass
  100 % at the period's edges; this never does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from opskit import db
from opskit.people import SYSTEM_ACTORS
from opskit.servicedesk.models import ServiceRequest, Survey

SCORES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class SurveyAnswer:
    survey_id: int
    request_id: int
    number: str  # SR-2026-0042
    title: str
    engineer: str | None  # login name of who resolved the request (else its assignee)
    score: int
    comment: str
    answered_at: datetime
    via: str  # "link" or "tablet"


@dataclass(frozen=True)
class SurveySummary:
    answered: int  # surveys answered in the period
    average: float | None  # their mean score, None without answers
    by_score: dict[int, int] = field(default_factory=dict)  # {1: n, ..., 5: n}, every score
    created: int = 0  # surveys created in the period
    responded: int = 0  # of those, answered by now

    @property
    def response_rate(self) -> float | None:
        """Responded / created, 0-1; None when no survey was created in the period."""
        return self.responded / self.created if self.created else None


def engineer_of(req: ServiceRequest) -> str | None:
    """Who the requester is asked about (a login name): the person who resolved the request,
    else the one it is assigned to, else who closed it; never opskit itself (the SLA job, the
    auto-close) nor a command line."""
    for name in (req.resolved_by, req.assigned_to, req.closed_by):
        if name and name not in SYSTEM_ACTORS and name != "anonymous" and ":" not in name:
            return name
    return None


def survey_of_request(request_id: int) -> Survey | None:
    return db.session().scalar(select(Survey).where(Survey.request_id == request_id))


def survey_answers(start: datetime, end: datetime) -> list[SurveyAnswer]:
    """The surveys answered in ``[start, end)``, oldest answer first."""
    rows = db.session().execute(
        select(Survey, ServiceRequest)
        .join(ServiceRequest, ServiceRequest.id == Survey.request_id)
        .where(
            Survey.answered_at.is_not(None),
            Survey.answered_at >= start,
            Survey.answered_at < end,
        )
        .order_by(Survey.answered_at, Survey.id)
    )
    answers = []
    for survey, req in rows:
        assert survey.score is not None and survey.answered_at is not None
        answers.append(
            SurveyAnswer(
                survey_id=survey.id,
                request_id=req.id,
                number=req.number,
                title=req.title,
                engineer=engineer_of(req),
                score=survey.score,
                comment=survey.comment,
                answered_at=survey.answered_at,
                via=survey.via or "",
            )
        )
    return answers


def survey_summary(start: datetime, end: datetime) -> SurveySummary:
    """Count, average and count by score of the answers in ``[start, end)``; the response rate
    of the surveys created in it."""
    sess = db.session()
    counts = dict.fromkeys(SCORES, 0)
    rows = sess.execute(
        select(Survey.score, func.count())
        .where(
            Survey.answered_at.is_not(None),
            Survey.answered_at >= start,
            Survey.answered_at < end,
            Survey.score.is_not(None),
        )
        .group_by(Survey.score)
    )
    for score, count in rows:
        if score is not None:
            counts[score] = count
    answered = sum(counts.values())
    average = sum(s * n for s, n in counts.items()) / answered if answered else None
    created, responded = sess.execute(
        select(func.count(), func.count(Survey.answered_at)).where(
            Survey.created_at >= start, Survey.created_at < end
        )
    ).one()
    return SurveySummary(
        answered=answered,
        average=average,
        by_score=counts,
        created=int(created),
        responded=int(responded),
    )
