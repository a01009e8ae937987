"""Patrol round services on SQLite and PostgreSQL: idempotent starts and submissions, findings
raising alerts, approval making a round read-only, photo checks, the day's slots."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import func, select

from inspections import queries, services
from inspections.models import PatrolAnswer, PatrolFinding, PatrolPhoto, PatrolRound
from opskit import db
from opskit.alerts.models import Alert
from opskit.audit import acting_as
from opskit.validation import ValidationFailed
from tests import factories

NORMAL = {  # a normal answer for every required item kind of room_environment
    "cold_aisle_temperature": "23.5",
    "cold_aisle_humidity": "48",
    "hot_aisle_temperature": "33",
    "no_water_leak": "pass",
    "no_smell_or_noise": "pass",
    "lighting": "pass",
    "cleanliness": "clean",
}


def answers(**changes: Any) -> list[dict[str, Any]]:
    values = {**NORMAL, **changes}
    return [
        {"target": "room", "checklist": "room_environment", "item": k, "value": v}
        for k, v in values.items()
    ]


def count(model: Any) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def room_id(db_app: Flask) -> int:
    with db_app.app_context():
        rack = factories.rack()
        db.session().commit()
        return rack.room_id


def test_submit_twice_stores_one_round_and_findings_raise_alerts(db_app, room_id) -> None:
    with db_app.test_request_context("/"), acting_as("engineer"):
        patrol = services.start_round(
            "round-0001", room_id=room_id, checklist_keys=["room_environment"]
        )
        again = services.start_round(
            "round-0001", room_id=room_id, checklist_keys=["room_environment"]
        )
        assert again.id == patrol.id
        payload = {
            "answers": answers(cold_aisle_temperature="30.5", no_water_leak="fail"),
            "signature_name": "张工",
        }
        payload["answers"][0]["note"] = "北侧冷通道温度偏高"
        payload["answers"][3]["note"] = "空调下方有积水"
        first = services.submit_round("round-0001", payload)
        second = services.submit_round("round-0001", payload)
        assert first.id == second.id == patrol.id
        assert first.status == "submitted" and first.signature_name == "张工"
        assert count(PatrolRound) == 1
        assert count(PatrolAnswer) == len(NORMAL)
        findings = db.session().scalars(select(PatrolFinding).order_by(PatrolFinding.id)).all()
        assert [(f.answer.item_key, f.level, f.urgency) for f in findings] == [
            ("cold_aisle_temperature", "warning", "C"),
            ("no_water_leak", "critical", "B"),
        ]
        alerts = db.session().scalars(select(Alert).order_by(Alert.id)).all()
        assert [(a.source, a.urgency, a.room_id, a.status) for a in alerts] == [
            ("patrol", "C", room_id, "firing"),
            ("patrol", "B", room_id, "firing"),
        ]
        assert findings[0].alert_id == alerts[0].id
        assert "30.5°C" in alerts[0].message and "北侧冷通道温度偏高" in alerts[0].message
        assert "冷通道温度" in alerts[0].message

        # closing a finding says what was done and resolves its alert
        with pytest.raises(ValidationFailed) as refused:
            services.close_finding(findings[0], "  ")
        assert "note" in refused.value.errors
        findings[0] = services.close_finding(findings[0], "调整空调设定温度，复测 24 °C")
        db.session().refresh(alerts[0])
        assert alerts[0].status == "resolved"
        assert alerts[0].resolution_note == "调整空调设定温度，复测 24 °C"
        assert [f.answer.item_key for f in queries.open_findings()] == ["no_water_leak"]


def test_submit_creates_an_offline_started_round_and_refusal_keeps_answers(db_app, room_id) -> None:
    with db_app.test_request_context("/"), acting_as("engineer"):
        payload = {
            "room_id": room_id,
            "checklist_keys": ["room_environment"],
            "started_at": "2026-11-26T09:02:00+08:00",
            "answers": answers(cold_aisle_temperature="35"),  # critical, no note
            "signature_name": "张工",
        }
        with pytest.raises(ValidationFailed) as refused:
            services.submit_round("offline-round-1", payload)
        assert list(refused.value.errors) == ["room/room_environment/cold_aisle_temperature"]
        patrol = queries.find_round("offline-round-1")
        assert patrol is not None and patrol.status == "draft"
        assert patrol.started_at == datetime(2026, 11, 26, 1, 2, tzinfo=UTC)
        assert count(PatrolAnswer) == len(NORMAL)  # nothing typed is lost
        assert count(Alert) == 0

        payload["answers"][0]["note"] = "空调停机"
        del payload["signature_name"]
        with pytest.raises(ValidationFailed) as unsigned:
            services.submit_round("offline-round-1", payload)
        assert list(unsigned.value.errors) == ["signature"]
        payload["signature_name"] = "张工"
        submitted = services.submit_round("offline-round-1", payload)
        assert submitted.status == "submitted"
        finding = submitted.findings[0]
        assert (finding.level, finding.urgency) == ("critical", "B")  # critical_urgency


def test_late_saves_never_overwrite_newer_answers(db_app, room_id) -> None:
    with db_app.test_request_context("/"), acting_as("engineer"):
        services.start_round("round-late", room_id=room_id, checklist_keys=["room_environment"])
        base = {"target": "room", "checklist": "room_environment", "item": "cold_aisle_temperature"}
        services.save_answer(
            "round-late", {**base, "value": "24", "answered_at": "2026-11-26T09:10:00+08:00"}
        )
        stale = services.save_answer(
            "round-late", {**base, "value": "22", "answered_at": "2026-11-26T09:05:00+08:00"}
        )
        assert (stale.value, stale.number, stale.level) == ("24", 24.0, "ok")
        with pytest.raises(ValidationFailed) as bad:
            services.save_answer("round-late", {**base, "item": "nope", "value": "1"})
        assert "item" in bad.value.errors
        with pytest.raises(ValidationFailed) as wrong_target:
            services.save_answer("round-late", {**base, "target": "asset:999", "value": "1"})
        assert "target" in wrong_target.value.errors


def test_approved_round_is_read_only(db_app, room_id) -> None:
    with db_app.test_request_context("/"), acting_as("engineer"):
        services.start_round("round-appr", room_id=room_id, checklist_keys=["room_environment"])
        with pytest.raises(ValidationFailed):
            services.approve_round(queries.find_round("round-appr"), "ok")  # still a draft
        patrol = services.submit_round(
            "round-appr", {"answers": answers(), "signature_name": "张工"}
        )
        db.session().commit()  # services flush, their caller commits
    with db_app.test_request_context("/"), acting_as("supervisor"):
        patrol = services.approve_round(patrol, "已复核")
        assert (patrol.status, patrol.reviewer, patrol.review_comment) == (
            "approved",
            "supervisor",
            "已复核",
        )
        assert patrol.approved_at is not None and patrol.read_only
        with pytest.raises(ValidationFailed) as refused:
            services.save_answer("round-appr", answers(cold_aisle_temperature="40")[0])
        assert "只读" in str(refused.value)
        with pytest.raises(ValidationFailed):
            services.approve_round(patrol, "again")
        with pytest.raises(ValidationFailed):
            services.save_photo(
                "round-appr",
                "photo-0001",
                png(),
                "image/png",
                target="room",
                checklist="room_environment",
                item="cold_aisle_temperature",
            )
        # a resubmission of an approved round changes nothing
        services.submit_round(
            "round-appr", {"answers": answers(cold_aisle_temperature="40"), "signature_name": "x"}
        )
        value = db.session().scalar(
            select(PatrolAnswer.value).where(PatrolAnswer.item_key == "cold_aisle_temperature")
        )
        assert value == "23.5" and patrol.status == "approved"


def test_photo_checks_resize_and_idempotent_upload(db_app, room_id) -> None:
    db_app.config["PATROL_PHOTO_MAX_BYTES"] = 200_000
    with db_app.test_request_context("/"), acting_as("engineer"):
        services.start_round("round-foto", room_id=room_id, checklist_keys=["room_environment"])
        where = {
            "target": "room",
            "checklist": "room_environment",
            "item": "cold_aisle_temperature",
        }
        cases = [
            (b"GIF89a....", "image/gif", "必须是 JPEG、PNG 或 WebP"),
            (b"", "image/png", "照片为空"),
            (b"not an image at all", "image/jpeg", "不是可读取的图片"),
            (b"\0" * 300_000, "image/png", "上限为 0.2 MB"),
        ]
        for content, kind, message in cases:
            with pytest.raises(ValidationFailed) as refused:
                services.save_photo("round-foto", "photo-bad-1", content, kind, **where)
            assert message in str(refused.value), (kind, str(refused.value))
        big = io.BytesIO()
        Image.linear_gradient("L").resize((3000, 2000)).convert("RGB").save(big, "JPEG")
        assert len(big.getvalue()) < 200_000
        photo = services.save_photo(
            "round-foto", "photo-good-1", big.getvalue(), "image/jpeg", **where
        )
        again = services.save_photo(
            "round-foto", "photo-good-1", big.getvalue(), "image/jpeg", **where
        )
        assert again.id == photo.id and count(PatrolPhoto) == 1
        assert (photo.width, photo.height) == (1600, 1067)
        stored = queries.photo_file(photo)
        assert stored.is_file() and "patrol-photos" in str(stored)
        assert "static" not in str(stored)
        with Image.open(stored) as image:
            assert image.format == "JPEG" and image.size == (1600, 1067)
        # the photo came before the reading: the answer exists, empty, and keeps the photo
        answer = photo.answer
        assert answer is not None and answer.value == ""
        saved = services.save_answer("round-foto", {**where, "value": "31", "note": "偏高"})
        assert saved.id == answer.id and saved.level == "warning" and len(saved.photos) == 1
        submitted = answers(cold_aisle_temperature="31")
        submitted[0]["note"] = "偏高"
        patrol = services.submit_round(
            "round-foto", {"answers": submitted, "signature_name": "张工"}
        )
        assert [len(f.photos) for f in patrol.findings] == [1]


def test_rounds_for_day_states_and_monitored_prefill(db_app, room_id) -> None:
    from monitors.models import Reading

    with db_app.test_request_context("/"), acting_as("admin"):
        from assets.models import Room

        room = db.session().get(Room, room_id)
        sensor = factories.asset("ENV-01", kind="sensor", room=room)
        polled = db.utcnow().replace(microsecond=0) - timedelta(minutes=5)
        stale = polled - timedelta(hours=3)
        db.session().add_all(
            [
                Reading(asset_id=sensor.id, metric="env.temperature_c", at=polled, value=22.0),
                # too old to offer as the current humidity
                Reading(asset_id=sensor.id, metric="env.humidity_percent", at=stale, value=50.0),
            ]
        )
        plan = services.save_plan(
            {
                "name": "A机房日常巡检",
                "room_id": room_id,
                "checklist_keys": "room_environment",
                "schedule_times": "15:00, 09:00",
                "grace_minutes": 60,
            }
        )
        db.session().commit()
        assert plan.schedule_times == ["09:00", "15:00"]
        with pytest.raises(ValidationFailed) as bad:
            services.save_plan(
                {
                    "name": "x",
                    "room_id": room_id,
                    "checklist_keys": ["nope"],
                    "schedule_times": "9h",
                }
            )
        assert set(bad.value.errors) == {"checklist_keys", "schedule_times"}
    day = date(2026, 11, 26)
    nine = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
    with db_app.test_request_context("/"), acting_as("engineer"):
        now = datetime(2026, 11, 26, 2, 30, tzinfo=UTC)  # 10:30 local
        slots = queries.rounds_for_day(day, now=now)
        assert [(s.scheduled_for, s.state) for s in slots] == [
            (nine, "overdue"),
            (nine + timedelta(hours=6), "due"),
        ]
        assert {s.room_name for s in slots} == {"A机房"}
        services.start_round("round-nine", plan_id=plan.id, room_id=room_id, scheduled_for=nine)
        states = [s.state for s in queries.rounds_for_day(day, now=now)]
        assert states == ["in_progress", "due"]
        detail = queries.round_detail(queries.find_round("round-nine"))
        temp = next(i for i in detail.targets[0].items if i[0].key == "cold_aisle_temperature")
        assert temp[2] == (22.0, polled)
        humidity = next(i for i in detail.targets[0].items if i[0].key == "cold_aisle_humidity")
        assert humidity[2] is None
        assert (detail.answered, detail.total) == (0, 8)
        saved = services.save_answer(
            "round-nine",
            {
                "target": "room",
                "checklist": "room_environment",
                "item": "cold_aisle_temperature",
                "value": "25",
            },
        )
        assert (saved.monitored_value, saved.disagrees) == (22.0, True)  # tolerance 1.5
        services.submit_round("round-nine", {"answers": answers(), "signature_name": "张工"})
        assert [s.state for s in queries.rounds_for_day(day, now=now)] == ["done", "due"]
        series = queries.item_series(
            "room_environment",
            "cold_aisle_temperature",
            datetime(2000, 1, 1, tzinfo=UTC),
            db.utcnow() + timedelta(days=1),
        )
        assert [p.value for p in series] == [23.5]


def test_same_submission_raced_from_threads_is_stored_once(db_app, room_id) -> None:
    import threading

    payload = {
        "room_id": room_id,
        "checklist_keys": ["room_environment"],
        "answers": answers(no_water_leak="fail"),
        "signature_name": "张工",
    }
    payload["answers"][3]["note"] = "空调冷凝水管滴水"
    barrier = threading.Barrier(6)
    results: list[str] = []

    def tablet() -> None:
        with db_app.test_request_context("/"), acting_as("engineer"):
            barrier.wait(timeout=30)
            try:
                # the caller's one write transaction (retried on a unique-key race)
                patrol = db.write(lambda: services.submit_round("race-round-01", payload))
                results.append(patrol.status)
            except Exception as exc:  # collected: the assertion below shows it
                results.append(repr(exc))

    threads = [threading.Thread(target=tablet) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == ["submitted"] * 6
    with db_app.test_request_context("/"):
        assert count(PatrolRound) == 1
        assert count(PatrolAnswer) == len(NORMAL)
        assert count(PatrolFinding) == 1
        alert = db.session().scalar(select(Alert))
        assert (alert.count, alert.urgency, alert.source) == (1, "B", "patrol")


def test_plan_patrols_the_rooms_assets_by_kind_and_findings_name_the_asset(db_app, room_id) -> None:
    from assets.models import Room

    with db_app.test_request_context("/"), acting_as("admin"):
        room = db.session().get(Room, room_id)
        ups_b = factories.asset("UPS-B", kind="ups", name="UPS 2", room=room)
        ups_a = factories.asset("UPS-A", kind="ups", name="UPS 1", room=room)
        factories.asset("UPS-OLD", kind="ups", room=room, status="retired")
        factories.asset("SRV-1", kind="server", room=room)
        plan = services.save_plan(
            {
                "name": "UPS 巡检",
                "room_id": room_id,
                "checklist_keys": ["ups", "fire_security"],
                "schedule_times": ["09:00"],
            }
        )
        db.session().commit()
    with db_app.test_request_context("/"), acting_as("engineer"):
        patrol = services.start_round("plan-round-1", plan_id=plan.id)
        assert [(t["checklist"], t["asset_id"]) for t in patrol.targets] == [
            ("ups", ups_a.id),
            ("ups", ups_b.id),
            ("fire_security", None),
        ]
        assert patrol.room_id == room_id and patrol.plan_id == plan.id
        saved = services.save_answer(
            "plan-round-1",
            {
                "target": f"asset:{ups_b.id}",
                "checklist": "ups",
                "item": "load_percent",
                "value": "93",
                "note": "负载过高",
            },
        )
        assert (saved.asset_id, saved.level) == (ups_b.id, "critical")
        detail = queries.round_detail(patrol)
        assert [t.label for t in detail.targets] == ["UPS 1 (UPS-A)", "UPS 2 (UPS-B)", ""]
        assert detail.answered == 1
        with pytest.raises(ValidationFailed) as refused:
            services.submit_round("plan-round-1", {"signature_name": "张工"})
        assert f"asset:{ups_a.id}/ups/load_percent" in refused.value.errors
        assert f"asset:{ups_b.id}/ups/load_percent" not in refused.value.errors


def test_repeated_finding_shares_its_alert_until_both_are_closed(db_app, room_id) -> None:
    with db_app.test_request_context("/"), acting_as("engineer"):
        for n in (1, 2):
            submitted = answers(cleanliness="debris")
            submitted[6]["note"] = f"第 {n} 次：纸箱未清理"
            services.submit_round(
                f"repeat-round-{n}",
                {
                    "room_id": room_id,
                    "checklist_keys": ["room_environment"],
                    "answers": submitted,
                    "signature_name": "张工",
                },
            )
        first, second = db.session().scalars(select(PatrolFinding).order_by(PatrolFinding.id))
        assert first.alert_id == second.alert_id
        alert = db.session().get(Alert, first.alert_id)
        assert (alert.count, alert.status, alert.urgency) == (2, "firing", "C")
        services.close_finding(first, "已清理一部分")
        db.session().refresh(alert)
        assert alert.status == "firing"  # the second finding still stands
        services.close_finding(second, "全部清理完毕")
        db.session().refresh(alert)
        assert (alert.status, alert.resolution_note) == ("resolved", "全部清理完毕")
        with pytest.raises(ValidationFailed):
            services.close_finding(second, "again")


def test_rounds_for_day_reads_only_that_days_rounds_through_an_index(db_app, room_id) -> None:
    """The dashboard asks for today's rounds on every refresh: the two halves (scheduled slots,
    ad hoc rounds) each search an index (the scheduled one ix_patrol_round_scheduled_started),
    never a scan of every round kept."""
    from sqlalchemy import event, text

    day = date(2026, 11, 26)
    nine = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)  # 09:00 Asia/Shanghai
    with db_app.test_request_context("/"), acting_as("engineer"):
        plan = services.save_plan(
            {
                "name": "每日巡检",
                "room_id": room_id,
                "checklist_keys": "room_environment",
                "schedule_times": "09:00",
            }
        )
        db.session().commit()
        for cid, slot, began in [
            ("day-before-slot", nine - timedelta(days=1), nine - timedelta(days=1)),
            ("today-slot-0001", nine, nine + timedelta(minutes=5)),
            ("day-after-slot0", nine + timedelta(days=1), nine + timedelta(days=1)),
            # ad hoc: 23:30 local the day before, 08:00 local, 00:10 local the day after
            ("adhoc-before-01", None, datetime(2026, 11, 25, 15, 30, tzinfo=UTC)),
            ("adhoc-today-001", None, datetime(2026, 11, 26, 0, 0, tzinfo=UTC)),
            ("adhoc-after-001", None, datetime(2026, 11, 26, 16, 10, tzinfo=UTC)),
        ]:
            services.start_round(
                cid,
                room_id=room_id,
                plan_id=plan.id if slot else None,
                checklist_keys=None if slot else ["room_environment"],
                scheduled_for=slot,
                started_at=began,
            )
        db.session().commit()

        statements: list[tuple[str, Any]] = []

        def seen(conn, cursor, statement, parameters, context, executemany) -> None:
            if "FROM patrol_round" in statement and not statement.startswith("EXPLAIN"):
                statements.append((statement, parameters))

        engine = db.engine()
        event.listen(engine, "before_cursor_execute", seen)
        try:
            now = nine + timedelta(hours=1)
            slots = queries.rounds_for_day(day, now=now)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        assert [(s.plan is not None, s.round.client_id, s.state) for s in slots] == [
            (False, "adhoc-today-001", "in_progress"),
            (True, "today-slot-0001", "in_progress"),
        ]
        assert len(statements) == 2
        conn = db.session().connection()
        postgres = engine.dialect.name == "postgresql"
        if postgres:  # tiny tables: make the planner show whether an index can serve at all
            conn.execute(text("SET LOCAL enable_seqscan = off"))
        shown = [
            explain(conn, statement, parameters, postgres) for statement, parameters in statements
        ]
        assert "ix_patrol_round_scheduled_started" in shown[0], shown[0]
        for plan_text in shown:  # a range search in an index (the planner picks which one)
            assert "Seq Scan" not in plan_text and "SCAN patrol_round" not in plan_text, plan_text
            assert "Index Cond" in plan_text or "SEARCH patrol_round USING" in plan_text, plan_text


def explain(conn: Any, statement: str, parameters: Any, postgres: bool) -> str:
    prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    return "\n".join(str(r[-1]) for r in conn.exec_driver_sql(prefix + statement, parameters))
