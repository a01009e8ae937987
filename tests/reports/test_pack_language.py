"""The quarterly pack of the living demo in English has no Chinese that opskit wrote (#17).

The demo is seeded once for the module and the pack built once per language. A cell may hold
Chinese only where a person typed it; which cells those are is said here, explicitly:

- **columns of typed data** (``TYPED``, by their English header): names of assets, rooms, sites,
  people, vendors, carriers, monitors, free text (causes, measures, reasons ...);
- **sentences mixing opskit's words with typed names** (``MIXED``: the summary's sentences,
  recommendations and evidence, alert and finding messages, the incident timeline): the names
  and notes people typed, read from the database, are taken out first, and what is left must be
  opskit's words in English;
- an alert raised by hand (source Manual) is typed as a whole; an alert whose rule opskit does
  not know (no Rule) keeps its stored message.

Sheet names, the notes above each header, the headers and every other column must have no
Chinese at all. The Chinese pack keeps its data and says opskit's words in Chinese.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from assets.models import Asset, Room, Site
from inspections.models import PatrolAnswer, PatrolFinding
from inspections.vulns.models import VulnFinding
from monitors.models import Monitor
from opskit import clock, db
from opskit.alerts import wording
from opskit.alerts.models import Incident, IncidentEntry
from opskit.models import User
from reports.cli import report_cli
from tests.conftest import copy_demo, make_test_app

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
#: headers of the columns that hold what people typed (names, free text)
TYPED = {
    "Name",
    "Name A",
    "Name B",
    "Device name",
    "Vendor",
    "Vendor engineer",
    "Carrier",
    "Site",
    "Room",
    "Location",
    "Medium",
    "Port A",
    "Port B",
    "Purpose",
    "Support level",
    "Check",  # a monitor's name
    "Asset",
    "Asset or room",
    "Spare machine lent",
    "Title",
    "Group",
    "Requester",
    "Department",
    "Engineer",
    "Closed by",
    "How it was closed",
    "Root cause",
    "Measures",
    "Reason",
    "Temporary measure",
    "Fault",
    "Cause / diagnosis",
    "Work done",
    "Parts replaced",
    "Result",
    "Vulnerability",  # the scanner's name of a finding, as its file says it
}
#: (sheet, header) of typed columns whose header is opskit's words elsewhere: a firmware
#: upgrade record's advisory and the engineer's note on how it ended (升级记录)
TYPED_IN = {
    ("Upgrade records", "Vendor advisory"),
    ("Upgrade records", "Note"),
    ("Accepted risks", "Approved by"),  # the approver of an accepted risk, as typed
}
#: (sheet, header) of the columns whose sentences name typed things: checked without them
MIXED = {
    ("Alert details", "Message"),
    ("Patrol findings", "Message"),
    ("Incidents", "Timeline"),
}


def _typed_texts() -> list[str]:
    """What people typed that opskit's sentences name, longest first (so a name inside a
    longer name goes after it)."""
    sess = db.session()
    texts: set[str] = set()
    for column in (
        Asset.name,
        Room.name,
        Site.name,
        Monitor.name,
        User.display_name,
        Incident.title,
        PatrolAnswer.note,
        PatrolFinding.closing_note,
        VulnFinding.name,  # a scanner's text, named in alert messages and recommendations
    ):
        texts |= {t for t in sess.scalars(select(column)) if t}
    # the engineers' incident notes; the notes opskit writes (wording.SYSTEM_NOTES) are not
    # typed and must be said in the workbook's language
    for note in sess.scalars(select(IncidentEntry.note)):
        if note and wording.said_again(note, wording.SYSTEM_NOTES) is None:
            texts.add(note)
    return sorted(texts, key=len, reverse=True)


def _without(text: str, typed: list[str]) -> str:
    for t in typed:
        if t in text:
            text = text.replace(t, " ")
    return text


def _quarter_of(day: date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


@pytest.fixture(scope="module")
def packs(
    tmp_path_factory: pytest.TempPathFactory, demo_template: Path
) -> Iterator[tuple[Flask, dict[str, Path], list[str]]]:
    """The demo (a copy of the run's seeded template) and its pack, of the quarter a week ago,
    in each language, built as an engineer builds it (``opskit report build --lang``: the cover
    names the engineers). In the first week of a quarter the demo's last hours are in the
    current quarter: that pack too, as ``<lang>+now`` (the demo's activity spans both)."""
    folder = tmp_path_factory.mktemp("pack-language")
    app = make_test_app(copy_demo(demo_template, folder), folder / "instance", None)
    out = {}
    with app.app_context():
        typed = _typed_texts()
        today = clock.site_today()
    quarters = {
        "": _quarter_of(today - timedelta(days=7)),
        "+now": _quarter_of(today),
    }
    for lang in ("en", "zh_CN"):
        for suffix, quarter in quarters.items():
            if suffix and quarter == quarters[""]:
                continue
            out[lang + suffix] = folder / f"pack-{lang}{suffix}.xlsx"
            args = ["build", "--period", quarter, "--out", str(out[lang + suffix]), "--lang", lang]
            result = app.test_cli_runner().invoke(report_cli, args)
            assert result.exit_code == 0, result.output
    yield app, out, typed
    app.extensions["opskit.engine"].dispose()


def _tables(path: Path) -> Iterator[tuple[str, list[Any], list[Any], list[tuple[Any, ...]]]]:
    """Each sheet: its name, the cells above its header, its header and its rows."""
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        top = ws[ws.freeze_panes].row - 2 if ws.freeze_panes else None
        if top is None or top < 0:  # a sheet of labels and values (the cover, the summary)
            yield ws.title, [v for r in rows for v in r], [], []
            continue
        above = [v for r in rows[:top] for v in r]
        yield ws.title, above, list(rows[top]), rows[top + 1 :]


def test_english_pack_has_no_chinese_opskit_wrote(
    packs: tuple[Flask, dict[str, Path], list[str]],
) -> None:
    _app, paths, typed = packs
    problems: list[str] = []
    mixed_seen: set[tuple[str, str]] = set()
    summary_sentences = 0
    for name, above, header, rows in _tables(paths["en"]):
        if CJK.search(name):
            problems.append(f"sheet name {name!r}")
        for value in above:
            if not isinstance(value, str):
                continue
            if name in ("Cover", "Summary"):  # the site, the engineers; sentences naming things
                summary_sentences += name == "Summary"
                value = _without(value, typed)
            if CJK.search(value):
                problems.append(f"{name}: {value[:100]!r}")
        for value in header:
            if isinstance(value, str) and CJK.search(value):
                problems.append(f"{name} header {value!r}")
        for row in rows:
            cells = dict(zip(header, row, strict=False))
            for column, value in cells.items():
                if not isinstance(value, str) or column in TYPED or (name, column) in TYPED_IN:
                    continue
                if (name, column) in MIXED:
                    if name == "Alert details" and (
                        cells.get("Source") == "Manual" or not cells.get("Rule")
                    ):
                        continue  # typed by hand, or a rule opskit does not know: as stored
                    mixed_seen.add((name, column))
                    value = _without(value, typed)
                if CJK.search(value):
                    problems.append(f"{name} / {column}: {value[:100]!r}")
    assert not problems, "\n".join(problems)
    assert mixed_seen == MIXED  # the demo's pack has each kind of sentence to check
    assert summary_sentences > 10


#: per language: the sheets and headers read, and what opskit's words are there
SAID: dict[str, dict[str, Any]] = {
    "en": {
        "sheets": ("Alert details", "Incidents", "Response times"),
        "headers": ("Message", "Timeline", "Grade", "Level"),
        "trap": "UPS on battery (SNMP trap ",
        "finding": ": Fail (Check failed) — ",
        "notes": ("Detect: Incident opened.", "Engineer on site (scanned "),
        "grades": {"General (grade IV)", "Major (grade III)", "Serious (grade II)"},
        "levels": {"Level 1 service", "Level 2 service"},
    },
    "zh_CN": {
        "sheets": ("告警明细", "事件", "响应时间统计"),
        "headers": ("内容", "时间线", "分级", "级别"),
        "trap": "UPS 电池供电 (SNMP trap ",
        "finding": ": 不合格（检查不通过） — ",
        "notes": ("检测: 事件已创建。", "工程师已到场（扫描 "),
        "grades": {"一般", "较大", "重大"},
        "levels": {"一级服务", "二级服务"},
    },
}


@pytest.mark.parametrize("lang", SAID)
def test_opskit_words_in_the_packs_language(
    packs: tuple[Flask, dict[str, Path], list[str]], lang: str
) -> None:
    """What the demo stored in Chinese comes out in the pack's language: a trap's alert, a
    patrol finding's message, opskit's incident notes, the incidents' grades, the service
    levels of the response times."""
    _app, paths, _typed = packs
    said = SAID[lang]
    tables: dict[str, tuple[list[Any], list[tuple[Any, ...]]]] = {}
    for path in (paths[lang], paths.get(lang + "+now")):  # the quarter a week ago, and now's
        for name, _above, header, rows in _tables(path) if path else ():
            tables[name] = (header, tables.get(name, (header, []))[1] + rows)
    alerts, incidents, response = (tables[name] for name in said["sheets"])
    message, timeline, grade, level = said["headers"]
    messages = [r[alerts[0].index(message)] for r in alerts[1]]
    assert any(m.startswith(said["trap"]) for m in messages)
    assert any(said["finding"] in m for m in messages)
    told = " ".join(r[incidents[0].index(timeline)] for r in incidents[1])
    assert all(note in told for note in said["notes"])
    assert {r[incidents[0].index(grade)] for r in incidents[1]} <= said["grades"]
    assert {r[response[0].index(level)] for r in response[1]} == said["levels"]
