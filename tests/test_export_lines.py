"""The layers' JSONL lines an export stores for the next one (SQLite and PostgreSQL).

A repeated export copies each layer's stored line instead of building it,
which must never give a line that differs from the one built afresh: every
change to what a line is made of makes the next export build and store it
again.  The tests plant a marker in the stored lines to see which ones an
export copied.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import String
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import update

from factories import make_user
from test_export import _rich_project
from workbench.formats import WRITERS
from workbench.formats import ExportContext
from workbench.formats import brat
from workbench.formats import jsonl
from workbench.formats import labelstudio
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Document
from workbench.models import ExportDocumentLine
from workbench.models import ExportLine
from workbench.models import Project
from workbench.models import Span
from workbench.models import User
from workbench.services import annotation
from workbench.services import assignment
from workbench.services import exporting
from workbench.services import projects as project_service

MARK = "planted by the test"


def export(db, tmp_path: Path, layer: str = "all", *, project, **options) -> tuple[str, exporting.SplitCounts]:
    """Export ``layer`` as JSONL to a file the way ``workbench export`` does; return its text and counts."""
    out = tmp_path / f"{layer}.jsonl"
    result = exporting.export_to_path(db, project, out, layer=layer, force=True, **options)
    return out.read_text(encoding="utf-8"), result.files[0][2]


def truth(db, project, layer: str = "all") -> str:
    """Return the export built from the records themselves, no stored line involved."""
    return "".join(jsonl.dumps(jsonl.with_notes(r)) + "\n" for r in exporting.export_records(db, project, layer))


def plant(db) -> int:
    """Replace every stored line by a marker line (its layer id in it); return how many there are."""
    db.execute(update(ExportLine).values(line=literal('{"planted": "' + MARK + ' ') + cast(ExportLine.set_id, String) + literal('"}')))
    db.commit()
    return db.scalar(select(func.count()).select_from(ExportLine))


def planted(text: str) -> list[str]:
    """Return the lines of ``text`` an export copied from the planted stored lines."""
    return [line for line in text.splitlines() if MARK in line]


@pytest.fixture
def project(db):
    """The rich project (emoji, CRLF, notes, chains, several layers of each kind) with a curator."""
    project = _rich_project(db)
    curator = make_user(db, "cur", role="curator")
    project_service.add_member(db, project, curator)
    db.commit()
    return project


def test_a_repeated_export_copies_the_stored_lines_and_counts_the_same(db, tmp_path, project):
    first, counts = export(db, tmp_path, project=project)
    assert first == truth(db, project)
    layers = db.scalar(select(func.count()).select_from(AnnotationSet))
    assert db.scalar(select(func.count()).select_from(ExportLine)) == layers  # one stored line per layer exported
    again, counts_again = export(db, tmp_path, project=project)
    assert again == first and counts_again == counts
    # the second export copied them: a planted line comes out as planted, counted as the real one was
    assert plant(db) == layers
    copied, counts_copied = export(db, tmp_path, project=project)
    assert len(planted(copied)) == layers and counts_copied == counts
    # the documents' plain lines too
    documents = db.scalar(select(func.count()).select_from(Document))
    assert db.scalar(select(func.count()).select_from(ExportDocumentLine)) == documents
    db.execute(update(ExportDocumentLine).values(line=literal('{"planted": "' + MARK + '"}')))
    db.commit()
    copied, counts_copied = export(db, tmp_path, project=project)
    assert len(planted(copied)) == layers + documents == counts.records and counts_copied == counts
    assert sorted(counts_copied.labels) == ["CLAIM", "CUE", "ORG", "PERSON"]
    # the other formats never use them
    records = list(exporting.export_records(db, project, "gold"))
    assert all(MARK not in json.dumps(r) for r in records) and len(records) == 3


def _layer(db, project, external_id: str, kind: str) -> AnnotationSet:
    """Return the first layer of ``kind`` on the document ``external_id``."""
    return db.scalars(
        select(AnnotationSet).join(Document).where(Document.project_id == project.id, Document.external_id == external_id,
                                                   AnnotationSet.kind == kind).order_by(AnnotationSet.id)
    ).first()


def _ops(db, project, ops: list[dict]) -> set[int]:
    """Apply ``ops`` as the curator to b-plain's gold layer; return the layers whose line must be built again."""
    layer = _layer(db, project, "b-plain", "gold")
    curator = db.scalar(select(User).where(User.username == "cur"))
    annotation.apply_ops(db, curator, layer.id, layer.version, "test-batch", ops)
    db.commit()
    return {layer.id}


def new_span(db, project):
    return _ops(db, project, [{"op": "span.create", "id": "T9", "start": 59, "end": 66, "label": "ORG"}])


def delete_span_of_attribution(db, project):
    return _ops(db, project, [{"op": "attribution.delete", "id": "A1"}, {"op": "span.delete", "id": "T2"}])


def layer_note(db, project):
    return _ops(db, project, [{"op": "layer.update", "note": "a new note on the document"}])


def status(db, project):
    layer = _layer(db, project, "a-rich", "annotator")
    assignment.change_status(db, layer, db.get(User, layer.user_id), "in_progress" if layer.status == "submitted" else "submitted")
    db.commit()
    return {layer.id}


def meta(db, project):
    document = db.scalar(select(Document).where(Document.external_id == "a-rich"))
    db.execute(update(Document).where(Document.id == document.id).values(meta={**document.meta, "source": "Another wire"}))
    db.commit()
    return set(db.scalars(select(AnnotationSet.id).where(AnnotationSet.document_id == document.id)))


def title(db, project):
    db.execute(update(Document).where(Document.external_id == "b-plain").values(title="A title given later"))
    db.commit()
    return {_layer(db, project, "b-plain", "gold").id}


def username(db, project):
    layer = _layer(db, project, "a-rich", "annotator")
    db.execute(update(User).where(User.id == layer.user_id).values(username="ingrid-renamed"))
    db.commit()
    return set(db.scalars(select(AnnotationSet.id).where(AnnotationSet.user_id == layer.user_id)))


def raw_label(db, project):
    """A span relabelled by SQL that does not bump the layer's version (a script, a later migration)."""
    layer = _layer(db, project, "b-plain", "gold")
    db.execute(update(Span).where(Span.set_id == layer.id, Span.uid == "T1").values(label="ORG"))
    db.commit()
    return {layer.id}


def raw_content(db, project):
    """An attribution's content piece deleted by SQL, the layer's version untouched."""
    layer = _layer(db, project, "a-rich", "gold")
    first = db.scalar(select(Attribution.id).where(Attribution.set_id == layer.id).order_by(Attribution.id))
    db.execute(delete(AttributionContent).where(AttributionContent.attribution_id == first))
    db.commit()
    return {layer.id}


def schema_version(db, project):
    schema = dict(project.label_schema)
    schema["version"] = int(schema.get("version", 1)) + 1
    db.execute(update(Project).where(Project.id == project.id).values(label_schema=schema))
    db.commit()
    db.expire_all()
    return set(db.scalars(select(AnnotationSet.id)))


def exported(db, project, layer: str) -> set[int]:
    """Return the ids of the layers an export of ``layer`` writes."""
    return set(db.scalars(
        select(AnnotationSet.id).join(Document).where(Document.project_id == project.id, *exporting._set_filter(layer))
    ))


@pytest.mark.parametrize("layer", ["all", "gold", "annotators"])
@pytest.mark.parametrize(
    "change",
    [new_span, delete_span_of_attribution, layer_note, status, meta, title, username, raw_label, raw_content, schema_version],
)
def test_a_change_to_what_a_line_is_made_of_builds_it_again(db, tmp_path, project, change, layer):
    export(db, tmp_path, layer, project=project)
    plant(db)
    changed = change(db, project)
    assert changed
    text, counts = export(db, tmp_path, layer, project=project)
    expected = truth(db, project, layer)
    # exactly the lines of the changed layers are built again, and they are right
    unchanged = exported(db, project, layer) - changed
    assert sorted(planted(text)) == sorted(f'{{"planted": "{MARK} {set_id}"}}' for set_id in unchanged)
    rebuilt = [line for line in text.splitlines() if MARK not in line]
    assert set(rebuilt) <= set(expected.splitlines())
    layered = [line for line in rebuilt if json.loads(line)["layer"] is not None]  # plain records are never stored
    assert len(layered) == len(exported(db, project, layer) & changed)
    # and stored again: once the planted lines are forgotten, the next export is the whole truth, counted alike
    db.execute(update(ExportLine).where(ExportLine.line.contains(MARK)).values(version=-1))
    db.commit()
    again, counts_again = export(db, tmp_path, layer, project=project)
    assert again == expected
    assert counts_again == _counts_of(expected)


def _counts_of(text: str) -> exporting.SplitCounts:
    """Return the counts the manifest gives for the JSONL ``text``."""
    counts = exporting.SplitCounts()
    records = [json.loads(line) for line in text.splitlines()]
    counts.records = len(records)
    counts.documents = len({r["id"] for r in records})
    for record in records:
        kind = record["layer"] or "document"
        counts.layers[kind] = counts.layers.get(kind, 0) + 1
        counts.spans += len(record["spans"])
        for span in record["spans"]:
            counts.labels[span["label"]] = counts.labels.get(span["label"], 0) + 1
        counts.relations += len(record["relations"])
        counts.attributions += len(record["attributions"])
    return counts


def test_deleting_a_layer_deletes_its_stored_line(db, tmp_path, project):
    export(db, tmp_path, project=project)
    layer = _layer(db, project, "a-rich", "prediction")
    assert db.get(ExportLine, (layer.id, "jsonl")) is not None
    db.delete(layer)
    db.commit()
    assert db.get(ExportLine, (layer.id, "jsonl")) is None
    assert export(db, tmp_path, project=project)[0] == truth(db, project)


def test_a_busy_database_stores_nothing_and_the_export_is_still_right(app, db, tmp_path, project, monkeypatch):
    monkeypatch.setattr(exporting.LineStore, "WAIT_MS", 50)
    engine = app.extensions["workbench.engine"]
    with engine.connect() as other:  # another writer holds the lock the lines would need
        if engine.dialect.name == "sqlite":
            other.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            other.exec_driver_sql("BEGIN")
            other.exec_driver_sql("LOCK TABLE export_lines IN EXCLUSIVE MODE")
        text, _counts = export(db, tmp_path, project=project)
        other.rollback()
    assert text == truth(db, project)
    assert db.scalar(select(func.count()).select_from(ExportLine)) == 0
    # once the lock is gone, the next export stores them
    assert export(db, tmp_path, project=project)[0] == text
    assert db.scalar(select(func.count()).select_from(ExportLine)) == db.scalar(select(func.count()).select_from(AnnotationSet))


@pytest.mark.parametrize("layer", ["annotators", "documents"])
def test_worker_processes_and_splits_copy_the_stored_lines_too(db, tmp_path, project, monkeypatch, layer):
    monkeypatch.setattr(exporting, "TASK", 1)  # a range of one document per task: the bounds are exercised
    whole, _counts = export(db, tmp_path, layer, project=project, workers=1)
    assert whole == truth(db, project, layer)
    table, key = (ExportLine, ExportLine.set_id) if layer != "documents" else (ExportDocumentLine, ExportDocumentLine.document_id)
    db.execute(update(table).values(line=literal('{"planted": "' + MARK + ' ') + cast(key, String) + literal('"}')))
    db.commit()
    one = exporting.export_to_path(db, project, tmp_path / "one.jsonl", layer=layer, split="a=0.5,b=0.5", seed=1, workers=1)
    many = exporting.export_to_path(db, project, tmp_path / "many.jsonl", layer=layer, split="a=0.5,b=0.5", seed=1, workers=2)
    total = 0
    for (name, path, counts), (_name, path2, counts2) in zip(one.files, many.files, strict=True):
        text = path.read_text(encoding="utf-8")
        assert text == path2.read_text(encoding="utf-8") and counts == counts2, name
        assert len(planted(text)) == counts.records
        total += counts.records
    assert total == len(whole.splitlines()) == (3 if layer == "annotators" else 5)


def test_the_documents_export_copies_the_stored_plain_lines_until_a_document_changes(db, tmp_path, project):
    first, counts = export(db, tmp_path, "documents", project=project)
    assert first == truth(db, project, "documents")
    documents = db.scalar(select(func.count()).select_from(Document))
    assert db.scalar(select(func.count()).select_from(ExportDocumentLine)) == documents == counts.records
    db.execute(update(ExportDocumentLine).values(line=literal('{"planted": "' + MARK + ' ') + cast(ExportDocumentLine.document_id, String) + literal('"}')))
    db.commit()
    copied, counts_copied = export(db, tmp_path, "documents", project=project)
    assert len(planted(copied)) == documents and counts_copied == counts
    # a new meta, a new title, and a text changed behind the export's back: exactly those three are built again
    ids = {d.external_id: d.id for d in db.scalars(select(Document))}
    db.execute(update(Document).where(Document.external_id == "a-rich").values(meta={"source": "Elsewhere"}))
    db.execute(update(Document).where(Document.external_id == "b-plain").values(title="Harbour"))
    db.execute(update(Document).where(Document.external_id == "d-doc").values(text="Only a document, changed."))
    db.commit()
    text, _counts = export(db, tmp_path, "documents", project=project)
    expected = truth(db, project, "documents")
    rebuilt = [line for line in text.splitlines() if MARK not in line]
    assert sorted(json.loads(line)["id"] for line in rebuilt) == ["a-rich", "b-plain", "d-doc"]
    assert set(rebuilt) <= set(expected.splitlines())
    assert sorted(planted(text)) == sorted(
        f'{{"planted": "{MARK} {doc_id}"}}' for name, doc_id in ids.items() if name not in ("a-rich", "b-plain", "d-doc")
    )
    db.execute(delete(ExportDocumentLine).where(ExportDocumentLine.line.contains(MARK)))
    db.commit()
    assert export(db, tmp_path, "documents", project=project)[0] == expected


# -- formats written record by record (CoNLL, doccano) store their records too ---------------------


def export_as(db, tmp_path: Path, fmt: str, layer: str, project) -> tuple[str, exporting.ExportResult]:
    """Export ``layer`` in ``fmt`` to a file the way ``workbench export`` does; return its text and the result."""
    out = tmp_path / f"{layer}.{fmt}"
    result = exporting.export_to_path(db, project, out, layer=layer, fmt=fmt, force=True)
    return out.read_text(encoding="utf-8"), result


def truth_as(db, project, fmt: str, layer: str) -> tuple[str, list[str]]:
    """Return what the format's writer makes of the records themselves (no stored record involved), and its problems."""
    out = io.StringIO()
    context = ExportContext(schema=project_service.project_schema(project))
    WRITERS[fmt].write(exporting.export_records(db, project, layer), out, context)
    return out.getvalue(), context.problems


def plant_as(db, fmt: str) -> int:
    """Replace every stored record of ``fmt`` (layers' and documents') by a marker line; return how many there are."""
    db.execute(update(ExportLine).where(ExportLine.format == fmt).values(
        line=literal(MARK + " layer ") + cast(ExportLine.set_id, String) + literal("\n")))
    db.execute(update(ExportDocumentLine).where(ExportDocumentLine.format == fmt).values(
        line=literal(MARK + " document ") + cast(ExportDocumentLine.document_id, String) + literal("\n")))
    db.commit()
    return (db.scalar(select(func.count()).select_from(ExportLine).where(ExportLine.format == fmt))
            + db.scalar(select(func.count()).select_from(ExportDocumentLine).where(ExportDocumentLine.format == fmt)))


@pytest.mark.parametrize("fmt", ["conll", "doccano"])
@pytest.mark.parametrize("layer", ["all", "gold", "annotators", "predictions", "documents"])
def test_a_format_written_record_by_record_copies_its_stored_records_and_their_problems(db, tmp_path, project, fmt, layer):
    # a span that cuts a token ("arb" of "harbour"): CoNLL leaves it out and says so, built or copied
    layer_ = _layer(db, project, "b-plain", "gold")
    curator = db.scalar(select(User).where(User.username == "cur"))
    annotation.apply_ops(db, curator, layer_.id, layer_.version, "cut-a-token",
                         [{"op": "span.create", "id": "T8", "start": 19, "end": 22, "label": "ORG"}])
    db.commit()
    first, result = export_as(db, tmp_path, fmt, layer, project)
    expected, problems = truth_as(db, project, fmt, layer)
    assert first == expected and result.problems == problems
    assert bool(problems) == (fmt == "conll" and layer in ("all", "gold"))
    stored = plant_as(db, fmt)
    records = result.files[0][2].records
    assert stored == records  # one stored record per record written (the first export of each format stores them all)
    copied, again = export_as(db, tmp_path, fmt, layer, project)
    assert copied.count(MARK) == records
    assert MARK not in copied.replace(MARK + " layer ", "").replace(MARK + " document ", "")  # nothing half planted
    head = WRITERS[fmt].pieces.head(ExportContext(schema=project_service.project_schema(project)))
    assert "".join(line + "\n" for line in copied.splitlines() if MARK not in line) == head  # only the head is not stored
    assert again.problems == problems  # the copied records' problems are reported again, in order
    assert again.files[0][2] == result.files[0][2]  # counted as the built ones were
    # a change to one layer builds exactly its record again; the JSONL lines are other rows, untouched
    assert db.scalar(select(func.count()).select_from(ExportLine).where(ExportLine.format == "jsonl")) == 0
    changed = new_span(db, project)
    text, _result = export_as(db, tmp_path, fmt, layer, project)
    rebuilt_layers = exported(db, project, layer) & changed if layer != "documents" else set()
    assert text.count(MARK) == copied.count(MARK) - len(rebuilt_layers)
    # once the planted records are forgotten, the export is the whole truth again
    db.execute(update(ExportLine).where(ExportLine.line.contains(MARK)).values(version=-1))
    db.execute(delete(ExportDocumentLine).where(ExportDocumentLine.line.contains(MARK)))
    db.commit()
    final, last = export_as(db, tmp_path, fmt, layer, project)
    expected, problems = truth_as(db, project, fmt, layer)
    assert final == expected and last.problems == problems


def plant_tasks(db) -> int:
    """Plant markers in the stored Label Studio parts: each still the JSON its place needs; return how many there are."""
    kinds = dict(db.execute(select(AnnotationSet.id, AnnotationSet.kind)).all())
    rows = db.scalars(select(ExportLine).where(ExportLine.format == "labelstudio")).all()
    for row in rows:
        marker = f'"planted": "{MARK} layer {row.set_id}"'
        row.line = {"gold": marker, "annotator": marker + labelstudio.GAP + '"ground_truth": false'}.get(kinds[row.set_id], "{" + marker + "}")
    documents = db.scalars(select(ExportDocumentLine).where(ExportDocumentLine.format == "labelstudio")).all()
    for row in documents:
        row.line = f'{{"planted": "{MARK} document {row.document_id}"}}'
    db.commit()
    return len(rows) + len(documents)


@pytest.mark.parametrize("layer", ["all", "gold", "annotators", "predictions", "documents"])
def test_label_studio_tasks_are_put_together_from_stored_parts(db, tmp_path, project, layer):
    first, result = export_as(db, tmp_path, "labelstudio", layer, project)
    expected, _problems = truth_as(db, project, "labelstudio", layer)
    assert first == expected
    tasks = json.loads(first)
    layers = sum(len(t["annotations"]) + len(t["predictions"]) for t in tasks)
    assert plant_tasks(db) == layers + len(tasks)  # a part per layer, and each document's data
    copied, again = export_as(db, tmp_path, "labelstudio", layer, project)
    planted_tasks = json.loads(copied)  # still one JSON array
    assert copied.count(MARK) == layers + len(tasks)
    # the numbers that count across the file are put in as the writer puts them
    assert [t["id"] for t in planted_tasks] == [t["id"] for t in tasks]
    assert [[(a["id"], a.get("completed_by")) for a in t["annotations"]] for t in planted_tasks] == [
        [(a["id"], a.get("completed_by")) for a in t["annotations"]] for t in tasks]
    assert again.files[0][2] == result.files[0][2]
    # a change to one layer builds its part again; once the planted parts are forgotten, the file is the truth again
    changed = new_span(db, project)
    text, _result = export_as(db, tmp_path, "labelstudio", layer, project)
    rebuilt_layers = exported(db, project, layer) & changed if layer != "documents" else set()
    assert text.count(MARK) == copied.count(MARK) - len(rebuilt_layers)
    db.execute(update(ExportLine).where(ExportLine.line.contains(MARK)).values(version=-1))
    db.execute(delete(ExportDocumentLine).where(ExportDocumentLine.line.contains(MARK)))
    db.commit()
    assert export_as(db, tmp_path, "labelstudio", layer, project)[0] == truth_as(db, project, "labelstudio", layer)[0]


@pytest.mark.parametrize("fmt", ["conll", "labelstudio", "doccano"])
def test_split_files_from_stored_records_are_those_built_from_the_records(db, tmp_path, project, fmt):
    """Each split's file restarts what counts across a file (Label Studio's task and annotator numbers) and says its own problems."""
    schema = project_service.project_schema(project)
    for attempt in ("built", "copied"):
        result = exporting.export_to_path(db, project, tmp_path / f"{attempt}.{fmt}", layer="all", fmt=fmt, split="a=0.5,b=0.5", seed=3)
        assert len(result.files) == 2
        problems: list[str] = []
        for name, path, counts in result.files:
            out = io.StringIO()
            context = ExportContext(schema=schema)
            records = [r for r in exporting.export_records(db, project, "all") if r["id"] in _ids_in(path, fmt)]
            WRITERS[fmt].write(records, out, context)
            assert path.read_text(encoding="utf-8") == out.getvalue(), (attempt, name)
            assert counts.records == len(records)
            problems += context.problems
        assert result.problems == problems
    assert db.scalar(select(func.count()).select_from(ExportLine).where(ExportLine.format == fmt)) > 0


def _ids_in(path: Path, fmt: str) -> set[str]:
    """Return the document ids a file of ``fmt`` holds."""
    text = path.read_text(encoding="utf-8")
    if fmt == "conll":
        return {line[len("# id = "):] for line in text.splitlines() if line.startswith("# id = ")}
    if fmt == "labelstudio":
        return {task["data"]["id"] for task in json.loads(text)}
    return {json.loads(line)["id"] for line in text.splitlines()}


@pytest.mark.parametrize("fmt", ["conll", "doccano", "labelstudio", "brat"])
def test_worker_processes_write_every_stored_format_as_one_process_does(db, tmp_path, project, monkeypatch, fmt):
    monkeypatch.setattr(exporting, "TASK", 1)  # a range of one document per task
    # a span that cuts a token: CoNLL's problem comes back from its worker, in order
    layer_ = _layer(db, project, "b-plain", "gold")
    curator = db.scalar(select(User).where(User.username == "cur"))
    annotation.apply_ops(db, curator, layer_.id, layer_.version, "cut", [{"op": "span.create", "id": "T8", "start": 19, "end": 22, "label": "ORG"}])
    db.commit()
    expected, problems = truth_bytes(db, project, fmt, "all")
    for attempt in ("built", "copied"):
        one = exporting.export_to_path(db, project, tmp_path / f"one-{attempt}.{fmt}", layer="all", fmt=fmt, workers=1)
        many = exporting.export_to_path(db, project, tmp_path / f"many-{attempt}.{fmt}", layer="all", fmt=fmt, workers=2)
        assert one.files[0][1].read_bytes() == many.files[0][1].read_bytes() == expected, attempt
        assert one.problems == many.problems == problems and one.files[0][2] == many.files[0][2]
    assert bool(problems) == (fmt in ("conll", "brat"))
    # Label Studio's numbers count across the file although the documents came from several workers
    if fmt == "labelstudio":
        tasks = json.loads(expected)
        assert [t["id"] for t in tasks] == list(range(1, len(tasks) + 1)) and len(tasks) > 2


def plant_parts(db) -> int:
    """Replace every stored brat part by the part of a one-file record named after the marker; return how many."""
    rows = [*db.scalars(select(ExportLine).where(ExportLine.format == "brat")),
            *db.scalars(select(ExportDocumentLine).where(ExportDocumentLine.format == "brat"))]
    for row in rows:
        key = getattr(row, "set_id", None) or f"d{row.document_id}"
        row.line = brat.record_part({"id": f"planted-{key}", "text": MARK, "layer": None})
    db.commit()
    return len(rows)


@pytest.mark.parametrize("layer", ["all", "gold", "annotators", "documents"])
def test_the_brat_zip_is_written_from_stored_parts_compressed_once(db, tmp_path, project, layer):
    def names(result) -> list[str]:
        with zipfile.ZipFile(result.files[0][1]) as archive:
            assert archive.testzip() is None
            return archive.namelist()

    first, result = export_bytes(db, tmp_path, "brat", layer, project)
    expected, problems = truth_bytes(db, project, "brat", layer)
    assert first == expected and result.problems == problems
    assert bool(problems) == (layer != "documents")  # layers' notes on the document, long attributes: brat has no place for them
    stored = plant_parts(db)
    assert stored == result.files[0][2].records
    _copied, again = export_bytes(db, tmp_path, "brat", layer, project)
    planted_names = [name for name in names(again) if "planted-" in name]
    assert len(planted_names) == stored and len(names(again)) == stored + 1  # and annotation.conf
    assert again.problems == problems and again.files[0][2] == result.files[0][2]
    changed = new_span(db, project)
    _text, after = export_bytes(db, tmp_path, "brat", layer, project)
    rebuilt_layers = exported(db, project, layer) & changed if layer != "documents" else set()
    assert len([name for name in names(after) if "planted-" in name]) == stored - len(rebuilt_layers)
    db.execute(delete(ExportLine).where(ExportLine.format == "brat"))
    db.execute(delete(ExportDocumentLine).where(ExportDocumentLine.format == "brat"))
    db.commit()
    assert export_bytes(db, tmp_path, "brat", layer, project)[0] == truth_bytes(db, project, "brat", layer)[0]


def export_bytes(db, tmp_path: Path, fmt: str, layer: str, project) -> tuple[bytes, exporting.ExportResult]:
    """Export ``layer`` in ``fmt`` to a file the way ``workbench export`` does; return its bytes and the result."""
    out = tmp_path / f"{layer}.{fmt}"
    result = exporting.export_to_path(db, project, out, layer=layer, fmt=fmt, force=True)
    return out.read_bytes(), result


def truth_bytes(db, project, fmt: str, layer: str) -> tuple[bytes, list[str]]:
    """Return what the format's writer makes of the records themselves, and its problems."""
    context = ExportContext(schema=project_service.project_schema(project))
    if not WRITERS[fmt].binary:
        text, problems = truth_as(db, project, fmt, layer)
        return text.encode("utf-8"), problems
    out = io.BytesIO()
    WRITERS[fmt].write(exporting.export_records(db, project, layer), out, context)
    return out.getvalue(), context.problems
