"""The annotate API and pages over HTTP: open, save ops, conflicts, retries, status, next, blind layers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from apiclient import ERROR_KEYS
from apiclient import Api
from apiclient import csrf_token
from factories import make_document
from factories import make_project
from factories import make_team
from factories import make_user
from sqlalchemy import func
from sqlalchemy import select

from workbench.models import AnnotationSet
from workbench.models import Change
from workbench.models import Span
from workbench.services import users as user_service

TEXT = "Mira Olsen of Tallow Mills said the plant will close in May."


@pytest.fixture
def world(db) -> dict[str, Any]:
    """A project with two annotators, a curator and three documents; a token each."""
    ann, bob, cur, project = make_team(db)
    project.guidelines = "# Rules\n\nMark *names*. <script>alert(1)</script>"
    db.commit()
    docs = [
        make_document(db, project, TEXT, external_id="d1", title="Mill closes"),
        make_document(db, project, "Second story 👩‍👩‍👧 text.", external_id="d2"),
        make_document(db, project, "Third story text.", external_id="d3"),
    ]
    tokens = {u.username: user_service.create_token(db, u, "tests") for u in (ann, bob, cur)}
    db.commit()
    return {"ann": ann, "bob": bob, "cur": cur, "project": project, "docs": docs, "tokens": tokens}


def open_doc(api: Api, world: dict[str, Any], doc_index: int = 0, who: str = "ann") -> dict[str, Any]:
    """GET the annotate data of a document; return the JSON."""
    pid, did = world["project"].id, world["docs"][doc_index].id
    response = api.open("GET", f"/api/v1/projects/{pid}/documents/{did}/annotate", world["tokens"][who])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def patch(api: Api, world: dict[str, Any], layer_id: int, ops: list[dict[str, Any]], base: int, batch: str,
          who: str = "ann") -> Any:
    """PATCH a batch of ops."""
    return api.open(
        "PATCH", f"/api/v1/layers/{layer_id}/ops", world["tokens"][who],
        json={"base_version": base, "batch_id": batch, "ops": ops},
    )


OPS = [
    {"op": "span.create", "id": "p", "label": "PERSON", "start": 0, "end": 10, "text": "Mira Olsen"},
    {"op": "span.create", "id": "o", "label": "ORG", "start": 14, "end": 26},
    {"op": "span.create", "id": "cue", "label": "CUE", "start": 27, "end": 31},
    {"op": "span.create", "id": "c", "label": "CLAIM", "start": 32, "end": 59, "attrs": {"factuality": "asserted"}},
    {"op": "relation.create", "id": "r1", "type": "member_of", "head": "p", "tail": "o"},
    {"op": "attribution.create", "id": "a1", "source": "p", "cue": "cue", "content": ["c"]},
]


def test_open_returns_document_schema_layer_and_navigation(api, db, world):
    body = open_doc(api, world)
    doc, pid = world["docs"][0], world["project"].id
    assert body["ok"] is True
    assert body["document"] == {
        "id": doc.id,
        "external_id": "d1",
        "title": "Mill closes",
        "text": TEXT,
        "meta": {},
        "text_sha256": doc.text_sha256,
        "tokens": [[m.start(), m.end()] for m in re.finditer(r"\w+|[^\w\s]", TEXT)],
    }
    assert [lb["name"] for lb in body["schema"]["labels"]][:2] == ["PERSON", "ORG"]
    assert {"name", "kind", "color", "hotkey", "description", "attributes"} <= set(body["schema"]["labels"][0])
    assert body["schema"]["relation_types"][0]["name"] == "member_of"
    assert body["schema"]["attributions"] is True
    layer = body["layer"]
    assert layer["kind"] == "annotator" and layer["status"] == "new" and layer["version"] == 0
    assert layer["spans"] == [] and layer["relations"] == [] and layer["attributions"] == []
    assert body["project"]["id"] == pid and body["project"]["name"] == "news"
    html = body["project"]["guidelines_html"]
    assert "<h1>Rules</h1>" in html and "<em>names</em>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert body["navigation"] == {
        "next_url": f"/projects/{pid}/documents/{world['docs'][1].id}/annotate",
        "prev_url": None,
        "project_url": f"/projects/{pid}",
    }
    stored = db.scalars(select(AnnotationSet).where(AnnotationSet.document_id == doc.id)).all()
    assert [(s.id, s.owner_key, s.status) for s in stored] == [(layer["id"], f"annotator:{world['ann'].id}", "new")]
    # Opening again reuses the layer.
    assert open_doc(api, world)["layer"]["id"] == layer["id"]
    assert db.scalar(select(func.count(AnnotationSet.id))) == 1


def test_tokens_count_code_points(api, world):
    body = open_doc(api, world, 1)
    text = body["document"]["text"]
    pieces = [text[s:e] for s, e in body["document"]["tokens"]]
    assert pieces == ["Second", "story", "👩", "\u200d", "👩", "\u200d", "👧", "text", "."]
    # Code points: "text" starts at 19 (the family emoji counts 5, not 8 UTF-16 units).
    assert body["document"]["tokens"][-2] == [19, 23]


def test_save_round_trip(api, db, world):
    layer_id = open_doc(api, world)["layer"]["id"]
    response = patch(api, world, layer_id, OPS, 0, "batch-1")
    assert response.status_code == 200
    assert response.get_json() == {
        "ok": True, "version": 1, "counts": {"spans": 4, "relations": 1, "attributions": 1}, "batch_id": "batch-1",
    }
    layer = api.open("GET", f"/api/v1/layers/{layer_id}", world["tokens"]["ann"]).get_json()["layer"]
    assert layer["status"] == "in_progress" and layer["version"] == 1
    assert [(s["id"], s["text"]) for s in layer["spans"]] == [
        ("p", "Mira Olsen"), ("o", "Tallow Mills"), ("cue", "said"), ("c", "the plant will close in May"),
    ]
    assert layer["relations"] == [{"id": "r1", "type": "member_of", "head": "p", "tail": "o", "attrs": {}}]
    assert layer["attributions"] == [{"id": "a1", "source": "p", "cue": "cue", "content": ["c"], "attrs": {}}]
    # The same via the annotate endpoint, and the change history.
    assert open_doc(api, world)["layer"] == layer
    change = db.scalars(select(Change).where(Change.set_id == layer_id)).one()
    assert (change.action, change.version, change.user_id, change.payload["ops"]) == ("ops", 1, world["ann"].id, OPS)


def test_span_delete_cascades_over_http(api, world):
    layer_id = open_doc(api, world)["layer"]["id"]
    patch(api, world, layer_id, OPS, 0, "b1")
    response = patch(api, world, layer_id, [{"op": "span.delete", "id": "p"}], 1, "b2")
    assert response.get_json()["counts"] == {"spans": 3, "relations": 0, "attributions": 1}
    layer = api.open("GET", f"/api/v1/layers/{layer_id}", world["tokens"]["ann"]).get_json()["layer"]
    assert layer["attributions"] == [{"id": "a1", "source": None, "cue": "cue", "content": ["c"], "attrs": {}}]


def test_stale_version_is_409_with_the_current_version(api, db, world):
    layer_id = open_doc(api, world)["layer"]["id"]
    patch(api, world, layer_id, OPS[:1], 0, "b1")
    response = patch(api, world, layer_id, [OPS[1]], 0, "b2")
    assert response.status_code == 409
    body = response.get_json()
    assert ERROR_KEYS <= set(body) and body["ok"] is False and body["status"] == 409
    assert body["current_version"] == 1
    assert db.scalars(select(Span.uid)).all() == ["p"]


def test_retrying_the_last_batch_applies_nothing_twice(api, db, world):
    layer_id = open_doc(api, world)["layer"]["id"]
    first = patch(api, world, layer_id, OPS, 0, "b1").get_json()
    retry = patch(api, world, layer_id, OPS, 0, "b1")
    assert retry.status_code == 200 and retry.get_json() == first
    assert db.scalar(select(func.count(Span.id))) == 4
    assert db.scalar(select(func.count(Change.id))) == 1


def test_bad_op_is_400_naming_the_op_and_nothing_is_applied(api, db, world):
    layer_id = open_doc(api, world)["layer"]["id"]
    ops = OPS[:3] + [{"op": "span.create", "id": "far", "label": "DATE", "start": 58, "end": 70}]
    response = patch(api, world, layer_id, ops, 0, "b1")
    assert response.status_code == 400
    body = response.get_json()
    reason = "span 58-70 lies outside the text (length 60)"
    assert body == {
        "ok": False, "status": 400, "error": f"op 3 (span.create): {reason}",
        "errors": [{"index": 3, "op": "span.create", "reason": reason}],
    }
    assert db.scalar(select(func.count(Span.id))) == 0
    assert db.scalar(select(AnnotationSet.version).where(AnnotationSet.id == layer_id)) == 0


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"base_version": 0, "batch_id": "b", "ops": [{"op": "nope", "id": "x"}]}, "op 0 (nope): unknown op 'nope'"),
        ({"base_version": None, "batch_id": "b", "ops": OPS}, "base_version must be a whole number"),
        ({"base_version": 0, "ops": OPS}, "batch_id must be a string"),
    ],
)
def test_malformed_bodies_are_400(api, world, body, fragment):
    layer_id = open_doc(api, world)["layer"]["id"]
    response = api.open("PATCH", f"/api/v1/layers/{layer_id}/ops", world["tokens"]["ann"], json=body)
    assert response.status_code == 400
    assert fragment in response.get_json()["error"]
    not_json = api.open("PATCH", f"/api/v1/layers/{layer_id}/ops", world["tokens"]["ann"], data="[1]")
    assert not_json.status_code == 400 and set(not_json.get_json()) >= ERROR_KEYS


def test_put_replaces_the_whole_layer(api, world):
    layer_id = open_doc(api, world)["layer"]["id"]
    patch(api, world, layer_id, OPS, 0, "b1")
    body = {
        "base_version": 1,
        "spans": [{"id": "T1", "label": "PERSON", "start": 0, "end": 10, "text": "Mira Olsen", "attrs": {}}],
        "relations": [],
        "attributions": [],
    }
    response = api.open("PUT", f"/api/v1/layers/{layer_id}", world["tokens"]["ann"], json=body)
    assert response.status_code == 200
    assert response.get_json() == {
        "ok": True, "version": 2, "counts": {"spans": 1, "relations": 0, "attributions": 0}, "batch_id": None,
    }
    stale = api.open("PUT", f"/api/v1/layers/{layer_id}", world["tokens"]["ann"], json=body)
    assert stale.status_code == 409 and stale.get_json()["current_version"] == 2
    bad = dict(body, base_version=2, spans=[{"id": "T1", "label": "PERSON", "start": 0, "end": 10, "text": "Nope"}])
    response = api.open("PUT", f"/api/v1/layers/{layer_id}", world["tokens"]["ann"], json=bad)
    assert response.status_code == 400 and response.get_json()["error"].startswith("spans[0] (T1): span 0-10 covers")
    layer = api.open("GET", f"/api/v1/layers/{layer_id}", world["tokens"]["ann"]).get_json()["layer"]
    assert [s["id"] for s in layer["spans"]] == ["T1"] and layer["version"] == 2


def test_status_and_next(api, world):
    pid, docs, token = world["project"].id, world["docs"], world["tokens"]["ann"]
    nxt = api.open("GET", f"/api/v1/projects/{pid}/next", token).get_json()
    assert nxt == {"ok": True, "document_id": docs[0].id, "url": f"/projects/{pid}/documents/{docs[0].id}/annotate"}
    layer_id = open_doc(api, world)["layer"]["id"]
    response = api.open("POST", f"/api/v1/layers/{layer_id}/status", token, json={"status": "submitted"})
    assert response.get_json() == {
        "ok": True, "status": "submitted", "next_url": f"/projects/{pid}/documents/{docs[1].id}/annotate",
    }
    second = open_doc(api, world, 1)["layer"]["id"]
    no_note = api.open("POST", f"/api/v1/layers/{second}/status", token, json={"status": "skipped"})
    assert no_note.status_code == 400 and no_note.get_json()["error"] == "a skip needs a note saying why"
    skipped = api.open("POST", f"/api/v1/layers/{second}/status", token, json={"status": "skipped", "note": "advert"})
    assert skipped.get_json()["next_url"] == f"/projects/{pid}/documents/{docs[2].id}/annotate"
    third = open_doc(api, world, 2)["layer"]["id"]
    done = api.open("POST", f"/api/v1/layers/{third}/status", token, json={"status": "submitted"})
    assert done.get_json()["next_url"] is None
    assert api.open("GET", f"/api/v1/projects/{pid}/next", token).get_json() == {"ok": True, "document_id": None, "url": None}
    # Back to work on the first: it is next again.
    api.open("POST", f"/api/v1/layers/{layer_id}/status", token, json={"status": "in_progress"})
    assert api.open("GET", f"/api/v1/projects/{pid}/next", token).get_json()["document_id"] == docs[0].id
    # A submitted layer can still be edited; its status stays.
    api.open("POST", f"/api/v1/layers/{layer_id}/status", token, json={"status": "submitted"})
    edit = patch(api, world, layer_id, OPS[:1], 0, "late")
    assert edit.status_code == 200
    assert api.open("GET", f"/api/v1/layers/{layer_id}", token).get_json()["layer"]["status"] == "submitted"


def test_blind_annotation_and_roles(api, world):
    layer_id = open_doc(api, world)["layer"]["id"]
    patch(api, world, layer_id, OPS, 0, "b1")
    tokens = world["tokens"]
    for method, url, body in [
        ("GET", f"/api/v1/layers/{layer_id}", None),
        ("PATCH", f"/api/v1/layers/{layer_id}/ops", {"base_version": 1, "batch_id": "x", "ops": OPS[:1]}),
        ("PUT", f"/api/v1/layers/{layer_id}", {"base_version": 1, "spans": []}),
        ("POST", f"/api/v1/layers/{layer_id}/status", {"status": "submitted"}),
    ]:
        response = api.open(method, url, tokens["bob"], json=body)
        assert response.status_code == 404, (method, url)
        assert set(response.get_json()) >= ERROR_KEYS
    curator_view = api.open("GET", f"/api/v1/layers/{layer_id}", tokens["cur"])
    assert curator_view.status_code == 200 and len(curator_view.get_json()["layer"]["spans"]) == 4
    curator_write = patch(api, world, layer_id, [{"op": "span.delete", "id": "p"}], 1, "y", who="cur")
    assert curator_write.status_code == 403
    # Bob opening the same document gets his own, empty layer.
    bob_layer = open_doc(api, world, who="bob")["layer"]
    assert bob_layer["id"] != layer_id and bob_layer["spans"] == []
    # Anonymous callers must log in.
    anonymous = api.open("GET", f"/api/v1/layers/{layer_id}")
    assert anonymous.status_code == 401 and anonymous.get_json()["status"] == 401


def test_non_member_gets_404(api, db, world):
    eve = make_user(db, "eve")
    token = user_service.create_token(db, eve, "t")
    db.commit()
    pid, did = world["project"].id, world["docs"][0].id
    assert api.open("GET", f"/api/v1/projects/{pid}/documents/{did}/annotate", token).status_code == 404
    assert api.open("GET", f"/api/v1/projects/{pid}/next", token).status_code == 404
    other = make_project(db, "other", members=[world["ann"]])
    stranger_doc = make_document(db, other, "Elsewhere.", external_id="x1")
    wrong = api.open("GET", f"/api/v1/projects/{pid}/documents/{stranger_doc.id}/annotate", world["tokens"]["ann"])
    assert wrong.status_code == 404


def test_annotate_next_redirects(client, auth, db, world):
    auth.login("ann")
    pid, docs = world["project"].id, world["docs"]
    response = client.get(f"/projects/{pid}/annotate")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/projects/{pid}/documents/{docs[0].id}/annotate"
    for doc in docs:
        db.add(AnnotationSet(document_id=doc.id, kind="annotator", owner_key=f"annotator:{world['ann'].id}",
                             user_id=world["ann"].id, status="submitted"))
    db.commit()
    response = client.get(f"/projects/{pid}/annotate")
    assert response.status_code == 302 and response.headers["Location"] == f"/projects/{pid}"
    page = client.get(f"/projects/{pid}")
    assert b"Nothing left to annotate" in page.data


def test_annotate_page_is_a_shell_without_the_text(client, auth, db, world):
    pid, doc = world["project"].id, world["docs"][0]
    assert client.get(f"/projects/{pid}/documents/{doc.id}/annotate").status_code == 302  # log in first
    auth.login("ann")
    response = client.get(f"/projects/{pid}/documents/{doc.id}/annotate")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f'data-project-id="{pid}"' in html and f'data-document-id="{doc.id}"' in html
    assert "Tallow Mills said" not in html
    assert client.get(f"/projects/{pid}/documents/999999/annotate").status_code == 404


def test_page_user_saves_with_the_csrf_token_from_the_page(csrf_app, db, world):
    api = Api(csrf_app)
    token = csrf_token(api.open("GET", "/login").get_data(as_text=True))
    logged_in = api.open("POST", "/login", data={"username": "ann", "password": "password-123", "csrf_token": token})
    assert logged_in.status_code == 302
    pid, did = world["project"].id, world["docs"][0].id
    page = api.open("GET", f"/projects/{pid}/documents/{did}/annotate").get_data(as_text=True)
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    layer_id = api.open("GET", f"/api/v1/projects/{pid}/documents/{did}/annotate").get_json()["layer"]["id"]
    body = {"base_version": 0, "batch_id": "b1", "ops": OPS[:1]}
    refused = api.open("PATCH", f"/api/v1/layers/{layer_id}/ops", json=body)
    assert refused.status_code == 400 and "CSRF" in refused.get_json()["error"]
    saved = api.open("PATCH", f"/api/v1/layers/{layer_id}/ops", json=body, headers={"X-CSRFToken": csrf})
    assert saved.status_code == 200 and saved.get_json()["version"] == 1
