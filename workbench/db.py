"""Engine and per-request sessions (plain SQLAlchemy, no Flask-SQLAlchemy)."""

from __future__ import annotations

import atexit
import weakref
from pathlib import Path
from typing import Any

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from sqlalchemy import Engine
from sqlalchemy import create_engine
from sqlalchemy import event
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker



def database_url(app: Flask) -> str:
    """Return the configured database URL (SQLite in the instance folder by default)."""
    url = app.config.get("DATABASE_URL")
    if url:
        return str(url)
    return "sqlite:///" + str(Path(app.instance_path) / "workbench.sqlite3")


#: The most bytes SQLite's write-ahead log keeps after a checkpoint (8 MB).
WAL_SIZE_LIMIT = 8 * 1024 * 1024


def make_engine(url: str) -> Engine:
    """Create an engine; on SQLite turn on WAL, foreign keys and a busy timeout."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            # SQLite checkpoints the log after every 1000 pages written, but
            # never shrinks the file: without a limit a large import leaves
            # a log of its own size behind.  With one, the first write after
            # a checkpoint truncates the log to this size.
            cur.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            cur.close()

        # When the last connection closes, SQLite checkpoints and deletes
        # the log; so close them all when the process exits (Ctrl+C on
        # ``workbench serve``, the end of a command, a gunicorn worker).
        atexit.register(_dispose_at_exit, weakref.ref(engine))
        return engine
    return create_engine(url, pool_pre_ping=True)


def _dispose_at_exit(ref: weakref.ref[Engine]) -> None:
    """Close the pooled connections of an engine that still exists."""
    engine = ref()
    if engine is not None:
        engine.dispose()


def init_app(app: Flask) -> None:
    """Create the engine and sessionmaker and close sessions at teardown."""
    use_database(app, database_url(app))
    # One Session per request: close it when the request ends (a test client
    # may reuse one app context for several requests), and at the end of any
    # other app context (CLI commands).
    app.teardown_request(close_session)
    app.teardown_appcontext(close_session)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(InterfaceError, _database_unavailable)


#: What a request hears while the database cannot be reached (or stays locked past the busy timeout).
UNAVAILABLE = "the database is unavailable or busy; nothing was lost, try again in a moment"


def _database_unavailable(exc: Exception) -> Any:
    """Answer 503 with ``Retry-After`` when the database is gone or busy, instead of a 500.

    The browser's outbox keeps unsaved ops and retries a 503 with back-off.
    """
    from flask import url_for

    current_app.logger.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.close()
        except Exception:  # noqa: BLE001 - the connection is gone already
            pass
    if request.path.startswith("/api/"):
        from workbench.api import error_response

        response = error_response(503, UNAVAILABLE)
    else:
        # Rendered without the context processors: Flask-Login's would ask the database who is logged in.
        html = current_app.jinja_env.get_template("errors/unavailable.html").render(
            message=UNAVAILABLE,
            stylesheet=url_for("static", filename="css/workbench.css"),
            retry=request.full_path if request.method == "GET" else "/",
        )
        response = current_app.make_response((html, 503))
    response.headers["Retry-After"] = "5"
    return response


def use_database(app: Flask, url: str) -> None:
    """Point ``app`` at the database ``url`` (replacing any engine it had)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    from workbench.records_keeper import Keeper

    old_keeper = app.extensions.get("workbench.records_keeper")
    if old_keeper is not None:
        old_keeper.stop()
    old = app.extensions.get("workbench.engine")
    if old is not None:
        old.dispose()
    engine = make_engine(url)
    maker = sessionmaker(engine, expire_on_commit=False)
    keeper = Keeper(engine, app.config.get("EXPORT_RECORDS", "background"))
    keeper.install(maker)
    app.extensions["workbench.engine"] = engine
    app.extensions["workbench.sessionmaker"] = maker
    app.extensions["workbench.records_keeper"] = keeper


def get_session() -> Session:
    """Return this app context's Session, creating it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["workbench.sessionmaker"]()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the app context's Session, rolling back anything uncommitted."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def records_keeper(app: Flask | None = None) -> Any:
    """Return the app's :class:`workbench.records_keeper.Keeper` (the current app's by default)."""
    return (app or current_app).extensions["workbench.records_keeper"]


def engine() -> Engine:
    """Return the current app's engine."""
    return current_app.extensions["workbench.engine"]
