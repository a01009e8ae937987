"""Migration 0019 gives every existing patrol plan a daily recurrence and keeps its times, on
SQLite and PostgreSQL (#17); downgrading drops the column and keeps the plans."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import inspect, text

from opskit import migrate
from tests.test_migrations import empty_engine  # noqa: F401  (the fixture, both backends)

pytestmark = pytest.mark.dateless

BEFORE = "0018_syslog_text_trgm"


def test_existing_plans_become_daily_with_their_times(empty_engine) -> None:  # noqa: F811
    migrate.upgrade(empty_engine, BEFORE)
    with empty_engine.begin() as conn:
        for name, times in (
            ("一号机房日常巡检", ["09:00", "15:00"]),
            ("机柜告警灯周检", ["16:30"]),
        ):
            conn.execute(
                text(
                    "INSERT INTO patrol_plan (name, checklist_keys, asset_kinds, schedule_times,"
                    " grace_minutes, enabled, notes, created_at) VALUES (:name, :keys, :kinds,"
                    " :times, 120, :on, '', '2026-01-01 00:00:00')"
                ),
                {
                    "name": name,
                    "keys": json.dumps(["room_environment"]),
                    "kinds": "[]",
                    "times": json.dumps(times),
                    "on": True,
                },
            )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name, schedule_times, recurrence FROM patrol_plan ORDER BY id")
        ).all()
    got = [(n, _json(t), _json(r)) for n, t, r in rows]
    assert got == [
        ("一号机房日常巡检", ["09:00", "15:00"], {"freq": "daily"}),
        ("机柜告警灯周检", ["16:30"], {"freq": "daily"}),
    ]
    column = next(
        c for c in inspect(empty_engine).get_columns("patrol_plan") if c["name"] == "recurrence"
    )
    assert column["nullable"] is False
    migrate.downgrade(empty_engine, BEFORE)
    columns = {c["name"] for c in inspect(empty_engine).get_columns("patrol_plan")}
    assert "recurrence" not in columns and "schedule_times" in columns
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM patrol_plan")).scalar() == 2


def _json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value
