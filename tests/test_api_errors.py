"""One error shape for everything under /api/v1 (datasette's test_error_shape idea).

Every failure answers JSON with exactly the keys ``ok``, ``error``,
``errors`` and ``status``, whatever went wrong and wherever.
"""

from __future__ import annotations

import io

import pytest
from apiclient import ERROR_KEYS
from apiclient import Api
from apiclient import csrf_token
from factories import PASSWORD
from factories import make_project
from factories import make_user

from workbench.models import Project
from workbench.services import users as user_service


def assert_error_shape(response, status: int) -> dict:
    """Check ``response`` is the API's error shape with ``status`` and return its body."""
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == ERROR_KEYS, body
    assert body["ok"] is False
    assert body["status"] == status
    assert isinstance(body["error"], str) and body["error"].strip()
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    assert isinstance(body["errors"], list)
    return body


@pytest.fixture
def world(db):
    """An admin, a curator and an annotator of one project, and each one's token."""
    admin = make_user(db, "root", "admin")
    cora = make_user(db, "cora", "curator")
    ana = make_user(db, "ana", "annotator")
    project = make_project(db, "Elections", members=[cora, ana])
    tokens = {u.username: user_service.create_token(db, u, "t") for u in (admin, cora, ana)}
    db.commit()
    return project, tokens


# (who, method, path, keyword arguments, expected status); "{p}" is the project id.
CASES = [
    (None, "GET", "/api/v1/me", {}, 401),
    (None, "GET", "/api/v1/projects", {}, 401),
    (None, "POST", "/api/v1/projects", {"json": {"name": "x"}}, 401),
    (None, "GET", "/api/v1/projects/{p}/documents", {}, 401),
    (None, "DELETE", "/api/v1/tokens/1", {}, 401),
    (None, "GET", "/api/v1/no-such-thing", {}, 404),
    ("ana", "GET", "/api/v1/no-such-thing", {}, 404),
    ("ana", "GET", "/api/v1/projects/999999", {}, 404),
    ("ana", "GET", "/api/v1/projects/{p}/documents/999999", {}, 404),
    ("ana", "GET", "/api/v1/projects/not-a-number", {}, 404),
    ("ana", "DELETE", "/api/v1/tokens/999999", {}, 404),
    ("ana", "PUT", "/api/v1/me", {}, 405),
    ("ana", "DELETE", "/api/v1/projects", {}, 405),
    ("ana", "PATCH", "/api/v1/projects/{p}", {"json": {}}, 403),
    ("ana", "PATCH", "/api/v1/projects/{p}/members", {"json": {}}, 405),
    ("ana", "POST", "/api/v1/projects", {"json": {"name": "Mine"}}, 403),
    ("ana", "POST", "/api/v1/projects/{p}/members", {"json": {"username": "root", "role": "curator"}}, 403),
    ("ana", "POST", "/api/v1/projects/{p}/import", {"json": {"documents": [{"id": "a", "text": "b"}]}}, 403),
    ("root", "POST", "/api/v1/projects", {"data": "{not json", "content_type": "application/json"}, 400),
    ("root", "POST", "/api/v1/projects", {"json": ["a", "list"]}, 400),
    ("root", "POST", "/api/v1/projects", {"data": "name=x", "content_type": "application/x-www-form-urlencoded"}, 400),
    ("root", "POST", "/api/v1/projects", {"json": {"name": ""}}, 400),
    ("root", "POST", "/api/v1/projects", {"json": {"name": "elections"}}, 409),
    ("cora", "POST", "/api/v1/projects/{p}/members", {"json": {"username": "nobody"}}, 404),
    ("cora", "POST", "/api/v1/projects/{p}/members", {"json": {"username": "ana", "role": "boss"}}, 400),
    ("ana", "GET", "/api/v1/projects/{p}/documents?page=0", {}, 400),
    ("ana", "POST", "/api/v1/tokens", {"json": {}}, 403),  # a token makes no tokens
    ("cora", "POST", "/api/v1/projects/{p}/import", {"json": {"nothing": []}}, 400),
]


@pytest.mark.parametrize("who, method, path, kwargs, status", CASES)
def test_error_shape(api, world, who, method, path, kwargs, status):
    project, tokens = world
    response = api.open(method, path.format(p=project.id), token=tokens[who] if who else None, **kwargs)
    assert_error_shape(response, status)


def test_import_error_lists_file_line_and_reason(api, world):
    project, tokens = world
    response = api.post(
        f"/api/v1/projects/{project.id}/import",
        data={"file": (io.BytesIO(b'{"id": "a", "text": "fine"}\n{broken\n'), "two.jsonl")},
        content_type="multipart/form-data",
        token=tokens["cora"],
    )
    body = assert_error_shape(response, 400)
    assert body["errors"] == [{"file": "two.jsonl", "line": 2, "reason": body["errors"][0]["reason"]}]
    assert body["error"] == f"two.jsonl:2: {body['errors'][0]['reason']}"


def test_non_member_cannot_tell_a_project_exists(api, world, db):
    project, _tokens = world
    olga = make_user(db, "olga", "curator")
    secret = user_service.create_token(db, olga, "t")
    db.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    existing = assert_error_shape(api.get(f"/api/v1/projects/{project.id}", headers=headers), 404)
    missing = assert_error_shape(api.get("/api/v1/projects/999999", headers=headers), 404)
    assert existing == missing


def test_cookie_writes_need_the_csrf_token(csrf_app):
    db = csrf_app.extensions["workbench.sessionmaker"]()
    try:
        cora = make_user(db, "cora", "curator")
        secret = user_service.create_token(db, cora, "script")
        db.commit()
        browser = Api(csrf_app)
        token = csrf_token(browser.get("/login").get_data(as_text=True))
        logged_in = browser.post("/login", data={"username": "cora", "password": PASSWORD, "csrf_token": token})
        assert logged_in.status_code == 302

        # reading needs no token
        assert browser.get("/api/v1/me").status_code == 200
        refused = browser.post("/api/v1/projects", json={"name": "Forged"})
        body = assert_error_shape(refused, 400)
        assert "CSRF" in body["error"]
        wrong = browser.post("/api/v1/projects", json={"name": "Forged"}, headers={"X-CSRFToken": "nonsense"})
        assert_error_shape(wrong, 400)
        db.expire_all()
        assert db.query(Project).count() == 0

        page_token = csrf_token(browser.get("/").get_data(as_text=True))
        accepted = browser.post("/api/v1/projects", json={"name": "Real"}, headers={"X-CSRFToken": page_token})
        assert accepted.status_code == 201, accepted.get_json()

        # a script with a token carries no ambient credentials and needs no CSRF token
        script = Api(csrf_app)
        scripted = script.post("/api/v1/projects", json={"name": "Scripted"}, headers={"Authorization": f"Bearer {secret}"})
        assert scripted.status_code == 201, scripted.get_json()
        db.expire_all()
        assert sorted(p.name for p in db.query(Project)) == ["Real", "Scripted"]
    finally:
        db.close()
