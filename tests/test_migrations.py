"""Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

import contextlib
import os

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from workbench import migrate
from workbench.models import Base


#: Indexes the migrations make that the models do not declare (expression indexes, which Alembic cannot compare).
EXPRESSION_INDEXES = {"postgresql": {"ix_documents_project_external_id_c"}, "sqlite": set()}


def test_migrated_database_matches_the_models(app):
    engine = app.extensions["workbench.engine"]
    expression_indexes = EXPRESSION_INDEXES[engine.dialect.name]

    def include(obj, name, type_, reflected, compare_to):  # noqa: ANN001, ANN202
        return not (type_ == "index" and name in expression_indexes)

    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "include_object": include}), Base.metadata
        )
        indexes = {index["name"] for index in inspect(conn).get_indexes("documents")}
    assert diff == [], f"models and migrations differ; add a migration: {diff}"
    assert expression_indexes <= indexes
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


def test_head_constant_matches_the_migrations(app):
    engine = app.extensions["workbench.engine"]
    assert migrate.HEAD_REVISION == migrate.head_revision(engine), "update migrate.HEAD_REVISION"
    assert migrate.is_current(engine)


def test_upgrade_is_idempotent(app):
    engine = app.extensions["workbench.engine"]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)


_ROWS_AT_0001 = [
    "INSERT INTO projects (id, name, description, label_schema, guidelines, created_at) VALUES (1, 'p', '', '{}', '', '2026-01-01')",
    "INSERT INTO users (id, username, password_hash, role, active, created_at) VALUES (1, 'ann', NULL, 'annotator', TRUE, '2026-01-01')",
    "INSERT INTO memberships (id, project_id, user_id, role) VALUES (1, 1, 1, 'annotator')",
    "INSERT INTO documents (id, project_id, external_id, title, text, text_sha256, meta, created_at) "
    "VALUES (1, 1, 'd', '', 'Ruth Pell told the Post.', 'x', '{}', '2026-01-01')",
    "INSERT INTO annotation_sets (id, document_id, kind, owner_key, user_id, status, status_note, version, created_at, updated_at) "
    "VALUES (1, 1, 'annotator', 'annotator:1', 1, 'submitted', '', 3, '2026-01-01', '2026-01-01')",
    "INSERT INTO spans (id, set_id, uid, label, start, \"end\", attrs) VALUES (1, 1, 'T1', 'PERSON', 0, 9, '{}')",
    "INSERT INTO spans (id, set_id, uid, label, start, \"end\", attrs) VALUES (2, 1, 'T2', 'CUE', 10, 14, '{}')",
    "INSERT INTO spans (id, set_id, uid, label, start, \"end\", attrs) VALUES (3, 1, 'T3', 'ORG', 15, 23, '{}')",
    "INSERT INTO relations (id, set_id, uid, type, head_id, tail_id, attrs) VALUES (1, 1, 'R1', 'member_of', 1, 3, '{}')",
    "INSERT INTO attributions (id, set_id, uid, source_id, cue_id, attrs) VALUES (1, 1, 'A1', 1, 2, '{}')",
    "INSERT INTO attribution_content (id, attribution_id, span_id, position) VALUES (1, 1, 3, 0)",
    "INSERT INTO changes (id, set_id, user_id, at, action, version, payload) VALUES (1, 1, 1, '2026-01-01', 'ops', 3, '{}')",
]
_COUNTED = ("users", "documents", "annotation_sets", "spans", "relations", "attributions", "attribution_content", "changes")


def _upgrade_populated_0001(url: str) -> dict[str, int]:
    from workbench.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        for statement in _ROWS_AT_0001:
            conn.exec_driver_sql(statement)
    migrate.upgrade(engine)
    with engine.connect() as conn:
        counts = {table: conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() for table in _COUNTED}
    assert migrate.current_revision(engine) == migrate.HEAD_REVISION
    engine.dispose()
    return counts


def test_upgrading_a_populated_sqlite_database_from_the_first_revision_keeps_everything(tmp_path):
    """Batch migrations copy and drop tables on SQLite; with foreign keys on, the drop used to cascade and delete every span."""
    counts = _upgrade_populated_0001(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    assert counts == {"users": 1, "documents": 1, "annotation_sets": 1, "spans": 3, "relations": 1, "attributions": 1,
                      "attribution_content": 1, "changes": 1}



@contextlib.contextmanager
def scratch_postgres(tag: str):
    """A PostgreSQL database of its own for one upgrade test (its URL), dropped afterwards."""
    import sqlalchemy as sa
    from dbtools import PG_ADMIN_URL

    name = f"wb_mig{tag}_{os.getpid()}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def test_upgrading_a_populated_postgresql_database_from_the_first_revision_keeps_everything(postgres_url):
    with scratch_postgres("0001") as url:
        counts = _upgrade_populated_0001(url)
        assert counts["spans"] == 3 and counts["attribution_content"] == 1 and counts["changes"] == 1


_EVENT_AT_0006 = (
    "INSERT INTO suggestion_events (id, project_id, document_id, user_id, source, key, label, action, at) "
    "VALUES (1, 1, 1, 1, 'model:m', 'span:PERSON:0:9', 'PERSON', 'accept', '2026-01-01')"
)


def _upgrade_0006_with_an_accept(url: str) -> tuple[list[tuple], list[dict]]:
    """An accept recorded at 0006 (no item) survives 0007 and still counts."""
    from sqlalchemy.orm import Session

    from workbench.db import make_engine
    from workbench.models import Project
    from workbench.services import suggestions

    engine = make_engine(url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        for statement in _ROWS_AT_0001:
            conn.exec_driver_sql(statement)
    migrate.upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.exec_driver_sql(_EVENT_AT_0006)
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.HEAD_REVISION
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.exec_driver_sql("SELECT id, key, action, item FROM suggestion_events").all()]
    with Session(engine) as session:
        rates = suggestions.acceptance(session, session.get(Project, 1))
    engine.dispose()
    return rows, rates


def test_upgrading_sqlite_from_0006_keeps_the_events_and_their_counts(tmp_path):
    rows, rates = _upgrade_0006_with_an_accept(f"sqlite:///{tmp_path / 'at0006.sqlite3'}")
    assert rows == [(1, "span:PERSON:0:9", "accept", None)]
    assert rates == [{"source": "model:m", "accepted": 1, "rejected": 0, "rate": 1.0}]


def test_upgrading_postgresql_from_0006_keeps_the_events_and_their_counts(postgres_url):
    with scratch_postgres("0006") as url:
        rows, rates = _upgrade_0006_with_an_accept(url)
        assert rows == [(1, "span:PERSON:0:9", "accept", None)]
        assert rates == [{"source": "model:m", "accepted": 1, "rejected": 0, "rate": 1.0}]
