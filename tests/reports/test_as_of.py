"""A period still running is judged as of the build time; a finished one at its end; a future
one is refused. Every date is written out here and the clock is frozen (``opskit.clock``)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask import Flask

from monitors.models import Reading
from opskit import clock, db
from reports.build import build_pack
from reports.periods import PeriodError, parse_period
from tests import factories

TZ = ZoneInfo("Asia/Shanghai")
GIB = 1024**3
NOW = datetime(2026, 11, 15, 10, 0, tzinfo=TZ)  # mid-2026Q4, site time


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def seed() -> None:
    factories.asset("SRV-A", name="服务器甲", warranty_end=date(2026, 12, 1))  # 16 days left
    factories.asset("SRV-B", name="服务器乙", warranty_end=date(2026, 11, 1))  # ended 14 days ago
    factories.asset("SRV-C", name="服务器丙", warranty_end=date(2026, 11, 15))  # ends today
    factories.asset("SRV-D", name="服务器丁", warranty_end=date(2027, 9, 1))  # beyond 180 days
    data = factories.asset("SRV-DATA", name="存储服务器")
    sess = db.session()
    for at, metric, value in (
        ("2026-10-05 08:00", "host.storage.used_percent", 50.0),
        ("2026-11-10 08:00", "host.storage.used_percent", 60.0),
        ("2026-11-10 08:00", "host.storage.size_bytes", 100 * GIB),
        # stamped after the build time (an agent's clock ahead): not "now" yet
        ("2026-11-20 08:00", "host.storage.used_percent", 90.0),
    ):
        sess.add(
            Reading(asset_id=data.id, metric=metric, instance="/data", at=local(at), value=value)
        )
    sess.commit()


def cover(book: openpyxl.Workbook, name: str = "封面") -> dict[str, object]:
    return {r[0]: r[1] for r in book[name].iter_rows(min_row=3, values_only=True)}


def table(ws) -> list[tuple]:
    """The data rows under a sheet's note and header (note, blank, header, rows)."""
    return [r for r in ws.iter_rows(min_row=4, values_only=True)]


def test_running_quarter_judged_now_finished_at_its_end(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q4.xlsx"
    with db_app.test_request_context("/"), clock.frozen(NOW):
        seed()
        build_pack(parse_period("2026Q4", TZ), out, ["config_storage", "warranty"])
        book = openpyxl.load_workbook(out)
        # warranty on 2026-11-15, not 2026-12-31 (which would read all three as expired)
        rows = {r[0]: (r[8], r[9], r[10]) for r in table(book["保修到期"])}
        assert rows == {
            "SRV-B": (datetime(2026, 11, 1), -14, "已过期"),
            "SRV-C": (datetime(2026, 11, 15), 0, "即将到期"),
            "SRV-A": (datetime(2026, 12, 1), 16, "即将到期"),
        }
        assert book["保修到期"]["A1"].value == "截至 2026-11-15；已过期的行以底色标出。"
        front = cover(book)
        assert front["截至"] == datetime(2026, 11, 15, 10, 0)
        assert "2026Q4 尚未结束" in str(front["本期尚未结束"])
        assert (front["保修已过期"], front["180天内保修到期"]) == (1, 2)
        # storage: the last reading up to now (60 %), not the 90 % stamped after it
        storage = book["存储"]
        assert [c.value for c in storage[3]][4:6] == ["当前使用率 %", "当前已用 GB"]
        assert table(storage) == [
            ("SRV-DATA", "存储服务器", "/data", 100.0, 60.0, 60.0, 60.0, 10.0)
        ]
        assert "截至 2026-11-15 10:00" in storage["A1"].value
        assert front["接近满的卷"] == 0

        # the quarter before, built at the same moment: over, so judged at its last day
        build_pack(parse_period("2026Q3", TZ), out, ["warranty"])
        book = openpyxl.load_workbook(out)
        rows = {r[0]: (r[9], r[10]) for r in table(book["保修到期"])}
        assert rows == {
            "SRV-B": (32, "即将到期"),
            "SRV-C": (46, "即将到期"),
            "SRV-A": (62, "即将到期"),
        }
        assert book["保修到期"]["A1"].value.startswith("截至 2026-09-30")
        front = cover(book)
        assert "截至" not in front and "本期尚未结束" not in front
        assert (front["保修已过期"], front["180天内保修到期"]) == (0, 3)


def test_running_month_in_english_and_a_future_period_refused(app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "m.xlsx"
    with app.test_request_context("/"), clock.frozen(NOW):
        seed()
        build_pack(parse_period("2026-11", TZ), out, ["config_storage"], lang="en")
        book = openpyxl.load_workbook(out)
        front = cover(book, "Cover")
        assert front["As of"] == datetime(2026, 11, 15, 10, 0)
        assert [c.value for c in book["Storage"][3]][4] == "Used % now"
        # the refusal in the page's language (the request's), naming the period and today
        with pytest.raises(PeriodError, match=r"^2027Q1 尚未开始（今天是 2026-11-15）"):
            build_pack(parse_period("2027Q1", TZ), out, ["warranty"], lang="en")
        with pytest.raises(PeriodError, match=r"^2026-12 尚未开始"):
            build_pack(parse_period("2026-12", TZ), out, ["warranty"])
