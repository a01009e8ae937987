"""SLA clocks as a person reads them: overdue by how long, paused outside working time and when
the clock resumes; and the policy rule that resolve is never shorter than on site."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from flask import Flask, session
from flask.cli import ScriptInfo

from opskit.alerts import wording
from opskit.cli import cli
from opskit.sla import PolicyError, clock_state, default_policy_text, load_policy
from tests.conftest import login, post_form

TZ = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture(scope="module")
def policy():
    return load_policy(default_policy_text(), TZ)


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [
        (24 * 60 + 13, "24 分钟", "24 min"),
        (59, "不到 1 分钟", "under a minute"),
        (60 * 60, "1 小时", "1 hour"),
        (2 * 3600 + 5 * 60 + 59, "2 小时 5 分钟", "2 hours 5 min"),
        (3 * 3600, "3 小时", "3 hours"),
        (86400 + 3600 + 60, "1 天 1 小时", "1 day 1 hour"),
        (3 * 86400 + 4 * 3600 + 30 * 60, "3 天 4 小时", "3 days 4 hours"),
        (2 * 86400, "2 天", "2 days"),
    ],
)
def test_durations_in_both_languages(app: Flask, seconds: int, zh: str, en: str) -> None:
    with app.test_request_context("/"):
        assert wording.human_duration(timedelta(seconds=seconds)) == zh
        assert wording.human_duration(-timedelta(seconds=seconds)) == zh  # sign ignored
    with app.test_request_context("/"):
        session["locale"] = "en"
        assert wording.human_duration(timedelta(seconds=seconds)) == en


def test_an_overdue_clock_says_by_how_long_not_a_negative_countdown(app: Flask, policy) -> None:
    # A, raised 10:00: acknowledge due 10:05; at 10:29:13 it is 24 min 13 s late
    state = clock_state(
        policy, "A", "acknowledge", local("2026-12-02 10:00"), None, local("2026-12-02 10:29:13")
    )
    assert state.overdue and state.state == "breached" and not state.paused
    with app.test_request_context("/"):
        view = wording.clock_view(state)
        assert view["overdue"] == "已超时 24 分钟"
        assert view["paused"] == ""
        live = json.loads(view["live"])
        assert live["remaining"] == -(24 * 60 + 13) and live["periods"] is None  # 7x24
        assert live["words"]["overdue"] == "已超时 %(time)s"
    with app.test_request_context("/"):
        session["locale"] = "en"
        assert wording.clock_view(state)["overdue"] == "overdue by 24 min"
    late = clock_state(
        policy, "A", "onsite", local("2026-12-02 10:00"), None, local("2026-12-04 13:30")
    )
    with app.test_request_context("/"):
        # due 12-02 12:00: 2 days 1 h 30 min late; from a day on, minutes are dropped
        assert wording.clock_view(late)["overdue"] == "已超时 2 天 1 小时"


def test_a_5x8_clock_is_paused_outside_working_time_and_says_when_it_resumes(
    app: Flask, policy
) -> None:
    # C raised on Sunday 2026-12-06 00:52: acknowledge due Monday 08:05
    raised = local("2026-12-06 00:52")
    sunday = clock_state(policy, "C", "acknowledge", raised, None, local("2026-12-06 10:00"))
    assert sunday.deadline == local("2026-12-07 08:05")
    assert sunday.paused and sunday.resumes_at == local("2026-12-07 08:00")
    assert sunday.remaining == timedelta(minutes=5) and sunday.state == "running"
    with app.test_request_context("/"):
        view = wording.clock_view(sunday)
        assert (view["paused"], view["resume"], view["overdue"]) == (
            "暂停（非工作时间）",
            "周一 08:00 恢复计时",
            "",
        )
        live = json.loads(view["live"])
        # the next working periods, from the server's now: Monday 08:00-17:00 first
        assert live["periods"][0] == [22 * 3600, 31 * 3600, "周一 08:00 恢复计时"]
        assert live["remaining"] == 300
    with app.test_request_context("/"):
        session["locale"] = "en"
        assert wording.clock_view(sunday)["resume"] == "resumes Mon 08:00"
    # Monday 08:02: running again, 3 minutes left
    monday = clock_state(policy, "C", "acknowledge", raised, None, local("2026-12-07 08:02"))
    assert not monday.paused and monday.remaining == timedelta(minutes=3)
    assert monday.periods[0] == (local("2026-12-07 08:02"), local("2026-12-07 17:00"))
    # Monday 17:30, never acknowledged: overdue by the working time past 08:05, and paused
    evening = clock_state(policy, "C", "acknowledge", raised, None, local("2026-12-07 17:30"))
    assert evening.overdue and evening.paused
    assert evening.resumes_at == local("2026-12-08 08:00")
    with app.test_request_context("/"):
        view = wording.clock_view(evening)
        assert view["overdue"] == "已超时 8 小时 55 分钟"
        assert view["resume"] == "周二 08:00 恢复计时"
    # a 7x24 clock never pauses, and a clock that is done is neither paused nor overdue
    a_clock = clock_state(policy, "A", "onsite", raised, None, local("2026-12-06 10:00"))
    assert not a_clock.paused and a_clock.periods == ()
    done = clock_state(policy, "C", "onsite", raised, local("2026-12-07 09:00"), raised)
    assert not done.paused and not done.overdue


def test_a_resume_a_week_or_more_away_names_the_date(app: Flask, policy) -> None:
    # National Day 2026: raised 2026-10-01 10:00, working time resumes Thursday 10-08 08:00
    state = clock_state(
        policy, "C", "onsite", local("2026-10-01 10:00"), None, local("2026-10-01 10:00")
    )
    assert state.resumes_at == local("2026-10-08 08:00")
    with app.test_request_context("/"):
        assert wording.clock_view(state)["resume"] == "2026/10/8 08:00 恢复计时"


def test_the_page_shows_the_overdue_and_paused_wording(app: Flask, client) -> None:
    from opskit import clock, db
    from opskit.alerts import services

    with clock.frozen(local("2026-12-06 10:00")), app.test_request_context("/"):
        services.raise_alert(
            "k:c",
            source="manual",
            rule="manual",
            urgency="C",
            message="C 告警",
            at=local("2026-12-06 00:52"),
        )
        services.raise_alert(
            "k:a",
            source="manual",
            rule="manual",
            urgency="A",
            message="A 告警",
            at=local("2026-12-06 09:30"),
        )
        db.session().commit()
    login(client, "viewer")
    with clock.frozen(local("2026-12-06 10:00")):
        page = client.get("/alerts/").get_data(as_text=True)
    assert "已超时 25 分钟" in page  # A: acknowledge due 09:35
    assert "暂停（非工作时间）" in page and "周一 08:00 恢复计时" in page
    assert "-0:" not in page  # no negative countdown


# --- the policy rule: resolve is never shorter than on site -------------------------------------


def test_the_loader_refuses_a_resolve_shorter_than_on_site() -> None:
    text = default_policy_text().replace("resolve: 7h", "resolve: 3h")
    with pytest.raises(PolicyError) as info:
        load_policy(text, TZ, "site.yaml")
    message = str(info.value)
    assert message.startswith("site.yaml: levels.2.resolve: 3h is shorter than onsite 4h")
    # equal is allowed; the shipped policy is consistent
    load_policy(default_policy_text().replace("resolve: 7h", "resolve: 4h"), TZ)
    shipped = load_policy(default_policy_text(), TZ)
    for level in shipped.levels:
        assert level.targets["resolve"] >= level.targets["onsite"], level.name


def test_a_saved_policy_breaking_the_rule_is_refused_and_an_old_one_is_not_used(
    app: Flask, client
) -> None:
    from pathlib import Path

    login(client, "admin")
    bad = default_policy_text().replace("resolve: 7h", "resolve: 3h")
    refused = post_form(client, "/alerts/policy", {"policy": bad})
    assert refused.status_code == 400
    assert "levels.2.resolve: 3h is shorter than onsite 4h" in refused.get_data(as_text=True)
    # a site file written before the rule (the old shipped C: on site 4 h, resolve 3 h) does not
    # break the pages: the shipped default applies, and the admin is told why
    site_file = Path(app.instance_path) / "sla_policy.yaml"
    site_file.parent.mkdir(parents=True, exist_ok=True)
    site_file.write_text(bad.replace("onsite: 2h", "onsite: 1h"), encoding="utf-8")
    page = client.get("/alerts/policy").get_data(as_text=True)
    assert 'data-field="policy-problem"' in page and "levels.2.resolve" in page
    assert client.get("/alerts/").status_code == 200
    with app.test_request_context("/"):
        from opskit.alerts.queries import current_policy

        assert current_policy().level_for("A").targets["onsite"] == timedelta(hours=2)
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["sla", "deadlines", "--urgency", "C", "--at", "2026-09-30 16:00", "--json"],
        obj=ScriptInfo(create_app=lambda: app),
    )
    assert result.exit_code == 0
    assert "warning: policy not used" in result.stderr and "levels.2.resolve" in result.stderr
    data = json.loads(result.stdout)
    assert data["onsite"] == "2026-10-08T11:00:00+08:00"
    assert data["resolve"] == "2026-10-08T14:00:00+08:00"  # 7 working hours from the raise
    assert data["targets"] == {"acknowledge": "5m", "onsite": "4h", "resolve": "7h"}
