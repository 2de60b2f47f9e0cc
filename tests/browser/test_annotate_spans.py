"""The annotate page in Chromium: making spans with the real mouse, exact offsets after reload."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import layer_of
from conftest import login
from conftest import open_annotate
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
    open_annotate(page, live, s.project_id, s.document_ids[0])
    start, end = make_span(page, text, "Mara Lindqvist", "p")
    wait_saved(page)
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
