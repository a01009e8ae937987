"""Arrival by scan: the request's asset label, a label in its room, or refused naming the code."""

from __future__ import annotations

import pytest

from opskit.servicedesk import services
from opskit.validation import ValidationFailed
from tests.servicedesk.util import MIN, events, kinds, new


def test_scanning_the_requests_asset_records_the_arrival(ctx, site, t0) -> None:
    req = new(t0, asset_tag="SRV-01")
    services.respond(req, at=t0 + MIN)
    services.arrive(req, "https://opskit.lan:8443/a/SRV-01", at=t0 + 30 * MIN)
    ctx.commit()
    assert (req.status, req.work_mode, req.onsite_at) == ("in_progress", "onsite", t0 + 30 * MIN)
    assert (req.onsite_how, req.onsite_tag) == ("asset", "SRV-01")
    assert events(req)[-1] == ("onsite", "responded", "in_progress", "SRV-01")


def test_a_label_in_the_same_room_counts_as_the_room(ctx, site, t0) -> None:
    req = new(t0, asset_tag="SRV-01")
    services.arrive(req, "PRN-01", at=t0 + 20 * MIN)  # another rack of room A
    assert (req.onsite_how, req.onsite_tag, req.onsite_at) == ("room", "PRN-01", t0 + 20 * MIN)
    # arriving on a new request records its response too
    assert kinds(req) == ["opened", "responded", "onsite"]


def test_a_request_of_a_room_takes_any_label_in_that_room(ctx, site, t0) -> None:
    req = new(t0, room_id=site.printer.room_id)
    services.arrive(req, "SRV-01", at=t0 + 5 * MIN)
    assert (req.onsite_how, req.onsite_tag) == ("room", "SRV-01")


def test_a_request_of_neither_asset_nor_room_takes_any_registered_label(ctx, site, t0) -> None:
    req = new(t0)
    services.arrive(req, "SW-01", at=t0 + 5 * MIN)
    assert (req.onsite_how, req.onsite_tag) == ("any", "SW-01")


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("SW-01", "SW-01"),  # registered, but in room B
        ("https://opskit.lan/a/SW-01", "SW-01"),
        ("NO-SUCH-TAG", "NO-SUCH-TAG"),
        ("   ", ""),
    ],
)
def test_a_wrong_or_unknown_code_is_refused_and_nothing_recorded(
    ctx, site, t0, code, words
) -> None:
    req = new(t0, asset_tag="SRV-01")
    services.respond(req, at=t0 + MIN)
    with pytest.raises(ValidationFailed) as caught:
        services.arrive(req, code, at=t0 + 9 * MIN)
    assert list(caught.value.errors) == ["scanned_code"]
    assert words in caught.value.errors["scanned_code"][0]
    assert (req.status, req.onsite_at, req.work_mode) == ("responded", None, None)
    assert kinds(req) == ["opened", "responded"]


def test_the_first_arrival_counts(ctx, site, t0) -> None:
    req = new(t0, asset_tag="SRV-01")
    services.arrive(req, "SRV-01", at=t0 + 9 * MIN)
    services.arrive(req, "PRN-01", at=t0 + 15 * MIN)
    assert (req.onsite_at, req.onsite_tag) == (t0 + 9 * MIN, "SRV-01")
    assert kinds(req).count("onsite") == 1
