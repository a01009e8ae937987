"""The topology diagram of the 网络拓扑 report: a PNG drawn with Pillow, no layout library.

Devices are placed in layers by kind (routers, firewalls and lines on top, then switches, then
servers, storage and everything else), each layer wrapped into rows of at most ``PER_ROW``
boxes, ordered by tag. A link is a line between two boxes (straight between neighbours, else
along the gaps: :func:`route`), coloured by what the period showed: registered and seen by
LLDP, registered but not seen, seen but not registered, or registered on devices that report
no LLDP data. Labels use a CJK font (``OPSKIT_CJK_FONT``,
else Noto CJK, WenQuanYi, ... where the machine has one). Without one, Pillow's built-in font
draws no Chinese (an empty box per character), so the diagram falls back visibly: English
captions, names without their Chinese (``...`` where it was), and the report's sheet says why
and what to install (``has_cjk_font``).
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

LAYERS = {"router": 0, "firewall": 0, "line": 0, "switch": 1}
PER_ROW = 10
BOX_W, BOX_H = 170, 54
GAP_X, GAP_Y = 40, 90
MARGIN = 40
LEGEND_H = 40
MAX_NODES = 400

RGB = tuple[int, int, int]
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (60, 60, 60)
#: zlib level of the PNG: 1 is several times quicker than 6 for a little more size (and the
#: workbook's zip compresses the picture again)
COMPRESS_LEVEL = 1
#: shades of a text's colour over the colour behind it, for antialiased text (``_Texts``)
TEXT_SHADES = 16

#: link state → (colour, dashed)
STYLES = {
    "ok": ((46, 125, 50), False),
    "not_seen": ((198, 40, 40), False),
    "unregistered": ((239, 108, 0), True),
    "unchecked": ((140, 140, 140), False),
}

CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "C:/Windows/Fonts/msyh.ttc",
    "/System/Library/Fonts/PingFang.ttc",
)


@dataclass(frozen=True)
class Node:
    id: int
    tag: str
    name: str
    kind: str


@dataclass(frozen=True)
class Edge:
    a: int
    b: int
    state: str  # a key of STYLES


Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


#: the captions drawn when no CJK font is found (Pillow's own font has no Chinese glyphs)
PLAIN_LEGEND = {
    "ok": "registered, seen by LLDP",
    "not_seen": "registered, not seen",
    "unregistered": "seen, not registered",
    "unchecked": "registered, no LLDP data",
}


@cache
def cjk_font(size: int) -> ImageFont.FreeTypeFont | None:
    """A font with Chinese glyphs: ``OPSKIT_CJK_FONT`` (a .ttf/.ttc/.otf file) first, then the
    usual places of Noto CJK, WenQuanYi, Droid, Microsoft YaHei and PingFang; ``None``."""
    wanted = os.environ.get("OPSKIT_CJK_FONT", "").strip()
    for path in (wanted, *CJK_FONTS) if wanted else CJK_FONTS:
        if Path(path).is_file():
            try:
                return ImageFont.truetype(path, size)
            except OSError:
                continue
    return None


def has_cjk_font() -> bool:
    """Whether labels in Chinese can be drawn (else the diagram falls back, visibly)."""
    return cjk_font(14) is not None


@cache
def _font(size: int) -> Font:
    return cjk_font(size) or ImageFont.load_default(size)


def _plain(text: str) -> str:
    """Without a CJK font: text with the characters Pillow's font cannot draw left out (an
    empty box each otherwise), ``...`` where some went; nothing left: ``...``."""
    if text.isascii():
        return text
    kept = "".join(c for c in text if c.isascii()).strip()
    return f"{kept} ..." if kept else "..."


def _more() -> str:
    """The mark of text left out: an ellipsis, three dots in Pillow's own font (ASCII only)."""
    return "…" if has_cjk_font() else "..."


def _fit(draw: ImageDraw.ImageDraw, text: str, font: Font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    more = _more()
    while text and draw.textlength(text + more, font=font) > width:
        text = text[:-1]
    return text + more


class _Texts:
    """Antialiased text on a palette image.

    A palette image cannot blend colours (Pillow draws text on one aliased), so each text is
    drawn on a grey tile first and each pixel's coverage becomes one of ``TEXT_SHADES`` shades
    of the ink over the colour behind the text, added to the palette once per pair of colours:
    what the same text looks like drawn on an RGB image.
    """

    PAD = 2  # glyphs may reach a pixel or two past their box
    COVERED = bytes([0] + [255] * 255)  # coverage → mask of the pixels a glyph touches

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.shades: dict[tuple[RGB, RGB], bytes] = {}

    def draw(
        self, xy: tuple[int, int], text: str, font: Font, ink: RGB, paper: RGB, width: int
    ) -> None:
        """``text`` (at most ``width`` pixels long) with its top left corner at ``xy``."""
        pad, size = self.PAD, getattr(font, "size", 11)  # Pillow's bitmap font has no size
        tile = Image.new("L", (width + 2 * pad, size * 2 + 2 * pad))  # room for any line
        ImageDraw.Draw(tile).text((pad, pad), text, fill=255, font=font)
        coverage = tile.tobytes()
        shaded = Image.frombytes("P", tile.size, coverage.translate(self._shades(ink, paper)))
        mask = Image.frombytes("L", tile.size, coverage.translate(self.COVERED))
        self.image.paste(shaded, (xy[0] - pad, xy[1] - pad), mask)

    def _shades(self, ink: RGB, paper: RGB) -> bytes:
        """Palette index for each coverage 0-255 of ``ink`` over ``paper``."""
        if (ink, paper) not in self.shades:
            steps = TEXT_SHADES - 1
            palette = self.image.palette
            assert palette is not None  # the diagram is a palette ("P") image
            index = [
                palette.getcolor(
                    tuple(round(p + (i - p) * n / steps) for i, p in zip(ink, paper, strict=True)),
                    self.image,
                )
                for n in range(TEXT_SHADES)
            ]
            self.shades[ink, paper] = bytes(index[round(a * steps / 255)] for a in range(256))
        return self.shades[ink, paper]


def _dashed(
    draw: ImageDraw.ImageDraw, a: tuple[float, float], b: tuple[float, float], fill: RGB
) -> None:
    (x1, y1), (x2, y2) = a, b
    length = max(((x2 - x1) ** 2 + (y2 - y1) ** 2) ** 0.5, 1.0)
    steps = int(length // 8)
    for i in range(0, steps, 2):
        s, e = i / steps, min((i + 1) / steps, 1.0)
        draw.line(
            [(x1 + (x2 - x1) * s, y1 + (y2 - y1) * s), (x1 + (x2 - x1) * e, y1 + (y2 - y1) * e)],
            fill=fill,
            width=2,
        )


Point = tuple[float, float]


def layers(nodes: Sequence[Node]) -> list[list[Node]]:
    """The rows of boxes: by layer (kind), ordered by tag, at most ``PER_ROW`` a row."""
    ordered = sorted(nodes, key=lambda n: (LAYERS.get(n.kind, 2), n.tag))[:MAX_NODES]
    rows: list[list[Node]] = []
    for layer in sorted({LAYERS.get(n.kind, 2) for n in ordered}):
        members = [n for n in ordered if LAYERS.get(n.kind, 2) == layer]
        rows += [members[i : i + PER_ROW] for i in range(0, len(members), PER_ROW)]
    return rows


def positions(
    rows: list[list[Node]], width: int
) -> tuple[dict[int, tuple[int, int]], dict[int, tuple[int, int]]]:
    """Each box's top-left corner, and its (row, column); every row centred in ``width``."""
    where: dict[int, tuple[int, int]] = {}
    place: dict[int, tuple[int, int]] = {}
    for ri, row in enumerate(rows):
        span = len(row) * BOX_W + (len(row) - 1) * GAP_X
        left = (width - span) // 2
        top = MARGIN + LEGEND_H + ri * (BOX_H + GAP_Y)
        for ci, node in enumerate(row):
            where[node.id] = (left + ci * (BOX_W + GAP_X), top)
            place[node.id] = (ri, ci)
    return where, place


def route(
    where: dict[int, tuple[int, int]], place: dict[int, tuple[int, int]], a: int, b: int, lane: int
) -> list[Point]:
    """The line of a link between boxes ``a`` and ``b`` that crosses no other box: straight
    between neighbours (side by side in a row, or in rows one above the other); otherwise
    along the gaps. Two boxes of one row apart: down from ``a`` into the gap under the row,
    across, up into ``b``. Rows further apart: down into the gap under the upper box's row,
    out to the left margin, down it to the gap above the lower box's row, across, into the
    box. ``lane`` spaces detours apart in the gaps and the margin."""
    (ra, ca), (rb, cb) = place[a], place[b]
    if (ra, ca) > (rb, cb):
        (ra, ca), (rb, cb), a, b = (rb, cb), (ra, ca), b, a
    (ax, ay), (bx, by) = where[a], where[b]
    if ra == rb and abs(ca - cb) == 1:  # side by side: facing edges
        return [(ax + BOX_W, ay + BOX_H / 2), (bx, by + BOX_H / 2)]
    if rb - ra == 1:  # rows one above the other: bottom to top
        return [(ax + BOX_W / 2, ay + BOX_H), (bx + BOX_W / 2, by)]
    shift = (lane % 6) * 10 - 25  # where along a box's edge the detour leaves and arrives
    below = ay + BOX_H + 12 + (lane % 5) * 9  # a lane in the gap under the upper row
    a_out = (ax + BOX_W / 2 + shift, ay + BOX_H)
    if ra == rb:
        return [
            a_out,
            (a_out[0], below),
            (bx + BOX_W / 2 + shift, below),
            (bx + BOX_W / 2 + shift, by + BOX_H),
        ]
    margin = 6 + (lane % 4) * 8  # a lane in the left margin, left of every row
    above = by - 12 - (lane % 5) * 9  # a lane in the gap above the lower row
    b_in = (bx + BOX_W / 2 + shift, by)
    return [a_out, (a_out[0], below), (margin, below), (margin, above), (b_in[0], above), b_in]


def draw(nodes: Sequence[Node], edges: Sequence[Edge], legend: dict[str, str]) -> bytes:
    """PNG bytes of the diagram; ``legend`` maps a link state to its caption."""
    rows = layers(nodes)
    nodes = [n for row in rows for n in row]
    widest = max((len(r) for r in rows), default=1)
    small, label = _font(12), _font(14)
    if not has_cjk_font():  # tags are ASCII as a rule; names and captions fall back
        legend = {state: PLAIN_LEGEND.get(state, _plain(text)) for state, text in legend.items()}
        rows = [[Node(n.id, _plain(n.tag), _plain(n.name), n.kind) for n in row] for row in rows]
        nodes = [n for row in rows for n in row]
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    legend_w = sum(84 + int(measure.textlength(c, font=small)) for c in legend.values())
    width = max(MARGIN * 2 + widest * BOX_W + (widest - 1) * GAP_X, MARGIN * 2 + legend_w, 640)
    height = MARGIN * 2 + LEGEND_H + max(len(rows), 1) * (BOX_H + GAP_Y) - GAP_Y + 20
    # A palette image: a quarter of the memory of RGB, quicker to fill and to encode (PNG does
    # not filter palette rows), and the diagram has only a few dozen colours.
    image = Image.new("P", (width, height), WHITE)
    pen = ImageDraw.Draw(image)
    texts = _Texts(image)
    where, place = positions(rows, width)
    lane = 0
    for edge in edges:
        if edge.a not in where or edge.b not in where:
            continue
        colour, dashed = STYLES[edge.state]
        path = route(where, place, edge.a, edge.b, lane)
        lane += len(path) > 2  # a detour takes the next lane: detours side by side
        for a, b in itertools.pairwise(path):
            if dashed:
                _dashed(pen, a, b, colour)
            else:
                pen.line([a, b], fill=colour, width=2)
    fills = {0: (255, 243, 224), 1: (227, 242, 253)}
    for node in nodes:
        x, y = where[node.id]
        fill = fills.get(LAYERS.get(node.kind, 2), (245, 245, 245))
        pen.rounded_rectangle(
            [x, y, x + BOX_W, y + BOX_H], radius=6, fill=fill, outline=(69, 90, 100), width=2
        )
        inner = BOX_W - 16
        texts.draw((x + 8, y + 8), _fit(pen, node.tag, label, inner), label, BLACK, fill, inner)
        texts.draw((x + 8, y + 30), _fit(pen, node.name, small, inner), small, GREY, fill, inner)
    x = MARGIN
    for state, caption in legend.items():
        colour, dashed = STYLES[state]
        if dashed:
            _dashed(pen, (x, MARGIN), (x + 40, MARGIN), colour)
        else:
            pen.line([(x, MARGIN), (x + 40, MARGIN)], fill=colour, width=3)
        length = int(pen.textlength(caption, font=small))
        texts.draw((x + 48, MARGIN - 8), caption, small, BLACK, WHITE, length + 1)
        x += 60 + length + 24
    out = io.BytesIO()
    # named, not format="PNG": Pillow then loads its PNG plugin only, not the five common
    # ones (BMP, GIF, JPEG, PPM, PNG: ~30 ms of a pack's build)
    out.name = "topology.png"
    image.save(out, compress_level=COMPRESS_LEVEL)
    return out.getvalue()
