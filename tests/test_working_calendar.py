"""The working calendar's yearly arrangements (放假安排): never silently wrong.

A year the calendar package does not know is *not loaded* until the site's ``holidays.yaml``
has it (entered at /admin/calendar); the dashboard, the alert pages and the report pack say so,
and a saved arrangement counts at once. No test depends on today's date: the unloaded year is
the one after the package's last (``NEXT``), or ``PACKAGE_YEARS`` is narrowed to make this year
unloaded, and "today" is passed in or read from ``opskit.clock``.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from sqlalchemy import select

from opskit import calendar as cal
from opskit import clock, db
from opskit import holidays as hol
from opskit.alerts import services
from opskit.alerts.queries import current_policy
from opskit.calendar import WorkingCalendar, relevant_years, unloaded_years
from opskit.cli import cli
from opskit.holidays import (
    Arrangement,
    Days,
    LineError,
    arrangement_from_form,
    parse_arrangements,
    parse_days,
    write_arrangements,
)
from opskit.models import AuditLog
from opskit.validation import ValidationFailed
from reports.build import build_pack
from reports.periods import parse_period
from tests.conftest import csrf_token, login, post_form

TZ = ZoneInfo("Asia/Shanghai")
#: the first year the installed calendar package does not know
NEXT = max(cal.PACKAGE_YEARS) + 1


def _weekday(year: int, month: int, weekday: int) -> date:
    """The first ``weekday`` (0 = Monday) of ``month``."""
    day = date(year, month, 1)
    while day.weekday() != weekday:
        day += timedelta(days=1)
    return day


#: a Wednesday of NEXT that no fixed-date holiday touches, and the Tuesday before it
WEDNESDAY = _weekday(NEXT, 3, 2)
TUESDAY = WEDNESDAY - timedelta(days=1)


def local(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), TZ)


def arrangement(year: int, *extra: Days) -> Arrangement:
    new_year = Days(date(year, 1, 1), date(year, 1, 1), "元旦")
    return Arrangement(year, (new_year, *extra), (), "国务院办公厅 测试通知")


def invoke(app: Flask, *args: str):
    return CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))


def banner_years(page: str) -> list[int] | None:
    """The years the calendar warning names, or None when the page has no warning."""
    if 'id="calendar-warning"' not in page:
        return None
    years = page.split('id="calendar-warning" data-years="')[1].split('"')[0]
    return [int(y) for y in years.split()]


# --- reading lines ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "first", "last", "name"),
    [
        ("{y}-02-05..{y}-02-11 春节", "holidays", (2, 5), (2, 11), "春节"),
        ("{y}-02-05 ~ {y}-02-11", "holidays", (2, 5), (2, 11), ""),
        ("{y}-2-5..{y}-2-11春节", "holidays", (2, 5), (2, 11), "春节"),
        ("  {y}-01-01 元旦  ", "holidays", (1, 1), (1, 1), "元旦"),
        ("{y}-02-05至{y}-02-06 春节", "holidays", (2, 5), (2, 6), "春节"),
    ],
)
def test_a_line_is_a_date_or_a_range_and_a_name(text, kind, first, last, name) -> None:
    days = parse_days(text.format(y=NEXT), NEXT, kind)
    assert days == Days(date(NEXT, *first), date(NEXT, *last), name)
    assert days.count == (days.last - days.first).days + 1
    assert parse_days(days.text(), NEXT, kind) == days  # the line as written reads back


def test_a_make_up_day_is_a_weekend_day_that_is_no_statutory_holiday() -> None:
    saturday = _weekday(NEXT, 2, 5)
    assert parse_days(f"{saturday} 春节调休", NEXT, "workdays").name == "春节调休"
    with pytest.raises(LineError, match="weekday"):
        parse_days(f"{WEDNESDAY}", NEXT, "workdays")
    # National Day on a weekend (one of the next seven years has it)
    fixed = next(date(y, 10, 3) for y in range(NEXT, NEXT + 7) if date(y, 10, 3).weekday() >= 5)
    with pytest.raises(LineError, match="statutory holiday"):
        parse_days(fixed.isoformat(), fixed.year, "workdays")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{y}/02/05", "expected a date YYYY-MM-DD or a range"),
        ("春节 {y}-02-05", "expected a date YYYY-MM-DD or a range"),
        ("{y}-02-30", "{y}-02-30 is not a date"),
        ("{y}-02-11..{y}-02-05", "the range ends ({y}-02-05) before it starts ({y}-02-11)"),
        ("{y}-01-01..{y}-03-01", "a range of 60 days: expected at most 31"),
        ("{p}-12-31", "{p}-12-31 is not in {y}"),
    ],
)
def test_a_bad_line_says_what_was_expected(text: str, expected: str) -> None:
    with pytest.raises(LineError) as caught:
        parse_days(text.format(y=NEXT, p=NEXT - 1), NEXT, "holidays")
    assert expected.format(y=NEXT, p=NEXT - 1) in str(caught.value)


def test_the_form_names_every_bad_line_by_its_number() -> None:
    holidays = f"{NEXT}-01-01 元旦\n\n# comment\n{NEXT}-02-30 春节\n{WEDNESDAY} 测试"
    workdays = f"{WEDNESDAY + timedelta(days=1)}\n{_weekday(NEXT, 4, 5)}\n"
    with pytest.raises(ValidationFailed) as caught:
        arrangement_from_form(NEXT, " ", holidays, workdays)
    errors = caught.value.errors
    assert errors["holidays"] == [f"Line 4: “{NEXT}-02-30 春节”: {NEXT}-02-30 is not a date"]
    assert len(errors["workdays"]) == 1 and errors["workdays"][0].startswith("Line 1: ")
    assert "weekday" in errors["workdays"][0]
    assert "source" in errors
    # a make-up day also entered as a holiday: named by both lines
    saturday = _weekday(NEXT, 6, 5)
    with pytest.raises(ValidationFailed) as caught:
        arrangement_from_form(NEXT, "通知", f"{NEXT}-01-01\n{saturday}", f"{saturday}")
    assert caught.value.errors == {
        "workdays": [f"Line 1: {saturday} is also entered as a holiday (line 2)"]
    }
    with pytest.raises(ValidationFailed) as caught:
        arrangement_from_form(NEXT, "通知", "", "")
    assert list(caught.value.errors) == ["holidays"]
    with pytest.raises(ValidationFailed) as caught:
        arrangement_from_form(1999, "通知", "1999-01-01", "")
    assert list(caught.value.errors) == ["year"]
    good = arrangement_from_form(NEXT, " 国务院办公厅  通知 ", f"{WEDNESDAY}\n{NEXT}-01-01", "")
    assert [d.first for d in good.holidays] == [date(NEXT, 1, 1), WEDNESDAY]  # in order
    assert good.source == "国务院办公厅 通知"


# --- the site file ---------------------------------------------------------------------------


def test_the_file_loads_good_years_and_names_the_line_of_a_bad_one() -> None:
    text = f"""\
{NEXT}:
  source: 国务院办公厅 通知
  holidays:
    - {NEXT}-01-01 元旦
    - {WEDNESDAY}..{WEDNESDAY + timedelta(days=1)} 测试假日
  workdays: [{_weekday(NEXT, 2, 6)} 调休]
{NEXT + 1}:
  source: 通知
  holidays:
    - {NEXT + 1}-01-01
    - {NEXT + 1}-02-30 春节
{NEXT + 2}:
  holidays: [{NEXT + 2}-01-01]
"""
    site = parse_arrangements(text, "holidays.yaml")
    assert list(site.years) == [NEXT]
    loaded = site.years[NEXT]
    assert loaded.lines("holidays") == [
        f"{NEXT}-01-01 元旦",
        f"{WEDNESDAY}..{WEDNESDAY + timedelta(days=1)} 测试假日",
    ]
    assert loaded.lines("workdays") == [f"{_weekday(NEXT, 2, 6)} 调休"]
    assert site.problems == (
        f"holidays.yaml, line 11 ({NEXT + 1} holidays): “{NEXT + 1}-02-30 春节”: "
        f"{NEXT + 1}-02-30 is not a date",
        f"holidays.yaml, line 13 ({NEXT + 2} source): no source: expected the notice the "
        "arrangement comes from",
    )
    assert site.bad_years == {NEXT + 1, NEXT + 2}
    assert site.keeps_all_but(NEXT + 1) is False  # NEXT + 2 would be lost
    # what opskit writes reads back the same
    again = parse_arrangements(hol.dump_arrangements(site.years), "x.yaml")
    assert again.years == site.years and again.problems == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{y}:\n\tsource: x", "holidays.yaml, line 2: not valid YAML (found character"),
        ("- 2027-01-01", "holidays.yaml, line 1: expected one entry per year"),
        ("twenty: x", "holidays.yaml, line 1: “twenty” is not a year from 2000 to 2100"),
        ("{y}:\n  holiday: []", "line 2 ({y}): unknown key “holiday”"),
        ("{y}:\n  source: x\n  holidays: {y}-01-01", "({y} holidays): expected a list"),
        ("{y}:\n  source: x\n  holidays: []", "({y} holidays): no holidays"),
    ],
)
def test_a_bad_file_says_where_and_what_was_expected(text: str, expected: str) -> None:
    site = parse_arrangements(text.format(y=NEXT), "holidays.yaml")
    assert site.years == {}
    assert any(expected.format(y=NEXT) in p for p in site.problems), site.problems


def test_the_policy_wins_over_the_file_which_wins_over_the_package() -> None:
    known = max(cal.PACKAGE_YEARS)
    national_day = date(known, 10, 1)
    calendar = WorkingCalendar(
        TZ,
        overrides={WEDNESDAY + timedelta(days=1): False, national_day: True},
        arrangements={NEXT: arrangement(NEXT, Days(WEDNESDAY, WEDNESDAY, "测试"))},
    )
    assert calendar.covered(NEXT) and calendar.source(NEXT) == cal.SITE
    assert calendar.covered(known) and calendar.source(known) == cal.PACKAGE
    assert not calendar.covered(NEXT + 1) and calendar.source(NEXT + 1) == cal.NOT_LOADED
    assert not calendar.is_workday(WEDNESDAY)  # the file's holiday
    assert not calendar.is_workday(WEDNESDAY + timedelta(days=1))  # the policy's
    assert calendar.is_workday(TUESDAY)  # a weekday the file does not name
    assert not calendar.is_workday(date(NEXT, 10, 1))  # statutory, fixed date: always off
    assert calendar.is_workday(national_day)  # the policy's date wins over the package
    # the policy's dates alone never load a year
    assert not WorkingCalendar(TZ, overrides={date(NEXT, 2, 8): False}).covered(NEXT)


def test_which_years_are_relevant_now() -> None:
    last = max(cal.PACKAGE_YEARS)
    plain = WorkingCalendar(TZ)
    far = date(last, 12, 31) - timedelta(days=cal.NEXT_YEAR_HORIZON_DAYS)  # 46 days before
    near = far + timedelta(days=1)  # 45 days before 1 January
    assert relevant_years(far, tz=TZ) == [last]
    assert relevant_years(near, tz=TZ) == [last, NEXT]
    assert unloaded_years(plain, far) == []
    assert unloaded_years(plain, near) == [NEXT]
    # a deadline, an interval: every year they touch (aware times in the site's zone)
    new_year_local = datetime(last, 12, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 January on site
    assert unloaded_years(plain, far, new_year_local) == [NEXT]
    assert unloaded_years(plain, far, (local(TUESDAY, "16:00"), date(NEXT + 1, 1, 4))) == [
        NEXT,
        NEXT + 1,
    ]
    assert unloaded_years(plain, far, date(NEXT, 3, 1), general=False) == [NEXT]
    loaded = WorkingCalendar(TZ, arrangements={NEXT: arrangement(NEXT)})
    assert unloaded_years(loaded, near, date(NEXT + 1, 1, 4)) == [NEXT + 1]


# --- the page --------------------------------------------------------------------------------


def _save(client, year: int, holidays: str, workdays: str = "", source: str = "国务院办公厅 通知"):
    return post_form(
        client,
        "/admin/calendar",
        {"year": str(year), "source": source, "holidays": holidays, "workdays": workdays},
    )


def test_admin_enters_a_year_and_a_c_deadline_across_the_new_holiday_moves_at_once(
    app: Flask, client
) -> None:
    raised = local(TUESDAY, "16:00")  # C: on site within 4 working hours
    with app.test_request_context("/"):
        assert current_policy().deadlines("C", raised)["onsite"] == local(WEDNESDAY, "11:00")
    login(client, "admin")
    page = client.get(f"/admin/calendar?year={NEXT}").get_data(as_text=True)
    card = page.split(f'id="year-{NEXT}"')[1].split("</section>")[0]
    assert 'data-loaded="0"' in card and 'data-action="enter"' in card
    assert 'id="arrangement-form"' in page and f'value="{NEXT}"' in page
    response = _save(
        client,
        NEXT,
        f"{NEXT}-01-01 元旦\r\n{WEDNESDAY} 测试假日\r\n",
        f"{_weekday(NEXT, 2, 6)} 调休",
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/calendar?year={NEXT}#year-{NEXT}")
    # no restart: the same app's next request counts with the new holiday
    with app.test_request_context("/"):
        assert current_policy().deadlines("C", raised)["onsite"] == local(
            WEDNESDAY + timedelta(days=1), "11:00"
        )
        assert current_policy().calendar.source(NEXT) == cal.SITE
    result = invoke(app, "sla", "deadlines", "--urgency", "C", "--at", f"{TUESDAY} 16:00", "--json")
    assert json.loads(result.output)["onsite"].startswith(f"{WEDNESDAY + timedelta(days=1)}T11:00")
    # the file, written whole, reads back; the page shows the year as loaded from it
    path = Path(app.instance_path) / "holidays.yaml"
    site = parse_arrangements(path.read_text(encoding="utf-8"), path)
    assert site.years[NEXT].lines("holidays") == [f"{NEXT}-01-01 元旦", f"{WEDNESDAY} 测试假日"]
    assert not list(path.parent.glob(".holidays.yaml.*"))  # no temporary file left
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    card = page.split(f'id="year-{NEXT}"')[1].split("</section>")[0]
    assert 'data-loaded="1" data-source="site"' in card
    assert f'data-days="{WEDNESDAY}"' in card and "测试假日" in card
    assert "国务院办公厅 通知" in card
    # audited like every admin change: who, what, before and after
    with app.app_context():
        row = db.session().scalar(
            select(AuditLog).where(AuditLog.object_type == "holiday_arrangement")
        )
        assert row is not None
        assert (row.actor, row.action, row.object_id) == ("admin", "create", str(NEXT))
        assert row.changes["holidays"] == [None, [f"{NEXT}-01-01 元旦", f"{WEDNESDAY} 测试假日"]]
    # saved again: an update, audited with what it was
    assert _save(client, NEXT, f"{NEXT}-01-01 元旦").status_code == 303
    with app.app_context():
        rows = (
            db.session()
            .scalars(
                select(AuditLog)
                .where(AuditLog.object_type == "holiday_arrangement")
                .order_by(AuditLog.id)
            )
            .all()
        )
        assert [r.action for r in rows] == ["create", "update"]
        assert rows[1].changes["holidays"][1] == [f"{NEXT}-01-01 元旦"]
        assert "source" not in rows[1].changes  # unchanged
    with app.test_request_context("/"):
        assert current_policy().deadlines("C", raised)["onsite"] == local(WEDNESDAY, "11:00")


def test_a_rejected_form_keeps_what_was_typed_and_names_the_line(app: Flask, client) -> None:
    login(client, "admin")
    typed = f"{NEXT}-01-01 元旦\n{NEXT}-02-30 春节"
    response = _save(client, NEXT, typed, f"{WEDNESDAY}", source="我的来源")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f"{NEXT}-01-01 元旦\n{NEXT}-02-30 春节</textarea>" in page
    assert f"{WEDNESDAY}</textarea>" in page and 'value="我的来源"' in page
    holidays = page.split('class="invalid-feedback" data-field="holidays">')[1].split("</div>")[0]
    assert "第 2 行" in holidays and f"{NEXT}-02-30" in holidays
    workdays = page.split('class="invalid-feedback" data-field="workdays">')[1].split("</div>")[0]
    assert "第 1 行" in workdays and "周六或周日" in workdays
    assert not (Path(app.instance_path) / "holidays.yaml").exists()
    with app.app_context():
        assert (
            db.session().scalar(
                select(AuditLog.id).where(AuditLog.object_type == "holiday_arrangement")
            )
            is None
        )
    # English, too
    post_form(client, "/language", {"locale": "en"})
    page = _save(client, NEXT, typed).get_data(as_text=True)
    assert f"Line 2: “{NEXT}-02-30 春节”: {NEXT}-02-30 is not a date" in page
    assert client.post("/admin/calendar", data={"year": NEXT, "holidays": typed}).status_code == 400


@pytest.mark.parametrize("role", ["viewer", "engineer", "supervisor"])
def test_others_may_look_but_not_save(app: Flask, client, role: str) -> None:
    login(client, role)
    page = client.get(f"/admin/calendar?year={NEXT}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'id="year-{NEXT}"' in text and 'id="arrangement-form"' not in text
    assert 'data-action="enter"' not in text
    assert _save(client, NEXT, f"{NEXT}-01-01").status_code == 403
    write_arrangements(Path(app.instance_path) / "holidays.yaml", {NEXT: arrangement(NEXT)})
    assert post_form(client, f"/admin/calendar/{NEXT}/remove").status_code == 403
    with app.app_context():
        assert (
            db.session().scalar(
                select(AuditLog.id).where(AuditLog.object_type == "holiday_arrangement")
            )
            is None
        )


def test_admin_removes_a_year(app: Flask, client) -> None:
    path = Path(app.instance_path) / "holidays.yaml"
    write_arrangements(path, {NEXT: arrangement(NEXT), NEXT + 1: arrangement(NEXT + 1)})
    login(client, "admin")
    assert post_form(client, f"/admin/calendar/{NEXT + 5}/remove").status_code == 404
    assert post_form(client, f"/admin/calendar/{NEXT}/remove").status_code == 303
    assert list(parse_arrangements(path.read_text(encoding="utf-8"), path).years) == [NEXT + 1]
    with app.app_context():
        row = db.session().scalar(select(AuditLog).where(AuditLog.action == "delete"))
        assert row is not None and row.object_id == str(NEXT)
        assert row.changes["source"] == ["国务院办公厅 测试通知", None]


def test_a_bad_file_warns_everywhere_and_nothing_crashes(app: Flask, client) -> None:
    path = Path(app.instance_path) / "holidays.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"{NEXT}:\n  source: 通知\n  holidays: [{NEXT}-01-01, {NEXT}-13-01]\n", encoding="utf-8"
    )
    login(client, "admin")
    home = client.get("/")
    assert home.status_code == 200
    problems = home.get_data(as_text=True).split('data-field="calendar-problems">')[1]
    assert f"holidays.yaml，第 3 行（{NEXT} holidays）" in problems.split("</ul>")[0]
    assert client.get("/admin/calendar").status_code == 200
    result = invoke(app, "sla", "calendar", "--year", str(NEXT))
    assert result.exit_code == 0
    assert "warning: not loaded:" in result.stderr and f"{NEXT}-13-01" in result.stderr
    assert f"{NEXT}  NOT LOADED" in result.stdout
    # the bad year can be entered again from the page (it replaces the entry) ...
    assert _save(client, NEXT, f"{NEXT}-01-01 元旦").status_code == 303
    assert 'data-field="calendar-problems"' not in client.get("/").get_data(as_text=True)
    # ... but a file opskit cannot read is not overwritten, which would lose what it holds
    path.write_text(path.read_text(encoding="utf-8") + "oops: 1\n", encoding="utf-8")
    refused = _save(client, NEXT + 1, f"{NEXT + 1}-01-01 元旦")
    assert refused.status_code == 400 and "oops" in refused.get_data(as_text=True)
    assert "oops: 1" in path.read_text(encoding="utf-8")


# --- the warnings ----------------------------------------------------------------------------


@pytest.fixture
def this_year_unloaded(monkeypatch: pytest.MonkeyPatch) -> int:
    """The package made to know nothing from this year on: the dashboard must warn."""
    today = clock.site_today()
    monkeypatch.setattr(
        cal, "PACKAGE_YEARS", frozenset(y for y in cal.PACKAGE_YEARS if y < today.year)
    )
    return today.year


def test_the_dashboard_warns_until_the_years_are_loaded(
    app: Flask, client, this_year_unloaded: int
) -> None:
    login(client, "viewer")
    page = client.get("/").get_data(as_text=True)
    years = banner_years(page)
    assert years is not None and years[0] == this_year_unloaded
    assert set(years) <= {this_year_unloaded, this_year_unloaded + 1}
    assert f"{this_year_unloaded}" in page.split('data-field="calendar-years">')[1].split("</p>")[0]
    assert 'href="/admin/calendar"' in page  # viewers may look
    post_form(client, "/logout")
    login(client, "admin")
    page = client.get("/").get_data(as_text=True)
    assert f'href="/admin/calendar?year={this_year_unloaded}"' in page
    kiosk = client.get("/kiosk").get_data(as_text=True)
    assert banner_years(kiosk) == years and 'id="calendar-warning-link"' not in kiosk
    # this year entered: gone (and next year too when it is near)
    today = clock.site_today()
    relevant = relevant_years(today, tz=TZ)
    write_arrangements(
        Path(app.instance_path) / "holidays.yaml", {y: arrangement(y) for y in relevant}
    )
    assert banner_years(client.get("/").get_data(as_text=True)) is None


def test_alert_pages_warn_when_a_5x8_clock_touches_an_unloaded_year(app: Flask, client) -> None:
    with app.test_request_context("/"):
        minor = services.raise_alert(
            "test:calendar:c",
            source="monitor",
            rule="ups.on_battery",
            urgency="C",
            message="C 级告警",
            at=local(TUESDAY, "16:00"),
        )
        db.session().commit()
        alert_id = minor.id
    login(client, "engineer")
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert NEXT in (banner_years(detail) or [])
    listing = client.get("/alerts/").get_data(as_text=True)
    assert NEXT in (banner_years(listing) or [])
    assert 'id="calendar-warning"' not in client.get(
        "/alerts/", headers={"HX-Request": "true"}
    ).get_data(as_text=True)  # the list refreshing in place: the page keeps its banner
    write_arrangements(Path(app.instance_path) / "holidays.yaml", {NEXT: arrangement(NEXT)})
    detail = client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert NEXT not in (banner_years(detail) or [])


def test_the_pack_cover_notes_an_unloaded_year(app: Flask, tmp_path: Path) -> None:
    def cover(text: str, lang: str = "zh_CN") -> dict[str, object]:
        out = tmp_path / f"{text}-{lang}.xlsx"
        period = parse_period(text, TZ)  # built as its last hour, as next year's may lie ahead
        build_pack(period, out, ["warranty"], lang=lang, now=period.end - timedelta(hours=1))
        sheet = openpyxl.load_workbook(out)["封面" if lang == "zh_CN" else "Cover"]
        return {r[0]: r[1] for r in sheet.iter_rows(min_row=3, values_only=True)}

    with app.test_request_context("/"):
        note = cover(f"{NEXT}Q2")["工作日历"]
        assert isinstance(note, str) and str(NEXT) in note and "放假安排" in note
        english = cover(f"{NEXT}Q2", "en")["Working calendar"]
        assert f"Holiday arrangement not loaded: {NEXT}." in str(english)
        assert "工作日历" not in cover(f"{NEXT - 1}Q2")  # the package's year
        # the last quarter of the package's last year runs into the next one
        assert str(NEXT) in str(cover(f"{NEXT - 1}Q4")["工作日历"])
        write_arrangements(Path(app.instance_path) / "holidays.yaml", {NEXT: arrangement(NEXT)})
        assert "工作日历" not in cover(f"{NEXT}Q2")


def test_cli_prints_each_year_loaded_or_not(app: Flask) -> None:
    known = max(cal.PACKAGE_YEARS)
    result = invoke(app, "sla", "calendar", "--year", str(known))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{known}  loaded") and "calendar package" in lines[0]
    assert f"{known}-10-01" in lines[1] and lines[1].lstrip().startswith("holidays:")
    result = invoke(app, "sla", "calendar", "--year", str(NEXT))
    assert result.stdout.startswith(f"{NEXT}  NOT LOADED")
    assert "holidays.yaml" in result.stdout
    write_arrangements(
        Path(app.instance_path) / "holidays.yaml",
        {NEXT: arrangement(NEXT, Days(WEDNESDAY, WEDNESDAY + timedelta(days=1), "测试"))},
    )
    result = invoke(app, "sla", "calendar", "--year", str(NEXT))
    assert result.stdout.splitlines()[:2] == [
        f"{NEXT}  loaded      site file (国务院办公厅 测试通知)",
        f"  holidays:  {NEXT}-01-01 元旦; {WEDNESDAY}..{WEDNESDAY + timedelta(days=1)} 测试",
    ]
    everything = invoke(app, "sla", "calendar")
    today = clock.site_today()
    assert (
        f"\n{today.year + 1}  " in "\n" + everything.stdout
        and f"{NEXT}  loaded" in everything.stdout
    )


def test_the_form_needs_its_csrf_token(app: Flask, client) -> None:
    login(client, "admin")
    csrf_token(client, "/admin/calendar")
    response = client.post("/admin/calendar", data={"year": NEXT, "holidays": f"{NEXT}-01-01"})
    assert response.status_code == 400
    assert not (Path(app.instance_path) / "holidays.yaml").exists()
