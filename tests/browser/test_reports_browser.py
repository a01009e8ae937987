"""The Reports page in real Chromium on an iPad, as the customer (viewer) uses it: a wrong
period is refused with the typed value and the chosen contents kept, the right one downloads a
workbook with exactly the chosen sheets."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from playwright.sync_api import expect

from opskit import db
from opskit.i18n import site_tz
from reports.periods import previous_quarter
from tests import factories
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser


def test_customer_downloads_the_quarterly_pack(
    app: Flask, live_server: str, ipad, tmp_path: Path
) -> None:
    with app.app_context():
        factories.asset("SRV-OLD", name="旧服务器", warranty_end=date(2026, 9, 1))
        db.session().commit()
        today = db.utcnow().astimezone(site_tz()).date()
        default = previous_quarter(today, site_tz()).text
    last_month = today.replace(day=1) - timedelta(days=1)
    page, guard = ipad
    page.goto(f"{live_server}/login?next=/reports/")
    page.fill("#username", "viewer")
    page.fill("#password", "viewer-password-1")
    page.tap("#login-submit")
    expect(page.locator("#period")).to_have_value(default)  # the quarter just ended
    for box in page.locator("#report-form input[name=kinds]").all():
        expect(box).to_be_checked()
    # the month's, the quarter's and the year's packs are scheduled
    expect(page.locator("#next-builds li")).to_have_count(3)
    screenshot(page, "reports")
    # the usual periods in one tap each
    quick = page.locator("#quick-last_month")
    assert quick.bounding_box()["height"] >= 44  # a touch target
    quick.tap()
    expect(page.locator("#period")).to_have_value(f"{last_month:%Y-%m}")
    expect(quick).to_contain_text(f"{last_month.year}年{last_month.month}月")
    page.tap("#quick-this_year")
    expect(page.locator("#period")).to_have_value(str(today.year))

    # a period that does not exist: said, and what was typed and chosen is still there
    page.fill("#period", "2026Q9")
    page.locator('label[for="kind-warranty"]').tap()  # unchosen: no warranty sheet
    page.tap("#report-download")
    expect(page.locator("#report-error")).to_contain_text("2026Q9")
    expect(page.locator("#period")).to_have_value("2026Q9")
    expect(page.locator("#kind-warranty")).not_to_be_checked()
    expect(page.locator("#kind-alerts")).to_be_checked()

    page.fill("#period", "2026Q3")
    page.locator('label[for="kind-warranty"]').tap()
    page.locator('label[for="kind-load"]').tap()  # unchosen now: no load sheets
    button = page.locator("#report-download")
    page.evaluate(
        """() => {  // what the button went through while the workbook was built
          const button = document.getElementById("report-download");
          window.__states = [];
          new MutationObserver(() => window.__states.push([button.disabled, button.textContent]))
            .observe(button, { attributes: true, childList: true, characterData: true });
        }"""
    )
    before = page.url  # the corrected form, on the page that refused 2026Q9
    with page.expect_download() as download:
        button.tap()
    assert download.value.suggested_filename.endswith("2026Q3.xlsx")
    expect(button).to_be_enabled()  # the download has started: ready again
    # meanwhile it could not be pressed twice, and said why
    assert [True, "正在生成报表…"] in page.evaluate("window.__states")
    expect(button).to_have_text("生成并下载")
    expect(page.locator("#report-status")).to_have_text(
        "报表正在下载，请在浏览器的下载列表中查看。"
    )
    assert page.url == before  # a download does not leave the page
    out = tmp_path / "pack.xlsx"
    download.value.save_as(out)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "封面" and "保修到期" in book.sheetnames
    assert "负载汇总" not in book.sheetnames and "告警明细" in book.sheetnames
    cover = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert cover["期间"] == "2026年第3季度" and cover["工程师"] == "Viewer"  # the display name
    warranty = [r[0] for r in book["保修到期"].iter_rows(min_row=4, values_only=True)]
    assert warranty == ["SRV-OLD"]
    assert guard.external == []
