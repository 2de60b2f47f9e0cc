"""``workbench import`` and ``workbench export`` through the CLI runner (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlalchemy import select

from factories import make_project
from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.models import Span

DATA = Path(__file__).parent / "data"
GOLD = (DATA / "layers.jsonl").read_text(encoding="utf-8").splitlines()[1]


def count(db, model) -> int:
    """Return the number of rows of ``model`` (after ending the read snapshot)."""
    db.rollback()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_import_prints_a_summary(db, runner):
    make_project(db)
    result = runner.invoke(args=["import", "news", str(DATA / "layers.jsonl"), str(DATA / "wire-article.txt")])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Imported 3 documents (0 unchanged), 4 layers from 2 files."
    assert count(db, Document) == 3 and count(db, AnnotationSet) == 4


def test_import_of_a_folder_shows_progress_and_counts_unchanged(db, runner, tmp_path):
    make_project(db)
    for i in range(7):
        (tmp_path / f"{i:02d}.txt").write_text(f"## Story {i}\n\nBy Test Agency\n\nBody of story {i}.\n", encoding="utf-8")
    result = runner.invoke(args=["import", "news", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Imported 7 documents (0 unchanged), 0 layers from 7 files." in result.output
    again = runner.invoke(args=["import", "news", str(tmp_path), "--format", "text"])
    assert "Imported 0 documents (7 unchanged), 0 layers from 7 files." in again.output
    db.rollback()
    assert db.scalar(select(Document.title).where(Document.external_id == "03")) == "Story 3"


BAD = [
    ("broken.jsonl", b'{"id": "ok", "text": "fine"}\n{"id": \n', "broken.jsonl:2: not valid JSON"),
    ("outside.jsonl", GOLD.replace('"start": 88, "end": 99', '"start": 88, "end": 990').encode(), "outside.jsonl:1: span T5: span 88-990 lies outside the text"),
    ("mismatch.jsonl", GOLD.replace('"text": "Radio Ostby"', '"text": "Radio Oslo"').encode(), "mismatch.jsonl:1: span T5: span 88-99 covers 'Radio Ostby', not 'Radio Oslo'"),
    ("label.jsonl", GOLD.replace('"label": "GPE"', '"label": "TOWN"').encode(), "label.jsonl:1: span T4: label 'TOWN' is not in the project's schema"),
    ("relation.jsonl", GOLD.replace('"tail": "T4"', '"tail": "T44"').encode(), "relation.jsonl:1: relation R1: tail 'T44' is not a span of this record"),
    ("dup.jsonl", (GOLD + "\n" + GOLD).encode(), "dup.jsonl:2: id 'ostby-mill' already has a gold layer (line 1)"),
    ("binary.txt", b"## T\n\nab\x00c\n", "binary.txt:3: a binary file (NUL byte), not text"),
    ("latin.txt", "## Caf\u00e9 prices\n\nBody\n".encode("latin-1"), "latin.txt:1: not UTF-8 text (byte 0xe9)"),
    ("empty.txt", b"", "empty.txt: empty file (no text)"),
]


@pytest.mark.parametrize("name, data, message", BAD, ids=[b[0] for b in BAD])
def test_a_bad_file_exits_1_with_a_one_line_reason_keeping_files_before_it(db, runner, tmp_path, name, data, message):
    make_project(db)
    good = tmp_path / "a-good.txt"
    good.write_text("## Fine\n\nBy Test Agency\n\nA fine body.\n", encoding="utf-8")
    bad = tmp_path / name
    bad.write_bytes(data)
    result = runner.invoke(args=["import", "news", str(good), str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {bad.parent}/{message}"), result.output
    assert lines[0].endswith("(import stopped; 1 earlier file stays imported: 1 document, 0 layers)")
    assert "Traceback" not in result.output
    assert count(db, Document) == 1 and count(db, Span) == 0
    db.rollback()
    assert db.scalar(select(Document.external_id)) == "a-good"


def test_import_errors_for_missing_things(db, runner, tmp_path):
    make_project(db)
    result = runner.invoke(args=["import", "nope", str(DATA / "layers.jsonl")])
    assert result.exit_code == 1 and result.output.strip() == "Error: no project called 'nope'"
    result = runner.invoke(args=["import", "news", str(tmp_path / "missing.jsonl")])
    assert result.exit_code == 1 and "missing.jsonl: no such file or folder" in result.output
    result = runner.invoke(args=["import", "news", str(DATA / "layers.jsonl"), "--format", "conll"])
    assert result.exit_code == 2 and "'conll' is not one of" in result.output


def test_export_to_standard_output(db, runner):
    make_project(db)
    runner.invoke(args=["import", "news", str(DATA / "layers.jsonl")])
    result = runner.invoke(args=["export", "news", "--layer", "all", "--out", "-"])
    assert result.exit_code == 0, result.output
    expected = (DATA / "layers.export-all.jsonl").read_text(encoding="utf-8")
    assert result.stdout == expected
    assert "Wrote 6 records to standard output." in result.stderr


def test_export_split_writes_one_file_per_split(db, runner, tmp_path):
    make_project(db)
    runner.invoke(args=["import", "news", str(DATA / "layers.jsonl")])
    out = tmp_path / "news.jsonl"
    args = ["export", "news", "--layer", "all", "--split", "train=0.5,test=0.5", "--seed", "4", "--out", str(out)]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    train = (tmp_path / "news.train.jsonl").read_text(encoding="utf-8").splitlines()
    test = (tmp_path / "news.test.jsonl").read_text(encoding="utf-8").splitlines()
    assert not out.exists()
    ids = {"train": {json.loads(x)["id"] for x in train}, "test": {json.loads(x)["id"] for x in test}}
    assert len(ids["train"]) == 1 and len(ids["test"]) == 1 and ids["train"] != ids["test"]
    assert len(train) + len(test) == 6
    again = runner.invoke(args=args)
    assert again.exit_code == 1 and "news.train.jsonl: already exists; pass --force to replace it" in again.output
    assert runner.invoke(args=[*args, "--force"]).exit_code == 0
    assert (tmp_path / "news.train.jsonl").read_text(encoding="utf-8").splitlines() == train


def test_export_format_choices_and_bad_arguments(db, runner, tmp_path):
    make_project(db)
    help_text = runner.invoke(args=["export", "--help"]).output
    assert "jsonl|conll|spacy|brat|labelstudio|doccano" in help_text
    result = runner.invoke(args=["export", "news", "--format", "csv", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    result = runner.invoke(args=["export", "news", "--format", "brat", "--out", "-"])
    assert result.exit_code == 1 and "writes a binary file" in result.output
    result = runner.invoke(args=["export", "news", "--split", "train=1", "--out", "-"])
    assert result.exit_code == 1 and "give --out a file name" in result.output
    result = runner.invoke(args=["export", "news", "--split", "train=0.7", "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 1 and "Error: --split: split fractions add up to 0.7, not 1" in result.output


def test_a_bad_file_in_the_middle_of_a_large_folder_stops_there(db, runner, tmp_path):
    make_project(db)
    for i in range(1500):
        (tmp_path / f"{i:04d}.txt").write_text(f"## Story {i}\n\nBy Test Agency\n\nBody of story {i}.\n", encoding="utf-8")
    (tmp_path / "1200.txt").write_bytes(b"## Story 1200\n\nBy Test Agency\n")
    result = runner.invoke(args=["import", "news", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {tmp_path}/1200.txt:4: no article text after the header "
        "(import stopped; 1200 earlier files stay imported: 1200 documents, 0 layers)"
    ), result.output
    db.rollback()
    assert sorted(db.scalars(select(Document.external_id))) == [f"{i:04d}" for i in range(1200)]
