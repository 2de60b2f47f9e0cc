"""Chains and notes survive the other tools' formats: export, import into a new project, export again.

The demo's fully annotated article 07 (two chains, SOURCE spans, a split quote) goes out as brat, Label Studio
and doccano and comes back with every span, relation, attribution, attribute and chain link; notes on spans,
attributions and the document come back too (brat: AnnotatorNotes lines; Label Studio: a region's meta.text;
doccano: Comments).  What brat cannot hold (a chain link or note of an attribution without a cue, a note on the
document) is reported by the export, not dropped in silence.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from tests.test_full_article import _records
from tests.test_full_article import _run

FORMATS = [("brat", "zip"), ("labelstudio", "json"), ("doccano", "jsonl")]


def canon(record: dict) -> dict:
    """A record with span ids replaced by what they point at, so files that renumber ids compare equal."""
    spans = {s["id"]: s for s in record["spans"]}

    def key(span_id):
        return None if span_id is None else (spans[span_id]["start"], spans[span_id]["end"], spans[span_id]["label"])

    atts = {a["id"]: a for a in record.get("attributions") or []}

    def att_key(a):
        return (key(a.get("source")), key(a.get("cue")), tuple(key(c) for c in a["content"]),
                json.dumps(a.get("attrs") or {}, sort_keys=True))

    return {
        "spans": sorted((s["start"], s["end"], s["label"], json.dumps(s.get("attrs") or {}, sort_keys=True))
                        for s in record["spans"]),
        "relations": sorted((r["type"], key(r["head"]), key(r["tail"]), json.dumps(r.get("attrs") or {}, sort_keys=True))
                            for r in record.get("relations") or []),
        "attributions": sorted((att_key(a), att_key(atts[a["parent"]]) if a.get("parent") else None) for a in atts.values()),
        "note": (record.get("meta") or {}).get("note"),
    }


def _export(runner, project: str, fmt: str, path) -> str:
    result = runner.invoke(args=["export", project, "--layer", "annotators", "--format", fmt, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(("fmt", "ext"), FORMATS)
def test_the_full_article_keeps_its_chains_through_every_readable_format(app, runner, tmp_path, fmt, ext):
    _run(runner, "demo", "--no-serve")
    first = tmp_path / "first.jsonl"
    _export(runner, "news", "jsonl", first)
    before = {(r["id"], r.get("annotator")): canon(r) for r in _records(first)}
    article = before[("07-narrow-sea-patrol-data", "lena")]
    assert sum(1 for _, parent in article["attributions"] if parent) == 2  # the two chains are there to lose
    out = tmp_path / f"out.{ext}"
    _export(runner, "news", fmt, out)
    _run(runner, "projects", "create", "copy")
    _run(runner, "import", "copy", str(out), "--format", fmt)
    second = tmp_path / "second.jsonl"
    _export(runner, "copy", "jsonl", second)
    after = {(r["id"], r.get("annotator")): canon(r) for r in _records(second)}
    assert after == before


NOTED = "Vesna Oru said the 🚢 convoy left at dawn.\r\nThe port authority confirmed it."


def _noted_project(runner, tmp_path):
    """A project whose annotator layer has notes (with spaces, tabs and a line break) and a cue-less chain."""
    spans = []
    for span_id, piece, label in [("p", "Vesna Oru", "PERSON"), ("c", "said", "CUE"), ("q", "the 🚢 convoy left at dawn", "CLAIM"),
                                  ("o", "The port authority", "ORG"), ("q2", "confirmed it", "CLAIM")]:
        start = NOTED.index(piece)
        spans.append({"id": span_id, "start": start, "end": start + len(piece), "label": label, "text": piece})
    spans[0]["attrs"] = {"note": "check the\tspelling\nof the name"}
    record = {
        "id": "noted", "text": NOTED, "layer": "annotator", "annotator": "ana",
        "meta": {"note": "the second line may be a separate report"}, "spans": spans,
        "attributions": [
            {"id": "A1", "source": "p", "cue": "c", "content": ["q"], "attrs": {"quote": "indirect", "note": "paraphrase"}},
            {"id": "A2", "source": "o", "cue": None, "content": ["q2"], "parent": "A1"},
        ],
    }
    data = tmp_path / "noted-in.jsonl"
    data.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    _run(runner, "projects", "create", "noted")
    _run(runner, "import", "noted", str(data))
    first = tmp_path / "noted-first.jsonl"
    _export(runner, "noted", "jsonl", first)
    (exported,) = _records(first)
    assert exported["spans"][0]["attrs"]["note"] == "check the\tspelling\nof the name"
    return exported


@pytest.mark.parametrize(("fmt", "ext"), FORMATS)
def test_notes_survive_every_readable_format(app, runner, tmp_path, fmt, ext):
    exported = _noted_project(runner, tmp_path)
    out = tmp_path / f"noted.{ext}"
    report = _export(runner, "noted", fmt, out)
    _run(runner, "projects", "create", "copy")
    _run(runner, "import", "copy", str(out), "--format", fmt)
    second = tmp_path / "noted-second.jsonl"
    _export(runner, "copy", "jsonl", second)
    (back,) = _records(second)
    got, want = canon(back), canon(exported)
    if fmt == "brat":
        # brat spells an attribution without a cue as relations: its chain link cannot be written, and the export says so
        assert "the link from attribution A2 to the attribution that relays it (A1) was left out" in report
        assert [parent for _, parent in got["attributions"]] == [None, None]
        got["attributions"] = want["attributions"] = [a for a, _ in want["attributions"]]
        # and it has no place for a layer's note on the document: reported, not written
        assert "the annotator layer's note on the document was left out: brat has no place for it" in report
        assert got["note"] is None
        got["note"] = want["note"]
    assert got == want


def test_brat_writes_notes_as_annotator_notes_and_chains_as_event_arguments(app, runner, tmp_path):
    _run(runner, "demo", "--no-serve")
    out = tmp_path / "out.zip"
    _export(runner, "news", "brat", out)
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as archive:
        ann = archive.read("annotators/lena/07-narrow-sea-patrol-data.ann").decode()
        conf = archive.read("annotation.conf").decode()
    events = {line.split("\t")[0]: line.split("\t")[1] for line in ann.splitlines() if line.startswith("E")}
    parents = [args.split("Parent:")[1] for args in events.values() if "Parent:" in args]
    assert len(parents) == 2 and all(p in events for p in parents)
    assert "Parent?:CUE" in conf


def test_brat_reports_attribute_values_it_cannot_hold_and_the_zip_reads_back(app, runner, tmp_path):
    spans = [{"id": "p", "start": 0, "end": 9, "label": "PERSON", "text": "Vesna Oru",
              "attrs": {"certainty": "not sure", "rank": 3, "checked": True, "role": "captain"}}]
    data = tmp_path / "attrs.jsonl"
    data.write_text(json.dumps({"id": "a", "text": NOTED, "layer": "gold", "spans": spans}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    _run(runner, "projects", "create", "attrs")
    _run(runner, "import", "attrs", str(data))
    out = tmp_path / "attrs.zip"
    result = runner.invoke(args=["export", "attrs", "--layer", "gold", "--format", "brat", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "attribute certainty = 'not sure' of T1 was left out" in result.output
    assert "attribute rank = 3 of T1 was left out" in result.output
    _run(runner, "projects", "create", "back")
    _run(runner, "import", "back", str(out), "--format", "brat")
    second = tmp_path / "back.jsonl"
    result = runner.invoke(args=["export", "back", "--layer", "gold", "--format", "jsonl", "--out", str(second)])
    assert result.exit_code == 0, result.output
    (record,) = _records(second)
    assert record["spans"][0]["attrs"] == {"checked": True, "role": "captain"}


def test_the_brat_zip_is_the_same_bytes_whenever_it_is_written(app, runner, tmp_path, monkeypatch):
    import time as time_module

    _run(runner, "demo", "--no-serve")
    first, second = tmp_path / "one.zip", tmp_path / "two.zip"
    _export(runner, "news", "brat", first)
    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 3 * 86400)  # zipfile stamps time.localtime(time.time())
    _export(runner, "news", "brat", second)
    assert first.read_bytes() == second.read_bytes()
