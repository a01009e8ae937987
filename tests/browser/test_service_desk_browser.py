"""The service desk end to end on an iPad (real Chromium, zh-CN), the issue's must-show: a phone
request logged in under 30 seconds of simulated taps with the asset from a photo of its QR
label; responded, gone on site and the arrival recorded by a photo of the same label; a repair
with a part replaced recorded from the request page; resolved with its cause; the repair signed
by the engineer and the customer with a finger on the tablet; closed, which makes the survey;
the survey answered from its link on the requester's phone (a second browser context that
never logged in, and still is not after answering); the Word report downloaded and read.
Nothing leaves 127.0.0.1.

The 30 seconds are the person's, simulated (``tests.browser.taps``): each tap, each character
typed and the photo of the label cost what they cost a person on a tablet, from the tap on "new
request" to the request's page showing its number; the actions are counted too. The pages'
answers are measured and reported beside it, and none may hang (their speed is not a timed
test's business: the suite runs several browsers at once on two cores).
"""

from __future__ import annotations

import io
import re

import pytest
from docx import Document
from flask import Flask
from flask_babel import force_locale, format_datetime
from playwright.sync_api import Browser, Locator, Page, Playwright, expect

from assets import labels
from opskit import clock, db
from opskit.servicedesk import queries, repair_queries, services
from opskit.servicedesk.models import ServiceRequest
from tests import factories
from tests.browser.conftest import PageGuard, new_context
from tests.browser.taps import Taps

pytestmark = pytest.mark.browser

TAG = "SRV-B02-11"
NAME = "人事系统服务器"


def _label_png(live_server: str) -> bytes:
    """A photo of the asset's printed label: its QR code as the label sheet prints it."""
    out = io.BytesIO()
    labels.qr_code(labels.label_url(TAG, live_server)).save(out, kind="png", scale=10, border=4)
    return out.getvalue()


def _finger(page: Page, selector: str, wobble: int) -> None:
    """A signature drawn with a finger: touch events (Chromium's CDP), which the pad receives
    as pointer events of type touch."""
    pad = page.locator(selector)
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    cdp = page.context.new_cdp_session(page)
    x0, y0 = box["x"] + 30, box["y"] + box["height"] / 2
    points = [(x0 + step * 20, y0 - (step % 3) * wobble) for step in range(14)]
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [_pt(points[0])]})
    for point in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [_pt(point)]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def _pt(point: tuple[float, float]) -> dict[str, float]:
    return {"x": point[0], "y": point[1]}


def _status(page: Page) -> Locator:
    return page.locator("[data-field=status]").first


@pytest.fixture
def asset_id(app: Flask) -> int:
    with app.app_context():
        rack = factories.rack(site="总部", room="B机房", name="B02")
        server = factories.asset(
            TAG, name=NAME, rack=rack, u_position=11, vendor="华为", model="2288H V5"
        )
        db.session().commit()
        return server.id


def test_a_phone_request_from_log_to_survey_and_written_report_on_the_ipad(
    app: Flask,
    live_server: str,
    ipad: tuple[Page, PageGuard],
    playwright_session: Playwright,
    browser: Browser,
    asset_id: int,
) -> None:
    page, guard = ipad
    png = _label_png(live_server)
    page.goto(f"{live_server}/login?next=/requests/")
    page.fill("#username", "engineer")
    page.fill("#password", "engineer-password-1")
    page.tap("#login-submit")
    expect(page.locator("h1")).to_have_text("服务台")

    # 1. the phone call, logged in under 30 s of simulated taps
    taps = Taps(page)
    taps.tap(page.locator("#new-request"))
    taps.wait("the form", page.locator("#request-form"))
    taps.type(page.locator("#description"), "无法开机")
    taps.type(page.locator("#requester_name"), "李雷")
    taps.type(page.locator("#requester_phone"), "13912345678")
    taps.tap(page.locator("label[for='category-hardware']"))
    taps.photo("#scan-photo", png)
    taps.wait("the label read", page.locator("#asset-found [data-field=asset-found]"))
    expect(page.locator("#asset_tag")).to_have_value(TAG)
    expect(page.locator("#asset-found")).to_contain_text(NAME)
    expect(page.locator("#channel-phone")).to_be_checked()  # the defaults: a phone call, C
    taps.tap(page.locator("#request-save"))
    taps.wait("the request's page", page.locator("#request-number"))
    taps.check(actions=7)

    number = page.locator("#request-number").inner_text()
    assert re.fullmatch(r"SR-\d{4}-\d{4}", number)
    request_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    expect(_status(page)).to_have_text("新建")
    expect(page.locator("#request-facts [data-field=asset]")).to_contain_text(f"{TAG} {NAME}")
    expect(page.locator("#request-facts [data-field=requester]")).to_contain_text("13912345678")
    expect(page.locator("#request-facts [data-field=channel]")).to_have_text("电话")

    # 2. respond, go on site, arrive by a photo of the label: the on-site clock is met
    page.locator("[data-action=respond]").tap()
    expect(_status(page)).to_have_text("已响应")
    page.locator("[data-action=start-onsite]").tap()
    expect(_status(page)).to_have_text("处理中")
    expect(page.locator("#request-facts [data-field=work-mode]")).to_have_text("现场")
    page.locator("[data-action=arrive]").tap()
    page.set_input_files(
        "#scan-photo", {"name": "label.png", "mimeType": "image/png", "buffer": png}
    )
    onsite = page.locator("#request-facts [data-field=onsite]")
    expect(onsite).to_contain_text(TAG, timeout=20_000)
    expect(page.locator('[data-clock="onsite"]')).to_have_attribute("data-state", "met")
    expect(page.locator('[data-clock="acknowledge"]')).to_have_attribute("data-state", "met")

    # 3. a repair with a part replaced, from the request page; then resolved with the cause
    page.locator("#new-repair").tap()
    expect(page.locator("#repair-request")).to_contain_text(number)
    expect(page.locator("#asset_tag")).to_have_value(TAG)
    expect(page.locator("#fault")).to_have_value("无法开机")  # the request's description
    page.fill("#diagnosis", "电源模块故障")
    page.fill("#work_done", "更换电源模块，开机正常")
    page.fill("#result", "已修复，恢复运行")
    row = page.locator("#repair-parts .repair-part").first
    row.locator('input[name="part"]').fill("900W 电源模块")
    row.locator('input[name="serial_out"]').fill("PSU-OUT-0042")
    row.locator('input[name="serial_in"]').fill("PSU-IN-0777")
    page.tap("#repair-save")
    expect(page.locator("#repair-title")).to_contain_text("RP-")
    expect(page.locator("#report-parts")).to_contain_text("PSU-IN-0777")
    repair_url = page.url

    page.goto(f"{live_server}/requests/{request_id}")
    expect(page.locator("#request-repairs a")).to_have_count(1)
    page.locator("[data-action=resolve]").tap()
    page.locator("#cause").fill("电源模块故障")
    page.locator("#work_done").fill("更换电源模块")
    page.locator("#parts_note").fill("900W 电源模块 ×1")
    page.locator("[data-action=resolve-submit]").tap()
    expect(_status(page)).to_have_text("已解决")
    expect(page.locator("#request-facts [data-field=cause]")).to_have_text("电源模块故障")

    # 4. the engineer and the customer sign the repair on the tablet, with a finger
    page.goto(repair_url)
    page.tap("#repair-sign")
    expect(page.locator("#customer-pad")).to_be_visible()
    page.wait_for_function("() => window.OpskitSignature !== undefined")  # the pads are wired
    _finger(page, "#engineer-pad", 18)
    _finger(page, "#customer-pad", 30)
    page.fill("#customer_name", "李雷")
    # the customer hands the tablet back before the engineer saves: a tap a few milliseconds
    # after a stroke ends makes no click in Chromium's touch emulation (seen in 1 run of 3;
    # the touch reaches the button, no click follows); a person takes far longer than this
    page.wait_for_timeout(500)
    page.tap("#sign-save")
    expect(page).to_have_url(repair_url)  # saved: back on the repair's page
    expect(page.locator("#report-signatures img")).to_have_count(2)
    expect(page.locator("#report-signatures")).to_contain_text("李雷")

    with app.test_request_context("/"):
        req = db.session().get(ServiceRequest, request_id)
        assert req is not None
        assert (req.channel, req.asset_id, req.requester_phone) == (
            "phone",
            asset_id,
            "13912345678",
        )
        assert req.status == "resolved" and req.cause == "电源模块故障"
        assert (req.onsite_how, req.onsite_tag, req.work_mode) == ("asset", TAG, "onsite")
        [repair] = repair_queries.repairs_of_request(request_id)
        assert repair.asset_id == asset_id
        assert [(p.part, p.serial_out, p.serial_in) for p in repair.parts] == [
            ("900W 电源模块", "PSU-OUT-0042", "PSU-IN-0777")
        ]
        assert repair.signed_by_customer == "李雷"
        assert repair.engineer_signature.startswith("data:image/png;base64,")
        assert repair.customer_signature.startswith("data:image/png;base64,")
        assert [e.kind for e in queries.events(request_id)] == [
            "opened",
            "responded",
            "assigned",  # responding assigns the request to whoever responded
            "work_started",
            "onsite",
            "resolved",
        ]
        assert services.survey_of(request_id) is None  # made when the request closes

    # 5. the requester confirms: closed, which makes the survey; its link from the survey page
    page.goto(f"{live_server}/requests/{request_id}")
    page.locator("[data-action=close]").tap()
    expect(_status(page)).to_have_text("已关闭")
    expect(page.locator("#survey-panel")).to_have_attribute("data-state", "open")
    page.goto(f"{live_server}/requests/{request_id}/survey")
    link = page.locator("#survey-link").inner_text().strip()
    assert re.fullmatch(rf"{re.escape(live_server)}/survey/[\w.-]+", link), link
    expect(page.locator("#survey-qr svg")).to_be_visible()

    phone, phone_guard = new_context(playwright_session, browser, "iPhone 13")
    try:
        survey_page = phone.new_page()
        survey_page.goto(link)
        expect(survey_page.locator("#survey-title")).to_be_visible()
        expect(survey_page.locator("#survey-about")).to_contain_text(number)
        survey_page.locator("label[for='score-5']").tap()
        survey_page.locator("#survey-comment").fill("响应很快，谢谢")
        survey_page.locator("#survey-submit").tap()
        expect(survey_page.locator("#survey-thanks")).to_be_visible()
        expect(survey_page.locator("#survey-thanks h1")).to_have_text("谢谢")
        # still nobody: the desk's pages send this browser to the login page
        survey_page.goto(f"{live_server}/requests/")
        expect(survey_page).to_have_url(re.compile(r"/login\b"))
        expect(survey_page.locator("#username")).to_be_visible()
        assert phone_guard.external == [], phone_guard.external
    finally:
        phone.close()

    with app.test_request_context("/"):
        survey = services.survey_of(request_id)
        assert survey is not None
        assert (survey.score, survey.comment, survey.via) == (5, "响应很快，谢谢", "link")
        assert survey.used_at is not None
    page.reload()
    expect(page.locator("#survey-panel")).to_have_attribute("data-state", "answered")
    expect(page.locator("#survey-answer")).to_contain_text("5")

    # 6. the written report as a Word file: asset, times, part and serials, both signatures
    page.goto(repair_url)
    with page.expect_download() as download:
        page.tap("#repair-docx-link")
    document = Document(io.BytesIO(download.value.path().read_bytes()))
    text = "\n".join(
        [p.text for p in document.paragraphs]
        + [cell.text for table in document.tables for line in table.rows for cell in line.cells]
    )
    with app.test_request_context("/"):
        req = db.session().get(ServiceRequest, request_id)
        assert req is not None
        tz = clock.site_tz()
        moments = {
            "raised": req.raised_at,
            "onsite": req.onsite_at,
            "resolved": req.resolved_at,
        }
        with force_locale("zh_CN"):  # as the request page shows them (site time, short)
            shown = {key: format_datetime(at, "short") for key, at in moments.items()}
    page.goto(f"{live_server}/requests/{request_id}")
    for key, at in moments.items():
        assert at is not None, key
        expect(page.locator(f"#request-facts [data-field={key}]")).to_contain_text(shown[key])
        assert f"{at.astimezone(tz):%Y-%m-%d %H:%M}" in text, (key, text)
    for expected in (TAG, NAME, number, "900W 电源模块", "PSU-OUT-0042", "PSU-IN-0777", "李雷"):
        assert expected in text, expected
    assert "电源模块故障" in text
    assert len(document.inline_shapes) == 2  # the engineer's and the customer's signatures

    assert guard.external == [], f"requests left 127.0.0.1: {guard.external}"
