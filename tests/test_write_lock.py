"""A write transaction (SQLite's write lock) is taken only after the login and CSRF checks pass,
so a password-guessing loop or a forged POST never holds up another annotator's save."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from apiclient import Api
from apiclient import csrf_token
from factories import PASSWORD
from factories import make_user

from dbtools import make_test_app
from workbench.services import users as user_service


@pytest.fixture
def sqlite_app(tmp_path: Path, sqlite_template: Path):
    """The app with CSRF on, on a SQLite file of its own (the write lock is SQLite's)."""
    path = tmp_path / "lock.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    application = make_test_app(f"sqlite:///{path}", tmp_path / "instance", WTF_CSRF_ENABLED=True)
    application.config["DB_PATH"] = path
    yield application
    application.extensions["workbench.engine"].dispose()


def _lock_is_free(path: Path) -> bool:
    """Tell whether another connection could take the write lock right now."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def test_a_failed_login_checks_the_password_without_the_write_lock(sqlite_app, monkeypatch):
    session = sqlite_app.extensions["workbench.sessionmaker"]()
    make_user(session, "ana")
    session.close()
    seen: list[bool] = []
    real_check = user_service.check_password_hash

    def check_and_look(stored: str, password: str) -> bool:
        seen.append(_lock_is_free(sqlite_app.config["DB_PATH"]))
        return real_check(stored, password)

    monkeypatch.setattr(user_service, "check_password_hash", check_and_look)
    client = Api(sqlite_app)
    token = csrf_token(client.get("/login").get_data(as_text=True))
    failed = client.post("/login", data={"username": "ana", "password": "wrong-guess-000", "csrf_token": token})
    assert failed.status_code == 200
    ok = client.post("/login", data={"username": "ana", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302
    assert seen == [True, True]


def test_a_post_failing_csrf_does_not_wait_for_the_write_lock(sqlite_app):
    holder = sqlite3.connect(sqlite_app.config["DB_PATH"], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another annotator's long save
    try:
        started = time.monotonic()
        response = Api(sqlite_app).post("/login", data={"username": "ana", "password": "whatever-1234"})
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert response.status_code == 400
    assert elapsed < 5
