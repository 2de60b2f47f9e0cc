"""The annotate page by keyboard alone: from the login page to Submit, chains of attributions, editing in place, no keyboard trap."""

from __future__ import annotations

from typing import Any

import factories
import pytest
from conftest import layer_of
from conftest import open_first
from conftest import wait_saved
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.models import Document
from workbench.models import User
from workbench.services import annotation as annotation_service

pytestmark = pytest.mark.browser

# An article written for these tests, with the hard cases of attribution.
ARTICLE = (
    "Citing a defence ministry official, the Harbour Times reported that the border crossing would reopen on Friday. "
    "Petra Lund's aide said the talks were slow. "
    "Both Oskar Vale and Mira Stone said the deal was fair. "
    "A spokesman told Nordwire that no ships had been seized. "
    "\u201cThe port is safe,\u201d Vale said, \u201cand the ferries will run.\u201d "
    "Fuel prices will rise, the agency reported."
)


def at(needle: str, occurrence: int = 0, text: str = ARTICLE) -> tuple[int, int]:
    """Code point offsets of the ``occurrence``-th ``needle`` (the article is all BMP: code points are UTF-16 units)."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    return start, start + len(needle)


def kb_select(page: Any, needle: str, occurrence: int = 0, text: str = ARTICLE) -> None:
    """Select ``needle`` with the arrow keys only: ←/→ move a one-word selection, Shift+→ extends it."""
    start, end = at(needle, occurrence, text)
    for _ in range(120):
        cur = page.evaluate("() => wbAnnotate.currentSelection()")
        if cur and cur["start"] == start:
            break
        pos = cur["start"] if cur else page.evaluate("() => wbAnnotate.caret ?? -1")
        page.keyboard.press("ArrowRight" if pos < start else "ArrowLeft")
    else:
        raise AssertionError(f"the arrows never reached {needle!r}")
    for _ in range(30):
        cur = page.evaluate("() => wbAnnotate.currentSelection()")
        if cur["end"] >= end:
            break
        page.keyboard.press("Shift+ArrowRight")
    assert (cur["start"], cur["end"]) == (start, end), (needle, cur)


def kb_mark(page: Any, needle: str, key: str, occurrence: int = 0) -> None:
    """Select ``needle`` by keyboard and press a label key."""
    kb_select(page, needle, occurrence)
    page.keyboard.press(key)


def selected(page: Any) -> tuple[str, int, int] | None:
    """The selected span as (label, start, end)."""
    return page.evaluate("() => { const p = wbAnnotate, s = p.selectedId && p.model.spans.get(p.selectedId); return s ? [s.label, s.start, s.end] : null; }")


def step_to(page: Any, needle: str, label: str, occurrence: int = 0, text: str = ARTICLE) -> None:
    """Press J until the span ``label`` over ``needle`` is selected."""
    want = [label, *at(needle, occurrence, text)]
    for _ in range(60):
        if selected(page) == want:
            return
        page.keyboard.press("j")
    raise AssertionError(f"J never reached {label} {needle!r}; at {selected(page)}")


def focused(page: Any) -> dict[str, Any]:
    """What has the focus: tag, id, text, data-slot, data-attr, data-field and the region it sits in."""
    return page.evaluate(
        """() => { const a = document.activeElement; return { tag: a.tagName, id: a.id, text: (a.innerText || a.value || '').trim().slice(0, 60),
        slot: a.dataset ? a.dataset.slot || null : null, attr: a.dataset ? a.dataset.attr || null : null, field: a.dataset ? a.dataset.field || null : null,
        href: a.getAttribute('href'), toolbar: !!a.closest('.wb-toolbar'), palette: !!a.closest('#wb-palette'), panel: !!a.closest('#wb-panel'),
        form: !!a.closest('.wb-form'), skip: a.classList.contains('skip-link') }; }"""
    )


def tab_until(page: Any, pred: Any, key: str = "Tab", limit: int = 80) -> dict[str, Any]:
    """Press Tab (or ``key``) until the focused element satisfies ``pred``; return it."""
    for _ in range(limit):
        page.keyboard.press(key)
        f = focused(page)
        if pred(f):
            return f
    raise AssertionError(f"{key} never reached the wanted element; last {focused(page)}")


def slot_text(page: Any, name: str) -> str:
    """The text of the attribution form's slots of one kind."""
    return " | ".join(page.locator(f".wb-form [data-slot={name}]").all_inner_texts())


def layer_json(store: Session, document_id: int, text: str = ARTICLE) -> dict[str, Any]:
    """The layer as the API returns it, fresh from the database."""
    return annotation_service.layer_data(store, layer_of(store, document_id), text)


def described(layer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Attributions keyed by their first content piece's text: source, cue, content texts, parent (by its first content and source), attrs."""
    names = {s["id"]: s["text"] for s in layer["spans"]}
    by_id = {a["id"]: a for a in layer["attributions"]}
    out = {}
    for a in layer["attributions"]:
        parent = by_id.get(a.get("parent")) if a.get("parent") else None
        out[names[a["content"][0]] + (" / " + names[a["source"]] if a["source"] else "")] = {
            "source": names.get(a["source"]),
            "cue": names.get(a["cue"]),
            "content": [names[c] for c in a["content"]],
            "parent": names.get(parent["source"]) if parent else None,
            "attrs": a["attrs"],
        }
    return out


def test_keyboard_alone_from_login_to_submit_on_an_article_with_the_hard_cases(page: Any, live: Any, store: Session, seed: Any) -> None:
    s = seed(ARTICLE, titles=["Border crossing to reopen"])
    # Log in with the keyboard: the username field has the focus.
    page.goto(f"{live.url}/login")
    assert focused(page)["tag"] == "INPUT"
    page.keyboard.type(s.username)
    page.keyboard.press("Tab")
    page.keyboard.type(factories.PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login" not in u)
    # The project, then Annotate, by Tab and Enter.
    tab_until(page, lambda f: (f["href"] or "").rstrip("/").endswith(f"/projects/{s.project_id}"))
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/projects/{s.project_id}")
    tab_until(page, lambda f: (f["href"] or "").endswith("/annotate"))
    page.keyboard.press("Enter")
    page.wait_for_selector("#annotate[data-ready='1']")
    doc = s.document_ids[0]
    # Tab reaches the text.
    tab_until(page, lambda f: f["id"] == "doc")

    # Spans, in reading order, by the arrow keys and label keys.
    kb_mark(page, "Citing", "u")
    # SOURCE is the eleventh label: no number key; "/" opens the label picker, typing filters, Enter picks.
    kb_select(page, "a defence ministry official")
    page.keyboard.press("/")
    assert page.locator(".wb-picker").is_visible()
    page.keyboard.type("o")  # labels starting with the letters come first
    assert page.locator(".wb-picker [role=option]").all_inner_texts()[0].startswith("ORG")
    page.keyboard.type("ur")
    options = page.locator(".wb-picker [role=option]").all_inner_texts()
    assert len(options) == 1 and options[0].startswith("SOURCE")
    page.keyboard.press("Enter")
    assert selected(page) == ["SOURCE", *at("a defence ministry official")]
    assert focused(page)["id"] == "doc"
    kb_mark(page, "the Harbour Times", "o")
    kb_mark(page, "reported", "u")
    kb_mark(page, "the border crossing would reopen on Friday", "c")
    kb_mark(page, "Petra Lund's aide", "s")  # a SOURCE with an entity inside, starting at the same point
    kb_mark(page, "Petra Lund", "p")
    kb_mark(page, "said", "u")
    kb_mark(page, "the talks were slow", "c")
    kb_mark(page, "Oskar Vale and Mira Stone", "s")  # "both X and Y said"
    kb_mark(page, "Oskar Vale", "p")
    kb_mark(page, "Mira Stone", "p")
    kb_mark(page, "said", "u", 1)
    kb_mark(page, "the deal was fair", "c")
    kb_mark(page, "A spokesman", "s")
    kb_mark(page, "told Nordwire", "u")  # the agency inside the cue
    kb_mark(page, "Nordwire", "o")
    kb_mark(page, "no ships had been seized", "c")
    kb_mark(page, "The port is safe", "c")  # content split in two around the cue
    kb_mark(page, "Vale", "p", 1)
    kb_mark(page, "said", "u", 2)
    kb_mark(page, "and the ferries will run", "c")
    kb_mark(page, "Fuel prices will rise", "c")  # the cue follows the content
    kb_mark(page, "the agency", "s")
    kb_mark(page, "reported", "u", 1)
    wait_saved(page)
    assert len(layer_json(store, doc)["spans"]) == 25

    # Space at a point where spans are stacked opens a chooser.
    step_to(page, "Petra Lund's aide", "SOURCE")
    page.keyboard.press(" ")
    options = page.locator(".wb-picker [role=option]").all_inner_texts()
    assert len(options) == 2 and options[0].startswith("PERSON") and options[1].startswith("SOURCE")
    page.keyboard.press("Enter")
    assert selected(page) == ["PERSON", *at("Petra Lund")]

    # The paper's report: content, source, cue, the quote attribute; Tab moves between the form's fields.
    step_to(page, "the border crossing would reopen on Friday", "CLAIM")
    page.keyboard.press("a")
    assert focused(page)["slot"] == "source"
    page.keyboard.press("BracketLeft")  # the previous entity or source: the Harbour Times
    assert "the Harbour Times" in slot_text(page, "source")
    page.keyboard.press("Tab")
    assert focused(page)["slot"] == "cue"
    page.keyboard.press("BracketRight")  # the next cue: reported
    assert "reported" in slot_text(page, "cue")
    tab_until(page, lambda f: f["attr"] == "quote")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # indirect
    page.keyboard.press("Enter")  # saves from the select
    assert page.locator(".wb-form").count() == 0
    # The official's report is relayed by the paper's: a chain.
    step_to(page, "a defence ministry official", "SOURCE")
    page.keyboard.press("a")  # a source-kind span fills Source; Content is active
    assert focused(page)["slot"] == "content"
    page.keyboard.press("BracketRight")
    assert "the border crossing" in slot_text(page, "content")
    tab_until(page, lambda f: f["slot"] == "cue")
    page.keyboard.press("BracketLeft")  # reported
    page.keyboard.press("BracketLeft")  # Citing
    assert "Citing" in slot_text(page, "cue")
    tab_until(page, lambda f: f["field"] == "parent")
    page.keyboard.press("ArrowDown")  # the paper's attribution
    assert focused(page)["field"] == "parent"
    assert "the Harbour Times" in page.locator(".wb-form select[data-field=parent]").evaluate("s => s.selectedOptions[0].textContent")
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # indirect
    page.keyboard.press("Enter")
    # The aide: the previous source-ish span is the PERSON inside, once more the SOURCE around it.
    step_to(page, "the talks were slow", "CLAIM")
    page.keyboard.press("a")
    page.keyboard.press("BracketLeft")
    page.keyboard.press("BracketLeft")
    assert "Petra Lund's aide" in slot_text(page, "source")
    page.keyboard.press("Tab")
    page.keyboard.press("BracketRight")  # said
    page.keyboard.press("Enter")  # Enter on a slot saves
    # Both X and Y said: the SOURCE over both names.
    step_to(page, "the deal was fair", "CLAIM")
    page.keyboard.press("a")
    for _ in range(3):
        page.keyboard.press("BracketLeft")
    assert "Oskar Vale and Mira Stone" in slot_text(page, "source")
    page.keyboard.press("Tab")
    page.keyboard.press("BracketLeft")
    page.keyboard.press("Enter")
    # A spokesman told Nordwire.
    step_to(page, "no ships had been seized", "CLAIM")
    page.keyboard.press("a")
    page.keyboard.press("BracketLeft")  # Nordwire (inside the cue)
    page.keyboard.press("BracketLeft")  # A spokesman
    assert "A spokesman" in slot_text(page, "source")
    page.keyboard.press("Tab")
    page.keyboard.press("BracketRight")  # the next cue after the spokesman
    assert "told Nordwire" in slot_text(page, "cue")
    page.keyboard.press("Enter")
    # The split quote, started from its second piece; the first is added with + and lands first.
    step_to(page, "and the ferries will run", "CLAIM")
    page.keyboard.press("a")
    page.keyboard.press("BracketLeft")  # Vale
    page.keyboard.press("Tab")
    page.keyboard.press("BracketRight")  # the cue after Vale: said
    assert f"[{at('said', 2)[0]}" in page.evaluate("() => { const p = wbAnnotate, s = p.model.spans.get(p.mode.cue); return `[${s.start}`; }")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert focused(page)["slot"] == "content"
    page.keyboard.press("+")
    page.keyboard.press("BracketLeft")  # the previous claim: The port is safe
    assert page.locator(".wb-form [data-slot=content]").all_inner_texts()[0].startswith("Content 1")
    assert "The port is safe" in page.locator(".wb-form [data-slot=content]").all_inner_texts()[0]
    tab_until(page, lambda f: f["attr"] == "quote")
    page.keyboard.press("ArrowDown")  # direct
    page.keyboard.press("Enter")
    # The cue after the content.
    step_to(page, "Fuel prices will rise", "CLAIM")
    page.keyboard.press("a")
    page.keyboard.press("BracketRight")  # the agency
    page.keyboard.press("Tab")
    page.keyboard.press("BracketRight")  # reported
    page.keyboard.press("Enter")
    wait_saved(page)

    # Submit: F6 to the toolbar, Tab to Submit, Enter.
    for _ in range(6):
        page.keyboard.press("F6")
        if focused(page)["toolbar"]:
            break
    assert focused(page)["toolbar"]
    tab_until(page, lambda f: f["id"] == "wb-submit")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/projects/{s.project_id}")
    layer = layer_of(store, doc)
    assert layer.status == "submitted"
    got = described(layer_json(store, doc))
    assert got == {
        "the border crossing would reopen on Friday / the Harbour Times": {
            "source": "the Harbour Times", "cue": "reported", "content": ["the border crossing would reopen on Friday"],
            "parent": None, "attrs": {"quote": "indirect"},
        },
        "the border crossing would reopen on Friday / a defence ministry official": {
            "source": "a defence ministry official", "cue": "Citing", "content": ["the border crossing would reopen on Friday"],
            "parent": "the Harbour Times", "attrs": {"quote": "indirect"},
        },
        "the talks were slow / Petra Lund's aide": {"source": "Petra Lund's aide", "cue": "said", "content": ["the talks were slow"], "parent": None, "attrs": {}},
        "the deal was fair / Oskar Vale and Mira Stone": {
            "source": "Oskar Vale and Mira Stone", "cue": "said", "content": ["the deal was fair"], "parent": None, "attrs": {},
        },
        "no ships had been seized / A spokesman": {"source": "A spokesman", "cue": "told Nordwire", "content": ["no ships had been seized"], "parent": None, "attrs": {}},
        "The port is safe / Vale": {
            "source": "Vale", "cue": "said", "content": ["The port is safe", "and the ferries will run"], "parent": None, "attrs": {"quote": "direct"},
        },
        "Fuel prices will rise / the agency": {"source": "the agency", "cue": "reported", "content": ["Fuel prices will rise"], "parent": None, "attrs": {}},
    }


CHAIN = "Citing a ministry official, the Harbour Times reported that the crossing would reopen. Nordwire said the port was safe."


def seed_chain(store: Session, username: str, document_id: int) -> None:
    """Two attributions of one claim, the official's relayed by the paper's, and one more (Nordwire's)."""
    user = store.scalars(select(User).where(User.username == username)).one()
    layer = annotation_service.open_annotator_layer(store, user, store.get(Document, document_id))
    store.commit()

    def span(sid: str, needle: str, label: str) -> dict[str, Any]:
        a, b = at(needle, text=CHAIN)
        return {"op": "span.create", "id": sid, "label": label, "start": a, "end": b, "attrs": {}}

    ops = [
        span("cite", "Citing", "CUE"), span("off", "a ministry official", "SOURCE"), span("paper", "the Harbour Times", "ORG"),
        span("rep", "reported", "CUE"), span("claim", "the crossing would reopen", "CLAIM"),
        span("nw", "Nordwire", "ORG"), span("said", "said", "CUE"), span("safe", "the port was safe", "CLAIM"),
        {"op": "attribution.create", "id": "AP", "source": "paper", "cue": "rep", "content": ["claim"], "attrs": {}},
        {"op": "attribution.create", "id": "AO", "source": "off", "cue": "cite", "content": ["claim"], "attrs": {}, "parent": "AP"},
        {"op": "attribution.create", "id": "AN", "source": "nw", "cue": "said", "content": ["safe"], "attrs": {}},
    ]
    annotation_service.apply_ops(store, user, layer.id, layer.version, "seed-chain", ops)
    store.commit()


def attribution_of(store: Session, doc: int, aid: str) -> dict[str, Any] | None:
    """One attribution of the saved layer, by id (None when gone)."""
    return next((a for a in layer_json(store, doc, CHAIN)["attributions"] if a["id"] == aid), None)


def open_chain(page: Any, live: Any, store: Session, seed: Any) -> int:
    """Seed the chain article with its attributions, log in and open it; return the document id."""
    s = seed(CHAIN)
    seed_chain(store, s.username, s.document_ids[0])
    return open_first(page, live, s)


def test_a_chain_is_shown_and_its_parent_changed_cleared_and_a_loop_refused(page: Any, live: Any, store: Session, seed: Any) -> None:
    doc = open_chain(page, live, store, seed)
    page.locator("#wb-tabs [data-tab=attributions]").click()
    official = page.locator("#wb-list .wb-attr-row[data-attribution=AO]")
    paper = page.locator("#wb-list .wb-attr-row[data-attribution=AP]")
    assert "Relayed by" in official.inner_text() and "the Harbour Times" in official.locator(".wb-relayed-by").inner_text()
    assert "a ministry official" in paper.locator(".wb-relays").inner_text()
    # Edit the official's attribution by keyboard: select its source, Shift+A.
    page.locator("#doc").focus()
    step_to(page, "a ministry official", "SOURCE", text=CHAIN)
    page.keyboard.press("Shift+A")
    assert page.locator(".wb-form h3").inner_text() == "Edit attribution"
    parent = page.locator(".wb-form select[data-field=parent]")
    assert parent.input_value() == "AP"
    # Clear the parent, save: the server keeps no parent; undo brings it back, redo clears it again.
    tab_until(page, lambda f: f["field"] == "parent")
    page.keyboard.press("Home")
    assert parent.input_value() == ""
    page.keyboard.press("Enter")
    wait_saved(page)
    assert "parent" not in attribution_of(store, doc, "AO")
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert attribution_of(store, doc, "AO")["parent"] == "AP"
    assert page.locator("#wb-note").is_visible() and "Undone: Edited attribution" in page.locator("#wb-note").inner_text()
    page.keyboard.press("Control+Shift+z")
    wait_saved(page)
    assert "parent" not in attribution_of(store, doc, "AO")
    assert "Redone" in page.locator("#wb-note").inner_text()
    page.keyboard.press("Control+z")
    wait_saved(page)
    # A loop is refused in the page with the reason, and nothing is saved: the paper's cannot be relayed by the official's.
    paper.locator("[data-action=edit-attr]").click()
    page.locator(".wb-form select[data-field=parent]").select_option("AO")
    error = page.locator("#wb-form-error").inner_text()
    assert "loop" in error and "a ministry official" in error
    assert page.locator(".wb-form select[data-field=parent]").input_value() == ""
    page.locator(".wb-form select[data-field=parent]").select_option("AN")  # another attribution is fine
    page.locator(".wb-form [data-action=commit-attr]").click()
    wait_saved(page)
    assert attribution_of(store, doc, "AP")["parent"] == "AN"
    assert attribution_of(store, doc, "AO")["parent"] == "AP"


def test_undo_of_deleting_an_attribution_restores_its_parent_and_the_links_to_it(page: Any, live: Any, store: Session, seed: Any) -> None:
    doc = open_chain(page, live, store, seed)
    page.locator("#wb-tabs [data-tab=attributions]").click()
    # Deleting the paper's attribution leaves the official's without parent, on the page and on the server.
    page.locator("#wb-list [data-action=delete-attr][data-id=AP]").click()
    wait_saved(page)
    assert attribution_of(store, doc, "AP") is None and "parent" not in attribution_of(store, doc, "AO")
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert attribution_of(store, doc, "AP") is not None and attribution_of(store, doc, "AO")["parent"] == "AP"
    assert page.evaluate("() => wbAnnotate.model.attributions.get('AO').parent") == "AP"
    # Deleting the relayed one and undoing keeps its parent.
    page.locator("#wb-list [data-action=delete-attr][data-id=AO]").click()
    wait_saved(page)
    assert attribution_of(store, doc, "AO") is None
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert attribution_of(store, doc, "AO")["parent"] == "AP"
    # Deleting the claim both report deletes both attributions (their only content), and undo restores both and the link.
    page.locator("#doc").focus()
    step_to(page, "the crossing would reopen", "CLAIM", text=CHAIN)
    page.keyboard.press("Delete")
    wait_saved(page)
    assert attribution_of(store, doc, "AP") is None and attribution_of(store, doc, "AO") is None
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert attribution_of(store, doc, "AO")["parent"] == "AP" and attribution_of(store, doc, "AP")["content"] == ["claim"]


def test_editing_source_cue_and_content_in_place_with_undo_and_redo(page: Any, live: Any, store: Session, seed: Any) -> None:
    doc = open_chain(page, live, store, seed)
    page.locator("#doc").focus()
    step_to(page, "the port was safe", "CLAIM", text=CHAIN)
    page.keyboard.press("Shift+A")
    assert focused(page)["slot"] == "source"
    # The source becomes the paper: [ picks the previous entity or source span before Nordwire.
    page.keyboard.press("BracketLeft")  # the Harbour Times
    assert "the Harbour Times" in slot_text(page, "source")
    page.keyboard.press("Tab")
    page.keyboard.press("BracketRight")  # the next cue after the paper: reported
    assert "reported" in slot_text(page, "cue")
    # Content gets a second piece, picked after the first but earlier in the text: kept in reading order.
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("+")
    page.keyboard.press("BracketRight")  # the next claim after "reported": the crossing would reopen
    pieces = page.locator(".wb-form [data-slot=content]").all_inner_texts()
    assert len(pieces) == 2 and "the crossing would reopen" in pieces[0] and "the port was safe" in pieces[1]
    page.keyboard.press("Enter")
    wait_saved(page)
    after = attribution_of(store, doc, "AN")
    assert (after["source"], after["cue"], after["content"]) == ("paper", "rep", ["claim", "safe"])
    page.keyboard.press("Control+z")
    wait_saved(page)
    before = attribution_of(store, doc, "AN")
    assert (before["source"], before["cue"], before["content"]) == ("nw", "said", ["safe"])
    assert "Undone: Edited attribution" in page.locator("#wb-note").inner_text()
    page.keyboard.press("Control+y")
    wait_saved(page)
    again = attribution_of(store, doc, "AN")
    assert (again["source"], again["cue"], again["content"]) == ("paper", "rep", ["claim", "safe"])
    # The mouse way: Edit in the list, click a slot, click a span in the text, Save changes.
    page.locator("#wb-tabs [data-tab=attributions]").click()
    page.locator("#wb-list [data-action=edit-attr][data-id=AN]").click()
    page.locator(".wb-form [data-slot=cue]").click()
    a, b = at("said", text=CHAIN)
    p = page.evaluate("""async ([s, e]) => (await import('/static/js/offsets.js')).edgePoints(document.querySelector('#doc'), s, e)""", [a, b])
    page.mouse.click((p["x0"] + p["x1"]) / 2, p["y0"])
    assert "said" in slot_text(page, "cue")
    page.locator(".wb-form [data-action=commit-attr]").click()
    wait_saved(page)
    assert attribution_of(store, doc, "AN")["cue"] == "said"
    assert "Edited attribution" in page.locator("#wb-announce").inner_text()
    # Esc discards an edit, from a slot or from a field of the form.
    page.locator("#wb-list [data-action=edit-attr][data-id=AN]").click()
    page.locator(".wb-form [data-slot=cue]").focus()
    page.keyboard.press("Backspace")  # empties the cue
    assert "pick a span" in slot_text(page, "cue")
    page.keyboard.press("Escape")
    assert page.locator(".wb-form").count() == 0
    assert page.evaluate("() => wbAnnotate.model.attributions.get('AN').cue") == "said"
    page.locator("#wb-list [data-action=edit-attr][data-id=AN]").click()
    page.locator(".wb-form select[data-attr=quote]").focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    assert page.locator(".wb-form").count() == 0 and focused(page)["id"] == "doc"
    assert page.evaluate("() => wbAnnotate.model.attributions.get('AN').attrs") == {}


def test_tab_leaves_the_text_and_f6_cycles_the_regions(page: Any, live: Any, store: Session, seed: Any) -> None:
    open_chain(page, live, store, seed)
    page.locator("#doc").focus()
    page.keyboard.press("j")
    assert selected(page) is not None
    # Tab leaves the text for the panel; Shift+Tab goes back past it to the labels and the toolbar, up to the skip link.
    page.keyboard.press("Tab")
    assert focused(page)["panel"]
    page.keyboard.press("Shift+Tab")
    assert focused(page)["id"] == "doc"
    page.keyboard.press("Shift+Tab")
    assert focused(page)["palette"] and focused(page)["text"].startswith("PERSON")
    # The labels are one Tab stop (a toolbar): arrows move along it.
    page.keyboard.press("ArrowRight")
    assert focused(page)["text"].startswith("ORG")
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "doc"
    page.keyboard.press("Shift+Tab")
    assert focused(page)["text"].startswith("ORG")
    tab_until(page, lambda f: f["toolbar"], key="Shift+Tab")
    tab_until(page, lambda f: f["skip"], key="Shift+Tab")
    # F6 cycles toolbar -> labels -> text -> suggestions -> panel -> toolbar; Shift+F6 goes back. The focus is always drawn.
    outline = "() => { const a = document.activeElement, st = getComputedStyle(a); return st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2; }"
    page.locator("#doc").focus()
    page.keyboard.press("F6")
    assert focused(page)["id"] == "wb-sugg-list" and page.evaluate(outline)
    page.keyboard.press("F6")
    assert focused(page)["panel"] and focused(page)["id"] != "wb-sugg-list" and page.evaluate(outline)
    page.keyboard.press("F6")
    assert focused(page)["toolbar"] and page.evaluate(outline)
    page.keyboard.press("F6")
    assert focused(page)["palette"] and page.evaluate(outline)
    page.keyboard.press("F6")
    assert focused(page)["id"] == "doc" and page.evaluate(outline)
    assert page.locator("#wb-announce").inner_text() == "Text"
    page.keyboard.press("Shift+F6")
    assert focused(page)["palette"]
    # With a form open, the form is a region of its own, and Tab walks through its fields to its buttons and out.
    page.locator("#doc").focus()
    page.keyboard.press("a")
    assert focused(page)["form"] and page.evaluate(outline)
    page.keyboard.press("F6")
    assert focused(page)["toolbar"]
    page.keyboard.press("Shift+F6")
    assert focused(page)["form"]
    tab_until(page, lambda f: f["text"] == "Discard")
    page.keyboard.press("Tab")
    assert not focused(page)["form"]
    # The shortcut overlay lists the keys.
    page.locator("#doc").focus()
    page.keyboard.press("?")
    help_text = page.locator("#wb-help").inner_text()
    assert all(k in help_text for k in ("Next / previous span", "F6", "Shift+A", "Pick a label by name", "Choose among the spans stacked"))
    assert "Tab moves through the controls as on any page" in help_text
    page.keyboard.press("Escape")
    # Every button and field of the page has a name.
    unnamed = page.evaluate(
        """() => Array.from(document.querySelectorAll('#annotate button, #annotate select, #annotate input, #annotate [role=listbox], #annotate [role=tab]'))
        .filter(n => n.getClientRects().length && !(n.getAttribute('aria-label') || n.getAttribute('aria-labelledby') || (n.labels && n.labels.length) || n.textContent.trim()))
        .map(n => n.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []


def test_keyboard_selection_starts_at_the_caret(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Anna Berg met Jonas Weber in Velden on Monday while Olga Petrenko waited outside."
    s = seed(text)
    doc = open_first(page, live, s)
    # Click in "Velden", then Shift+→ selects from there, not from the first visible word.
    start, end = at("Velden", text=text)
    p = page.evaluate(
        """async ([s, e]) => (await import('/static/js/offsets.js')).edgePoints(document.querySelector('#doc'), s, e)""",
        [start + 2, start + 3],
    )
    page.mouse.click(p["x0"], p["y0"])
    page.keyboard.press("Shift+ArrowRight")
    assert page.evaluate("() => wbAnnotate.currentSelection()") == {"start": start, "end": end}
    page.keyboard.press("g")
    # After a span, → selects the next word.
    page.keyboard.press("ArrowRight")  # on
    page.keyboard.press("Shift+ArrowRight")  # on Monday
    page.keyboard.press("d")
    wait_saved(page)
    spans = sorted((sp.label, text[sp.start:sp.end]) for sp in layer_of(store, doc).spans)
    assert spans == [("DATE", "on Monday"), ("GPE", "Velden")]


def test_the_label_picker_arms_a_label_relabels_a_span_and_never_traps_the_focus(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "Mira Stone spoke in Velden."
    s = seed(text)
    doc = open_first(page, live, s)
    page.locator("#doc").focus()
    # Nothing selected: the picked label is armed, as a click on the palette would.
    page.keyboard.press("/")
    assert page.locator(".wb-picker h2").inner_text() == "Arm a label"
    page.keyboard.type("per")
    page.keyboard.press("Enter")
    assert page.locator("#wb-palette [data-label=PERSON]").get_attribute("aria-pressed") == "true"
    page.keyboard.press("Escape")  # disarms
    assert page.locator("#wb-palette [data-label=PERSON]").get_attribute("aria-pressed") == "false"
    # A span selected: the picked label relabels it.
    kb_select(page, "Velden", text=text)
    page.keyboard.press("p")
    page.keyboard.press("/")
    page.keyboard.type("gpe")
    page.keyboard.press("Enter")
    wait_saved(page)
    assert [(sp.label, text[sp.start:sp.end]) for sp in layer_of(store, doc).spans] == [("GPE", "Velden")]
    # Tab leaves the chooser (and closes it); Esc closes it and gives the focus back to the text.
    page.keyboard.press("/")
    assert page.locator(".wb-picker").is_visible()
    page.keyboard.press("Tab")
    assert page.locator(".wb-picker").is_hidden() and not page.evaluate("() => !!document.activeElement.closest('.wb-picker')")
    page.locator("#doc").focus()
    page.keyboard.press("/")
    page.keyboard.press("Escape")
    assert page.locator(".wb-picker").is_hidden() and focused(page)["id"] == "doc"
