"""Export speed and memory: 100,000 documents with gold layers written as JSONL, CoNLL, Label Studio and brat.

Run from the repository root::

    .venv/bin/python benchmarks/bench_export.py [--documents 100000] [--database sqlite|postgresql]
        [--formats jsonl:gold,...] [--repeat 3] [--keep FOLDER] [--workers N]

A child process builds a fresh database (one JSONL import of synthetic
articles of about 600 characters, each with a gold layer of three spans and
one attribution): SQLite in a temporary folder, or a PostgreSQL database
``bench_export_<documents>`` it creates on the server of ``--postgres``;
this process then exports it with ``exporting.export_to_path`` (the path of
``workbench export``), once per format and repeat, and prints wall and CPU
time, MB written, MB/s, documents/s and its own peak RSS, which only the
exports raise: memory stays flat when the peak does not grow with the
number of documents (worker processes, when the export uses them, are
reported by their own CPU time: ``workers cpu``). ``--keep FOLDER`` keeps
the SQLite database (or the PostgreSQL one) and reuses it when run again
with the same count.

A JSONL export stores each layer's line for the next one (docs/format.md,
"Stored lines"): with ``--repeat``, the first export of a fresh database
builds and stores every line and the others copy them; ``--cold`` deletes
the stored lines before each export, to measure a first export every time.
Each line of output says how many lines were stored before that export.
Like the ``workbench`` command, this process calls ``settle_gc`` before
exporting (``--no-settle`` leaves Python's garbage collector as it is).
"""

from __future__ import annotations

import argparse
import json
import os
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


def children_cpu() -> float:
    """Return the CPU seconds of this process's finished children, and of the forkserver and the workers it forked."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    if pid:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # its utime, stime, cutime, cstime
        except (OSError, IndexError, ValueError):
            pass
    return total


def build(folder: Path, documents: int, url: str) -> None:
    """Write the JSONL input into ``folder`` and import it into the database ``url`` (run in a child process)."""
    from workbench import migrate
    from workbench.db import make_engine
    from workbench.services import exporting
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
    from workbench import settle_gc

    settle_gc()  # as workbench import does
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        project = projects.create_project(session, "bench", None)
        started, cpu = time.perf_counter(), time.process_time()
        importing.import_paths(session, project, [source])
        session.commit()
        print(f"import of {documents} documents with gold layers (workbench import, commit included): "
              f"wall {time.perf_counter() - started:.2f} s  cpu {time.process_time() - cpu:.2f} s", flush=True)
        # What the command does next (workbench.records_keeper): store the imported layers' JSONL lines.
        started, cpu = time.perf_counter(), time.process_time()
        built = exporting.refresh_stored_lines(session, session.info.pop(exporting.CHANGED_LAYERS, ()))
        session.commit()
        print(f"then the JSONL lines of its {built} layers stored for the next export: "
              f"wall {time.perf_counter() - started:.2f} s  cpu {time.process_time() - cpu:.2f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--formats", default="jsonl:gold,jsonl:documents,conll:gold,labelstudio:gold,brat:gold",
                        help="format:layer pairs to export, comma-separated")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
                        help="a database URL on the PostgreSQL server to use")
    parser.add_argument("--repeat", type=int, default=1, help="exports per format (each line printed)")
    parser.add_argument("--keep", help="a folder to keep (and reuse) the built database in")
    parser.add_argument("--workers", type=int, help="processes building JSONL lines (default: as workbench export decides)")
    parser.add_argument("--cold", action="store_true",
                        help="delete the stored JSONL lines before each export (what a first export costs)")
    parser.add_argument("--no-settle", action="store_true",
                        help="leave the garbage collector as Python sets it (the workbench command calls settle_gc)")
    parser.add_argument("--build", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        build(Path(args.build), args.documents, args.url)
        return
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from workbench import settle_gc
    from workbench.db import make_engine
    from workbench.models import ExportLine
    from workbench.services import exporting
    from workbench.services import projects

    if not args.no_settle:
        settle_gc()  # as the workbench command does

    print(f"Python {platform.python_version()} on {platform.machine()}, {args.database}, "
          f"{args.documents} documents with gold layers, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        if args.database == "sqlite":
            url = f"sqlite:///{folder / f'bench-{args.documents}.sqlite3'}"
            fresh = not (args.keep and (folder / f"bench-{args.documents}.sqlite3").exists())
        else:
            name = f"bench_export_{args.documents}"
            url = args.postgres.rsplit("/", 1)[0] + "/" + name
            admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first()
                fresh = not (args.keep and exists)
                if fresh:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        if fresh:
            started = time.perf_counter()
            subprocess.run([sys.executable, __file__, "--documents", str(args.documents), "--build", str(folder), "--url", url],
                           check=True)
            print(f"database built in {time.perf_counter() - started:.1f} s")
        print(f"peak RSS of this process before exporting {peak_rss_mib():.0f} MiB")
        engine = make_engine(url)
        for fmt, layer in (pair.split(":") for pair in args.formats.split(",")):
            for _ in range(args.repeat):
                with Session(engine) as session:
                    project = projects.require_project_by_name(session, "bench")
                    if args.cold:
                        session.execute(sa.delete(ExportLine))
                        session.commit()
                    stored = session.scalar(sa.select(sa.func.count()).select_from(ExportLine))
                    out = folder / f"out-{fmt}-{layer}.data"
                    load = os.getloadavg()[0]
                    children = children_cpu()
                    started, cpu = time.perf_counter(), time.process_time()
                    options = {} if args.workers is None else {"workers": args.workers}
                    result = exporting.export_to_path(session, project, out, layer=layer, fmt=fmt, force=True, **options)
                    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
                    workers_cpu = children_cpu() - children
                written = out.stat().st_size / 1e6
                (_name, _path, counts) = result.files[0]
                print(
                    f"{fmt:12} {layer:10} {counts.records:>7} records  wall {wall:6.2f} s  cpu {cpu:6.2f} s  workers cpu {workers_cpu:5.2f} s  {written:7.1f} MB  "
                    f"{written / wall:6.1f} MB/s  {counts.documents / wall:7.0f} docs/s  peak RSS {peak_rss_mib():6.0f} MiB  "
                    f"load {load:.1f}  stored lines before {stored}",
                    flush=True,
                )
                out.unlink()
                exporting.manifest_path(out).unlink()
        engine.dispose()
        if args.database == "postgresql" and not args.keep:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
