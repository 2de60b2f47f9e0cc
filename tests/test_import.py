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
from sqlalchemy import text

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


def test_plain_and_layered_records_of_one_file_give_identical_document_rows(db):
    """Plain records take the reader's fast road (tuples); layered ones come as records: same rows."""
    project = make_project(db)
    meta = {"title": "Mill closes", "source": "Wire", "tags": ["a", "b"], "n": 1}
    plain = {"id": "p1", "text": TEXT, "meta": meta}
    exported = dict(plain, id="p2", layer=None, annotator=None, spans=[], relations=[], attributions=[], doc_labels=[])
    layered = dict(GOLD, id="g1", meta=meta)
    report = importing.import_stream(db, project, "mixed.jsonl", jsonl(plain, exported, layered, dict(plain, id="g1")))
    db.commit()
    assert (report.records, report.documents, report.unchanged, report.layers) == (4, 3, 0, 1)
    rows = {
        row.external_id: row
        for row in db.execute(
            select(Document.external_id, Document.project_id, Document.title, Document.text, Document.text_sha256, Document.meta, Document.created_at)
        )
    }
    assert set(rows) == {"p1", "p2", "g1"}
    assert rows["p1"][1:] == rows["p2"][1:] == rows["g1"][1:]
    assert rows["p1"].title == "Mill closes" and rows["p1"].meta == meta and rows["p1"].project_id == project.id
    assert rows["p1"].created_at is not None
    assert counts(db)["spans"] == 3


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


# -- folders of text articles: read and checked in batches, written in bulk ---------------


def article(i: int, body: str = "") -> str:
    """Return a small text article (headline, byline, date, body)."""
    return f"## Story {i}\n\nBy Test Agency\n\nMarch {1 + i % 28}, 2025\n\n{body or f'Body of story {i}.'}\n"


def write_articles(folder: Path, count: int) -> list[Path]:
    """Write ``count`` articles ``0000.txt``... into ``folder``; return their paths in import order."""
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{i:04d}.txt"
        path.write_text(article(i), encoding="utf-8")
        paths.append(path)
    return paths


def stored_ids(db) -> list[str]:
    """Return the stored documents' external ids, sorted (after ending the read snapshot)."""
    db.rollback()
    return sorted(db.scalars(select(Document.external_id)))


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"## Headline only\n\nBy Test Agency\n", "no article text after the header"),
        (b"## T\n\nab\x00c\n", "a binary file (NUL byte), not text"),
        ("## Caf\u00e9\n\nBody\n".encode("latin-1"), "not UTF-8 text (byte 0xe9)"),
    ],
    ids=["header-only", "binary", "latin-1"],
)
def test_a_bad_text_file_in_the_middle_of_a_large_folder_keeps_only_the_files_before_it(db, tmp_path, monkeypatch, data, reason):
    monkeypatch.setattr(importing, "TEXT_BATCH", 100)
    project = make_project(db)
    paths = write_articles(tmp_path / "news", 450)
    bad = paths[250]
    bad.write_bytes(data)
    seen: list[Path] = []
    with pytest.raises(ImportError_) as info:
        importing.import_paths(db, project, [tmp_path / "news"], progress=seen.append)
    db.commit()
    assert info.value.message.startswith(f"{bad}:") and info.value.message.endswith(f": {reason}")
    report = info.value.extra["report"]
    assert [f.filename for f in report.files] == [str(p) for p in paths[:250]]
    assert (report.documents, report.unchanged, report.layers) == (250, 0, 0)
    assert seen == paths[:250]
    assert stored_ids(db) == [p.stem for p in paths[:250]]


def test_a_folder_of_text_files_stores_what_one_file_at_a_time_stores(db, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "TEXT_BATCH", 7)
    folder = tmp_path / "news"
    paths = write_articles(folder, 20)
    (folder / "0005.txt").write_bytes(b"\xef\xbb\xbf## Windows file\r\n\r\nBy Test Agency\r\n\r\nLine one.\r\nLine two.\r\n")
    (folder / "0006.txt").write_text("No header at all.\nJust two lines.\n", encoding="utf-8")
    (folder / "0007.txt").write_text(
        "Plain headline\n\n5 March 2025\n\nBody with <u>said</u>.\n\nOriginal url:\n\nhttps://x.example/a b\n", encoding="utf-8"
    )
    (folder / "0008.txt").write_text("## " + "Long " * 200 + "\n\nBody.\n", encoding="utf-8")
    batched, single = make_project(db, "batched"), make_project(db, "single")
    seen: list[Path] = []
    report = importing.import_paths(db, batched, [folder], progress=seen.append)
    one_by_one = [importing.import_stream(db, single, str(p), p.read_bytes()) for p in paths]
    db.commit()
    assert seen == paths
    assert report.files == one_by_one
    assert report.summary() == "Imported 20 documents (0 unchanged), 0 layers from 20 files"

    def rows(project) -> list[tuple]:
        return [
            (d.external_id, d.title, d.text, d.text_sha256, d.meta)
            for d in db.scalars(select(Document).where(Document.project_id == project.id).order_by(Document.external_id))
        ]

    assert rows(batched) == rows(single) and len(rows(batched)) == 20
    assert rows(batched)[5][1:3] == ("Windows file", "Line one.\nLine two.")
    assert len(rows(batched)[8][1]) == 500


def test_text_files_already_stored_count_unchanged_and_a_different_text_stops_at_that_file(db, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "TEXT_BATCH", 50)
    project = make_project(db)
    paths = write_articles(tmp_path / "news", 120)
    make_document(db, project, "Body of story 3.", external_id="0003")
    make_document(db, project, "Another story altogether.", external_id="0070")
    with pytest.raises(ImportError_) as info:
        importing.import_paths(db, project, [tmp_path / "news"])
    db.commit()
    assert info.value.message == f"{paths[70]}:1: document '0070' already exists with a different text"
    report = info.value.extra["report"]
    assert (len(report.files), report.documents, report.unchanged) == (70, 69, 1)
    assert report.files[3].unchanged == 1 and report.files[3].documents == 0
    assert stored_ids(db) == [p.stem for p in paths[:71]]
    # Without the clash, a second import of the folder changes nothing.
    paths[70].unlink()
    again = importing.import_paths(db, project, [tmp_path / "news"])
    db.commit()
    assert (again.documents, again.unchanged, len(again.files)) == (49, 70, 119)


def test_two_files_with_the_same_id_in_one_batch(db, tmp_path):
    project = make_project(db)
    (tmp_path / "a.txt").write_text(article(1), encoding="utf-8")
    (tmp_path / "b.md").write_text(article(2), encoding="utf-8")
    (tmp_path / "b.txt").write_text(article(2), encoding="utf-8")
    (tmp_path / "c.txt").write_text(article(3), encoding="utf-8")
    report = importing.import_paths(db, project, [tmp_path])
    db.commit()
    assert [(f.documents, f.unchanged) for f in report.files] == [(1, 0), (1, 0), (0, 1), (1, 0)]
    other = make_project(db, "other")
    (tmp_path / "b.txt").write_text(article(2, "A different body."), encoding="utf-8")
    with pytest.raises(ImportError_) as info:
        importing.import_paths(db, other, [tmp_path])
    db.commit()
    assert info.value.message == f"{tmp_path / 'b.txt'}:1: document 'b' already exists with a different text"
    db.rollback()
    assert sorted(db.scalars(select(Document.external_id).where(Document.project_id == other.id))) == ["a", "b"]


def test_text_and_jsonl_files_of_a_folder_are_written_in_order(db, tmp_path):
    project = make_project(db)
    (tmp_path / "a.txt").write_text(article(1), encoding="utf-8")
    (tmp_path / "b.jsonl").write_bytes(jsonl({"id": "c", "text": "What b.jsonl says."}))
    (tmp_path / "c.txt").write_text(article(3), encoding="utf-8")
    (tmp_path / "d.txt").write_text(article(4), encoding="utf-8")
    seen: list[Path] = []
    with pytest.raises(ImportError_) as info:
        importing.import_paths(db, project, [tmp_path], progress=seen.append)
    db.commit()
    assert info.value.message == f"{tmp_path / 'c.txt'}:1: document 'c' already exists with a different text"
    assert seen == [tmp_path / "a.txt", tmp_path / "b.jsonl"]
    assert stored_ids(db) == ["a", "c"]


def test_a_batch_the_database_refuses_is_imported_file_by_file(db, tmp_path, monkeypatch):
    """Another session may store an id between the lookup and the insert: the file that clashes is named."""
    project = make_project(db)
    write_articles(tmp_path / "news", 5)
    make_document(db, project, "Body of story 1.", external_id="0001")
    make_document(db, project, "Not story 3.", external_id="0003")
    monkeypatch.setattr(importing._TextBatch, "stored_texts", lambda self, ids: {})
    with pytest.raises(ImportError_) as info:
        importing.import_paths(db, project, [tmp_path / "news"])
    db.commit()
    assert info.value.message == f"{tmp_path / 'news' / '0003.txt'}:1: document '0003' already exists with a different text"
    assert [(f.documents, f.unchanged) for f in info.value.extra["report"].files] == [(1, 0), (0, 1), (1, 0)]
    assert stored_ids(db) == ["0000", "0001", "0002", "0003"]


@pytest.mark.parametrize("threshold, analyzed", [(4, True), (5, False)], ids=["large", "small"])
def test_a_large_import_refreshes_postgresqls_planner_statistics(db, tmp_path, monkeypatch, threshold, analyzed):
    """An export right after a large import is planned on statistics that count the new rows (PostgreSQL only)."""
    monkeypatch.setattr(importing, "ANALYZE_FROM", threshold)
    project = make_project(db)
    (tmp_path / "four.jsonl").write_bytes(jsonl(*({"id": f"d{i}", "text": f"Story {i} is short."} for i in range(4))))
    postgres = db.get_bind().dialect.name == "postgresql"
    db.commit()
    if postgres:
        db.execute(text("ANALYZE documents"))  # the table as it was: no row of this test
        db.commit()
    importing.import_paths(db, project, [tmp_path])
    db.commit()
    assert db.scalar(select(func.count()).select_from(Document)) == 4
    if postgres:
        estimate = db.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'documents'"))
        assert (estimate == 4) is analyzed, estimate
    else:
        assert importing.refresh_statistics(db, 10_000) is False


def test_a_large_file_refreshes_the_statistics_as_it_goes_and_is_still_all_or_nothing(db, tmp_path, monkeypatch):
    """Inside one file's transaction the statistics are refreshed each time its documents double (PostgreSQL plans
    its look-ups on them); a bad line after that still keeps nothing of the file."""
    monkeypatch.setattr(importing, "ANALYZE_FROM", 2)
    monkeypatch.setattr(importing, "BATCH", 2)
    postgres = db.get_bind().dialect.name == "postgresql"
    seen: list[tuple[int, bool, float | None]] = []
    refresh = importing.refresh_statistics

    def spy(session, documents):
        ran = refresh(session, documents)
        estimate = session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'documents'")) if postgres else None
        seen.append((documents, ran, estimate))
        return ran

    monkeypatch.setattr(importing, "refresh_statistics", spy)
    project = make_project(db)
    db.commit()
    records = [{"id": f"d{i}", "text": f"Story {i} is short.", "layer": "gold", "spans": []} for i in range(11)]
    (tmp_path / "eleven.jsonl").write_bytes(jsonl(*records) + b'{"id": "d11", "text": ""}\n')
    with pytest.raises(ImportError_, match=r"eleven\.jsonl:12: "):
        importing.import_paths(db, project, [tmp_path / "eleven.jsonl"])
    db.rollback()
    assert [documents for documents, _ran, _estimate in seen] == [2, 4, 8]
    assert all(ran is postgres for _documents, ran, _estimate in seen)
    if postgres:
        assert [estimate >= documents for documents, _ran, estimate in seen] == [True, True, True], seen
    assert db.scalar(select(func.count()).select_from(Document).where(Document.project_id == project.id)) == 0


def test_layer_values_with_tabs_newlines_and_backslashes_are_stored_as_given(db, tmp_path):
    """Spans, relations and attributions reach the database unchanged, whatever their characters (PostgreSQL copies them)."""
    project = make_project(db)
    odd = 'tab\there\r\nnew line \\N back\\slash "quoted" 😀 \\\\'
    record = {
        "id": "d1", "text": "Ana said Oslo.", "layer": "gold",
        "spans": [
            {"id": "T1", "start": 0, "end": 3, "label": "PERSON", "attrs": {"note": odd}},
            {"id": "T2", "start": 4, "end": 8, "label": "CUE"},
            {"id": "T3", "start": 9, "end": 13, "label": "GPE", "attrs": {"note": "\\."}},
        ],
        "relations": [{"id": "R1", "type": "member_of", "head": "T1", "tail": "T3"}],
        "attributions": [{"id": "A1", "source": "T1", "cue": "T2", "content": ["T3"], "attrs": {"note": odd}}],
    }
    (tmp_path / "odd.jsonl").write_bytes(jsonl(record))
    importing.import_paths(db, project, [tmp_path / "odd.jsonl"])
    db.commit()
    spans = {span.uid: span for span in db.scalars(select(Span))}
    assert (spans["T1"].note, spans["T3"].note, spans["T2"].note) == (odd, "\\.", "")
    assert spans["T2"].attrs == {} and spans["T2"].provenance is None
    (relation,) = db.scalars(select(Relation))
    assert (relation.head_id, relation.tail_id) == (spans["T1"].id, spans["T3"].id)
    (attribution,) = db.scalars(select(Attribution))
    assert (attribution.note, attribution.source_id, attribution.cue_id) == (odd, spans["T1"].id, spans["T2"].id)
    assert db.scalars(select(AttributionContent.span_id)).all() == [spans["T3"].id]
    layer = db.scalars(select(AnnotationSet)).one()
    assert (layer.status_note, layer.version) == ("", 1)
