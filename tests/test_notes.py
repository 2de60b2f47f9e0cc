"""Notes: on the document (per layer), on spans and attributions; the ops, the API, the limit,
JSONL export -> import -> export unchanged, and what curators see (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from factories import jsonl
from factories import make_document
from factories import make_project
from factories import make_team
from sqlalchemy import select

from workbench.errors import ImportError_
from workbench.errors import InvalidAnnotation
from workbench.models import AnnotationSet
from workbench.models import Span
from workbench.services import annotation
from workbench.services import exporting
from workbench.services import importing
from workbench.services import users as user_service

#       0         1         2         3
#       0123456789012345678901234567890123456789
TEXT = "Ильва Норд 👩‍👩‍👧 said\r\nthe ferry runs again."



def offsets(needle: str) -> tuple[int, int]:
    start = TEXT.index(needle)
    return start, start + len(needle)


@pytest.fixture
def world(db) -> dict[str, Any]:
    ann, bob, cur, project = make_team(db)
    doc = make_document(db, project, TEXT, external_id="ferry", meta={"source": "Fjord Wire", "note": "doc meta note"})
    layer = annotation.open_annotator_layer(db, ann, doc)
    db.commit()
    return {"ann": ann, "bob": bob, "cur": cur, "project": project, "doc": doc, "layer": layer}


def noted_ops() -> list[dict[str, Any]]:
    p, c, k = offsets("Ильва Норд"), offsets("the ferry runs again"), offsets("said")
    return [
        {"op": "span.create", "id": "p", "label": "PERSON", "start": p[0], "end": p[1], "note": "  Which Nord? Check.  "},
        {"op": "span.create", "id": "u", "label": "CUE", "start": k[0], "end": k[1]},
        {"op": "span.create", "id": "c", "label": "CLAIM", "start": c[0], "end": c[1], "attrs": {"factuality": "asserted"}},
        {"op": "attribution.create", "id": "a", "source": "p", "cue": "u", "content": ["c"], "note": "quote or paraphrase?"},
        {"op": "layer.update", "note": "Dateline unclear: \"last week\" is before 2 May."},
    ]


def test_notes_through_the_ops_and_back(db, world):
    ann, layer = world["ann"], world["layer"]
    annotation.apply_ops(db, ann, layer.id, 0, "b1", noted_ops())
    db.commit()
    data = annotation.layer_data(db, layer, TEXT)
    assert data["note"] == "Dateline unclear: \"last week\" is before 2 May."
    spans = {s["id"]: s for s in data["spans"]}
    assert spans["p"]["note"] == "Which Nord? Check." and "note" not in spans["u"]
    assert data["attributions"][0]["note"] == "quote or paraphrase?"
    # Updates change or clear a note; other fields stay.
    annotation.apply_ops(db, ann, layer.id, 1, "b2", [
        {"op": "span.update", "id": "p", "note": ""},
        {"op": "attribution.update", "id": "a", "note": "direct quote"},
        {"op": "layer.update", "note": ""},
    ])
    db.commit()
    data = annotation.layer_data(db, layer, TEXT)
    assert data["note"] == "" and "note" not in data["spans"][0] and data["spans"][0]["label"] == "PERSON"
    assert data["attributions"][0]["note"] == "direct quote" and data["attributions"][0]["source"] == "p"


@pytest.mark.parametrize(
    ("op", "message"),
    [
        ({"op": "layer.update", "note": "x" * 2001}, "op 0 (layer.update): note must be a string of at most 2,000 characters"),
        ({"op": "layer.update"}, "op 0 (layer.update): layer.update needs a note (\"\" clears it)"),
        ({"op": "span.create", "id": "s", "label": "PERSON", "start": 0, "end": 5, "note": 7},
         "op 0 (span.create): note must be a string of at most 2,000 characters"),
    ],
)
def test_bad_notes_are_refused_and_nothing_changes(db, world, op, message):
    with pytest.raises(InvalidAnnotation) as err:
        annotation.apply_ops(db, world["ann"], world["layer"].id, 0, "b", [op])
    db.rollback()
    assert str(err.value) == message
    db.expire_all()
    assert db.get(AnnotationSet, world["layer"].id).version == 0


def test_notes_over_http(api, db, world):
    token = user_service.create_token(db, world["ann"], "t")
    db.commit()
    layer_id = world["layer"].id
    ok = api.open("PATCH", f"/api/v1/layers/{layer_id}/ops", token,
                  json={"base_version": 0, "batch_id": "n1", "ops": noted_ops()})
    assert ok.status_code == 200, ok.get_json()
    got = api.open("GET", f"/api/v1/layers/{layer_id}", token).get_json()["layer"]
    assert got["note"].startswith("Dateline unclear") and got["spans"][0]["note"] == "Which Nord? Check."
    too_long = api.open("PATCH", f"/api/v1/layers/{layer_id}/ops", token,
                        json={"base_version": 1, "batch_id": "n2", "ops": [{"op": "layer.update", "note": "y" * 2001}]})
    assert too_long.status_code == 400
    assert too_long.get_json()["error"] == "op 0 (layer.update): note must be a string of at most 2,000 characters"
    # Another annotator cannot read or write it (blind annotation): 404.
    bob_token = user_service.create_token(db, world["bob"], "t")
    db.commit()
    assert api.open("GET", f"/api/v1/layers/{layer_id}", bob_token).status_code == 404


def export_jsonl(db, project, layer: str = "all") -> bytes:
    out = io.BytesIO()
    exporting.write_export(db, project, layer, "jsonl", out)
    return out.getvalue()


def test_jsonl_export_carries_notes_and_an_import_brings_them_back_unchanged(db, world):
    ann, layer, project = world["ann"], world["layer"], world["project"]
    annotation.apply_ops(db, ann, layer.id, 0, "b1", noted_ops())
    annotation.set_status(db, ann, layer.id, "submitted")
    db.commit()
    first = export_jsonl(db, project)
    lines = [json.loads(line) for line in first.decode().splitlines()]
    plain, annotated = lines
    # The document's own metadata (a "note" key included) stays in the plain record.
    assert plain["layer"] is None and plain["meta"]["note"] == "doc meta note"
    assert annotated["meta"] == {"source": "Fjord Wire", "note": "Dateline unclear: \"last week\" is before 2 May."}
    by_id = {s["id"]: s for s in annotated["spans"]}
    assert by_id["p"]["attrs"] == {"note": "Which Nord? Check."}
    assert by_id["c"]["attrs"] == {"factuality": "asserted"}
    assert annotated["attributions"][0]["attrs"] == {"note": "quote or paraphrase?"}
    # Into a new project and out again: the same bytes.
    second = make_project(db, "second")
    importing.import_stream(db, second, "x.jsonl", first)
    db.commit()
    assert export_jsonl(db, second) == first
    stored = db.scalars(select(Span).join(AnnotationSet).where(Span.uid == "p", AnnotationSet.kind == "annotator")).all()
    assert {s.note for s in stored} == {"Which Nord? Check."}
    # Notes are not attribute values: the stored attrs hold none.
    assert all("note" not in s.attrs for s in stored)


def test_a_bad_note_in_a_file_names_file_and_line(db, world):
    record = {"id": "x", "text": "Abc def.", "layer": "gold", "meta": {"note": ["not", "text"]}, "spans": []}
    with pytest.raises(ImportError_) as err:
        importing.import_stream(db, world["project"], "n.jsonl", jsonl({"id": "y", "text": "Other."}, record))
    db.rollback()
    assert str(err.value) == "n.jsonl:2: meta.note: note must be a string of at most 2,000 characters"
    span = {"id": "T1", "start": 0, "end": 3, "label": "PERSON", "attrs": {"note": "z" * 2001}}
    with pytest.raises(ImportError_, match=r"^n.jsonl:1: span T1: note must be a string of at most 2,000 characters$"):
        importing.import_stream(db, world["project"], "n.jsonl", jsonl({**record, "meta": {}, "spans": [span]}))
    db.rollback()
