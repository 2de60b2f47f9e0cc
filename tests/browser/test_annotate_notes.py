"""Notes in Chromium: an annotator notes the document, a span and an attribution on the annotate page;
the curator reads them on the adjudication page and the document page."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from conftest import login
from conftest import open_annotate
from conftest import select_cp
from conftest import wait_saved
from sqlalchemy import select
from sqlalchemy.orm import Session

import factories
from workbench.models import AnnotationSet
from workbench.services import annotation
from workbench.services import assignment

pytestmark = pytest.mark.browser

TEXT = "Pia Lund said the ferry will run again next week."


def at(needle: str) -> tuple[int, int]:
    start = TEXT.index(needle)
    return start, start + len(needle)


def test_notes_on_document_span_and_attribution_reach_the_curator(page: Any, context: Any, live: Any, store: Session) -> None:
    tag = uuid.uuid4().hex[:8]
    ann = factories.make_user(store, f"ann-{tag}")
    curator = factories.make_user(store, f"cur-{tag}", role="curator")
    project = factories.make_project(store, f"notes-{tag}", members=[ann, curator])
    assignment.update_settings(store, project, {"annotators_per_document": 1})
    doc = factories.make_document(store, project, TEXT, external_id=f"ferry-{tag}", title="Ferry")
    store.commit()
    login(page, live, ann.username)
    open_annotate(page, live, project.id, doc.id)
    for needle, key in (("Pia Lund", "p"), ("said", "u"), ("the ferry will run again next week", "c")):
        select_cp(page, *at(needle))
        page.keyboard.press(key)
    wait_saved(page)
    # An attribution, by keyboard: the claim is selected; A, pick source, cue, Enter.
    page.keyboard.press("a")
    page.keyboard.press("BracketLeft")
    page.keyboard.press("Tab")
    page.keyboard.press("BracketRight")
    page.keyboard.press("Enter")
    wait_saved(page)
    # The document note, by keyboard: open the box, type, leave with Escape (saves).
    page.locator("#wb-docnote-box summary").focus()
    page.keyboard.press("Enter")
    page.locator("#wb-doc-note").focus()
    page.keyboard.type("Which week? The dateline is missing.")
    page.keyboard.press("Escape")
    wait_saved(page)
    # The span note and the attribution note, in the details of the selected claim.
    page.locator("#doc").focus()
    page.keyboard.press("Enter")  # the claim's details
    page.get_by_label("Note on this span").fill("Hedged? 'will' reads as a plan.")
    page.get_by_label("Note on this span").press("Tab")
    wait_saved(page)
    note = page.get_by_label("Note on the attribution from PERSON “Pia Lund”")
    note.fill("Direct or indirect?")
    note.press("Escape")
    wait_saved(page)
    store.expire_all()
    layer = store.scalars(select(AnnotationSet).where(AnnotationSet.document_id == doc.id)).one()
    data = annotation.layer_data(store, layer, TEXT)
    assert data["note"] == "Which week? The dateline is missing."
    assert [s.get("note") for s in data["spans"] if s["label"] == "CLAIM"] == ["Hedged? 'will' reads as a plan."]
    assert data["attributions"][0]["note"] == "Direct or indirect?"
    # A reload shows them again (the box open, the notes in their fields and rows).
    open_annotate(page, live, project.id, doc.id)
    assert page.locator("#wb-docnote-box").get_attribute("open") is not None
    assert page.locator("#wb-doc-note").input_value() == "Which week? The dateline is missing."
    page.click("#wb-tabs [data-tab=attributions]")
    assert "Direct or indirect?" in page.locator("#wb-list").inner_text()
    page.click("#wb-tabs [data-tab=spans]")
    assert "note: Hedged? 'will' reads as a plan." in page.locator("#wb-list").inner_text()
    annotation.set_status(store, ann, layer.id, "submitted")
    store.commit()
    # The curator: the adjudication page lists every note; the document page the document note.
    other = context.browser.new_context(viewport={"width": 1280, "height": 800})
    cur_page = other.new_page()
    login(cur_page, live, curator.username)
    cur_page.goto(f"{live.url}/projects/{project.id}/documents/{doc.id}/adjudicate")
    cur_page.wait_for_selector("#annotate[data-ready='1']")
    notes = cur_page.locator("#wb-adj-notes").inner_text()
    assert f"{ann.username} on the document: Which week? The dateline is missing." in notes.replace("“", "").replace("”", "")
    assert "on CLAIM “the ferry will run again next week”" in notes and "Hedged? 'will' reads as a plan." in notes
    assert "on the attribution source PERSON “Pia Lund”" in notes and "Direct or indirect?" in notes
    cur_page.goto(f"{live.url}/projects/{project.id}/documents/{doc.id}")
    assert "Which week? The dateline is missing." in cur_page.locator(".layer-notes").inner_text()
    other.close()
