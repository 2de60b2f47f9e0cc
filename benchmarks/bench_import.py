"""Import speed: 10,000 synthetic articles of about 2,500 characters into a fresh SQLite database.

Run from the repository root::

    .venv/bin/python benchmarks/bench_import.py

Three runs, each on a new database through ``importing.import_paths`` (the
path the CLI takes): a JSONL file of 10,000 plain documents, the same file
with a gold layer of ten spans per document, and a folder of 10,000 text
files (``--text-files`` changes how many).  Prints wall time (reading,
checking and inserting, plus the commit), the time spent inside the
database driver, documents per second, and the process's peak RSS; for the file with
layers, also the time to store their JSONL lines afterwards, as ``workbench
import`` does before it exits.  The figure to beat: Label Studio imports 10,000 such
articles in 4.1 s.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench import migrate  # noqa: E402
from workbench.db import make_engine  # noqa: E402
from workbench.services import exporting  # noqa: E402
from workbench.services import importing  # noqa: E402
from workbench.services import projects  # noqa: E402

WORDS = (
    "council harbour minister report union river plant talks strike water company price court election "
    "officials workers region city market bank police school border energy train village farmers government "
    "agreed warned said announced rejected expected confirmed denied planned approved delayed closed opened "
    "the a of in on for with after before during against between about over under new old first last local"
).split()
NAMES = ["Anna Berg", "Tomas Rooke", "Ilse Varga", "Piet Ansgar", "Nessa Barrow", "Colm Ferreira", "Juno Aberg"]


def sentence(rng: random.Random) -> str:
    """Return one synthetic news sentence."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 22))]
    if rng.random() < 0.4:
        words.insert(0, rng.choice(NAMES) + " said")
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def article(rng: random.Random, size: int = 2500) -> str:
    """Return a synthetic article body of about ``size`` characters, in paragraphs."""
    paragraphs: list[str] = []
    length = 0
    while length < size:
        paragraph = " ".join(sentence(rng) for _ in range(rng.randint(2, 4)))
        paragraphs.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(paragraphs)[:size].rstrip() + "."


def gold_spans(rng: random.Random, text: str, count: int = 10) -> list[dict]:
    """Return up to ``count`` non-overlapping PERSON/CLAIM spans over ``text``."""
    spans = []
    step = len(text) // count
    for i in range(count):
        start = i * step + rng.randint(0, 20)
        end = start + rng.randint(5, 60)
        while text[start] == " ":
            start += 1
        end = min(end, (i + 1) * step)
        while end > start + 1 and text[end - 1] == " ":
            end -= 1
        label = "CLAIM" if i % 3 == 0 else "PERSON"
        spans.append({"id": f"T{i + 1}", "start": start, "end": end, "label": label, "text": text[start:end]})
    return spans


def write_jsonl(path: Path, n: int, seed: int, layer: bool) -> int:
    """Stream ``n`` records to ``path``; return the file's size in bytes."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            text = article(rng)
            record = {"id": f"art-{i:05d}", "text": text, "meta": {"title": f"Article {i}", "source": "Synthetic Wire"}}
            if layer:
                record.update(layer="gold", spans=gold_spans(rng, text))
            fh.write(json.dumps(record) + "\n")
    return path.stat().st_size


def write_folder(folder: Path, n: int, seed: int) -> None:
    """Write ``n`` text articles (headline, byline, date, body, url) into ``folder``."""
    rng = random.Random(seed)
    folder.mkdir()
    for i in range(n):
        body = article(rng)
        (folder / f"{i:05d}-story.txt").write_text(
            f"## Story number {i}\n\nBy Synthetic Wire\n\nMarch {1 + i % 28}, 2025\n\n{body}\n\n"
            f"Original url:\n\nhttps://wire.example/{i}\n",
            encoding="utf-8",
        )


def peak_rss_mib() -> float:
    """Return the peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(label: str, workdir: Path, paths: list[Path], documents: int) -> dict[str, float]:
    """Import ``paths`` into a fresh SQLite database and print the figures."""
    slug = "".join(c if c.isalnum() else "-" for c in label)
    db_path = workdir / f"{slug}.sqlite3"
    engine = make_engine(f"sqlite:///{db_path}")
    migrate.upgrade(engine)
    db_seconds = [0.0]
    started: list[float] = []

    def before(*_args: object) -> None:
        """Note when a statement starts."""
        started.append(time.perf_counter())

    def after(*_args: object) -> None:
        """Add the statement's duration to the database time."""
        db_seconds[0] += time.perf_counter() - started.pop()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    with Session(engine) as session:
        project = projects.create_project(session, "bench")
        session.commit()
        t0 = time.perf_counter()
        report = importing.import_paths(session, project, paths)
        t1 = time.perf_counter()
        session.commit()
        t2 = time.perf_counter()
        # What workbench import does next (workbench.records_keeper): store the imported layers' JSONL lines.
        built = exporting.refresh_stored_lines(session, session.info.pop(exporting.CHANGED_LAYERS, ()))
        session.commit()
        t3 = time.perf_counter()
    engine.dispose()
    assert report.documents == documents, report.summary()
    wall = t2 - t0
    db_time = db_seconds[0] + (t2 - t1)
    lines = f"  then {built} layers' JSONL lines stored in {t3 - t2:.2f} s" if built else ""
    print(
        f"{label:<34} {documents:>6} docs  wall {wall:6.2f} s  db {db_time:5.2f} s  "
        f"{documents / wall:8,.0f} docs/s  peak RSS {peak_rss_mib():6.0f} MiB  ({report.summary()}){lines}"
    )
    return {"wall": wall, "db": db_time, "lines": t3 - t2}


def main() -> None:
    """Generate the inputs, run the three imports and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--text-files", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}, SQLite, {args.documents} articles of ~2,500 chars")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        plain = workdir / "plain.jsonl"
        size = write_jsonl(plain, args.documents, args.seed, layer=False)
        gold = workdir / "gold.jsonl"
        write_jsonl(gold, args.documents, args.seed, layer=True)
        folder = workdir / "texts"
        write_folder(folder, args.text_files, args.seed)
        print(f"inputs written ({size / 1e6:.1f} MB of JSONL); peak RSS so far {peak_rss_mib():.0f} MiB")
        run("JSONL, plain documents", workdir, [plain], args.documents)
        run("JSONL, gold layer (10 spans/doc)", workdir, [gold], args.documents)
        run("text folder", workdir, [folder], args.text_files)


if __name__ == "__main__":
    main()
