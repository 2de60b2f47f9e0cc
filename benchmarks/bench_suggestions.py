"""How long the annotate page waits for its suggestions (``services.suggestions.document_suggestions``).

Seeds a fresh SQLite instance with a project of 2,000 invented articles of
about 2,500 characters, each with an annotator layer of about 25 spans
(invented names, places and cues, plus one name of its own, so the learned
strings number a few thousand); a gazetteer of 10,000 entries; a model's
prediction layer of 40 spans on the measured documents. Then times, in one
app context as a request has it, the suggestions of

(a) one 2,500-character article;
(b) one 100,000-character article (40 articles end to end);

each warm (what the project's annotators labelled is learned already) and
cold (learned afresh, as on the first opening after a change; in a project
this large, at most every 30 seconds). The GET endpoint adds only its JSON.

Run:

    .venv/bin/python benchmarks/bench_suggestions.py [--documents 2000] [--rounds 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import SENTENCES  # noqa: E402
from benchkit import add_annotator_and_document  # noqa: E402
from benchkit import bench_app  # noqa: E402

from workbench.db import get_session  # noqa: E402
from workbench.services import importing  # noqa: E402
from workbench.services import suggestions  # noqa: E402

KNOWN = {"Dana Kovic": "PERSON", "Piotr Lenski": "PERSON", "Velmora": "GPE", "Ostrand": "GPE",
         "Northgate Research": "ORG", "Velmora Shipping Union": "ORG", "said": "CUE", "told": "CUE"}


def article(rng: random.Random, i: int, length: int = 2500) -> str:
    """Return about ``length`` characters of invented news, with a reporter's name of its own."""
    parts = [f"Reporter Mara{i} Quill{i} filed this story."]
    while sum(len(p) + 1 for p in parts) < length:
        parts.append(rng.choice(SENTENCES))
    return " ".join(parts)


def spans_of(text: str, i: int) -> list[dict]:
    out = [{"id": "R", "start": 9, "end": 9 + len(f"Mara{i} Quill{i}"), "label": "PERSON"}]
    for name, label in KNOWN.items():
        for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            out.append({"id": f"T{len(out)}", "start": m.start(), "end": m.end(), "label": label})
    return out


def seed(app, documents: int) -> tuple[int, int, int]:
    """Fill the instance; return the ids of the project, the short and the long document."""
    rng = random.Random(7)
    with app.app_context():
        session = get_session()
        user, project, _doc = add_annotator_and_document(session, "Bench article.")
        lines = []
        for i in range(documents):
            text = article(rng, i)
            lines.append(json.dumps({"id": f"a{i}", "text": text, "layer": "annotator", "annotator": user.username,
                                     "spans": spans_of(text, i)}))
        importing.import_stream(session, project, "seed.jsonl", ("\n".join(lines) + "\n").encode(), "jsonl")
        short = article(rng, documents + 1)
        long = " ".join(article(rng, documents + 2 + k) for k in range(40))
        records = []
        for name, text in (("short", short), ("long", long)):
            words = [m.span() for m in re.finditer(r"[A-Z]\w+", text)][:40]
            records.append(json.dumps({"id": name, "text": text, "layer": "prediction", "annotator": "ner-bench",
                                       "spans": [{"id": f"P{k}", "start": s, "end": e, "label": "ORG"} for k, (s, e) in enumerate(words)]}))
        importing.import_stream(session, project, "targets.jsonl", ("\n".join(records) + "\n").encode(), "jsonl")
        gazetteer = "\n".join(f"Entity{k} Holdings\tORG" for k in range(10_000)) + "\nVelmora\tGPE\n"
        suggestions.set_gazetteer(session, project, "bench.tsv", gazetteer)
        session.commit()
        from workbench.services import documents as document_service

        ids = [document_service.get_document_by_external_id(session, project, e).id for e in ("short", "long")]
        return project.id, ids[0], ids[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = bench_app(folder)
        project_id, short_id, long_id = seed(app, args.documents)
        result = {}
        for name, doc_id in (("2,500 characters", short_id), ("100,000 characters", long_id)):
            times: list[float] = []
            cold: list[float] = []
            count = 0
            for _ in range(args.rounds):
                with app.app_context():
                    session = get_session()
                    from workbench.models import Document
                    from workbench.models import Project
                    from workbench.models import User

                    project = session.get(Project, project_id)
                    user = session.query(User).filter_by(username="bench").one()
                    doc = session.get(Document, doc_id)
                    suggestions._MEMOS.clear()
                    start = time.perf_counter()
                    data = suggestions.document_suggestions(session, user, project, doc)
                    cold.append(time.perf_counter() - start)
                    start = time.perf_counter()
                    data = suggestions.document_suggestions(session, user, project, doc)
                    times.append(time.perf_counter() - start)
                    count = len(data["suggestions"])
            result[name] = {"warm_median_ms": round(statistics.median(times) * 1000, 1),
                            "cold_median_ms": round(statistics.median(cold) * 1000, 1), "suggestions": count}
        if args.json:
            print(json.dumps(result))
        else:
            for name, r in result.items():
                print(f"{name:>20}: warm median {r['warm_median_ms']} ms, cold median {r['cold_median_ms']} ms, {r['suggestions']} suggestions")


if __name__ == "__main__":
    main()
