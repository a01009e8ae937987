"""Printable QR labels and the tablet scan page.

A label carries a QR code of the asset's *label URL* ``<base>/a/<asset tag>`` plus the tag, the
name and the location in large text. The URL names the tag, not the database id: tags are what
is written on the equipment and survive a database rebuild or a re-import, ids do not.

- ``GET /labels/``            choose assets (search, kind, room, rack, or tick them) and a layout
- ``GET /labels/sheet``       the printable A4 sheet (``ids=1,2,3`` or ``room_id`` / ``rack_id`` /
                              ``kind`` / ``q`` / ``all=1``; ``layout``; ``skip`` used positions);
                              refused while the labels' address is this computer only
                              (``127.0.0.1``, ``localhost``) unless ``print_anyway=1``
- ``GET /labels/qr/<id>.svg`` the QR code of one asset as SVG
- ``GET /a/<tag>``            where a label leads: the asset's page, or a 404 page that says so
- ``GET /scan``               the tablet scanner (camera, photo fallback, typed tag)
"""

from __future__ import annotations

import io
import math
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy.orm import joinedload
from werkzeug.routing import BuildError

from assets import queries
from assets.models import Asset, AssetKind
from opskit import db
from opskit.addresses import EXAMPLE_ADDRESS, is_loopback_url, lan_ipv4_addresses
from opskit.auth import safe_next

if TYPE_CHECKING:
    import segno

bp = Blueprint("labels", __name__)

#: Error correction of the printed codes. Q restores up to 25 % of a scuffed or dirty label;
#: the label URLs are short, so this costs at most a version or two.
QR_ERROR = "q"

#: Most labels one sheet request may print (about 40 A4 pages of the smallest layout).
MAX_LABELS = 2000


@dataclass(frozen=True)
class Layout:
    """An A4 label sheet: a grid of ``columns`` x ``rows`` labels, sizes in millimetres."""

    title: Any
    columns: int
    rows: int
    width: float  # one label
    height: float
    margin_top: float  # from the sheet's top-left corner to the first label
    margin_left: float
    gap_x: float = 0.0  # between columns
    gap_y: float = 0.0  # between rows

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    @property
    def qr_mm(self) -> float:
        """Side of the printed QR code: the label height less padding, at most 45 % of the width."""
        return round(min(self.height - 4, self.width * 0.45), 1)

    @property
    def tag_mm(self) -> float:
        return round(min(max(self.height * 0.17, 3.6), 7.0), 1)

    @property
    def text_width_mm(self) -> float:
        """Width left for the text beside the QR code (label padding 2 mm, gap 1.5 mm)."""
        return self.width - 4 - self.qr_mm - 1.5

    def tag_font_mm(self, tag: str) -> float:
        """Font size that fits ``tag`` on one line where it can: ``tag_mm`` for short tags,
        smaller for long ones (never under 2.8 mm, about 8 pt; longer tags wrap)."""
        ems = sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.66 for ch in tag)
        return round(max(2.8, min(self.tag_mm, self.text_width_mm / max(ems, 1))), 1)

    @property
    def text_mm(self) -> float:
        return round(min(max(self.height * 0.095, 2.4), 4.2), 1)


#: The sheets we know, by name. A4 is 210 x 297 mm; each layout must fit on it (a test checks).
LAYOUTS: dict[str, Layout] = {
    "a4-3x8": Layout(_l("A4, 3 × 8 labels of 70 × 37 mm (24 per sheet)"), 3, 8, 70, 37, 0.5, 0),
    "a4-2x7": Layout(
        _l("A4, 2 × 7 labels of 99.1 × 38.1 mm (14 per sheet, like Avery L7163)"),
        2,
        7,
        99.1,
        38.1,
        15.15,
        4.65,
        gap_x=2.5,
    ),
    "a4-3x7": Layout(
        _l("A4, 3 × 7 labels of 63.5 × 38.1 mm (21 per sheet, like Avery L7160)"),
        3,
        7,
        63.5,
        38.1,
        15.15,
        7.2,
        gap_x=2.5,
    ),
    "a4-4x10": Layout(
        _l("A4, 4 × 10 labels of 48.5 × 25.4 mm (40 per sheet)"), 4, 10, 48.5, 25.4, 21.5, 8
    ),
}
DEFAULT_LAYOUT = "a4-3x8"


# --- what a label says ------------------------------------------------------------------------


def base_url() -> str:
    """The address printed into QR codes, ending in ``/``.

    ``app.config["BASE_URL"]`` when set (e.g. ``https://opskit.lan:8443``: the name the tablets
    use, so labels printed from a laptop at ``127.0.0.1`` still work on the tablets); otherwise
    the address this request came in on (``request.host_url``), which is right when labels are
    printed from the same address the tablets use.
    """
    configured = (current_app.config.get("BASE_URL") or "").strip()
    return (configured or request.host_url).rstrip("/") + "/"


def loopback_problem(base: str, path: str = "a/…") -> str | None:
    """Why labels with this base address are useless, or None when a tablet may open it.

    A base of ``127.0.0.1`` or ``localhost`` (the label page opened on the server itself, e.g.
    under ``make run``, with ``OPSKIT_BASE_URL`` unset) leads a scanning tablet to itself. The
    message names the fix: ``OPSKIT_BASE_URL`` set to the address the tablets use, for which it
    suggests this machine's LAN address with the same scheme and port. ``path``: what follows
    the base in the labels' URLs (``a/…``: assets; ``r?…``: racks).
    """
    if not is_loopback_url(base):
        return None
    parts = urlsplit(base)
    port = f":{parts.port}" if parts.port else ""
    example = f"{parts.scheme}://{(lan_ipv4_addresses() or [EXAMPLE_ADDRESS])[0]}{port}"
    return _(
        "These labels would hold the address %(url)s, which only this computer opens: a tablet "
        "that scans them reaches nothing. Set OPSKIT_BASE_URL to the address the tablets use "
        "(for example %(example)s) and restart opskit, or open this page from that address. "
        "To print them all the same, tick “Print anyway”.",
        url=base.rstrip("/") + "/" + path,
        example=example,
    )


def label_url(tag: str, base: str) -> str:
    """The URL a label encodes: ``<base>a/<tag>``, the tag percent-encoded (``/`` and ``#`` too)."""
    return f"{base.rstrip('/')}/a/{quote(tag, safe='')}"


def qr_code(url: str) -> segno.QRCode:
    """A normal QR code (never Micro QR, which segno.make picks for short data and which many
    tablet scanners cannot read) with error correction ``QR_ERROR``."""
    import segno  # lazy: segno is loaded by the label pages only, not at every start

    return segno.make_qr(url, error=QR_ERROR)


def qr_svg(url: str, title: str = "") -> str:
    """The QR code as a scalable SVG document (viewBox only: the page sets the size in mm)."""
    out = io.BytesIO()
    qr_code(url).save(
        out,
        kind="svg",
        xmldecl=False,
        omitsize=True,
        border=4,
        dark="#000",
        light="#fff",
        title=title or None,
    )
    return out.getvalue().decode("utf-8")


def location_text(asset: Asset) -> str:
    """Site / room / rack / U of an asset, e.g. ``总部 / A机房 / A01 / U12-U13``."""
    parts: list[str] = []
    room = asset.rack.room if asset.rack is not None else asset.room
    if room is not None:
        parts += [room.site.name, room.name]
    if asset.rack is not None:
        parts.append(asset.rack.name)
        if asset.u_position is not None:
            last = asset.u_position + max(asset.u_height, 1) - 1
            parts.append(
                f"U{asset.u_position}"
                if last == asset.u_position
                else f"U{asset.u_position}-U{last}"
            )
    return " / ".join(parts)


def asset_page_url(asset: Asset) -> str:
    """The asset's detail page. The registry's detail view (``assets.detail``) is being built in
    parallel; until it exists, url_for fails and we fall back to its planned path
    ``/assets/<id>``."""
    try:
        return url_for("assets.detail", asset_id=asset.id)
    except BuildError:
        return f"{request.script_root}/assets/{asset.id}"


def kind_label(kind: str) -> str:
    """The kind's word in the user's language (an unknown kind as itself)."""
    label = AssetKind.labels().get(kind)
    return kind if label is None else str(label)


# --- choosing what to print -------------------------------------------------------------------


class ChoiceError(Exception):
    """Bad sheet parameters, keyed by field like ``ValidationFailed``."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def _int_arg(name: str, errors: dict[str, list[str]]) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors.setdefault(name, []).append(_("%(value)s is not a number.", value=raw))
        return None
    if value < 0:
        errors.setdefault(name, []).append(_("%(value)s must be 0 or more.", value=raw))
        return None
    return value


def _ids_arg(errors: dict[str, list[str]]) -> list[int]:
    """``ids`` as ``1,2,3`` or repeated (``ids=1&ids=2``: the chooser's checkboxes)."""
    ids: list[int] = []
    bad: list[str] = []
    for raw in request.args.getlist("ids"):
        for part in raw.replace(" ", ",").split(","):
            if not part:
                continue
            if part.isdigit():
                if int(part) not in ids:
                    ids.append(int(part))
            else:
                bad.append(part)
    if bad:
        errors.setdefault("ids", []).append(
            _("Asset ids must be numbers; not: %(values)s", values=", ".join(bad))
        )
    return ids


@dataclass
class Choice:
    """What the chooser form holds: filters, ticked ids, layout, used positions to skip."""

    q: str
    kind: str
    room_id: int | None
    rack_id: int | None
    ids: list[int]
    all: bool
    scope: str  # "ticked" (the ticked ids), "all" (everything the filter matches) or ""
    layout: str
    skip: int

    @property
    def has_filter(self) -> bool:
        return bool(self.q or self.kind or self.room_id or self.rack_id or self.all)


def read_choice() -> tuple[Choice, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    layout = request.args.get("layout", "").strip() or DEFAULT_LAYOUT
    if layout not in LAYOUTS:
        errors.setdefault("layout", []).append(
            _(
                "Unknown label layout %(value)s; expected one of: %(names)s",
                value=layout,
                names=", ".join(LAYOUTS),
            )
        )
        layout = DEFAULT_LAYOUT
    kind = request.args.get("kind", "").strip()
    if kind and kind not in {k.value for k in AssetKind}:
        errors.setdefault("kind", []).append(_("Unknown asset kind %(value)s.", value=kind))
        kind = ""
    scope = request.args.get("scope", "")
    choice = Choice(
        q=request.args.get("q", "").strip(),
        kind=kind,
        room_id=_int_arg("room_id", errors),
        rack_id=_int_arg("rack_id", errors),
        ids=_ids_arg(errors),
        all=request.args.get("all") == "1",
        scope=scope if scope in ("ticked", "all") else "",
        layout=layout,
        skip=_int_arg("skip", errors) or 0,
    )
    per_page = LAYOUTS[layout].per_page
    if choice.skip >= per_page:
        errors.setdefault("skip", []).append(
            _(
                "A sheet of this layout has %(count)s labels; skip at most %(max)s.",
                count=per_page,
                max=per_page - 1,
            )
        )
        choice.skip = 0
    return choice, errors


def chosen_assets(choice: Choice) -> list[Asset]:
    """The assets to print, sorted by tag. Raises ChoiceError naming the field at fault."""
    sess = db.session()
    options = (
        joinedload(Asset.room),
        joinedload(Asset.rack),
    )
    if choice.ids and choice.scope != "all":
        stmt = queries.asset_query().where(Asset.id.in_(choice.ids))
        assets = list(sess.scalars(stmt.options(*options).order_by(Asset.asset_tag)))
        missing = sorted(set(choice.ids) - {a.id for a in assets})
        if missing:
            raise ChoiceError(
                {
                    "ids": [
                        _(
                            "No asset with id %(values)s.",
                            values=", ".join(str(i) for i in missing),
                        )
                    ]
                }
            )
        return assets
    if choice.scope == "ticked" or (choice.scope != "all" and not choice.has_filter):
        raise ChoiceError({"ids": [_("Tick at least one asset, or choose a room or a rack.")]})
    stmt = queries.asset_query(
        choice.q, choice.kind or None, None, choice.room_id, choice.rack_id
    ).order_by(Asset.asset_tag)
    assets = list(sess.scalars(stmt.options(*options).limit(MAX_LABELS + 1)))
    if not assets:
        raise ChoiceError({"ids": [_("No asset matches this choice.")]})
    if len(assets) > MAX_LABELS:
        raise ChoiceError(
            {"ids": [_("More than %(max)s labels at once; narrow the choice.", max=MAX_LABELS)]}
        )
    return assets


# --- pages ------------------------------------------------------------------------------------


def _print_anyway() -> bool:
    return request.args.get("print_anyway") == "1"


def _chooser(choice: Choice, errors: dict[str, list[str]], status: int = 200) -> Any:
    page = max(1, request.args.get("page", 1, type=int) or 1)
    listing = queries.list_assets(
        q=choice.q,
        kind=choice.kind or None,
        room_id=choice.room_id,
        rack_id=choice.rack_id,
        page=page,
        per_page=100,
    )
    body = render_template(
        "assets/labels.html",
        choice=choice,
        errors=errors,
        listing=listing,
        layouts=LAYOUTS,
        kinds=[(k.value, kind_label(k.value)) for k in AssetKind],
        rooms=queries.all_rooms(),
        racks=queries.all_racks(),
        location_text=location_text,
        kind_label=kind_label,
        loopback=loopback_problem(base_url()),
        print_anyway=_print_anyway(),
    )
    return body, status


@bp.route("/labels/")
def choose() -> Any:
    choice, errors = read_choice()
    return _chooser(choice, errors)


@bp.route("/labels/sheet")
def sheet() -> Any:
    choice, errors = read_choice()
    assets: list[Asset] = []
    if not errors:
        try:
            assets = chosen_assets(choice)
        except ChoiceError as exc:
            errors = exc.errors
    base = base_url()
    if not errors and (problem := loopback_problem(base)) and not _print_anyway():
        errors = {"print_anyway": [problem]}
    if errors:
        return _chooser(choice, errors, 400)
    layout = LAYOUTS[choice.layout]
    cells: list[dict[str, Any] | None] = [None] * choice.skip
    for asset in assets:
        url = label_url(asset.asset_tag, base)
        cells.append(
            {
                "asset": asset,
                "url": url,
                "location": location_text(asset),
                "tag_mm": layout.tag_font_mm(asset.asset_tag),
                "svg": Markup(qr_svg(url, asset.asset_tag)),  # noqa: S704  segno output, no user markup
            }
        )
    pages = [cells[i : i + layout.per_page] for i in range(0, len(cells), layout.per_page)]
    return render_template(
        "assets/label_sheet.html",
        layout=layout,
        layout_name=choice.layout,
        pages=pages,
        count=len(assets),
        sheets=math.ceil(len(cells) / layout.per_page),
        base=base,
        choice=choice,
        loopback=is_loopback_url(base),
    )


@bp.route("/labels/qr/<int:asset_id>.svg")
def qr(asset_id: int) -> Response:
    asset = queries.get_asset(asset_id)
    if asset is None:
        abort(404)
    svg = qr_svg(label_url(asset.asset_tag, base_url()), asset.asset_tag)
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.route("/a/<path:tag>")
def resolve(tag: str) -> Any:
    """A scanned label: go to the asset's page, or say clearly that no asset has this tag."""
    return _go(tag)


@bp.route("/a/")
def resolve_typed() -> Any:
    """The scan page's "type the tag" box (``?tag=``)."""
    tag = request.args.get("tag", "").strip()
    if not tag:
        return redirect(url_for("labels.scan"))
    return _go(tag)


def _go(tag: str) -> Any:
    asset = queries.asset_by_tag(tag)
    if asset is None:
        return render_template("assets/scan.html", not_found=tag, typed=tag), 404
    return redirect(asset_page_url(asset))


@bp.route("/scan")
def scan() -> str:
    # ?next=/incidents/7 : after a scan, go there with ?tag=<tag> (e.g. to record an arrival)
    next_path = safe_next(request.args.get("next"), "")
    return render_template("assets/scan.html", not_found=None, typed="", next_path=next_path)
