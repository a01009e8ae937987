"""Readings in the JSON API on SQLite and PostgreSQL: raw and rolled-up values of one metric
over a time range, streamed; the bounds of a request; the metrics an asset reports."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, select

from monitors import rollups, stream
from monitors.models import Reading
from opskit import auth, clock, db
from opskit.models import User
from tests import factories

M = "ups.output.load_percent"


def _token(app: Flask, username: str = "viewer") -> dict[str, str]:
    with app.app_context():
        user = db.session().scalars(select(User).where(User.username == username)).one()
        token = auth.create_token(user, "test")
        db.session().commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seeded(db_app: Flask) -> dict[str, Any]:
    """Two UPSes with a load reading every 5 minutes over the last 3 days (UPS-B on lines 1
    and 2), a state reading, and the rollups of it all."""
    end = rollups.floor(clock.now(), 3600)
    start = end - timedelta(days=3)
    with db_app.test_request_context("/"):
        a = factories.asset("UPS-A", kind="ups")
        b = factories.asset("UPS-B", kind="ups")
        db.session().commit()
        rows = []
        for i in range(3 * 288):
            at = start + timedelta(minutes=5 * i)
            rows.append({"asset_id": a.id, "metric": M, "instance": "", "at": at, "value": i % 50})
            for line in ("1", "2"):
                value = 30.0 + int(line) + (i % 7) / 4
                rows.append(
                    {"asset_id": b.id, "metric": M, "instance": line, "at": at, "value": value}
                )
        rows.append(
            {
                "asset_id": a.id,
                "metric": "ups.output.source",
                "instance": "",
                "at": end - timedelta(minutes=1),
                "value": None,
                "text": "battery",
            }
        )
        db.session().execute(insert(Reading), rows)
        db.session().commit()
        rollups.run(now=end, since=start)
        return {"a": a.id, "b": b.id, "start": start, "end": end}


def _get(app: Flask, headers: dict[str, str], **query: Any) -> Any:
    return app.test_client().get("/api/v1/readings", query_string=query, headers=headers)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def test_raw_and_rollups_of_one_metric(db_app: Flask, seeded: dict[str, Any]) -> None:
    viewer = _token(db_app)
    end, a, b = seeded["end"], seeded["a"], seeded["b"]
    since = end - timedelta(hours=1)
    raw = _get(db_app, viewer, metric=M, asset_id=a, since=_iso(since), until=_iso(end))
    assert raw.status_code == 200 and raw.is_streamed
    body = raw.get_json()
    assert body["metric"] == M and body["unit"] == "%" and body["rollup"] == "raw"
    assert body["since"] == _iso(since) and body["until"] == _iso(end)
    assert body["label"]
    first = end - timedelta(hours=1)
    head = body["rows"][0]
    assert body["assets"] == {str(a): "UPS-A"}
    assert head == {
        "asset_id": a,
        "instance": "",
        "at": head["at"],
        "value": float((3 * 288 - 12) % 50),
    }
    assert head["at"] == first.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00")  # raw: as stored
    assert len(body["rows"]) == 12
    times = [datetime.fromisoformat(r["at"]) for r in body["rows"]]
    assert times == sorted(times) and all(t.utcoffset() == timedelta(0) for t in times)

    # every asset: UPS-B's two lines too; one instance only
    both = _get(db_app, viewer, metric=M, since=_iso(since), until=_iso(end), rollup="raw")
    tags = both.get_json()["assets"]
    assert tags == {str(a): "UPS-A", str(b): "UPS-B"}
    assert {(tags[str(r["asset_id"])], r["instance"]) for r in both.get_json()["rows"]} == {
        ("UPS-A", ""),
        ("UPS-B", "1"),
        ("UPS-B", "2"),
    }
    line = _get(db_app, viewer, metric=M, instance="2", since=_iso(since), until=_iso(end))
    assert {r["instance"] for r in line.get_json()["rows"]} == {"2"}

    # hourly rollups over the 3 days: 72 buckets of UPS-A, averages of 12 readings
    hourly = _get(
        db_app,
        viewer,
        metric=M,
        asset_id=a,
        since=_iso(seeded["start"]),
        until=_iso(end),
        rollup="hourly",
        stats="true",
    ).get_json()
    assert hourly["rollup"] == "hourly" and len(hourly["rows"]) == 72
    row = hourly["rows"][0]
    assert row["at"] == _iso(seeded["start"]) and row["count"] == 12
    assert row["min"] == 0.0 and row["max"] == 11.0 and row["value"] == pytest.approx(5.5)

    # 5-minute rollups, chosen by span (auto: 3 days is more than 2)
    five = _get(db_app, viewer, metric=M, asset_id=b, since=_iso(seeded["start"]), until=_iso(end))
    rows = five.get_json()["rows"]
    assert five.get_json()["rollup"] == "5min" and len(rows) == 2 * 3 * 288
    assert set(rows[0]) == {"asset_id", "instance", "at", "value"}  # no stats
    assert {(r["at"], r["instance"], r["value"]) for r in rows[:2]} == {
        (_iso(seeded["start"]), "1", 31.0),
        (_iso(seeded["start"]), "2", 32.0),
    }
    spread = _get(
        db_app,
        viewer,
        metric=M,
        asset_id=b,
        since=_iso(end - timedelta(hours=3)),
        until=_iso(end),
        rollup="5min",
        stats="1",
    ).get_json()["rows"]
    assert spread[-1]["count"] == 1 and spread[-1]["min"] == spread[-1]["max"]
    assert {r["asset_id"] for r in spread} == {b}


def test_streamed_in_pieces_a_chunk_at_a_time(
    db_app: Flask, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "CHUNK", 100)
    viewer = _token(db_app)
    since = seeded["end"] - timedelta(days=2)
    response = _get(db_app, viewer, metric=M, since=_iso(since), until=_iso(seeded["end"]))
    pieces = list(response.response)
    assert len(pieces) > 3 * 2 * 288 // 100  # head, a piece per chunk, tail
    body = json.loads(b"".join(p if isinstance(p, bytes) else p.encode() for p in pieces))
    assert len(body["rows"]) == 3 * 2 * 288


def test_bounds_and_bad_filters(db_app: Flask, seeded: dict[str, Any]) -> None:
    viewer = _token(db_app)
    now = clock.now()

    def fields(**query: Any) -> set[str]:
        response = _get(db_app, viewer, **query)
        assert response.status_code == 422, response.get_data(as_text=True)
        return set(response.get_json()["fields"])

    assert fields(metric=M, rollup="raw", since=_iso(now - timedelta(days=8))) == {"since"}
    assert fields(metric=M, since=_iso(now - timedelta(days=50 * 365))) == {"since"}
    assert fields(metric=M, rollup="5min", since=_iso(now - timedelta(days=200))) == {"since"}
    assert fields(metric=M, since=_iso(now), until=_iso(now - timedelta(hours=1))) == {"until"}
    assert fields(metric="ups.coffee_level") == {"metric"}
    assert fields(metric=M, rollup="weekly", colour="red") == {"rollup", "colour"}
    assert fields(metric=M, since="2026-01-01T00:00:00") == {"since"}  # no time zone
    assert fields(metric=M, asset_id=999_999) == {"asset_id"}
    assert fields() == {"metric"}
    # the longest allowed spans are served
    longest = {"since": _iso(now - timedelta(days=731)), "until": _iso(now)}
    ok = _get(db_app, viewer, metric=M, rollup="hourly", **longest)
    assert ok.status_code == 200
    assert _get(db_app, {}, metric=M).status_code == 401


def test_the_metrics_an_asset_reports(db_app: Flask, seeded: dict[str, Any]) -> None:
    viewer = _token(db_app)
    client = db_app.test_client()
    a = client.get(f"/api/v1/assets/{seeded['a']}/metrics", headers=viewer).get_json()
    assert a["asset_tag"] == "UPS-A"
    assert [(m["metric"], m["instance"], m["kind"]) for m in a["items"]] == [
        (M, "", "gauge"),
        ("ups.output.source", "", "state"),
    ]
    source = a["items"][1]
    assert source["text"] == "battery" and source["value"] is None
    assert datetime.fromisoformat(source["at"]) == seeded["end"] - timedelta(minutes=1)
    b = client.get(f"/api/v1/assets/{seeded['b']}/metrics", headers=viewer).get_json()
    assert [(m["instance"], m["unit"]) for m in b["items"]] == [("1", "%"), ("2", "%")]
    missing = client.get("/api/v1/assets/999999/metrics", headers=viewer)
    assert missing.status_code == 404


def _columns_as_rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The chunks' columns turned back into one object per value."""
    out: list[dict[str, Any]] = []
    for chunk in body["chunks"]:
        names = list(chunk)
        lengths = {len(chunk[name]) for name in names}
        assert len(lengths) == 1 and lengths != {0}, lengths  # equal, non-empty columns
        out += [
            dict(zip(names, values, strict=True)) for values in zip(*chunk.values(), strict=True)
        ]
    return out


@pytest.mark.parametrize(
    ("rollup", "days", "stats"),
    [("raw", 1, False), ("5min", 3, True), ("hourly", 3, True), ("hourly", 3, False)],
)
def test_columns_hold_the_rows_values_in_their_order(
    db_app: Flask,
    seeded: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    rollup: str,
    days: int,
    stats: bool,
) -> None:
    monkeypatch.setattr(stream, "CHUNK", 500)  # several chunks
    viewer = _token(db_app)
    query = {
        "metric": M,
        "since": _iso(seeded["end"] - timedelta(days=days)),
        "until": _iso(seeded["end"]),
        "rollup": rollup,
        "stats": str(stats).lower(),
    }
    rows = _get(db_app, viewer, **query)
    by_rows = rows.get_json()  # read whole: its stream holds the request until then
    columns = _get(db_app, viewer, layout="columns", **query)
    assert rows.status_code == columns.status_code == 200 and columns.is_streamed
    by_columns = columns.get_json()
    assert by_rows.pop("layout") == "rows" and by_columns.pop("layout") == "columns"
    values = _columns_as_rows(by_columns)
    chunks = by_columns.pop("chunks")
    assert by_rows.pop("rows") == values  # same numbers, same times, same order
    assert by_rows == by_columns  # metric, label, unit, rollup, since, until, assets
    assert len(values) == {"raw": 3 * 288, "5min": 3 * 3 * 288, "hourly": 3 * 72}[rollup]
    assert len(chunks) == -(-len(values) // 500)  # one chunk per chunk read from the database
    assert set(chunks[0]) == {"asset_id", "instance", "at", "value"} | (
        {"min", "max", "count"} if stats and rollup != "raw" else set()
    )
    assert by_columns["assets"] == {str(seeded["a"]): "UPS-A", str(seeded["b"]): "UPS-B"}


def test_columns_of_nothing(db_app: Flask, seeded: dict[str, Any]) -> None:
    viewer = _token(db_app)
    since = seeded["start"] - timedelta(days=2)
    empty = _get(
        db_app, viewer, metric=M, since=_iso(since), until=_iso(seeded["start"]), layout="columns"
    )
    assert empty.status_code == 200
    body = empty.get_json()
    assert (body["layout"], body["chunks"], body["assets"]) == ("columns", [], {})
    wrong = _get(db_app, viewer, metric=M, layout="table")
    assert wrong.status_code == 422 and set(wrong.get_json()["fields"]) == {"layout"}
