"""Exporting datasets: record shape, layers, golden file, round trips, splits (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from factories import make_document
from factories import make_project
from workbench.errors import InvalidInput
from workbench.formats import jsonl
from workbench.models import AnnotationSet
from workbench.services import exporting
from workbench.services import importing

DATA = Path(__file__).parent / "data"


def export_text(db, project, layer: str, only=None) -> str:
    """Return the JSONL export of ``layer`` as a string."""
    out = io.StringIO()
    exporting.write_export(db, project, layer, "jsonl", out, only=only)
    return out.getvalue()


def test_export_all_matches_the_golden_file(db):
    project = make_project(db)
    importing.import_paths(db, project, [DATA / "layers.jsonl"])
    db.commit()
    assert export_text(db, project, "all") == (DATA / "layers.export-all.jsonl").read_text(encoding="utf-8")


def test_each_layer_choice_writes_its_records(db):
    project = make_project(db)
    importing.import_paths(db, project, [DATA / "layers.jsonl"])
    make_document(db, project, "A plain article.", external_id="aaa-plain")
    db.commit()

    def keys(layer):
        """Return (id, layer, annotator) of each record of ``layer``."""
        return [(r["id"], r["layer"], r["annotator"]) for r in exporting.export_records(db, project, layer)]

    assert keys("gold") == [("kestrel-prices", "gold", None), ("ostby-mill", "gold", None)]
    assert keys("annotators") == [("ostby-mill", "annotator", "ingrid")]
    assert keys("predictions") == [("ostby-mill", "prediction", "ner-small-v2")]
    assert keys("documents") == [("aaa-plain", None, None), ("kestrel-prices", None, None), ("ostby-mill", None, None)]
    assert len(keys("all")) == sum(len(keys(layer)) for layer in ("gold", "annotators", "predictions", "documents"))
    with pytest.raises(InvalidInput, match="unknown layer"):
        list(exporting.export_records(db, project, "silver"))
    with pytest.raises(InvalidInput, match="unknown export format"):
        exporting.write_export(db, project, "gold", "csv", io.StringIO())


def test_gold_that_is_not_adjudicated_is_not_exported_as_gold(db):
    project = make_project(db)
    doc = make_document(db, project, "Work in progress.", external_id="wip")
    db.add(AnnotationSet(document_id=doc.id, kind="gold", owner_key="gold", status="in_progress"))
    db.commit()
    assert list(exporting.export_records(db, project, "gold")) == []


def test_record_shape(db):
    project = make_project(db)
    importing.import_paths(db, project, [DATA / "layers.jsonl"])
    db.commit()
    record = next(r for r in exporting.export_records(db, project, "gold") if r["id"] == "ostby-mill")
    assert record["format_version"] == 1
    assert record["schema"] == {"name": "news", "version": 1}
    assert record["meta"]["title"] == "Ostby mill to close"
    assert [(s["start"], s["end"], s["label"]) for s in record["spans"]] == sorted(
        (s["start"], s["end"], s["label"]) for s in record["spans"]
    )
    import hashlib

    assert record["text_sha256"] == hashlib.sha256(record["text"].encode("utf-8")).hexdigest()


TRICKY = "Zoë 😀 Ferrand said:\r\n\"Cafe\u0301 prices rise 𝕏 today,\" told 🇳🇴 Radio."


def test_emoji_crlf_and_combining_marks_survive_import_and_export(db):
    spans = []
    for i, (piece, label) in enumerate(
        [("Zoë 😀 Ferrand", "PERSON"), ("said", "CUE"), ("Cafe\u0301 prices rise 𝕏 today", "CLAIM"), ("Radio", "ORG")], 1
    ):
        start = TRICKY.index(piece)
        spans.append({"id": f"T{i}", "start": start, "end": start + len(piece), "label": label, "text": piece, "attrs": {}})
    record = {"id": "tricky", "text": TRICKY, "layer": "gold", "spans": spans}
    project = make_project(db)
    importing.import_stream(db, project, "tricky.jsonl", (json.dumps(record) + "\n").encode("utf-8"))
    db.commit()
    (exported,) = [json.loads(line) for line in export_text(db, project, "gold").splitlines()]
    assert exported["text"] == TRICKY
    for span in exported["spans"]:
        assert exported["text"][span["start"] : span["end"]] == span["text"]
    assert [(s["id"], s["start"], s["end"], s["text"]) for s in exported["spans"]] == [
        (s["id"], s["start"], s["end"], s["text"]) for s in spans
    ]


def test_an_export_imports_into_another_project_unchanged(db):
    first = make_project(db, "first")
    second = make_project(db, "second")
    importing.import_paths(db, first, [DATA / "layers.jsonl"])
    db.commit()
    exported = export_text(db, first, "all")
    report = importing.import_stream(db, second, "first.jsonl", exported.encode("utf-8"))
    db.commit()
    assert (report.documents, report.layers) == (2, 4)
    assert export_text(db, second, "all") == exported


def test_split_keeps_the_records_of_a_document_together_and_is_deterministic(db):
    project = make_project(db)
    importing.import_paths(db, project, [DATA / "layers.jsonl"])
    for i in range(18):
        make_document(db, project, f"Article number {i}.", external_id=f"doc-{i:02d}")
    db.commit()
    plan = exporting.plan_split(db, project, "train=0.8,dev=0.1,test=0.1", seed=3)
    assert plan == exporting.plan_split(db, project, "train=0.8,dev=0.1,test=0.1", seed=3)
    assert {name: len(ids) for name, ids in plan.items()} == {"train": 16, "dev": 2, "test": 2}
    seen: dict[str, str] = {}
    for name, ids in plan.items():
        for line in export_text(db, project, "all", only=ids).splitlines():
            doc_id = json.loads(line)["id"]
            assert seen.setdefault(doc_id, name) == name
    assert len(seen) == 20
    with pytest.raises(InvalidInput, match="^--split: split fractions add up to 0.9"):
        exporting.plan_split(db, project, "train=0.8,dev=0.1", seed=1)


def test_export_queries_per_batch_not_per_document(db):
    project = make_project(db)
    lines = []
    for i in range(300):
        text = f"Person {i} said something."
        lines.append(json.dumps({"id": f"d{i:03d}", "text": text, "layer": "gold", "spans": [{"id": "T1", "start": 0, "end": 6, "label": "PERSON"}]}))
    importing.import_stream(db, project, "many.jsonl", ("\n".join(lines) + "\n").encode())
    db.commit()
    statements: list[str] = []
    engine = db.get_bind()

    def count(*_args):
        """Count one statement."""
        statements.append("x")

    event.listen(engine, "before_cursor_execute", count)
    try:
        records = list(exporting.export_records(db, project, "gold"))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(records) == 300 and all(r["spans"][0]["text"] == "Person" for r in records)
    assert len(statements) <= 16, len(statements)


def test_export_order_is_code_point_order_on_every_database(db):
    project = make_project(db)
    ids = ["b", "B", "é", "z", "Z", "ä", "a-1", "a_1", "a1", "Ω", "😀", "ａ"]
    for i, external_id in enumerate(ids):
        make_document(db, project, f"Text number {i}.", external_id=external_id)
    db.commit()
    assert [r["id"] for r in exporting.export_records(db, project, "documents")] == sorted(ids)


def test_exporting_a_layer_reads_only_the_documents_it_writes(db):
    project = make_project(db)
    lines = [json.dumps({"id": f"plain-{i:04d}", "text": f"Plain article {i}."}) for i in range(450)]
    lines.append(json.dumps({"id": "gold-1", "text": "Ana Berg said so.", "layer": "gold", "spans": [{"start": 0, "end": 8, "label": "PERSON"}]}))
    importing.import_stream(db, project, "mix.jsonl", ("\n".join(lines) + "\n").encode())
    db.commit()
    text_queries: list[tuple[str, object]] = []
    engine = db.get_bind()

    def spy(_conn, _cursor, statement, parameters, _context, _many):
        """Keep each statement that reads documents' texts, to count the texts it read afterwards."""
        if "documents.text" in statement:
            text_queries.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", spy)
    try:
        assert [r["id"] for r in exporting.export_records(db, project, "gold")] == ["gold-1"]
    finally:
        event.remove(engine, "before_cursor_execute", spy)
    texts_read = [len(db.connection().exec_driver_sql(statement, parameters).all()) for statement, parameters in text_queries]
    assert sum(texts_read) == 1, texts_read  # the one gold document's text, not the 450 plain ones


def _rich_project(db, ready_formats: list[str] | None = None):
    """A project with emoji, CRLF, quotes, notes everywhere, provenance, relations, chained attributions and several layers.

    :param ready_formats: the export formats the project keeps ready, set before the import.
    """
    text = 'Zoë 😀 Ferrand said:\r\n"Prices rise," told Radio Øst.\tEnd.'

    def at(piece, label, uid, **extra):
        start = text.index(piece)
        return {"id": uid, "start": start, "end": start + len(piece), "label": label, **extra}

    spans = [
        at("Zoë 😀 Ferrand", "PERSON", "T1", attrs={"note": "check the name"}, provenance={"model": "ner", "score": 0.5}),
        at("said", "CUE", "T2"),
        at("Prices rise", "CLAIM", "T3", attrs={"factuality": "asserted", "ünicode": ["ø", 1.5, None, True]}),
        at("Radio Øst", "ORG", "T4"),
        at("told", "CUE", "T5"),
    ]
    plain = "Ana Berg said the harbour will open in June and the council agreed."
    records = [
        {"id": "a-rich", "text": text, "meta": {"title": "Prices", "source": "Wire ✓", "note": "the document's own note"}},
        {
            "id": "a-rich", "text": text, "meta": {"note": "gold: two quotes\r\nhere"}, "layer": "gold", "spans": spans,
            "relations": [{"id": "R1", "type": "member_of", "head": "T1", "tail": "T4", "provenance": {"rule": "r1"}}],
            "attributions": [
                {"id": "A1", "source": "T4", "cue": "T5", "content": ["T3"], "attrs": {"note": "relayed"}},
                {"id": "A2", "source": "T1", "cue": "T2", "content": ["T3"], "parent": "A1", "provenance": {"by": "rule"}},
            ],
        },
        {"id": "a-rich", "text": text, "layer": "annotator", "annotator": "ingrid", "spans": spans[:2], "meta": {"note": "unsure"}},
        {"id": "a-rich", "text": text, "layer": "annotator", "annotator": "omar", "spans": spans[2:]},
        {"id": "a-rich", "text": text, "layer": "prediction", "annotator": "ner-v1", "spans": [at("Radio Øst", "ORG", "p1", provenance={})]},
        {"id": "b-plain", "text": plain, "meta": {"source": "Harbour News"}, "layer": "gold", "spans": [
            {"id": "T1", "start": 0, "end": 8, "label": "PERSON"},
            {"id": "T2", "start": 9, "end": 13, "label": "CUE"},
            {"id": "T3", "start": 14, "end": 44, "label": "CLAIM", "attrs": {"note": "a note on a plain text"}},
        ], "attributions": [{"id": "A1", "source": "T1", "cue": "T2", "content": ["T3"]}]},
        {"id": "c-empty", "text": "Nothing to see.", "layer": "gold"},
        {"id": "d-doc", "text": "Only a document, with \\ a backslash."},
        {"id": "e-😀", "text": plain, "layer": "annotator", "annotator": "ingrid", "spans": [{"start": 0, "end": 8, "label": "PERSON"}]},
    ]
    project = make_project(db)
    if ready_formats is not None:
        exporting.set_ready_formats(db, project, ready_formats)
        db.commit()
    importing.import_stream(db, project, "rich.jsonl", jsonl_bytes(*records))
    db.commit()
    return project


def jsonl_bytes(*records) -> bytes:
    """Return records as JSONL bytes."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


@pytest.mark.parametrize("batch", [1, 2, 200])
def test_jsonl_written_from_the_documents_is_byte_identical_to_dumping_the_records(db, tmp_path, monkeypatch, batch):
    monkeypatch.setattr(exporting, "BATCH", batch)
    project = _rich_project(db)
    assert exporting.require_writer("jsonl").write_documents is not None  # the fast road is the one taken
    for layer in exporting.LAYERS:
        records = list(exporting.export_records(db, project, layer))
        plain = "".join(json.dumps(jsonl.with_notes(r), ensure_ascii=False) + "\n" for r in records)
        assert export_text(db, project, layer) == plain, layer
        binary = io.BytesIO()
        assert exporting.write_export(db, project, layer, "jsonl", binary) == len(records)
        assert binary.getvalue() == plain.encode("utf-8"), layer
        result = exporting.export_to_path(db, project, tmp_path / f"{layer}.jsonl", layer=layer, fmt="jsonl")
        assert (tmp_path / f"{layer}.jsonl").read_bytes() == plain.encode("utf-8")
        (_name, _path, counts) = result.files[0]
        assert (counts.records, counts.documents) == (len(records), len({r["id"] for r in records}))
        assert counts.spans == sum(len(r["spans"]) for r in records)
        assert counts.attributions == sum(len(r["attributions"]) for r in records)
        assert counts.relations == sum(len(r["relations"]) for r in records)
    gold = {r["id"]: r for r in exporting.export_records(db, project, "gold")}
    rich = json.loads(jsonl.dumps(jsonl.with_notes(gold["a-rich"])))
    assert rich["meta"] == {"title": "Prices", "source": "Wire ✓", "note": "gold: two quotes\r\nhere"}
    assert [a.get("parent") for a in rich["attributions"]] == [None, "A1"]
    assert rich["spans"][0]["attrs"] == {"note": "check the name"} and rich["spans"][0]["provenance"]["score"] == 0.5
    # and what was written reads back into another project as the same records
    other = make_project(db, "other")
    importing.import_stream(db, other, "all.jsonl", (tmp_path / "all.jsonl").read_bytes())
    db.commit()
    assert export_text(db, other, "all") == (tmp_path / "all.jsonl").read_text(encoding="utf-8")


def test_an_export_built_by_worker_processes_is_the_file_one_process_writes(db, tmp_path, monkeypatch):
    monkeypatch.setattr(exporting, "TASK", 2)  # several ranges, more than the workers take at once
    project = _rich_project(db)
    for i in range(7):
        make_document(db, project, f"Filler article {i} with \"quotes\".", external_id=f"f-{i}")
    db.commit()
    for layer, split in [("all", None), ("gold", None), ("annotators", "train=0.5,test=0.5")]:
        one, many = tmp_path / f"one-{layer}.jsonl", tmp_path / f"many-{layer}.jsonl"
        single = exporting.export_to_path(db, project, one, layer=layer, split=split, seed=3, workers=1)
        pooled = exporting.export_to_path(db, project, many, layer=layer, split=split, seed=3, workers=2)
        for (name, path, counts), (name2, path2, counts2) in zip(single.files, pooled.files, strict=True):
            assert name == name2 and path.read_bytes() == path2.read_bytes() and path.stat().st_size > 0
            assert counts == counts2
    assert exporting.export_workers(db, project, "all", exporting.require_writer("jsonl")) == 1  # a small project: no workers


def test_workers_are_used_only_when_records_are_to_be_built(db, tmp_path, monkeypatch):
    project = _rich_project(db)
    jsonl = exporting.require_writer("jsonl")
    monkeypatch.setattr(exporting.os, "getloadavg", lambda: (0.0, 0.0, 0.0))  # a quiet machine of two cores
    monkeypatch.setattr(exporting.os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setattr(exporting, "PARALLEL_FROM", 3)
    layers = {layer: db.scalar(select(func.count(AnnotationSet.id)).where(*exporting._set_filter(layer))) for layer in ("gold", "all")}
    assert exporting.records_to_build(db, project, "gold", "jsonl") == layers["gold"] == 3
    assert exporting.records_to_build(db, project, "all", "jsonl") == layers["all"] + 5  # and the five documents' plain lines
    sqlite = db.get_bind().dialect.name == "sqlite"
    assert exporting.export_workers(db, project, "all", jsonl) == (2 if sqlite else 1)
    exporting.export_to_path(db, project, tmp_path / "all.jsonl", layer="all", workers=1)  # stores every line
    assert exporting.records_to_build(db, project, "all", "jsonl") == 0
    assert exporting.export_workers(db, project, "all", jsonl) == 1  # copying is one process's work
    assert exporting.records_to_build(db, project, "all", "conll") == layers["all"] + 5  # another format's are not stored
    assert exporting.export_workers(db, project, "gold", exporting.require_writer("conll")) == (2 if sqlite else 1)


def test_a_worker_that_fails_leaves_no_file(db, tmp_path, monkeypatch):
    project = _rich_project(db)
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "out.jsonl"
    target.write_text("the file from before\n")
    with pytest.raises(InvalidInput, match="unknown layer"):
        exporting._write_pooled(db, project, "silver", "jsonl", io.BytesIO(), None, exporting.SplitCounts(), None, 2)
    # workers that cannot open the database: the export fails and the old file is untouched
    monkeypatch.setattr(exporting, "_database_url", lambda _session: f"sqlite:///{tmp_path / 'no-such-folder' / 'x.sqlite3'}")
    with pytest.raises(OperationalError):
        exporting.export_to_path(db, project, target, layer="all", force=True, workers=2)
    assert target.read_text() == "the file from before\n"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["out.jsonl"]
