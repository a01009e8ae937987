"""The registry's links compared with the LLDP neighbours the poller saw: one comparison for the
topology page (``monitors.graph``) and the topology report (``reports.kinds.topology``), offered as
``monitors.queries.compare_links``.

- a registered link is *seen* (``ok``) when a device at one of its ends reported, on that end's
  port, a neighbour matched to the asset at the other end (the remote port is not compared:
  devices name ports differently, ``Gi1/0/1`` vs ``GigabitEthernet1/0/1``);
- it is *not seen* (``not_seen``) when one of its devices reported LLDP data but not this link;
- it is *not checked* (``unchecked``) when neither device reported any LLDP data;
- a neighbour matching no registered link is *unregistered*: one per pair of ends, however many
  of the two devices reported it (the first reported is kept).

Links need ``id``, ``a_asset_id``, ``a_port``, ``b_asset_id``, ``b_port``; neighbours
``asset_id``, ``local_port``, ``remote_asset_id``, ``remote_port``, ``remote_chassis_id``
(ORM rows or plain rows alike).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LINK_STATES = ("ok", "not_seen", "unchecked")


def norm_port(port: str) -> str:
    """A port name compared without case and blanks (``Gi1/0/1`` = ``gi 1/0/1``)."""
    return re.sub(r"\s+", "", port or "").lower()


@dataclass
class LinkComparison:
    """``states``: link id → ``ok`` / ``not_seen`` / ``unchecked``; ``unregistered``: the
    neighbours no registered link explains, in the order reported."""

    states: dict[Any, str]
    unregistered: list[Any]


def compare_links(links: Iterable[Any], neighbours: Iterable[Any]) -> LinkComparison:
    """Compare registered links with LLDP neighbours (the rules in the module's docstring)."""
    links, neighbours = list(links), list(neighbours)
    reporting = {n.asset_id for n in neighbours}
    # (local asset, local port) → remote asset ids reported there
    heard: dict[tuple[int, str], set[int | None]] = {}
    for n in neighbours:
        heard.setdefault((n.asset_id, norm_port(n.local_port)), set()).add(n.remote_asset_id)

    def state_of(link: Any) -> str:
        a = (link.a_asset_id, norm_port(link.a_port))
        b = (link.b_asset_id, norm_port(link.b_port))
        if link.b_asset_id in heard.get(a, ()) or link.a_asset_id in heard.get(b, ()):
            return "ok"
        if link.a_asset_id in reporting or link.b_asset_id in reporting:
            return "not_seen"
        return "unchecked"

    states = {link.id: state_of(link) for link in links}
    registered_ends = {}
    for link in links:
        registered_ends[(link.a_asset_id, norm_port(link.a_port))] = link.b_asset_id
        registered_ends[(link.b_asset_id, norm_port(link.b_port))] = link.a_asset_id
    unregistered: dict[Any, Any] = {}
    for n in neighbours:
        here, there = (n.asset_id, norm_port(n.local_port)), norm_port(n.remote_port)
        if n.remote_asset_id is not None and (
            registered_ends.get(here) == n.remote_asset_id
            or registered_ends.get((n.remote_asset_id, there)) == n.asset_id
        ):
            continue
        if n.remote_asset_id is not None:  # the other device may report the same cable
            key: Any = (frozenset({n.asset_id, n.remote_asset_id}), frozenset({here[1], there}))
        else:
            key = (n.asset_id, here[1], n.remote_chassis_id, there)
        unregistered.setdefault(key, n)
    return LinkComparison(states, list(unregistered.values()))
