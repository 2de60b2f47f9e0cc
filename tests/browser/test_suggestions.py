"""Suggestions on the annotate page in Chromium: shown apart, accept by Enter, reject, accept all of a label, attribution."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import open_first
from conftest import select_cp
from conftest import wait_saved
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.models import Project
from workbench.models import SuggestionEvent
from workbench.services import annotation as annotation_service
from workbench.services import suggestions as suggestion_service

pytestmark = pytest.mark.browser

# No cue words: only the model's suggestions (and the gazetteer's, where a test loads one).
TEXT = "🛳 Mira Olsen met Tallow Mills staff on the quay.\nLater Mira Olsen left."
MIRA = (2, 12)
TALLOW = (TEXT.index("Tallow"), TEXT.index("Tallow") + 12)


def predict(store: Session, project_id: int, document_id: int, relations: list[dict[str, Any]] | None = None) -> None:
    """Store a model's predictions: PERSON on the first Mira Olsen, ORG on Tallow Mills (and ``relations`` between them)."""
    project, doc = store.get(Project, project_id), store.get(Document, document_id)
    body = {"spans": [
        {"id": "T1", "start": MIRA[0], "end": MIRA[1], "label": "PERSON"},
        {"id": "T2", "start": TALLOW[0], "end": TALLOW[1], "label": "ORG"},
    ], "relations": relations or []}
    suggestion_service.post_predictions(store, None, project, doc, "ner-v2", body)
    store.commit()


def layer_of(store: Session, document_id: int) -> AnnotationSet:
    """The annotator layer of a document (beside the model's), fresh from the database."""
    store.expire_all()
    return store.scalars(select(AnnotationSet).where(AnnotationSet.document_id == document_id, AnnotationSet.kind == "annotator")).one()


def spans(store: Session, document_id: int) -> list[tuple[str, str]]:
    layer = annotation_service.layer_data(store, layer_of(store, document_id), TEXT)
    return sorted((s["label"], s["text"]) for s in layer["spans"])


def events(store: Session, document_id: int, count: int) -> list[tuple[str, str, str]]:
    """The document's suggestion events, once there are ``count`` of them (the page posts them without waiting)."""
    deadline = time.monotonic() + 10
    while True:
        store.expire_all()
        rows = sorted(store.execute(
            select(SuggestionEvent.action, SuggestionEvent.source, SuggestionEvent.label).where(SuggestionEvent.document_id == document_id)
        ).all())
        if len(rows) >= count or time.monotonic() > deadline:
            return [tuple(r) for r in rows]
        time.sleep(0.05)


def ready(page: Any) -> None:
    page.wait_for_selector("#wb-suggest[data-ready='1']")


def open_predicted(page: Any, live: Any, store: Session, seed: Any) -> int:
    """Seed TEXT with the model's predictions, open it as its annotator once suggestions are in; return its id."""
    s = seed(TEXT)
    predict(store, s.project_id, s.document_ids[0])
    doc = open_first(page, live, s)
    ready(page)
    return doc


def middle_of(page: Any, start: int, end: int) -> tuple[float, float]:
    """The screen point in the middle of code points [start, end) (edge points from offsets.js)."""
    p = page.evaluate(
        """async ([s, e]) => (await import('/static/js/offsets.js')).edgePoints(document.querySelector('#doc'), s, e)""", [start, end]
    )
    return (p["x0"] + p["x1"]) / 2, p["y0"]


def test_suggestions_are_drawn_apart_and_accepted_with_enter_then_undone(page: Any, live: Any, store: Session, seed: Any) -> None:
    doc = open_predicted(page, live, store, seed)
    rows = page.locator("#wb-sugg-list [role=option]")
    assert rows.count() == 2
    assert "model:ner-v2" in rows.first.inner_text()
    # Drawn as suggestions (their own marks in the lines' overlays), not as the annotator's fills.
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-sugg-mark').length === 2")
    drawn = page.evaluate("() => ({sugg: document.querySelectorAll('#doc .wb-sugg-mark').length, sel: document.querySelectorAll('#doc .wb-sugg-mark.is-sel').length, own: document.querySelectorAll('#doc .wb-fill').length})")
    assert drawn == {"sugg": 2, "sel": 0, "own": 0}
    assert page.locator("#wb-count-spans").inner_text() == "0"
    page.locator("#doc").focus()
    page.keyboard.press(".")
    assert page.locator("#wb-sugg-list [aria-selected=true]").inner_text().startswith("PERSON")
    # The selected one is marked as such (its mark's box is the suggested words').
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-sugg-mark.is-sel').length === 1")
    assert page.locator("#doc .wb-sugg-mark").count() == 2
    box = page.locator("#doc .wb-sugg-mark.is-sel").bounding_box()
    inside = lambda x: box["x"] < x < box["x"] + box["width"]  # noqa: E731
    assert inside(middle_of(page, 2, 12)[0]) and not inside(middle_of(page, 13, 16)[0])  # "Mira Olsen", not "met"
    page.keyboard.press("Enter")
    wait_saved(page)
    assert spans(store, doc) == [("PERSON", "Mira Olsen")]
    assert page.locator("#wb-sugg-list [role=option]").count() == 1
    page.wait_for_function("() => document.querySelectorAll('#wb-sugg-list [role=option]').length === 1")
    assert events(store, doc, 1) == [("accept", "model:ner-v2", "PERSON")]
    # Undo takes the span away; the suggestion is open again.
    page.locator("#doc").focus()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert spans(store, doc) == []
    page.wait_for_function("() => document.querySelectorAll('#wb-sugg-list [role=option]').length === 2")
    # The switch hides them all.
    page.locator("#wb-show-suggestions").uncheck()
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-sugg-mark').length === 0")
    assert page.locator("#wb-sugg-list [role=option]").count() == 0


def rate(store: Session, project_id: int, source: str) -> tuple[int, int]:
    """The source's (accepted, rejected) counts, as curators see them."""
    store.expire_all()
    rows = {r["source"]: r for r in suggestion_service.acceptance(store, store.get(Project, project_id))}
    row = rows.get(source, {"accepted": 0, "rejected": 0})
    return row["accepted"], row["rejected"]


def test_undoing_an_acceptance_withdraws_it_from_the_rate_and_redoing_it_counts_it_again(page: Any, live: Any, store: Session, seed: Any) -> None:
    doc = open_predicted(page, live, store, seed)
    project_id = store.get(Document, doc).project_id
    page.locator("#doc").focus()
    page.keyboard.press(".")
    page.keyboard.press("Enter")
    wait_saved(page)
    assert events(store, doc, 1) == [("accept", "model:ner-v2", "PERSON")]
    assert rate(store, project_id, "model:ner-v2") == (1, 0)
    # The page asks for suggestions again after a save; the server leaves out the span the layer now has ...
    page.evaluate("async () => { await window.wbAnnotate.suggestions.fetch(); window.wbAnnotate.suggestions.refresh(); }")
    page.keyboard.press("Escape")
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert spans(store, doc) == []
    assert rate(store, project_id, "model:ner-v2") == (0, 0)
    # ... yet the undone acceptance is open again, first in reading order (the list may also hold the
    # other "Mira Olsen", which the recommender learned from the span while it was there).
    first_is_mira = f"() => document.querySelector('#wb-sugg-list [role=option]')?.dataset.key === 'span:PERSON:{MIRA[0]}:{MIRA[1]}'"
    page.wait_for_function(first_is_mira)
    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert spans(store, doc) == [("PERSON", "Mira Olsen")]
    assert rate(store, project_id, "model:ner-v2") == (1, 0)
    # Undone again and rejected: a rejection, and no acceptance.
    page.keyboard.press("Control+z")
    wait_saved(page)
    page.wait_for_function(first_is_mira)
    page.keyboard.press(".")
    page.keyboard.press("Delete")
    assert events(store, doc, 2) == [("accept", "model:ner-v2", "PERSON"), ("reject", "model:ner-v2", "PERSON")]
    assert rate(store, project_id, "model:ner-v2") == (0, 1)


def test_a_rejected_suggestion_stays_hidden_after_reload(page: Any, live: Any, store: Session, seed: Any) -> None:
    doc = open_predicted(page, live, store, seed)
    page.locator("#doc").focus()
    page.keyboard.press(".")
    page.keyboard.press(".")  # the ORG
    assert page.locator("#wb-sugg-list [aria-selected=true]").inner_text().startswith("ORG")
    page.keyboard.press("Delete")
    page.wait_for_function("() => document.querySelectorAll('#wb-sugg-list [role=option]').length === 1")
    assert page.locator("#wb-announce").inner_text() == "Suggestion: PERSON “Mira Olsen”, from model:ner-v2, score 1. Enter accepts, Delete rejects."
    assert events(store, doc, 1) == [("reject", "model:ner-v2", "ORG")]
    page.reload()
    ready(page)
    texts = page.locator("#wb-sugg-list [role=option]").all_inner_texts()
    assert len(texts) == 1 and texts[0].startswith("PERSON")
    assert spans(store, doc) == []


def test_accept_all_of_a_label_is_one_undoable_command(page: Any, live: Any, store: Session, seed: Any) -> None:
    s = seed(TEXT)
    project = store.get(Project, s.project_id)
    suggestion_service.set_gazetteer(store, project, "names.tsv", "Mira Olsen\tPERSON\nTallow Mills\tORG\n")
    store.commit()
    doc = open_first(page, live, s)
    ready(page)
    button = page.get_by_role("button", name="Accept all PERSON (2)")
    assert "gazetteer" in page.locator("#wb-sugg-list").inner_text()
    button.click()
    wait_saved(page)
    assert spans(store, doc) == [("PERSON", "Mira Olsen"), ("PERSON", "Mira Olsen")]
    assert page.locator("#wb-sugg-list [role=option]").count() == 1
    page.locator("#doc").focus()
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert spans(store, doc) == []
    assert events(store, doc, 2) == [("accept", "gazetteer", "PERSON"), ("accept", "gazetteer", "PERSON")]


def test_an_accepted_attribution_suggestion_creates_source_cue_and_content(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "The ferry will stop in May, the port authority said on Tuesday."
    s = seed(text)
    doc = open_first(page, live, s)
    ready(page)
    row = page.locator("#wb-sugg-list [role=option]", has_text="ATTRIBUTION")
    assert "attribution" in row.inner_text()
    row.click()
    page.keyboard.press("Enter")
    wait_saved(page)
    layer = annotation_service.layer_data(store, layer_of(store, doc), text)
    by_id = {sp["id"]: (sp["label"], sp["text"]) for sp in layer["spans"]}
    [attribution] = layer["attributions"]
    assert by_id[attribution["source"]] == ("SOURCE", "the port authority")
    assert by_id[attribution["cue"]] == ("CUE", "said")
    assert [by_id[c] for c in attribution["content"]] == [("CLAIM", "The ferry will stop in May")]
    claim = next(sp for sp in layer["spans"] if sp["label"] == "CLAIM")
    assert claim["attrs"] == {"factuality": "asserted"}  # the schema's default, as a span made by hand gets
    # One command: a single undo removes the attribution and its three spans.
    page.locator("#doc").focus()
    page.keyboard.press("Control+z")
    wait_saved(page)
    layer = annotation_service.layer_data(store, layer_of(store, doc), text)
    assert layer["spans"] == [] and layer["attributions"] == []
    assert events(store, doc, 1) == [("accept", "attribution", "CUE")]
    # The accept named the attribution it made: undone, it does not count.
    assert rate(store, s.project_id, "attribution") == (0, 0)
    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert rate(store, s.project_id, "attribution") == (1, 0)


def test_a_click_on_a_suggested_word_selects_it(page: Any, live: Any, store: Session, seed: Any) -> None:
    open_predicted(page, live, store, seed)
    page.mouse.click(*middle_of(page, *TALLOW))
    assert page.locator("#wb-sugg-list [aria-selected=true]").inner_text().startswith("ORG")


def test_the_list_works_by_keyboard_alone_and_names_the_source_on_hover(page: Any, live: Any, store: Session, seed: Any) -> None:
    doc = open_predicted(page, live, store, seed)
    page.locator("#doc").focus()
    page.keyboard.press("F6")  # the text's next region is the suggestions list
    assert page.evaluate("() => document.activeElement.id") == "wb-sugg-list"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    listbox = page.locator("#wb-sugg-list")
    assert listbox.get_attribute("aria-activedescendant") == page.locator("#wb-sugg-list [aria-selected=true]").get_attribute("id")
    assert page.locator("#wb-sugg-list [aria-selected=true]").inner_text().startswith("ORG")
    page.keyboard.press("Enter")
    wait_saved(page)
    assert spans(store, doc) == [("ORG", "Tallow Mills")]
    page.mouse.move(*middle_of(page, *MIRA))
    page.wait_for_function("() => document.querySelector('#doc').title.includes('Suggestion: PERSON')")
    assert "from model:ner-v2" in page.locator("#doc").get_attribute("title")


def test_a_string_labelled_here_is_suggested_where_it_occurs_again(page: Any, live: Any, store: Session, seed: Any) -> None:
    s = seed(TEXT)
    doc = open_first(page, live, s)
    ready(page)
    assert page.locator("#wb-sugg-list [role=option]").count() == 0
    select_cp(page, *MIRA)
    page.keyboard.press("p")
    wait_saved(page)
    # The recommender learned it from the saved layer: the second "Mira Olsen" is suggested, the first is the annotator's.
    page.wait_for_function("() => document.querySelectorAll('#wb-sugg-list [role=option]').length === 1")
    row = page.locator("#wb-sugg-list [role=option]")
    assert row.inner_text().startswith("PERSON") and "recommender" in row.inner_text()
    page.locator("#doc").focus()
    page.keyboard.press("Escape")
    page.keyboard.press(".")
    page.keyboard.press("Enter")
    wait_saved(page)
    assert spans(store, doc) == [("PERSON", "Mira Olsen"), ("PERSON", "Mira Olsen")]
    assert events(store, doc, 1) == [("accept", "recommender", "PERSON")]


def test_a_predicted_relation_is_offered_once_both_ends_are_accepted_and_accepting_it_is_undoable(page: Any, live: Any, store: Session, seed: Any) -> None:
    # TEXT's first line: each name once, so the recommender (which learns from the accepted spans) suggests nothing more.
    s = seed(TEXT.split("\n")[0])
    predict(store, s.project_id, s.document_ids[0], [{"id": "R1", "type": "member_of", "head": "T1", "tail": "T2"}])
    doc = open_first(page, live, s)
    ready(page)
    rows = page.locator("#wb-sugg-list [role=option]")
    # Its ends are only suggestions yet: the two spans are listed, not the relation.
    assert rows.count() == 2 and "member_of" not in page.locator("#wb-sugg-list").inner_text()
    page.locator("#doc").focus()
    for _ in range(2):
        page.keyboard.press(".")
        page.keyboard.press("Enter")
    wait_saved(page)
    assert spans(store, doc) == [("ORG", "Tallow Mills"), ("PERSON", "Mira Olsen")]
    # Both ends are hers now: the relation is listed, and drawn under its two ends.
    relation = page.locator("#wb-sugg-list [role=option]", has_text="member_of")
    relation.wait_for()
    assert rows.count() == 1
    assert relation.get_attribute("aria-label") == "Relation member_of: PERSON “Mira Olsen” → ORG “Tallow Mills”, from model:ner-v2, score 1"
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-sugg-mark').length === 2")
    relation.click()
    page.keyboard.press("Enter")
    wait_saved(page)
    layer = annotation_service.layer_data(store, layer_of(store, doc), TEXT)
    by_id = {sp["id"]: sp["text"] for sp in layer["spans"]}
    assert [(r["type"], by_id[r["head"]], by_id[r["tail"]]) for r in layer["relations"]] == [("member_of", "Mira Olsen", "Tallow Mills")]
    page.wait_for_function("() => document.querySelectorAll('#wb-sugg-list [role=option]').length === 0")
    assert ("accept", "model:ner-v2", "member_of") in events(store, doc, 3)
    assert rate(store, s.project_id, "model:ner-v2") == (3, 0)
    # Undo takes the relation away (the spans stay): it is open again and its acceptance withdrawn.
    page.locator("#doc").focus()
    page.keyboard.press("Escape")
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert annotation_service.layer_data(store, layer_of(store, doc), TEXT)["relations"] == []
    relation.wait_for()
    assert rate(store, s.project_id, "model:ner-v2") == (2, 0)
    # Rejected, it stays hidden, and counts as a rejection.
    page.keyboard.press(".")
    page.keyboard.press("Delete")
    page.wait_for_function("() => document.querySelectorAll('#wb-sugg-list [role=option]').length === 0")
    assert events(store, doc, 4).count(("reject", "model:ner-v2", "member_of")) == 1
    assert rate(store, s.project_id, "model:ner-v2") == (2, 1)
