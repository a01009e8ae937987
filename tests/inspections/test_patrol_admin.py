"""Checklist management (YAML added by admins, limit overrides in the database) and plan admin."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from inspections import limits, services
from inspections.limits import LimitOverride
from inspections.models import PatrolPlan
from opskit import db
from opskit.audit import acting_as
from tests import factories
from tests.conftest import csrf_token, login

GOOD_YAML = """\
title: 蓄电池室
title_en: Battery room
items:
  - key: room_temperature
    label: 室温
    kind: reading
    unit: °C
    normal: [15, 30]
    critical: {high: 35}
  - key: hydrogen_alarm
    label: 氢气报警器无报警
    kind: check
"""


def post(client, path: str, data: dict | None = None, **kwargs):
    token = csrf_token(client, "/patrol/admin/checklists")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


def relogin(client, name: str) -> None:
    client.post("/logout", data={"csrf_token": csrf_token(client, "/patrol/admin/checklists")})
    login(client, name)


def test_admin_adds_replaces_and_removes_checklists(client, app) -> None:
    folder = Path(app.instance_path) / "checklists"
    login(client, "admin")
    broken = GOOD_YAML.replace("    unit: °C\n", "")
    response = post(client, "/patrol/admin/checklists", {"key": "battery_room", "yaml": broken})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'data-field="yaml"' in page
    assert "battery_room.yaml: item room_temperature.unit" in page  # names file, item, field
    assert "hydrogen_alarm" in page  # what was typed is still there
    assert not (folder / "battery_room.yaml").exists()
    bad_key = post(client, "/patrol/admin/checklists", {"key": "Battery Room", "yaml": GOOD_YAML})
    assert bad_key.status_code == 400 and 'data-field="key"' in bad_key.get_data(as_text=True)

    saved = post(client, "/patrol/admin/checklists", {"key": "battery_room", "yaml": GOOD_YAML})
    assert saved.status_code == 303
    assert (folder / "battery_room.yaml").read_text(encoding="utf-8") == GOOD_YAML
    listing = client.get("/patrol/admin/checklists").get_data(as_text=True)
    assert 'data-checklist="battery_room"' in listing and "为本站点添加" in listing
    detail = client.get("/patrol/admin/checklists/battery_room").get_data(as_text=True)
    assert "室温" in detail and "15–30°C" in detail and "&gt; 35°C" in detail
    assert 'href="/patrol/trends?item=battery_room.room_temperature"' in detail

    # an uploaded file named like a shipped checklist replaces it; removing it restores it
    ups = (
        "title: UPS（本站）\nitems:\n  - key: load_percent\n    label: 负载\n"
        "    kind: reading\n    unit: '%'\n    normal: [0, 60]\n"
    )
    upload = post(
        client,
        "/patrol/admin/checklists",
        {"key": "", "yaml": "", "file": (io.BytesIO(ups.encode()), "ups.yaml")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 303
    listing = client.get("/patrol/admin/checklists").get_data(as_text=True)
    assert "UPS（本站）" in listing and "替换内置检查表" in listing
    assert post(client, "/patrol/admin/checklists/ups/file/delete").status_code == 303
    assert not (folder / "ups.yaml").exists()
    assert "UPS（本站）" not in client.get("/patrol/admin/checklists").get_data(as_text=True)

    # a broken file dropped by hand is reported, naming the file and the field
    (folder / "dropped.yaml").write_text(
        "title: x\nitems:\n  - key: a\n    label: A\n    kind: dial\n"
    )
    listing = client.get("/patrol/admin/checklists").get_data(as_text=True)
    assert 'id="checklist-load-errors"' in listing
    assert "dropped.yaml: item a.kind: unknown kind" in listing

    relogin(client, "engineer")
    refused = post(client, "/patrol/admin/checklists", {"key": "x_list", "yaml": GOOD_YAML})
    assert refused.status_code == 403
    assert 'id="checklist-form"' not in client.get("/patrol/admin/checklists").get_data(
        as_text=True
    )


def test_overrides_are_stored_validated_and_used(db_app, db_client) -> None:
    with db_app.app_context():
        rack = factories.rack("总部", "A机房", "A01")
        sensor = factories.asset("ENV-01", kind="sensor", rack=rack)
        db.session().commit()
        room_id, site_id, asset_id = rack.room_id, rack.room.site_id, sensor.id
    login(db_client, "admin")
    path = "/patrol/admin/checklists/room_environment/overrides"
    base = {"item": "cold_aisle_temperature"}
    # warning 25 lies inside the normal range 18–27: refused, input kept, field named
    bad = post(
        db_client,
        path,
        {**base, "scope": "room", "room_id": str(room_id), "warning_high": "25", "note": "北区"},
    )
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert 'data-field="warning_high"' in page and 'value="25"' in page and 'value="北区"' in page
    not_number = post(
        db_client, path, {**base, "scope": "room", "room_id": str(room_id), "normal_max": "abc"}
    )
    assert 'data-field="normal_max"' in not_number.get_data(as_text=True)
    unknown_tag = post(db_client, path, {**base, "scope": "asset", "asset_tag": "NOPE"})
    assert 'data-field="asset_tag"' in unknown_tag.get_data(as_text=True)

    ok = post(
        db_client,
        path,
        {**base, "scope": "room", "room_id": str(room_id), "warning_high": "29", "note": "北区"},
    )
    assert ok.status_code == 303
    site = post(
        db_client, path, {**base, "scope": "site", "site_id": str(site_id), "normal_max": "26"}
    )
    assert site.status_code == 303
    asset = post(
        db_client,
        path,
        {**base, "scope": "asset", "asset_tag": "ENV-01", "critical_high": "none"},
    )
    assert asset.status_code == 303
    with db_app.app_context():
        rows = db.session().scalars(select(LimitOverride).order_by(LimitOverride.scope)).all()
        assert [(r.scope, r.target_id, r.limits) for r in rows] == [
            ("asset", asset_id, {"critical": {"high": None}}),
            ("room", room_id, {"warning": {"high": 29.0}}),
            ("site", site_id, {"normal": {"max": 26.0}}),
        ]
        checklist = limits.site_checklists().checklists["room_environment"]
        item = checklist.item("cold_aisle_temperature")
        at_room = limits.limits_for("room_environment", item, room_id=room_id)
        assert (at_room.normal_max, at_room.warning_high, at_room.critical_high) == (26, 29, 32)
        at_asset = limits.limits_for("room_environment", item, asset_id=asset_id)
        assert (at_asset.normal_max, at_asset.warning_high, at_asset.critical_high) == (
            26,
            29,
            None,
        )
    # a round in the room judges with them: 28 °C is above the site's normal 26 but not above
    # the room's warning 29 (without overrides it would be a warning: above 27)
    with db_app.test_request_context("/"), acting_as("engineer"):
        services.start_round("p2-override-1", room_id=room_id, checklist_keys=["room_environment"])
        answer = services.save_answer(
            "p2-override-1",
            {
                "target": "room",
                "checklist": "room_environment",
                "item": "cold_aisle_temperature",
                "value": "28",
            },
        )
        assert (answer.level, answer.code) == ("ok", "outside_normal")
    detail = db_client.get("/patrol/admin/checklists/room_environment").get_data(as_text=True)
    assert 'data-override="cold_aisle_temperature-room-' in detail and "北区" in detail
    edit = db_client.get(
        "/patrol/admin/checklists/room_environment"
        f"?item=cold_aisle_temperature&scope=asset&target={asset_id}"
    ).get_data(as_text=True)
    assert 'id="critical_high" name="critical_high" value="none"' in edit
    assert 'value="ENV-01"' in edit and 'id="scope-asset" value="asset" checked' in edit
    # a room override that clashes with the site's (critical 25 is inside the site's normal
    # range up to 26) is refused, naming the clash
    clash = post(
        db_client,
        path,
        {**base, "scope": "room", "room_id": str(room_id), "critical_high": "25"},
    )
    assert clash.status_code == 400
    assert 'data-field="critical_high"' in clash.get_data(as_text=True)
    # all fields blank: the override is removed
    removed = post(db_client, path, {**base, "scope": "asset", "asset_tag": "ENV-01"})
    assert removed.status_code == 303
    with db_app.app_context():
        left = {r.scope for r in db.session().scalars(select(LimitOverride))}
        assert left == {"site", "room"}
    relogin(db_client, "supervisor")
    assert (
        post(db_client, path, {**base, "scope": "site", "site_id": str(site_id)}).status_code == 403
    )


def test_plans_are_created_and_edited_by_supervisors(db_app, db_client) -> None:
    with db_app.app_context():
        rack = factories.rack("总部", "A机房", "A01")
        db.session().commit()
        room_id = rack.room_id
    login(db_client, "supervisor")
    form = {
        "name": "A机房日常巡检",
        "where": f"room:{room_id}",
        "checklist_keys": [],
        "schedule_times": "09:00, 9点",
        "grace_minutes": "90",
        "enabled": "1",
    }
    bad = post(db_client, "/patrol/admin/plans/new", form)
    assert bad.status_code == 400
    page = bad.get_data(as_text=True)
    assert 'data-field="checklist_keys"' in page and 'data-field="schedule_times"' in page
    assert 'value="A机房日常巡检"' in page and 'value="09:00, 9点"' in page
    assert f'value="room:{room_id}" selected' in page
    form.update(checklist_keys=["room_environment", "ups"], schedule_times="15:00, 09:00")
    assert post(db_client, "/patrol/admin/plans/new", form).status_code == 303
    with db_app.app_context():
        plan = db.session().scalars(select(PatrolPlan)).one()
        assert (plan.room_id, plan.checklist_keys, plan.schedule_times, plan.grace_minutes) == (
            room_id,
            ["room_environment", "ups"],
            ["09:00", "15:00"],
            90,
        )
        plan_id = plan.id
    edit = db_client.get(f"/patrol/admin/plans/{plan_id}").get_data(as_text=True)
    assert 'id="cl-ups" value="ups" autocomplete="off" checked' in edit
    form.update(checklist_keys=["room_environment"], enabled="")
    form.pop("enabled")
    assert post(db_client, f"/patrol/admin/plans/{plan_id}", form).status_code == 303
    with db_app.app_context():
        plan = db.session().get(PatrolPlan, plan_id)
        assert plan.checklist_keys == ["room_environment"] and plan.enabled is False
    listing = db_client.get("/patrol/admin/plans").get_data(as_text=True)
    assert "A机房日常巡检" in listing and "09:00, 15:00" in listing and "已暂停" in listing
    # a checklist added for the site cannot be removed while a plan uses it
    relogin(db_client, "admin")
    saved = post(db_client, "/patrol/admin/checklists", {"key": "battery_room", "yaml": GOOD_YAML})
    assert saved.status_code == 303
    form.update(checklist_keys=["room_environment", "battery_room"])
    relogin(db_client, "supervisor")
    assert post(db_client, f"/patrol/admin/plans/{plan_id}", form).status_code == 303
    relogin(db_client, "admin")
    refused = post(db_client, "/patrol/admin/checklists/battery_room/file/delete")
    assert "A机房日常巡检" in db_client.get(refused.headers["Location"]).get_data(as_text=True)
    assert (Path(db_app.instance_path) / "checklists" / "battery_room.yaml").exists()
    relogin(db_client, "engineer")
    assert db_client.get("/patrol/admin/plans/new").status_code == 403
    assert "A机房日常巡检" in db_client.get("/patrol/admin/plans").get_data(as_text=True)
