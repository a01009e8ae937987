"""The topology diagram and its font: with a Chinese font the labels are drawn as written; on a
machine without one (Pillow's own font draws an empty box per Chinese character) the diagram
falls back visibly — English captions, names without their Chinese, nothing but ASCII handed
to the font — and the report's sheet says why and what to install. ``OPSKIT_CJK_FONT`` names a
font file to use."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from PIL import Image as PILImage

from reports import diagram
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories

NODES = [
    diagram.Node(1, "SW-CORE-01", "核心交换机", "switch"),
    diagram.Node(2, "SRV-DB", "数据库服务器", "server"),
]
EDGES = [diagram.Edge(1, 2, "ok")]
LEGEND = {"ok": "已登记，LLDP 已发现", "not_seen": "已登记，未发现"}


@pytest.fixture
def fonts(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """The font caches forgotten before and after (the test changes where fonts are)."""
    diagram.cjk_font.cache_clear()
    diagram._font.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    diagram.cjk_font.cache_clear()
    diagram._font.cache_clear()


def _drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the diagram hands to the font, and a check that it still makes a PNG."""
    seen: list[str] = []
    original = diagram._Texts.draw

    def record(self: Any, xy: Any, text: str, *args: Any) -> None:
        seen.append(text)
        original(self, xy, text, *args)

    monkeypatch.setattr(diagram._Texts, "draw", record)
    png = diagram.draw(NODES, EDGES, LEGEND)
    assert PILImage.open(io.BytesIO(png)).format == "PNG"
    return seen


def test_without_a_chinese_font_the_diagram_falls_back_visibly(fonts: pytest.MonkeyPatch) -> None:
    fonts.setattr(diagram, "CJK_FONTS", ())
    fonts.delenv("OPSKIT_CJK_FONT", raising=False)
    assert not diagram.has_cjk_font()
    texts = _drawn(fonts)
    assert all(t.isascii() for t in texts), texts  # no empty boxes
    assert "SW-CORE-01" in texts and "SRV-DB" in texts
    assert diagram.PLAIN_LEGEND["ok"] in texts and diagram.PLAIN_LEGEND["not_seen"] in texts
    assert texts[1] == "..." and diagram._plain("核心交换机 A") == "A ..."


def test_a_named_font_file_is_used(fonts: pytest.MonkeyPatch, tmp_path: Path) -> None:
    installed = next((Path(p) for p in diagram.CJK_FONTS if Path(p).is_file()), None)
    if installed is None:
        pytest.skip("no CJK font on this machine to name (make browser-deps installs one)")
    fonts.setattr(diagram, "CJK_FONTS", ())
    fonts.setenv("OPSKIT_CJK_FONT", str(installed))
    assert diagram.has_cjk_font()
    texts = _drawn(fonts)
    assert "核心交换机" in texts and LEGEND["ok"] in texts  # drawn as written
    fonts.setenv("OPSKIT_CJK_FONT", str(tmp_path / "missing.ttc"))
    diagram.cjk_font.cache_clear()
    assert not diagram.has_cjk_font()


def test_the_reports_sheet_says_when_the_font_was_missing(
    fonts: pytest.MonkeyPatch, db_app: Flask, tmp_path: Path
) -> None:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    fonts.setattr(diagram, "CJK_FONTS", ())
    fonts.delenv("OPSKIT_CJK_FONT", raising=False)
    with db_app.test_request_context("/"):
        factories.asset("SW-CORE-01", kind="switch", name="核心交换机")
        out = tmp_path / "topology.xlsx"
        build_pack(parse_period("2026-07", tz), out, ["topology"])
    sheet = openpyxl.load_workbook(out)["拓扑图"]
    note = str(sheet["A2"].value)
    assert "没有中文字体" in note and "fonts-noto-cjk" in note and "OPSKIT_CJK_FONT" in note


def _crosses(p: tuple[float, float], q: tuple[float, float], box: tuple[int, int]) -> bool:
    """Whether the segment p-q enters the inside of a box (its border excluded)."""
    x0, y0 = box[0] + 1, box[1] + 1
    x1, y1 = box[0] + diagram.BOX_W - 1, box[1] + diagram.BOX_H - 1
    steps = int(max(abs(q[0] - p[0]), abs(q[1] - p[1]))) + 1
    for i in range(steps + 1):
        x = p[0] + (q[0] - p[0]) * i / steps
        y = p[1] + (q[1] - p[1]) * i / steps
        if x0 < x < x1 and y0 < y < y1:
            return True
    return False


def test_links_go_around_the_boxes_between_their_ends() -> None:
    """A link between two boxes of one row that are not neighbours, or between rows with rows
    between them, is drawn along the gaps: no line crosses a box other than its two ends (the
    first diagram drew them straight through the boxes between)."""
    nodes = [
        *[diagram.Node(i, f"RT-{i:02d}", "", "router") for i in range(1, 4)],
        *[diagram.Node(10 + i, f"SW-{i:02d}", "", "switch") for i in range(1, 13)],  # two rows
        *[diagram.Node(30 + i, f"SRV-{i:02d}", "", "server") for i in range(1, 8)],
    ]
    ids = [n.id for n in nodes]
    edges = [diagram.Edge(a, b, "ok") for a in ids for b in ids if a < b]  # every pair
    rows = diagram.layers(nodes)
    assert [len(r) for r in rows] == [3, 10, 2, 7]
    width = 2 * diagram.MARGIN + 10 * diagram.BOX_W + 9 * diagram.GAP_X  # as draw() makes it
    where, place = diagram.positions(rows, width)
    crossings = []
    for lane, edge in enumerate(edges):
        path = diagram.route(where, place, edge.a, edge.b, lane)
        others = [xy for node, xy in where.items() if node not in (edge.a, edge.b)]
        for p, q in itertools.pairwise(path):
            crossings += [(edge, box) for box in others if _crosses(p, q, box)]

        # the line starts on one end's box and ends on the other's
        def on(point: tuple[float, float], node: int) -> bool:
            x, y = where[node]
            return x <= point[0] <= x + diagram.BOX_W and y <= point[1] <= y + diagram.BOX_H

        assert (on(path[0], edge.a) and on(path[-1], edge.b)) or (
            on(path[0], edge.b) and on(path[-1], edge.a)
        )
    assert crossings == []
    # the picture is still made with such links, the detours inside it
    png = diagram.draw(nodes, edges[:40], LEGEND)
    image = PILImage.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width >= 2 * diagram.MARGIN + 10 * diagram.BOX_W
