"""The request clocks of the one SLA engine (``opskit.sla``), table-driven, Asia/Shanghai, 2026.

Requests: acknowledge 5 min, on site 2 h (A/B, 7x24) or 4 h (C, 5x8 Mon-Fri 08:00-17:00 on the
Chinese working calendar), resolve 3 h (A/B) or 7 working hours (C: on site 4 h + 3 h), every
clock from the raise; fix_by: 17:00 of the 2nd working day after the day of the request.

The 2026 calendar (chinese_calendar, the State Council's arrangement): National Day holiday
Thu 10-01 to Wed 10-07, Thu 10-08 a working day again, Sat 10-10 a make-up working day, Sun
10-11 off. December: Fri 12-04, Sat 12-05, Sun 12-06, Mon 12-07, Tue 12-08, Wed 12-09.
Every expected value is worked out by hand in the table.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo

from opskit import clock
from opskit.cli import cli
from opskit.sla import Policy, PolicyError, default_policy_text, load_policy

TZ = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def minutes(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(default_policy_text(), TZ)


# (case, urgency, raised at, acknowledge, on site, resolve, fix_by) — local times
CASES = [
    # --- across a weekend
    (
        "A raised Friday afternoon: 7x24, fix_by Tuesday 17:00",
        "A",
        "2026-12-04 16:00",
        "2026-12-04 16:05",
        "2026-12-04 18:00",
        "2026-12-04 19:00",
        "2026-12-08 17:00",
    ),
    (
        "B raised Saturday night: 7x24 across midnight, fix_by Tuesday",
        "B",
        "2026-12-05 22:30",
        "2026-12-05 22:35",
        "2026-12-06 00:30",
        "2026-12-06 01:30",
        "2026-12-08 17:00",
    ),
    (
        "C raised Friday 16:00: 1 h on Friday, the rest on Monday",
        "C",
        "2026-12-04 16:00",
        "2026-12-04 16:05",
        "2026-12-07 11:00",
        "2026-12-07 14:00",
        "2026-12-08 17:00",
    ),
    (
        "C raised Friday 16:58: acknowledge 2 min on Friday, 3 min on Monday",
        "C",
        "2026-12-04 16:58",
        "2026-12-07 08:03",
        "2026-12-07 11:58",
        "2026-12-07 14:58",
        "2026-12-08 17:00",
    ),
    (
        "C raised on Saturday: the clocks start Monday 08:00; Sunday is no working day",
        "C",
        "2026-12-05 10:00",
        "2026-12-07 08:05",
        "2026-12-07 12:00",
        "2026-12-07 15:00",
        "2026-12-08 17:00",
    ),
    (
        "C raised Monday before hours: the day of the request never counts for fix_by",
        "C",
        "2026-12-07 07:00",
        "2026-12-07 08:05",
        "2026-12-07 12:00",
        "2026-12-07 15:00",
        "2026-12-09 17:00",
    ),
    # --- National Day 2026 and the make-up Saturday
    (
        "A raised the night before National Day: 7x24; fix_by after the holiday, Fri 10-09",
        "A",
        "2026-09-30 23:30",
        "2026-09-30 23:35",
        "2026-10-01 01:30",
        "2026-10-01 02:30",
        "2026-10-09 17:00",
    ),
    (
        "C raised 09-30 16:00: the holiday stops the clock until Thu 10-08",
        "C",
        "2026-09-30 16:00",
        "2026-09-30 16:05",
        "2026-10-08 11:00",
        "2026-10-08 14:00",
        "2026-10-09 17:00",
    ),
    (
        "C raised Tuesday 09-29: the cap's 1st working day 09-30, the 2nd 10-08",
        "C",
        "2026-09-29 15:00",
        "2026-09-29 15:05",
        "2026-09-30 10:00",
        "2026-09-30 13:00",
        "2026-10-08 17:00",
    ),
    (
        "C raised inside the holiday (Sat 10-03): everything from Thu 10-08",
        "C",
        "2026-10-03 10:00",
        "2026-10-08 08:05",
        "2026-10-08 12:00",
        "2026-10-08 15:00",
        "2026-10-09 17:00",
    ),
    (
        "C raised Fri 10-09 16:00: the make-up Saturday 10-10 is working time and day 1",
        "C",
        "2026-10-09 16:00",
        "2026-10-09 16:05",
        "2026-10-10 11:00",
        "2026-10-10 14:00",
        "2026-10-12 17:00",
    ),
    (
        "B raised Fri 10-09 16:00: 7x24; fix_by counts the make-up Saturday",
        "B",
        "2026-10-09 16:00",
        "2026-10-09 16:05",
        "2026-10-09 18:00",
        "2026-10-09 19:00",
        "2026-10-12 17:00",
    ),
    (
        "C raised on the make-up Saturday 10-10 16:00: Sunday off, on to Monday",
        "C",
        "2026-10-10 16:00",
        "2026-10-10 16:05",
        "2026-10-12 11:00",
        "2026-10-12 14:00",
        "2026-10-13 17:00",
    ),
    (
        "A raised Sunday 10-11 (no make-up day): fix_by Tuesday 10-13",
        "A",
        "2026-10-11 09:00",
        "2026-10-11 09:05",
        "2026-10-11 11:00",
        "2026-10-11 12:00",
        "2026-10-13 17:00",
    ),
]

# (case, urgency, raised at, suspended [(start, end)], acknowledge, on site, resolve, fix_by)
SUSPENDED = [
    (
        "A (7x24) suspended 16:30-18:00: on site and resolve 1 h 30 later; fix_by 30 working "
        "minutes later (16:30-17:00 on Friday)",
        "A",
        "2026-12-04 16:00",
        [("2026-12-04 16:30", "2026-12-04 18:00")],
        "2026-12-04 16:05",
        "2026-12-04 19:30",
        "2026-12-04 20:30",
        "2026-12-09 08:30",
    ),
    (
        "B (7x24) suspended twice: 16:10-16:40 and 17:00-17:20 (outside working hours: fix_by "
        "moves by the first only)",
        "B",
        "2026-12-04 16:00",
        [("2026-12-04 17:00", "2026-12-04 17:20"), ("2026-12-04 16:10", "2026-12-04 16:40")],
        "2026-12-04 16:05",
        "2026-12-04 18:50",
        "2026-12-04 19:50",
        "2026-12-09 08:30",
    ),
    (
        "C (5x8) suspended Friday 16:30 to Monday 09:00: 1 h 30 of working time",
        "C",
        "2026-12-04 16:00",
        [("2026-12-04 16:30", "2026-12-07 09:00")],
        "2026-12-04 16:05",
        "2026-12-07 12:30",
        "2026-12-07 15:30",
        "2026-12-09 09:30",
    ),
    (
        "C (5x8) suspended after the resolve deadline ran out: only fix_by moves (3 working h)",
        "C",
        "2026-12-07 09:00",
        [("2026-12-07 16:00", "2026-12-08 10:00")],
        "2026-12-07 09:05",
        "2026-12-07 13:00",
        "2026-12-07 16:00",
        "2026-12-10 11:00",
    ),
    (
        "C (5x8) suspended across National Day (2 working h): fix_by lands on the make-up Saturday",
        "C",
        "2026-09-30 15:00",
        [("2026-09-30 16:00", "2026-10-08 09:00")],
        "2026-09-30 15:05",
        "2026-10-08 12:00",
        "2026-10-08 15:00",
        "2026-10-10 10:00",
    ),
]


@pytest.mark.parametrize(
    ("case", "urgency", "raised", "ack", "onsite", "resolve", "fix_by"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_request_deadlines(
    policy: Policy,
    case: str,
    urgency: str,
    raised: str,
    ack: str,
    onsite: str,
    resolve: str,
    fix_by: str,
) -> None:
    result = policy.deadlines(urgency, local(raised), kind="request")
    assert {k: minutes(v) for k, v in result.items()} == {
        "acknowledge": ack,
        "onsite": onsite,
        "resolve": resolve,
        "fix_by": fix_by,
    }, case


@pytest.mark.parametrize(
    ("case", "urgency", "raised", "suspended", "ack", "onsite", "resolve", "fix_by"),
    SUSPENDED,
    ids=[c[0] for c in SUSPENDED],
)
def test_suspended_request_deadlines(
    policy: Policy,
    case: str,
    urgency: str,
    raised: str,
    suspended: list[tuple[str, str]],
    ack: str,
    onsite: str,
    resolve: str,
    fix_by: str,
) -> None:
    periods = [(local(start), local(end)) for start, end in suspended]
    result = policy.deadlines(urgency, local(raised), kind="request", suspended=periods)
    assert {k: minutes(v) for k, v in result.items()} == {
        "acknowledge": ack,
        "onsite": onsite,
        "resolve": resolve,
        "fix_by": fix_by,
    }, case


def test_the_calendar_behind_the_table(policy: Policy) -> None:
    """The 2026 arrangement the table relies on, as chinese_calendar has it."""
    calendar = policy.calendar
    assert calendar.covered(2026)
    assert not any(calendar.is_workday(local(f"2026-10-0{d} 12:00").date()) for d in range(1, 8))
    assert calendar.is_workday(local("2026-10-08 12:00").date())
    assert calendar.is_workday(local("2026-10-10 12:00").date())  # make-up Saturday
    assert not calendar.is_workday(local("2026-10-11 12:00").date())


def test_alert_deadlines_have_no_fix_by(policy: Policy) -> None:
    result = policy.deadlines("C", local("2026-12-04 16:00"))
    assert {k: minutes(v) for k, v in result.items()} == {
        "acknowledge": "2026-12-04 16:05",
        "onsite": "2026-12-07 11:00",
        "resolve": "2026-12-07 14:00",
    }


def test_a_suspension_ending_before_it_starts_is_refused(policy: Policy) -> None:
    with pytest.raises(ValueError, match="ends"):
        policy.deadlines(
            "A",
            local("2026-12-04 16:00"),
            kind="request",
            suspended=[(local("2026-12-04 18:00"), local("2026-12-04 17:00"))],
        )


def test_a_policy_without_a_request_section_gets_the_contract_s() -> None:
    text = default_policy_text()
    alerts_only = text[: text.index("request:")] + text[text.index("working_hours:") :]
    assert "fix_by_working_days" not in alerts_only
    policy = load_policy(alerts_only, TZ, "site.yaml")
    result = policy.deadlines("C", local("2026-10-09 16:00"), kind="request")
    assert minutes(result["fix_by"]) == "2026-10-12 17:00"


@pytest.mark.parametrize(
    ("replacement", "message"),
    [
        ("", "expected a whole number of working days 1-30, got None"),
        ("      fix_by_working_days: 0\n", "expected a whole number of working days 1-30, got 0"),
        ("      fix_by_working_days: two\n", "got 'two'"),
    ],
)
def test_request_levels_are_validated(replacement: str, message: str) -> None:
    broken = default_policy_text().replace("      fix_by_working_days: 2\n", replacement, 1)
    with pytest.raises(PolicyError) as info:
        load_policy(broken, TZ, "site.yaml")
    assert str(info.value).startswith("site.yaml: request.levels.1.fix_by_working_days: ")
    assert message in str(info.value)


# --- the same cases through the CLI ---------------------------------------------------------


def run_cli(app: Flask, *args: str) -> str:
    result = CliRunner().invoke(
        cli, ["sla", "deadlines", *args], obj=ScriptInfo(create_app=lambda: app)
    )
    assert result.exit_code == 0, result.output
    return result.output


def iso(text: str) -> str:
    return text.replace(" ", "T")


@pytest.mark.parametrize(
    ("case", "urgency", "raised", "ack", "onsite", "resolve", "fix_by"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_cli_request_deadlines_json(
    app: Flask,
    case: str,
    urgency: str,
    raised: str,
    ack: str,
    onsite: str,
    resolve: str,
    fix_by: str,
) -> None:
    output = run_cli(app, "--for", "request", "--urgency", urgency, "--at", raised, "--json")
    assert json.loads(output) == {
        "acknowledge": iso(ack),
        "onsite": iso(onsite),
        "resolve": iso(resolve),
        "fix_by": iso(fix_by),
    }, case


@pytest.mark.parametrize(
    ("case", "urgency", "raised", "suspended", "ack", "onsite", "resolve", "fix_by"),
    SUSPENDED,
    ids=[c[0] for c in SUSPENDED],
)
def test_cli_suspended_request_deadlines_json(
    app: Flask,
    case: str,
    urgency: str,
    raised: str,
    suspended: list[tuple[str, str]],
    ack: str,
    onsite: str,
    resolve: str,
    fix_by: str,
) -> None:
    options = [arg for start, end in suspended for arg in ("--suspended", f"{start}/{end}")]
    output = run_cli(
        app, "--for", "request", "--urgency", urgency, "--at", raised, *options, "--json"
    )
    assert json.loads(output) == {
        "acknowledge": iso(ack),
        "onsite": iso(onsite),
        "resolve": iso(resolve),
        "fix_by": iso(fix_by),
    }, case


def test_cli_request_text(app: Flask) -> None:
    output = run_cli(app, "--for", "request", "--urgency", "C", "--at", "2026-10-09 16:00")
    assert "fixed by (排除)        2026-10-12T17:00" in output
    assert "on site (到场)         2026-10-10T11:00" in output


def test_cli_for_alert_is_the_default_byte_for_byte(app: Flask) -> None:
    for extra in ((), ("--json",)):
        default = run_cli(app, "--urgency", "C", "--at", "2026-09-30 16:00", *extra)
        explicit = run_cli(
            app, "--for", "alert", "--urgency", "C", "--at", "2026-09-30 16:00", *extra
        )
        assert default == explicit
    assert "fix_by" not in json.loads(default)


def test_cli_refuses_a_bad_suspension(app: Flask) -> None:
    runner = CliRunner()
    for args, message in (
        (["--for", "request", "--suspended", "2026-12-04 16:30"], 'expected "START/END"'),
        (["--for", "request", "--suspended", "2026-12-04 18:00/2026-12-04 16:30"], "ends before"),
        (["--suspended", "2026-12-04 16:30/2026-12-04 18:00"], "only a request"),
    ):
        result = runner.invoke(
            cli,
            ["sla", "deadlines", "--urgency", "A", "--at", "2026-12-04 16:00", *args],
            obj=ScriptInfo(create_app=lambda: app),
        )
        assert result.exit_code == 2 and message in result.output, result.output


def test_cli_without_at_counts_from_opskit_clock(app: Flask) -> None:
    with clock.frozen(local("2026-10-09 16:00")):
        output = run_cli(app, "--for", "request", "--urgency", "C", "--json")
    assert json.loads(output)["fix_by"] == "2026-10-12T17:00"
