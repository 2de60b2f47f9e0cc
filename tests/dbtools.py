"""Helpers for tests that build their own app or database: the PostgreSQL test server, the test app.

Test modules import them with ``from dbtools import ...`` (as they import
``factories``); ``conftest`` is not importable by name, since the browser
tests have a ``conftest`` of their own.
"""

from __future__ import annotations

import os
from pathlib import Path

from factories import FAST_HASH

from workbench import create_app
from workbench.db import make_engine
from workbench.models import Base

PG_ADMIN_URL = os.environ.get("WORKBENCH_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def truncate_postgres(url: str) -> None:
    """Empty every table, first ending any connection an earlier test left open.

    A connection left idle in a transaction (a leaked session, a streamed
    response never read to its end) would otherwise hold its locks and make
    TRUNCATE wait for ever.
    """
    eng = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        conn.exec_driver_sql("SET LOCAL lock_timeout = '20s'")
        conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    eng.dispose()


def make_test_app(database_url: str, instance_path: Path, **overrides: object):
    """Build the app for tests on ``database_url``: CSRF off unless ``overrides`` turn it on."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "WTF_CSRF_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "PASSWORD_HASH_METHOD": FAST_HASH,
        # The lines of changed layers are built by the export (tests of the keeper turn it on).
        "EXPORT_RECORDS": "off",
        **overrides,
    }
    application = create_app(config)
    application.instance_path = str(instance_path)
    return application
