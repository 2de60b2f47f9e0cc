"""``GET /api/v1/projects/<id>/next`` keeps the place it takes on a new document (found by the load test)."""

from __future__ import annotations

from factories import make_document
from factories import make_project
from factories import make_user

from workbench.models import AnnotationSet
from workbench.services import users as user_service


def test_next_keeps_the_place_it_took(api, db):
    ann = make_user(db, "ann")
    bob = make_user(db, "bob")
    project = make_project(db, "news", members=[ann, bob])
    project.annotators_per_document = 1
    project.assignment = "queue"
    db.commit()
    first = make_document(db, project, "Elin Sand said the bridge opens.", external_id="d1")
    second = make_document(db, project, "Oskar Lund said the ferry stops.", external_id="d2")
    tokens = {u.username: user_service.create_token(db, u, "t") for u in (ann, bob)}
    db.commit()
    taken = api.get(f"/api/v1/projects/{project.id}/next", token=tokens["ann"]).get_json()["document_id"]
    assert taken == first.id
    db.expire_all()
    assert [(layer.document_id, layer.user_id) for layer in db.query(AnnotationSet)] == [(first.id, ann.id)]
    # bob gets the other document, and ann can open hers
    assert api.get(f"/api/v1/projects/{project.id}/next", token=tokens["bob"]).get_json()["document_id"] == second.id
    opened = api.get(f"/api/v1/projects/{project.id}/documents/{first.id}/annotate", token=tokens["ann"])
    assert opened.status_code == 200, opened.get_json()
