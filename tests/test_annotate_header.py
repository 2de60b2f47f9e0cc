"""The annotate page's header: the article's source, date and original address, escaped."""

from __future__ import annotations

from factories import make_document
from factories import make_project
from factories import make_user
from sqlalchemy.orm import Session


def _page(client, auth, db: Session, meta: dict) -> str:
    ann = make_user(db, "annotator")
    project = make_project(db, "Wire", members=[ann])
    doc = make_document(db, project, "Nils Ek said the pier reopens next week.", external_id="pier", meta=meta)
    auth.login("annotator")
    response = client.get(f"/projects/{project.id}/documents/{doc.id}/annotate")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_source_date_and_url_in_the_header(client, auth, db: Session) -> None:
    html = _page(client, auth, db, {"source": "Harbour Wire", "published": "2025-03-02", "url": "https://example.org/a?b=1&c=2"})
    assert '<span class="visually-hidden">Source: </span>Harbour Wire</span>' in html
    assert '<time datetime="2025-03-02">2025-03-02</time>' in html
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer" target="_blank">https://example.org/a?b=1&amp;c=2</a>' in html


def test_hostile_metadata_is_escaped_and_a_script_url_is_no_link(client, auth, db: Session) -> None:
    html = _page(client, auth, db, {"source": "<script>alert(1)</script>", "url": "javascript:alert(2)"})
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html
    assert '<span class="wb-docmeta-url">javascript:alert(2)</span>' in html


def test_no_metadata_no_header_line(client, auth, db: Session) -> None:
    html = _page(client, auth, db, {"title": "x", "url": ["not", "a", "string"]})
    assert 'id="wb-docmeta"' not in html


def test_guidelines_page_lists_what_each_label_may_overlap(client, auth, db: Session) -> None:
    ann = make_user(db, "annotator")
    project = make_project(db, "Rules", members=[ann])
    auth.login("annotator")
    html = client.get(f"/projects/{project.id}/guidelines").get_data(as_text=True)
    assert "Labels and how their spans may meet" in html
    assert "<th scope=\"row\">SOURCE</th><td>source</td>" in html
    assert "Two SOURCE spans never overlap. It may contain or overlap only entity spans." in html
    assert "CLAIM spans may nest (one inside another) but not cross." in html
