"""Importing files into a project: layers, users, all-or-nothing per file (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import jsonl
from factories import make_document
from factories import make_project
from factories import make_user
from sqlalchemy import func
from sqlalchemy import select

from workbench.errors import ImportError_
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Change
from workbench.models import Document
from workbench.models import Membership
from workbench.models import Relation
from workbench.models import Span
from workbench.models import User
from workbench.services import importing

DATA = Path(__file__).parent / "data"
EXAMPLE = Path(__file__).resolve().parents[2] / "shared/reference/example-article.txt"
TEXT = "Anna Berg said the mill will close."
GOLD = {
    "id": "d1",
    "text": TEXT,
    "layer": "gold",
    "spans": [
        {"id": "T1", "start": 0, "end": 9, "label": "PERSON", "text": "Anna Berg"},
        {"id": "T2", "start": 10, "end": 14, "label": "CUE"},
        {"id": "T3", "start": 15, "end": 34, "label": "CLAIM"},
    ],
    "attributions": [{"id": "A1", "source": "T1", "cue": "T2", "content": ["T3"]}],
}


def counts(db) -> dict[str, int]:
    """Return row counts of the tables an import writes (after ending the read snapshot)."""
    db.rollback()
    return {
        model.__tablename__: db.scalar(select(func.count()).select_from(model)) or 0
        for model in (Document, AnnotationSet, Span, Relation, Attribution, AttributionContent, Change, User, Membership)
    }


def test_layers_sharing_an_id_become_one_document_with_three_layers(db):
    project = make_project(db)
    report = importing.import_paths(db, project, [DATA / "layers.jsonl"])
    db.commit()
    assert (report.documents, report.unchanged, report.layers, len(report.files)) == (2, 0, 4, 1)
    assert report.summary() == "Imported 2 documents (0 unchanged), 4 layers from 1 file"
    doc = db.scalar(select(Document).where(Document.external_id == "ostby-mill"))
    assert doc.title == "Ostby mill to close" and doc.meta["published"] == "2025-04-01"
    sets = {s.owner_key: s for s in db.scalars(select(AnnotationSet).where(AnnotationSet.document_id == doc.id))}
    ingrid = db.scalar(select(User).where(User.username == "ingrid"))
    assert set(sets) == {"gold", f"annotator:{ingrid.id}", "prediction:ner-small-v2"}
    assert (sets["gold"].kind, sets["gold"].status) == ("gold", "adjudicated")
    assert (sets[f"annotator:{ingrid.id}"].status, sets[f"annotator:{ingrid.id}"].user_id) == ("submitted", ingrid.id)
    prediction = sets["prediction:ner-small-v2"]
    assert (prediction.kind, prediction.status, prediction.model_name) == ("prediction", "suggested", "ner-small-v2")
    # The unknown annotator became an inactive user without a password, an annotator of the project.
    assert ingrid.active is False and ingrid.password_hash is None and ingrid.role == "annotator"
    assert db.scalar(select(Membership.role).where(Membership.user_id == ingrid.id)) == "annotator"
    gold_spans = {s.uid: s for s in db.scalars(select(Span).where(Span.set_id == sets["gold"].id))}
    assert {uid: doc.text[s.start : s.end] for uid, s in gold_spans.items()}["T5"] == "Radio Ostby"
    relation = db.scalar(select(Relation).where(Relation.set_id == sets["gold"].id))
    assert (relation.uid, relation.type, relation.head_id, relation.tail_id) == ("R1", "located_in", gold_spans["T5"].id, gold_spans["T4"].id)
    attribution = db.scalar(select(Attribution).where(Attribution.set_id == sets["gold"].id))
    assert (attribution.source_id, attribution.cue_id, attribution.attrs) == (gold_spans["T1"].id, gold_spans["T2"].id, {"quote": "indirect"})
    assert [c.span_id for c in attribution.content] == [gold_spans["T3"].id]
    changes = list(db.scalars(select(Change).where(Change.set_id == sets["gold"].id)))
    assert [(c.action, c.user_id, c.payload["line"], c.payload["spans"]) for c in changes] == [("import", None, 2, 6)]


def test_the_importing_user_is_recorded_in_the_history(db):
    curator = make_user(db, "cora", "curator")
    project = make_project(db, members=[curator])
    importing.import_stream(db, project, "one.jsonl", jsonl(GOLD), user=curator)
    db.commit()
    assert db.scalar(select(Change.user_id)) == curator.id


def test_reimporting_plain_records_counts_them_unchanged_and_adds_new_layers(db):
    project = make_project(db)
    importing.import_stream(db, project, "a.jsonl", jsonl({"id": "d1", "text": TEXT}))
    db.commit()
    report = importing.import_stream(db, project, "b.jsonl", jsonl({"id": "d1", "text": TEXT}, GOLD))
    db.commit()
    assert (report.documents, report.unchanged, report.layers) == (0, 1, 1)
    assert counts(db)["documents"] == 1 and counts(db)["spans"] == 3


def test_an_existing_layer_with_annotations_is_refused_and_nothing_of_the_file_kept(db):
    project = make_project(db)
    importing.import_stream(db, project, "a.jsonl", jsonl(GOLD))
    db.commit()
    before = counts(db)
    other = {"id": "d2", "text": "Another text.", "meta": {}}
    with pytest.raises(ImportError_) as info:
        importing.import_stream(db, project, "again.jsonl", jsonl(other, GOLD))
    db.commit()
    assert info.value.message == "again.jsonl:2: document 'd1' already has a gold layer"
    assert counts(db) == before


def test_an_existing_id_with_a_different_text_is_refused(db):
    project = make_project(db)
    make_document(db, project, "A different text.", external_id="d1")
    before = counts(db)
    with pytest.raises(ImportError_) as info:
        importing.import_stream(db, project, "a.jsonl", jsonl({"id": "d0", "text": "New."}, GOLD))
    db.commit()
    assert info.value.message == "a.jsonl:2: document 'd1' already exists with a different text"
    assert counts(db) == before


BAD_FILES = [
    ("broken.jsonl", jsonl(GOLD, "{broken"), 2, "not valid JSON"),
    ("outside.jsonl", jsonl(GOLD, dict(GOLD, id="d2", spans=[{"id": "T1", "start": 30, "end": 99, "label": "PERSON"}])), 2, "lies outside the text"),
    ("mismatch.jsonl", jsonl(GOLD, dict(GOLD, id="d2", spans=[{"id": "T1", "start": 0, "end": 9, "label": "PERSON", "text": "Anna"}])), 2, "covers 'Anna Berg', not 'Anna'"),
    ("label.jsonl", jsonl(GOLD, dict(GOLD, id="d2", spans=[{"id": "T1", "start": 0, "end": 9, "label": "ANIMAL"}])), 2, "label 'ANIMAL' is not in the project's schema"),
    ("relation.jsonl", jsonl(GOLD, dict(GOLD, id="d2", relations=[{"id": "R1", "type": "about", "head": "T3", "tail": "T9"}])), 2, "tail 'T9' is not a span"),
    ("dup.jsonl", jsonl(GOLD, dict(GOLD, id="d2", spans=GOLD["spans"] + GOLD["spans"][:1])), 2, "span id 'T1' is used twice"),
    ("duplayer.jsonl", jsonl(GOLD, GOLD), 2, "id 'd1' already has a gold layer (line 1)"),
    ("binary.txt", b"## Title\n\nBody\x00\n", 3, "a binary file"),
    ("latin1.txt", "## Caf\u00e9\n\nBody.\n".encode("latin-1"), 1, "not UTF-8 text"),
    ("empty.txt", b"", None, "empty file"),
    ("empty.jsonl", b"\n\n", None, "empty file"),
]


@pytest.mark.parametrize("name, data, line, reason", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_are_refused_with_file_line_and_nothing_stored(db, name, data, line, reason):
    project = make_project(db)
    before = counts(db)
    with pytest.raises(ImportError_) as info:
        importing.import_stream(db, project, name, data)
    db.commit()
    where = f"{name}:{line}: " if line else f"{name}: "
    assert info.value.message.startswith(where), info.value.message
    assert reason in info.value.message
    assert "\n" not in info.value.message
    assert counts(db) == before


def test_a_bad_annotator_name_is_refused_with_its_line(db):
    project = make_project(db)
    record = {"id": "d1", "text": TEXT, "layer": "annotator", "annotator": "Ana Smith", "spans": []}
    with pytest.raises(ImportError_, match=r"^x\.jsonl:1: annotator 'Ana Smith': user name"):
        importing.import_stream(db, project, "x.jsonl", jsonl(record))
    db.commit()
    assert counts(db)["users"] == 0 and counts(db)["documents"] == 0


def test_import_paths_stops_at_the_first_bad_file_keeping_earlier_ones(db, tmp_path):
    project = make_project(db)
    (tmp_path / "a.jsonl").write_bytes(jsonl(GOLD))
    (tmp_path / "b.jsonl").write_bytes(jsonl({"id": "x", "text": "X."}, "{oops"))
    (tmp_path / "c.jsonl").write_bytes(jsonl({"id": "y", "text": "Y."}))
    (tmp_path / "notes.csv").write_text("ignored")
    with pytest.raises(ImportError_) as info:
        importing.import_paths(db, project, [tmp_path])
    db.commit()
    assert info.value.message.startswith(f"{tmp_path / 'b.jsonl'}:2: not valid JSON")
    assert [f.filename for f in info.value.extra["report"].files] == [str(tmp_path / "a.jsonl")]
    db.rollback()
    assert list(db.scalars(select(Document.external_id))) == ["d1"]


def test_folders_expand_to_their_text_and_jsonl_files_sorted(tmp_path):
    for name in ("b.md", "a.txt", "c.jsonl", "d.csv", "e.markdown"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    names = [p.name for p in importing.expand_paths([tmp_path])]
    assert names == ["a.txt", "b.md", "c.jsonl", "e.markdown"]
    with pytest.raises(ImportError_, match="no such file or folder"):
        importing.expand_paths([tmp_path / "missing.txt"])


def test_text_import_of_a_wire_article(db):
    project = make_project(db)
    report = importing.import_paths(db, project, [DATA / "wire-article.txt"], fmt="text")
    db.commit()
    assert (report.documents, report.layers) == (1, 0)
    doc = db.scalar(select(Document))
    assert doc.external_id == "wire-article"
    assert doc.title == "Harbour Council Approves New Ferry Link to Skarra Island"
    assert doc.meta["published"] == "2025-01-17"
    assert doc.meta["source"] == "Lowland News Service"
    assert doc.meta["url"] == "https://lowland-news.example/2025/01/17/harbour-council-approves-ferry-link-a1234"
    assert doc.text.startswith("A ferry landing") and "<u>said</u>" in doc.text
    # Importing it again changes nothing.
    again = importing.import_paths(db, project, [DATA / "wire-article.txt"])
    db.commit()
    assert (again.documents, again.unchanged) == (0, 1)


def test_import_of_the_reference_example_article(db):
    if not EXAMPLE.is_file():
        pytest.skip(f"{EXAMPLE} is not there")
    project = make_project(db)
    importing.import_paths(db, project, [EXAMPLE])
    db.commit()
    doc = db.scalar(select(Document))
    assert doc.title == "Russia, U.S. Army Chiefs Hold Rare Call Amid Ukraine Escalation"
    assert doc.meta["published"] == "2024-12-05"
    assert doc.meta["source"] == "AFP"
    assert doc.meta["url"].startswith("https://www.themoscowtimes.com/2024/12/05/")
    assert " " not in doc.meta["url"]
    assert "Original url" not in doc.text and "<u>said</u>" in doc.text


def test_import_stream_refuses_an_unknown_format(db):
    project = make_project(db)
    with pytest.raises(ImportError_, match=r"^upload\.bin: cannot tell the format"):
        importing.import_stream(db, project, "upload.bin", b"\x89PNG")
