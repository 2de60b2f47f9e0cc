"""``workbench demo``: a fresh instance with a sample project, articles and users."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from workbench import migrate
from workbench.db import close_session
from workbench.db import get_session
from workbench.db import use_database
from workbench.services import importing
from workbench.services import projects
from workbench.services import users

DATA = Path(__file__).parent / "demo_data"

#: (user name, password, role): printed by the command and shown on the login page.
LOGINS = [
    ("admin", "admin-demo-pass", "admin"),
    ("curator", "curator-demo-pass", "curator"),
    ("annotator", "annotator-demo-pass", "annotator"),
    ("annotator2", "annotator2-demo-pass", "annotator"),
]


def setup(app: Flask) -> list[tuple[str, str, str]]:
    """Create the demo database afresh in the instance folder and fill it.

    The demo lives in its own file (``demo.sqlite3``), so it never touches an
    instance's real database.
    """
    path = Path(app.instance_path) / "demo.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    close_session()
    use_database(app, f"sqlite:///{path}")
    migrate.upgrade(app.extensions["workbench.engine"])
    session = get_session()
    project = projects.create_project(
        session,
        "news",
        description="Sample news articles: tag entities, claims, cues and who said what.",
        guidelines=(DATA / "guidelines.md").read_text(encoding="utf-8"),
    )
    for name, password, role in LOGINS:
        user = users.create_user(session, name, role, password, hash_method=app.config["PASSWORD_HASH_METHOD"])
        projects.add_member(session, project, user)
    importing.import_paths(session, project, sorted(DATA.glob("*.txt")), fmt="text")
    session.commit()
    app.config["DEMO_LOGINS"] = LOGINS
    return LOGINS
