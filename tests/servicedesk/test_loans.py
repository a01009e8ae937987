"""The temporary measure and the spare machine lent: a Loan row, one request at a time, returned
once."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opskit.servicedesk import queries, services
from opskit.servicedesk.models import Loan
from opskit.validation import ValidationFailed
from tests.servicedesk.util import MIN, events, new


def test_a_spare_is_lent_and_returned(ctx, site, t0) -> None:
    req = new(t0, "B", asset_tag="SRV-01")
    services.respond(req, at=t0 + MIN)
    services.set_temporary_measure(
        req, "借用备机顶替，原机送修", site.spare.id, note="带电源线", at=t0 + 10 * MIN
    )
    ctx.commit()
    assert (req.temporary_measure, req.temporary_measure_at) == (
        "借用备机顶替，原机送修",
        t0 + 10 * MIN,
    )
    (loan,) = ctx.scalars(select(Loan)).all()
    assert (loan.asset_id, loan.request_id, loan.lent_at, loan.returned_at, loan.note) == (
        site.spare.id,
        req.id,
        t0 + 10 * MIN,
        None,
        "带电源线",
    )
    assert queries.open_loans() == [loan]
    assert events(req)[-1] == ("temporary_measure", None, None, "SPARE-01")

    services.return_loan(loan, at=t0 + 300 * MIN)
    ctx.commit()
    ctx.expire_all()
    loan = ctx.get(Loan, loan.id)
    assert loan.returned_at == t0 + 300 * MIN and not loan.is_out
    assert queries.open_loans() == []
    assert events(req)[-1] == ("loan_returned", None, None, "SPARE-01")
    with pytest.raises(ValidationFailed) as caught:
        services.return_loan(loan, at=t0 + 301 * MIN)
    assert list(caught.value.errors) == ["loan"]


def test_a_spare_out_on_loan_cannot_be_lent_twice(ctx, site, t0) -> None:
    first = new(t0, "B", client_id="loan-first-01")
    second = new(t0, "B", client_id="loan-second-1")
    services.set_temporary_measure(first, "备机", site.spare.id, at=t0 + MIN)
    with pytest.raises(ValidationFailed) as caught:
        services.set_temporary_measure(second, "备机", site.spare.id, at=t0 + 2 * MIN)
    message = caught.value.errors["spare_asset_id"][0]
    assert "SPARE-01" in message and first.number in message
    assert second.temporary_measure == ""
    services.set_temporary_measure(second, "另一台备机", site.spare2.id, at=t0 + 2 * MIN)
    (loan,) = [x for x in first.loans]
    services.return_loan(loan, at=t0 + 3 * MIN)
    third = new(t0, "C", client_id="loan-third-01")
    services.set_temporary_measure(third, "备机", site.spare.id, at=t0 + 4 * MIN)
    assert [x.asset_id for x in third.loans] == [site.spare.id]


def test_a_bad_measure_is_named(ctx, site, t0) -> None:
    req = new(t0, "B", asset_tag="SRV-01")
    with pytest.raises(ValidationFailed) as caught:
        services.set_temporary_measure(req, " ", 999_999, at=t0 + MIN)
    assert set(caught.value.errors) == {"temporary_measure", "spare_asset_id"}
    with pytest.raises(ValidationFailed) as caught:
        services.set_temporary_measure(req, "自己顶自己", site.server.id, at=t0 + MIN)
    assert list(caught.value.errors) == ["spare_asset_id"]
    assert ctx.scalars(select(Loan)).all() == []


def test_a_measure_without_a_spare_lends_nothing(ctx, site, t0) -> None:
    req = new(t0, "C")
    services.set_temporary_measure(req, "改用共享打印机", at=t0 + MIN)
    assert req.temporary_measure == "改用共享打印机" and req.loans == []
