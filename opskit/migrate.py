"""Schema migrations: the single Alembic tree in ``opskit/migrations``, driven from Python.

``opskit db upgrade`` and ``make run`` call ``upgrade()``; developers create a revision with
``opskit db revision -m "what changed"`` after editing models (autogenerate, then read it).
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, MetaData

from opskit.db import Base
from opskit.domains import DOMAINS

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: indexes a migration creates only where the database offers what they need (the syslog
#: search's pg_trgm indexes, migration 0018): not in the models, so autogenerate and the
#: models-vs-migrations test leave them out
OPTIONAL_INDEX_SUFFIX = "_trgm"


def include_object(obj: object, name: str | None, type_: str, *_args: object) -> bool:
    """Alembic's filter for comparing the models with a database: the optional indexes out."""
    return not (type_ == "index" and (name or "").endswith(OPTIONAL_INDEX_SUFFIX))


def import_models() -> MetaData:
    """Import every package's ``models`` module so ``Base.metadata`` knows all tables."""
    importlib.import_module("opskit.models")
    for name in DOMAINS:
        module = f"{name}.models"
        if importlib.util.find_spec(module) is not None:
            importlib.import_module(module)
    return Base.metadata


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for ``engine`` (alembic is loaded here, by the commands that
    migrate, not by every command: it costs ~0.4 s)."""
    from alembic.config import Config  # lazy: alembic costs ~0.4 s of every command's start

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command  # lazy: alembic costs ~0.4 s of every command's start

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command  # lazy: alembic costs ~0.4 s of every command's start

    command.downgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # lazy: alembic: ~0.4 s a start

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    from alembic.script import ScriptDirectory  # lazy: alembic costs ~0.4 s of a start

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def make_revision(engine: Engine, message: str) -> None:
    from alembic import command  # lazy: alembic costs ~0.4 s of every command's start

    command.revision(alembic_config(engine), message=message, autogenerate=True)
