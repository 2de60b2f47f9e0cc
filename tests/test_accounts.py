"""Accounts and sessions: server-side logout, password changes, deactivation, member removal,
login back-off, password rules and HSTS (CLI, API and the admin page)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from apiclient import Api
from apiclient import csrf_token
from factories import PASSWORD
from factories import make_document
from factories import make_layer
from factories import make_project
from factories import make_user

from dbtools import make_test_app
from workbench.errors import InvalidInput
from workbench.models import ApiToken
from workbench.models import LoginSession
from workbench.models import Membership
from workbench.models import User
from workbench.models import utcnow
from workbench.services import users as user_service

NEW_PASSWORD = "tidal-harbor-pylon-7"


def _copy_session(api: Api) -> Api:
    """Return a second client holding a copy of ``api``'s session cookie (a stolen cookie)."""
    cookie = api.client.get_cookie("session")
    assert cookie is not None, "not logged in"
    thief = Api(api.app)
    thief.client.set_cookie("session", cookie.value)
    return thief


def _logged_in(api: Api) -> bool:
    return api.get("/api/v1/me").status_code == 200


def test_logout_ends_the_session_for_a_copied_cookie(api, db):
    make_user(db, "ana")
    assert api.login("ana").status_code == 302
    thief = _copy_session(api)
    assert _logged_in(thief)
    assert api.post("/logout").status_code == 302
    assert not _logged_in(api)
    assert not _logged_in(thief)
    assert thief.get("/").status_code == 302  # pages send it to the login page
    db.expire_all()
    assert db.query(LoginSession).count() == 0


def test_a_cookie_from_before_the_server_kept_sessions_no_longer_works(api, db):
    """A cookie naming only a user id (no session key) is refused."""
    ana = make_user(db, "ana")
    api.login("ana")
    thief = Api(api.app)
    with api.app.test_request_context():
        from flask import session as flask_session

        flask_session["_user_id"] = str(ana.id)
        flask_session["_fresh"] = True
        serializer = api.app.session_interface.get_signing_serializer(api.app)
        forged = serializer.dumps(dict(flask_session))
    thief.client.set_cookie("session", forged)
    assert not _logged_in(thief)


def test_changing_the_password_ends_the_other_sessions(api, db):
    make_user(db, "ana")
    api.login("ana")
    other = Api(api.app)
    other.login("ana")
    assert _logged_in(other)
    page = api.get("/account").get_data(as_text=True)
    assert 'action="/account/password"' in page
    response = api.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert "Password changed" in api.get("/account").get_data(as_text=True)
    assert _logged_in(api)  # the session that changed it stays
    assert not _logged_in(other)
    assert Api(api.app).login("ana", NEW_PASSWORD).status_code == 302
    assert Api(api.app).login("ana", PASSWORD).status_code == 200  # the old one is refused


def test_password_change_needs_the_current_password_and_a_good_new_one(api, db):
    make_user(db, "ana")
    api.login("ana")
    wrong = api.post(
        "/account/password",
        data={"current_password": "not-my-password", "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD},
    )
    assert wrong.status_code == 302
    assert "current password is wrong" in api.get("/account").get_data(as_text=True)
    common = api.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "qwertyuiop"})
    assert common.status_code == 400
    assert "most common" in common.get_json()["error"]
    ok = api.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert ok.status_code == 200
    assert _logged_in(api)


def test_cli_deactivate_ends_sessions_and_tokens_and_activate_lets_the_user_back(api, db, runner):
    ana = make_user(db, "ana")
    token = user_service.create_token(db, ana, "laptop")
    db.commit()
    api.login("ana")
    assert _logged_in(api)
    assert api.get("/api/v1/me", token=token).status_code == 200

    result = runner.invoke(args=["users", "deactivate", "ana"])
    assert result.exit_code == 0, result.output
    assert "Deactivated ana" in result.output
    assert not _logged_in(api)
    assert api.get("/api/v1/me", token=token).status_code == 401
    assert Api(api.app).login("ana").status_code == 200  # the form again: refused
    db.expire_all()
    assert db.query(ApiToken).count() == 0

    result = runner.invoke(args=["users", "activate", "ana"])
    assert result.exit_code == 0, result.output
    back = Api(api.app)
    assert back.login("ana").status_code == 302
    assert _logged_in(back)
    assert Api(api.app).get("/api/v1/me", token=token).status_code == 401  # a leaked token stays dead


def test_cli_set_password_ends_sessions_and_keeps_the_rules(api, db, runner):
    make_user(db, "ana")
    api.login("ana")
    short = runner.invoke(args=["users", "set-password", "ana", "--password-stdin"], input="too-short\n")
    assert short.exit_code == 1
    assert short.output.strip() == "Error: a password needs at least 10 characters"
    common = runner.invoke(args=["users", "set-password", "ana", "--password-stdin"], input="1234567890\n")
    assert common.exit_code == 1
    assert "most common" in common.output
    assert _logged_in(api)
    result = runner.invoke(args=["users", "set-password", "ana", "--password-stdin"], input=NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert not _logged_in(api)
    assert Api(api.app).login("ana", NEW_PASSWORD).status_code == 302
    missing = runner.invoke(args=["users", "deactivate", "nobody"])
    assert missing.exit_code == 1 and "no user called 'nobody'" in missing.output


def test_api_admin_deactivates_activates_and_resets(api, db):
    admin = make_user(db, "root", "admin")
    ana = make_user(db, "ana")
    token = user_service.create_token(db, admin, "admin script")
    ana_token = user_service.create_token(db, ana, "ana's")
    db.commit()
    ana_api = Api(api.app)
    ana_api.login("ana")

    assert [u["username"] for u in api.get("/api/v1/users", token=token).get_json()["items"]] == ["ana", "root"]
    assert api.get("/api/v1/users", token=ana_token).status_code == 403
    assert api.post("/api/v1/users/root/deactivate", token=ana_token).status_code == 403
    refused = api.post("/api/v1/users/root/deactivate", token=token)
    assert refused.status_code == 403 and "your own account" in refused.get_json()["error"]

    done = api.post("/api/v1/users/ana/deactivate", token=token)
    assert done.status_code == 200 and done.get_json()["user"]["active"] is False
    assert not _logged_in(ana_api)
    assert api.get("/api/v1/me", token=ana_token).status_code == 401
    assert api.post("/api/v1/users/ana/activate", token=token).get_json()["user"]["active"] is True

    ana_api.login("ana")
    bad = api.post("/api/v1/users/ana/password", json={"password": "short"}, token=token)
    assert bad.status_code == 400 and "at least 10" in bad.get_json()["error"]
    assert api.post("/api/v1/users/ana/password", json={"password": NEW_PASSWORD}, token=token).status_code == 200
    assert not _logged_in(ana_api)
    assert ana_api.login("ana", NEW_PASSWORD).status_code == 302
    assert api.post("/api/v1/users/nobody/activate", token=token).status_code == 404


def test_admin_page_checks_role_and_csrf_and_deactivates(csrf_app, db):
    make_user(db, "root", "admin")
    make_user(db, "ana")
    admin = Api(csrf_app)
    login_page = admin.get("/login").get_data(as_text=True)
    admin.post("/login", data={"username": "root", "password": PASSWORD, "csrf_token": csrf_token(login_page)})
    victim = Api(csrf_app)
    victim.post(
        "/login", data={"username": "ana", "password": PASSWORD, "csrf_token": csrf_token(victim.get("/login").get_data(as_text=True))}
    )
    assert victim.get("/admin/users").status_code == 403
    page = admin.get("/admin/users")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    ana_id = db.query(User).filter_by(username="ana").one().id
    # Every control is named for a screen reader and reachable by Tab (plain buttons and inputs).
    assert f'<label for="password-{ana_id}" class="visually-hidden">New password for ana</label>' in html
    assert 'aria-label="Deactivate ana"' in html
    assert 'aria-label="Deactivate root"' not in html  # no button to lock yourself out
    assert 'href="/admin/users"' in admin.get("/").get_data(as_text=True)
    assert 'href="/admin/users"' not in victim.get("/").get_data(as_text=True)

    # No CSRF token: refused, nothing changes.
    assert admin.post(f"/admin/users/{ana_id}/deactivate").status_code == 400
    assert victim.get("/api/v1/me").status_code == 200
    # An annotator cannot use the admin's form even with a valid token of their own.
    own = csrf_token(victim.get("/account").get_data(as_text=True))
    assert victim.post(f"/admin/users/{ana_id}/deactivate", data={"csrf_token": own}).status_code == 403

    done = admin.post(f"/admin/users/{ana_id}/deactivate", data={"csrf_token": csrf_token(html)})
    assert done.status_code == 302
    assert "ana is deactivated" in admin.get("/admin/users").get_data(as_text=True)
    assert victim.get("/api/v1/me").status_code == 401
    html = admin.get("/admin/users").get_data(as_text=True)
    assert 'aria-label="Activate ana"' in html
    admin.post(f"/admin/users/{ana_id}/password", data={"csrf_token": csrf_token(html), "password": "tiny"})
    assert "at least 10 characters" in admin.get("/admin/users").get_data(as_text=True)
    admin.post(f"/admin/users/{ana_id}/activate", data={"csrf_token": csrf_token(html)})
    db.expire_all()
    assert db.query(User).filter_by(username="ana").one().active is True


def test_remove_member_by_cli_api_and_page_keeps_annotations(api, db, runner):
    ana = make_user(db, "ana")
    bob = make_user(db, "bob")
    cy = make_user(db, "cy")
    cur = make_user(db, "cur", "curator")
    project = make_project(db, "news", members=[ana, bob, cy, cur])
    doc = make_document(db, project, "Mira Okafor said the port reopens.")
    make_layer(db, doc, "annotator", user=ana, spans=2)
    ana_api = Api(api.app)
    ana_api.login("ana")
    assert ana_api.get(f"/api/v1/projects/{project.id}").status_code == 200

    result = runner.invoke(args=["projects", "remove-member", "news", "ana"])
    assert result.exit_code == 0, result.output
    assert "ana is no longer a member of news" in result.output
    assert ana_api.get(f"/api/v1/projects/{project.id}").status_code == 404
    again = runner.invoke(args=["projects", "remove-member", "news", "ana"])
    assert again.exit_code == 1 and "'ana' is not a member of 'news'" in again.output
    db.expire_all()
    assert len(db.query(User).filter_by(username="ana").one().memberships) == 0
    from workbench.models import Span

    assert db.query(Span).count() == 2  # the annotations stay with the project

    api.login("cur")
    bob_api = Api(api.app)
    bob_api.login("bob")
    assert bob_api.delete(f"/api/v1/projects/{project.id}/members/cy").status_code == 403  # annotators cannot
    assert api.delete(f"/api/v1/projects/{project.id}/members/bob").status_code == 200
    members_page = api.get(f"/projects/{project.id}/members").get_data(as_text=True)
    assert 'aria-label="Remove cy from the project"' in members_page
    assert api.post(f"/projects/{project.id}/members/{cy.id}/remove").status_code == 302
    db.expire_all()
    assert {m.user.username for m in db.query(Membership)} == {"cur"}


def _login_from(api: Api, address: str, username: str, password: str):
    return api.post("/login", data={"username": username, "password": password}, environ_base={"REMOTE_ADDR": address})


def test_login_backs_off_per_account_and_address_without_locking_out_the_real_user(api, db, monkeypatch):
    make_user(db, "ana")
    for _ in range(5):
        assert _login_from(api, "10.0.0.66", "ana", "wrong-guess-000").status_code == 200
    refused = _login_from(api, "10.0.0.66", "ana", PASSWORD)  # even the right password waits
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert "Too many failed logins; try again in 1 second." in refused.get_data(as_text=True)
    # The real user, from their own address, is not locked out by the attacker.
    assert _login_from(Api(api.app), "10.0.0.7", "ana", PASSWORD).status_code == 302
    # Back-off, not a lock: once the wait is over the attacker's address may try again,
    # and each further failure doubles the wait.
    later = utcnow() + timedelta(seconds=2)
    monkeypatch.setattr(user_service, "utcnow", lambda: later)
    assert _login_from(api, "10.0.0.66", "ana", "wrong-guess-001").status_code == 200
    assert user_service.login_wait(db, "ana", "10.0.0.66") == 2
    much_later = later + timedelta(hours=2)
    monkeypatch.setattr(user_service, "utcnow", lambda: much_later)
    assert user_service.login_wait(db, "ana", "10.0.0.66") == 0  # forgotten after an hour
    assert _login_from(api, "10.0.0.66", "ana", PASSWORD).status_code == 302


def test_one_address_guessing_many_accounts_backs_off(api, db):
    make_user(db, "ana")
    for i in range(user_service.BACKOFF["addr"][0]):
        _login_from(api, "10.0.0.99", f"guess{i}", "wrong-guess-000")
    assert _login_from(api, "10.0.0.99", "ana", PASSWORD).status_code == 429
    assert _login_from(Api(api.app), "10.0.0.8", "ana", PASSWORD).status_code == 302


def test_a_spread_out_attack_delays_an_account_by_a_minute_at_most(db, app):
    with app.app_context():
        for i in range(200):
            user_service.record_login_failure(db, "ana", f"10.1.{i // 250}.{i % 250}")
        db.commit()
        wait = user_service.login_wait(db, "ana", "10.9.9.9")
    assert 0 < wait <= 60


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short-pw", "at least 10 characters"), ("1q2w3e4r5t", "most common"), ("Manchester", "most common"), ("aaaaaaaaaaaa", "most common"), ("x" * 1001, "at most 1000")],
)
def test_password_rules(db, password, reason):
    with pytest.raises(InvalidInput, match=reason):
        user_service.create_user(db, "zed", "annotator", password)


def test_a_password_may_not_be_the_user_name(db):
    with pytest.raises(InvalidInput, match="user name"):
        user_service.create_user(db, "longusername", "annotator", "LongUserName")


def test_hsts_only_when_served_over_tls_behind_a_proxy(database_url, tmp_path):
    application = make_test_app(database_url, tmp_path / "instance", BEHIND_PROXY=1)
    try:
        client = application.test_client()
        secure = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        plain = client.get("/login")
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        application.extensions["workbench.engine"].dispose()
