"""Many changes at once (``conditions.apply``) mean exactly what one change at a time means,
on both databases: the same alerts, counts, urgencies, flapping, silencing and events, for
random runs of raises and clears of a few conditions over an hour (flaps included), some of
them on assets inside a maintenance window, and for runs that start with alerts already open
or flapping from before the list."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from opskit import db
from opskit.alerts import conditions, services
from opskit.alerts.conditions import Clear, Raise
from opskit.alerts.models import Alert, AlertEvent
from tests import factories

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


@pytest.fixture
def ctx(db_app: Flask):
    with db_app.test_request_context("/"):
        yield db.session()


def _run(rng: random.Random, assets: list[int | None], n: int) -> list[Raise | Clear]:
    """``n`` changes of 6 conditions, minutes apart (sometimes the same minute), raises more
    likely than clears; each condition belongs to one of ``assets``."""
    out: list[Raise | Clear] = []
    at = T0
    for _ in range(n):
        at += timedelta(minutes=rng.choice((0, 1, 2, 7)))
        k = rng.randrange(6)
        key = f"cond{k}"
        if rng.random() < 0.55:
            out.append(
                Raise(
                    key,
                    "monitor",
                    f"rule.{k}",
                    rng.choice("ABCC"),
                    f"message {len(out)}",
                    asset_id=assets[k % len(assets)],
                    at=at,
                )
            )
        else:
            out.append(Clear(key, at=at, note=rng.choice(("", f"cleared {len(out)}"))))
    return out


def _prefixed(change: Raise | Clear, prefix: str) -> Raise | Clear:
    if isinstance(change, Raise):
        return Raise(
            prefix + change.dedup_key,
            change.source,
            change.rule,
            change.urgency,
            change.message,
            change.asset_id,
            change.room_id,
            change.at,
        )
    return Clear(prefix + change.dedup_key, change.at, change.note)


def _state(ctx, prefix: str) -> list[tuple]:
    """Every alert of the conditions under ``prefix`` with its events, in the order made."""
    ctx.flush()
    out = []
    for alert in ctx.scalars(
        select(Alert).where(Alert.dedup_key.like(prefix + "%")).order_by(Alert.id)
    ):
        events = [
            (e.kind, e.at, e.note, e.urgency, e.notify)
            for e in ctx.scalars(
                select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
            )
        ]
        out.append(
            (
                alert.dedup_key.removeprefix(prefix),
                alert.status,
                alert.urgency,
                alert.message,
                alert.count,
                alert.first_seen,
                alert.last_seen,
                alert.resolved_at,
                alert.resolution_note,
                alert.flapping,
                alert.silenced,
                alert.asset_id,
                alert.room_id,
                events,
            )
        )
    return out


def _one_at_a_time(changes: list[Raise | Clear]) -> None:
    for change in changes:
        if isinstance(change, Raise):
            services.raise_alert(
                change.dedup_key,
                source=change.source,
                rule=change.rule,
                urgency=change.urgency,
                message=change.message,
                asset_id=change.asset_id,
                room_id=change.room_id,
                at=change.at,
            )
        else:
            services.clear_alert(change.dedup_key, at=change.at, note=change.note)
        db.session().flush()


@pytest.mark.parametrize("seed", [1, 3, 5])
def test_a_list_means_what_one_at_a_time_means(ctx, seed: int) -> None:
    rack = factories.rack()
    quiet = factories.asset(f"SRV-{seed}-1", rack=rack, u_position=1).id
    served = factories.asset(f"SRV-{seed}-2", rack=rack, u_position=5).id
    # the second asset is under maintenance for 40 minutes of the run, its room for 20 more
    services.add_maintenance(
        T0 + timedelta(minutes=30), T0 + timedelta(minutes=70), asset_id=served, reason="work"
    )
    services.add_maintenance(
        T0 + timedelta(minutes=150), T0 + timedelta(minutes=170), room_id=rack.room_id
    )
    ctx.flush()
    rng = random.Random(seed)
    changes = _run(rng, [quiet, served, None], 160)
    # the first part one at a time on both sides: alerts open and flapping before the list
    head, tail = changes[:40], changes[40:]
    _one_at_a_time([_prefixed(c, "one:") for c in changes])
    _one_at_a_time([_prefixed(c, "many:") for c in head])
    results = []
    for k in range(0, len(tail), 30):  # lists of 30, as a writer's batches
        results += conditions.apply([_prefixed(c, "many:") for c in tail[k : k + 30]])
        ctx.flush()
    one, many = _state(ctx, "one:"), _state(ctx, "many:")
    assert many == one
    kinds = {event[0] for alert in one for event in alert[-1]}
    assert {"raised", "resolved", "flapping", "silenced"} <= kinds, "the run covers every path"
    # each change's alert: the raise's own, a clear's resolved one (None when none was open),
    # the resolution at the clear's time among its events (a flapping alert reopens later)
    for change, alert in zip(tail, results, strict=True):
        if isinstance(change, Raise):
            assert alert is not None and alert.dedup_key == "many:" + change.dedup_key
        elif alert is not None:
            assert alert.dedup_key == "many:" + change.dedup_key
            assert ("resolved", change.at) in [(e.kind, e.at) for e in alert.events]
    assert any(a is None for a in results), "a clear of a condition with nothing open"


def test_a_list_refuses_a_bad_change_before_writing_anything(ctx) -> None:
    good = Raise("k1", "monitor", "r", "A", "m", at=T0)
    bad = Raise("k2", "monitor", "r", "D", "m", at=T0)
    with pytest.raises(services.ValidationFailed) as caught:
        conditions.apply([good, bad])
    assert "urgency" in caught.value.errors
    ctx.flush()
    assert ctx.scalars(select(Alert)).all() == []
