"""Migrations build the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from opskit import migrate
from opskit.db import make_engine
from tests.conftest import BACKENDS, POSTGRES_URL

# the schema, upgraded and downgraded
pytestmark = pytest.mark.dateless


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path):
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"opskit_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    engine = make_engine(f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}")
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_upgrade_empty_database_to_head_matches_models(empty_engine) -> None:
    migrate.upgrade(empty_engine)
    assert migrate.current_revision(empty_engine) == migrate.head_revision(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert {"user_account", "api_token", "login_attempt", "audit_log"} <= tables
    metadata = migrate.import_models()
    with empty_engine.connect() as conn:
        opts = {"compare_type": True, "include_object": migrate.include_object}
        context = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(context, metadata)
    assert diff == [], f"models and migrations differ; run `opskit db revision`: {diff}"


def test_downgrade_to_base_and_up_again(empty_engine) -> None:
    migrate.upgrade(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(empty_engine)
    assert "user_account" in inspect(empty_engine).get_table_names()


def test_single_head(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    heads = ScriptDirectory.from_config(migrate.alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}; merge them"
    engine.dispose()
    shutil.rmtree(tmp_path, ignore_errors=True)
