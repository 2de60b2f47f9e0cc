"""Security: headers on every page, cookies, CSRF, POST-only logout, no open redirect."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from factories import FAST_HASH
from factories import make_document
from factories import make_project
from factories import make_user
from workbench import create_app


@pytest.fixture
def seeded(db):
    """A curator in one project with one document."""
    user = make_user(db, "carla", "curator")
    project = make_project(db, "Bay news", members=[user])
    doc = make_document(db, project, "Pia Noor said the bridge opens in May.", external_id="bridge-1", title="Bridge")
    return {"project": project, "doc": doc}


def _pages(project_id: int, doc_id: int) -> list[str]:
    """Return every page a curator can open, plus one error page."""
    return [
        "/",
        "/account",
        "/projects/new",
        f"/projects/{project_id}",
        f"/projects/{project_id}/members",
        f"/projects/{project_id}/guidelines",
        f"/projects/{project_id}/import",
        f"/projects/{project_id}/export",
        f"/projects/{project_id}/documents/{doc_id}",
        "/projects/987654",  # an error page needs the headers too
    ]


def test_security_headers_on_every_page(client, auth, seeded):
    auth.login("carla")
    pages = _pages(seeded["project"].id, seeded["doc"].id)
    responses = {path: client.get(path) for path in pages}
    auth.logout()
    responses["/login"] = client.get("/login")
    for path, response in responses.items():
        assert response.status_code in (200, 404), path
        csp = response.headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp, path
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "style-src 'self'" in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
        body = response.get_data(as_text=True)
        assert "<script>" not in body and "style=" not in body, path


def test_pages_load_only_local_assets(client, auth, seeded):
    auth.login("carla")
    for path in _pages(seeded["project"].id, seeded["doc"].id)[:-1]:
        body = client.get(path).get_data(as_text=True)
        assert "https://cdn" not in body and "//fonts." not in body, path
        assert '<link rel="stylesheet" href="/static/css/workbench.css">' in body, path


def _default_app(database_url: str, tmp_path: Path, **overrides: object):
    """Build an app with the default (production) cookie and CSRF settings."""
    config = {"SECRET_KEY": "test-secret", "DATABASE_URL": database_url, "PASSWORD_HASH_METHOD": FAST_HASH, **overrides}
    application = create_app(config)
    application.instance_path = str(tmp_path / "instance")
    return application


def test_session_cookie_is_httponly_samesite_and_secure_by_default(database_url, tmp_path):
    application = _default_app(database_url, tmp_path, WTF_CSRF_ENABLED=False)
    try:
        assert application.config["SESSION_COOKIE_SECURE"] is True
        session = application.extensions["workbench.sessionmaker"]()
        make_user(session, "carla", "curator")
        session.close()
        client = application.test_client()
        response = client.post("/login", data={"username": "carla", "password": "password-123"}, base_url="https://localhost")
        assert response.status_code == 302
        cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
        assert cookies, response.headers
        parts = [p.strip().lower() for p in cookies[0].split(";")]
        assert "httponly" in parts
        assert "samesite=lax" in parts
        assert "secure" in parts
    finally:
        application.extensions["workbench.engine"].dispose()


def test_login_without_csrf_token_is_refused(database_url, tmp_path):
    application = _default_app(database_url, tmp_path, WTF_CSRF_ENABLED=True, SESSION_COOKIE_SECURE=False)
    try:
        session = application.extensions["workbench.sessionmaker"]()
        make_user(session, "carla", "curator")
        session.close()
        client = application.test_client()
        refused = client.post("/login", data={"username": "carla", "password": "password-123"})
        assert refused.status_code == 400
        assert "CSRF" in refused.get_data(as_text=True)
        assert client.get("/").status_code == 302  # still logged out
        # With the token from the form the same login works.
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
        accepted = client.post("/login", data={"username": "carla", "password": "password-123", "csrf_token": token})
        assert accepted.status_code == 302
        assert client.get("/").status_code == 200
        # Page forms are protected too: a token-less POST after login is refused.
        assert client.post("/account/tokens", data={"name": "x"}).status_code == 400
        assert client.post("/logout").status_code == 400
    finally:
        application.extensions["workbench.engine"].dispose()


def test_logout_is_post_only(client, auth, seeded):
    auth.login("carla")
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200  # still logged in
    response = auth.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "http:evil.example", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)"],
)
def test_login_next_never_leaves_the_site(client, db, seeded, target):
    response = client.post("/login", query_string={"next": target}, data={"username": "carla", "password": "password-123"})
    assert response.status_code == 302
    location = response.headers["Location"]
    # Either the home page or a path on this site (Werkzeug sends "\\" as %5C,
    # which browsers do not turn into "/"), never another host.
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith(("//", "/\\")) and "\\" not in location, location


def test_login_next_keeps_a_local_path(client, seeded):
    path = f"/projects/{seeded['project'].id}"
    response = client.post("/login", query_string={"next": path}, data={"username": "carla", "password": "password-123"})
    assert response.headers["Location"] == path


def test_login_error_is_generic_and_form_re_renders(client, seeded):
    for username in ("carla", "nobody"):
        response = client.post("/login", data={"username": username, "password": "wrong-password"})
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        assert "Wrong user name or password." in body
        assert f'value="{username}"' in body
        assert "wrong-password" not in body


def test_login_page_warns_when_secure_cookies_cannot_work(database_url, tmp_path):
    from workbench import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url, "WTF_CSRF_ENABLED": False})
    app.instance_path = str(tmp_path)
    client = app.test_client()
    lan = client.get("/login", base_url="http://192.168.1.5:5000")
    assert b"will not keep it" in lan.data
    local = client.get("/login", base_url="http://127.0.0.1:5000")
    assert b"will not keep it" not in local.data
    tls = client.get("/login", base_url="https://annotate.example.org")
    assert b"will not keep it" not in tls.data
    app.extensions["workbench.engine"].dispose()


def test_behind_proxy_trusts_forwarded_proto(database_url, tmp_path):
    from workbench import create_app

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": database_url, "BEHIND_PROXY": 1})
    app.instance_path = str(tmp_path)
    page = app.test_client().get("/login", base_url="http://10.0.0.2", headers={"X-Forwarded-Proto": "https"})
    assert b"will not keep it" not in page.data
    app.extensions["workbench.engine"].dispose()
