"""The API's document list and document endpoints: pages, search, verbatim text, blind layers."""

from __future__ import annotations

import hashlib

import pytest
from apiclient import bearer
from factories import make_document
from factories import make_layer
from factories import make_project
from factories import make_user


@pytest.fixture
def team(db):
    """A project with an annotator, a second annotator and a curator."""
    ana = make_user(db, "ana", "annotator")
    boris = make_user(db, "boris", "annotator")
    cora = make_user(db, "cora", "curator")
    project = make_project(db, "Elections", members=[ana, boris, cora])
    return project, ana, boris, cora


def test_list_is_paginated_in_import_order(api, db, team):
    project, ana, _boris, _cora = team
    for i in range(7):
        make_document(db, project, f"Story number {i} about the harbour.", f"doc-{i}", title=f"Story {i}")
    headers = bearer(db, ana)
    url = f"/api/v1/projects/{project.id}/documents"
    first = api.get(url, query_string={"per_page": 3}, headers=headers).get_json()
    assert first["ok"] is True
    assert (first["total"], first["page"], first["per_page"], first["pages"]) == (7, 1, 3, 3)
    assert [d["external_id"] for d in first["items"]] == ["doc-0", "doc-1", "doc-2"]
    last = api.get(url, query_string={"per_page": 3, "page": 3}, headers=headers).get_json()
    assert [d["external_id"] for d in last["items"]] == ["doc-6"]
    beyond = api.get(url, query_string={"per_page": 3, "page": 9}, headers=headers).get_json()
    assert beyond["items"] == [] and beyond["total"] == 7
    item = first["items"][0]
    assert item["title"] == "Story 0"
    assert item["length"] == len("Story number 0 about the harbour.")
    assert item["status"] == "new"
    assert "text" not in item


def test_per_page_is_capped_at_500(api, db, team):
    project, ana, _boris, _cora = team
    make_document(db, project, "Only one.", "one")
    body = api.get(
        f"/api/v1/projects/{project.id}/documents", query_string={"per_page": 100000}, headers=bearer(db, ana)
    ).get_json()
    assert body["per_page"] == 500
    assert body["total"] == 1


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "x"}, {"per_page": "-4"}, {"per_page": "1.5"}])
def test_bad_paging_parameters_are_400(api, db, team, params):
    project, ana, _boris, _cora = team
    response = api.get(f"/api/v1/projects/{project.id}/documents", query_string=params, headers=bearer(db, ana))
    assert response.status_code == 400
    assert response.get_json()["ok"] is False


def test_search_matches_all_words_in_title_or_text(api, db, team):
    project, ana, _boris, _cora = team
    make_document(db, project, "The harbour reopened after the storm.", "a", title="Port news")
    make_document(db, project, "Farmers met the minister.", "b", title="Harbour talks")
    make_document(db, project, "Nothing related at all.", "c", title="Other")
    make_document(db, project, "A 100% rise_in prices.", "d", title="Prices")
    headers = bearer(db, ana)
    url = f"/api/v1/projects/{project.id}/documents"

    def ids(q: str) -> list[str]:
        return [d["external_id"] for d in api.get(url, query_string={"q": q}, headers=headers).get_json()["items"]]

    assert ids("HARBOUR") == ["a", "b"]
    assert ids("harbour storm") == ["a"]
    assert ids("minister talks") == ["b"]
    assert ids("absent") == []
    # LIKE wildcards in the query are taken literally
    assert ids("100%") == ["d"]
    assert ids("r_s") == []
    assert ids("rise_in") == ["d"]
    assert api.get(url, query_string={"q": "harbour"}, headers=headers).get_json()["total"] == 2


def test_document_text_comes_back_verbatim(api, db, team):
    project, ana, _boris, _cora = team
    text = "Line one\r\nSaid 😀 \"quoted\" <b>not html</b>\r\n\tend 𝕏 é"
    doc = make_document(db, project, text, "crlf-emoji", title="Emoji & CRLF", meta={"source": "Wire", "x": [1, 2]})
    response = api.get(f"/api/v1/projects/{project.id}/documents/{doc.id}", headers=bearer(db, ana))
    assert response.status_code == 200
    body = response.get_json()["document"]
    assert body["text"] == text
    assert body["text_sha256"] == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert body["external_id"] == "crlf-emoji"
    assert body["title"] == "Emoji & CRLF"
    assert body["meta"] == {"source": "Wire", "x": [1, 2]}
    assert body["layers"] == []
    assert response.mimetype == "application/json"


def test_document_of_another_project_is_404(api, db, team):
    project, ana, _boris, _cora = team
    other = make_project(db, "Other", members=[ana])
    doc = make_document(db, other, "Elsewhere.", "e")
    headers = bearer(db, ana)
    assert api.get(f"/api/v1/projects/{project.id}/documents/{doc.id}", headers=headers).status_code == 404
    assert api.get(f"/api/v1/projects/{other.id}/documents/{doc.id}", headers=headers).status_code == 200
    assert api.get(f"/api/v1/projects/{project.id}/documents/999999", headers=headers).status_code == 404


def test_annotator_sees_only_their_own_layer(api, db, team):
    project, ana, boris, cora = team
    doc = make_document(db, project, "Anna Berg said the mill will close.", "mill")
    make_layer(db, doc, "annotator", user=ana, spans=2, status="submitted")
    make_layer(db, doc, "annotator", user=boris, spans=3)
    make_layer(db, doc, "gold", spans=1, status="in_progress")
    make_layer(db, doc, "prediction", model="tagger-1", spans=4, status="suggested")
    url = f"/api/v1/projects/{project.id}/documents/{doc.id}"

    ana_layers = api.get(url, headers=bearer(db, ana)).get_json()["document"]["layers"]
    assert [(x["kind"], x["annotator"]) for x in ana_layers] == [("annotator", "ana")]
    assert ana_layers[0]["counts"] == {"spans": 2, "relations": 0, "attributions": 0}
    assert ana_layers[0]["status"] == "submitted"

    boris_layers = api.get(url, headers=bearer(db, boris)).get_json()["document"]["layers"]
    assert [(x["kind"], x["annotator"]) for x in boris_layers] == [("annotator", "boris")]
    assert "ana" not in str(boris_layers)

    cora_layers = api.get(url, headers=bearer(db, cora)).get_json()["document"]["layers"]
    assert [(x["kind"], x["annotator"], x["model"]) for x in cora_layers] == [
        ("gold", None, None),
        ("annotator", "ana", None),
        ("annotator", "boris", None),
        ("prediction", None, "tagger-1"),
    ]
    assert [x["counts"]["spans"] for x in cora_layers] == [1, 2, 3, 4]


def test_list_status_is_the_viewers_own(api, db, team):
    project, ana, boris, _cora = team
    doc = make_document(db, project, "A short one.", "s")
    make_layer(db, doc, "annotator", user=ana, status="submitted")
    url = f"/api/v1/projects/{project.id}/documents"
    assert api.get(url, headers=bearer(db, ana)).get_json()["items"][0]["status"] == "submitted"
    assert api.get(url, headers=bearer(db, boris)).get_json()["items"][0]["status"] == "new"
