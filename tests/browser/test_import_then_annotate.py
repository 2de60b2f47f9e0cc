"""Newly imported documents are reached by the Annotate button, not only through the document list:
a curator imports an article through the Import page; the annotator, who had finished everything,
presses Annotate and lands on the new article, its header (source, date, link) read from the file."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import login
from sqlalchemy import select
from sqlalchemy.orm import Session

import factories
from workbench.models import Document
from workbench.services import annotation
from workbench.services import assignment

pytestmark = pytest.mark.browser

ARTICLE = """Harbour cranes return to Velm

By Coast Desk
March 03, 2025

Two cranes came back to the Velm quay last week, the port office said.

Original url:
https://example.org/velm-cranes
"""


def test_annotate_button_reaches_a_newly_imported_document(page: Any, context: Any, live: Any, store: Session, tmp_path: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    ann = factories.make_user(store, f"ann-{tag}")
    curator = factories.make_user(store, f"cur-{tag}", role="curator")
    project = factories.make_project(store, f"imp-{tag}", members=[ann, curator])
    assignment.update_settings(store, project, {"annotators_per_document": 1})
    old = factories.make_document(store, project, "An older story, already done.", external_id=f"old-{tag}", title="Old story")
    layer = assignment.claim_document(store, ann, old)
    store.commit()
    annotation.set_status(store, ann, layer.id, "submitted")
    store.commit()
    # Nothing is left for the annotator before the import.
    login(page, live, ann.username)
    page.goto(f"{live.url}/projects/{project.id}")
    page.get_by_role("link", name="Annotate", exact=True).click()
    assert "Nothing left to annotate" in page.content()
    # The curator imports an article through the Import page.
    other = context.browser.new_context(viewport={"width": 1280, "height": 800})
    cur = other.new_page()
    login(cur, live, curator.username)
    cur.goto(f"{live.url}/projects/{project.id}/import")
    path = tmp_path / "Velm Cranes.txt"
    path.write_text(ARTICLE, encoding="utf-8")
    cur.set_input_files("input[type=file]", str(path))
    # Wait for the import's own response (a bare wait_for_load_state could return for the form's page, before it).
    with cur.expect_navigation():
        cur.click("button[type=submit]:has-text('Import')")
    other.close()
    store.expire_all()
    new = store.scalars(select(Document).where(Document.project_id == project.id, Document.external_id == "velm-cranes")).one()
    # The annotator presses Annotate again: the new article opens.
    page.goto(f"{live.url}/projects/{project.id}")
    page.get_by_role("link", name="Annotate", exact=True).click()
    page.wait_for_selector("#annotate[data-ready='1']")
    assert page.url.endswith(f"/projects/{project.id}/documents/{new.id}/annotate")
    assert page.locator("#wb-doc-title").inner_text() == "Harbour cranes return to Velm"
    header = page.locator("#wb-docmeta")
    assert "Coast Desk" in header.inner_text() and "2025-03-03" in header.inner_text()
    link = header.locator("a")
    assert link.get_attribute("href") == "https://example.org/velm-cranes"
    assert link.get_attribute("rel") == "noopener noreferrer"
