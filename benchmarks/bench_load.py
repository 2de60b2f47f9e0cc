"""A team at work: 50 simulated annotators against gunicorn (4 workers) on PostgreSQL, or one
process on SQLite, for a bounded time; then a check that every acknowledged save is stored.

Each simulated annotator takes a document from the queue (``GET
/api/v1/projects/<pid>/next``), opens it (``GET .../annotate``), saves a
change every 1 to 2 seconds (``PATCH /api/v1/layers/<id>/ops``, one or two
new spans), submits after two to four saves (``POST
/api/v1/layers/<id>/status``) and takes the next document.  Every request
goes over HTTP to 127.0.0.1 with a bearer token, on a keep-alive connection
per annotator.  The figures: requests per second, p50/p95/p99/max per
endpoint, errors (any answer other than 2xx, and any connection failure),
and afterwards the number of saves a client saw acknowledged that the
database does not hold (must be 0).

Run (both bounded in time; PostgreSQL needs a database this script may
create and drop on the server of ``--postgres``):

    .venv/bin/python benchmarks/bench_load.py --database postgresql [--workers 4] [--seconds 60]
    .venv/bin/python benchmarks/bench_load.py --database sqlite [--seconds 60]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402

from workbench import migrate  # noqa: E402
from workbench.db import make_engine  # noqa: E402
from workbench.domain.offsets import text_sha256  # noqa: E402
from workbench.models import Document  # noqa: E402
from workbench.models import Span  # noqa: E402
from workbench.services import projects as project_service  # noqa: E402
from workbench.services import users as user_service  # noqa: E402
from workbench.testing import free_port  # noqa: E402

ENDPOINTS = ("next", "open", "save", "submit")
SENTENCE = "Halvard Moe of the Kestrel Union said the strike at Brannock Port ends on Monday. "


def seed(url: str, annotators: int, documents: int) -> tuple[int, list[str]]:
    """Migrate, then make the project (k = 3, queue), its documents and annotators; return (project id, tokens)."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    session = sessionmaker(engine, expire_on_commit=False)()
    project = project_service.create_project(session, "load")
    project.annotators_per_document = 3
    project.assignment = "queue"
    text = SENTENCE * 30  # about 2,500 characters
    rows = [
        {"project_id": project.id, "external_id": f"d{i:05}", "title": f"Port story {i}", "text": f"{text}{i}",
         "text_sha256": text_sha256(f"{text}{i}"), "meta": {}}
        for i in range(documents)
    ]
    session.execute(sa.insert(Document), rows)
    tokens = []
    for i in range(annotators):
        user = user_service.create_user(session, f"load{i:02}", "annotator", None)
        project_service.add_member(session, project, user)
        tokens.append(user_service.create_token(session, user, "load"))
    session.commit()
    pid = project.id
    session.close()
    engine.dispose()
    return pid, tokens


def serve(url: str, workers: int, threads: int, instance: Path) -> tuple[subprocess.Popen, int]:
    """Start gunicorn (gthread workers) on ``workbench.wsgi:app``; return the process and its port."""
    port = free_port()
    env = {**os.environ, "WORKBENCH_DATABASE_URL": url, "WORKBENCH_SECRET_KEY": "load-test", "WORKBENCH_INSTANCE": str(instance)}
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
               "--bind", f"127.0.0.1:{port}", "--keep-alive", "30", "--log-level", "warning", "workbench.wsgi:app"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                conn.close()
                return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


class Annotator(threading.Thread):
    """One simulated annotator: queue, open, save every 1-2 s, submit, repeat until the deadline."""

    def __init__(self, number: int, port: int, token: str, project_id: int, deadline: float, rng: random.Random):
        super().__init__(daemon=True)
        self.number, self.port, self.token, self.pid, self.deadline, self.rng = number, port, token, project_id, deadline, rng
        self.times: dict[str, list[float]] = {name: [] for name in ENDPOINTS}
        self.errors: list[str] = []
        #: (layer id, span uid) of every save the server acknowledged
        self.acked: list[tuple[int, str]] = []
        self.conn: http.client.HTTPConnection | None = None

    def call(self, name: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Make one request, time it under ``name``; reconnect once if the connection dropped."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            t0 = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt == 2 or method != "GET":
                    raise
                continue
            self.times[name].append(time.perf_counter() - t0)
            payload = json.loads(raw) if raw[:1] in (b"{", b"[") else raw
            if not 200 <= response.status < 300:
                self.errors.append(f"{name} {response.status}: {payload.get('error') if isinstance(payload, dict) else payload[:100]}")
            return response.status, payload
        raise AssertionError("unreachable")

    def run(self) -> None:
        try:
            self.work()
        except Exception as exc:  # noqa: BLE001 - counted as an error
            self.errors.append(f"{type(exc).__name__}: {exc}")

    def work(self) -> None:
        done = 0
        while time.monotonic() < self.deadline:
            status, body = self.call("next", "GET", f"/api/v1/projects/{self.pid}/next")
            if status != 200 or body.get("document_id") is None:
                return
            doc = body["document_id"]
            status, body = self.call("open", "GET", f"/api/v1/projects/{self.pid}/documents/{doc}/annotate")
            if status != 200:
                return
            layer = body["layer"]
            layer_id, version = layer["id"], layer["version"]
            text_length = len(body["document"]["text"])
            taken: set[int] = set()
            for save in range(self.rng.randint(2, 4)):
                time.sleep(self.rng.uniform(1.0, 2.0))
                if time.monotonic() >= self.deadline:
                    return
                ops = []
                for _ in range(self.rng.randint(1, 2)):
                    start = self.rng.randrange(0, text_length - 10, 10)
                    while start in taken:
                        start = (start + 10) % (text_length - 10)
                    taken.add(start)
                    uid = f"a{self.number}-d{doc}-s{start}"
                    ops.append({"op": "span.create", "id": uid, "label": "PERSON", "start": start, "end": start + 7})
                batch = f"a{self.number}-d{doc}-b{save}"
                status, body = self.call("save", "PATCH", f"/api/v1/layers/{layer_id}/ops", {"base_version": version, "batch_id": batch, "ops": ops})
                if status != 200:
                    return
                version = body["version"]
                self.acked.extend((layer_id, op["id"]) for op in ops)
            status, _ = self.call("submit", "POST", f"/api/v1/layers/{layer_id}/status", {"status": "submitted"})
            if status != 200:
                return
            done += 1


def percentiles(samples: list[float]) -> dict[str, float]:
    """Return n, p50, p95, p99 and max in milliseconds."""
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 99
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(cuts[94] * 1000, 1),
        "p99_ms": round(cuts[98] * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
    }


def run(database: str, annotators: int, seconds: float, workers: int, threads: int, documents: int, postgres: str) -> dict[str, Any]:
    """Seed, serve, drive the annotators, check the saves; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        admin = None
        if database == "postgresql":
            name = f"wb_load_{os.getpid()}"
            admin = sa.create_engine(postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = postgres.rsplit("/", 1)[0] + "/" + name
        else:
            url = f"sqlite:///{tmp}/load.sqlite3"
            workers = 1
        try:
            pid, tokens = seed(url, annotators, documents)
            server, port = serve(url, workers, threads, Path(tmp) / "instance")
            try:
                started = time.monotonic()
                deadline = started + seconds
                crowd = [Annotator(i, port, tokens[i], pid, deadline, random.Random(i)) for i in range(annotators)]
                for a in crowd:
                    a.start()
                    time.sleep(0.02)  # people do not all arrive in the same millisecond
                for a in crowd:
                    a.join(timeout=seconds + 120)
                elapsed = time.monotonic() - started
            finally:
                server.terminate()
                server.wait(timeout=60)
            engine = make_engine(url)
            with engine.connect() as conn:
                stored = set(conn.execute(select(Span.set_id, Span.uid)).all())
            engine.dispose()
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.dispose()
    acked = {pair for a in crowd for pair in a.acked}
    errors = [e for a in crowd for e in a.errors]
    requests = sum(len(t) for a in crowd for t in a.times.values())
    return {
        "database": database,
        "server": f"gunicorn, {workers} worker{'s' if workers != 1 else ''} x {threads} threads (gthread)",
        "annotators": annotators,
        "seconds": round(elapsed, 1),
        "requests": requests,
        "requests_per_second": round(requests / elapsed, 1),
        "saves_acknowledged": sum(1 for a in crowd for _ in a.times["save"]),
        "endpoints": {name: percentiles([t for a in crowd for t in a.times[name]]) for name in ENDPOINTS},
        "errors": len(errors),
        "error_examples": errors[:5],
        "spans_acknowledged": len(acked),
        "spans_lost": len(acked - stored),
        "load_average_after": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (PostgreSQL; SQLite uses one)")
    parser.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test", help="a database URL on the server to use")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.database, args.annotators, args.seconds, args.workers, args.threads, args.documents, args.postgres)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['annotators']} annotators, {result['seconds']} s, {result['database']}, {result['server']}")
    print(f"{result['requests']} requests, {result['requests_per_second']} per second; {result['saves_acknowledged']} saves")
    print(f"{'endpoint':<8} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}  (ms)")
    for name, s in result["endpoints"].items():
        if s["n"]:
            print(f"{name:<8} {s['n']:>6} {s['p50_ms']:>8} {s['p95_ms']:>8} {s['p99_ms']:>8} {s['max_ms']:>8}")
    print(f"errors: {result['errors']} {result['error_examples']}")
    print(f"spans acknowledged: {result['spans_acknowledged']}, lost: {result['spans_lost']}")
    print(f"load average after: {result['load_average_after']:.2f}")


if __name__ == "__main__":
    main()
