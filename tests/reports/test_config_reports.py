"""Report kinds 配置备份情况 and 升级记录 (reports/kinds/config_backups.py, upgrades.py): stored
versions, fetch attempts and upgrade records seeded for a quarter and around it, the workbook
read back with openpyxl; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask import Flask
from flask_babel import force_locale

from monitors.configs import queries as configs
from monitors.configs.models import ConfigDevice, ConfigFetch
from monitors.configs.upgrades.models import ConfigUpgrade
from opskit import db
from opskit.alerts import services as desk
from reports.build import build_pack
from reports.periods import parse_period
from tests import factories
from tests.configs import stored

# every instant is fixed and the packs are built at a given "now"
pytestmark = pytest.mark.dateless

TZ = ZoneInfo("Asia/Shanghai")
HOT = "FCE4D6"  # the writer's highlight


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def _fetch(asset_id: int, at: str, ok: bool, version_id: int | None = None, **kw: Any) -> None:
    db.session().add(
        ConfigFetch(
            asset_id=asset_id,
            started_at=local(at),
            finished_at=local(at),
            ok=ok,
            version_id=version_id,
            **kw,
        )
    )


def _seed() -> dict[str, int]:
    """2026Q3: the core switch changed twice in the quarter (a version from June before), found
    unchanged in September, then refused its password; the firewall's first backup in July; the
    access switch never answered. Upgrades: the core switch's done in August (read back
    matching), the firewall's failed in September, one planned for late September, one of June
    (outside)."""
    core = factories.asset("SW-CORE-01", kind="switch", name="核心交换机", mgmt_ip="10.1.0.1")
    fw = factories.asset("FW-01", kind="firewall", name="出口防火墙", mgmt_ip="10.1.0.254")
    acc = factories.asset("SW-ACC-09", kind="switch", name="接入交换机", mgmt_ip="10.1.0.9")
    for asset, platform in ((core, "cisco_ios"), (fw, "fortigate"), (acc, "huawei_vrp")):
        db.session().add(ConfigDevice(asset_id=asset.id, platform=platform, username="backup"))
    stored.version(core.id, 1, local("2026-06-20 09:00"), "version 12.2\nhostname A\n")
    stored.version(core.id, 2, local("2026-07-10 09:00"), "version 12.2\nhostname B\n")
    v3 = stored.version(core.id, 3, local("2026-08-15 09:00"), "version 15.2\nhostname B\n")
    fw1 = stored.version(fw.id, 1, local("2026-07-01 02:00"), "#config-version=FGT60F-7.2.5\n")
    _fetch(core.id, "2026-06-20 09:00", True)
    _fetch(core.id, "2026-07-10 09:00", True)
    _fetch(core.id, "2026-08-15 09:00", True, v3.id)
    _fetch(core.id, "2026-09-20 09:00", True, v3.id)  # unchanged
    _fetch(core.id, "2026-09-21 09:00", False, reason="auth", error="Authentication failed")
    _fetch(core.id, "2026-10-02 09:00", True, v3.id)  # after the quarter
    _fetch(fw.id, "2026-07-01 02:00", True, fw1.id)
    _fetch(acc.id, "2026-07-05 09:00", False, reason="unreachable", error="timed out")
    _fetch(acc.id, "2026-08-05 09:00", False, reason="unreachable", error="no route to host")

    def upgrade(asset_id: int, start: str, end: str, **values: Any) -> None:
        window = desk.add_maintenance(local(start), local(end), asset_id=asset_id)
        db.session().flush()
        db.session().add(ConfigUpgrade(asset_id=asset_id, window_id=window.id, **values))

    upgrade(
        core.id,
        "2026-08-20 22:00",
        "2026-08-20 23:30",
        from_version="12.2(55)SE",
        to_version="15.2",
        reason="CVE-2026-1234",
        advisory="cisco-sa-2026",
        files_backed_up="flash:/config.text\nflash:/c2960.bin",
        state="done",
        backup_version_id=v3.id,
        started_at=local("2026-08-20 22:05"),
        finished_at=local("2026-08-20 23:10"),
        read_back="15.2",
        read_back_source="config",
        matches=True,
    )
    upgrade(
        fw.id,
        "2026-09-10 22:00",
        "2026-09-10 23:00",
        from_version="7.2.5",
        to_version="7.4.3",
        state="failed",
        backup_version_id=fw1.id,
        started_at=local("2026-09-10 22:01"),
        finished_at=local("2026-09-10 22:40"),
        read_back="FGT60F-7.2.5",
        read_back_source="config",
        matches=False,
        note="image rejected",
    )
    upgrade(acc.id, "2026-09-28 22:00", "2026-09-28 23:00", to_version="V200R022", state="planned")
    upgrade(
        core.id,
        "2026-06-01 22:00",
        "2026-06-01 23:00",
        to_version="12.2(55)SE",
        state="done",
        started_at=local("2026-06-01 22:00"),
    )
    db.session().commit()
    return {"core": core.id, "fw": fw.id, "acc": acc.id}


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(min_row=4, values_only=True))


def _hot(ws: Any) -> list[str]:
    """The asset tags of the highlighted rows."""
    return [
        row[0].value
        for row in ws.iter_rows(min_row=4)
        if (row[0].fill.fgColor.rgb or "").endswith(HOT)
    ]


def test_backups_and_upgrades_of_a_quarter(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q3.xlsx"
    with db_app.test_request_context("/"):
        _seed()
        build_pack(
            parse_period("2026Q3", TZ),
            out,
            ["config_backups", "upgrades"],
            now=local("2026-10-05 09:00"),
        )
        with force_locale("zh_CN"):
            auth, unreachable = (str(configs.REASON_LABELS[k]) for k in ("auth", "unreachable"))
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["封面", "综述", "配置备份情况", "升级记录"]
    cover = {row[0]: row[1] for row in book["封面"].iter_rows(min_row=3, values_only=True)}
    assert cover["配置备份设备数"] == 3
    assert (
        cover["配置变更次数"] == 2
    )  # the core switch's versions 2 and 3 (the firewall's 1st is none)
    assert cover["本期无备份的设备"] == 1
    assert cover["固件升级次数"] == 3 and cover["完成的固件升级"] == 1

    backups = book["配置备份情况"]
    assert "2 台设备完成备份，配置变更 2 次" in backups["A1"].value
    assert _rows(backups) == [
        (
            "FW-01",
            "出口防火墙",
            "10.1.0.254",
            "Fortinet FortiGate",
            "是",
            datetime(2026, 7, 1, 2, 0),
            1,
            0,
            1,
            0,
            None,
            None,
        ),
        (
            "SW-ACC-09",
            "接入交换机",
            "10.1.0.9",
            "Huawei VRP",
            "是",
            None,
            0,
            0,
            2,
            2,
            unreachable,
            "no route to host",
        ),
        (
            "SW-CORE-01",
            "核心交换机",
            "10.1.0.1",
            "Cisco IOS / IOS-XE",
            "是",
            datetime(2026, 9, 20, 9, 0),  # the unchanged fetch; October's is after the quarter
            2,
            2,
            4,
            1,
            auth,
            "Authentication failed",
        ),
    ]
    assert _hot(backups) == ["SW-ACC-09"]

    upgrades = book["升级记录"]
    assert "3 次固件升级，完成 1 次" in upgrades["A1"].value
    rows = _rows(upgrades)
    assert [(r[0], r[2], r[3], r[11], r[12], r[14]) for r in rows] == [
        ("FW-01", "7.2.5", "7.4.3", "失败", "FGT60F-7.2.5", "否"),
        ("SW-ACC-09", None, "V200R022", "计划", None, None),
        ("SW-CORE-01", "12.2(55)SE", "15.2", "已完成", "15.2", "是"),
    ]
    core = rows[2]
    assert core[4:11] == (
        "CVE-2026-1234",
        "cisco-sa-2026",
        datetime(2026, 8, 20, 22, 0),
        datetime(2026, 8, 20, 23, 30),
        "flash:/config.text\nflash:/c2960.bin",
        3,  # the backup the start relied on: version 3 of 15 August
        datetime(2026, 8, 15, 9, 0),
    )
    assert core[13] == "升级后获取的配置"
    assert rows[0][15] == "image rejected"
    assert _hot(upgrades) == ["FW-01"]


def test_an_empty_quarter_in_english(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q1.xlsx"
    with db_app.test_request_context("/"):
        build_pack(
            parse_period("2026Q1", TZ),
            out,
            ["config_backups", "upgrades"],
            lang="en",
            now=local("2026-04-02 09:00"),
        )
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[2:] == ["Configuration backup status", "Upgrade records"]
    assert _rows(book["Configuration backup status"]) == []
    assert "0 firmware upgrades, 0 done" in book["Upgrade records"]["A1"].value
