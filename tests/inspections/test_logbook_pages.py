"""The logbook lists page through every row: 100 a page, newest first (ties by id), the
filters kept in every page link, counts of the filtered rows, bad page numbers answered."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from inspections.logbook import queries as logbook_queries
from inspections.logbook.models import AccessEntry, PowerEvent
from inspections.logbook.queries import Filters
from opskit import db
from tests.conftest import login
from tests.inspections.test_logbook import _setup

TZ = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 October, Shanghai
ROW_NAME = re.compile(r'<tr data-entry="\d+"><td>[^<]*</td><td>([^<]*)</td>')
EVENT_REASON = re.compile(r'<tr data-event="\d+">(?:<td[^>]*>[^<]*</td>){4}<td>([^<]*)</td>')


def _seed(app, visitors: int = 205, others: int = 105, events: int = 130) -> dict[str, int]:
    """``visitors`` visits to A机房 named 访客000… in groups of ten at the same minute (ties
    across page borders), ``others`` to B机房 named 外来000…, and ``events`` power events of
    SRV-001 (reasons 原因000…) in groups of four at the same minute; all signed out."""
    ids = _setup(app)  # A机房 with SRV-001, B机房 with SRV-900
    with app.app_context():
        rows = []
        for i in range(visitors):
            at = BASE + timedelta(minutes=i // 10)
            rows.append(_visit(ids["room"], f"访客{i:03d}", at))
        for i in range(others):
            rows.append(
                _visit(ids["other_room"], f"外来{i:03d}", BASE + timedelta(days=1, minutes=i))
            )
        db.session().execute(insert(AccessEntry), rows)
        if events:
            db.session().execute(
                insert(PowerEvent),
                [
                    {
                        "asset_id": ids["asset"],
                        "action": "restart",
                        "reason": f"原因{i:03d}",
                        "change_ref": "",
                        "performed_by": "孙三",
                        "occurred_at": BASE + timedelta(minutes=i // 4),
                        "created_at": BASE,
                    }
                    for i in range(events)
                ],
            )
        db.session().commit()
        return {"room": ids["room"], "other_room": ids["other_room"]}


def _visit(room_id: int, name: str, at: datetime) -> dict:
    return {
        "room_id": room_id,
        "name": name,
        "organisation": "电信",
        "purpose": "巡检",
        "escort": "",
        "in_at": at,
        "out_at": at + timedelta(minutes=30),
        "created_at": at,
    }


def _names(first: int, last: int, prefix: str = "访客") -> list[str]:
    """``prefix`` + numbers from ``first`` down to ``last`` (newest first)."""
    return [f"{prefix}{i:03d}" for i in range(first, last - 1, -1)]


def _get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def _link(page: str, element_id: str) -> str:
    match = re.search(rf'href="([^"]+)"[^>]*id="{element_id}"', page)
    assert match, f"no link #{element_id}"
    return html.unescape(match.group(1))


def _summary(page: str, where: str = "logbook-pages-top") -> str:
    match = re.search(rf'id="{where}-summary">([^<]*)<', page)
    assert match, f"no #{where}-summary"
    return match.group(1)


def test_pages_of_the_data_layer_newest_first_ties_by_id(db_app) -> None:
    ids = _seed(db_app)
    with db_app.app_context():
        everything = Filters()
        first = logbook_queries.access_page(everything, TZ)
        assert (first.total, first.pages, first.page, len(first.items)) == (310, 4, 1, 100)
        # B机房's visits are a day later: the first page is theirs, newest first
        assert [e.name for e in first.items] == _names(104, 5, "外来")
        room = Filters(room_id=ids["room"])
        pages = [logbook_queries.access_page(room, TZ, n) for n in (1, 2, 3)]
        assert [p.total for p in pages] == [205, 205, 205] and pages[0].pages == 3
        assert [e.name for e in pages[0].items] == _names(204, 105)
        assert [e.name for e in pages[1].items] == _names(104, 5)
        assert [e.name for e in pages[2].items] == _names(4, 0)
        # a tie of ten at the same minute crosses the border of pages 1 and 2 (访客100-109)
        assert pages[0].items[-1].in_at == pages[1].items[0].in_at
        seen = [e.id for p in pages for e in p.items]
        assert len(seen) == len(set(seen)) == 205
        # past the last page: the last; below the first: the first
        assert logbook_queries.access_page(room, TZ, 99).page == 3
        assert [e.name for e in logbook_queries.access_page(room, TZ, 99).items] == _names(4, 0)
        assert logbook_queries.access_page(room, TZ, 0).page == 1
        searched = logbook_queries.access_page(Filters(q="外来10"), TZ)
        assert (searched.total, [e.name for e in searched.items]) == (5, _names(104, 100, "外来"))
        dated = logbook_queries.access_page(Filters(start=datetime(2026, 10, 2).date()), TZ, 2)
        assert (dated.total, dated.page, [e.name for e in dated.items]) == (
            105,
            2,
            _names(4, 0, "外来"),
        )
        power = [logbook_queries.power_page(Filters(), TZ, n) for n in (1, 2)]
        assert power[0].total == 130 and power[0].pages == 2
        assert [p.reason for p in power[1].items] == [f"原因{i:03d}" for i in range(29, -1, -1)]
        assert power[0].items[-1].occurred_at == power[1].items[0].occurred_at  # a tie
        none = logbook_queries.power_page(Filters(room_id=ids["other_room"]), TZ)
        assert (none.total, none.pages, none.page, none.items) == (0, 1, 1, [])
        # the Excel export is not paged
        assert len(logbook_queries.access_entries(Filters(), TZ)) == 310


def test_page_links_keep_the_filters_and_count_the_filtered_rows(db_app, db_client) -> None:
    ids = _seed(db_app)
    login(db_client, "viewer")
    page = _get(db_client, "/patrol/logbook/")
    assert _summary(page) == "第 1 / 4 页 · 共 310 条"
    assert _summary(page, "logbook-pages") == "第 1 / 4 页 · 共 310 条"
    assert ROW_NAME.findall(page) == _names(104, 5, "外来")
    assert 'id="logbook-pages-top-prev"' not in page  # no page before the first
    assert "上一页" in page and "下一页" in page

    url = f"/patrol/logbook/?tab=access&room={ids['room']}&q=访客&start=2026-10-01&end=2026-10-01"
    page = _get(db_client, url)
    assert _summary(page) == "第 1 / 3 页 · 共 205 条"
    assert ROW_NAME.findall(page) == _names(204, 105)
    following = _link(page, "logbook-pages-next")
    query = parse_qs(urlsplit(following).query)
    assert query == {
        "tab": ["access"],
        "page": ["2"],
        "room": [str(ids["room"])],
        "q": ["访客"],
        "start": ["2026-10-01"],
        "end": ["2026-10-01"],
    }
    page = _get(db_client, following)
    assert _summary(page) == "第 2 / 3 页 · 共 205 条"
    assert ROW_NAME.findall(page) == _names(104, 5)
    assert 'value="访客"' in page  # the filter form still shows the search
    page = _get(db_client, _link(page, "logbook-pages-top-next"))
    assert _summary(page) == "第 3 / 3 页 · 共 205 条"
    assert ROW_NAME.findall(page) == _names(4, 0)
    assert 'id="logbook-pages-next"' not in page  # no page after the last
    back = _link(page, "logbook-pages-prev")
    assert parse_qs(urlsplit(back).query)["page"] == ["2"]
    assert ROW_NAME.findall(_get(db_client, back)) == _names(104, 5)
    # switching tab or exporting starts from the filters, not from page 3
    for element in ("tab-power", "logbook-export"):
        target = parse_qs(urlsplit(_link(page, element)).query)
        assert "page" not in target and target["room"] == [str(ids["room"])]

    other = _get(db_client, f"/patrol/logbook/?room={ids['other_room']}&page=2")
    assert _summary(other) == "第 2 / 2 页 · 共 105 条"
    assert ROW_NAME.findall(other) == _names(4, 0, "外来")

    power = _get(db_client, "/patrol/logbook/?tab=power&q=SRV-001")
    assert _summary(power) == "第 1 / 2 页 · 共 130 条"
    assert EVENT_REASON.findall(power) == [f"原因{i:03d}" for i in range(129, 29, -1)]
    following = _link(power, "logbook-pages-next")
    assert parse_qs(urlsplit(following).query) == {
        "tab": ["power"],
        "page": ["2"],
        "q": ["SRV-001"],
    }
    power = _get(db_client, following)
    assert EVENT_REASON.findall(power) == [f"原因{i:03d}" for i in range(29, -1, -1)]
    empty = _get(db_client, f"/patrol/logbook/?tab=power&room={ids['other_room']}")
    assert _summary(empty) == "第 1 / 1 页 · 共 0 条"
    assert 'id="logbook-pages"' not in empty and "下一页" not in empty


def test_thousands_and_bad_page_numbers(db_app, db_client) -> None:
    _seed(db_app, visitors=1234, others=0, events=0)
    login(db_client, "engineer")
    page = _get(db_client, "/patrol/logbook/?page=13")
    assert _summary(page) == "第 13 / 13 页 · 共 1,234 条"
    assert ROW_NAME.findall(page) == _names(33, 0)
    assert 'id="page-message"' not in page
    for asked in ("99", "99999999999999999999999999"):
        page = _get(db_client, f"/patrol/logbook/?page={asked}")
        assert _summary(page) == "第 13 / 13 页 · 共 1,234 条"
        assert ROW_NAME.findall(page) == _names(33, 0)
        assert f"没有第 {asked[:20]} 页：共 13 页。显示最后一页。" in page
    for asked in ("abc", "0", "-2", "2.5", "１"):
        page = _get(db_client, f"/patrol/logbook/?page={asked}")
        assert _summary(page) == "第 1 / 13 页 · 共 1,234 条", asked
        assert ROW_NAME.findall(page) == _names(1233, 1134)
        assert f"“{html.escape(asked)}”不是页码，显示第 1 页。" in page
    power = _get(db_client, "/patrol/logbook/?tab=power&page=5")
    assert _summary(power) == "第 1 / 1 页 · 共 0 条"
    assert "没有第 5 页：共 1 页。显示最后一页。" in power
