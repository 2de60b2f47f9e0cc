"""The annotate page by mouse and at 800 px: drag a span's chip onto another span to start a relation;
at 800x700 the text and an open form are both in view and usable."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import layer_of
from conftest import open_first
from conftest import select_cp
from conftest import wait_saved
from sqlalchemy.orm import Session

from workbench.services import annotation as annotation_service

pytestmark = pytest.mark.browser

TEXT = "Jonas Weber of the Nordhaven Shipping Union said the strike will end on Friday."


def mark(page: Any, needle: str, key: str) -> None:
    start = TEXT.index(needle)
    select_cp(page, start, start + len(needle))
    page.keyboard.press(key)


def chip_box(page: Any, label: str) -> dict[str, float]:
    """The box of the first chip reading ``label`` (chips are redrawn after changes: wait for one)."""
    page.wait_for_function(
        "(label) => Array.from(document.querySelectorAll('.wb-chip[data-span]')).some(c => c.textContent === label && c.getBoundingClientRect().width > 0)",
        arg=label,
    )
    return page.evaluate(
        """(label) => { const c = Array.from(document.querySelectorAll('.wb-chip[data-span]')).find(c => c.textContent === label);
            const r = c.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; }""",
        label,
    )


def test_drag_from_one_span_to_another_opens_the_relation_form(page: Any, live: Any, store: Session, seed: Any) -> None:
    s = seed(TEXT)
    doc = open_first(page, live, s)
    mark(page, "Jonas Weber", "p")
    mark(page, "Nordhaven Shipping Union", "o")
    wait_saved(page)
    page.locator("#doc").focus()
    page.keyboard.press("Escape")
    head, tail = chip_box(page, "PERSON"), chip_box(page, "ORG")
    page.mouse.move(head["x"] + 4, head["y"] + head["height"] / 2)
    page.mouse.down()
    page.mouse.move(tail["x"] + 6, tail["y"] + tail["height"] / 2, steps=10)
    page.mouse.up()
    form = page.locator(".wb-form[aria-label='New relation']")
    assert form.is_visible()
    assert "From: PERSON “Jonas Weber”" in form.inner_text() and "To: ORG “Nordhaven Shipping Union”" in form.inner_text()
    assert "member_of" in page.locator(".wb-types").inner_text()  # the type stage, as after R, target, Enter
    assert page.evaluate("() => window.getSelection().isCollapsed")  # the drag selected no text
    page.keyboard.press("1")
    wait_saved(page)
    layer = annotation_service.layer_data(store, layer_of(store, doc), TEXT)
    names = {sp["id"]: sp["text"] for sp in layer["spans"]}
    assert [(names[r["head"]], r["type"], names[r["tail"]]) for r in layer["relations"]] == [
        ("Jonas Weber", "member_of", "Nordhaven Shipping Union")
    ]
    # A plain click on a chip (released where it was pressed) selects its span and starts nothing.
    org = chip_box(page, "ORG")
    page.mouse.click(org["x"] + 4, org["y"] + org["height"] / 2)
    assert page.evaluate("() => window.wbAnnotate.model.spans.get(window.wbAnnotate.selectedId).label") == "ORG"
    assert page.evaluate("() => window.wbAnnotate.mode") is None


def in_view(page: Any, selector: str) -> bool:
    """Whether the element's box lies (mostly) inside the viewport."""
    return page.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
            return r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight + 1 && r.right <= innerWidth + 1; }""",
        selector,
    )


def test_at_800_by_700_the_text_and_the_attribution_form_are_both_in_view(page: Any, live: Any, store: Session, seed: Any) -> None:
    long_text = TEXT + "\n\n" + "\n\n".join(f"Paragraph {i} of the story goes on about the harbour and the strike." for i in range(40))
    s = seed(long_text)
    page.set_viewport_size({"width": 800, "height": 700})
    doc = open_first(page, live, s)
    # The article starts with TEXT, so mark() finds the same offsets.
    mark(page, "Jonas Weber", "p")
    mark(page, "said", "u")
    mark(page, "the strike will end on Friday", "c")
    wait_saved(page)
    page.keyboard.press("a")  # the claim is selected: the attribution form opens
    form = page.locator(".wb-form[aria-label='New attribution']")
    assert form.is_visible()
    assert in_view(page, ".wb-form"), "the open form is scrolled out of view"
    assert in_view(page, ".wb-form [data-action=commit-attr]"), "the form's Save button is out of view"
    # The text around the selection is in view too, beside or above the form.
    claim = page.evaluate(
        """() => { const r = document.querySelector('#doc').getBoundingClientRect();
            return {top: r.top, bottom: r.bottom, height: r.height}; }"""
    )
    assert claim["top"] >= 0 and claim["bottom"] <= 701 and claim["height"] >= 120
    assert page.evaluate("() => document.documentElement.scrollWidth <= innerWidth"), "the page scrolls sideways"
    # Usable: pick the source and the cue by clicking a slot, then their words in the visible text; Save.
    for needle, slot in (("Jonas Weber", "source"), ("said", "cue")):
        page.click(f".wb-slot[data-slot={slot}]")
        start = TEXT.index(needle)
        p = page.evaluate(
            """async ([s, e]) => (await import('/static/js/offsets.js')).edgePoints(document.querySelector('#doc'), s, e)""",
            [start + 1, start + 2],
        )
        assert 0 <= p["y0"] <= 700
        page.mouse.click(p["x0"], p["y0"])
        assert needle in page.locator(f".wb-slot[data-slot={slot}]").inner_text()
    assert in_view(page, ".wb-form [data-action=commit-attr]")
    page.click(".wb-form [data-action=commit-attr]")
    wait_saved(page)
    layer = annotation_service.layer_data(store, layer_of(store, doc), long_text)
    assert len(layer["attributions"]) == 1 and layer["attributions"][0]["source"] is not None
