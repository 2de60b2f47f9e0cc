"""``workbench demo``: a fresh instance with a sample project, articles and users."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from workbench import migrate
from workbench.db import close_session
from workbench.db import get_session
from workbench.db import use_database
from workbench.services import assignment
from workbench.services import importing
from workbench.services import projects
from workbench.services import users

DATA = Path(__file__).parent / "demo_data"

MARKER = "demo-instance"

#: (user name, password, role): printed by the command and shown on the login page.
LOGINS = [
    ("admin", "admin-demo-pass", "admin"),
    ("curator", "curator-demo-pass", "curator"),
    ("annotator", "annotator-demo-pass", "annotator"),
    ("annotator2", "annotator2-demo-pass", "annotator"),
]


class DemoRefused(Exception):
    """The instance folder holds a real database; the demo will not replace it."""


def setup(app: Flask) -> list[tuple[str, str, str]]:
    """Create the instance's SQLite database afresh and fill it with the demo.

    The demo is an ordinary instance (``workbench.sqlite3`` in the instance
    folder), so every other command (``workbench export news ...``) works on
    it as it is.  A marker file tells a demo database from a real one: a real
    database is never replaced.

    :raise DemoRefused: the instance folder holds a database the demo did not make.
    """
    folder = Path(app.instance_path)
    path = folder / "workbench.sqlite3"
    marker = folder / MARKER
    if path.exists() and not marker.exists():
        raise DemoRefused(
            f"{path} holds a database that is not a demo; run the demo in another folder "
            "(WORKBENCH_INSTANCE=/tmp/workbench-demo workbench demo)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    marker.write_text("This instance was made by `workbench demo`, which may replace it.\n", encoding="utf-8")
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
    # Two annotators on every article, from the queue: the demo shows agreement between them.
    assignment.update_settings(session, project, {"annotators_per_document": 2, "assignment": "queue"})
    for name, password, role in LOGINS:
        user = users.create_user(session, name, role, password, hash_method=app.config["PASSWORD_HASH_METHOD"])
        projects.add_member(session, project, user)
    importing.import_paths(session, project, sorted(DATA.glob("*.txt")), fmt="text")
    session.commit()
    app.config["DEMO_LOGINS"] = LOGINS
    return LOGINS
