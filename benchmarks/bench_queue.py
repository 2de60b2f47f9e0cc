"""The document queue: how long ``GET /api/v1/projects/<pid>/next`` takes to hand out a new document.

Label Studio on this machine answers a task in 79 ms (median).

Seeds a fresh SQLite instance (or PostgreSQL with ``--postgres URL``, a
database this script may empty) with 10,000 documents, k = 3 and 30
annotators, most documents already holding places (half of them full), then
serves the app with waitress on 127.0.0.1 and times ``next`` calls, each of
which takes a place on a new document (the layer it made is submitted
afterwards, untimed, so the next call claims again).  The queue skips full
documents and documents the annotator already had, so this is the query a
team meets late in a project.

Run:

    .venv/bin/python benchmarks/bench_queue.py [--rounds 300] [--postgres URL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_save import Client  # noqa: E402
from bench_save import stats  # noqa: E402
from benchkit import bench_app  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from workbench import create_app  # noqa: E402
from workbench import migrate  # noqa: E402
from workbench.db import make_engine  # noqa: E402
from workbench.db import records_keeper  # noqa: E402
from workbench.domain.offsets import text_sha256  # noqa: E402
from workbench.models import AnnotationSet  # noqa: E402
from workbench.models import Base  # noqa: E402
from workbench.models import Document  # noqa: E402
from workbench.models import utcnow  # noqa: E402
from workbench.services import assignment  # noqa: E402
from workbench.services import projects as project_service  # noqa: E402
from workbench.services import users as user_service  # noqa: E402
from workbench.testing import LiveServer  # noqa: E402

DOCUMENTS = 10_000
ANNOTATORS = 30
K = 3


def seed(app: Any) -> tuple[list[str], int]:
    """Create the project, its documents, annotators and places; return the tokens and the project id."""
    session = app.extensions["workbench.sessionmaker"]()
    project = project_service.create_project(session, "queue-bench")
    users = []
    for i in range(ANNOTATORS):
        user = user_service.create_user(session, f"a{i}", "annotator", "bench-password-1", hash_method="pbkdf2:sha256:1000")
        project_service.add_member(session, project, user)
        users.append(user)
    assignment.update_settings(session, project, {"annotators_per_document": K})
    session.flush()
    text = "The ferry council met on Tuesday and said the harbour would reopen. " * 35
    session.execute(
        insert(Document),
        [
            {"project_id": project.id, "external_id": f"q{i}", "title": f"Queue {i}", "text": text,
             "text_sha256": text_sha256(text), "meta": {}}
            for i in range(DOCUMENTS)
        ],
    )
    ids = [row[0] for row in session.execute(Document.__table__.select().with_only_columns(Document.id).order_by(Document.id))]
    now = utcnow()
    layers = []
    # The first 60% of documents hold places of the annotators a10..a29: half full, half with one place left.
    for n, document_id in enumerate(ids[: int(DOCUMENTS * 0.6)]):
        holders = K if n % 2 == 0 else K - 1
        for h in range(holders):
            user = users[10 + (n + h) % 20]
            layers.append({"document_id": document_id, "kind": "annotator", "owner_key": f"annotator:{user.id}",
                           "user_id": user.id, "status": "submitted", "status_note": "", "version": 1,
                           "created_at": now, "updated_at": now})
    session.execute(insert(AnnotationSet), layers)
    tokens = [user_service.create_token(session, user, "bench") for user in users[:10]]
    session.commit()
    project_id = project.id
    session.close()
    return tokens, project_id


def postgres_app(url: str, folder: str) -> Any:
    """Return the app on the PostgreSQL database ``url``, emptied and migrated."""
    engine = make_engine(url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app({"SECRET_KEY": "bench", "DATABASE_URL": url, "SESSION_COOKIE_SECURE": False})
    app.instance_path = str(Path(folder) / "instance")
    return app


def run(rounds: int, postgres: str | None) -> dict[str, Any]:
    """Seed, serve and measure; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        app = postgres_app(postgres, tmp) if postgres else bench_app(tmp)
        tokens, project_id = seed(app)
        server = LiveServer(app, server="waitress", threads=4).start()
        try:
            clients = [Client(server.port, token) for token in tokens]
            times: list[float] = []
            for n in range(rounds + 20):
                client = clients[n % len(clients)]
                elapsed, status, body = client.call("GET", f"/api/v1/projects/{project_id}/next")
                if status != 200 or body["document_id"] is None:
                    raise RuntimeError(f"next failed: {status} {body}")
                _t, status, opened = client.call(
                    "GET", f"/api/v1/projects/{project_id}/documents/{body['document_id']}/annotate"
                )
                _t, status, _b = client.call("POST", f"/api/v1/layers/{opened['layer']['id']}/status", {"status": "submitted"})
                if status != 200:
                    raise RuntimeError("submit failed")
                if n >= 20:  # the first calls warm the server up
                    times.append(elapsed)
            for client in clients:
                client.conn.close()
        finally:
            server.stop()
            records_keeper(app).stop()  # before its database goes
            app.extensions["workbench.engine"].dispose()
    return {
        "database": "postgresql" if postgres else "sqlite",
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "documents": DOCUMENTS,
        "k": K,
        "next_claims_a_document": stats(times),
    }


def main() -> None:
    """Parse arguments, run and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database this benchmark may empty")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.rounds, args.postgres)
    if args.json:
        print(json.dumps(result))
        return
    s = result["next_claims_a_document"]
    print(
        f"{result['database']}: next (takes a place on a new document) among {result['documents']:,} documents, "
        f"k={result['k']}: median {s['median_ms']} ms, p95 {s['p95_ms']} ms, max {s['max_ms']} ms (n={s['n']}); "
        f"load {result['load_average_1min']} on {result['cpus']} CPUs"
    )


if __name__ == "__main__":
    main()
