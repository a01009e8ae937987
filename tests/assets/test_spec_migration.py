"""Migration 0020 moves specs written under other spellings onto the vocabulary's keys, on
SQLite and PostgreSQL: rows written at 0019 as the demo and people wrote them, read back."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import text

from opskit import migrate
from tests.test_migrations import empty_engine  # noqa: F401  (the fixture: both databases)

pytestmark = pytest.mark.dateless

BEFORE = "0019_patrol_recurrence"
WRITTEN: dict[str, dict[str, Any]] = {
    "DEMO-1": {"CPU": "2 x Xeon Gold 6330", "内存": "512 GB", "硬盘": "4 x 1.92 TB SSD"},
    "OLD-1": {"cpu": "2x Xeon", "memory_gb": 256, "disks": "2x 600GB", "firmware": "BIOS 1.8"},
    "API-1": {"cpu": "2x Xeon", "ram_gb": 256, "role": "数据库"},
    "FORM-1": {"CPU": "2x Xeon", "内存": "256G", "核数": "32 核", "固件": "2.1", "电源": "2x800W"},
    "ODD-1": {"内存": "512G DDR4", "Memory": "1 TB", "raid": "RAID5"},
    "BOTH-1": {"CPU": "E5-2680", "cpu_model": "Xeon 6330", "Firmware": "iBMC 3.1"},
    "NONE-1": {},
}
EXPECTED: dict[str, dict[str, Any]] = {
    "DEMO-1": {"cpu_model": "2 x Xeon Gold 6330", "memory_gb": 512, "disks": "4 x 1.92 TB SSD"},
    "OLD-1": {
        "cpu_model": "2x Xeon",
        "memory_gb": 256,
        "disks": "2x 600GB",
        "firmware": "BIOS 1.8",
    },
    "API-1": {"cpu_model": "2x Xeon", "memory_gb": 256, "role": "数据库"},
    "FORM-1": {
        "cpu_model": "2x Xeon",
        "cpu_cores": 32,
        "memory_gb": 256,
        "firmware": "2.1",
        "电源": "2x800W",
    },
    # 512G DDR4 cannot be read as GB: kept as written; 1 TB can
    "ODD-1": {"memory_gb": 1024, "内存": "512G DDR4", "raid": "RAID5"},
    # the vocabulary's own spelling wins; the other CPU stays under its name
    "BOTH-1": {"cpu_model": "Xeon 6330", "firmware": "iBMC 3.1", "CPU": "E5-2680"},
    "NONE-1": {},
}


def _specs(engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT asset_tag, specs FROM asset")).all()
    return {tag: json.loads(specs) if isinstance(specs, str) else specs for tag, specs in rows}


def test_specs_move_onto_the_vocabulary(empty_engine) -> None:  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    at = datetime(2026, 11, 1, 8, 0)
    with empty_engine.begin() as conn:
        for tag, specs in WRITTEN.items():
            conn.execute(
                text(
                    "INSERT INTO asset (asset_tag, name, kind, vendor, model, serial, status, "
                    "importance, owner, contact, u_height, support_level, specs, notes, "
                    "created_at, updated_at) VALUES (:tag, :tag, 'server', '', '', '', "
                    "'in_service', 'general', '', '', 1, '', :specs, '', :at, :at)"
                ),
                {"tag": tag, "specs": json.dumps(specs, ensure_ascii=False), "at": at},
            )
    migrate.upgrade(empty_engine, "0020_spec_vocabulary")
    after = _specs(empty_engine)
    assert after == EXPECTED
    assert list(after["FORM-1"]) == list(EXPECTED["FORM-1"])  # the vocabulary's order first
    migrate.downgrade(empty_engine, BEFORE)  # cpu_model back to cpu, the rest stays
    back = _specs(empty_engine)
    assert back["DEMO-1"] == {
        "cpu": "2 x Xeon Gold 6330",
        "memory_gb": 512,
        "disks": "4 x 1.92 TB SSD",
    }
    assert back["BOTH-1"] == {"cpu": "Xeon 6330", "firmware": "iBMC 3.1", "CPU": "E5-2680"}
    assert back["API-1"] == {"cpu": "2x Xeon", "memory_gb": 256, "role": "数据库"}
