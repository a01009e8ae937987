"""The written repair report (维修情况书面报告): one A4 page per repair, in Chinese, as an HTML
print view and as a Word document.

``report_of(repair)`` gathers what the page says — the asset (tag, name, model, serial,
location), the timeline (request raised, responded, on site, resolved; the downtime and its
length), fault, cause, work done, parts (serials out and in), the vendor case, cost, result and
both drawn signatures with their names and times — as words of the report's language
(``REPORT_LOCALE``); the template ``servicedesk/repair_report.html`` and ``docx_bytes`` lay out
the same words, so the two forms never differ.

The .docx is written with **python-docx** (maintained, pure Python on lxml): a Word document is
what customers file, stamp (盖章) and edit, and it needs no CJK font embedded, unlike a PDF. The
styles name 宋体 (SimSun) as their East Asian font (``w:eastAsia``, theme fonts removed), so Word
renders the Chinese text with a Chinese font wherever it opens the file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _

from assets import queries as registry
from opskit import clock, db
from opskit.servicedesk.models import Repair, ServiceRequest
from opskit.servicedesk.repair_queries import repair_number
from opskit.servicedesk.services.repairs import signature_png

if TYPE_CHECKING:
    from docx.document import Document as WordDocument
    from docx.shared import Length
    from docx.styles.style import BaseStyle
    from docx.table import Table

#: the report is the customer's paper: Chinese, whatever language the engineer's screen shows
REPORT_LOCALE = "zh_CN"
#: the East Asian font Word uses for the document's Chinese text, and the Latin one beside it
EAST_ASIAN_FONT = "宋体"
LATIN_FONT = "Times New Roman"
#: sizes in the document (python-docx is loaded only to write one: these are plain numbers)
FONT_SIZE_PT = 10.5  # 五号
SIGNATURE_WIDTH_CM = 5
MARGIN_MM = 18
TEXT_WIDTH_MM = 210 - 2 * MARGIN_MM
LABEL_WIDTH_MM = 26
EMPTY = "—"


@dataclass(frozen=True)
class Signature:
    """One side's signature block: who signs (label), the name, the time and the drawing."""

    label: str
    name: str
    at: str
    data_url: str
    png: bytes | None


@dataclass(frozen=True)
class Part:
    part: str
    quantity: int
    serial_out: str
    serial_in: str


@dataclass
class RepairReport:
    """Every word of one repair's report, in the report's language."""

    title: str
    number: str
    site: str
    asset: list[tuple[str, str]]
    request: list[tuple[str, str]]
    timeline: list[tuple[str, str]]
    texts: list[tuple[str, str]]  # fault, cause, work done, result
    parts_heading: str
    part_headers: tuple[str, str, str, str]
    parts: list[Part]
    no_parts: str
    vendor: list[tuple[str, str]]
    cost: tuple[str, str]
    signatures: list[Signature]
    headings: dict[str, str] = field(default_factory=dict)
    footer: str = ""


def local_time(moment: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM`` in the site's time zone; — when unknown."""
    if moment is None:
        return EMPTY
    return f"{moment.astimezone(clock.site_tz()):%Y-%m-%d %H:%M}"


def span(length: timedelta | None) -> str:
    """A duration in days, hours and minutes (3 小时 20 分钟); — when unknown."""
    if length is None:
        return EMPTY
    minutes = max(0, round(length.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h %(minutes)d min", days=days, hours=hours, minutes=minutes)
    return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)


def downtime(repair: Repair) -> timedelta | None:
    if repair.downtime_start is None or repair.downtime_end is None:
        return None
    return repair.downtime_end - repair.downtime_start


def cost_text(repair: Repair) -> str:
    if repair.cost is None:
        return EMPTY
    amount = f"{repair.cost:,.2f}"
    return _("%(amount)s yuan", amount=amount)


def location(asset: registry.Asset) -> str:
    """Site / room / rack and its units, as far as the registry knows them."""
    room = asset.room or (asset.rack.room if asset.rack is not None else None)
    parts = [room.site.name, room.name] if room is not None else []
    if asset.rack is not None:
        rack = asset.rack.name
        first = asset.u_position
        if first:
            last = first + max(asset.u_height, 1) - 1
            rack += f" U{first}" if last == first else f" U{first}–U{last}"
        parts.append(rack)
    return " / ".join(parts) or EMPTY


def _or_empty(text: str | None) -> str:
    return (text or "").strip() or EMPTY


@contextmanager
def report_locale() -> Iterator[None]:
    with force_locale(REPORT_LOCALE):
        yield


def _signature(label: str, name: str, at: datetime | None, data_url: str) -> Signature:
    png = None
    if data_url:
        try:
            png = signature_png(data_url)
        except ValueError:  # stored before the check, or damaged: shown as not signed
            data_url = ""
    return Signature(label, name.strip(), local_time(at) if png else "", data_url, png)


def report_of(repair: Repair) -> RepairReport:
    """The words of ``repair``'s report (call inside ``report_locale()`` for its language)."""
    asset = registry.get_asset(repair.asset_id)
    assert asset is not None  # a repair goes with its asset
    req = db.session().get(ServiceRequest, repair.request_id) if repair.request_id else None
    model = " ".join(p for p in (asset.vendor, asset.model) if p)
    asset_rows = [
        (_("Asset tag"), asset.asset_tag),
        (_("Name"), _or_empty(asset.name)),
        (_("Model"), _or_empty(model)),
        (_("Serial number"), _or_empty(asset.serial)),
        (_("Location"), location(asset)),
    ]
    request_rows: list[tuple[str, str]] = []
    timeline: list[tuple[str, str]] = []
    if req is not None:
        requester = " · ".join(
            p for p in (req.requester_name, req.requester_department, req.requester_phone) if p
        )
        request_rows = [
            (_("Request number"), f"{req.number} {req.title}"),
            (_("Requester"), _or_empty(requester)),
        ]
        onsite = (
            (_("Arrived on site at"), local_time(req.onsite_at))
            if req.onsite_at is not None or req.remote_at is None
            else (_("Remote work started at"), local_time(req.remote_at))
        )
        timeline = [
            (_("Request raised"), local_time(req.raised_at)),
            (_("Responded at"), local_time(req.responded_at)),
            onsite,
            (_("Resolved at"), local_time(req.resolved_at)),
        ]
    timeline += [
        (_("Downtime start"), local_time(repair.downtime_start)),
        (_("Downtime end"), local_time(repair.downtime_end)),
        (_("Downtime"), span(downtime(repair))),
    ]
    texts = [
        (_("Fault"), _or_empty(repair.fault)),
        (_("Cause / diagnosis"), _or_empty(repair.diagnosis)),
        (_("Work done"), _or_empty(repair.work_done)),
        (_("Repair result"), _or_empty(repair.result)),
    ]
    vendor_rows = [
        (_("Vendor"), _or_empty(repair.vendor)),
        (_("Vendor case number"), _or_empty(repair.vendor_case_number)),
        (_("RMA number"), _or_empty(repair.rma_number)),
        (_("Vendor engineer"), _or_empty(repair.vendor_engineer)),
        (_("Case opened"), local_time(repair.vendor_opened_at)),
        (_("Case closed"), local_time(repair.vendor_closed_at)),
    ]
    site = current_app.config.get("SITE_NAME", "") if has_app_context() else ""
    return RepairReport(
        title=_("Repair report"),
        number=repair_number(repair),
        site=site or "",
        asset=asset_rows,
        request=request_rows,
        timeline=timeline,
        texts=texts,
        parts_heading=_("Parts replaced"),
        part_headers=(_("Part"), _("Quantity"), _("Serial removed"), _("Serial installed")),
        parts=[
            Part(p.part, p.quantity, _or_empty(p.serial_out), _or_empty(p.serial_in))
            for p in repair.parts
        ],
        no_parts=_("No parts replaced."),
        vendor=vendor_rows,
        cost=(_("Cost"), cost_text(repair)),
        signatures=[
            _signature(
                _("Engineer"),
                repair.signed_by_engineer,
                repair.engineer_signed_at,
                repair.engineer_signature,
            ),
            _signature(
                _("Customer"),
                repair.signed_by_customer,
                repair.customer_signed_at,
                repair.customer_signature,
            ),
        ],
        headings={
            "asset": _("Equipment"),
            "request": _("Service request"),
            "timeline": _("Timeline"),
            "vendor": _("Vendor case"),
            "work": _("Fault and repair"),
            "signatures": _("Signatures"),
            "name": _("Signatory"),
            "signed_at": _("Signed at"),
            "number": _("Report number"),
            "not_signed": _("Not signed"),
        },
        footer=_("Printed %(at)s", at=local_time(clock.now())),
    )


# --- Word --------------------------------------------------------------------------------------


def _set_fonts(style: BaseStyle, size: Length | None = None, bold: bool | None = None) -> None:
    """The style's fonts: ``EAST_ASIAN_FONT`` for Chinese, ``LATIN_FONT`` for the rest; the
    theme fonts, which would win over them in Word, removed."""
    from docx.oxml.ns import qn  # lazy: python-docx costs ~0.2 s of every command's start

    font = style.font  # type: ignore[attr-defined]
    font.name = LATIN_FONT
    if size is not None:
        font.size = size
    if bold is not None:
        font.bold = bold
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)
    fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


def _doc_defaults(document: WordDocument) -> None:
    """The East Asian font of the document's defaults too (text of no style of ours)."""
    from docx.oxml.ns import qn  # lazy: python-docx costs ~0.2 s of every command's start

    styles = document.styles.element
    rpr_default = styles.find(qn("w:docDefaults"))
    if rpr_default is None:
        return
    for fonts in rpr_default.iter(qn("w:rFonts")):
        for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            fonts.attrib.pop(qn(theme), None)
        fonts.set(qn("w:ascii"), LATIN_FONT)
        fonts.set(qn("w:hAnsi"), LATIN_FONT)
        fonts.set(qn("w:eastAsia"), EAST_ASIAN_FONT)


def _cell_text(table: Table, row: int, column: int, text: str, bold: bool = False) -> None:
    cell = table.cell(row, column)
    cell.text = ""
    lines = text.splitlines() or [""]
    paragraph = cell.paragraphs[0]
    for n, line in enumerate(lines):
        run = paragraph.add_run(line)
        run.bold = bold
        if n < len(lines) - 1:
            run.add_break()


def _pairs(document: WordDocument, rows: list[tuple[str, str]], columns: int = 2) -> None:
    """Label/value pairs in a grid, ``columns`` pairs a row."""
    from docx.enum.table import WD_TABLE_ALIGNMENT  # lazy: python-docx costs ~0.2 s of the start
    from docx.shared import Emu, Mm  # lazy: python-docx costs ~0.2 s of every command's start

    count = (len(rows) + columns - 1) // columns
    table = document.add_table(rows=count, cols=columns * 2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    label_width = Mm(LABEL_WIDTH_MM)
    value_width = Emu((Mm(TEXT_WIDTH_MM) - label_width * columns) // columns)
    for row in table.rows:
        for n, cell in enumerate(row.cells):
            cell.width = label_width if n % 2 == 0 else value_width
    for n, (label, value) in enumerate(rows):
        row, pair = divmod(n, columns)
        _cell_text(table, row, pair * 2, label, bold=True)
        _cell_text(table, row, pair * 2 + 1, value)


def _heading(document: WordDocument, text: str) -> None:
    paragraph = document.add_paragraph(style="Heading 2")
    paragraph.add_run(text)


def docx_bytes(report: RepairReport) -> bytes:
    """The report as a Word document (A4, one page for an ordinary repair)."""
    from docx import Document  # lazy: python-docx costs ~0.2 s of every command's start
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # lazy: python-docx, loaded here only
    from docx.shared import Cm, Mm, Pt  # lazy: python-docx, loaded here only

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin = section.right_margin = Mm(MARGIN_MM)
    section.top_margin, section.bottom_margin = Mm(15), Mm(15)
    _doc_defaults(document)
    _set_fonts(document.styles["Normal"], size=Pt(FONT_SIZE_PT))
    _set_fonts(document.styles["Title"], size=Pt(18), bold=True)
    _set_fonts(document.styles["Heading 2"], size=Pt(12), bold=True)
    document.styles["Normal"].paragraph_format.space_after = Pt(2)
    heading2 = document.styles["Heading 2"].paragraph_format
    heading2.space_before, heading2.space_after = Pt(8), Pt(3)

    title = document.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.add_run(report.title)
    meta = document.add_paragraph()
    meta.alignment = WD_ALIGN_PARAGRAPH.CENTER
    meta.add_run(
        " · ".join(p for p in (report.site, f"{report.headings['number']} {report.number}") if p)
    )

    _heading(document, report.headings["asset"])
    _pairs(document, report.asset)
    if report.request:
        _heading(document, report.headings["request"])
        _pairs(document, report.request, columns=1)
    _heading(document, report.headings["timeline"])
    _pairs(document, report.timeline)
    _heading(document, report.headings["work"])
    _pairs(document, report.texts, columns=1)

    _heading(document, report.parts_heading)
    if report.parts:
        table = document.add_table(rows=len(report.parts) + 1, cols=4)
        table.style = "Table Grid"
        for column, header in enumerate(report.part_headers):
            _cell_text(table, 0, column, header, bold=True)
        for row, part in enumerate(report.parts, start=1):
            values = (part.part, str(part.quantity), part.serial_out, part.serial_in)
            for column, value in enumerate(values):
                _cell_text(table, row, column, value)
    else:
        document.add_paragraph(report.no_parts)

    _heading(document, report.headings["vendor"])
    _pairs(document, [*report.vendor, report.cost])

    _heading(document, report.headings["signatures"])
    table = document.add_table(rows=3, cols=len(report.signatures))
    table.style = "Table Grid"
    for column, signature in enumerate(report.signatures):
        _cell_text(table, 0, column, signature.label, bold=True)
        cell = table.cell(1, column)
        if signature.png is not None:
            cell.paragraphs[0].add_run().add_picture(
                io.BytesIO(signature.png), width=Cm(SIGNATURE_WIDTH_CM)
            )
        else:
            cell.paragraphs[0].add_run(report.headings["not_signed"])
        name = f"{report.headings['name']}: {signature.name or EMPTY}"
        _cell_text(
            table, 2, column, f"{name}\n{report.headings['signed_at']}: {signature.at or EMPTY}"
        )

    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    footer.add_run(f"{report.footer} · opskit")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
