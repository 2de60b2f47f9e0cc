"""API tokens: create (secret shown once), list, revoke; token auth and its failures."""

from __future__ import annotations

import hashlib

import pytest
from apiclient import Api
from factories import make_user

from workbench.models import ApiToken
from workbench.services import users as user_service


def test_create_list_and_use_a_token(api, db):
    make_user(db, "ana", "annotator")
    assert api.login("ana").status_code == 302
    created = api.post("/api/v1/tokens", json={"name": "my script"})
    assert created.status_code == 201
    body = created.get_json()
    secret = body["secret"]
    assert secret.startswith("wb_") and len(secret) > 30
    assert body["token"]["name"] == "my script"
    assert body["token"]["last_used_at"] is None
    db.expire_all()
    row = db.query(ApiToken).one()
    assert row.id == body["token"]["id"]
    # only the hash is stored, and the list never shows the secret
    assert row.token_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    listed = api.get("/api/v1/tokens").get_json()["items"]
    assert [t["name"] for t in listed] == ["my script"]
    assert listed[0]["created_at"].endswith("+00:00")  # UTC, on SQLite too
    assert secret not in str(listed) and row.token_sha256 not in str(listed)

    script = Api(api.app)  # no cookie, only the token
    me = script.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.get_json()["user"]["username"] == "ana"
    db.expire_all()
    assert db.query(ApiToken).one().last_used_at is not None


def test_a_token_cannot_create_tokens(api, db):
    """Revoking a leaked token must leave no token it made behind: a token makes none."""
    ana = make_user(db, "ana", "annotator")
    secret = user_service.create_token(db, ana, "first")
    db.commit()
    response = api.post("/api/v1/tokens", json={"name": "second"}, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert "token cannot create tokens" in response.get_json()["error"]
    assert {t.name for t in db.query(ApiToken)} == {"first"}


def test_tokens_list_only_the_users_own(api, db):
    ana = make_user(db, "ana", "annotator")
    boris = make_user(db, "boris", "annotator")
    user_service.create_token(db, boris, "boris's")
    secret = user_service.create_token(db, ana, "ana's")
    db.commit()
    items = api.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"}).get_json()["items"]
    assert [t["name"] for t in items] == ["ana's"]


def test_revoked_token_gets_401(api, db):
    ana = make_user(db, "ana", "annotator")
    secret = user_service.create_token(db, ana, "soon gone")
    db.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    token_id = db.query(ApiToken).one().id
    revoked = api.delete(f"/api/v1/tokens/{token_id}", headers=headers)
    assert revoked.status_code == 200
    assert revoked.get_json() == {"ok": True}
    db.expire_all()
    assert db.query(ApiToken).count() == 0
    after = api.get("/api/v1/me", headers=headers)
    assert after.status_code == 401
    assert after.get_json()["ok"] is False


def test_cannot_revoke_someone_elses_token(api, db):
    ana = make_user(db, "ana", "annotator")
    boris = make_user(db, "boris", "annotator")
    theirs = user_service.create_token(db, boris, "boris's")
    mine = user_service.create_token(db, ana, "ana's")
    db.commit()
    boris_token = db.query(ApiToken).filter_by(user_id=boris.id).one()
    response = api.delete(f"/api/v1/tokens/{boris_token.id}", headers={"Authorization": f"Bearer {mine}"})
    assert response.status_code == 404
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {theirs}"}).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer wb_not-a-real-token", "Bearer ", "Basic YW5hOnBhc3N3b3Jk", "wb_missing-the-word-bearer"],
)
def test_bad_tokens_get_401(api, db, header):
    make_user(db, "ana", "annotator")
    response = api.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.get_json()["status"] == 401


def test_token_of_a_deactivated_user_gets_401(api, db):
    ana = make_user(db, "ana", "annotator")
    secret = user_service.create_token(db, ana, "old")
    ana.active = False
    db.commit()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "   "}, {"name": 3}, {"name": "x" * 101}])
def test_token_needs_a_name(api, db, body):
    make_user(db, "ana", "annotator")
    api.login("ana")
    response = api.post("/api/v1/tokens", json=body)
    assert response.status_code == 400
    db.expire_all()
    assert db.query(ApiToken).count() == 0
