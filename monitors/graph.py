"""The topology page's graph: the site/room filter and the nodes and edges drawn.

Nodes are registered assets (coloured by ``queries.node_state``) and unregistered devices seen
by LLDP; edges are registered links (with what LLDP showed of them) and the neighbours no
registered link explains (``monitors.topology.compare_links``), one edge per pair of nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _

from assets import queries as assets
from monitors import queries
from opskit.alerts import queries as alerts
from opskit.db import utcnow


@dataclass
class TopologyFilter:
    """The site or room the topology is drawn for (``?site=<id>&room=<id>``; neither: all).

    ``rooms`` are the rooms offered: the chosen site's, else every room. A room names its site
    when no site is asked. ``error``/``field``: an asked id that names no site or room, or a
    room of another site (the page and the JSON answer 404 with that message)."""

    sites: list[Any]
    rooms: list[Any]
    site: Any | None = None
    room: Any | None = None
    error: str | None = None
    field: str | None = None

    @property
    def active(self) -> bool:
        return self.site is not None or self.room is not None

    @property
    def room_ids(self) -> set[int]:
        """The rooms inside the filter (a node elsewhere is drawn as outside it)."""
        if self.room is not None:
            return {self.room.id}
        return {r.id for r in self.rooms}

    def args(self) -> dict[str, int]:
        out = {}
        if self.site is not None:
            out["site"] = self.site.id
        if self.room is not None:
            out["room"] = self.room.id
        return out


def topology_filter(args: Mapping[str, str]) -> TopologyFilter:
    """The filter ``args`` (``site``, ``room``: ids, "" or "all") ask for."""
    sites = assets.all_sites()
    all_rooms = assets.all_rooms()
    sites_by_id = {str(s.id): s for s in sites}
    rooms_by_id = {str(r.id): r for r in all_rooms}
    site_arg = args.get("site", "").strip()
    room_arg = args.get("room", "").strip()
    chosen = TopologyFilter(sites, all_rooms)
    if site_arg not in ("", "all"):
        if site_arg not in sites_by_id:
            chosen.error = _(
                "No site has the id %(id)s (it may have been removed).", id=site_arg[:20]
            )
            chosen.field = "site"
            return chosen
        chosen.site = sites_by_id[site_arg]
    if room_arg not in ("", "all"):
        room = rooms_by_id.get(room_arg)
        if room is None:
            chosen.error = _(
                "No room has the id %(id)s (it may have been removed).", id=room_arg[:20]
            )
            chosen.field = "room"
        elif chosen.site is not None and room.site_id != chosen.site.id:
            chosen.error = _(
                "Room %(room)s is not in site %(site)s.", room=room.name, site=chosen.site.name
            )
            chosen.field = "room"
        else:
            chosen.room = room
            chosen.site = room.site
    if chosen.site is not None:
        chosen.rooms = [r for r in all_rooms if r.site_id == chosen.site.id]
    return chosen


def topology_graph(chosen: TopologyFilter, asset_url: Callable[[int], str]) -> dict[str, Any]:
    """Nodes and edges from registered links and LLDP neighbours seen in the last day; with a
    site or room chosen, only the links with at least one end in it (the other end comes too,
    marked ``outside``). ``asset_url``: an asset's page."""
    touching = (
        assets.topology_scope_assets(
            chosen.site.id if chosen.site else None, chosen.room.id if chosen.room else None
        )
        if chosen.active
        else None
    )
    inside = chosen.room_ids

    nodes: dict[str, dict[str, Any]] = {}
    edges: list[dict[str, Any]] = []
    seen_pairs: set[tuple[str, str]] = set()

    def asset_node(a: Any) -> str:
        key = f"a{a.id}"
        nodes.setdefault(
            key,
            {
                "id": key,
                "asset_id": a.id,
                "name": a.asset_tag,
                "label": a.name,
                "kind": a.kind,
                "url": asset_url(a.id),
                "outside": chosen.active and a.room_id not in inside,
            },
        )
        return key

    links = assets.topology_links(touching=touching)
    neighbours = queries.lldp_neighbors_of(since=utcnow() - timedelta(days=1), touching=touching)
    comparison = queries.compare_links(links, neighbours)
    for link in links:
        a, b = asset_node(link.a_asset), asset_node(link.b_asset)
        seen_pairs.add((min(a, b), max(a, b)))
        edges.append(
            {
                "source": a,
                "target": b,
                "ports": f"{link.a_port} ↔ {link.b_port}",
                "source_kind": "registered",
                "lldp": comparison.states[link.id],
            }
        )
    extra = comparison.unregistered
    ids = {n.asset_id for n in extra} | {n.remote_asset_id for n in extra if n.remote_asset_id}
    known = {a.id: a for a in assets.assets_by_ids(sorted(ids - {None}))} if ids else {}
    for n in extra:
        local = known.get(n.asset_id)
        if local is None:
            continue
        a = asset_node(local)
        remote = known.get(n.remote_asset_id) if n.remote_asset_id else None
        if remote is not None:
            b = asset_node(remote)
        else:
            name = n.remote_sys_name or n.remote_chassis_id or "?"
            b = f"n:{name}"
            nodes.setdefault(
                b,
                {
                    "id": b,
                    "asset_id": None,
                    "name": name,
                    "label": "",
                    "kind": "unregistered",
                    "url": None,
                    "outside": False,  # where an unregistered device stands is not known
                },
            )
        pair = (min(a, b), max(a, b))
        if pair in seen_pairs:
            continue
        seen_pairs.add(pair)
        edges.append(
            {
                "source": a,
                "target": b,
                "ports": f"{n.local_port} ↔ {n.remote_port}",
                "source_kind": "lldp",
            }
        )
    asset_ids = [n["asset_id"] for n in nodes.values() if n["asset_id"]]
    states = queries.asset_states(asset_ids)
    urgency = alerts.open_urgency_by_asset(asset_ids)
    for node in nodes.values():
        aid = node["asset_id"]
        node["state"] = (
            queries.node_state(states.get(aid), urgency.get(aid)) if aid else "unregistered"
        )
    return {
        "nodes": list(nodes.values()),
        "edges": edges,
        "filter": {
            "site": chosen.site.id if chosen.site else None,
            "room": chosen.room.id if chosen.room else None,
        },
    }
