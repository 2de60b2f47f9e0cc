"""Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from workbench import migrate
from workbench.models import Base


def test_migrated_database_matches_the_models(app):
    engine = app.extensions["workbench.engine"]
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_head_constant_matches_the_migrations(app):
    engine = app.extensions["workbench.engine"]
    assert migrate.HEAD_REVISION == migrate.head_revision(engine), "update migrate.HEAD_REVISION"
    assert migrate.is_current(engine)


def test_upgrade_is_idempotent(app):
    engine = app.extensions["workbench.engine"]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
