"""The ping monitor kind: ICMP echo from Python (no ping binary), through the poller."""

from __future__ import annotations

import asyncio

import pytest
from flask import Flask

from monitors import kinds, poller
from opskit import db
from opskit.validation import ValidationFailed
from tests import factories
from tests.monitors.test_poller import NOW, add_monitor, flips, monitor, readings

# Addresses that cannot answer: IPv4 "reserved for future use" and the IPv6 discard prefix.
SILENT = ("240.0.0.1", "100::1")


def check(settings: dict) -> kinds.Result:
    kind = kinds.get("ping")
    return asyncio.run(kind.check(None, kind.validate(settings), None))


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_answers(host: str) -> None:
    result = check({"host": host, "count": 3, "interval": 0.05})
    assert result.ok and result.reason == ""
    values = {r["metric"]: r for r in result.readings}
    assert values["ping.loss_percent"]["value"] == 0 and values["ping.loss_percent"]["unit"] == "%"
    assert 0 < values["ping.rtt_ms"]["value"] < 500 and values["ping.rtt_ms"]["unit"] == "ms"


@pytest.mark.parametrize("host", SILENT)
def test_silent_address_is_down_with_full_loss(host: str) -> None:
    result = check({"host": host, "count": 2, "interval": 0.05, "timeout": 0.3})
    assert not result.ok
    assert result.reason.startswith(f"ping {host}")
    assert [(r["metric"], r["value"]) for r in result.readings] == [("ping.loss_percent", 100)]


def test_unresolvable_name_is_down_with_a_reason() -> None:
    result = check({"host": "no-such-host.invalid"})
    assert not result.ok and "cannot resolve" in result.reason


def test_concurrent_pings_only_count_their_own_replies() -> None:
    kind = kinds.get("ping")
    settings = kind.validate({"host": "127.0.0.1", "count": 4, "interval": 0.02})

    async def many() -> list[kinds.Result]:
        return await asyncio.gather(*(kind.check(None, settings, None) for _ in range(12)))

    results = asyncio.run(many())
    assert all(r.ok for r in results)
    assert all(r.readings[1]["value"] == 0 for r in results)  # no loss, none over-counted


def test_settings_validated() -> None:
    assert kinds.validate("ping", {"host": "10.0.0.1"}) == {
        "host": "10.0.0.1",
        "count": 3,
        "interval": 0.2,
        "timeout": 1.0,
    }
    with pytest.raises(ValidationFailed) as info:
        kinds.validate("ping", {"host": "", "count": 0, "ttl": 3})
    assert set(info.value.errors) == {"host", "count", "ttl"}


def test_poller_marks_ping_monitors_up_and_down(db_app: Flask) -> None:
    with db_app.app_context():
        asset = factories.asset("GW-1", kind="switch")
        db.session().commit()
        up = add_monitor(asset.id, "ping", {"host": "127.0.0.1", "interval": 0.05})
        down = add_monitor(asset.id, "ping", {"host": SILENT[0], "count": 2, "timeout": 0.3})
        assert poller.poll_once(NOW)["claimed"] == 2
        assert monitor(up).state == "up"
        assert readings(up)[("ping.loss_percent", "")].value == 0
        assert readings(up)[("ping.rtt_ms", "")].value > 0
        assert monitor(down).state == "down"
        assert readings(down)[("ping.loss_percent", "")].value == 100
        [(old, new, reason)] = flips(down)
        assert (old, new) == ("unknown", "down") and "no reply" in reason
