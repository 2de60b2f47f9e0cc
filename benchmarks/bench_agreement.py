"""Wall time of `workbench agreement PROJECT --json`, start-up included, cold and cached.

The issue's bar: 1,000 documents x 3 annotators x ~40 spans in under 3 s on
a 2-core machine.  Builds a fresh SQLite instance (fixed seed) with 1,000
invented articles of about 2,500 characters, three annotators who submitted
every document, each with about 40 token-aligned spans (entities, claims,
cues; the three agree on most and differ on some), 5 relations and 3
attributions per layer.  Then runs the real console script:

* cold: the cache is empty (the figures are computed, 1,000 bootstrap resamples);
* cached: nothing changed since, so the stored figures are printed.

Run:

    .venv/bin/python benchmarks/bench_agreement.py
"""

from __future__ import annotations

import json
from bisect import bisect_left
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchkit import SENTENCES  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlalchemy import select  # noqa: E402

from workbench import migrate  # noqa: E402
from workbench.db import make_engine  # noqa: E402
from workbench.domain.offsets import text_sha256  # noqa: E402
from workbench.domain.offsets import tokens  # noqa: E402
from workbench.domain.schema import NEWS_SCHEMA  # noqa: E402
from workbench.domain.schema import parse_schema  # noqa: E402
from workbench.models import AnnotationSet  # noqa: E402
from workbench.models import Attribution  # noqa: E402
from workbench.models import AttributionContent  # noqa: E402
from workbench.models import Document  # noqa: E402
from workbench.models import Project  # noqa: E402
from workbench.models import Relation  # noqa: E402
from workbench.models import Span  # noqa: E402
from workbench.models import User  # noqa: E402

WORKBENCH = Path(sys.executable).with_name("workbench")
DOCUMENTS, ANNOTATORS, SPANS, RELATIONS, ATTRIBUTIONS = 1000, 3, 40, 5, 3
ENTITIES = ["PERSON", "ORG", "GPE", "LOC", "DATE"]


def article(rng: random.Random) -> str:
    """About 2,500 characters of invented wire text."""
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < 2500:
        parts.append(rng.choice(SENTENCES))
    return " ".join(parts)


def base_spans(rng: random.Random, text: str) -> list[tuple[int, int, str]]:
    """About 40 token-aligned spans: mostly entities of 1-3 tokens, some claims of 6-15, some cues."""
    toks = tokens(text)
    out = []
    for _ in range(SPANS):
        roll = rng.random()
        label, length = ("CLAIM", rng.randint(6, 15)) if roll < 0.1 else ("CUE", 1) if roll < 0.25 else (rng.choice(ENTITIES), rng.randint(1, 3))
        i = rng.randrange(len(toks) - length)
        out.append((toks[i][0], toks[i + length - 1][1], label))
    return out


def build(instance: Path) -> None:
    """Fill a fresh SQLite database in ``instance`` with the benchmark project (bulk inserts)."""
    rng = random.Random(6)
    engine = make_engine(f"sqlite:///{instance / 'workbench.sqlite3'}")
    migrate.upgrade(engine)
    schema = parse_schema(NEWS_SCHEMA).to_dict()
    with engine.begin() as conn:
        conn.execute(insert(Project), [{"name": "bench", "label_schema": schema, "description": "", "guidelines": "", "settings": {}}])
        project_id = conn.scalar(select(Project.id))
        conn.execute(insert(User), [{"username": f"annotator{i + 1}", "role": "annotator"} for i in range(ANNOTATORS)])
        user_ids = list(conn.scalars(select(User.id).order_by(User.id)))
        texts = [article(rng) for _ in range(DOCUMENTS)]
        conn.execute(
            insert(Document),
            [
                {"project_id": project_id, "external_id": f"doc-{i:04d}", "title": f"Article {i}", "text": t, "text_sha256": text_sha256(t), "meta": {}}
                for i, t in enumerate(texts)
            ],
        )
        doc_ids = list(conn.scalars(select(Document.id).order_by(Document.id)))
        layers, spans, relations, attributions, content = [], [], [], [], []
        set_id = span_id = att_id = 0
        for doc_id, text in zip(doc_ids, texts):
            base = base_spans(rng, text)
            ends = [e for _s, e in tokens(text)]
            # What the document "really" holds: relations and attributions over the base spans (by position).
            kinds = {k: [i for i, (_s, _e, label) in enumerate(base) if label in names] for k, names in
                     (("claim", ("CLAIM",)), ("cue", ("CUE",)), ("who", ("PERSON", "ORG")), ("any", ENTITIES))}
            base_relations = [tuple(rng.sample(kinds["any"], 2)) for _ in range(RELATIONS)] if len(kinds["any"]) > 1 else []
            base_attributions = [
                (rng.choice(kinds["who"]) if kinds["who"] and rng.random() < 0.9 else None,
                 rng.choice(kinds["cue"]) if kinds["cue"] else None, rng.choice(kinds["claim"]))
                for _ in range(ATTRIBUTIONS if kinds["claim"] else 0)
            ]
            for user_id in user_ids:
                set_id += 1
                layers.append({"id": set_id, "document_id": doc_id, "kind": "annotator", "owner_key": f"annotator:{user_id}", "user_id": user_id, "status": "submitted", "version": 3})
                mine: dict[int, int] = {}  # base position -> this annotator's span id
                for position, (start, end, label) in enumerate(base):
                    roll = rng.random()
                    if roll < 0.06:
                        continue  # missed
                    if roll < 0.12 and label in ENTITIES:
                        label = rng.choice(ENTITIES)  # another label
                    elif roll < 0.16:
                        # One more token at the end: an overlap match, not an exact one.
                        k = bisect_left(ends, end) + 1
                        end = ends[k] if k < len(ends) else end
                    span_id += 1
                    spans.append({"id": span_id, "set_id": set_id, "uid": f"T{span_id}", "label": label, "start": start, "end": end, "attrs": {}})
                    mine[position] = span_id
                for r, (head, tail) in enumerate(base_relations):
                    if head in mine and tail in mine and rng.random() < 0.9:
                        relations.append({"set_id": set_id, "uid": f"R{r}", "type": "located_in", "head_id": mine[head], "tail_id": mine[tail], "attrs": {}})
                for a, (source, cue, claim) in enumerate(base_attributions):
                    if claim not in mine or (source is None and cue not in mine):
                        continue
                    if rng.random() < 0.15 and kinds["who"]:
                        source = rng.choice(kinds["who"])  # another speaker
                    att_id += 1
                    attributions.append({"id": att_id, "set_id": set_id, "uid": f"A{a}", "source_id": mine.get(source), "cue_id": mine.get(cue), "attrs": {}})
                    content.append({"attribution_id": att_id, "span_id": mine[claim], "position": 0})
        conn.execute(insert(AnnotationSet), layers)
        conn.execute(insert(Span), spans)
        conn.execute(insert(Relation), relations)
        conn.execute(insert(Attribution), attributions)
        conn.execute(insert(AttributionContent), content)
    engine.dispose()


#: CPU seconds (user + system) of each finished run, beside its wall time: on a shared machine
#: the wall time also counts waiting for a core, the CPU time does not.
CPU: list[float] = []


def run(instance: Path) -> tuple[float, dict]:
    """Run ``workbench agreement bench --json``; return its wall time and its JSON (its CPU time goes to ``CPU``)."""
    env = {**os.environ, "WORKBENCH_INSTANCE": str(instance)}
    env.pop("WORKBENCH_DATABASE_URL", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([str(WORKBENCH), "agreement", "bench", "--json"], env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return wall, json.loads(out.stdout)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "instance"
        instance.mkdir()
        t0 = time.perf_counter()
        build(instance)
        built = time.perf_counter() - t0
        cold = []
        for _ in range(3):
            engine = make_engine(f"sqlite:///{instance / 'workbench.sqlite3'}")
            with engine.begin() as conn:
                conn.exec_driver_sql("DELETE FROM agreement_cache")
            engine.dispose()
            seconds, result = run(instance)
            assert result["cached"] is False
            cold.append(seconds)
        cached = []
        for _ in range(3):
            seconds, again = run(instance)
            assert again["cached"] is True
            cached.append(seconds)
        startup = [run_help() for _ in range(3)]
    print(
        json.dumps(
            {
                "documents": result["documents"],
                "annotators": len(result["annotators"]),
                "spans_per_layer": SPANS,
                "build_s": round(built, 2),
                "cold_s": [round(s, 2) for s in cold],
                "cold_s_median": round(statistics.median(cold), 2),
                "cached_s": [round(s, 2) for s in cached],
                "cached_s_median": round(statistics.median(cached), 2),
                "cold_cpu_s": [round(c, 2) for c in CPU[:3]],
                "cached_cpu_s": [round(c, 2) for c in CPU[3:6]],
                "load_average_1min": round(os.getloadavg()[0], 1),
                "workbench_help_s_median (start-up alone)": round(statistics.median(startup), 2),
                "figures": {
                    "span_f1_exact": result["span_f1"]["exact"]["micro"],
                    "span_f1_exact_ci": result["span_f1"]["exact"]["micro_ci"],
                    "entity_kappa": result["token"]["entity"]["kappa"],
                    "entity_alpha": result["token"]["entity"]["alpha"],
                    "entity_ac1": result["token"]["entity"]["ac1"],
                },
                "goal_s": 3.0,
            },
            indent=2,
        )
    )


def run_help() -> float:
    t0 = time.perf_counter()
    subprocess.run([str(WORKBENCH), "--help"], check=True, capture_output=True)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
