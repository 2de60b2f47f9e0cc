from factories import make_project
from factories import make_user


def test_login_page_renders_with_csp(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_login_then_projects_listed(client, db, auth):
    user = make_user(db)
    make_project(db, "news", members=[user])
    response = auth.login()
    assert response.status_code == 302
    page = client.get("/")
    assert b"news" in page.data
