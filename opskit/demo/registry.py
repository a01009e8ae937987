"""The demo's registry: a Shanghai machine room as a resident engineer would register it.

The site, its rooms, racks, the equipment every site has, lines, prefixes and the fixed links
are ``data/site.yaml``; each IT rack's equipment (PDU, access switch, servers, storage) is
made here from the rack's place in its room's pattern, so ``scale`` can add racks. Written
through ``assets.services``, like data typed in by hand.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from assets import services as asset_services
from assets.models import Asset
from opskit import db
from opskit.db import utcnow
from opskit.demo.datafiles import load


@dataclass
class Built:
    """What the seeder made, by asset tag / room letter, for the later steps."""

    site: Any = None
    rooms: dict[str, Any] = field(default_factory=dict)
    racks: dict[str, Any] = field(default_factory=dict)
    assets: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _asset(row: dict[str, Any]) -> dict[str, Any]:
    """A data file's asset with the defaults filled in (``room`` from its rack's letter)."""
    data = load("site")
    out: dict[str, Any] = {"rack": None, "room": None, "u": None, "ip": None, "specs": {}}
    out.update(data["defaults"])
    out.update(row)
    out["specs"] = dict(out["specs"])
    if out["rack"]:
        out["room"] = out["rack"][0]
    return out


def _ip(*octets: int) -> str | None:
    """A dotted address, or None when the scale ran past an octet."""
    return None if any(o > 254 for o in octets) else ".".join(map(str, octets))


def _rack_assets(rack: str, number: int, serial: int, servers: list[int]) -> list[dict[str, Any]]:
    """The IT equipment of one rack: PDU, access switch, servers, sometimes storage.

    ``number`` is the rack's place in its room's pattern (1: network rack, 3: storage ...).
    """
    data = load("site")
    letter = rack[0]
    net = 20 if letter == "A" else 40
    out = [
        _asset(
            {
                "tag": f"ZJ-PDU-{rack}",
                "name": f"机柜 PDU {rack}",
                "kind": "pdu",
                "vendor": "APC",
                "model": "AP8959EU3",
                "rack": rack,
                "height": 0,
                "ip": _ip(10, 10, 2, serial),
                "host": f"zj-pdu-{rack.lower()}",
                "specs": {"额定电流（A）": 16},  # AP8959EU3: 16 A (the PDU load sheet)
            }
        ),
    ]
    if number != 1:
        out.append(
            _asset(
                {
                    "tag": f"ZJ-SW-{serial + 100:03d}",
                    "name": f"接入交换机 {rack}",
                    "kind": "switch",
                    "vendor": "华三",
                    "model": "S6520X-54QC-EI",
                    "rack": rack,
                    "u": 42,
                    "importance": "important",
                    "ip": _ip(10, 10, 0, 100 + serial),
                    "host": f"zj-acc-{rack.lower()}",
                }
            )
        )
    roles = data["server_roles"] if letter == "A" else data["server_roles"][4:]
    count = 4 if number != 1 else 0
    for i in range(count):
        servers[0] += 1
        n = servers[0]
        role, vendor, model, short = roles[(n - 1) % len(roles)]
        out.append(
            _asset(
                {
                    "tag": f"ZJ-SRV-{n:03d}",
                    "name": f"{role} {n:02d}",
                    "kind": "server",
                    "vendor": vendor,
                    "model": model,
                    "rack": rack,
                    "u": 4 + i * 3,
                    "height": 2,
                    # the database servers are core systems: the quarterly load report covers them
                    "importance": {"db": "core", "fin": "important"}.get(short, "general"),
                    "ip": _ip(10, net, serial, 10 + i),
                    "host": f"zj-{short}-{n:02d}",
                    "warranty_days": [700, 380, 25, -30, 900][n % 5],
                    "owner": ["信息中心", "财务部", "运维组"][n % 3],
                    "status": "repair" if n % 37 == 0 else "in_service",
                    "specs": {
                        **data["server_specs"],
                        **({"role": "数据库"} if short == "db" else {}),
                    },
                }
            )
        )
    if number in (3, 4):
        storage = {"tag": f"ZJ-STO-{serial:03d}", "kind": "storage", "rack": rack, "u": 20}
        storage["ip"] = _ip(10, 30, 0, serial)
        if number == 3:
            storage.update(name=f"存储阵列 {rack}", vendor="华为", model="OceanStor 5310")
            storage.update(height=4, importance="core", warranty_days=300)
            storage["host"] = f"zj-stor-{serial:02d}"
        else:
            storage.update(name=f"NAS 存储 {rack}", vendor="群晖", model="RS3621xs+", height=2)
        out.append(_asset(storage))
    return out


def _racks_for(scale: int) -> dict[str, list[str]]:
    racks = {}
    for letter, names in load("site")["racks"].items():
        extra = len(names) * (scale - 1)
        racks[letter] = names + [
            f"{letter}{i:02d}" for i in range(len(names) + 1, len(names) + extra + 1)
        ]
    return racks


def _patch_server_ips(rows: list[dict[str, Any]]) -> None:
    """Server addresses in 10.20/16 and 10.40/16 stay unique whatever the scale."""
    seen: set[str] = set()
    for row in rows:
        ip = row["ip"]
        if ip and ip in seen:
            row["ip"] = None
        elif ip:
            seen.add(ip)


def _rows(racks: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Every asset of the site as a data row: the fixed ones, this machine, the IT racks'."""
    data = load("site")
    rows = [_asset(row) for row in data["assets"]]
    rows.append(_asset({**data["opskit_host"], "rack": data["opskit_rack"]}))
    serial, servers = 0, [0]
    for letter in ("A", "B"):
        for number, rack_name in enumerate(racks[letter], start=1):
            serial += 1
            pattern = (number - 1) % len(data["racks"][letter]) + 1
            rows += _rack_assets(rack_name, pattern, serial, servers)
    _patch_server_ips(rows)
    return rows


def _add_assets(built: Built, rows: list[dict[str, Any]]) -> None:
    data = load("site")
    today = utcnow().date()
    items = []
    for row in rows:
        support = data["support"]["core" if row["importance"] == "core" else "other"]
        items.append(
            {
                "asset_tag": row["tag"],
                "name": row["name"],
                "kind": row["kind"],
                "vendor": row["vendor"],
                "model": row["model"],
                "serial": f"SN{zlib.crc32(row['tag'].encode()):010d}",
                "status": row["status"],
                "importance": row["importance"],
                "owner": row["owner"],
                "contact": data["contact"],
                "rack": built.racks[row["rack"]] if row["rack"] else None,
                "room": None if row["rack"] else built.rooms[row["room"]],
                "u_position": row["u"],
                "u_height": row["height"],
                "mgmt_ip": row["ip"],
                "purchase_date": today - timedelta(days=data["purchased_days_ago"]),
                "warranty_end": today + timedelta(days=row["warranty_days"]),
                "support_level": support,
                "specs": row["specs"],
                "notes": row["notes"],
            }
        )
    results = asset_services.add_assets(items)
    refused = [r for r in results if not isinstance(r, Asset)]
    if refused:
        raise RuntimeError(f"demo assets refused: {[r.errors for r in refused][:3]}")
    built.assets = {a.asset_tag: a for a in results if isinstance(a, Asset)}


def _addresses(built: Built, hosts: dict[str, str]) -> tuple[int, int]:
    """The prefixes, every asset's management address and the reserved ones: (prefixes,
    addresses)."""
    data = load("site")
    for prefix in data["prefixes"]:
        asset_services.save_prefix({**prefix, "site": built.site})
    db.session().flush()
    made = 0
    for tag, asset in built.assets.items():
        if asset.mgmt_ip:
            asset_services.save_address(
                {
                    "address": asset.mgmt_ip,
                    "asset": asset,
                    "hostname": hosts.get(tag, ""),
                    "interface": "mgmt",
                }
            )
            made += 1
    for i, address in enumerate(data["addresses"]):
        asset_services.save_address({**address, "hostname": f"reserved-{i}"})
        made += 1
    db.session().flush()
    return len(data["prefixes"]), made


def _links(built: Built) -> int:
    """The fixed links, each access switch to its room's core, servers and storage up."""
    made = 0

    def link(a_tag: str, a_port: str, b_tag: str, b_port: str, medium: str) -> None:
        nonlocal made
        asset_services.save_link(built.assets[a_tag], a_port, built.assets[b_tag], b_port, medium)
        made += 1

    for fixed in load("site")["links"]:
        link(*fixed)
    core_port = {"ZJ-SW-001": 1, "ZJ-SW-002": 1}
    for tag, asset in sorted(built.assets.items()):
        if asset.kind == "switch" and tag not in ("ZJ-SW-001", "ZJ-SW-002", "ZJ-SW-010"):
            core = "ZJ-SW-001" if asset.rack.name.startswith("A") else "ZJ-SW-002"
            number = core_port[core]
            core_port[core] += 1
            link(
                core,
                f"10GE1/0/{number}" if number < 5 else f"10GE1/0/{number + 4}",
                tag,
                "XGigabitEthernet1/0/49",
                "光纤 多模",
            )
    by_rack: dict[str, str] = {
        a.rack.name: t for t, a in built.assets.items() if a.kind == "switch" and a.rack
    }
    ports: dict[str, int] = {}
    for tag, asset in sorted(built.assets.items()):
        if asset.kind in ("server", "storage") and asset.rack is not None:
            sw = by_rack.get(asset.rack.name) or (
                "ZJ-SW-001" if asset.rack.name.startswith("A") else "ZJ-SW-002"
            )
            ports[sw] = ports.get(sw, 0) + 1
            if sw in ("ZJ-SW-001", "ZJ-SW-002"):
                port = f"10GE1/0/{20 + ports[sw]}"
            else:
                port = f"XGigabitEthernet1/0/{ports[sw]}"
            link(tag, "eth0" if asset.kind == "server" else "CTE0.A.IOM0.P0", sw, port, "光纤 多模")
    db.session().flush()
    return made


def seed_registry(scale: int = 1) -> Built:
    """The site, rooms, racks, assets, lines, prefixes, addresses and links; ``scale`` times
    the IT racks."""
    data = load("site")
    built = Built()
    built.site = asset_services.save_site(dict(data["site"]))
    racks = _racks_for(scale)
    for letter, room_data in data["rooms"].items():
        room = asset_services.save_room({**room_data, "site": built.site})
        built.rooms[letter] = room
        feeds = [*data["rack_power"][letter], None][:2]
        for rack_name in racks[letter]:
            built.racks[rack_name] = asset_services.save_rack(
                {
                    "room": room,
                    "name": rack_name,
                    "u_height": 42,
                    "power_a_watts": feeds[0],
                    "power_b_watts": feeds[1],
                }
            )
    db.session().flush()

    rows = _rows(racks)
    _add_assets(built, rows)
    for tag, line in data["lines"].items():
        asset_services.save_line(built.assets[tag], dict(line))
    prefixes, addresses = _addresses(built, {row["tag"]: row["host"] for row in rows})
    links = _links(built)
    built.counts.update(
        assets=len(built.assets),
        racks=len(built.racks),
        rooms=len(built.rooms),
        prefixes=prefixes,
        addresses=addresses,
        links=links,
    )
    return built
