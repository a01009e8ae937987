"""Printable QR labels for racks: what the resident engineer sticks on a rack's door.

A rack label carries the site, the room and the rack's name in large text and a QR code of the
rack's *label URL* ``<base>/r?site=<site>&room=<room>&rack=<rack>``: names, not the database
id, for the reason the asset labels name the tag (names are what is written on the door and
survive a database rebuild or a re-import). ``<base>`` follows the asset labels' rules
(``assets.labels.base_url``: ``OPSKIT_BASE_URL``, else the address the page was opened on; a
base only this computer opens is refused unless ``print_anyway=1``).

- ``GET /labels/racks?rack_id=N`` one rack's label, ``?room_id=N`` one for each rack of a room
  (by name); ``layout`` (``RACK_LAYOUTS``), ``print_anyway``;
- ``GET /r?site=&room=&rack=`` where a rack label leads: the rack's page, or a 404 page saying
  which rack is unknown.

The move tablet accepts a scanned rack label as the rack (``assets.moves.services.rack_matches``
reads it with :func:`rack_names`).
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from assets.labels import LAYOUTS, Layout, base_url, loopback_problem, qr_svg
from assets.models import Rack, Room, Site
from opskit import db
from opskit.addresses import is_loopback_url

bp = Blueprint("rack_labels", __name__)

#: Sheets for rack labels: door-sized labels first, the asset labels' small ones too.
RACK_LAYOUTS: dict[str, Layout] = {
    "a4-2x4": Layout(
        _l("A4, 2 × 4 labels of 99.1 × 67.7 mm (8 per sheet, like Avery L7165)"),
        2,
        4,
        99.1,
        67.7,
        13.1,
        4.65,
        gap_x=2.5,
    ),
    **LAYOUTS,
}
DEFAULT_RACK_LAYOUT = "a4-2x4"
#: the path of a rack label's URL below the base
PATH = "r"


def rack_label_url(rack: Rack, base: str) -> str:
    """``<base>r?site=…&room=…&rack=…``, each name percent-encoded."""
    names = {"site": rack.room.site.name, "room": rack.room.name, "rack": rack.name}
    return f"{base.rstrip('/')}/{PATH}?{urlencode(names, quote_via=quote)}"


def rack_names(scanned: str) -> tuple[str, str, str] | None:
    """(site, room, rack) of a scanned rack label's URL, or None when it is not one."""
    parts = urlsplit(scanned.strip())
    if not parts.scheme or not parts.path.rstrip("/").endswith(f"/{PATH}"):
        return None
    query = parse_qs(parts.query, keep_blank_values=True)
    found = [query.get(key, [""])[0].strip() for key in ("site", "room", "rack")]
    if not all(found):
        return None
    return found[0], found[1], found[2]


def rack_by_names(site: str, room: str, rack: str) -> Rack | None:
    return db.session().scalar(
        select(Rack)
        .join(Room, Rack.room_id == Room.id)
        .join(Site, Room.site_id == Site.id)
        .where(Site.name == site, Room.name == room, Rack.name == rack)
    )


def _chosen() -> tuple[list[Rack], str]:
    """The racks asked for (404 for an unknown one) and the page's title."""
    rack_id = request.args.get("rack_id", type=int)
    room_id = request.args.get("room_id", type=int)
    sess = db.session()
    if rack_id is not None:
        rack = sess.get(Rack, rack_id) if 0 < rack_id < 2**31 else None
        if rack is None:
            abort(404)
        return [rack], _("Label of rack %(rack)s", rack=rack.name)
    if room_id is not None:
        room = sess.get(Room, room_id) if 0 < room_id < 2**31 else None
        if room is None:
            abort(404)
        where = " / ".join((room.site.name, room.name))
        title = _("Rack labels of room %(room)s", room=where)
        return list(room.racks), title
    abort(404)


@bp.route("/labels/racks")
def sheet() -> Any:
    racks, title = _chosen()
    name = request.args.get("layout", DEFAULT_RACK_LAYOUT)
    if name not in RACK_LAYOUTS:
        name = DEFAULT_RACK_LAYOUT
    layout = RACK_LAYOUTS[name]
    base = base_url()
    anyway = request.args.get("print_anyway") == "1"
    problem = loopback_problem(base, f"{PATH}?…")
    cells = []
    if not problem or anyway:
        for rack in racks:
            url = rack_label_url(rack, base)
            cells.append(
                {
                    "rack": rack,
                    "url": url,
                    "tag_mm": layout.tag_font_mm(rack.name),
                    "svg": Markup(qr_svg(url, rack.name)),  # noqa: S704  segno output, no user markup
                }
            )
    pages = [cells[i : i + layout.per_page] for i in range(0, len(cells), layout.per_page)]
    body = render_template(
        "assets/rack_label_sheet.html",
        title=title,
        layout=layout,
        layout_name=name,
        layouts=RACK_LAYOUTS,
        pages=pages,
        count=len(cells),
        sheets=math.ceil(len(cells) / layout.per_page),
        base=base,
        path=PATH,
        problem=None if anyway else problem,
        loopback=is_loopback_url(base),
        args={k: v for k, v in request.args.items() if k in ("rack_id", "room_id")},
    )
    return body, 400 if problem and not anyway else 200


@bp.route(f"/{PATH}")
def resolve() -> Any:
    """A scanned rack label: the rack's page, or a 404 page naming the rack not found."""
    site, room, name = (request.args.get(k, "").strip() for k in ("site", "room", "rack"))
    rack = rack_by_names(site, room, name) if site and room and name else None
    if rack is None:
        wanted = " / ".join(n for n in (site, room, name) if n) or "—"
        return render_template("assets/rack_label_unknown.html", wanted=wanted), 404
    return redirect(url_for("assets.rack_detail", rack_id=rack.id))
