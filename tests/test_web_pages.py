"""The HTML pages: who sees what, search and pages, escaping, navigation."""

from __future__ import annotations

import re

import pytest
from factories import make_document
from factories import make_layer
from factories import make_project
from factories import make_user
from sqlalchemy.orm import Session

from workbench.models import Document
from workbench.models import Project
from workbench.models import Relation

HOSTILE = "Mara Holt <u>said</u> the dam is safe &amp; sound.\n\n<script>alert(1)</script> was in the page."


@pytest.fixture
def team(db: Session) -> dict[str, object]:
    """A curator, two annotators (members), an outsider and one project with two documents."""
    curator = make_user(db, "carla", "curator")
    ann = make_user(db, "annotator")
    other = make_user(db, "otto")
    outsider = make_user(db, "olga")
    project = make_project(db, "Harbour news", members=[curator, ann, other])
    first = make_document(
        db, project, "Jonas Wild said the ferry will run again.", external_id="ferry-1", title="Ferry returns",
        meta={"source": "Coast Wire", "published": "2025-03-02", "url": "https://example.org/ferry"},
    )
    second = make_document(db, project, HOSTILE, external_id="dam-2", title="Dam <b>check</b>", meta={"url": "javascript:alert(2)"})
    return {"curator": curator, "ann": ann, "other": other, "outsider": outsider, "project": project, "first": first, "second": second}


def _paths(project: Project, doc: Document) -> list[str]:
    """Return the member pages of ``project`` (with ``doc``'s page)."""
    return [
        f"/projects/{project.id}",
        f"/projects/{project.id}/members",
        f"/projects/{project.id}/guidelines",
        f"/projects/{project.id}/export",
        f"/projects/{project.id}/documents/{doc.id}",
    ]


def test_pages_need_login(client, team):
    project, doc = team["project"], team["first"]
    for path in ["/", "/account", "/projects/new", f"/projects/{project.id}/import", *_paths(project, doc)]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next="), path


def test_member_sees_every_page_with_key_text(client, auth, team):
    project, doc = team["project"], team["first"]
    auth.login("annotator")
    expected = {
        f"/projects/{project.id}": ["Harbour news", "Ferry returns", "Coast Wire", "2025-03-02", f"/projects/{project.id}/annotate"],
        f"/projects/{project.id}/members": ["carla", "otto", "curator", "annotator"],
        f"/projects/{project.id}/guidelines": ["no guidelines yet"],
        f"/projects/{project.id}/export": ["workbench export"],
        f"/projects/{project.id}/documents/{doc.id}": ["Ferry returns", "ferry-1", "Jonas Wild said the ferry", doc.text_sha256, "Coast Wire"],
    }
    for path, needles in expected.items():
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        for needle in needles:
            assert needle in body, (path, needle)
        assert 'name="csrf-token"' in body


def test_non_member_gets_404_everywhere(client, auth, team):
    auth.login("olga")
    for path in [*_paths(team["project"], team["first"]), f"/projects/{team['project'].id}/import"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Not found" in response.get_data(as_text=True)
    assert "Harbour news" not in client.get("/").get_data(as_text=True)


def test_unknown_project_and_foreign_document_are_404(client, auth, db, team):
    other_project = make_project(db, "elsewhere", members=[team["curator"]])
    foreign = make_document(db, other_project, "Text of another project.", external_id="x-1")
    auth.login("annotator")
    assert client.get("/projects/9999").status_code == 404
    assert client.get(f"/projects/{team['project'].id}/documents/{foreign.id}").status_code == 404


def test_annotator_is_refused_curator_pages(client, auth, team):
    pid = team["project"].id
    auth.login("annotator")
    assert client.get(f"/projects/{pid}/import").status_code == 403
    assert client.get(f"/projects/{pid}/export.jsonl?layer=gold").status_code == 403
    assert client.post(f"/projects/{pid}/members", data={"username": "olga", "role": "curator"}).status_code == 403
    assert client.post(f"/projects/{pid}/guidelines", data={"guidelines": "# mine"}).status_code == 403
    assert client.get("/projects/new").status_code == 403
    page = client.get(f"/projects/{pid}/members").get_data(as_text=True)
    assert "Add a member" not in page
    assert 'href="/projects/%d/import"' % pid not in client.get(f"/projects/{pid}").get_data(as_text=True)


def test_index_lists_projects_with_counts_and_progress(client, auth, db, team):
    make_layer(db, team["first"], "annotator", team["ann"], status="submitted")
    make_layer(db, team["second"], "annotator", team["other"], status="in_progress")
    auth.login("annotator")
    body = client.get("/").get_data(as_text=True)
    assert f'href="/projects/{team["project"].id}"' in body
    assert re.search(r'<progress class="meter" max="2" value="1"', body)
    assert "1 / 2" in body
    assert "New project" not in body


def test_article_text_is_escaped_and_keeps_paragraphs(client, auth, team):
    auth.login("annotator")
    response = client.get(f"/projects/{team['project'].id}/documents/{team['second'].id}")
    body = response.get_data(as_text=True)
    assert "&lt;u&gt;said&lt;/u&gt;" in body
    assert "&amp;amp; sound" in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert" not in body
    assert "<u>said</u>" not in body
    assert "sound.\n\n&lt;script&gt;" in body  # paragraphs kept as newlines inside the pre-wrap block
    assert "Dam &lt;b&gt;check&lt;/b&gt;" in body
    # A url that is not http(s) is shown as text, never as a link.
    assert 'href="javascript:' not in body
    assert "javascript:alert(2)" in body


def test_document_page_links_url_safely_and_has_neighbours(client, auth, team):
    pid, first, second = team["project"].id, team["first"], team["second"]
    auth.login("annotator")
    body = client.get(f"/projects/{pid}/documents/{first.id}").get_data(as_text=True)
    assert '<a href="https://example.org/ferry" rel="noopener noreferrer"' in body
    assert f'href="/projects/{pid}/documents/{second.id}"' in body
    assert f'href="/projects/{pid}/documents/{first.id}/annotate"' in body
    assert f"{len(first.text)} characters" in body
    body2 = client.get(f"/projects/{pid}/documents/{second.id}").get_data(as_text=True)
    assert f'rel="prev" href="/projects/{pid}/documents/{first.id}"' in body2
    assert 'rel="next"' not in body2


def test_layers_annotator_sees_own_curator_sees_all(client, auth, db, team):
    doc = team["first"]
    mine = make_layer(db, doc, "annotator", team["ann"], status="in_progress", spans=2)
    db.add(Relation(set_id=mine.id, uid="R1", type="member_of", head_id=mine.spans[0].id, tail_id=mine.spans[1].id, attrs={}))
    db.commit()
    make_layer(db, doc, "annotator", team["other"], status="submitted", spans=3)
    make_layer(db, doc, "gold", status="adjudicated", spans=1)
    make_layer(db, doc, "prediction", model="tagger-v1", status="suggested", spans=4)
    url = f"/projects/{team['project'].id}/documents/{doc.id}"

    auth.login("annotator")
    body = client.get(url).get_data(as_text=True)
    assert "Your layer" in body
    assert "in progress" in body
    assert re.search(r"<td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">0</td>", body)
    assert "otto" not in body and "tagger-v1" not in body and "kind-gold" not in body
    auth.logout()

    auth.login("carla")
    body = client.get(url).get_data(as_text=True)
    for needle in ("annotator", "otto", "tagger-v1", "kind-gold", "adjudicated", "suggested", "submitted"):
        assert needle in body, needle


def test_document_list_status_column_is_the_viewers_own(client, auth, db, team):
    make_layer(db, team["first"], "annotator", team["other"], status="submitted")
    make_layer(db, team["second"], "annotator", team["ann"], status="skipped")
    auth.login("annotator")
    body = client.get(f"/projects/{team['project'].id}").get_data(as_text=True)
    assert 'status-new">new' in body  # otto's submission is not the viewer's
    assert 'status-skipped">skipped' in body
    assert "status-submitted" not in body


@pytest.fixture
def big_project(db: Session) -> Project:
    """A project with 120 documents, one of which mentions a lighthouse."""
    user = make_user(db, "annotator")
    project = make_project(db, "big", members=[user])
    for i in range(1, 121):
        text = f"Report number {i} about the harbour." + (" The lighthouse keeper spoke." if i == 77 else "")
        db.add(
            Document(project_id=project.id, external_id=f"doc-{i:03d}", title=f"Report {i:03d}", text=text, text_sha256=f"{i:064d}", meta={})
        )
    db.commit()
    return project


def test_pagination_shows_fifty_per_page(client, auth, big_project):
    auth.login("annotator")
    body = client.get(f"/projects/{big_project.id}?page=3").get_data(as_text=True)
    assert "Page 3 of 3" in body
    assert "120 documents" in body
    assert "Report 101" in body and "Report 120" in body
    assert "Report 100<" not in body and "Report 001" not in body
    assert body.count('status-new">new') == 20
    assert f'rel="prev" href="/projects/{big_project.id}?page=2"' in body
    assert 'rel="next"' not in body
    body1 = client.get(f"/projects/{big_project.id}").get_data(as_text=True)
    assert "Page 1 of 3" in body1 and body1.count('status-new">new') == 50
    assert f'rel="next" href="/projects/{big_project.id}?page=2"' in body1
    # Nonsense page numbers fall back to the first page, pages past the end to the last.
    assert "Page 1 of 3" in client.get(f"/projects/{big_project.id}?page=abc").get_data(as_text=True)
    past = client.get(f"/projects/{big_project.id}?page=40").get_data(as_text=True)
    assert "Page 3 of 3" in past and "Report 120" in past


def test_search_hit_and_miss(client, auth, big_project):
    auth.login("annotator")
    hit = client.get(f"/projects/{big_project.id}?q=LIGHTHOUSE+keeper").get_data(as_text=True)
    assert "Report 077" in hit
    assert "1 document match" in hit
    assert "Report 076" not in hit
    assert 'value="LIGHTHOUSE keeper"' in hit
    miss = client.get(f"/projects/{big_project.id}?q=submarine").get_data(as_text=True)
    assert "No document matches" in miss and "Report 0" not in miss
    # Search words containing LIKE wildcards are taken literally.
    assert "No document matches" in client.get(f"/projects/{big_project.id}?q=%25").get_data(as_text=True)


def test_breadcrumbs_and_account_link_everywhere(client, auth, team):
    pid, doc = team["project"].id, team["first"]
    auth.login("carla")
    for path in ["/", "/account", f"/projects/{pid}/members", f"/projects/{pid}/documents/{doc.id}", f"/projects/{pid}/import"]:
        body = client.get(path).get_data(as_text=True)
        assert 'aria-label="Breadcrumb"' in body, path
        assert 'href="/account"' in body, path
    body = client.get(f"/projects/{pid}/documents/{doc.id}").get_data(as_text=True)
    assert f'<a href="/projects/{pid}">Harbour news</a>' in body


def test_admin_sees_every_project_and_new_project_button(client, auth, db, team):
    make_user(db, "root", "admin")
    auth.login("root")
    body = client.get("/").get_data(as_text=True)
    assert "Harbour news" in body and "New project" in body
    assert client.get(f"/projects/{team['project'].id}/import").status_code == 200


def test_guidelines_markdown_is_rendered_without_raw_html(client, auth, db, team):
    project = db.get(Project, team["project"].id)
    project.guidelines = (
        "# Entities\n\nTag **people**.\n\n<script>alert(3)</script>\n\n[bad](javascript:alert(4))\n\n"
        "| label | covers |\n| --- | --- |\n| PERSON | a <i>named</i> person |\n"
    )
    db.commit()
    auth.login("annotator")
    body = client.get(f"/projects/{project.id}/guidelines").get_data(as_text=True)
    assert "<h1>Entities</h1>" in body and "<strong>people</strong>" in body
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in body
    assert "<script>alert" not in body
    assert 'href="javascript:' not in body
    assert "<td>PERSON</td>" in body and "a &lt;i&gt;named&lt;/i&gt; person" in body
    assert "Edit the guidelines" not in body


def test_error_pages_use_the_error_template(client, auth, team):
    auth.login("annotator")
    response = client.get("/projects/4242/documents/1")
    assert response.status_code == 404
    assert 'class="card narrow error-card"' in response.get_data(as_text=True)
    forbidden = client.get(f"/projects/{team['project'].id}/import")
    assert forbidden.status_code == 403
    assert "Not allowed" in forbidden.get_data(as_text=True)
    bad = client.get(f"/projects/{team['project'].id}/export.jsonl?layer=gold")
    assert bad.status_code == 403
