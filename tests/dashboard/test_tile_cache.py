"""Dashboard tiles are reused for a few seconds per site and language (#13, finding 6): twenty
wall screens refreshing together cost one set of tile queries, and a change shows once the
tile is older than ``OPSKIT_DASHBOARD_CACHE_S``."""

from __future__ import annotations

import contextvars
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import event, update

from opskit import clock, dashboard, db
from opskit.models import User
from tests.conftest import _fresh_database_url, login, make_test_app
from tests.dashboard.seed import seed

TTL = 5
_in_tile: contextvars.ContextVar[str | None] = contextvars.ContextVar("in_tile", default=None)


@pytest.fixture
def cached_app(
    request: pytest.FixtureRequest, tmp_path: Path, persona_hashes: dict[str, str]
) -> Iterator[Flask]:
    url = _fresh_database_url("sqlite", request, tmp_path)
    app = make_test_app(url, tmp_path / "instance", persona_hashes, DASHBOARD_CACHE_S=TTL)
    yield app
    app.extensions["opskit.engine"].dispose()


@pytest.fixture
def tile_statements(cached_app: Flask, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement a tile builder runs, as ``<tile>: <sql>``."""
    seen: list[str] = []
    for t in dashboard.TILES.values():

        def counted(site_id, _build=t.build, _name=t.name):
            token = _in_tile.set(_name)
            try:
                return _build(site_id)
            finally:
                _in_tile.reset(token)

        monkeypatch.setattr(t, "build", counted)

    def before(_conn, _cursor, statement, *_args) -> None:
        if _in_tile.get() is not None:
            seen.append(f"{_in_tile.get()}: {statement}")

    engine = cached_app.extensions["opskit.engine"]
    event.listen(engine, "before_cursor_execute", before)
    yield seen
    event.remove(engine, "before_cursor_execute", before)


def _a_count(html: str) -> int:
    found = re.search(r'data-urgency="A">\s*A <span[^>]*data-count>(\d+)<', html)
    assert found, html[:2000]
    return int(found.group(1))


def test_wall_screens_within_the_ttl_cost_one_build_and_a_change_shows_after_it(
    cached_app: Flask, tile_statements: list[str]
) -> None:
    with cached_app.app_context():
        seed()
    screens = []
    for persona in ("viewer", "engineer", "admin"):  # the role does not change a tile
        client = cached_app.test_client()
        login(client, persona)
        screens.append(client)
    start = clock.now()
    with clock.frozen(start):
        first = screens[0].get("/kiosk")
        assert first.status_code == 200
        one_build = len(tile_statements)
        assert one_build >= len(dashboard.TILES)  # every tile read the database
        built = {s.split(":")[0] for s in tile_statements}
        assert built == set(dashboard.TILES)
        for _ in range(7):  # 21 more page loads and tile refreshes from three screens
            for client in screens:
                page = client.get("/kiosk")
                assert page.status_code == 200  # the kept rows render without their session
                assert _a_count(page.get_data(as_text=True)) == 1
                assert client.get("/tiles/alerts").status_code == 200
        assert len(tile_statements) == one_build

        # a second A alert arrives: within the TTL the screens still show the kept tile
        with cached_app.test_request_context("/"):
            from opskit.alerts import services as alerts

            alerts.raise_alert(
                "test:second", source="manual", rule="manual", urgency="A", message="第二个告警"
            )
            db.session().commit()
    with clock.frozen(start + timedelta(seconds=TTL - 1)):
        assert _a_count(screens[1].get("/kiosk").get_data(as_text=True)) == 1
        assert len(tile_statements) == one_build
    with clock.frozen(start + timedelta(seconds=TTL)):
        assert _a_count(screens[1].get("/kiosk").get_data(as_text=True)) == 2
        rebuilt = len(tile_statements)
        assert rebuilt > one_build
        assert _a_count(screens[2].get("/kiosk").get_data(as_text=True)) == 2
        assert len(tile_statements) == rebuilt


def test_tiles_are_kept_per_language_and_per_site(
    cached_app: Flask, tile_statements: list[str]
) -> None:
    with cached_app.app_context():
        seed()
        db.session().execute(update(User).where(User.username == "admin").values(locale="en"))
        db.session().commit()
    chinese = cached_app.test_client()
    login(chinese, "viewer")
    english = cached_app.test_client()
    login(english, "admin")
    with clock.frozen(clock.now()):
        assert "今日巡检" in chinese.get("/tiles/patrol").get_data(as_text=True)
        after_chinese = len(tile_statements)
        page = english.get("/tiles/patrol").get_data(as_text=True)
        assert "Due today" in page and "今日巡检" not in page
        after_english = len(tile_statements)
        assert after_english > after_chinese  # its own build, in English
        english.get("/tiles/patrol")
        chinese.get("/tiles/patrol")
        assert len(tile_statements) == after_english
        # another site (here: one that shows the same rows) is another build
        with cached_app.app_context():
            from assets import services

            site, _ = services.get_or_create_site("分部")
            db.session().commit()
            site_id = site.id
        chinese.get(f"/tiles/patrol?site={site_id}")
        assert len(tile_statements) > after_english


def test_one_request_builds_a_tile_and_the_others_do_not_queue_behind_a_rebuild() -> None:
    """A missing tile: built once, the others wait for it. An expired one: rebuilt by the
    request that finds it so, while those arriving meanwhile get the kept one."""
    import threading

    cache = dashboard.TileCache()
    start = clock.now()
    release = threading.Event()
    builds: list[int] = []
    got: dict[str, dict] = {}

    def slow(value: int):
        def build() -> dict:
            builds.append(value)
            release.wait(10)
            return {"v": value}

        return build

    def ask(name: str, value: int) -> None:
        got[name] = cache.get("tile", TTL, slow(value))

    with clock.frozen(start):
        first = threading.Thread(target=ask, args=("first", 1))
        second = threading.Thread(target=ask, args=("second", 2))
        first.start()
        while not builds:
            time.sleep(0.01)
        second.start()  # waits for the first build: there is nothing to show yet
        time.sleep(0.1)
        assert "second" not in got
        release.set()
        first.join(5)
        second.join(5)
        assert builds == [1] and got == {"first": {"v": 1}, "second": {"v": 1}}

    release.clear()
    with clock.frozen(start + timedelta(seconds=TTL)):
        rebuild = threading.Thread(target=ask, args=("rebuild", 3))
        rebuild.start()
        while len(builds) < 2:
            time.sleep(0.01)
        assert cache.get("tile", TTL, slow(4)) == {"v": 1}  # the kept one, at once
        release.set()
        rebuild.join(5)
        assert got["rebuild"] == {"v": 3} and builds == [1, 3]
        assert cache.get("tile", TTL, slow(5)) == {"v": 3}
