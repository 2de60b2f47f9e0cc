"""The API's user, project and member endpoints: answers and role checks."""

from __future__ import annotations

import pytest
from apiclient import bearer
from factories import make_document
from factories import make_project
from factories import make_user

from workbench.models import Membership
from workbench.models import Project


def test_me_names_the_user_and_their_projects(api, db):
    ana = make_user(db, "ana", "annotator")
    make_project(db, "Elections", members=[ana])
    make_project(db, "Hidden")
    response = api.get("/api/v1/me", headers=bearer(db, ana))
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] is True
    assert body["user"]["username"] == "ana"
    assert body["user"]["role"] == "annotator"
    assert "password_hash" not in body["user"]
    assert [p["name"] for p in body["projects"]] == ["Elections"]
    assert body["projects"][0]["role"] == "annotator"


def test_me_works_with_the_session_cookie(api, db):
    make_user(db, "ana", "annotator")
    assert api.login("ana").status_code == 302
    response = api.get("/api/v1/me")
    assert response.status_code == 200
    assert response.get_json()["user"]["username"] == "ana"


def test_projects_lists_only_the_users_projects_with_counts(api, db):
    ana = make_user(db, "ana", "annotator")
    mine = make_project(db, "Elections", members=[ana])
    other = make_project(db, "Hidden")
    make_document(db, mine, "One short story.", "a")
    make_document(db, mine, "Another short story.", "b")
    make_document(db, other, "Not for ana.", "c")
    response = api.get("/api/v1/projects", headers=bearer(db, ana))
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [p["name"] for p in items] == ["Elections"]
    assert items[0]["counts"] == {"documents": 2, "done": 0, "mine_done": 0}
    assert items[0]["progress"] == 0.0


def test_admin_sees_every_project(api, db):
    admin = make_user(db, "root", "admin")
    make_project(db, "Alpha")
    make_project(db, "Beta")
    items = api.get("/api/v1/projects", headers=bearer(db, admin)).get_json()["items"]
    assert [(p["name"], p["role"]) for p in items] == [("Alpha", "admin"), ("Beta", "admin")]


def test_curator_creates_a_project_and_becomes_its_curator(api, db):
    cora = make_user(db, "cora", "curator")
    response = api.post(
        "/api/v1/projects", json={"name": "Floods", "description": "River news"}, headers=bearer(db, cora)
    )
    assert response.status_code == 201
    project = response.get_json()["project"]
    assert project["name"] == "Floods"
    assert project["description"] == "River news"
    assert project["role"] == "curator"
    assert [m["username"] for m in project["members"]] == ["cora"]
    assert {label["name"] for label in project["schema"]["labels"]} >= {"PERSON", "CLAIM", "CUE"}
    db.expire_all()
    stored = db.get(Project, project["id"])
    assert stored is not None and stored.name == "Floods"
    assert db.query(Membership).filter_by(project_id=stored.id, user_id=cora.id).one().role == "curator"


def test_admin_creates_a_project_with_its_own_schema(api, db):
    admin = make_user(db, "root", "admin")
    schema = {"name": "tiny", "version": 1, "labels": [{"name": "ORG", "kind": "entity"}]}
    response = api.post("/api/v1/projects", json={"name": "Tiny", "schema": schema}, headers=bearer(db, admin))
    assert response.status_code == 201
    project = response.get_json()["project"]
    assert [label["name"] for label in project["schema"]["labels"]] == ["ORG"]
    assert project["members"] == []


def test_annotator_cannot_create_a_project(api, db):
    ana = make_user(db, "ana", "annotator")
    response = api.post("/api/v1/projects", json={"name": "Mine"}, headers=bearer(db, ana))
    assert response.status_code == 403
    db.expire_all()
    assert db.query(Project).count() == 0


def test_create_project_rejects_bad_input(api, db):
    admin = make_user(db, "root", "admin")
    headers = bearer(db, admin)
    make_project(db, "Taken")
    assert api.post("/api/v1/projects", json={}, headers=headers).status_code == 400
    assert api.post("/api/v1/projects", json={"name": 7}, headers=headers).status_code == 400
    assert api.post("/api/v1/projects", json={"name": "X", "schema": []}, headers=headers).status_code == 400
    bad_schema = api.post("/api/v1/projects", json={"name": "X", "schema": {"labels": "no"}}, headers=headers)
    assert bad_schema.status_code == 400
    assert bad_schema.get_json()["error"].startswith("schema:")
    taken = api.post("/api/v1/projects", json={"name": "taken"}, headers=headers)
    assert taken.status_code == 409
    db.expire_all()
    assert [p.name for p in db.query(Project)] == ["Taken"]


def test_project_detail_for_a_member(api, db):
    ana = make_user(db, "ana", "annotator")
    cora = make_user(db, "cora", "curator")
    project = make_project(db, "Elections", members=[ana, cora])
    make_document(db, project, "Some text here.", "d1")
    response = api.get(f"/api/v1/projects/{project.id}", headers=bearer(db, ana))
    assert response.status_code == 200
    body = response.get_json()["project"]
    assert body["id"] == project.id
    assert body["counts"]["documents"] == 1
    assert body["role"] == "annotator"
    assert [(m["username"], m["role"]) for m in body["members"]] == [("ana", "annotator"), ("cora", "curator")]
    assert "labels" in body["schema"]


def test_non_member_gets_404_not_403(api, db):
    ana = make_user(db, "ana", "annotator")
    project = make_project(db, "Secret")
    hidden = api.get(f"/api/v1/projects/{project.id}", headers=bearer(db, ana))
    missing = api.get("/api/v1/projects/987654", headers=bearer(db, ana))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["error"] == missing.get_json()["error"]
    assert api.get(f"/api/v1/projects/{project.id}/documents", headers=bearer(db, ana)).status_code == 404


def test_curator_adds_and_updates_a_member(api, db):
    cora = make_user(db, "cora", "curator")
    make_user(db, "boris", "annotator")
    project = make_project(db, "Elections", members=[cora])
    headers = bearer(db, cora)
    url = f"/api/v1/projects/{project.id}/members"
    added = api.post(url, json={"username": "boris", "role": "annotator"}, headers=headers)
    assert added.status_code == 201
    assert added.get_json()["member"]["username"] == "boris"
    assert added.get_json()["member"]["role"] == "annotator"
    changed = api.post(url, json={"username": "Boris", "role": "curator"}, headers=headers)
    assert changed.status_code == 200
    assert changed.get_json()["member"]["role"] == "curator"
    db.expire_all()
    roles = {m.user.username: m.role for m in db.query(Membership).filter_by(project_id=project.id)}
    assert roles == {"cora": "curator", "boris": "curator"}


def test_add_member_rejects_unknown_user_and_bad_role(api, db):
    admin = make_user(db, "root", "admin")
    make_user(db, "boris", "annotator")
    project = make_project(db, "Elections")
    headers = bearer(db, admin)
    url = f"/api/v1/projects/{project.id}/members"
    assert api.post(url, json={"username": "nobody", "role": "annotator"}, headers=headers).status_code == 404
    assert api.post(url, json={"username": "boris", "role": "admin"}, headers=headers).status_code == 400
    assert api.post(url, json={"role": "annotator"}, headers=headers).status_code == 400
    db.expire_all()
    assert db.query(Membership).count() == 0


def test_annotator_cannot_add_members(api, db):
    ana = make_user(db, "ana", "annotator")
    make_user(db, "boris", "annotator")
    project = make_project(db, "Elections", members=[ana])
    response = api.post(
        f"/api/v1/projects/{project.id}/members",
        json={"username": "boris", "role": "annotator"},
        headers=bearer(db, ana),
    )
    assert response.status_code == 403
    db.expire_all()
    assert db.query(Membership).filter_by(project_id=project.id).count() == 1


def test_curator_of_another_project_cannot_add_members_here(api, db):
    cora = make_user(db, "cora", "curator")
    make_user(db, "boris", "annotator")
    make_project(db, "Mine", members=[cora])
    other = make_project(db, "Theirs")
    response = api.post(
        f"/api/v1/projects/{other.id}/members",
        json={"username": "boris", "role": "annotator"},
        headers=bearer(db, cora),
    )
    assert response.status_code == 404
