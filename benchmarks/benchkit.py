"""What the benchmarks that serve the app share: invented text, a fresh instance, the annotator and document.

Not a benchmark itself (``run_all.py`` runs only ``bench_*.py``); the scripts
import it as ``benchkit`` (their own folder is on ``sys.path``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workbench import create_app  # noqa: E402
from workbench import migrate  # noqa: E402
from workbench.db import make_engine  # noqa: E402
from workbench.domain.offsets import text_sha256  # noqa: E402
from workbench.models import Document  # noqa: E402
from workbench.models import Project  # noqa: E402
from workbench.models import User  # noqa: E402
from workbench.services import projects as project_service  # noqa: E402
from workbench.services import users as user_service  # noqa: E402

#: The benchmark annotator's login.
USERNAME, PASSWORD = "bench", "bench-password"

# Invented wire-style sentences (no real people or events).
SENTENCES = [
    "Harbour officials in Velmora said on Tuesday that the ferry link to Ostrand would resume next week.",
    "The port authority, led by Dana Kovic, told reporters that repairs to the north pier were nearly done.",
    "According to the Velmora Shipping Union, about 300 workers had been idle since the storm in March.",
    "Kovic said the company expected traffic to return to normal levels before the summer season.",
    "A spokesman for the transport ministry declined to comment on the cost of the repairs.",
    "Local traders, including the fish market cooperative, welcomed the news but warned of higher fees.",
    "The union's chair, Piotr Lenski, said members would vote on a new contract at the end of the month.",
    "Analysts at Northgate Research said the closure had cut regional exports by nearly a fifth.",
]


def bench_app(folder: str | Path) -> Any:
    """Return the app on a new, migrated SQLite database in ``folder`` (plain HTTP cookies, CSRF as in production)."""
    url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "SESSION_COOKIE_SECURE": False})
    app.instance_path = str(Path(folder) / "instance")
    return app


def add_annotator_and_document(session: Any, text: str) -> tuple[User, Project, Document]:
    """Add the annotator, project ``bench`` (with them as a member) and document ``bench-1`` holding ``text``.

    Flushed, not committed: the caller goes on in the same unit of work.
    """
    user = user_service.create_user(session, USERNAME, "annotator", PASSWORD, hash_method="pbkdf2:sha256:1000")
    project = project_service.create_project(session, "bench")
    project_service.add_member(session, project, user)
    doc = Document(project_id=project.id, external_id="bench-1", title="Bench", text=text, text_sha256=text_sha256(text))
    session.add(doc)
    session.flush()
    return user, project, doc
