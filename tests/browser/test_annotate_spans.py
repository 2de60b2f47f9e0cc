"""The annotate page in Chromium: making spans with the real mouse, exact offsets after reload."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import layer_of
from conftest import login
from conftest import open_first
from conftest import select_cp
from conftest import wait_saved
from sqlalchemy.orm import Session

pytestmark = pytest.mark.browser


def spans_of(store: Session, document_id: int) -> list[tuple[str, int, int]]:
    """(label, start, end) of the document's annotator layer, sorted."""
    layer = layer_of(store, document_id)
    return sorted((s.label, s.start, s.end) for s in layer.spans)


def make_span(page: Any, text: str, needle: str, key: str, occurrence: int = 0) -> tuple[int, int]:
    """Select ``needle`` (code points) with the mouse and press ``key``; return its offsets."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    end = start + len(needle)
    select_cp(page, start, end)
    page.keyboard.press(key)
    return start, end


def test_mouse_span_saved_with_exact_offsets(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Mara Lindqvist said on Tuesday that the port of Velden will reopen.\nThe harbour office confirmed it."
    s = seed(text)
    login(page, live, s.username)
    # From the project page, "Annotate" opens the first document still to do.
    page.goto(f"{live.url}/projects/{s.project_id}")
    page.get_by_role("link", name="Annotate", exact=True).click()
    page.wait_for_url(f"**/projects/{s.project_id}/documents/{s.document_ids[0]}/annotate")
    page.wait_for_selector("#annotate[data-ready='1']")
    assert page.locator("#wb-layer-status").text_content() == "new"
    start, end = make_span(page, text, "Mara Lindqvist", "p")
    wait_saved(page)
    assert page.locator("#wb-layer-status").text_content() == "in progress"
    page.reload()
    page.wait_for_selector("#annotate[data-ready='1']")
    assert spans_of(store, s.document_ids[0]) == [("PERSON", start, end)]
    layer = layer_of(store, s.document_ids[0])
    span = layer.spans[0]
    assert text[span.start : span.end] == "Mara Lindqvist"
    # The reloaded page lists it in the panel.
    row = page.locator("#wb-list .wb-row").first
    assert "Mara Lindqvist" in row.inner_text()
    assert "PERSON" in row.inner_text()


def test_span_after_emoji_and_in_crlf_text(page: Any, live: Any, store: Session, seed: Any) -> None:
    family = "\U0001f469\u200d\U0001f469\u200d\U0001f467"
    text = f"A trip with {family} and \U0001f1e9\U0001f1ea flags: Olga Petrenko spoke.\r\nThen \U0001d54f posts: Jonas Weber agreed.\r\n\r\nLast line here."
    s = seed(text)
    open_first(page, live, s)
    a = make_span(page, text, "Olga Petrenko", "p")
    b = make_span(page, text, "Jonas Weber", "1")  # digits pick labels by position: 1 = PERSON
    c = make_span(page, text, "Last line", "e")
    wait_saved(page)
    page.reload()
    page.wait_for_selector("#annotate[data-ready='1']")
    assert spans_of(store, s.document_ids[0]) == sorted([("PERSON", *a), ("PERSON", *b), ("EVENT", *c)])
    for _label, start, end in spans_of(store, s.document_ids[0]):
        assert text[start:end] in ("Olga Petrenko", "Jonas Weber", "Last line")
    assert page.locator("#wb-count-spans").inner_text() == "3"


def test_partial_selection_snaps_to_tokens(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Officials of the Nordhaven Shipping Union denied it."
    s = seed(text)
    open_first(page, live, s)
    start = text.index("haven")
    select_cp(page, start, text.index("Union") + 2)  # "haven Shipping Un"
    page.keyboard.press("o")
    wait_saved(page)
    (label, s0, e0), = spans_of(store, s.document_ids[0])
    assert (label, text[s0:e0]) == ("ORG", "Nordhaven Shipping Union")
    # With snapping off, the exact characters are kept.
    page.locator("#wb-snap").uncheck()
    d = text.index("denied")
    select_cp(page, d, d + 3)
    page.keyboard.press("u")
    wait_saved(page)
    got = {text[s1:e1] for _l, s1, e1 in spans_of(store, s.document_ids[0])}
    assert got == {"Nordhaven Shipping Union", "den"}


def test_relabel_delete_undo_redo(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Jonas Weber met Olga Petrenko in Velden."
    s = seed(text)
    doc = open_first(page, live, s)
    jw = make_span(page, text, "Jonas Weber", "o")  # wrong label first
    wait_saved(page)
    assert spans_of(store, doc) == [("ORG", *jw)]
    # The new span is selected: a label key relabels it.
    page.keyboard.press("p")
    wait_saved(page)
    assert spans_of(store, doc) == [("PERSON", *jw)]
    op = make_span(page, text, "Olga Petrenko", "p")
    ve = make_span(page, text, "Velden", "g")
    wait_saved(page)
    assert len(spans_of(store, doc)) == 3
    # Delete the selected one (Velden).
    page.keyboard.press("Delete")
    wait_saved(page)
    assert spans_of(store, doc) == sorted([("PERSON", *jw), ("PERSON", *op)])
    # Undo brings it back with the same offsets; redo deletes it again; undo twice more un-relabels nothing extra.
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert spans_of(store, doc) == sorted([("PERSON", *jw), ("PERSON", *op), ("GPE", *ve)])
    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert spans_of(store, doc) == sorted([("PERSON", *jw), ("PERSON", *op)])
    page.keyboard.press("Control+y")  # nothing left to redo
    page.keyboard.press("Control+z")  # undo the delete
    page.keyboard.press("Control+z")  # undo creating Velden
    page.keyboard.press("Control+z")  # undo creating Olga
    page.keyboard.press("Control+z")  # undo the relabel
    wait_saved(page)
    assert spans_of(store, doc) == [("ORG", *jw)]
    assert "ORG" in page.locator("#wb-list .wb-row").first.inner_text()
    # Click a span to select it, then delete with Backspace.
    p = page.evaluate(
        "async ([s, e]) => (await import('/static/js/offsets.js')).edgePoints(document.querySelector('#doc'), s, e)", list(jw)
    )
    page.mouse.click((p["x0"] + p["x1"]) / 2, p["y0"])
    page.keyboard.press("Backspace")
    wait_saved(page)
    assert spans_of(store, doc) == []


def test_script_text_shows_as_text(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = 'The memo read <script>window.pwned = 1</script> and <b>bold</b> & "quotes".'
    s = seed(text, titles=["<img src=x onerror=alert(1)> title"])
    open_first(page, live, s)
    assert page.evaluate("() => window.pwned") is None
    assert page.locator("#doc script").count() == 0
    assert page.locator("#doc b").count() == 0
    assert page.locator("#doc .wb-block").first.text_content() == text
    assert page.locator("#doc img").count() == 0
    assert "<img src=x" in page.locator("#wb-doc-title").inner_text()
    # The article text is not in the HTML of the page itself.
    html = page.request.get(page.url).text()
    assert "window.pwned" not in html and "The memo read" not in html
    start, end = make_span(page, text, "script", "w", occurrence=0)
    wait_saved(page)
    assert spans_of(store, s.document_ids[0]) == [("WEAPON", start, end)]


def test_click_selects_innermost_and_alt_click_cycles_outward(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Officials said Mara Lindqvist will resign soon."
    s = seed(text)
    open_first(page, live, s)
    make_span(page, text, "Mara Lindqvist will resign soon", "c")
    make_span(page, text, "Mara Lindqvist", "p")
    page.keyboard.press("Escape")
    m = text.index("Lindqvist")
    p = page.evaluate(
        "async ([s, e]) => (await import('/static/js/offsets.js')).edgePoints(document.querySelector('#doc'), s, e)", [m, m + 3]
    )
    x, y = (p["x0"] + p["x1"]) / 2, p["y0"]
    page.mouse.click(x, y)
    assert "PERSON" in page.locator("#wb-list [aria-selected=true]").inner_text()
    page.keyboard.down("Alt")
    page.mouse.click(x, y)
    page.keyboard.up("Alt")
    assert "CLAIM" in page.locator("#wb-list [aria-selected=true]").inner_text()
    # Enter opens the details; the claim's factuality is edited there.
    page.locator("#doc").focus()
    page.keyboard.press("Enter")
    page.locator("#wb-details select[data-attr=factuality]").select_option("hedged")
    wait_saved(page)
    layer = layer_of(store, s.document_ids[0])
    claim = next(sp for sp in layer.spans if sp.label == "CLAIM")
    assert claim.attrs == {"factuality": "hedged"}
    # The panel's list is keyboard-operable too: arrow keys move the selection.
    page.locator("#wb-details [data-action=close-details]").click()
    listbox = page.locator("#wb-list [role=listbox]")
    listbox.focus()
    page.keyboard.press("ArrowDown")
    assert "PERSON" in page.locator("#wb-list [aria-selected=true]").inner_text()
    active = listbox.get_attribute("aria-activedescendant")
    assert active and page.locator(f"[id='{active}']").get_attribute("aria-selected") == "true"


def test_shift_arrow_extends_a_selection_by_words(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Yesterday Mara Lindqvist resigned."
    s = seed(text)
    open_first(page, live, s)
    m = text.index("Mara")
    select_cp(page, m, m + 4)
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("p")
    wait_saved(page)
    assert [(label, text[a:b]) for label, a, b in spans_of(store, s.document_ids[0])] == [("PERSON", "Mara Lindqvist")]
    # With the span selected: Shift+arrow moves its end by a token, Ctrl+Shift+arrow its start.
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Control+Shift+ArrowRight")
    wait_saved(page)
    assert [(label, text[a:b]) for label, a, b in spans_of(store, s.document_ids[0])] == [("PERSON", "Lindqvist resigned")]
    page.keyboard.press("Control+z")
    page.keyboard.press("Shift+ArrowLeft")  # end back to "Lindqvist"
    wait_saved(page)
    assert [(label, text[a:b]) for label, a, b in spans_of(store, s.document_ids[0])] == [("PERSON", "Mara Lindqvist")]


def test_unsaved_changes_survive_a_reload(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Mara Lindqvist visited Velden."
    s = seed(text)
    open_first(page, live, s)
    page.route("**/api/v1/layers/*/ops", lambda route: route.abort())
    start, end = make_span(page, text, "Velden", "g")
    page.wait_for_function("() => document.querySelector('#wb-status').textContent.startsWith('Unsaved')")
    assert spans_of(store, s.document_ids[0]) == []
    page.unroute("**/api/v1/layers/*/ops")
    page.on("dialog", lambda dialog: dialog.accept())  # the "leave with unsaved changes?" warning
    page.reload()
    page.wait_for_selector("#annotate[data-ready='1']")
    wait_saved(page)
    assert spans_of(store, s.document_ids[0]) == [("GPE", start, end)]


def test_a_batch_whose_answer_was_lost_is_not_applied_twice(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Mara Lindqvist visited Velden and Ostmark."
    s = seed(text)
    doc = open_first(page, live, s)

    def lose_answer(route: Any) -> None:
        """Let the request reach the server, then fail it in the browser."""
        route.fetch()  # the server applies the batch...
        route.abort()  # ...but the page never hears back

    page.route("**/api/v1/layers/*/ops", lose_answer)
    velden = make_span(page, text, "Velden", "g")
    page.wait_for_function("() => document.querySelector('#wb-status').textContent.startsWith('Unsaved')")
    assert spans_of(store, doc) == [("GPE", *velden)]
    version = layer_of(store, doc).version
    page.unroute("**/api/v1/layers/*/ops")
    page.on("dialog", lambda dialog: dialog.accept())
    page.reload()
    page.wait_for_selector("#annotate[data-ready='1']")
    wait_saved(page)
    assert page.locator("#wb-banner").is_hidden()
    assert spans_of(store, doc) == [("GPE", *velden)]
    assert layer_of(store, doc).version == version
    ostmark = make_span(page, text, "Ostmark", "g")
    wait_saved(page)
    assert spans_of(store, doc) == sorted([("GPE", *velden), ("GPE", *ostmark)])


def test_overlay_fills_without_the_highlight_api(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Jonas Weber met Olga Petrenko in Velden."
    s = seed(text)
    page.add_init_script("Object.defineProperty(CSS, 'highlights', {value: undefined, configurable: true})")
    open_first(page, live, s)
    start, end = make_span(page, text, "Olga Petrenko", "p")
    wait_saved(page)
    assert spans_of(store, s.document_ids[0]) == [("PERSON", start, end)]
    page.wait_for_selector(".wb-fill")
    fill = page.locator(".wb-fill").first.bounding_box()
    p = page.evaluate(
        "async ([s, e]) => (await import('/static/js/offsets.js')).edgePoints(document.querySelector('#doc'), s, e)", [start, end]
    )
    assert fill is not None and abs(fill["x"] - (p["x0"] - 1)) < 2 and abs(fill["x"] + fill["width"] - (p["x1"] + 1)) < 2


def test_a_new_span_adds_one_row_and_keeps_the_others(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Mara Lindqvist met Olle Berg and Tove Ek in Velden on Tuesday, then flew to Arholm with Ivo Sand."
    s = seed(text)
    doc = open_first(page, live, s)
    for needle, key in (("Mara Lindqvist", "p"), ("Velden", "g"), ("Arholm", "g"), ("Ivo Sand", "p")):
        make_span(page, text, needle, key)
    wait_saved(page)
    page.wait_for_function("() => document.querySelectorAll('#wb-list li.wb-row').length === 4")
    # Tag the rows on screen, make a span between them, and look again once the panel has caught up.
    page.evaluate("() => { for (const li of document.querySelectorAll('#wb-list li.wb-row')) li.__before = true; window.__list = document.querySelector('#wb-list ul'); }")
    make_span(page, text, "Olle Berg", "p")
    wait_saved(page)
    page.wait_for_function("() => document.querySelectorAll('#wb-list li.wb-row').length === 5")
    got = page.evaluate(
        """() => Array.from(document.querySelectorAll('#wb-list li.wb-row'), li => [li.querySelector('.wb-quote').textContent, !!li.__before,
              li.getAttribute('aria-posinset'), li.getAttribute('aria-setsize'), li.getAttribute('aria-selected')])"""
    )
    assert got == [
        ["Mara Lindqvist", True, "1", "5", "false"],
        ["Olle Berg", False, "2", "5", "true"],
        ["Velden", True, "3", "5", "false"],
        ["Arholm", True, "4", "5", "false"],
        ["Ivo Sand", True, "5", "5", "false"],
    ]
    assert page.evaluate("() => document.querySelector('#wb-list ul') === window.__list")
    # A relabelled span's row is made afresh (its content changed); the others stay.
    page.keyboard.press("o")
    wait_saved(page)
    page.wait_for_function("() => document.querySelector('#wb-list [aria-selected=true] .wb-tag').textContent === 'ORG'")
    kept = page.evaluate("() => Array.from(document.querySelectorAll('#wb-list li.wb-row'), li => !!li.__before)")
    assert kept == [True, False, True, True, True]
    assert ("ORG", text.index("Olle Berg"), text.index("Olle Berg") + 9) in spans_of(store, doc)
