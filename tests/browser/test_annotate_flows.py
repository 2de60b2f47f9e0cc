"""The annotate page in Chromium: attributions and relations by keyboard, conflicts between tabs, submit and skip."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import layer_of
from conftest import login
from conftest import open_annotate
from conftest import open_first
from conftest import select_cp
from conftest import wait_saved
from sqlalchemy.orm import Session

from workbench.services import annotation as annotation_service

pytestmark = pytest.mark.browser


def layer_json(store: Session, document_id: int, text: str) -> dict[str, Any]:
    """The layer as the API returns it, fresh from the database."""
    return annotation_service.layer_data(store, layer_of(store, document_id), text)


def mark(page: Any, text: str, needle: str, key: str) -> None:
    """Select ``needle`` with the mouse and press a label key."""
    start = text.index(needle)
    select_cp(page, start, start + len(needle))
    page.keyboard.press(key)


def by_text(layer: dict[str, Any]) -> dict[str, str]:
    """Span uid -> covered text."""
    return {s["id"]: s["text"] for s in layer["spans"]}


def test_attribution_with_the_keyboard_alone(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Anna Berg said the mill will close. It was reported that wages fall."
    s = seed(text)
    doc = open_first(page, live, s)
    mark(page, text, "Anna Berg", "p")
    mark(page, text, "said", "u")
    mark(page, text, "the mill will close", "c")
    mark(page, text, "It was reported", "u")
    mark(page, text, "wages fall", "c")
    wait_saved(page)
    # From here on: keyboard only.
    page.locator("#doc").focus()
    page.keyboard.press("Escape")
    page.keyboard.press("j")  # Anna Berg
    page.keyboard.press("j")  # said
    page.keyboard.press("j")  # the mill will close
    assert "the mill will close" in page.locator("#wb-list [aria-selected=true]").inner_text()
    page.keyboard.press("a")  # the claim fills Content; the Source slot is active and has the focus
    assert page.locator(".wb-form").is_visible()
    assert page.evaluate("() => document.activeElement.dataset.slot") == "source"
    page.keyboard.press("BracketLeft")  # previous entity: Anna Berg -> Source
    page.keyboard.press("Tab")  # the next field: the Cue slot, now active
    page.keyboard.press("BracketRight")  # the next cue after Anna Berg: said
    page.keyboard.press("Enter")
    # The second one names no source: J to the claim, A, N, pick the cue.
    page.keyboard.press("j")  # It was reported
    page.keyboard.press("j")  # wages fall
    page.keyboard.press("a")
    page.keyboard.press("n")  # no source named; the Cue slot becomes active
    page.keyboard.press("BracketLeft")  # It was reported
    page.keyboard.press("Enter")
    wait_saved(page)
    layer = layer_json(store, doc, text)
    names = by_text(layer)
    got = sorted(
        [(names.get(a["source"]) if a["source"] else None, names[a["cue"]], [names[c] for c in a["content"]]) for a in layer["attributions"]],
        key=str,
    )
    assert got == sorted([("Anna Berg", "said", ["the mill will close"]), (None, "It was reported", ["wages fall"])], key=str)
    assert page.locator("#wb-count-attributions").inner_text() == "2"
    # Undo removes the last attribution as one command.
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert len(layer_json(store, doc, text)["attributions"]) == 1


def test_attribution_form_needs_content_and_source_or_cue_and_esc_discards(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Anna Berg said the mill will close."
    s = seed(text)
    doc = open_first(page, live, s)
    mark(page, text, "the mill will close", "c")
    page.keyboard.press("a")
    page.keyboard.press("Enter")  # neither source nor cue: refused
    assert "source or a cue" in page.locator("#wb-form-error").inner_text()
    # A span made on the spot inside the form fills the active slot (Source).
    mark(page, text, "Anna Berg", "p")
    assert "Anna Berg" in page.locator(".wb-slot.is-active").inner_text()
    page.keyboard.press("Escape")  # discards the form and the span made in it
    wait_saved(page)
    layer = layer_json(store, doc, text)
    assert [sp["text"] for sp in layer["spans"]] == ["the mill will close"]
    assert layer["attributions"] == []


def test_relation_with_the_keyboard(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Jonas Weber of the Nordhaven Shipping Union spoke."
    s = seed(text)
    doc = open_first(page, live, s)
    mark(page, text, "Nordhaven Shipping Union", "o")
    mark(page, text, "Jonas Weber", "p")  # selected now
    page.keyboard.press("r")
    page.keyboard.press("j")  # the next span after Jonas Weber: the union
    page.keyboard.press("Enter")
    assert "member_of" in page.locator(".wb-types").inner_text()
    page.keyboard.press("1")
    wait_saved(page)
    layer = layer_json(store, doc, text)
    names = by_text(layer)
    assert [(names[r["head"]], r["type"], names[r["tail"]]) for r in layer["relations"]] == [
        ("Jonas Weber", "member_of", "Nordhaven Shipping Union")
    ]
    # Deleting the head span takes the relation with it, as one undoable command.
    page.keyboard.press("Delete")
    wait_saved(page)
    layer = layer_json(store, doc, text)
    assert layer["relations"] == [] and len(layer["spans"]) == 1
    page.keyboard.press("Control+z")
    wait_saved(page)
    layer = layer_json(store, doc, text)
    assert len(layer["relations"]) == 1 and len(layer["spans"]) == 2


def banner(page: Any) -> str:
    """The text of the page's banner."""
    return page.locator("#wb-banner").inner_text()


def wait_for_rebase(page: Any) -> None:
    """Wait until the page has rebased after a 409 and saved the result."""
    page.wait_for_function("() => document.querySelector('#wb-banner').textContent.includes('your changes were applied on top of it')")
    wait_saved(page)


def test_two_tabs_conflict_rebases_instead_of_dropping(page: Any, context: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Jonas Weber met Olga Petrenko in Velden on Monday."
    s = seed(text)
    doc = open_first(page, live, s)
    second = context.new_page()  # same cookies: the same person, another tab
    open_annotate(second, live, s.project_id, doc)
    # Both tabs warn early that the document is open twice.
    for pg in (page, second):
        pg.wait_for_function("() => document.querySelector('#wb-banner').textContent.includes('also open in another tab')")
    # Tab 1 saves first.
    mark(page, text, "Jonas Weber", "p")
    wait_saved(page)
    first_state = layer_json(store, doc, text)
    assert [sp["text"] for sp in first_state["spans"]] == ["Jonas Weber"]
    # Tab 2 still holds the old version: its save gets a 409, and it rebases its span onto the current layer.
    mark(second, text, "Velden", "g")
    wait_for_rebase(second)
    assert "This document was also changed in another tab or window" in banner(second)
    assert "dropped" not in banner(second)
    # The server holds both spans: tab 1's save survived, and tab 2's change landed on top of it.
    after = layer_json(store, doc, text)
    assert sorted(sp["text"] for sp in after["spans"]) == ["Jonas Weber", "Velden"]
    assert after["version"] == first_state["version"] + 1
    # Tab 2 shows both, and its outbox is empty.
    assert second.locator("#wb-count-spans").inner_text() == "2"
    rows = second.locator("#wb-list .wb-row").all_inner_texts()
    assert any("Jonas Weber" in r for r in rows) and any("Velden" in r for r in rows)
    assert second.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('wb-outbox-')).length") == 0
    # The undo stack was cleared by the rebase: Ctrl+Z changes nothing.
    second.locator("#doc").focus()
    second.keyboard.press("Control+z")
    wait_saved(second)
    assert layer_json(store, doc, text)["version"] == after["version"]
    # Tab 2 goes on from the merged state without another conflict.
    mark(second, text, "Olga Petrenko", "p")
    wait_saved(second)
    assert sorted(sp["text"] for sp in layer_json(store, doc, text)["spans"]) == ["Jonas Weber", "Olga Petrenko", "Velden"]
    second.close()


def test_two_tabs_change_to_a_span_deleted_elsewhere_is_dropped(page: Any, context: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Jonas Weber met Olga Petrenko in Velden on Monday."
    s = seed(text)
    doc = open_first(page, live, s)
    mark(page, text, "Jonas Weber", "p")
    mark(page, text, "Velden", "g")
    wait_saved(page)
    second = context.new_page()
    open_annotate(second, live, s.project_id, doc)  # tab 2 sees both spans
    assert second.locator("#wb-count-spans").inner_text() == "2"
    # Tab 1 deletes Jonas Weber.
    page.locator("#doc").focus()
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    assert "Jonas Weber" in page.locator("#wb-list [aria-selected=true]").inner_text()
    page.keyboard.press("Delete")
    wait_saved(page)
    deleted = layer_json(store, doc, text)
    assert [sp["text"] for sp in deleted["spans"]] == ["Velden"]
    # Tab 2, stale, relabels that span and then marks a new one.
    second.locator("#doc").focus()
    second.keyboard.press("Escape")
    second.keyboard.press("j")
    assert "Jonas Weber" in second.locator("#wb-list [aria-selected=true]").inner_text()
    second.keyboard.press("o")
    mark(second, text, "Olga Petrenko", "p")
    wait_for_rebase(second)
    assert "1 change to a span deleted elsewhere was dropped" in banner(second)
    # The server keeps tab 1's deletion; tab 2's new span landed; the relabel did not resurrect anything.
    after = layer_json(store, doc, text)
    assert sorted((sp["text"], sp["label"]) for sp in after["spans"]) == [("Olga Petrenko", "PERSON"), ("Velden", "GPE")]
    assert after["version"] == deleted["version"] + 1
    assert second.locator("#wb-count-spans").inner_text() == "2"
    assert not any("Jonas Weber" in r for r in second.locator("#wb-list .wb-row").all_inner_texts())
    second.close()


def test_submit_opens_the_next_document_and_skip_needs_a_reason(page: Any, live: Any, store: Session, seed: Any) -> None:
    texts = ["First text by Anna Berg.", "Second text about Velden.", "Third text, from Ostmark."]
    s = seed(*texts)
    login(page, live, s.username)
    page.goto(f"{live.url}/projects/{s.project_id}/annotate")  # "Annotate" goes to the first open document
    page.wait_for_selector("#annotate[data-ready='1']")
    assert page.url.endswith(f"/documents/{s.document_ids[0]}/annotate")
    mark(page, texts[0], "Anna Berg", "p")
    page.keyboard.press("Control+Enter")  # saves, submits, opens the next one
    page.wait_for_url(f"**/documents/{s.document_ids[1]}/annotate")
    page.wait_for_selector("#annotate[data-ready='1']")
    first = layer_of(store, s.document_ids[0])
    assert first.status == "submitted" and [sp.label for sp in first.spans] == ["PERSON"]
    # Previous / next links lead to the neighbouring documents.
    assert page.locator("#wb-prev").get_attribute("href").endswith(f"/documents/{s.document_ids[0]}/annotate")
    assert page.locator("#wb-next").get_attribute("href").endswith(f"/documents/{s.document_ids[2]}/annotate")
    # Skip asks for a reason in the panel.
    page.locator("#wb-skip").click()
    page.locator("#wb-skip-form button[type=submit]").click()
    assert "reason" in page.locator("#wb-skip-error").inner_text()
    page.locator("#wb-skip-note").fill("Not a news article")
    page.locator("#wb-skip-form button[type=submit]").click()
    page.wait_for_url(f"**/documents/{s.document_ids[2]}/annotate")
    page.wait_for_selector("#annotate[data-ready='1']")
    skipped = layer_of(store, s.document_ids[1])
    assert skipped.status == "skipped" and skipped.status_note == "Not a news article"
    # Submitting the last one goes back to the project with nothing left.
    page.locator("#wb-submit").click()
    page.wait_for_url(f"**/projects/{s.project_id}")
    assert layer_of(store, s.document_ids[2]).status == "submitted"


def test_shortcut_overlay_and_status_line(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Anna Berg said so."
    s = seed(text)
    open_first(page, live, s)
    page.locator("#doc").focus()
    page.keyboard.press("?")
    assert page.locator("#wb-help").is_visible()
    assert "Undo" in page.locator("#wb-help").inner_text()
    page.keyboard.press("Escape")
    assert page.locator("#wb-help").is_hidden()
    assert page.locator("#wb-status").get_attribute("aria-live") == "polite"
    # Offline: the change stays in the outbox, shown as unsaved, and lands once the server is back.
    page.route("**/api/v1/layers/*/ops", lambda route: route.abort())
    mark(page, text, "Anna Berg", "p")
    page.wait_for_function("() => document.querySelector('#wb-status').textContent.startsWith('Unsaved: 1 change')")
    stored = page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('wb-outbox-')).length")
    assert stored == 1
    page.unroute("**/api/v1/layers/*/ops")
    page.keyboard.press("Control+s")
    wait_saved(page)
    assert [sp.label for sp in layer_of(store, s.document_ids[0]).spans] == ["PERSON"]


def test_split_quote_gets_two_content_pieces(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "\u201cThe talks are over,\u201d Anna Berg said, \u201cand the mill will close.\u201d"
    s = seed(text)
    doc = open_first(page, live, s)
    mark(page, text, "The talks are over", "c")
    mark(page, text, "Anna Berg", "p")
    mark(page, text, "said", "u")
    mark(page, text, "and the mill will close", "c")
    page.locator("#doc").focus()
    page.keyboard.press("Escape")
    page.keyboard.press("j")  # the first claim
    page.keyboard.press("a")
    page.keyboard.press("BracketRight")  # Source: the next entity, Anna Berg
    page.keyboard.press("Tab")  # Cue
    page.keyboard.press("BracketRight")  # Cue: said
    page.keyboard.press("+")  # another content piece...
    page.keyboard.press("BracketRight")  # ...the next claim
    assert page.locator(".wb-slot", has_text="Content 2").count() == 1
    page.keyboard.press("Enter")
    wait_saved(page)
    layer = layer_json(store, doc, text)
    names = by_text(layer)
    (att,) = layer["attributions"]
    assert (names[att["source"]], names[att["cue"]], [names[c] for c in att["content"]]) == (
        "Anna Berg",
        "said",
        ["The talks are over", "and the mill will close"],
    )
