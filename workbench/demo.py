"""``workbench demo``: an instance with a sample project, articles, users and some submitted work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from workbench import migrate
from workbench.db import close_session
from workbench.db import get_session
from workbench.db import use_database
from workbench.models import Project
from workbench.services import annotation
from workbench.services import assignment
from workbench.services import documents
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
    # Sample annotators whose submitted work on two articles feeds the agreement and adjudication pages.
    ("lena", "lena-demo-pass", "annotator"),
    ("omar", "omar-demo-pass", "annotator"),
]


class DemoRefused(Exception):
    """The instance folder holds a real database; the demo will not replace it."""


def setup(app: Flask, *, reset: bool = False) -> tuple[list[tuple[str, str, str]], bool]:
    """Open the demo instance, or make it (afresh with ``reset``); return the logins and whether it is new.

    The demo is an ordinary instance (``workbench.sqlite3`` in the instance
    folder), so every other command (``workbench export news ...``) works on
    it as it is.  An existing demo instance is kept, with whatever the team
    did in it; ``reset`` starts afresh.  A marker file tells a demo database
    from a real one: a real database is never replaced.

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
    close_session()
    app.config["DEMO_LOGINS"] = LOGINS
    if path.exists() and not reset:
        use_database(app, f"sqlite:///{path}")
        migrate.upgrade(app.extensions["workbench.engine"])
        return LOGINS, False
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    marker.write_text("This instance was made by `workbench demo`, which may replace it.\n", encoding="utf-8")
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
    _sample_work(session, project)
    session.commit()
    return LOGINS, True


def _find(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """Return the code-point offsets of the ``nth`` occurrence of ``needle`` in ``text``."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    return start, start + len(needle)


def _sample_work(session: Session, project: Project) -> None:
    """Store the sample annotators' submitted layers (demo_data/sample-annotations.json) through the annotation service."""
    data: dict[str, Any] = json.loads((DATA / "sample-annotations.json").read_text(encoding="utf-8"))
    for external_id, people in data.items():
        if external_id.startswith("_"):
            continue
        document = documents.get_document_by_external_id(session, project, external_id)
        assert document is not None, external_id
        for name, work in people.items():
            user = users.require_user(session, name)
            ops: list[dict[str, Any]] = []
            for uid, label, needle, *nth in work.get("spans", []):
                start, end = _find(document.text, needle, nth[0] if nth else 0)
                ops.append({"op": "span.create", "id": uid, "label": label, "start": start, "end": end, "text": needle})
            for uid, rtype, head, tail in work.get("relations", []):
                ops.append({"op": "relation.create", "id": uid, "type": rtype, "head": head, "tail": tail})
            for uid, source, cue, content, attrs, *parent in work.get("attributions", []):
                op = {"op": "attribution.create", "id": uid, "source": source, "cue": cue, "content": content, "attrs": attrs}
                if parent:
                    op["parent"] = parent[0]
                ops.append(op)
            layer = annotation.open_annotator_layer(session, user, document)
            annotation.apply_ops(session, user, layer.id, layer.version, "demo-sample", ops)
            annotation.set_status(session, user, layer.id, "submitted")
