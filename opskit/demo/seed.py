"""Seed the demo site: a Shanghai machine room as a resident engineer would register it.

Everything is written through the domains' own services (``assets.services``,
``monitors.services``, ``opskit.alerts.services`` / ``incidents``, ``inspections`` services), so
the demo data obeys the same rules as data typed in by hand. Only the bulk history (readings,
past rounds) is inserted in batches.

``seed(scale=1)`` builds about 65 assets in two rooms with eight racks and two weeks of history.
``scale`` multiplies the IT racks (servers, switches, PDUs, storage) and the length of the
history (readings, alerts, patrol rounds, logbook); rooms, UPSes and air conditioners stay as
they are, like a machine room that fills up and gets older. ``bench/dashboard.py`` uses
``scale=20``.
"""

from __future__ import annotations

import json
import logging
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from assets import services as asset_services
from assets.models import Asset
from inspections import logbook
from monitors import counters
from monitors import services as monitor_services
from monitors.metrics import METRICS
from monitors.models import Monitor, Reading
from opskit import db
from opskit.alerts import incidents
from opskit.alerts import services as alert_services
from opskit.audit import acting_as
from opskit.clock import site_tz
from opskit.db import utcnow
from opskit.demo import patrol, recordings
from opskit.demo.devices import DEVICES, recording
from opskit.models import SiteSetting, User
from opskit.users import create_user

log = logging.getLogger(__name__)

MARKER_KEY = "demo"  # SiteSetting row that says the database holds the demo site
HISTORY_DAYS = 14  # at scale 1
HISTORY_STEP = timedelta(minutes=30)  # over the last RECENT_DAYS (the 24 h sparklines)
OLDER_STEP = timedelta(hours=2)  # before that (weekly trends)
RECENT_DAYS = 2

SITE = "张江数据中心"
SITE_ADDRESS = "上海市浦东新区张江高科技园区碧波路 690 号"
ROOMS = {
    "A": ("一号机房", "3F", "主机房：网络核心、服务器、存储"),
    "B": ("二号机房", "3F", "灾备与测试区"),
}
RACKS = {"A": ["A01", "A02", "A03", "A04", "A05"], "B": ["B01", "B02", "B03"]}
ENGINEERS = [("zhangwei", "张伟"), ("lina", "李娜"), ("wangqiang", "王强")]


@dataclass
class Built:
    """What the seeder made, by asset tag / room letter, for the later steps."""

    site: Any = None
    rooms: dict[str, Any] = field(default_factory=dict)
    racks: dict[str, Any] = field(default_factory=dict)
    assets: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


# --- the registry ---------------------------------------------------------------------------


def _asset(
    tag: str,
    name: str,
    kind: str,
    vendor: str,
    model: str,
    *,
    rack: str | None = None,
    room: str | None = None,
    u: int | None = None,
    height: int = 1,
    importance: str = "general",
    ip: str | None = None,
    host: str = "",
    owner: str = "信息中心",
    warranty_days: int = 700,
    status: str = "in_service",
    notes: str = "",
    specs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "tag": tag,
        "name": name,
        "kind": kind,
        "vendor": vendor,
        "model": model,
        "rack": rack,
        "room": room or (rack[0] if rack else None),
        "u": u,
        "height": height,
        "importance": importance,
        "ip": ip,
        "host": host,
        "owner": owner,
        "warranty_days": warranty_days,
        "status": status,
        "notes": notes,
        "specs": specs or {},
    }


def _fixed_assets() -> list[dict[str, Any]]:
    """Network core, power, cooling, environment and lines: one set per site."""
    a = _asset
    return [
        # network core (rack A01) and the disaster-recovery core (B01)
        a(
            "ZJ-SW-001",
            "核心交换机-1",
            "switch",
            "华为",
            "CloudEngine 6881-48S6CQ",
            rack="A01",
            u=40,
            importance="core",
            ip="10.10.0.1",
            host="zj-core-01",
            warranty_days=410,
        ),
        a(
            "ZJ-SW-002",
            "核心交换机-2",
            "switch",
            "华为",
            "CloudEngine 6881-48S6CQ",
            rack="B01",
            u=40,
            importance="core",
            ip="10.10.0.2",
            host="zj-core-02",
            warranty_days=410,
        ),
        a(
            "ZJ-RT-001",
            "互联网出口路由器-电信",
            "router",
            "华为",
            "NetEngine AR6280",
            rack="A01",
            u=36,
            height=2,
            importance="core",
            ip="10.10.0.11",
            host="zj-rt-01",
        ),
        a(
            "ZJ-RT-002",
            "专线路由器-联通",
            "router",
            "华三",
            "MSR 3620",
            rack="A01",
            u=34,
            importance="important",
            ip="10.10.0.12",
            host="zj-rt-02",
            warranty_days=45,
        ),
        a(
            "ZJ-FW-001",
            "边界防火墙-主",
            "firewall",
            "华为",
            "USG6555E",
            rack="A01",
            u=32,
            importance="core",
            ip="10.10.0.21",
            host="zj-fw-01",
        ),
        a(
            "ZJ-FW-002",
            "边界防火墙-备",
            "firewall",
            "深信服",
            "AF-1000-B1500",
            rack="B01",
            u=32,
            importance="important",
            ip="10.10.0.22",
            host="zj-fw-02",
        ),
        a(
            "ZJ-SW-010",
            "带外管理交换机",
            "switch",
            "华三",
            "S5130S-28S-EI",
            rack="A01",
            u=42,
            ip="10.10.0.5",
            host="zj-oob-01",
        ),
        a(
            "ZJ-KVM-001",
            "KVM 切换器-一号机房",
            "kvm",
            "力登",
            "Dominion KX III",
            rack="A01",
            u=20,
            ip="10.10.0.31",
        ),
        a(
            "ZJ-KVM-002",
            "KVM 切换器-二号机房",
            "kvm",
            "ATEN",
            "KN4132VA",
            rack="B01",
            u=20,
            ip="10.10.0.32",
        ),
        a(
            "ZJ-ODF-001",
            "光纤配线架 ODF-A01",
            "other",
            "普天",
            "ODF-48",
            rack="A01",
            u=30,
            height=2,
            warranty_days=-400,
            notes="无保修（无源设备）",
        ),
        # power and cooling stand on the floor (no rack)
        a(
            "ZJ-UPS-A1",
            "1号UPS（一号机房）",
            "ups",
            "APC",
            "Smart-UPS SRT 10000",
            room="A",
            importance="core",
            ip="10.10.1.11",
            host="zj-ups-a1",
            warranty_days=60,
        ),
        a(
            "ZJ-UPS-A2",
            "2号UPS（一号机房）",
            "ups",
            "科华",
            "FR-UK33200",
            room="A",
            importance="core",
            ip="10.10.1.12",
            host="zj-ups-a2",
        ),
        a(
            "ZJ-UPS-B1",
            "3号UPS（二号机房）",
            "ups",
            "APC",
            "Smart-UPS SRT 6000",
            room="B",
            importance="important",
            ip="10.10.1.13",
            host="zj-ups-b1",
        ),
        a(
            "ZJ-UPS-B2",
            "4号UPS（二号机房）",
            "ups",
            "山特",
            "3C3 Pro 60KS",
            room="B",
            importance="important",
            ip="10.10.1.14",
            host="zj-ups-b2",
        ),
        a(
            "ZJ-AC-A1",
            "1号精密空调（一号机房）",
            "precision_ac",
            "APC",
            "InRow RD ACRD602",
            room="A",
            importance="core",
            ip="10.10.1.21",
            host="zj-ac-a1",
        ),
        a(
            "ZJ-AC-A2",
            "2号精密空调（一号机房）",
            "precision_ac",
            "APC",
            "InRow RD ACRD602",
            room="A",
            importance="core",
            ip="10.10.1.22",
            host="zj-ac-a2",
            warranty_days=20,
        ),
        a(
            "ZJ-AC-B1",
            "3号精密空调（二号机房）",
            "precision_ac",
            "APC",
            "InRow RC ACRC301S",
            room="B",
            importance="important",
            ip="10.10.1.23",
            host="zj-ac-b1",
        ),
        a(
            "ZJ-AC-B2",
            "4号精密空调（二号机房）",
            "precision_ac",
            "APC",
            "InRow RC ACRC301S",
            room="B",
            importance="important",
            ip="10.10.1.24",
            host="zj-ac-b2",
        ),
        a(
            "ZJ-ENV-A1",
            "温湿度传感器-一号机房冷通道",
            "sensor",
            "共济",
            "GJ-TH100",
            room="A",
            ip="10.10.1.31",
        ),
        a(
            "ZJ-ENV-A2",
            "漏水检测-一号机房空调区",
            "sensor",
            "共济",
            "GJ-WL200",
            room="A",
            ip="10.10.1.32",
        ),
        a(
            "ZJ-ENV-B1",
            "温湿度传感器-二号机房",
            "sensor",
            "共济",
            "GJ-TH100",
            room="B",
            ip="10.10.1.33",
        ),
        a("ZJ-ENV-B2", "烟感探测器-二号机房", "sensor", "海湾", "JTY-GD-G3", room="B"),
        # communication lines
        a(
            "ZJ-LINE-001",
            "电信互联网专线 200M",
            "line",
            "中国电信",
            "",
            room="A",
            importance="core",
            warranty_days=200,
        ),
        a(
            "ZJ-LINE-002",
            "联通 MPLS 专线 100M（总部）",
            "line",
            "中国联通",
            "",
            room="A",
            importance="important",
            warranty_days=75,
        ),
        a("ZJ-LINE-003", "移动备份线路 100M", "line", "中国移动", "", room="B"),
    ]


SERVER_ROLES = [
    ("OA 应用服务器", "浪潮", "NF5280M6", "oa"),
    ("财务系统服务器", "华为", "FusionServer 2288H V6", "fin"),
    ("数据库服务器-主", "华为", "FusionServer 2288H V6", "db"),
    ("数据库服务器-备", "华为", "FusionServer 2288H V6", "db"),
    ("虚拟化主机", "戴尔", "PowerEdge R750", "vm"),
    ("虚拟化主机", "戴尔", "PowerEdge R750", "vm"),
    ("邮件服务器", "联想", "ThinkSystem SR650", "mail"),
    ("文件服务器", "浪潮", "NF5270M6", "file"),
    ("备份服务器", "华为", "FusionServer 2288H V5", "bak"),
    ("Web 服务器", "新华三", "UniServer R4900 G5", "web"),
]


def _ip(*octets: int) -> str | None:
    """A dotted address, or None when the scale ran past an octet."""
    return None if any(o > 254 for o in octets) else ".".join(map(str, octets))


def _rack_assets(rack: str, number: int, serial: int, servers: list[int]) -> list[dict[str, Any]]:
    """The IT equipment of one rack: PDU, access switch, servers, sometimes storage.

    ``number`` is the rack's place in its room's pattern (1: network rack, 3: storage ...).
    """
    letter = rack[0]
    a = _asset
    net = 20 if letter == "A" else 40
    out = [
        a(
            f"ZJ-PDU-{rack}",
            f"机柜 PDU {rack}",
            "pdu",
            "APC",
            "AP8959EU3",
            rack=rack,
            height=0,
            ip=_ip(10, 10, 2, serial),
            host=f"zj-pdu-{rack.lower()}",
        ),
    ]
    if number != 1:
        out.append(
            a(
                f"ZJ-SW-{serial + 100:03d}",
                f"接入交换机 {rack}",
                "switch",
                "华三",
                "S6520X-54QC-EI",
                rack=rack,
                u=42,
                importance="important",
                ip=_ip(10, 10, 0, 100 + serial),
                host=f"zj-acc-{rack.lower()}",
            )
        )
    roles = SERVER_ROLES if letter == "A" else SERVER_ROLES[4:]
    count = 4 if number != 1 else 0
    for i in range(count):
        servers[0] += 1
        n = servers[0]
        role, vendor, model, short = roles[(n - 1) % len(roles)]
        out.append(
            a(
                f"ZJ-SRV-{n:03d}",
                f"{role} {n:02d}",
                "server",
                vendor,
                model,
                rack=rack,
                u=4 + i * 3,
                height=2,
                # the database servers are core systems: the quarterly load report covers them
                importance={"db": "core", "fin": "important"}.get(short, "general"),
                ip=_ip(10, net, serial, 10 + i),
                host=f"zj-{short}-{n:02d}",
                warranty_days=[700, 380, 25, -30, 900][n % 5],
                owner=["信息中心", "财务部", "运维组"][n % 3],
                status="repair" if n % 37 == 0 else "in_service",
                specs={
                    "CPU": "2 x Xeon Gold 6330",
                    "内存": "512 GB",
                    "硬盘": "4 x 1.92 TB SSD",
                    **({"role": "数据库"} if short == "db" else {}),
                },
            )
        )
    if number == 3:
        out.append(
            a(
                f"ZJ-STO-{serial:03d}",
                f"存储阵列 {rack}",
                "storage",
                "华为",
                "OceanStor 5310",
                rack=rack,
                u=20,
                height=4,
                importance="core",
                ip=_ip(10, 30, 0, serial),
                host=f"zj-stor-{serial:02d}",
                warranty_days=300,
            )
        )
    elif number == 4:
        out.append(
            a(
                f"ZJ-STO-{serial:03d}",
                f"NAS 存储 {rack}",
                "storage",
                "群晖",
                "RS3621xs+",
                rack=rack,
                u=20,
                height=2,
                ip=_ip(10, 30, 0, serial),
            )
        )
    return out


def _opskit_host(rack: str) -> dict[str, Any]:
    return _asset(
        "ZJ-SRV-000",
        "运维监控服务器（opskit）",
        "server",
        "联想",
        "ThinkSystem SR250",
        rack=rack,
        u=2,
        importance="important",
        ip="10.10.0.50",
        host="zj-opskit",
        notes="本机：opskit 服务与轮询器",
    )


def _racks_for(scale: int) -> dict[str, list[str]]:
    racks = {}
    for letter, names in RACKS.items():
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


def seed_registry(scale: int = 1) -> Built:
    built = Built()
    built.site = asset_services.save_site(
        {"name": SITE, "address": SITE_ADDRESS, "notes": "演示数据"}
    )
    racks = _racks_for(scale)
    for letter, (name, floor, notes) in ROOMS.items():
        room = asset_services.save_room(
            {"site": built.site, "name": name, "floor": floor, "notes": notes}
        )
        built.rooms[letter] = room
        for rack_name in racks[letter]:
            built.racks[rack_name] = asset_services.save_rack(
                {"room": room, "name": rack_name, "u_height": 42}
            )
    db.session().flush()

    rows = [*_fixed_assets(), _opskit_host("A02")]
    serial, servers = 0, [0]
    for letter in ("A", "B"):
        for number, rack_name in enumerate(racks[letter], start=1):
            serial += 1
            pattern = (number - 1) % len(RACKS[letter]) + 1
            rows += _rack_assets(rack_name, pattern, serial, servers)
    _patch_server_ips(rows)
    today = utcnow().date()
    items = []
    for row in rows:
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
                "contact": "张伟 138 0000 1234",
                "rack": built.racks[row["rack"]] if row["rack"] else None,
                "room": None if row["rack"] else built.rooms[row["room"]],
                "u_position": row["u"],
                "u_height": row["height"],
                "mgmt_ip": row["ip"],
                "purchase_date": today - timedelta(days=1100),
                "warranty_end": today + timedelta(days=row["warranty_days"]),
                "support_level": "7x24 4小时到场"
                if row["importance"] == "core"
                else "5x8 次日到场",
                "specs": row["specs"],
                "notes": row["notes"],
            }
        )
    results = asset_services.add_assets(items)
    refused = [r for r in results if not isinstance(r, Asset)]
    if refused:
        raise RuntimeError(f"demo assets refused: {[r.errors for r in refused][:3]}")
    built.assets = {a.asset_tag: a for a in results if isinstance(a, Asset)}
    hosts = {row["tag"]: row["host"] for row in rows}

    # lines
    lines = {
        "ZJ-LINE-001": ("中国电信", "SH-CT-2023-008812", 200, "张江数据中心", "电信张江局"),
        "ZJ-LINE-002": ("中国联通", "SH-CU-MPLS-55102", 100, "张江数据中心", "总部（徐汇）"),
        "ZJ-LINE-003": ("中国移动", "SH-CM-90021", 100, "张江数据中心", "移动金桥局"),
    }
    for tag, (carrier, circuit, bw, a_end, z_end) in lines.items():
        asset_services.save_line(
            built.assets[tag],
            {
                "carrier": carrier,
                "circuit_id": circuit,
                "bandwidth_mbps": bw,
                "a_end": a_end,
                "z_end": z_end,
            },
        )

    # prefixes and addresses
    prefixes = [
        ("10.10.0.0/24", 10, "网络设备管理", "10.10.0.254"),
        ("10.10.1.0/24", 11, "动力环境监控", "10.10.1.254"),
        ("10.10.2.0/24", 12, "PDU 管理", "10.10.2.254"),
        ("10.20.0.0/16", 20, "一号机房业务服务器", "10.20.0.1"),
        ("10.30.0.0/24", 30, "存储网络", None),
        ("10.40.0.0/16", 40, "二号机房灾备服务器", "10.40.0.1"),
        ("172.16.100.0/24", 100, "服务器带外管理（BMC）", "172.16.100.254"),
        ("203.0.113.0/28", None, "电信公网地址段", "203.0.113.1"),
    ]
    prefix_rows = {}
    for cidr, vlan, purpose, gw in prefixes:
        prefix_rows[cidr] = asset_services.save_prefix(
            {"cidr": cidr, "vlan": vlan, "purpose": purpose, "gateway": gw, "site": built.site}
        )
    db.session().flush()
    n_addresses = 0
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
            n_addresses += 1
    for i, (ip, status, note) in enumerate(
        [
            ("203.0.113.2", "active", "出口路由器 WAN"),
            ("203.0.113.3", "active", "防火墙 NAT 地址池"),
            ("203.0.113.4", "reserved", "预留：VPN 网关"),
            ("10.10.0.99", "reserved", "预留：新核心交换机"),
            ("10.20.200.1", "dhcp", "DHCP 地址池起点"),
        ]
    ):
        asset_services.save_address(
            {"address": ip, "status": status, "notes": note, "hostname": f"reserved-{i}"}
        )
        n_addresses += 1
    db.session().flush()

    # links: cores to each other, to routers/firewalls, access switches to cores, servers up
    links = 0

    def link(a_tag: str, a_port: str, b_tag: str, b_port: str, medium: str) -> None:
        nonlocal links
        asset_services.save_link(built.assets[a_tag], a_port, built.assets[b_tag], b_port, medium)
        links += 1

    link("ZJ-SW-001", "40GE1/0/1", "ZJ-SW-002", "40GE1/0/1", "光纤 单模")
    link("ZJ-SW-001", "40GE1/0/2", "ZJ-SW-002", "40GE1/0/2", "光纤 单模")
    link("ZJ-RT-001", "GE0/0/1", "ZJ-FW-001", "GE1/0/1", "六类网线")
    link("ZJ-FW-001", "GE1/0/2", "ZJ-SW-001", "10GE1/0/5", "光纤 多模")
    link("ZJ-FW-002", "GE1/0/2", "ZJ-SW-002", "10GE1/0/5", "光纤 多模")
    link("ZJ-RT-002", "GE0/0/1", "ZJ-SW-001", "10GE1/0/8", "六类网线")
    link("ZJ-SW-010", "GE1/0/48", "ZJ-SW-001", "GE1/0/48", "六类网线")
    core_port = {"ZJ-SW-001": 1, "ZJ-SW-002": 1}
    for tag, asset in sorted(built.assets.items()):
        if asset.kind == "switch" and tag not in ("ZJ-SW-001", "ZJ-SW-002", "ZJ-SW-010"):
            core = "ZJ-SW-001" if asset.rack.name.startswith("A") else "ZJ-SW-002"
            port = core_port[core]
            core_port[core] += 1
            link(
                core,
                f"10GE1/0/{port}" if port < 5 else f"10GE1/0/{port + 4}",
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
    built.counts.update(
        assets=len(built.assets),
        racks=len(built.racks),
        rooms=len(built.rooms),
        prefixes=len(prefix_rows),
        addresses=n_addresses,
        links=links,
    )
    return built


# --- monitors and readings history ----------------------------------------------------------


#: the name of the demo's SNMP monitors (they are told apart by their asset, not their name)
DEMO_MONITOR_NAME = "演示 SNMP 代理"
#: what demo databases made before named them: "demo-agent <community>", a secret on a page
_OLD_DEMO_PREFIX = "demo-agent "


def seed_monitors(built: Built, snmp_port: int) -> int:
    """SNMP monitors for the simulated devices, the host monitor for this machine."""
    made = 0
    for device in DEVICES:
        asset = built.assets[device.tag]
        monitor_services.add_monitor(
            asset.id,
            "snmp",
            {"host": "127.0.0.1", "port": snmp_port, "version": "2c", "timeout": 2, "retries": 1},
            {"community": device.community},
            interval_s=device.interval_s,
            name=DEMO_MONITOR_NAME,  # never the community: monitor names are shown to viewers
        )
        made += 1
    monitor_services.add_monitor(
        built.assets["ZJ-SRV-000"].id, "host", {}, interval_s=30, name="本机"
    )
    return made + 1


def point_monitors_at(snmp_port: int) -> int:
    """Point the demo's SNMP monitors at the agents' port of this run; due now. Returns count."""
    changed = 0
    demo = (Monitor.name == DEMO_MONITOR_NAME) | Monitor.name.startswith(_OLD_DEMO_PREFIX)
    for m in db.session().scalars(select(Monitor).where(demo)):
        m.name = DEMO_MONITOR_NAME
        settings = dict(m.settings or {})
        if settings.get("port") != snmp_port:
            settings["port"] = snmp_port
            m.settings = settings
            changed += 1
        m.next_due_at = utcnow()
        m.lease_until = None
    return changed


def _history_times(now: datetime, days: int) -> list[datetime]:
    """Every 2 hours, then every 30 minutes over the last two days, and now."""
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    start -= timedelta(hours=start.hour % 2)
    recent = now - timedelta(days=RECENT_DAYS)
    out, t = [], start
    while t < now - HISTORY_STEP / 2:
        out.append(t)
        t += HISTORY_STEP if t >= recent else OLDER_STEP
    return [*out, now]  # and what the devices say now: the tiles have values from the start


def seed_readings(built: Built, now: datetime, days: int) -> int:
    """Readings over ``days`` for the simulated devices, from the recordings (``_history_times``).

    The real device profiles run against each recording at each past time, so the history
    joins up with what the poller reads live. The first two weeks are computed; a longer
    history repeats their two-hourly points shifted by whole fortnights (the recordings are
    periodic by the day and the hour, so the repeat is what the agents would have answered).
    """
    block_days = min(days, HISTORY_DAYS)
    times = _history_times(now, block_days)
    booted = times[0].timestamp() if times else now.timestamp()
    rows: list[dict[str, Any]] = []
    for device in DEVICES:
        text = recording(device)
        asset_id = built.assets[device.tag].id
        before: dict[tuple[str, str], tuple[float, int]] = {}  # counter → (time, value)
        for at in times:
            result = recordings.probe_at(text, at.timestamp(), booted)
            for r in result["metrics"]:
                vocab = METRICS.get(r["metric"], {})
                if vocab.get("kind") == "counter":
                    # the rate since the time before, as the poller derives it (if.in_bps ...)
                    key, value = (r["metric"], r["instance"]), int(r["value"])
                    last, before[key] = before.get(key), (at.timestamp(), value)
                    into = counters.RATES.get(r["metric"])
                    if last is None or into is None:
                        continue
                    per_s = counters.rate(
                        last[1], value, at.timestamp() - last[0], r.get("bits") or 64
                    )
                    if per_s is not None:
                        rows.append(
                            {
                                "asset_id": asset_id,
                                "monitor_id": None,
                                "metric": into[0],
                                "instance": r["instance"][:128],
                                "at": at,
                                "value": round(per_s * into[1], 3),
                                "text": None,
                            }
                        )
                    continue
                number = isinstance(r["value"], int | float)
                rows.append(
                    {
                        "asset_id": asset_id,
                        "monitor_id": None,
                        "metric": r["metric"],
                        "instance": r["instance"][:128],
                        "at": at,
                        "value": float(r["value"]) if number else None,
                        "text": None if number else str(r["value"])[:64],
                    }
                )
    sess = db.session()
    total = 0
    repeats = max(1, -(-days // block_days))
    older = [row for row in rows if row["at"].minute == 0 and row["at"].hour % 2 == 0]
    table = Reading.__table__
    for k in range(repeats):
        shift = timedelta(days=block_days * k)
        batch = [{**row, "at": row["at"] - shift} for row in older] if k else rows
        for start in range(0, len(batch), 5000):
            sess.execute(table.insert(), batch[start : start + 5000])
        total += len(batch)
    return total


# --- alerts and incidents -------------------------------------------------------------------


def _ago(now: datetime, **kw: float) -> datetime:
    return now - timedelta(**kw)


def seed_alerts(built: Built, now: datetime, history_scale: int = 1) -> dict[str, int]:
    """Alerts in every state, two incidents (one open, one closed), a maintenance window."""
    A = built.assets
    room_b = built.rooms["B"]
    made = {"alerts": 0, "incidents": 0}

    def raise_(
        key: str,
        rule: str,
        urgency: str,
        message: str,
        at: datetime,
        asset: str | None = None,
        room: Any = None,
        source: str = "manual",
    ):
        made["alerts"] += 1
        return alert_services.raise_alert(
            f"demo:{key}",
            source=source,
            rule=rule,
            urgency=urgency,
            message=message,
            asset_id=A[asset].id if asset else None,
            room_id=room.id if room else None,
            at=at,
        )

    # past alerts, resolved: a few a week, for the SLA statistics and the history pages
    templates = [
        (
            "disk",
            "storage.full",
            "C",
            "数据库服务器 /var/lib/postgresql 使用率超过 85%",
            "ZJ-SRV-003",
        ),
        ("temp-a", "room.temperature", "C", "一号机房温度过高（28 ℃）", "ZJ-UPS-A1"),
        ("ups-a2-battery", "ups.on_battery", "A", "UPS 电池供电（市电中断）", "ZJ-UPS-A2"),
        ("link-cu", "manual", "B", "联通 MPLS 专线中断，总部访问 OA 失败", "ZJ-LINE-002"),
        ("fan", "patrol", "B", "巡检发现：数据库服务器-备 风扇告警灯亮", "ZJ-SRV-004"),
        ("ac-b1", "cooling.failure", "B", "3号精密空调高压告警", "ZJ-AC-B1"),
        ("pdu", "pdu.current", "C", "PDU A03 电流偏高（24 A）", "ZJ-PDU-A03"),
    ]
    weeks = 2 * history_scale
    rng = random.Random(8)
    engineers = [username for username, _ in ENGINEERS]
    for week in range(weeks):
        for k in range(3):
            key, rule, urgency, message, tag = templates[(week * 3 + k) % len(templates)]
            start = _ago(now, days=7 * week + 2 * k + 1, hours=rng.randint(0, 20))
            with acting_as(engineers[(week + k) % 3]):
                alert = raise_(f"past-{week}-{k}-{key}", rule, urgency, message, start, tag)
                if urgency != "A" or k % 2:
                    alert_services.acknowledge(
                        alert, "已收到，前往处理", at=start + timedelta(minutes=9)
                    )
                    alert_services.record_onsite(alert, "已到场", at=start + timedelta(minutes=35))
                alert_services.resolve(
                    alert, "已处理，恢复正常", at=start + timedelta(hours=2, minutes=k * 13)
                )

    # open now, firing: A (nearest SLA deadline), B, C
    with acting_as("demo"):
        a1 = raise_(
            "stor-ctrl",
            "manual",
            "A",
            "存储阵列 A03 控制器 B 故障，业务切换至控制器 A",
            _ago(now, minutes=25),
            "ZJ-STO-003",
        )
        raise_(
            "leak", "manual", "B", "一号机房空调区漏水检测告警", _ago(now, minutes=50), "ZJ-ENV-A2"
        )
        raise_(
            "warranty-rt02",
            "registry",
            "C",
            "专线路由器-联通 保修即将到期",
            _ago(now, hours=20),
            "ZJ-RT-002",
            source="registry",
        )
        # acknowledged, one with the engineer on site
    with acting_as("lina"):
        b1 = raise_(
            "ups-b1-selftest",
            "manual",
            "B",
            "3号UPS 电池自检未通过",
            _ago(now, hours=3),
            "ZJ-UPS-B1",
        )
        alert_services.acknowledge(b1, "已联系 APC 厂家工程师", at=_ago(now, hours=2, minutes=50))
        alert_services.record_onsite(b1, "已到场检查电池组", at=_ago(now, hours=2, minutes=10))
    with acting_as("wangqiang"):
        c1 = raise_(
            "backup-job",
            "manual",
            "C",
            "备份服务器昨晚备份任务失败",
            _ago(now, hours=9),
            "ZJ-SRV-009",
        )
        alert_services.acknowledge(c1, "今晚重跑备份", at=_ago(now, hours=8))
    # flapping: a line that keeps dropping
    with acting_as("demo"):
        for i in range(4):
            t = _ago(now, minutes=28 - i * 6)
            raise_("line-cm-loss", "manual", "C", "移动备份线路丢包率高", t, "ZJ-LINE-003")
            if i < 3:
                alert_services.clear_alert("demo:line-cm-loss", at=t + timedelta(minutes=2))
        # silenced: inside a maintenance window of the backup firewall
        alert_services.add_maintenance(
            _ago(now, hours=1),
            now + timedelta(hours=2),
            asset_id=A["ZJ-FW-002"].id,
            reason="防火墙版本升级（变更单 CR-2026-118）",
        )
        raise_(
            "fw02-upgrade",
            "unreachable",
            "B",
            "边界防火墙-备 无响应",
            _ago(now, minutes=40),
            "ZJ-FW-002",
        )
        # resolved automatically today
        t = _ago(now, hours=5)
        raise_(
            "temp-b-today", "room.temperature", "C", "二号机房温度过高", t, "ZJ-UPS-B1", room=room_b
        )
        alert_services.clear_alert("demo:temp-b-today", at=t + timedelta(minutes=40))

    # incidents: one open from the A alert (contained, engineer on site), one closed last week
    with acting_as("zhangwei"):
        open_one = incidents.open_incident(
            "存储阵列控制器故障",
            grade="major",
            urgency="A",
            description="存储阵列 A03 控制器 B 离线，业务已自动切换至控制器 A，冗余丧失。",
            alerts=[a1],
            at=_ago(now, minutes=20),
        )
        incidents.add_entry(
            open_one,
            "contain",
            "已确认业务由控制器 A 承载，暂停非关键批处理任务。",
            at=_ago(now, minutes=15),
        )
        incidents.record_arrival(open_one, "ZJ-STO-003", at=_ago(now, minutes=12))
        made["incidents"] += 1
        past_alert = raise_(
            "past-cu-outage",
            "manual",
            "B",
            "联通 MPLS 专线中断",
            _ago(now, days=6, hours=4),
            "ZJ-LINE-002",
        )
        closed = incidents.open_incident(
            "联通专线中断",
            grade="general",
            urgency="B",
            description="总部与机房之间的 MPLS 专线中断 47 分钟。",
            alerts=[past_alert],
            at=_ago(now, days=6, hours=4),
        )
        incidents.add_entry(
            closed, "contain", "业务切换至移动备份线路。", at=_ago(now, days=6, hours=3, minutes=50)
        )
        incidents.add_entry(
            closed,
            "eradicate",
            "联通确认光缆被施工挖断，已熔接。",
            at=_ago(now, days=6, hours=3, minutes=20),
        )
        alert_services.resolve(past_alert, "线路恢复", at=_ago(now, days=6, hours=3, minutes=13))
        incidents.close_incident(
            closed,
            "市政施工挖断联通光缆。",
            "已要求联通提供第二路由；备份线路切换演练纳入季度计划。",
            at=_ago(now, days=6, hours=3),
        )
        made["incidents"] += 1
    return made


# --- logbook --------------------------------------------------------------------------------


def seed_logbook(built: Built, now: datetime, history_scale: int = 1) -> int:
    """Machine-room visits and power events (P2's logbook), a few a day."""
    tz = site_tz()
    rng = random.Random(11)
    visitors = [
        ("陈刚", "华为技术服务", "存储阵列控制器更换", "张伟"),
        ("刘洋", "中国联通", "专线设备巡检", "李娜"),
        ("赵敏", "APC 施耐德", "UPS 电池检测", "王强"),
        ("周杰", "信息中心", "服务器上架", ""),
        ("孙磊", "深信服", "防火墙升级", "张伟"),
        ("吴芳", "财务部", "财务系统变更验证", "李娜"),
    ]
    made = 0

    def local(t: datetime) -> str:
        return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    days = HISTORY_DAYS * history_scale
    for day in range(days, -1, -1):
        for k in range(1 if day % 2 else 2):
            name, org, purpose, escort = visitors[(day + k) % len(visitors)]
            on = now.astimezone(tz).date() - timedelta(days=day)  # working hours, site time
            in_at = datetime.combine(on, time(rng.randint(9, 16), rng.randint(0, 59)), tz)
            if day == 0 and k == 0:  # Huawei's engineer came for the storage incident: inside
                name, org, purpose, escort = visitors[0]
                in_at = now - timedelta(minutes=8)
            if in_at > now:
                continue
            out_at = in_at + timedelta(minutes=rng.randint(20, 150))
            values = {
                "room_id": str(built.rooms["A" if (day + k) % 3 or day == 0 else "B"].id),
                "name": name,
                "organisation": org,
                "purpose": purpose,
                "escort": escort,
                "in_at": local(in_at),
                "out_at": "" if (day == 0 and k == 0) or out_at > now else local(out_at),
            }
            logbook.record_entry(values, tz, now=now)
            made += 1
        if day % 3 == 0:
            tag = ["ZJ-SRV-006", "ZJ-SRV-010", "ZJ-FW-002", "ZJ-SRV-011"][(day // 3) % 4]
            logbook.record_power(
                {
                    "asset_tag": tag,
                    "action": ["restart", "off", "on"][(day // 3) % 3],
                    "reason": ["系统补丁重启", "计划停机维护", "维护完成开机"][(day // 3) % 3],
                    "change_ref": f"CR-2026-{100 + day:03d}",
                    "performed_by": ENGINEERS[day % 3][1],
                    "occurred_at": local(
                        min(now, datetime.combine(now.astimezone(tz).date(), time(7, 30), tz))
                        - timedelta(days=day)
                    ),
                },
                tz,
                now=now,
            )
            made += 1
    return made


# --- patrol ---------------------------------------------------------------------------------


def seed_patrol(built: Built, now: datetime, history_scale: int = 1) -> int:
    """Patrol plans with past rounds and findings (P1's services), when they are there."""
    return patrol.seed(built, now, HISTORY_DAYS * history_scale)


# --- users and the whole ------------------------------------------------------------------


def seed_users() -> None:
    """The site's people (passwords generated and not shown: `opskit user passwd NAME`)."""
    people = [(u, n, "engineer") for u, n in ENGINEERS]
    people += [("zhaojun", "赵军（主管）", "supervisor"), ("kehu", "客户代表", "viewer")]
    for username, name, role in people:
        if db.session().scalar(select(User.id).where(User.username == username)) is None:
            create_user(username, role, None, display_name=name)


def demo_state() -> str | None:
    """``ready``, ``seeding`` (an earlier seed was interrupted) or None (not a demo database)."""
    row = db.session().get(SiteSetting, MARKER_KEY)
    if row is None:
        return None
    try:
        return str(json.loads(row.value).get("state", "ready"))
    except (ValueError, AttributeError):
        return "seeding"


def is_demo() -> bool:
    return demo_state() is not None


def is_empty() -> bool:
    return db.session().scalar(select(Asset.id).limit(1)) is None


def seed(
    scale: int = 1,
    snmp_port: int = 161,
    now: datetime | None = None,
    history_scale: int | None = None,
    users: bool = True,
) -> dict[str, int]:
    """Fill an empty database with the demo site; commits. Returns what was made, by kind."""
    now = now or utcnow()
    history_scale = history_scale or scale
    days = HISTORY_DAYS * history_scale
    sess = db.session()
    marker = SiteSetting(
        key=MARKER_KEY,
        value=json.dumps({"state": "seeding", "created_at": now.isoformat(), "scale": scale}),
    )
    with acting_as("demo"):
        sess.add(marker)
        if users:
            seed_users()
        built = seed_registry(scale)
        built.counts["monitors"] = seed_monitors(built, snmp_port)
        sess.commit()
        built.counts["readings"] = seed_readings(built, now, days)
        sess.commit()
        built.counts.update(seed_alerts(built, now, history_scale))
        sess.commit()
        built.counts["logbook"] = seed_logbook(built, now, history_scale)
        sess.commit()
        built.counts["rounds"] = seed_patrol(built, now, history_scale)
        marker.value = json.dumps({"state": "ready", "created_at": now.isoformat(), "scale": scale})
        sess.commit()
    return built.counts


def iter_summary(counts: dict[str, int]) -> Iterator[str]:
    labels = {
        "rooms": "rooms",
        "racks": "racks",
        "assets": "assets",
        "prefixes": "prefixes",
        "addresses": "addresses",
        "links": "links",
        "monitors": "monitors",
        "readings": "readings",
        "alerts": "alerts",
        "incidents": "incidents",
        "logbook": "logbook entries",
        "rounds": "patrol rounds",
    }
    for key, label in labels.items():
        if key in counts:
            yield f"{counts[key]} {label}"
