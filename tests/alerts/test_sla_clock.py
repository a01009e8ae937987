"""Working-time arithmetic of the contract's clocks, table-driven (Asia/Shanghai, 2026 calendar)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from opskit.calendar import WorkingCalendar
from opskit.cli import cli
from opskit.sla import PolicyError, clock_state, default_policy_text, load_policy

TZ = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture(scope="module")
def policy():
    return load_policy(default_policy_text(), TZ)


# (case, urgency, raised at, acknowledge, on site, resolve) — all local times; level 2 (C):
# acknowledge 5 min, on site 4 h, resolve 7 h, in working time, all counted from the raise
CASES = [
    (
        "C across 17:00 into the next day",
        "C",
        "2026-11-26 16:00",
        "2026-11-26 16:05",
        "2026-11-27 11:00",
        "2026-11-27 14:00",
    ),
    (
        "C across a weekend",
        "C",
        "2026-11-27 16:30",
        "2026-11-27 16:35",
        "2026-11-30 11:30",
        "2026-11-30 14:30",
    ),
    (
        "C raised after hours on Friday",
        "C",
        "2026-11-27 17:30",
        "2026-11-30 08:05",
        "2026-11-30 12:00",
        "2026-11-30 15:00",
    ),
    (
        "C raised exactly at 17:00",
        "C",
        "2026-11-26 17:00",
        "2026-11-27 08:05",
        "2026-11-27 12:00",
        "2026-11-27 15:00",
    ),
    (
        "C raised before 08:00",
        "C",
        "2026-11-30 06:00",
        "2026-11-30 08:05",
        "2026-11-30 12:00",
        "2026-11-30 15:00",
    ),
    (
        "C across the National Day week",
        "C",
        "2026-09-30 16:00",
        "2026-09-30 16:05",
        "2026-10-08 11:00",
        "2026-10-08 14:00",
    ),
    (
        "C raised on a holiday (National Day)",
        "C",
        "2026-10-03 10:00",
        "2026-10-08 08:05",
        "2026-10-08 12:00",
        "2026-10-08 15:00",
    ),
    (
        "C into the make-up Saturday 2026-10-10",
        "C",
        "2026-10-09 15:00",
        "2026-10-09 15:05",
        "2026-10-10 10:00",
        "2026-10-10 13:00",
    ),
    (
        "C on a Saturday before the make-up Sunday 2026-09-20",
        "C",
        "2026-09-19 10:00",
        "2026-09-20 08:05",
        "2026-09-20 12:00",
        "2026-09-20 15:00",
    ),
    (
        "C over Mid-Autumn (Fri 09-25 holiday)",
        "C",
        "2026-09-24 16:00",
        "2026-09-24 16:05",
        "2026-09-28 11:00",
        "2026-09-28 14:00",
    ),
    (
        "A 7x24 across midnight",
        "A",
        "2026-12-31 23:00",
        "2026-12-31 23:05",
        "2027-01-01 01:00",
        "2027-01-01 02:00",
    ),
    (
        "B 7x24 on a holiday",
        "B",
        "2026-10-01 09:00",
        "2026-10-01 09:05",
        "2026-10-01 11:00",
        "2026-10-01 12:00",
    ),
]


@pytest.mark.parametrize(
    ("case", "urgency", "raised", "ack", "onsite", "resolve"), CASES, ids=[c[0] for c in CASES]
)
def test_deadlines(policy, case, urgency, raised, ack, onsite, resolve) -> None:
    result = policy.deadlines(urgency, local(raised))
    assert result == {
        "acknowledge": local(ack),
        "onsite": local(onsite),
        "resolve": local(resolve),
    }, case
    assert all(d.utcoffset() == timedelta(hours=8) for d in result.values())


def test_year_the_package_does_not_know_uses_overrides() -> None:
    text = default_policy_text()
    plain = load_policy(text, TZ)
    # 2027 is not in the calendar package: weekdays count as working days but for the
    # holidays on fixed dates (New Year's Day, Friday 2027-01-01) ...
    assert not plain.calendar.covered(2027)
    assert plain.deadlines("C", local("2026-12-31 15:00"))["onsite"] == local("2027-01-04 10:00")
    assert not plain.calendar.is_workday(date(2027, 10, 1))
    assert not plain.calendar.is_workday(date(2027, 5, 1))
    # ... and a lunar holiday (Spring Festival, Monday 2027-02-08) is not known ...
    assert plain.deadlines("C", local("2027-02-05 15:00"))["onsite"] == local("2027-02-08 10:00")
    # ... until the site adds next year's holidays
    with_overrides = load_policy(
        text.replace("calendar_overrides: {}", "calendar_overrides:\n  2027-02-08: holiday\n"),
        TZ,
    )
    # a local date or two do not load the year: the pages keep warning (holidays.yaml does)
    assert not with_overrides.calendar.covered(2027)
    assert with_overrides.deadlines("C", local("2027-02-05 15:00"))["onsite"] == local(
        "2027-02-09 10:00"
    )


def test_overrides_can_add_a_working_day() -> None:
    cal = WorkingCalendar(TZ, overrides={date(2026, 11, 28): True})  # a Saturday
    assert cal.is_workday(date(2026, 11, 28))
    assert cal.add_working_time(local("2026-11-27 16:00"), timedelta(hours=2)) == local(
        "2026-11-28 09:00"
    )


def test_working_time_between(policy) -> None:
    cal = policy.calendar
    assert cal.working_time_between(local("2026-09-30 16:00"), local("2026-10-08 09:00")) == (
        timedelta(hours=2)
    )


@pytest.mark.parametrize(
    ("done", "now", "state", "remaining"),
    [
        ("2026-11-30 10:00", "2026-11-30 10:00", "met", timedelta(hours=1, minutes=30)),
        (None, "2026-11-27 16:45", "running", timedelta(hours=3, minutes=45)),
        (None, "2026-11-30 10:45", "warning", timedelta(minutes=45)),  # 81 % used
        (None, "2026-11-30 12:00", "breached", -timedelta(minutes=30)),
        ("2026-11-30 12:30", "2026-11-30 13:00", "breached", -timedelta(hours=1)),
    ],
)
def test_clock_state_counts_working_time(policy, done, now, state, remaining) -> None:
    raised = local("2026-11-27 16:30")  # C: on site due Monday 11:30 (4 working hours)
    result = clock_state(policy, "C", "onsite", raised, local(done) if done else None, local(now))
    assert result.deadline == local("2026-11-30 11:30")
    assert (result.state, result.remaining) == (state, remaining)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("levels: 3", "levels: expected a mapping"),
        (
            "levels: {1: {urgencies: [A, B, C], hours: always, acknowledge: 5m, onsite: 2h, "
            "resolve: 3h}}",
            "levels.1.hours: expected 24x7 or working",
        ),
        (
            "levels: {1: {urgencies: [A, B, C], hours: 24x7, acknowledge: soon, onsite: 2h, "
            "resolve: 3h}}",
            "levels.1.acknowledge: expected a duration",
        ),
        (
            "levels: {1: {urgencies: [A, B], hours: 24x7, acknowledge: 5m, onsite: 2h, "
            "resolve: 3h}}",
            "no level covers urgency C",
        ),
        (
            "levels: {1: {urgencies: [A, D], hours: 24x7, acknowledge: 5m, onsite: 2h, "
            "resolve: 3h}}",
            "'D' is not one of A, B, C",
        ),
        (
            "levels: {1: {urgencies: [A, B, C], hours: 24x7, acknowledge: 5m, onsite: 2h, "
            "resolve: 3h}}\ncalendar_overrides: {2027-13-01: holiday}",
            "calendar_overrides: '2027-13-01' is not a date",
        ),
        (
            "levels: {1: {urgencies: [A, B, C], hours: 24x7, acknowledge: 5m, onsite: 2h, "
            "resolve: 3h}}\ncalendar_overrides: {2027-01-01: vacation}",
            "calendar_overrides.2027-01-01: expected holiday or workday",
        ),
        ("levels: [", "not valid YAML"),
    ],
)
def test_bad_policies_name_the_key(yaml_text: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(yaml_text, TZ, "site.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("site.yaml")


def test_cli_deadlines_json(app) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["sla", "deadlines", "--urgency", "C", "--at", "2026-09-30 16:00", "--json"],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["acknowledge"] == "2026-09-30T16:05:00+08:00"
    assert data["onsite"] == "2026-10-08T11:00:00+08:00"
    assert data["resolve"] == "2026-10-08T14:00:00+08:00"  # 7 working hours, from the raise


def test_cli_site_policy_file_overrides_the_default(app) -> None:
    from pathlib import Path

    policy_file = Path(app.instance_path) / "sla_policy.yaml"
    policy_file.parent.mkdir(parents=True, exist_ok=True)
    policy_file.write_text(
        default_policy_text().replace("onsite: 2h", "onsite: 1h"), encoding="utf-8"
    )
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["sla", "deadlines", "--urgency", "A", "--at", "2026-09-30 23:30", "--json"],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert json.loads(result.output)["onsite"] == "2026-10-01T00:30:00+08:00"
    bad = runner.invoke(
        cli,
        ["sla", "deadlines", "--urgency", "A", "--at", "yesterday"],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert bad.exit_code == 2 and "expected a local time" in bad.output
