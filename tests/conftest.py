"""Shared fixtures.

- ``app`` / ``client``: the app on a fresh SQLite database migrated to head (copied from a
  template migrated once per session).
- ``db_app``: the same on every database under test: SQLite, and PostgreSQL when
  ``OPSKIT_TEST_POSTGRES_URL`` is set (a private schema per session, tables emptied per test).
  Data-layer tests use it.
- An expensive fixture shared by one module's tests (a seeded demo site, an snmpsim agent, a
  wheel) is session-scoped, not module-scoped: xdist hands a worker the tests of other modules
  in between, and pytest tears a module fixture down at each switch and builds it again (the
  page walk's 38 s demo seed was built twice a run).
- ``demo_template``: the demo site (``opskit.demo.seed``) seeded once per pytest run, for all its
  workers (a file lock), into a folder the tests copy (``copy_demo``): the seed takes 10-40 s.
  Per run, not across runs: a shifted-clock run seeds its own at its own "now".
- personas: ``admin``, ``engineer``, ``supervisor``, ``viewer`` exist in every test database,
  each with password ``<name>-password-1``; ``login(client, "viewer")`` logs one in.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, insert, text
from werkzeug.security import generate_password_hash

from opskit import create_app, db, migrate
from opskit.config import Settings
from opskit.db import Base, make_engine
from opskit.models import SiteSetting, User
from tests import template_cache, url_builders

POSTGRES_URL = os.environ.get("OPSKIT_TEST_POSTGRES_URL", "").strip()
#: the instant the whole run takes as "now" (tools/shifted_clock.py sets it); empty: the real clock
TEST_NOW = os.environ.get("OPSKIT_TEST_NOW", "").strip()
PERSONAS = ("admin", "engineer", "supervisor", "viewer")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


def pytest_configure(config: pytest.Config) -> None:
    """Under ``OPSKIT_TEST_NOW`` every clock of this process starts there and ticks on. The
    apps of the run share their compiled URL builders (``tests.url_builders``)."""
    url_builders.install()
    if TEST_NOW:
        import time_machine

        at = datetime.fromisoformat(TEST_NOW)
        if at.tzinfo is None:
            raise pytest.UsageError(f"OPSKIT_TEST_NOW={TEST_NOW!r}: give a time zone, e.g. +00:00")
        time_machine.travel(at, tick=True).start()


#: Modules with single tests of 15-70 s (a demo in a subprocess, a fresh venv, a whole-site
#: walk, LibreOffice, Chromium), run first: xdist hands work out in collection order, and these
#: (mostly ``tests/test_*.py``, collected last) left one worker running the last of them alone.
HEAVY_FIRST = (
    "tests/test_packaging.py",
    "tests/test_demo.py",
    "tests/test_page_walk.py",
    "tests/test_reflected_input.py",
    "tests/browser/test_tablet_browser.py",
    "tests/reports/test_pdf.py",
    "tests/test_demo_seed.py",
    "tests/test_serve.py",
    "tests/test_relay.py",
    "tests/test_backup.py",
    "tests/browser/",
)


def _heavy_rank(item: pytest.Item) -> int:
    where = item.nodeid.split("::", 1)[0]
    return next((n for n, p in enumerate(HEAVY_FIRST) if where.startswith(p)), len(HEAVY_FIRST))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The heavy modules first (``HEAVY_FIRST``; the same order in every worker, as xdist
    requires), the rest as collected.

    ``--dist loadgroup`` under pytest 9.2: a worker names each test of an ``xdist_group``
    with the group (``...::test@group``), which is how the scheduler keeps a group on one
    worker. pytest-xdist 3.8 writes that name where pytest 9.2 no longer reads it (pytest-xdist
    #1386), so every group was spread over both workers and each worker built the group's
    session fixtures (the page walk's demo site and walk, the wheel, the SNMP agents). Named
    here where pytest 9.2 reads it, when xdist's own naming did not take."""
    items.sort(key=_heavy_rank)  # stable: within a rank, the collection's order
    if not hasattr(config, "workerinput") or not config.getvalue("loadgroup"):
        return
    try:
        from _pytest.nodeid import NodeId
    except ImportError:  # pytest before 9.2: xdist's naming works
        return
    for item in items:
        groups = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if groups and item.nodeid.rfind("@") <= item.nodeid.rfind("]"):
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(groups))}")  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _no_playwright_loop(request: pytest.FixtureRequest) -> Iterator[None]:
    """Outside the browser tests, no event loop is running in this thread.

    Playwright's sync API (1.65) marks its event loop as running in the test's thread between
    its calls, for as long as the session-wide Playwright lives; a test that later runs on the
    same worker and calls ``asyncio.run()`` (the poller, SNMP probes) would be refused. Such a
    test gets the thread without it, and Playwright gets its mark back afterwards.
    """
    loop = asyncio._get_running_loop()
    if loop is None or request.node.get_closest_marker("browser") is not None:
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        asyncio._set_running_loop(loop)


def persona_password(name: str) -> str:
    return f"{name}-password-1"


@pytest.fixture(scope="session")
def persona_hashes() -> dict[str, str]:
    """The personas' password hashes: PBKDF2 with few rounds, so a login costs the suite
    microseconds, not the 0.1 s of scrypt that opskit gives real passwords (``auth`` checks
    whatever method a stored hash names; tests of hashing make their own)."""
    return {
        name: generate_password_hash(persona_password(name), method="pbkdf2:sha256:1000")
        for name in PERSONAS
    }


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def _run_folder(config: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this pytest run that all its xdist workers share (each worker's temporary
    folder is in the one the run made)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if hasattr(config, "workerinput") else base


@pytest.fixture(scope="session")
def demo_template(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    persona_hashes: dict[str, str],
) -> Path:
    """A folder with the demo site seeded on a test database with the personas: ``opskit.db``,
    and ``instance/`` with the key its secrets are encrypted with. No poller runs on it: the
    SNMP port (16161) is never used."""
    shared = _run_folder(request.config, tmp_path_factory)
    folder = shared / "demo-template"
    with (shared / "demo-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the first worker seeds; the others wait, then copy
        if not (folder / "seeded").exists():
            from opskit.demo import seed

            shutil.rmtree(folder, ignore_errors=True)  # what a worker that failed left
            folder.mkdir()
            shutil.copyfile(sqlite_template, folder / "opskit.db")
            app = make_test_app(
                f"sqlite:///{folder / 'opskit.db'}", folder / "instance", persona_hashes
            )
            with app.app_context():
                seed.seed(snmp_port=16161)
            app.extensions["opskit.engine"].dispose()
            (folder / "seeded").touch()
    return folder


def demo_app(
    tmp_path_factory: pytest.TempPathFactory, template: Path, name: str
) -> Iterator[Flask]:
    """An app on a copy of the demo template in a folder of its own (``yield from`` it in a
    module's fixture); its engine disposed at the end."""
    folder = tmp_path_factory.mktemp(name)
    app = make_test_app(copy_demo(template, folder), folder / "instance", None)
    yield app
    app.extensions["opskit.engine"].dispose()


def demo_seeded_at() -> datetime:
    """The demo seed's "now": when its marker (the ``demo`` site setting) was written."""
    marker = db.session().get(SiteSetting, "demo")
    assert marker is not None
    return datetime.fromisoformat(json.loads(marker.value)["created_at"])


def copy_demo(template: Path, folder: Path) -> str:
    """The demo template copied into ``folder``; returns the copy's database URL (its instance
    is ``folder / "instance"``: ``make_test_app(url, folder / "instance", None)``)."""
    shutil.copyfile(template / "opskit.db", folder / "opskit.db")
    shutil.copytree(template / "instance", folder / "instance")
    return f"sqlite:///{folder / 'opskit.db'}"


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A private schema in the PostgreSQL test database, migrated to head once."""
    schema = f"opskit_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _fresh_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "opskit.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_schema_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(_empty_postgres()))
    engine.dispose()
    return url


def _empty_postgres() -> str:
    """Every table emptied (children first) and every sequence back to 1, in one round trip: a
    test leaves a few rows, which DELETE removes in ~5 ms where TRUNCATE of the 55 tables took
    0.3 s of each PostgreSQL test's setup. (Built when called: the domains' models are all
    imported by then.)"""
    return "; ".join(
        [
            *(f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)),
            "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'S' AND n.nspname = current_schema()",
        ]
    )


def make_test_app(
    database_url: str, instance: Path, hashes: dict[str, str] | None, **config
) -> Flask:
    """The app on ``database_url``, with the personas added (``hashes``) unless the database
    already has them (``None``: a copy of a database a test app made)."""
    settings = Settings(
        instance_path=instance,
        database_url=database_url,
        secret_key="test-secret-key",
    )
    app = create_app({"TESTING": True, **config}, settings=settings)
    template_cache.share(app)
    if hashes is None:
        return app
    with app.app_context():
        from opskit import db

        sess = db.session()
        sess.execute(
            insert(User),
            [
                {
                    "username": name,
                    "display_name": name.title(),
                    "role": name,
                    "password_hash": hashes[name],
                    "active": True,
                }
                for name in PERSONAS
            ],
        )
        sess.commit()
    return app


def _build_app(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, hashes: dict[str, str]
) -> Iterator[Flask]:
    url = _fresh_database_url(backend, request, tmp_path)
    app = make_test_app(url, tmp_path / "instance", hashes)
    yield app
    app.extensions["opskit.engine"].dispose()


@pytest.fixture
def app(
    request: pytest.FixtureRequest, tmp_path: Path, persona_hashes: dict[str, str]
) -> Iterator[Flask]:
    yield from _build_app("sqlite", request, tmp_path, persona_hashes)


@pytest.fixture(params=BACKENDS)
def db_app(
    request: pytest.FixtureRequest, tmp_path: Path, persona_hashes: dict[str, str]
) -> Iterator[Flask]:
    yield from _build_app(request.param, request, tmp_path, persona_hashes)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def db_client(db_app: Flask) -> FlaskClient:
    return db_app.test_client()


CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page like a browser would."""
    response = client.get(path)
    match = CSRF_RE.search(response.get_data(as_text=True))
    assert match, f"no csrf token on {path} (status {response.status_code})"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str | None = None):
    token = csrf_token(client)
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": username,
            "password": password or persona_password(username),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def post_form(client: FlaskClient, path: str, data: dict | None = None, **kwargs):
    """POST like the browser: with the CSRF token of the client's session (read from My
    account, every role's lightest page: the dashboard's queries took 60-300 ms a post)."""
    token = csrf_token(client, "/account")
    return client.post(path, data={"csrf_token": token, **(data or {})}, **kwargs)


@pytest.fixture
def login_as():
    return login


def head_revision() -> str:
    """The newest migration, so tests need no edit when a migration is added."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(migrate.MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head
    return head
