"""Export speed and memory: 100,000 documents with gold layers written as JSONL, CoNLL, Label Studio and brat.

Run from the repository root::

    .venv/bin/python benchmarks/bench_export.py [--documents 100000]

A child process builds a fresh SQLite database (one JSONL import of
synthetic articles of about 600 characters, each with a gold layer of three
spans); this process then exports it with ``exporting.export_to_path`` (the
path of ``workbench export``), once per format, and prints wall time, MB
written, MB/s and its own peak RSS, which only the exports raise: memory stays
flat when the peak does not grow with the number of documents.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORDS = "council harbour minister report union river plant talks strike water company price court election".split()


def peak_rss_mib() -> float:
    """Return this process's peak resident set size in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(folder: Path, documents: int) -> None:
    """Write the JSONL input and import it into ``folder/bench.sqlite3`` (run in a child process)."""
    from workbench import migrate
    from workbench.db import make_engine
    from workbench.services import importing
    from workbench.services import projects
    from sqlalchemy.orm import Session

    rng = random.Random(7)
    source = folder / "input.jsonl"
    with source.open("w", encoding="utf-8") as fh:
        for i in range(documents):
            name = f"Ana Berg{i % 97}"
            body = " ".join(rng.choice(WORDS) for _ in range(80))
            text = f"{name} said the {body}."
            spans = [
                {"id": "T1", "start": 0, "end": len(name), "label": "PERSON"},
                {"id": "T2", "start": len(name) + 1, "end": len(name) + 5, "label": "CUE"},
                {"id": "T3", "start": len(name) + 6, "end": len(text) - 1, "label": "CLAIM"},
            ]
            record = {"id": f"doc-{i:06d}", "text": text, "meta": {"source": f"outlet-{i % 40}"}, "layer": "gold", "spans": spans,
                      "attributions": [{"id": "A1", "source": "T1", "cue": "T2", "content": ["T3"]}]}
            fh.write(json.dumps(record) + "\n")
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        project = projects.create_project(session, "bench", None)
        importing.import_paths(session, project, [source])
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--formats", default="jsonl:gold,jsonl:documents,conll:gold,labelstudio:gold,brat:gold",
                        help="format:layer pairs to export, comma-separated")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(Path(args.build), args.documents)
        return
    from sqlalchemy.orm import Session

    from workbench.db import make_engine
    from workbench.services import exporting
    from workbench.services import projects

    print(f"Python {platform.python_version()} on {platform.machine()}, SQLite, {args.documents} documents with gold layers")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--documents", str(args.documents), "--build", tmp], check=True)
        size = (folder / "bench.sqlite3").stat().st_size / 1e6
        print(f"database built in {time.perf_counter() - started:.1f} s ({size:.0f} MB); peak RSS of this process so far {peak_rss_mib():.0f} MiB")
        engine = make_engine(f"sqlite:///{folder / 'bench.sqlite3'}")
        for fmt, layer in (pair.split(":") for pair in args.formats.split(",")):
            with Session(engine) as session:
                project = projects.require_project_by_name(session, "bench")
                out = folder / f"out-{fmt}-{layer}.data"
                started = time.perf_counter()
                result = exporting.export_to_path(session, project, out, layer=layer, fmt=fmt, force=True)
                wall = time.perf_counter() - started
            written = out.stat().st_size / 1e6
            (_name, _path, counts) = result.files[0]
            print(
                f"{fmt:12} {layer:10} {counts.records:>7} records  wall {wall:6.2f} s  {written:7.1f} MB  "
                f"{written / wall:6.1f} MB/s  peak RSS {peak_rss_mib():6.0f} MiB"
            )
            out.unlink()


if __name__ == "__main__":
    main()
