"""Report kind 网络拓扑 (topology): the registry's links (``assets.queries.all_links``) against
the LLDP neighbours the poller saw during the period (``monitors.queries.lldp_neighbours_between``),
by the one comparison the topology page also draws (``monitors.queries.compare_links``): a
registered link is *seen*, *not seen* or *not checked* (neither device reported LLDP data); a
neighbour matching no registered link is *seen, not registered* (one row per pair of ends). The
diagram (``reports.diagram``) is a picture sheet.
"""

from __future__ import annotations

import logging
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets.queries import all_links, asset_labels
from monitors.queries import compare_links, lldp_neighbours_between
from opskit.xlsx.writer import DATETIME, Col, Sheet
from reports import diagram
from reports.kinds.base import Context, Image, Kind, local_time

log = logging.getLogger(__name__)


def _no_font_note() -> str:
    """What the diagram's sheet says when it was drawn without a Chinese font."""
    log.warning("no CJK font: the topology diagram is drawn without Chinese characters")
    return _(
        "This computer has no Chinese font, so the diagram shows English captions and names "
        "without their Chinese characters: install fonts-noto-cjk (or set OPSKIT_CJK_FONT to a "
        "font file) and build the report again."
    )


def topology(ctx: Context) -> list[Any]:
    period = ctx.period
    links = all_links()
    neighbours = lldp_neighbours_between(period.start, period.end)
    comparison = compare_links(links, neighbours)
    states = comparison.states
    unregistered = comparison.unregistered

    # asset id → (tag, name, kind) of every device in a link or an LLDP table
    names: dict[int | None, tuple[str, str, str]] = {
        a.id: (a.asset_tag, a.name, a.kind)
        for a in asset_labels(
            sorted(
                {n.asset_id for n in neighbours}
                | {n.remote_asset_id for n in neighbours if n.remote_asset_id}
            )
        )
    }
    for link in links:
        names.setdefault(link.a_asset_id, (link.a_tag, link.a_name, link.a_kind))
        if link.b_tag is not None:
            names.setdefault(link.b_asset_id, (link.b_tag, link.b_name, link.b_kind))
    state_text = {
        "ok": _("seen"),
        "not_seen": _("not seen"),
        "unchecked": _("no LLDP data"),
        "unregistered": _("seen, not registered"),
    }
    sources = {
        "manual": _("registered"),
        "discovered": _("discovered (registered)"),
    }

    def tag(asset_id: int | None) -> str:
        return names[asset_id][0] if asset_id in names else ""

    def name(asset_id: int | None) -> str:
        return names[asset_id][1] if asset_id in names else ""

    link_rows = [
        {
            "a_tag": tag(link.a_asset_id),
            "a_name": name(link.a_asset_id),
            "a_port": link.a_port,
            "b_tag": tag(link.b_asset_id),
            "b_name": name(link.b_asset_id),
            "b_port": link.b_port,
            "medium": link.medium,
            "source": sources.get(link.source, link.source),
            "lldp": state_text[states[link.id]],
            "state": states[link.id],
        }
        for link in links
    ]
    extra = sorted(unregistered, key=lambda n: (tag(n.asset_id), n.local_port))
    link_rows += [
        {
            "a_tag": tag(n.asset_id),
            "a_name": name(n.asset_id),
            "a_port": n.local_port,
            "b_tag": tag(n.remote_asset_id) or n.remote_sys_name,
            "b_name": name(n.remote_asset_id),
            "b_port": n.remote_port,
            "medium": "",
            "source": _("LLDP, not registered"),
            "lldp": state_text["ok"],
            "state": "unregistered",
        }
        for n in extra
    ]
    unseen = [r for r in link_rows if r["state"] == "not_seen"]
    ctx.headline[_("Links registered")] = len(links)
    ctx.headline[_("Links seen but not registered")] = len(extra)
    ctx.headline[_("Links registered but not seen")] = len(unseen)

    nodes = {aid: diagram.Node(aid, *label) for aid, label in names.items() if aid is not None}
    edges = [diagram.Edge(link.a_asset_id, link.b_asset_id, states[link.id]) for link in links] + [
        diagram.Edge(n.asset_id, n.remote_asset_id, "unregistered")
        for n in extra
        if n.remote_asset_id is not None
    ]
    legend = {
        "ok": _("registered, seen by LLDP"),
        "not_seen": _("registered, not seen"),
        "unregistered": _("seen, not registered"),
        "unchecked": _("registered, no LLDP data"),
    }
    png = diagram.draw(list(nodes.values()), edges, legend)
    link_cols = [
        Col("a_tag", _("Device A")),
        Col("a_name", _("Name A")),
        Col("a_port", _("Port A")),
        Col("b_tag", _("Device B")),
        Col("b_name", _("Name B")),
        Col("b_port", _("Port B")),
        Col("medium", _("Medium")),
        Col("source", _("Source")),
        Col("lldp", _("LLDP in the period")),
    ]
    return [
        Sheet(
            _("Network links"),
            link_cols,
            link_rows,
            highlight=lambda r: r["state"] in ("not_seen", "unregistered"),
            note=_(
                "Registered links compared with the LLDP neighbours polled in %(period)s.",
                period=period.text,
            ),
        ),
        Sheet(
            _("Seen, not registered"),
            [
                Col("device", _("Device")),
                Col("name", _("Name")),
                Col("port", _("Local port")),
                Col("remote", _("Neighbour system name")),
                Col("remote_port", _("Neighbour port")),
                Col("chassis", _("Neighbour chassis ID")),
                Col("matched", _("Matched asset")),
                Col("first", _("First seen"), DATETIME),
                Col("last", _("Last seen"), DATETIME),
            ],
            [
                {
                    "device": tag(n.asset_id),
                    "name": name(n.asset_id),
                    "port": n.local_port,
                    "remote": n.remote_sys_name,
                    "remote_port": n.remote_port,
                    "chassis": n.remote_chassis_id,
                    "matched": tag(n.remote_asset_id),
                    "first": local_time(n.first_seen, ctx),
                    "last": local_time(n.last_seen, ctx),
                }
                for n in extra
            ],
        ),
        Sheet(
            _("Registered, not seen"),
            link_cols[:-2],
            unseen,
            note=_("Links whose devices reported LLDP neighbours, but not this link."),
        ),
        Image(
            _("Topology diagram"),
            _("Network topology %(period)s", period=period.text),
            png,
            _("Boxes are devices (tag and name); lines are links, coloured by what LLDP showed.")
            + ("" if diagram.has_cjk_font() else " " + _no_font_note()),
        ),
    ]


KIND = Kind(_l("Network topology"), topology)
