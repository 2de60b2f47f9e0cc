"""A news article annotated in full, every attribution case expressed, exported and imported back unchanged.

The demo's article 07 and lena's complete work on it (``demo_data/sample-annotations.json``) hold every case
the guidelines name: SOURCE spans that contain entities ("Admiral Tove Rasmussen's spokesman", "Both Velmora
and Kessburg"), a quote split around its cue, a cue after its content, and two chains (a paper citing an
officer; she said the minister told her).  The same commands a user runs carry it out and back.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from workbench.models import Project

ARTICLE = "07-narrow-sea-patrol-data"


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _run(runner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_the_fully_annotated_article_carries_every_attribution_case_out_and_back(app, runner, tmp_path):
    _run(runner, "demo", "--no-serve")
    first = tmp_path / "first.jsonl"
    _run(runner, "export", "news", "--layer", "annotators", "--format", "jsonl", "--out", str(first))
    (record,) = [r for r in _records(first) if r["id"] == ARTICLE]
    text = record["text"]
    assert record["meta"]["url"].endswith("/narrow-sea-patrol-data") and record["meta"]["published"] == "2025-05-06"
    spans = {s["id"]: s for s in record["spans"]}
    assert all(text[s["start"]:s["end"]] == s["text"] for s in spans.values())
    atts = {a["id"]: a for a in record["attributions"]}
    assert len(atts) == 10

    def said(att_id: str) -> tuple:
        a = atts[att_id]
        return (
            spans[a["source"]]["label"], spans[a["source"]]["text"],
            spans[a["cue"]]["text"] if a.get("cue") else None,
            [spans[c]["text"] for c in a["content"]], a.get("parent"),
        )

    # sources that are not one named entity are SOURCE spans, and may contain entity spans
    assert said("a1")[:2] == ("SOURCE", "officials from both governments")
    assert said("a3")[:2] == ("SOURCE", "Both Velmora and Kessburg")
    assert said("a4")[:3] == ("SOURCE", "Admiral Tove Rasmussen's spokesman", "told Meridian Wire")
    inside = [s["text"] for s in spans.values()
              if s["label"] != "SOURCE" and spans["src3"]["start"] <= s["start"] and s["end"] <= spans["src3"]["end"]]
    assert sorted(inside) == ["Kessburg", "Velmora"]
    # "Citing an officer, the paper reported X": the officer's attribution is relayed by the paper's
    assert said("a5") == ("ORG", "the Harbour Courier", "reported", ["two frigates had been withdrawn from the strait"], None)
    assert said("a6") == ("SOURCE", "a Corvanian naval officer", "Citing", ["two frigates had been withdrawn from the strait"], "a5")
    # "she said the minister had told her X": the minister's attribution is relayed by hers
    assert said("a9")[1:] == ("the Corvanian defence minister", "had told her", ["the data would stay out of public view"], "a8")
    assert said("a8")[:2] == ("PERSON", "Rasmussen")
    # a quote in two pieces around its cue, kept in reading order; a cue after its content
    assert said("a7")[2:4] == ("said", ["We are not friends", "but we are neighbours, and neighbours talk"])
    assert atts["a7"]["attrs"] == {"quote": "direct"}
    a10 = atts["a10"]
    assert spans[a10["content"][0]]["end"] < spans[a10["cue"]]["start"]

    # import into a new project and export again: the same records
    _run(runner, "projects", "create", "copy")
    _run(runner, "import", "copy", str(first))
    second = tmp_path / "second.jsonl"
    _run(runner, "export", "copy", "--layer", "annotators", "--format", "jsonl", "--out", str(second))
    assert _records(second) == _records(first)
    with app.extensions["workbench.sessionmaker"]() as session:
        assert session.scalars(select(Project.name).order_by(Project.name)).all() == ["copy", "news"]
