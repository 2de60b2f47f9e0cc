"""The suggestion commands: import --as-predictions, gazetteer, suggestions (acceptance rates)."""

from __future__ import annotations

import json

from factories import jsonl
from factories import make_document
from factories import make_team
from sqlalchemy import select

from workbench.models import AnnotationSet
from workbench.models import GazetteerEntry
from workbench.services import importing
from workbench.services import suggestions as suggestion_service

TEXT = "Ola Dunn of Harwick Council said the bridge shuts."


def test_import_as_predictions_makes_the_files_layers_a_models(db, runner, tmp_path):
    make_team(db)
    path = tmp_path / "model-out.jsonl"
    spans = [{"id": "T1", "start": 0, "end": 8, "label": "PERSON"}]
    path.write_bytes(jsonl({"id": "b1", "text": TEXT, "layer": "gold", "spans": spans}, {"id": "b2", "text": "Ola left.", "layer": "annotator", "annotator": "ann", "spans": [{"id": "T1", "start": 0, "end": 3, "label": "PERSON"}]}))
    result = runner.invoke(args=["import", "news", str(path), "--as-predictions", "crf-2"])
    assert result.exit_code == 0, result.output
    layers = db.execute(select(AnnotationSet.kind, AnnotationSet.owner_key, AnnotationSet.status)).all()
    assert sorted(layers) == [("prediction", "prediction:crf-2", "suggested")] * 2
    bad = runner.invoke(args=["import", "news", str(path), "--as-predictions", " "])
    assert bad.exit_code == 1 and bad.output.strip().splitlines()[-1].endswith("a model name must be 1 to 180 characters")


def test_gazetteer_loads_all_or_nothing_with_the_bad_lines_number(db, runner, tmp_path):
    make_team(db)
    good = tmp_path / "names.tsv"
    good.write_text("# places and people\nHarwick Council\tORG\nOla Dunn\tPERSON\n", encoding="utf-8")
    result = runner.invoke(args=["gazetteer", "news", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 entries" in result.output
    bad = tmp_path / "bad.tsv"
    bad.write_text("Harwick\tORG\nOla Dunn PERSON\n", encoding="utf-8")
    result = runner.invoke(args=["gazetteer", "news", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2: expected 'text<TAB>LABEL', got 1 tab-separated field(s)" in result.output
    assert sorted(db.scalars(select(GazetteerEntry.text))) == ["Harwick Council", "Ola Dunn"]


def test_suggestions_shows_rates_per_source(db, runner):
    ann, _bob, _cur, project = make_team(db)
    doc = make_document(db, project, TEXT)
    assert "No suggestion" in runner.invoke(args=["suggestions", "news"]).output
    # ann's layer holds the two spans she accepted (an accept counts while what it made is there).
    record = {"id": doc.external_id, "text": TEXT, "layer": "annotator", "annotator": "ann",
              "spans": [{"id": "s1", "start": 0, "end": 8, "label": "PERSON"}, {"id": "s2", "start": 28, "end": 32, "label": "CUE"}]}
    importing.import_stream(db, project, "ann.jsonl", jsonl(record), "jsonl")
    suggestion_service.record_events(db, ann, project, doc, [
        {"key": "span:PERSON:0:8", "action": "accept", "sources": ["gazetteer", "model:crf-2"], "label": "PERSON", "item": "s1"},
        {"key": "span:ORG:12:27", "action": "reject", "sources": ["model:crf-2"], "label": "ORG"},
        {"key": "span:CUE:28:32", "action": "accept", "sources": ["attribution"], "label": "CUE", "item": "s2"},
        {"key": "span:ORG:12:20", "action": "reject", "sources": ["model:crf-2"], "label": "ORG"},
        # Accepted, then undone: its span is not in the layer, so it does not count.
        {"key": "span:ORG:12:19", "action": "accept", "sources": ["model:crf-2"], "label": "ORG", "item": "s3"},
    ])
    db.commit()
    result = runner.invoke(args=["suggestions", "news", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["source"]: r for r in json.loads(result.output)["sources"]}
    assert rows["model:crf-2"] == {"source": "model:crf-2", "accepted": 1, "rejected": 2, "rate": 0.3333}
    assert rows["gazetteer"]["rate"] == 1.0 and rows["attribution"]["accepted"] == 1
    table = runner.invoke(args=["suggestions", "news"]).output.splitlines()
    assert table[0].split() == ["source", "accepted", "rejected", "rate"]
    assert "model:crf-2         1         2   33%" in "\n".join(table)
