"""Run Alembic migrations on an engine (``workbench db upgrade``).

Alembic is imported only when a migration runs: a server whose database is
already current never loads it (it costs start-up time and memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy import inspect
from sqlalchemy import text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
#: The newest revision in migrations/versions; tests/test_migrations.py checks
#: that it matches Alembic's own view, so a new migration must update it.
HEAD_REVISION = "0009"


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic config that runs on ``engine``'s connections."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    """Return the database's revision, or None for an empty database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision(engine: Engine) -> str | None:
    """Return the newest revision Alembic finds in migrations/versions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    """Tell whether the database is at the newest revision (without loading Alembic)."""
    return current_revision(engine) == HEAD_REVISION
