"""Agreement end to end: the service (which layers count, the cache), the CLI, the API and the page agree."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from apiclient import Api
from factories import jsonl
from factories import make_layer
from factories import make_team
from factories import make_user
from sqlalchemy import select

from workbench.domain.schema import news_schema
from workbench.metrics import agreement as metrics
from workbench.models import AgreementCache
from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.services import agreement as agreement_service
from workbench.services import annotation as annotation_service
from workbench.services import importing
from workbench.services import projects as project_service
from workbench.services import users as user_service

TEXTS = [
    "Mira Kovac told the council on Friday that the bridge in Oskarsby would reopen.",
    "Officials in Tarnow said the river had fallen, according to Lena Brandt of the water board.",
    "The mayor, Ivo Petrak, denied that the budget was cut.",
    "Nobody commented.",
]


def _span(text: str, uid: str, words: str, label: str, nth: int = 0) -> dict[str, Any]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(words, start + 1)
    return {"id": uid, "start": start, "end": start + len(words), "label": label, "text": words, "attrs": {}}


def _records() -> list[dict[str, Any]]:
    """Annotator records: ann and bob on documents 0-2 (differing a little), cy on 0 and 3 only."""
    t0, t1, t2, t3 = TEXTS
    base0 = [
        _span(t0, "T1", "Mira Kovac", "PERSON"),
        _span(t0, "T2", "told", "CUE"),
        _span(t0, "T3", "the bridge in Oskarsby would reopen", "CLAIM"),
        _span(t0, "T4", "Oskarsby", "GPE"),
    ]
    bob0 = [dict(s) for s in base0[:3]] + [_span(t0, "T4", "Oskarsby", "LOC")]
    cy0 = [_span(t0, "T1", "Mira", "PERSON"), dict(base0[1]), dict(base0[2])]
    att = [{"id": "A1", "source": "T1", "cue": "T2", "content": ["T3"], "attrs": {}}]
    rel = [{"id": "R1", "type": "about", "head": "T3", "tail": "T1", "attrs": {}}]
    ann1 = [_span(t1, "T1", "Tarnow", "GPE"), _span(t1, "T2", "Lena Brandt", "PERSON"), _span(t1, "T3", "the river had fallen", "CLAIM")]
    bob1 = [_span(t1, "T1", "Tarnow", "GPE"), _span(t1, "T2", "Lena Brandt of the water board", "PERSON")]
    ann2 = [_span(t2, "T1", "Ivo Petrak", "PERSON"), _span(t2, "T2", "denied", "CUE")]
    bob2 = [_span(t2, "T1", "Ivo Petrak", "PERSON"), _span(t2, "T2", "denied", "CUE"), _span(t2, "T3", "the budget was cut", "CLAIM")]

    def rec(i: int, who: str, spans: list[dict[str, Any]], relations=(), attributions=()) -> dict[str, Any]:
        return {
            "id": f"doc-{i}", "text": TEXTS[i], "meta": {"title": f"Story {i}"}, "layer": "annotator", "annotator": who,
            "spans": spans, "relations": list(relations), "attributions": list(attributions),
        }

    return [
        rec(0, "ann", base0, rel, att), rec(0, "bob", bob0, rel, att), rec(0, "cy", cy0, (), att),
        rec(1, "ann", ann1), rec(1, "bob", bob1),
        rec(2, "ann", ann2), rec(2, "bob", bob2),
        rec(3, "cy", []),
    ]


@pytest.fixture
def world(db) -> dict[str, Any]:
    """Project ``news``: annotators ann, bob, cy who submitted layers (imported), curator cur, an outsider."""
    ann, bob, cur, project = make_team(db)
    cy = make_user(db, "cy")
    project_service.add_member(db, project, cy)
    outsider = make_user(db, "olga")
    importing.import_stream(db, project, "layers.jsonl", jsonl(*_records()), "jsonl")
    db.commit()
    tokens = {u.username: user_service.create_token(db, u, "tests") for u in (ann, cur, outsider)}
    db.commit()
    return {"project": project, "ann": ann, "bob": bob, "cy": cy, "cur": cur, "tokens": tokens}


def _figures(result: dict[str, Any]) -> dict[str, Any]:
    """The figures without when and how they were computed."""
    return {k: v for k, v in result.items() if k not in ("computed_at", "cached")}


def test_service_counts_submitted_annotator_layers_as_the_records_say(db, world):
    project = world["project"]
    # Layers that must not count: a gold layer, an annotator layer in progress.
    doc = db.scalar(select(Document).where(Document.external_id == "doc-3"))
    make_layer(db, doc, "gold", spans=2, status="adjudicated")
    make_layer(db, doc, "annotator", user=world["cur"], spans=1, status="in_progress")
    result = agreement_service.project_agreement(db, project)
    docs = []
    by_doc: dict[str, dict[str, metrics.Layer]] = {}
    for record in _records():
        by_doc.setdefault(record["id"], {})[record["annotator"]] = metrics.layer_from_record(record)
    for i, (ext, layers) in enumerate(sorted(by_doc.items())):
        docs.append(metrics.DocumentLayers(i, ext, f"Story {i}", TEXTS[int(ext[-1])], layers))
    kinds = {label.name: label.kind for label in news_schema().labels}
    expected = metrics.compute_agreement(docs, kinds, ["entity", "claim", "cue", "source"])
    assert result["annotators"] == ["ann", "bob", "cy"]
    assert result["documents"] == 3 and result["documents_annotated"] == 4
    for key in ("span_f1", "token", "relations_f1", "attributions_f1"):
        assert result[key] == expected[key]
    worst = [(d["id"], d["span_f1"]) for d in result["documents_by_disagreement"]]
    assert worst == [(d["id"], d["span_f1"]) for d in expected["documents_by_disagreement"]]
    # ann/bob share three documents, ann/cy and bob/cy only doc-0.
    assert [(p["a"], p["b"], p["documents"]) for p in result["pairs"]] == [("ann", "bob", 3), ("ann", "cy", 1), ("bob", "cy", 1)]
    # The news schema has a SOURCE label now, but nobody marked one: n/a with the reason.
    assert result["token"]["source"]["kappa"] is None
    assert result["token"]["source"]["kappa_reason"]


def test_cache_is_used_and_invalidated_by_a_save(db, world):
    project = world["project"]
    first = agreement_service.project_agreement(db, project)
    db.commit()
    assert first["cached"] is False
    again = agreement_service.project_agreement(db, project)
    assert again["cached"] is True and _figures(again) == _figures(first)
    # bob edits his submitted layer of doc-1 (the annotate page's save): the figures are computed anew.
    layer = db.scalar(
        select(AnnotationSet).join(Document).where(Document.external_id == "doc-1", AnnotationSet.user_id == world["bob"].id)
    )
    span = {"op": "span.update", "id": "T2", "start": TEXTS[1].index("Lena"), "end": TEXTS[1].index("Lena") + len("Lena Brandt")}
    annotation_service.apply_ops(db, world["bob"], layer.id, layer.version, "fix-1", [span])
    db.commit()
    after = agreement_service.project_agreement(db, project)
    db.commit()
    assert after["cached"] is False
    assert after["span_f1"]["exact"]["pairs"][0]["matched"] == first["span_f1"]["exact"]["pairs"][0]["matched"] + 1
    # Taking a layer back from "submitted" drops it from the figures.
    annotation_service.set_status(db, world["cy"], _layer_id(db, "doc-0", world["cy"]), "in_progress")
    db.commit()
    fewer = agreement_service.project_agreement(db, project)
    assert fewer["cached"] is False
    assert [p["documents"] for p in fewer["pairs"]] == [3, 0, 0]  # cy's only other layer (doc-3) has no partner
    assert fewer["span_f1"]["exact"]["pairs"][1]["f1"] is None
    assert fewer["span_f1"]["exact"]["pairs"][1]["reason"] == metrics.NO_SHARED
    assert db.get(AgreementCache, project.id).fingerprint == agreement_service.fingerprint(db, project)


def _layer_id(db, external_id: str, user) -> int:
    return db.scalar(
        select(AnnotationSet.id).join(Document).where(Document.external_id == external_id, AnnotationSet.user_id == user.id)
    )


def test_cli_json_and_api_give_the_same_figures(api: Api, runner, world):
    cli = runner.invoke(args=["agreement", "news", "--json"])
    assert cli.exit_code == 0, cli.output
    from_cli = json.loads(cli.output)
    # The keys of the CLI reference.
    for key in ("annotators", "documents", "span_f1", "token", "relations_f1", "attributions_f1", "documents_by_disagreement"):
        assert key in from_cli
    assert set(from_cli["span_f1"]["exact"]) >= {"micro", "micro_ci", "per_label", "pairs"}
    assert set(from_cli["token"]) >= {"entity", "claim", "cue", "source"}
    assert set(from_cli["token"]["entity"]) >= {"kappa_pairs", "alpha", "alpha_ci", "ac1_pairs"}
    assert {"id", "span_f1"} <= set(from_cli["documents_by_disagreement"][0])
    response = api.get(f"/api/v1/projects/{world['project'].id}/agreement", token=world["tokens"]["cur"])
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True and body["agreement"]["cached"] is True  # the CLI stored the figures
    assert _figures(body["agreement"]) == _figures(from_cli)


def test_cli_table_shows_figures_and_reasons(runner, world):
    result = runner.invoke(args=["agreement", "news"])
    assert result.exit_code == 0, result.output
    assert "3 annotators (ann, bob, cy), 3 documents" in result.output
    assert re.search(r"micro\s+\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", result.output)
    assert "source" in result.output and "n/a (one category everywhere)" in result.output  # SOURCE in the schema, none marked
    fresh = runner.invoke(args=["agreement", "news", "--json", "--refresh"])
    assert json.loads(fresh.output)["cached"] is False
    assert json.loads(runner.invoke(args=["agreement", "news", "--json"]).output)["cached"] is True
    missing = runner.invoke(args=["agreement", "nope"])
    assert missing.exit_code == 1 and "no project called 'nope'" in missing.output


def test_api_is_for_curators(api: Api, world):
    url = f"/api/v1/projects/{world['project'].id}/agreement"
    assert api.get(url, token=world["tokens"]["ann"]).status_code == 403
    assert api.get(url, token=world["tokens"]["olga"]).status_code == 404
    assert api.get(url).status_code == 401


def test_one_annotator_shows_na_with_the_reason(api: Api, db, runner):
    ann = make_user(db, "ann")
    cur = make_user(db, "cur", role="curator")
    project = project_service.create_project(db, "solo")
    project_service.add_member(db, project, ann)
    project_service.add_member(db, project, cur)
    importing.import_stream(db, project, "one.jsonl", jsonl(_records()[0] | {"annotator": "ann"}), "jsonl")
    db.commit()
    out = runner.invoke(args=["agreement", "solo", "--json"])
    result = json.loads(out.output)
    assert result["span_f1"]["exact"]["micro"] is None
    assert result["span_f1"]["exact"]["micro_reason"] == metrics.FEW_ANNOTATORS
    api.login("cur")
    page = api.get(f"/projects/{project.id}/agreement")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "n/a" in html and metrics.FEW_ANNOTATORS in html


def test_page_shows_figures_charts_and_worst_documents(api: Api, db, world):
    pid = world["project"].id
    api.login("cur")
    response = api.get(f"/projects/{pid}/agreement")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    result = agreement_service.project_agreement(db, world["project"])
    micro = result["span_f1"]["exact"]["micro"]
    low, high = result["span_f1"]["exact"]["micro_ci"]
    assert f"{micro:.3f}" in html and f"[{low:.3f}, {high:.3f}]" in html
    kappa = result["token"]["entity"]["kappa"]
    assert f"{kappa:.3f}" in html
    # Two bar charts and a heatmap, each with a title, beside tables.
    assert html.count("<svg") == 3 and html.count('role="img"') == 3 and "<title id=\"heat-title\">" in html
    assert "n/a</span> <span class=\"na-reason\">(one category everywhere)" in html  # SOURCE: in the schema, never marked
    # The documents worst first, each linking to its page.
    links = re.findall(rf'href="/projects/{pid}/documents/(\d+)">([^<]+)</a>', html)
    worst_first = [d["document_id"] for d in result["documents_by_disagreement"]]
    assert [int(i) for i, _ in links] == worst_first
    assert 'aria-current="page" class="active">Agreement</a>' in html
    assert "style=" not in html.split("<main", 1)[1]


def test_page_is_for_curators_and_the_tab_only_shows_to_them(api: Api, world):
    pid = world["project"].id
    api.login("ann")
    assert api.get(f"/projects/{pid}/agreement").status_code == 403
    assert "Agreement</a>" not in api.get(f"/projects/{pid}").get_data(as_text=True)
    outsider = Api(api.app)
    outsider.login("olga")
    assert outsider.get(f"/projects/{pid}/agreement").status_code == 404
