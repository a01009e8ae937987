"""Downtime statistics from the state flips (``monitors.availability``, offered through
``monitors.queries``), and the monitor's page that shows them, in Chinese and English.

Every flip is written at a known time before ``NOW``, and every figure is read under
``clock.frozen(NOW)``, so each duration and percentage below is exact.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from monitors import queries
from monitors.availability import Availability, summarize
from monitors.models import Monitor, StatusFlip
from opskit import clock, db
from tests import factories
from tests.conftest import login

NOW = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai
D, H = timedelta(days=1), timedelta(hours=1)

#: monitor "A": (time before NOW, old, new, reason), oldest first; 12 flips
HISTORY_A = [
    (60 * D, "unknown", "up", ""),
    (50 * D, "up", "down", "no result within 30 s"),
    (49 * D, "down", "up", ""),
    (45 * D, "up", "unknown", "check failed: OSError: boom"),
    (40 * D, "unknown", "up", ""),
    (10 * D, "up", "down", "no result within 30 s"),
    (9 * D, "down", "up", ""),
    (5 * D, "up", "unknown", "check failed: TimeoutError: snmp"),
    (4 * D, "unknown", "up", ""),
    (2 * D, "up", "down", "100% packet loss"),
    (D + 12 * H, "down", "up", ""),
    (6 * H, "up", "down", "connection refused"),
]


def _monitor(host: str, history: list[tuple[timedelta, str, str, str]]) -> int:
    asset = factories.asset(f"SW-{host.rsplit('.', 1)[-1]}", kind="switch")
    db.session().flush()
    monitor = Monitor(asset_id=asset.id, kind="ping", settings={"host": host})
    db.session().add(monitor)
    db.session().flush()
    for ago, old, new, reason in history:
        db.session().add(
            StatusFlip(monitor_id=monitor.id, at=NOW - ago, old=old, new=new, reason=reason)
        )
    if history:
        monitor.state, monitor.state_since = history[-1][2], NOW - history[-1][0]
    db.session().commit()
    return monitor.id


def test_last_7_and_30_days_from_the_flips(db_app) -> None:
    with db_app.app_context(), clock.frozen(NOW):
        a = _monitor("10.0.0.1", HISTORY_A)
        week = queries.availability(a, NOW - 7 * D)
        # [NOW-7d, NOW): up from NOW-9d; unknown NOW-5d..-4d; down -2d..-1d12h and from -6h
        assert week == Availability(
            since=NOW - 7 * D,
            until=NOW,
            up=2 * D + 2 * D + (D + 6 * H),
            down=12 * H + 6 * H,
            unknown=D,
            no_data=timedelta(0),
            outages=2,  # the one still going counts
            longest_outage=12 * H,
        )
        assert week.percent == 87.5  # 126 h up / (126 + 18) h; the day unknown is left out
        month = queries.availability(a, NOW - 30 * D)
        assert (month.up, month.down, month.unknown) == (654 * H, 42 * H, 24 * H)
        assert (month.outages, month.longest_outage) == (3, D)
        assert month.percent == pytest.approx(100 * 654 / 696)
        assert queries.recent_availability(a) == {7: week, 30: month}


def test_a_period_starting_mid_outage(db_app) -> None:
    with db_app.app_context(), clock.frozen(NOW):
        a = _monitor("10.0.0.1", HISTORY_A)
        # down from NOW-10d to NOW-9d: the period begins half way through that day
        mid = queries.availability(a, NOW - 9 * D - 12 * H, NOW - 8 * D)
        assert (mid.down, mid.up, mid.unknown, mid.no_data) == (
            12 * H,
            D,
            timedelta(0),
            timedelta(0),
        )
        assert (mid.outages, mid.longest_outage) == (1, 12 * H)  # only its part in the period
        assert mid.percent == pytest.approx(100 * 24 / 36)  # 1 day up of 36 hours
        # a period inside one outage: all down, 0 %
        inside = queries.availability(a, NOW - 9 * D - 18 * H, NOW - 9 * D - 6 * H)
        assert (inside.down, inside.up, inside.outages, inside.percent) == (
            12 * H,
            timedelta(0),
            1,
            0.0,
        )


def test_no_flips_no_data_and_time_before_the_first_flip(db_app) -> None:
    with db_app.app_context(), clock.frozen(NOW):
        never = _monitor("10.0.0.2", [])
        new = _monitor("10.0.0.3", [(3 * D, "unknown", "up", "")])
        none = queries.availability(never, NOW - 7 * D)
        assert none == Availability(since=NOW - 7 * D, until=NOW, no_data=7 * D)
        assert none.percent is None and none.outages == 0
        fresh = queries.availability(new, NOW - 7 * D)
        assert (fresh.no_data, fresh.up, fresh.percent) == (4 * D, 3 * D, 100.0)
        # time after now is not counted
        ahead = queries.availability(new, NOW - D, NOW + D)
        assert (ahead.until, ahead.up) == (NOW, D)


def test_unknown_time_is_not_down(db_app) -> None:
    history = [
        (8 * D, "unknown", "down", "no result within 30 s"),
        (6 * D, "down", "unknown", "check failed: KeyError: x"),
        (D, "unknown", "up", ""),
    ]
    with db_app.app_context(), clock.frozen(NOW):
        c = _monitor("10.0.0.4", history)
        week = queries.availability(c, NOW - 7 * D)
        assert (week.down, week.unknown, week.up) == (D, 5 * D, D)
        assert week.percent == 50.0  # counted as down the 5 days would make it 14.29 %
        assert (week.outages, week.longest_outage) == (1, D)


def test_many_monitors_in_one_query(db_app) -> None:
    with db_app.app_context(), clock.frozen(NOW):
        a = _monitor("10.0.0.1", HISTORY_A)
        never = _monitor("10.0.0.2", [])
        c = _monitor("10.0.0.4", [(8 * D, "unknown", "down", ""), (D, "down", "up", "")])
        statements: list[str] = []

        def count(conn, cursor, statement, *args) -> None:
            statements.append(statement)

        engine = db.session().get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            found = queries.availabilities([a, never, c], NOW - 7 * D)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(statements) == 1, statements
        assert found[a].percent == 87.5 and found[never].no_data == 7 * D
        assert (found[c].down, found[c].up, found[c].outages) == (6 * D, D, 1)
        assert found[a] == queries.availability(a, NOW - 7 * D)  # no flip of another mixed in


def test_summarize_ignores_flips_outside_the_period() -> None:
    def flip(ago: timedelta, new: str, id_: int) -> StatusFlip:
        return StatusFlip(id=id_, monitor_id=1, at=NOW - ago, old="", new=new)

    # down then up again before the period: no outage inside it; a flip after ``until`` ignored
    flips = [flip(3 * D, "down", 1), flip(2 * D, "up", 2), flip(H, "down", 3)]
    got = summarize(flips, NOW - D, NOW - 2 * H)
    assert (got.up, got.down, got.outages) == (22 * H, timedelta(0), 0)


def test_recent_flips_newest_first(db_app) -> None:
    with db_app.app_context():
        a = _monitor("10.0.0.1", HISTORY_A)
        flips = queries.recent_flips(a)
        assert [NOW - f.at for f in flips] == [h[0] for h in reversed(HISTORY_A)][:10]
        assert [f.new for f in queries.recent_flips(a, limit=2)] == ["down", "up"]


# --- the monitor's page ----------------------------------------------------------------------


def _cells(page: str, days: int) -> dict[str, str]:
    row = re.search(rf'<tr data-days="{days}">.*?</tr>', page, re.S)
    assert row, page
    return dict(re.findall(r'data-field="([a-z-]+)">([^<]*)<', row.group(0)))


def _flip_rows(page: str) -> list[str]:
    rows = re.findall(r"<tr data-flip=.*?</tr>", page, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows]


def test_monitor_page_in_chinese_and_english(app, client) -> None:
    with app.app_context():
        a = _monitor("10.0.0.1", HISTORY_A)
    login(client, "viewer")
    with clock.frozen(NOW):
        response = client.get(f"/monitoring/monitors/{a}")
        page = response.get_data(as_text=True)
    assert response.status_code == 200, page[:500]
    assert _cells(page, 7) == {
        "percent": "87.50%",
        "up": "5 天 6 小时",
        "down": "18 小时",
        "unknown": "1 天",
        "no-data": "0",
        "outages": "2",
        "longest": "12 小时",
    }
    month = _cells(page, 30)
    assert month["percent"] == "93.96%"  # 93.9655... rounded down
    assert (month["down"], month["outages"], month["longest"]) == ("1 天 18 小时", "3", "1 天")
    assert "近 7 天" in page and "近 30 天" in page and "可用率" in page
    rows = _flip_rows(page)
    assert len(rows) == 10  # the last 10 of 12, newest first
    # NOW-6h is 22:00 UTC the day before: 06:00 on 26 November in Shanghai
    assert "2026/11/26 06:00" in rows[0], rows[0]
    assert "正常 → 离线" in rows[0] and "connection refused" in rows[0]
    assert "离线 → 正常" in rows[1] and "未知 → 正常" in rows[3]
    assert "2026/10/8" in rows[-1] and "离线 → 正常" in rows[-1]  # NOW-49d; -50d, -60d not shown
    assert not re.search(r">\s*(up|down|unknown)\s*<", page)  # no raw state key shown

    with client.session_transaction() as session:
        session["locale"] = "en"
    with clock.frozen(NOW):
        page = client.get(f"/monitoring/monitors/{a}").get_data(as_text=True)
    assert _cells(page, 7) == {
        "percent": "87.50%",
        "up": "5 days 6 hours",
        "down": "18 hours",
        "unknown": "1 day",
        "no-data": "0",
        "outages": "2",
        "longest": "12 hours",
    }
    assert "Last 7 days" in page and "Last 30 days" in page and "Longest outage" in page
    rows = _flip_rows(page)
    assert "11/26/26, 6:00" in rows[0], rows[0]
    assert "up → down" in rows[0] and "unknown → up" in rows[3]


def test_monitor_page_without_flips_and_links_to_it(app, client) -> None:
    with app.app_context():
        never = _monitor("10.0.0.2", [])
        asset_id = db.session().get(Monitor, never).asset_id
    login(client, "viewer")
    with clock.frozen(NOW):
        page = client.get(f"/monitoring/monitors/{never}").get_data(as_text=True)
    assert _cells(page, 7)["percent"] == "—" and _cells(page, 30)["no-data"] == "30 天"
    assert 'id="monitor-no-flips"' in page and "尚无状态变化" in page
    assert client.get("/monitoring/monitors/999999").status_code == 404
    href = f'href="/monitoring/monitors/{never}"'
    assert href in client.get("/monitoring/").get_data(as_text=True)
    assert href in client.get(f"/monitoring/assets/{asset_id}/live").get_data(as_text=True)
