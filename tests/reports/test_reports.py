"""Report packs read back with openpyxl: exact figures computed independently here."""

from __future__ import annotations

import getpass
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.cli import ScriptInfo
from flask_babel import force_locale
from sqlalchemy import select

from opskit import db
from opskit.alerts import services
from opskit.cli import cli
from opskit.models import User
from opskit.sla import PolicyError, default_policy_text, load_policy
from opskit.xlsx.writer import Col, ReportWriter, Sheet, display_width
from reports.build import ReportError, build_pack
from reports.periods import PeriodError, parse_period, previous_quarter, recent_periods
from tests import factories
from tests.conftest import login

TZ = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize(
    ("text", "first", "last", "zh"),
    [
        ("2026Q3", date(2026, 7, 1), date(2026, 9, 30), "2026年第3季度"),
        ("2026q4", date(2026, 10, 1), date(2026, 12, 31), "2026年第4季度"),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28), "2026年2月"),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31), "2026年12月"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026年"),
    ],
)
def test_periods(text, first, last, zh) -> None:
    period = parse_period(text, TZ)
    assert (period.first_day, period.last_day, period.zh) == (first, last, zh)
    assert period.start == local(f"{first.isoformat()} 00:00")  # local midnight
    assert period.start.utcoffset() == timedelta(0)  # stored and compared in UTC


def test_bad_periods_and_previous_quarter(app: Flask) -> None:
    for text in ("2026Q5", "2026-13", "Q3", ""):
        with pytest.raises(PeriodError):
            parse_period(text, TZ)
    with app.test_request_context("/"):  # the Reports page shows the error in the UI language
        with pytest.raises(PeriodError, match="“2026Q5”不是有效的期间"):
            parse_period("2026Q5", TZ)
        with pytest.raises(PeriodError, match="没有第 13 月"):
            parse_period("2026-13", TZ)
        with pytest.raises(PeriodError, match=r"^请选择期间"):
            parse_period(" ", TZ)
    assert previous_quarter(date(2026, 11, 25), TZ).text == "2026Q3"
    assert previous_quarter(date(2026, 2, 1), TZ).text == "2025Q4"


def test_recent_periods_across_the_new_year() -> None:
    picks = {key: p.text for key, p in recent_periods(date(2027, 1, 15), TZ)}
    assert picks == {
        "last_quarter": "2026Q4",
        "this_quarter": "2027Q1",
        "last_month": "2026-12",
        "this_month": "2027-01",
        "last_year": "2026",
        "this_year": "2027",
    }


def test_writer_keeps_formula_like_text_as_text_and_refuses_aware_times(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    with ReportWriter(path) as writer:
        writer.sheet(
            Sheet(
                "数据",
                [Col("name", "名称"), Col("n", "数量", "int")],
                [
                    {"name": '=HYPERLINK("http://evil","x")', "n": 3},
                    {"name": "+86 138 0000 0000", "n": 4},
                    {"name": "@SUM(A1)", "n": 5},
                ],
            )
        )
    ws = openpyxl.load_workbook(path)["数据"]
    assert ws["A2"].value == '=HYPERLINK("http://evil","x")' and ws["A2"].data_type == "s"
    assert ws["A3"].value == "+86 138 0000 0000" and ws["A4"].value == "@SUM(A1)"
    assert ws["B2"].value == 3 and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:B4"
    broken = tmp_path / "broken.xlsx"
    with pytest.raises(TypeError), ReportWriter(broken) as writer:
        writer.sheet(Sheet("x", [Col("t", "时间", "datetime")], [{"t": local("2026-01-01 08:00")}]))
    assert not broken.exists() and not list(tmp_path.glob(".report-*"))
    assert display_width("机房A") == 5


def _seed_quarter() -> None:
    def alert(key, urgency, source, first, ack=None, onsite=None, resolved=None, rule=None):
        a = services.raise_alert(
            key,
            source=source,
            rule=rule or "r." + key,
            urgency=urgency,
            message=f"告警 {key}",
            at=local(first),
        )
        a.acknowledged_at = local(ack) if ack else None
        a.onsite_at = local(onsite) if onsite else None
        if resolved:
            services.resolve(a, "处理完毕", at=local(resolved))

    alert(
        "a1",
        "A",
        "monitor",
        "2026-07-10 10:00",
        "2026-07-10 10:03",
        "2026-07-10 11:30",
        "2026-07-10 12:30",
        rule="ups.on_battery",
    )  # all met
    alert(
        "b1",
        "B",
        "monitor",
        "2026-08-01 02:00",
        "2026-08-01 02:10",
        "2026-08-01 04:10",
        "2026-08-01 04:50",
    )  # ack and on-site breached, resolve met (3 h: 05:00)
    alert(
        "c1",
        "C",
        "patrol",
        "2026-09-30 16:00",
        "2026-09-30 16:04",
        "2026-10-08 10:30",
        "2026-10-08 14:30",
    )  # 5x8 over National Day: on site due 10-08 11:00 (met), resolve 14:00 (7 h: breached)
    alert("later", "A", "monitor", "2026-10-02 09:00")  # next quarter: not counted


def _rows(ws) -> list[tuple]:
    return [tuple(c.value for c in row) for row in ws.iter_rows(min_row=2)]


def test_quarterly_alert_and_warranty_pack(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "pack.xlsx"
    with db_app.test_request_context("/"):
        _seed_quarter()
        factories.asset(
            "EVIL-1",
            name='=HYPERLINK("http://evil","点我")',
            warranty_end=date(2026, 12, 31),
            support_level="7x24x4",
        )
        factories.asset("OLD-1", name="旧服务器", warranty_end=date(2026, 9, 1))
        factories.asset("FAR-1", name="新服务器", warranty_end=date(2027, 12, 31))
        db.session().commit()
        written = build_pack(
            parse_period("2026Q3", TZ),
            out,
            ["alerts", "warranty"],
            engineer="张工",
            now=local("2026-11-25 09:00"),
        )
    assert written["告警明细"] == 3
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "封面",
        "综述",  # the summary and recommendations
        "月度概况",  # a quarter: its months side by side
        "告警统计",
        "SLA 达成",
        "响应时间统计",  # mean, p90 and within SLA per urgency
        "告警明细",
        "事件",
        "保修到期",
    ]
    assert _rows(book["告警统计"]) == [("A", "监控", 1), ("B", "监控", 1), ("C", "巡检", 1)]
    sla = {(r[0], r[1]): r[4:] for r in _rows(book["SLA 达成"])}
    assert sla == {
        ("一级服务", "确认"): (2, 1, 1, 0, 0.5),
        ("一级服务", "到场"): (2, 1, 1, 0, 0.5),
        ("一级服务", "解决"): (2, 2, 0, 0, 1.0),
        ("二级服务", "确认"): (1, 1, 0, 0, 1.0),
        ("二级服务", "到场"): (1, 1, 0, 0, 1.0),
        ("二级服务", "解决"): (1, 0, 1, 0, 0.0),
    }
    # the service hours and the target of each clock, from the contract's policy
    assert [(r[2], r[3]) for r in _rows(book["SLA 达成"])] == [
        ("5 分钟", "7x24"),
        ("2 小时", "7x24"),
        ("3 小时", "7x24"),
        ("5 分钟", "工作时间（5x8）"),
        ("4 小时", "工作时间（5x8）"),
        ("7 小时", "工作时间（5x8）"),
    ]
    assert book["SLA 达成"]["I2"].number_format == "0.0%"
    # month by month, counted here from the alert details
    details_rows = _rows(book["告警明细"])
    expected = {}
    for month in ("2026-07", "2026-08", "2026-09"):
        mine = [r for r in details_rows if f"{r[6]:%Y-%m}" == month]
        decided = [r for r in mine if r[14] in ("已达成", "已超时")]
        by = [sum(1 for r in mine if r[1] == u) for u in "ABC"]
        met = sum(1 for r in decided if r[14] == "已达成")
        expected[month] = (*by, len(mine), met / len(decided) if decided else None, 0)
    overview = {r[0]: r[1:7] for r in book["月度概况"].iter_rows(min_row=4, values_only=True)}
    assert overview == expected
    assert sum(v[3] for v in overview.values()) == 3
    chart = book["SLA 达成"]._charts[0]  # labelled by level and clock (two-level categories)
    categories = chart.series[0].cat.multiLvlStrRef
    assert categories.f == "'SLA 达成'!$A$2:$B$7"
    levels = [[p.v for p in lvl.pt] for lvl in categories.multiLvlStrCache.lvl]
    assert levels == [["确认", "到场", "解决"] * 2, ["一级服务"] * 3 + ["二级服务"] * 3]
    details = {r[5]: r for r in _rows(book["告警明细"])}
    b1 = details["告警 b1"]
    assert b1[3] == "监控"  # the source as a word, as on the alert page
    assert details["告警 a1"][4] == "UPS 电池供电"  # a rule by its title (rules.yaml)
    assert b1[4] is None  # a rule opskit does not know: a blank, not its name ("r.b1")
    assert b1[6] == datetime(2026, 8, 1, 2, 0)  # local time, naive in the cell
    assert (b1[10], b1[11], b1[12]) == (10.0, 130.0, 170.0)
    assert (b1[13], b1[14], b1[15]) == ("已超时", "已超时", "已达成")
    cover = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert cover["期间"] == "2026年第3季度" and cover["工程师"] == "张工"
    assert cover["告警"] == 3 and cover["一级服务到场达成率"] == 0.5  # a number, shown as 50.0%
    front = book["封面"]
    rates = [r for r in front.iter_rows(min_row=3) if r[0].value == "一级服务到场达成率"]
    assert rates[0][1].number_format == "0.0%"
    warranty = book["保修到期"]
    names = [r[1] for r in warranty.iter_rows(min_row=4, values_only=True)]
    assert names == ["旧服务器", '=HYPERLINK("http://evil","点我")']  # expired first; FAR-1 out
    evil = next(c for c in warranty["B"] if c.value and str(c.value).startswith("="))
    assert evil.data_type == "s"


def test_report_cli_and_page(app: Flask, client, tmp_path: Path) -> None:
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)
    out = tmp_path / "r.xlsx"
    ok = runner.invoke(
        cli, ["report", "build", "--period", "2026Q3", "--out", str(out), "--lang", "en"], obj=info
    )
    assert ok.exit_code == 0, ok.output
    assert openpyxl.load_workbook(out).sheetnames[:6] == [
        "Cover",
        "Summary",
        "Month by month",
        "Device configuration",
        "Storage",
        "Network links",
    ]
    bad = runner.invoke(cli, ["report", "build", "--period", "2026Q9", "--out", str(out)], obj=info)
    assert bad.exit_code == 2 and "2026Q9" in bad.output
    planned = runner.invoke(
        cli,
        ["report", "build", "--period", "2026Q3", "--kinds", "ip,topo", "--out", str(out)],
        obj=info,
    )
    assert planned.exit_code == 2 and "unknown report kinds: topo" in planned.output
    with pytest.raises(ReportError):
        build_pack(parse_period("2026", TZ), out, ["nope"])
    login(client, "viewer")  # the customer may download reports
    page = client.get("/reports/").get_data(as_text=True)
    today = db.utcnow().astimezone(TZ).date()
    assert f'id="period" name="period" value="{previous_quarter(today, TZ).text}"' in page
    assert '<option value="en">English' in page  # the workbook in the page's language
    path = tmp_path / "dl.xlsx"
    with client.get("/reports/build?period=2026Q3&kinds=warranty") as response:
        assert response.status_code == 200
        assert "attachment" in response.headers["Content-Disposition"]
        path.write_bytes(response.data)
    assert openpyxl.load_workbook(path).sheetnames == ["封面", "综述", "保修到期"]
    bad_page = client.get("/reports/build?period=next+year&lang=en&kinds=ip")
    assert bad_page.status_code == 400
    html = bad_page.get_data(as_text=True)
    assert 'id="report-error"' in html and 'value="next year"' in html  # kept as typed
    assert '<option value="en" selected>English' in html
    assert 'value="ip" id="kind-ip" checked' in html
    assert 'value="load" id="kind-load" >' in html  # not chosen: still not chosen


def test_cover_has_contents_linking_every_sheet_and_a_sign_off_block(
    app: Flask, tmp_path: Path
) -> None:
    """The cover is a document's first page: beside its figures a table of contents whose
    entries link to every other sheet in order, below them a sign-off block with a ruled
    empty cell for each signature, in the pack's language."""
    out = tmp_path / "toc.xlsx"
    with app.test_request_context("/"):
        for lang, heading, sign in (
            ("zh_CN", "目录", ["签字确认", "驻场工程师（签字）", "客户代表（签字）", "签字日期"]),
            (
                "en",
                "Table of contents",
                [
                    "Sign-off",
                    "Resident engineer (signature)",
                    "Customer representative (signature)",
                    "Date signed",
                ],
            ),
        ):
            build_pack(parse_period("2026Q3", TZ), out, ["warranty", "ip"], lang=lang)
            book = openpyxl.load_workbook(out)
            front = book.worksheets[0]
            others = book.sheetnames[1:]
            assert len(others) >= 4  # summary, month by month?, warranty, the IP sheets
            assert front["D3"].value == heading
            entries = [
                (front.cell(row=4 + i, column=4).value, front.cell(row=4 + i, column=5))
                for i in range(len(others))
            ]
            assert [number for number, _ in entries] == [str(i + 1) for i in range(len(others))]
            assert [cell.value for _, cell in entries] == others
            for name, (_, cell) in zip(others, entries, strict=True):
                assert cell.hyperlink is not None and cell.hyperlink.location == f"'{name}'!A1"
            assert front.cell(row=4 + len(others), column=5).value is None  # nothing more
            labels = [row[0].value for row in front.iter_rows(min_row=3)]
            at = labels.index(sign[0])
            assert labels[at - 1] is None  # a blank row sets the block apart
            assert labels[at : at + 4] == sign
            for r in range(at + 1, at + 4):
                line = front.cell(row=3 + r, column=2)
                assert line.value is None and line.border.bottom.style == "thin"


def test_cover_names_the_site(app: Flask, tmp_path: Path) -> None:
    """The cover's site: OPSKIT_SITE_NAME when set, else the registry's sites, else a note."""
    out = tmp_path / "cover.xlsx"

    def site(lang: str = "zh_CN") -> str:
        build_pack(parse_period("2026Q3", TZ), out, ["warranty"], lang=lang)
        cover = openpyxl.load_workbook(out)["封面" if lang == "zh_CN" else "Cover"]
        return cover["B3"].value

    with app.test_request_context("/"):
        app.config["SITE_NAME"] = ""
        assert site() == "（未设置站点名称）"
        factories.rack(site="总部")
        factories.rack(site="分部", room="C机房")
        db.session().commit()
        assert site() == "分部、总部"
        assert site("en") == "分部, 总部"
        app.config["SITE_NAME"] = "某某单位数据中心"
        assert site() == "某某单位数据中心"


def test_download_answers_the_page_token_in_a_cookie(app: Flask, client) -> None:
    """The page's script knows the build is over when the token it sent comes back."""
    login(client, "viewer")
    with client.get("/reports/build?period=2026Q3&kinds=warranty&token=abcDEF123456") as ok:
        assert ok.status_code == 200
        cookie = ok.headers["Set-Cookie"]
    assert cookie.startswith("opskit_report=abcDEF123456;")
    assert "Path=/reports/" in cookie and "SameSite=Strict" in cookie
    for bad in ("short", "a" * 41, "abc;def=12345", ""):
        query = {"period": "2026Q3", "kinds": "warranty", "token": bad}
        with client.get("/reports/build", query_string=query) as response:
            assert response.status_code == 200
            assert "opskit_report" not in response.headers.get("Set-Cookie", "")


def test_registry_words_in_the_workbook_language(app: Flask, tmp_path: Path) -> None:
    """Kinds and importance read as words: the import template's Chinese in a Chinese
    workbook, the pages' English in an English one (never the stored key)."""
    out = tmp_path / "words.xlsx"
    with app.test_request_context("/"):
        factories.asset(
            "AC-1", kind="precision_ac", warranty_end=date(2026, 10, 1), importance="core"
        )
        factories.asset("DB-1", importance="core")  # no load values: one row saying so
        db.session().commit()
        words = {}
        for lang, sheets in (
            ("zh_CN", ("保修到期", "负载汇总")),
            ("en", ("Warranty", "Load summary")),
        ):
            build_pack(parse_period("2026Q3", TZ), out, ["warranty", "load"], lang=lang)
            book = openpyxl.load_workbook(out)
            warranty, load = (book[name].iter_rows(min_row=4, values_only=True) for name in sheets)
            words[lang] = [r[2] for r in warranty] + [(r[0], r[2], r[11]) for r in load]
    assert words == {
        "zh_CN": ["精密空调", ("DB-1", "核心", "本期无监控数据")],
        "en": ["Precision air conditioner", ("DB-1", "Core", "no monitoring data in the period")],
    }


def test_service_level_names_in_the_workbooks_language(db_app: Flask, tmp_path: Path) -> None:
    """The SLA sheet names each level as the policy does: 一级服务 in Chinese, its ``name_en``
    in English; a site's policy without ``name_en`` reads "Level N service" in English."""
    with db_app.test_request_context("/"):
        _seed_quarter()
        db.session().commit()
        for lang, names in (
            ("zh_CN", ["一级服务", "二级服务"]),
            ("en", ["Level 1 service", "Level 2 service"]),
        ):
            out = tmp_path / f"{lang}.xlsx"
            build_pack(
                parse_period("2026Q3", TZ), out, ["alerts"], lang, now=local("2026-11-25 09:00")
            )
            book = openpyxl.load_workbook(out)
            sheet = book["SLA 达成" if lang == "zh_CN" else "SLA"]
            assert sorted({r[0] for r in _rows(sheet) if r[0]}) == names
    text = re.sub(r"(?m)^ +name_en: Level 1 service\n", "", default_policy_text())
    with db_app.test_request_context("/"), force_locale("en"):
        level = load_policy(text, ZoneInfo("Asia/Shanghai")).level_for("A")
        assert (level.name, level.words) == ("一级服务", "Level 1 service")
    with db_app.test_request_context("/"):
        assert level.words == "一级服务"
    bad = default_policy_text().replace("name_en: Level 2 service", "name_en: [2]")
    with pytest.raises(PolicyError, match=r"name_en: expected the level's name in English"):
        load_policy(bad, ZoneInfo("Asia/Shanghai"))


def test_the_cover_names_the_engineers_never_the_computers_account(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``opskit report build`` without ``--engineer`` names the active engineer accounts by
    their full names (as a scheduled pack does); the operating system's account (``root``)
    never appears. ``--engineer`` wins."""
    monkeypatch.setattr(getpass, "getuser", lambda: "root")
    monkeypatch.setenv("USER", "root")
    info = ScriptInfo(create_app=lambda: app)

    def cover(*extra: str) -> dict:
        out = tmp_path / "pack.xlsx"
        args = ["report", "build", "--period", "2026Q3", "--kinds", "warranty", "--out", str(out)]
        result = CliRunner().invoke(cli, [*args, *extra], obj=info)
        assert result.exit_code == 0, result.output
        sheet = openpyxl.load_workbook(out)["封面"]
        return {r[0]: r[1] for r in sheet.iter_rows(min_row=3, values_only=True) if r[0]}

    with app.app_context():
        expected = "、".join(
            u.display_name
            for u in db.session().scalars(
                select(User).where(User.role == "engineer", User.active.is_(True))
            )
        )
    assert expected == "Engineer"  # the engineer persona's full name
    assert cover()["工程师"] == expected
    assert "root" not in str(cover().values())
    assert cover("--engineer", "张伟")["工程师"] == "张伟"
