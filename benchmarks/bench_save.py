"""Save round trip of the annotate API, through a real HTTP server.

Label Studio on this machine: saving an annotation of 15 spans and 5
relations takes 86 ms (median); answering a task (opening a document to
annotate) takes 79 ms (median).

Seeds a fresh SQLite instance with one annotator, the news schema and a
2,500-character document whose layer already holds 100 spans, serves the app
with waitress on 127.0.0.1 (free port, in a thread) and times, with token
auth over one keep-alive connection (``http.client``):

(a) ``PATCH /api/v1/layers/<id>/ops`` with 15 span creates + 5 relation
    creates (each batch is undone afterwards, untimed, so the layer stays at
    about 100 spans);
(b) ``GET /api/v1/projects/<pid>/documents/<doc>/annotate``;
(c) ``PATCH .../ops`` with a single span create (undone afterwards, untimed).

Run:

    .venv/bin/python benchmarks/bench_save.py [--rounds 300] [--json]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import SENTENCES  # noqa: E402
from benchkit import add_annotator_and_document  # noqa: E402
from benchkit import bench_app  # noqa: E402

from workbench.db import records_keeper  # noqa: E402
from workbench.domain.offsets import tokens  # noqa: E402
from workbench.services import annotation  # noqa: E402
from workbench.services import users as user_service  # noqa: E402
from workbench.testing import LiveServer  # noqa: E402

def make_text(length: int = 2500) -> str:
    """Return about ``length`` characters of invented news text."""
    parts: list[str] = []
    i = 0
    while sum(len(p) + 1 for p in parts) < length:
        parts.append(SENTENCES[i % len(SENTENCES)])
        i += 1
    return " ".join(parts)[:length].rsplit(" ", 1)[0] + "."


def seed(app: Any) -> tuple[str, int, int, int, list[tuple[int, int]], str]:
    """Create the annotator, project, document and its 100-span layer; return what the client needs."""
    session = app.extensions["workbench.sessionmaker"]()
    text = make_text()
    user, project, doc = add_annotator_and_document(session, text)
    layer = annotation.open_annotator_layer(session, user, doc)
    words = [t for t in tokens(text) if t[1] - t[0] > 2]
    labels = ["PERSON", "ORG", "GPE", "DATE"]
    spans = [
        {"id": f"seed-{i}", "label": labels[i % 4], "start": s, "end": e, "attrs": {}}
        for i, (s, e) in enumerate(words[:100])
    ]
    annotation.replace_layer(session, user, layer.id, 0, spans, [], [])
    token = user_service.create_token(session, user, "bench")
    session.commit()
    result = (token, project.id, doc.id, layer.id, words, text)
    session.close()
    return result


class Client:
    """One keep-alive HTTP connection with a bearer token."""

    def __init__(self, port: int, token: str):
        """Open a connection to 127.0.0.1:``port`` that sends ``token``."""
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[float, int, dict[str, Any]]:
        """Make one request; return (seconds, status, JSON body)."""
        data = json.dumps(body).encode() if body is not None else None
        t0 = time.perf_counter()
        self.conn.request(method, path, body=data, headers=self.headers)
        response = self.conn.getresponse()
        raw = response.read()
        elapsed = time.perf_counter() - t0
        return elapsed, response.status, json.loads(raw)


def stats(samples: list[float]) -> dict[str, float]:
    """Return median, p95 and max in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
        "n": len(ordered),
    }


def run(rounds: int) -> dict[str, Any]:
    """Seed, serve and measure; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        token, pid, doc_id, layer_id, words, text = seed(app)
        server = LiveServer(app, server="waitress", threads=4).start()
        try:
            client = Client(server.port, token)
            version = 1
            batch_no = 0
            # Words the seeded spans leave free: the schema lets no two PERSON spans overlap.
            free = words[100:]

            def save(ops: list[dict[str, Any]]) -> float:
                """Save ``ops`` from the last known version; return the seconds it took."""
                nonlocal version, batch_no
                batch_no += 1
                elapsed, status, body = client.call(
                    "PATCH", f"/api/v1/layers/{layer_id}/ops",
                    {"base_version": version, "batch_id": f"b{batch_no}", "ops": ops},
                )
                if status != 200:
                    raise RuntimeError(f"save failed: {status} {body}")
                version = body["version"]
                return elapsed

            def batch_ops(n: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
                """Return batch ``n`` (15 spans, 5 relations) and the ops that undo it."""
                spans = []
                for j in range(15):
                    s, e = free[(n * 7 + j * 5) % len(free)]
                    label = ("PERSON", "ORG", "CLAIM")[j % 3]
                    spans.append({"op": "span.create", "id": f"n{n}-s{j}", "label": label, "start": s, "end": e,
                                  "text": text[s:e], "attrs": {}})
                rels = [
                    {"op": "relation.create", "id": f"n{n}-r{k}", "type": "member_of",
                     "head": f"n{n}-s{3 * k}", "tail": f"n{n}-s{3 * k + 1}", "attrs": {}}
                    for k in range(5)
                ]
                undo = [{"op": "span.delete", "id": op["id"]} for op in spans]
                return spans + rels, undo

            # Warm up every path.
            for n in range(10):
                ops, undo = batch_ops(n)
                save(ops)
                save(undo)
                client.call("GET", f"/api/v1/projects/{pid}/documents/{doc_id}/annotate")

            save_times: list[float] = []
            for n in range(rounds):
                ops, undo = batch_ops(1000 + n)
                save_times.append(save(ops))
                save(undo)

            open_times: list[float] = []
            for _ in range(rounds):
                elapsed, status, body = client.call("GET", f"/api/v1/projects/{pid}/documents/{doc_id}/annotate")
                if status != 200 or len(body["layer"]["spans"]) != 100:
                    raise RuntimeError(f"open failed: {status}")
                open_times.append(elapsed)

            single_times: list[float] = []
            for n in range(rounds):
                s, e = free[n % len(free)]
                op = {"op": "span.create", "id": f"one-{n}", "label": "PERSON", "start": s, "end": e, "text": text[s:e]}
                single_times.append(save([op]))
                save([{"op": "span.delete", "id": f"one-{n}"}])
            client.conn.close()
        finally:
            server.stop()  # waits a moment for waitress to finish with the closed connection
            records_keeper(app).stop()  # before its database goes
            app.extensions["workbench.engine"].dispose()
    return {
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "document_chars": len(text),
        "spans_in_layer": 100,
        "save_15_spans_5_relations": stats(save_times),
        "open_annotate_get": stats(open_times),
        "save_single_span": stats(single_times),
    }


def main() -> None:
    """Parse arguments, run and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.rounds)
    if args.json:
        print(json.dumps(result))
        return
    print(f"document: {result['document_chars']} characters, layer: {result['spans_in_layer']} spans; "
          f"load average {result['load_average_1min']} on {result['cpus']} CPUs")
    print(f"{'':32} {'median':>9} {'p95':>9} {'max':>9}   n")
    for key in ("save_15_spans_5_relations", "open_annotate_get", "save_single_span"):
        r = result[key]
        print(f"{key:32} {r['median_ms']:>7} ms {r['p95_ms']:>6} ms {r['max_ms']:>6} ms   {r['n']}")


if __name__ == "__main__":
    main()
