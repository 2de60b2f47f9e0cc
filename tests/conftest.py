"""Fixtures: the app on SQLite and (when reachable, always in CI) PostgreSQL.

Tests seed and assert through the ``db`` fixture (an independent Session),
never through ``get_session()``, and commit seeds before making requests
(see docs/architecture.md on pytest-flask's shared app context).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from apiclient import Api
from sqlalchemy.orm import Session

from dbtools import IN_CI
from dbtools import PG_ADMIN_URL
from dbtools import make_test_app
from dbtools import truncate_postgres

from workbench import migrate
from workbench.db import make_engine



def _postgres_reachable() -> str | None:
    """Return why PostgreSQL cannot be used, or None when it can."""
    try:
        eng = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with eng.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        eng.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    why = _postgres_reachable()
    if why is not None:
        if IN_CI:
            pytest.fail(f"PostgreSQL must be reachable in CI at {PG_ADMIN_URL}: {why}")
        pytest.skip(f"PostgreSQL not reachable ({why})")
    name = f"wb_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    eng = make_engine(url)
    migrate.upgrade(eng)
    eng.dispose()
    yield url
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    eng = make_engine(f"sqlite:///{path}")
    migrate.upgrade(eng)
    with eng.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    eng.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The URL of an empty, migrated database: SQLite, then PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        path.write_bytes(sqlite_template.read_bytes())
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    truncate_postgres(url)
    return url


@pytest.fixture
def app(database_url: str, tmp_path: Path):
    """The app on a fresh database, CSRF off (see ``csrf_app`` for CSRF on)."""
    application = make_test_app(database_url, tmp_path / "instance")
    yield application
    application.extensions["workbench.engine"].dispose()


@pytest.fixture
def csrf_app(database_url: str, tmp_path: Path):
    """The app with CSRF protection on, as in production, on the same database as ``app``."""
    application = make_test_app(database_url, tmp_path / "instance-csrf", WTF_CSRF_ENABLED=True)
    yield application
    application.extensions["workbench.engine"].dispose()


@pytest.fixture
def api(app) -> Api:
    """Requests to the app, one app context each (see ``apiclient.Api``)."""
    return Api(app)


@pytest.fixture
def db(app) -> Iterator[Session]:
    """An independent Session on the app's database, for seeding and asserting."""
    session = app.extensions["workbench.sessionmaker"]()
    yield session
    session.close()


@pytest.fixture
def runner(app):
    """Flask's CLI runner for the app."""
    return app.test_cli_runner()


class AuthActions:
    """Log in and out through the real login form."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str = "annotator", password: str = "password-123"):
        return self._client.post("/login", data={"username": username, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)
