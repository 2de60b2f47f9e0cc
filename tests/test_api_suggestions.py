"""Suggestions over HTTP: predictions posted and imported, what annotators see, accept/reject events, rates, gazetteer."""

from __future__ import annotations

from typing import Any

import pytest
from apiclient import ERROR_KEYS
from apiclient import Api
from factories import jsonl
from factories import make_document
from factories import make_team
from sqlalchemy import select

from workbench.models import AnnotationSet
from workbench.models import SuggestionEvent
from workbench.services import importing
from workbench.services import users as user_service

# Code points: the emoji is one (two in UTF-16), so offsets after it differ between the two.
TEXT = "🛳 Mira Olsen said the ferry will stop. Later, Mira Olsen of Tallow Mills waved.\r\nИван Петров заявил, что мост закроют."
MIRA = (2, 12)
MIRA2 = (TEXT.index("Mira Olsen", 20), TEXT.index("Mira Olsen", 20) + 10)
TALLOW = (TEXT.index("Tallow Mills"), TEXT.index("Tallow Mills") + 12)


@pytest.fixture
def world(db) -> dict[str, Any]:
    ann, bob, cur, project = make_team(db)
    doc = make_document(db, project, TEXT, external_id="ferry")
    other = make_document(db, project, "Tallow Mills hired Mira Olsen.", external_id="mills")
    tokens = {u.username: user_service.create_token(db, u, "tests") for u in (ann, bob, cur)}
    db.commit()
    return {"project": project, "doc": doc, "other": other, "tokens": tokens, "ann": ann}


def url(world: dict[str, Any], tail: str, doc: str = "doc") -> str:
    return f"/api/v1/projects/{world['project'].id}/documents/{world[doc].id}/{tail}"


def suggestions(api: Api, world: dict[str, Any], who: str = "ann", doc: str = "doc") -> list[dict[str, Any]]:
    response = api.open("GET", url(world, "suggestions", doc), world["tokens"][who])
    assert response.status_code == 200, response.get_json()
    return response.get_json()["suggestions"]


def post_model(api: Api, world: dict[str, Any], body: dict[str, Any], who: str = "cur") -> Any:
    return api.open("POST", url(world, "predictions"), world["tokens"][who], json=body)


MODEL_BODY = {
    "model": "ner-v2",
    "spans": [
        {"id": "T1", "start": MIRA[0], "end": MIRA[1], "label": "PERSON", "text": "Mira Olsen"},
        {"id": "T2", "start": TALLOW[0], "end": TALLOW[1], "label": "ORG", "text": "Tallow Mills"},
        {"id": "T3", "start": 13, "end": 17, "label": "CUE", "text": "said"},
        {"id": "T4", "start": 18, "end": 38, "label": "CLAIM", "text": "the ferry will stop."[:20]},
    ],
    "attributions": [{"id": "A1", "source": "T1", "cue": "T3", "content": ["T4"]}],
}


def test_a_posted_model_layer_is_shown_as_suggestions_with_its_source(api, world, db):
    response = post_model(api, world, MODEL_BODY)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["source"] == "model:ner-v2"
    items = suggestions(api, world)
    person = next(i for i in items if i["kind"] == "span" and i["label"] == "PERSON" and i["start"] == MIRA[0])
    assert person["text"] == "Mira Olsen" and "model:ner-v2" in person["sources"]
    attribution = next(i for i in items if i["kind"] == "attribution" and "model:ner-v2" in i["sources"])
    assert attribution["source"]["text"] == "Mira Olsen" and attribution["cue"]["text"] == "said"
    assert [c["text"] for c in attribution["content"]] == ["the ferry will stop."]
    # Posting again replaces the model's layer, not a second one.
    body = {**MODEL_BODY, "spans": MODEL_BODY["spans"][:1], "attributions": []}
    assert post_model(api, world, body).status_code == 201
    layers = db.scalars(select(AnnotationSet).where(AnnotationSet.owner_key == "prediction:ner-v2")).all()
    assert len(layers) == 1
    items = suggestions(api, world)
    assert not any("model:ner-v2" in i["sources"] and i.get("label") == "ORG" for i in items)


@pytest.mark.parametrize(
    "body, who, status, reason",
    [
        ({**MODEL_BODY, "model": ""}, "cur", 400, "model name"),
        ({**MODEL_BODY, "model": "a\nb"}, "cur", 400, "line breaks"),
        ({**MODEL_BODY, "spans": "x"}, "cur", 400, "spans must be a list"),
        ({"model": "m", "spans": [{"id": "T1", "start": 0, "end": 999, "label": "PERSON"}]}, "cur", 400, "999"),
        ({"model": "m", "spans": [{"id": "T1", "start": 2, "end": 12, "label": "NOPE"}]}, "cur", 400, "NOPE"),
        (MODEL_BODY, "ann", 403, "curator"),
    ],
)
def test_bad_predictions_are_refused_with_a_reason_and_store_nothing(api, world, db, body, who, status, reason):
    response = post_model(api, world, body, who=who)
    assert response.status_code == status
    payload = response.get_json()
    assert ERROR_KEYS <= set(payload) and reason in payload["error"] + str(payload["errors"])
    assert db.scalar(select(AnnotationSet).where(AnnotationSet.kind == "prediction")) is None


def test_import_as_predictions_turns_a_gold_file_into_a_models_suggestions(api, world, db):
    record = {"id": "ferry", "text": TEXT, "layer": "gold", "spans": [{"id": "T1", "start": TALLOW[0], "end": TALLOW[1], "label": "ORG"}]}
    importing.import_stream(db, world["project"], "out.jsonl", jsonl(record), "jsonl", as_predictions="crf-1")
    db.commit()
    layer = db.scalar(select(AnnotationSet).where(AnnotationSet.document_id == world["doc"].id, AnnotationSet.kind != "annotator"))
    assert (layer.kind, layer.owner_key, layer.model_name) == ("prediction", "prediction:crf-1", "crf-1")
    org = [i for i in suggestions(api, world) if i.get("label") == "ORG" and i["start"] == TALLOW[0]]
    assert org and org[0]["sources"] == ["model:crf-1"]


def test_the_recommender_learns_from_the_projects_annotations(api, world):
    # ann labels "Mira Olsen" PERSON on the other document; the ferry story then suggests both occurrences to her.
    _label_on_other(api, world, "s1", "PERSON", "Mira Olsen")
    items = [i for i in suggestions(api, world, who="ann") if "recommender" in i["sources"]]
    assert {(i["label"], i["start"], i["end"]) for i in items} == {("PERSON", *MIRA), ("PERSON", *MIRA2)}
    assert all(i["score"] == 1.0 for i in items)
    # ann's own layer on that document has the span: it is not suggested to her there again.
    assert not [i for i in suggestions(api, world, doc="other") if i.get("label") == "PERSON"]


def _learned(api, world, who: str) -> set[tuple[str, int, int]]:
    return {(i["label"], i["start"], i["end"]) for i in suggestions(api, world, who=who) if "recommender" in i["sources"]}


def _scored(api, world, who: str) -> set[tuple[str, int, int, float]]:
    return {(i["label"], i["start"], i["end"], i["score"]) for i in suggestions(api, world, who=who) if "recommender" in i["sources"]}


def test_an_annotator_never_learns_from_another_annotators_work_only_from_gold_and_their_own(api, world, db):
    # ann (annotator) labels "Mira Olsen" PERSON on the other document; bob, blind to her work, gets nothing from it.
    _label_on_other(api, world, "s1", "PERSON", "Mira Olsen")
    assert _learned(api, world, "bob") == set()
    # The curator learns from every layer, and has her own memo: bob's stays blind after the curator asked.
    assert _learned(api, world, "cur") == {("PERSON", *MIRA), ("PERSON", *MIRA2)}
    assert _learned(api, world, "bob") == set()
    # Once gold holds "Mira Olsen" PERSON, bob is suggested it.
    record = {"id": "mills", "text": "Tallow Mills hired Mira Olsen.", "layer": "gold",
              "spans": [{"id": "G1", "start": 19, "end": 29, "label": "PERSON"}]}
    importing.import_stream(db, world["project"], "gold.jsonl", jsonl(record), "jsonl")
    db.commit()
    assert _scored(api, world, "bob") == {("PERSON", *MIRA, 1.0), ("PERSON", *MIRA2, 1.0)}
    # bob labels it ORG on the other document: his own work teaches him (half PERSON from gold, half ORG)...
    layer = api.open("GET", f"/api/v1/projects/{world['project'].id}/documents/{world['other'].id}/annotate", world["tokens"]["bob"]).get_json()["layer"]
    response = api.open(
        "PATCH", f"/api/v1/layers/{layer['id']}/ops", world["tokens"]["bob"],
        json={"base_version": layer["version"], "batch_id": "bob1",
              "ops": [{"op": "span.create", "id": "b1", "label": "ORG", "start": 19, "end": 29}]},
    )
    assert response.status_code == 200, response.get_json()
    assert _scored(api, world, "bob") == {(label, *at, 0.5) for label in ("PERSON", "ORG") for at in (MIRA, MIRA2)}
    # ... and not ann, who learns from gold and her own PERSON only.
    assert _scored(api, world, "ann") == {("PERSON", *MIRA, 1.0), ("PERSON", *MIRA2, 1.0)}
    # The curator counts every layer: PERSON twice (ann, gold), ORG once (bob).
    assert _scored(api, world, "cur") == {("PERSON", *MIRA, 0.667), ("PERSON", *MIRA2, 0.667), ("ORG", *MIRA, 0.333), ("ORG", *MIRA2, 0.333)}


def _run_ops(api, world, who: str, doc: str, batch: str, ops: list[dict[str, Any]]) -> None:
    """``who`` saves ``ops`` on their layer of ``world[doc]``, as the annotate page's saver does."""
    base = f"/api/v1/projects/{world['project'].id}/documents/{world[doc].id}/annotate"
    layer = api.open("GET", base, world["tokens"][who]).get_json()["layer"]
    response = api.open("PATCH", f"/api/v1/layers/{layer['id']}/ops", world["tokens"][who],
                        json={"base_version": layer["version"], "batch_id": batch, "ops": ops})
    assert response.status_code == 200, response.get_json()


def _rate(api, world, source: str) -> tuple[int, int, float | None]:
    rates = api.open("GET", f"/api/v1/projects/{world['project'].id}/suggestions/acceptance", world["tokens"]["cur"]).get_json()
    row = next((r for r in rates["sources"] if r["source"] == source), {"accepted": 0, "rejected": 0, "rate": None})
    return row["accepted"], row["rejected"], row["rate"]


def test_an_acceptance_counts_only_while_what_it_made_is_in_the_layer_undo_redo_delete(api, world):
    assert post_model(api, world, MODEL_BODY).status_code == 201
    org = next(i for i in suggestions(api, world) if i.get("label") == "ORG")
    create = {"op": "span.create", "id": "acc1", "label": "ORG", "start": TALLOW[0], "end": TALLOW[1]}
    _run_ops(api, world, "ann", "doc", "b1", [create])
    accept = {"key": org["key"], "action": "accept", "sources": org["sources"], "label": "ORG", "item": "acc1"}
    assert api.open("POST", url(world, "suggestions/events"), world["tokens"]["ann"], json={"events": [accept]}).status_code == 201
    assert _rate(api, world, "model:ner-v2") == (1, 0, 1.0)
    # Undo (the page saves the inverse op): the acceptance is withdrawn, and the suggestion is open again.
    _run_ops(api, world, "ann", "doc", "b2", [{"op": "span.delete", "id": "acc1"}])
    assert _rate(api, world, "model:ner-v2") == (0, 0, None)
    assert any(i["key"] == org["key"] for i in suggestions(api, world))
    # Redo makes the same span again: it counts again, once.
    _run_ops(api, world, "ann", "doc", "b3", [create])
    assert _rate(api, world, "model:ner-v2") == (1, 0, 1.0)
    # The same accept by bob names bob's item; ann's span does not make it count for him.
    bob_accept = {**accept, "item": "bob1"}
    assert api.open("POST", url(world, "suggestions/events"), world["tokens"]["bob"], json={"events": [bob_accept]}).status_code == 201
    assert _rate(api, world, "model:ner-v2") == (1, 0, 1.0)
    # Deleted later, it no longer counts; rejected after that, it is a rejection.
    _run_ops(api, world, "ann", "doc", "b4", [{"op": "span.delete", "id": "acc1"}])
    reject = {k: v for k, v in accept.items() if k != "item"} | {"action": "reject"}
    assert api.open("POST", url(world, "suggestions/events"), world["tokens"]["ann"], json={"events": [reject]}).status_code == 201
    assert _rate(api, world, "model:ner-v2") == (0, 1, 0.0)


def test_rejections_stay_hidden_for_that_annotator_only_and_rates_count_per_source(api, world, db):
    assert post_model(api, world, MODEL_BODY).status_code == 201
    items = suggestions(api, world)
    person = next(i for i in items if i.get("label") == "PERSON" and i["start"] == MIRA[0])
    org = next(i for i in items if i.get("label") == "ORG")
    # ann accepts the ORG suggestion: the page makes her span, then records the accept naming it.
    _run_ops(api, world, "ann", "doc", "b1", [{"op": "span.create", "id": "acc1", "label": "ORG", "start": TALLOW[0], "end": TALLOW[1]}])
    events = [
        {"key": person["key"], "action": "reject", "sources": person["sources"], "label": "PERSON"},
        {"key": org["key"], "action": "accept", "sources": org["sources"], "label": "ORG", "item": "acc1"},
    ]
    response = api.open("POST", url(world, "suggestions/events"), world["tokens"]["ann"], json={"events": events})
    assert response.status_code == 201, response.get_json()
    assert not any(i["key"] == person["key"] for i in suggestions(api, world))
    assert any(i["key"] == person["key"] for i in suggestions(api, world, who="bob"))
    rates = api.open("GET", f"/api/v1/projects/{world['project'].id}/suggestions/acceptance", world["tokens"]["cur"]).get_json()
    model = next(r for r in rates["sources"] if r["source"] == "model:ner-v2")
    assert (model["accepted"], model["rejected"], model["rate"]) == (1, 1, 0.5)
    assert api.open("GET", f"/api/v1/projects/{world['project'].id}/suggestions/acceptance", world["tokens"]["ann"]).status_code == 403
    assert db.scalar(select(SuggestionEvent.user_id).limit(1)) == world["ann"].id


@pytest.mark.parametrize(
    "body, reason",
    [
        ({}, "events must be a non-empty list"),
        ({"events": [{"key": "k", "action": "maybe", "sources": ["x"]}]}, "events[0]: action"),
        ({"events": [{"key": "k", "action": "accept", "sources": []}]}, "events[0]: sources"),
        ({"events": [{"key": "", "action": "accept", "sources": ["x"]}]}, "events[0]: key"),
        ({"events": [{"key": "span:ORG:0:3", "action": "accept", "sources": ["x"]}]}, "events[0]: item"),
        ({"events": [{"key": "span:ORG:0:3", "action": "accept", "sources": ["x"], "item": "i" * 65}]}, "events[0]: item"),
        ({"events": ["x"]}, "events[0]: an event must be an object"),
    ],
)
def test_malformed_events_are_a_400_with_the_reason(api, world, body, reason):
    response = api.open("POST", url(world, "suggestions/events"), world["tokens"]["ann"], json=body)
    assert response.status_code == 400
    assert reason in response.get_json()["error"]


def test_a_gazetteer_seeds_suggestions_and_a_bad_line_changes_nothing(api, world):
    gaz = f"/api/v1/projects/{world['project'].id}/gazetteer"
    response = api.open("PUT", gaz, world["tokens"]["cur"], json={"text": "# people\nИван Петров\tPERSON\nTallow Mills\tORG\n"})
    assert response.status_code == 200 and response.get_json()["entries"] == 2
    items = [i for i in suggestions(api, world) if "gazetteer" in i["sources"]]
    assert {(i["label"], i["text"]) for i in items} == {("PERSON", "Иван Петров"), ("ORG", "Tallow Mills")}
    ivan = next(i for i in items if i["label"] == "PERSON")
    assert TEXT[ivan["start"] : ivan["end"]] == "Иван Петров"
    bad = api.open("PUT", gaz, world["tokens"]["cur"], json={"text": "Tallow\tORG\nMira Olsen\tNOPE\n"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "request body:2: label 'NOPE' is not in the project's schema"
    assert api.open("GET", gaz, world["tokens"]["cur"]).get_json()["entries"] == 2
    assert api.open("PUT", gaz, world["tokens"]["ann"], json={"text": "x\tORG"}).status_code == 403
    upload = api.open(
        "PUT", gaz, world["tokens"]["cur"], data={"file": (__import__("io").BytesIO(b"Mira Olsen\tPERSON\n"), "names.tsv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 200 and upload.get_json()["entries"] == 1


def test_attribution_rules_suggest_a_triple_in_russian_with_code_point_offsets(api, world):
    items = [i for i in suggestions(api, world) if i["kind"] == "attribution" and "attribution" in i["sources"]]
    ru = next(i for i in items if i["cue"]["text"] == "заявил")
    assert ru["source"]["text"] == "Иван Петров" and ru["source"]["label"] == "PERSON"
    assert [c["text"] for c in ru["content"]] == ["мост закроют"]
    for part in (ru["source"], ru["cue"], *ru["content"]):
        assert TEXT[part["start"] : part["end"]] == part["text"]


def test_markup_hints_of_an_html_import_are_suggestions_from_markup(api, world, db):
    html = "<p>Dana Fisk <u>said</u> the <b>Harbour Board</b> met.</p>".encode()
    importing.import_stream(db, world["project"], "board.html", html, "html")
    db.commit()
    doc = db.scalar(select(AnnotationSet.document_id).where(AnnotationSet.model_name == "markup"))
    response = api.open("GET", f"/api/v1/projects/{world['project'].id}/documents/{doc}/suggestions", world["tokens"]["ann"])
    items = response.get_json()["suggestions"]
    cue = next(i for i in items if i.get("label") == "CUE")
    assert cue["text"] == "said" and "markup" in cue["sources"]
    assert {"name": "markup", "count": 2} in response.get_json()["sources"]


def test_suggestions_of_another_projects_document_are_not_found(api, world, db):
    response = api.open("GET", f"/api/v1/projects/{world['project'].id}/documents/999999/suggestions", world["tokens"]["ann"])
    assert response.status_code == 404


def test_progress_page_shows_rates_and_loads_a_gazetteer(app, api, world, db):
    import io

    ann = world["ann"]
    suggestion_service_events = [{"key": "span:ORG:0:3", "action": "reject", "sources": ["model:<b>x</b>"], "label": "ORG"}]
    from workbench.services import suggestions as suggestion_service

    suggestion_service.record_events(db, ann, world["project"], world["doc"], suggestion_service_events)
    db.commit()
    curator = type(api)(app)
    curator.login("cur")
    pid = world["project"].id
    page = curator.get(f"/projects/{pid}/progress").get_data(as_text=True)
    assert 'id="suggestions-heading"' in page
    assert "<th scope=\"row\">model:&lt;b&gt;x&lt;/b&gt;</th><td class=\"num\">0</td><td class=\"num\">1</td>" in page
    assert "The gazetteer has 0 entries" in page
    response = curator.post(
        f"/projects/{pid}/gazetteer", data={"file": (io.BytesIO("Мира\tPERSON\n".encode()), "g.tsv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/progress#suggestions-heading")
    page = curator.get(f"/projects/{pid}/progress").get_data(as_text=True)
    assert "Gazetteer loaded: 1 entry." in page and "The gazetteer has 1 entry" in page
    response = curator.post(
        f"/projects/{pid}/gazetteer", data={"file": (io.BytesIO(b"x\tNOPE\n"), "g.tsv")}, content_type="multipart/form-data"
    )
    assert "g.tsv:1: label &#39;NOPE&#39; is not in the project&#39;s schema" in curator.get(f"/projects/{pid}/progress").get_data(as_text=True)
    annotator = type(api)(app)
    annotator.login("ann")
    assert annotator.post(f"/projects/{pid}/gazetteer", data={}).status_code in (400, 403)


def _label_on_other(api, world, batch: str, label: str, needle: str) -> None:
    """ann labels ``needle`` on the other document ("Tallow Mills hired Mira Olsen.")."""
    layer = api.open("GET", f"/api/v1/projects/{world['project'].id}/documents/{world['other'].id}/annotate", world["tokens"]["ann"]).get_json()["layer"]
    start = "Tallow Mills hired Mira Olsen.".index(needle)
    response = api.open(
        "PATCH", f"/api/v1/layers/{layer['id']}/ops", world["tokens"]["ann"],
        json={"base_version": layer["version"], "batch_id": batch,
              "ops": [{"op": "span.create", "id": batch, "label": label, "start": start, "end": start + len(needle)}]},
    )
    assert response.status_code == 200, response.get_json()


def test_what_is_learned_is_kept_until_a_save_or_for_a_while_in_a_slow_project(api, world, monkeypatch):
    from workbench.services import suggestions as suggestion_service

    learned = lambda: {(i["label"], i["text"]) for i in suggestions(api, world, who="cur") if "recommender" in i["sources"]}  # noqa: E731
    assert learned() == set()
    _label_on_other(api, world, "s1", "ORG", "Tallow Mills")
    assert learned() == {("ORG", "Tallow Mills")}  # a project that learns fast learns at once
    # A project whose learning is slow reuses what it learned for STALE_FOR seconds...
    monkeypatch.setattr(suggestion_service, "SLOW_LEARNING", -1.0)
    suggestion_service._MEMOS.clear()
    assert learned() == {("ORG", "Tallow Mills")}
    _label_on_other(api, world, "s2", "PERSON", "Mira Olsen")
    assert learned() == {("ORG", "Tallow Mills")}
    # ... but a new gazetteer counts at once (and the strings are learned again with it).
    api.open("PUT", f"/api/v1/projects/{world['project'].id}/gazetteer", world["tokens"]["cur"], json={"text": "Иван Петров\tPERSON\n"})
    assert {i["text"] for i in suggestions(api, world, who="cur") if "gazetteer" in i["sources"]} == {"Иван Петров"}
    assert learned() == {("ORG", "Tallow Mills"), ("PERSON", "Mira Olsen")}


def test_cookie_writes_need_the_csrf_token_and_reads_need_membership(csrf_app, db):
    import re

    from apiclient import csrf_token
    from factories import make_user

    ann, _bob, cur, project = make_team(db)
    doc = make_document(db, project, TEXT, external_id="ferry")
    make_user(db, "stranger")
    browser = Api(csrf_app)
    token = csrf_token(browser.open("GET", "/login").get_data(as_text=True))
    assert browser.open("POST", "/login", data={"username": "ann", "password": "password-123", "csrf_token": token}).status_code == 302
    page = browser.open("GET", f"/projects/{project.id}/documents/{doc.id}/annotate").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    assert 'id="wb-suggest"' in page
    events_url = f"/api/v1/projects/{project.id}/documents/{doc.id}/suggestions/events"
    body = {"events": [{"key": "span:PERSON:2:12", "action": "reject", "sources": ["recommender"]}]}
    refused = browser.open("POST", events_url, json=body)
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]
    assert browser.open("POST", events_url, json=body, headers={"X-CSRFToken": csrf}).status_code == 201
    too_many = {"events": body["events"] * 2001}
    response = browser.open("POST", events_url, json=too_many, headers={"X-CSRFToken": csrf})
    assert response.status_code == 400 and response.get_json()["error"] == "at most 2000 events at once, got 2001"
    outsider = Api(csrf_app)
    token = csrf_token(outsider.open("GET", "/login").get_data(as_text=True))
    outsider.open("POST", "/login", data={"username": "stranger", "password": "password-123", "csrf_token": token})
    assert outsider.open("GET", f"/api/v1/projects/{project.id}/documents/{doc.id}/suggestions").status_code == 404


def test_suggestions_the_overlap_rules_would_refuse_beside_the_annotators_spans_are_left_out(api, world):
    assert post_model(api, world, {"model": "m", "spans": [
        {"id": "T1", "start": 7, "end": 12, "label": "PERSON"},  # "Olsen", inside the annotator's PERSON "Mira Olsen"
        {"id": "T2", "start": TALLOW[0], "end": TALLOW[1], "label": "ORG"},
    ]}).status_code == 201
    layer = api.open("GET", url(world, "annotate"), world["tokens"]["ann"]).get_json()["layer"]
    response = api.open(
        "PATCH", f"/api/v1/layers/{layer['id']}/ops", world["tokens"]["ann"],
        json={"base_version": layer["version"], "batch_id": "b1",
              "ops": [{"op": "span.create", "id": "s1", "label": "PERSON", "start": MIRA[0], "end": MIRA[1]}]},
    )
    assert response.status_code == 200, response.get_json()
    mine = {(i["label"], i["text"]) for i in suggestions(api, world) if "model:m" in i["sources"]}
    assert mine == {("ORG", "Tallow Mills")}  # two PERSON spans never overlap in the news schema
    theirs = {(i["label"], i["text"]) for i in suggestions(api, world, who="bob") if "model:m" in i["sources"]}
    assert theirs == {("PERSON", "Olsen"), ("ORG", "Tallow Mills")}


def test_a_predicted_relation_is_suggested_between_spans_the_annotator_has_or_is_offered(api, world):
    body = {**MODEL_BODY, "relations": [{"id": "R1", "type": "member_of", "head": "T1", "tail": "T2", "attrs": {"score": 0.8}}]}
    assert post_model(api, world, body).status_code == 201
    relations = lambda who="ann": [i for i in suggestions(api, world, who=who) if i["kind"] == "relation"]  # noqa: E731
    [rel] = relations()
    assert rel["type"] == "member_of" and rel["sources"] == ["model:ner-v2"] and rel["score"] == 0.8
    assert (rel["head"]["text"], rel["head"]["label"], rel["tail"]["text"], rel["tail"]["label"]) == ("Mira Olsen", "PERSON", "Tallow Mills", "ORG")
    assert (rel["head"]["start"], rel["tail"]["end"]) == (MIRA[0], TALLOW[1])
    # Rejecting an end (as a span suggestion) leaves the relation nothing to join: not offered.
    person = next(i for i in suggestions(api, world) if i["kind"] == "span" and i["label"] == "PERSON" and i["start"] == MIRA[0])
    reject = {"key": person["key"], "action": "reject", "sources": person["sources"], "label": "PERSON"}
    assert api.open("POST", url(world, "suggestions/events"), world["tokens"]["ann"], json={"events": [reject]}).status_code == 201
    assert relations() == []
    assert len(relations("bob")) == 1
    # Drawn by hand, that span is hers: the relation is offered again (her ORG is still a span suggestion).
    _run_ops(api, world, "ann", "doc", "b1", [{"op": "span.create", "id": "h1", "label": "PERSON", "start": MIRA[0], "end": MIRA[1]}])
    assert [r["key"] for r in relations()] == [rel["key"]]
    # Once her layer has the relation (same type, same ends), it is no longer suggested.
    _run_ops(api, world, "ann", "doc", "b2", [
        {"op": "span.create", "id": "h2", "label": "ORG", "start": TALLOW[0], "end": TALLOW[1]},
        {"op": "relation.create", "id": "r1", "type": "member_of", "head": "h1", "tail": "h2"},
    ])
    assert relations() == []
    # Accepted through the page it counts while the relation is there; a rejection hides it for bob.
    accept = {"key": rel["key"], "action": "accept", "sources": rel["sources"], "label": "member_of", "item": "r1"}
    assert api.open("POST", url(world, "suggestions/events"), world["tokens"]["ann"], json={"events": [accept]}).status_code == 201
    assert _rate(api, world, "model:ner-v2") == (1, 1, 0.5)
    _run_ops(api, world, "ann", "doc", "b3", [{"op": "relation.delete", "id": "r1"}])
    assert _rate(api, world, "model:ner-v2") == (0, 1, 0.0)
    bob_reject = {"key": rel["key"], "action": "reject", "sources": rel["sources"], "label": "member_of"}
    assert api.open("POST", url(world, "suggestions/events"), world["tokens"]["bob"], json={"events": [bob_reject]}).status_code == 201
    assert relations("bob") == []
