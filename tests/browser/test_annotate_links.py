"""The annotate page's "Show links" switch: arcs for every relation and attribution near the viewport."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import login
from conftest import open_annotate
from conftest import wait_saved
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.models import Document
from workbench.models import User
from workbench.services import annotation as annotation_service

pytestmark = pytest.mark.browser

#: Two relations and an attribution on the first screen; a third relation reaches far below it.
TEXT = "Anna Berg of Acme Corp said the mill in Velden will close.\n" + "Filler line of text.\n" * 300 + "Acme Corp also has an office in Berlin."


def _span(needle: str, label: str, sid: str, occurrence: int = 0) -> dict[str, Any]:
    """A span.create op for the ``occurrence``-th ``needle`` in the text."""
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(needle, start + 1)
    return {"op": "span.create", "id": sid, "label": label, "start": start, "end": start + len(needle), "attrs": {}}


def seed_links(store: Session, username: str, document_id: int) -> None:
    """Spans, three relations and one attribution (cue, source, one content)."""
    user = store.scalars(select(User).where(User.username == username)).one()
    layer = annotation_service.open_annotator_layer(store, user, store.get(Document, document_id))
    store.commit()
    ops = [
        _span("Anna Berg", "PERSON", "S1"),
        _span("Acme Corp", "ORG", "S2"),
        _span("said", "CUE", "S3"),
        _span("the mill in Velden will close", "CLAIM", "S4"),
        _span("Velden", "GPE", "S5"),
        _span("Berlin", "GPE", "S6"),
        {"op": "relation.create", "id": "R1", "type": "member_of", "head": "S1", "tail": "S2"},
        {"op": "relation.create", "id": "R2", "type": "located_in", "head": "S2", "tail": "S5"},
        {"op": "relation.create", "id": "R3", "type": "located_in", "head": "S2", "tail": "S6"},
        {"op": "attribution.create", "id": "A1", "source": "S1", "cue": "S3", "content": ["S4"], "attrs": {}},
    ]
    annotation_service.apply_ops(store, user, layer.id, layer.version, "seed-links", ops)
    store.commit()


def open_seeded(page: Any, live: Any, store: Session, seed: Any) -> tuple[Any, int]:
    """Seed TEXT with its links, log in as its annotator and open it; return the seed and the document id."""
    s = seed(TEXT)
    doc = s.document_ids[0]
    seed_links(store, s.username, doc)
    login(page, live, s.username)
    open_annotate(page, live, s.project_id, doc)
    return s, doc


def arcs(page: Any, group: str = "") -> list[str]:
    """Labels of the arcs drawn (optionally in one group: 'sel' or 'bg'), one per path."""
    scope = f"#wb-links .wb-links-{group}" if group else "#wb-links"
    paths = page.locator(f"{scope} path.wb-link").count()
    labels = page.locator(f"{scope} text.wb-link-label").evaluate_all("ts => ts.map(t => t.textContent)") if paths else []
    assert len(labels) == paths, "every arc has its label"
    return sorted(labels)


def test_show_links_draws_all_arcs_near_the_viewport(page: Any, live: Any, store: Session, seed: Any) -> None:
    open_seeded(page, live, store, seed)
    toggle = page.locator("#wb-show-links")
    assert toggle.is_checked(), "on by default"
    # Nothing selected: both relations on screen and the attribution's two spokes, plus a stub for the far relation.
    page.wait_for_function("() => document.querySelectorAll('#wb-links path.wb-link').length === 5")
    assert arcs(page) == sorted(["member_of", "located_in", "source", "content", "located_in ↓"])
    assert page.locator("#wb-links .wb-links-sel path").count() == 0
    assert page.locator("#wb-links .wb-links-bg path.wb-link-stub").count() == 1
    assert page.locator("#wb-links path.wb-link-content").count() == 1
    assert page.locator("#wb-links path.wb-link-source").count() == 1
    assert page.locator("#wb-links path.wb-link-rel").count() == 3
    assert page.evaluate("() => getComputedStyle(document.querySelector('#wb-links')).pointerEvents") == "none"

    # Select Velden: its relation moves to the emphasised group on top; the others stay muted.
    page.locator("#wb-tabs [data-tab=spans]").click()
    page.locator("#wb-list .wb-row").filter(has=page.locator(".wb-quote", has_text=re.compile(r"^Velden$"))).click()
    page.wait_for_function("() => document.querySelectorAll('#wb-links .wb-links-sel path.wb-link').length === 1")
    assert arcs(page, "sel") == ["located_in"]
    assert arcs(page, "bg") == sorted(["member_of", "source", "content", "located_in ↓"])
    sel_width = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#wb-links .wb-links-sel path.wb-link')).strokeWidth)")
    bg_width = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('#wb-links .wb-links-bg path.wb-link')).strokeWidth)")
    assert sel_width > bg_width

    # Off: only the selected item's arc is left.
    toggle.uncheck()
    page.wait_for_function("() => document.querySelectorAll('#wb-links path.wb-link').length === 1")
    assert arcs(page) == ["located_in"]
    assert page.locator("#wb-links .wb-links-bg").count() == 0

    # The setting survives a reload; with nothing selected, no arcs at all.
    page.reload()
    page.wait_for_selector("#annotate[data-ready='1']")
    assert not page.locator("#wb-show-links").is_checked()
    page.wait_for_timeout(100)
    assert page.locator("#wb-links path.wb-link").count() == 0

    # And back on.
    page.locator("#wb-show-links").check()
    page.wait_for_function("() => document.querySelectorAll('#wb-links path.wb-link').length === 5")
    assert page.evaluate("() => localStorage.getItem('wb-show-links')") == "1"


def test_links_follow_the_visible_band(page: Any, live: Any, store: Session, seed: Any) -> None:
    open_seeded(page, live, store, seed)
    page.wait_for_function("() => document.querySelectorAll('#wb-links path.wb-link').length === 5")
    # At the end of the document only the far relation's other end is near: it becomes an upward stub.
    page.evaluate("() => { const d = document.querySelector('#doc'); d.scrollTop = d.scrollHeight; }")
    page.wait_for_function(
        "() => document.querySelectorAll('#wb-links path.wb-link').length === 1"
        " && document.querySelector('#wb-links text.wb-link-label').textContent === 'located_in \u2191'"
    )
    assert arcs(page) == ["located_in ↑"]
    assert page.locator("#wb-links path.wb-link-stub").count() == 1


def test_a_relabelling_that_breaks_a_relation_is_refused_in_the_page(page: Any, live: Any, store: Session, seed: Any) -> None:
    """The page applies the server's rule itself: no save the server would refuse, no reload, the label kept."""
    s, doc = open_seeded(page, live, store, seed)
    page.evaluate("() => { window.__stayed = true; }")
    page.locator("#wb-tabs [data-tab=spans]").click()
    velden = page.locator("#wb-list .wb-row").filter(has=page.locator(".wb-quote", has_text=re.compile(r"^Velden$")))
    velden.click()
    page.keyboard.press("p")  # PERSON: located_in (ORG → GPE|LOC) would no longer fit
    page.wait_for_function("() => document.querySelector('#wb-banner').textContent.includes('Refused')")
    assert "a located_in relation cannot go from ORG to PERSON; delete the relation first" in page.locator("#wb-banner").inner_text()
    assert "GPE" in velden.inner_text()
    assert page.evaluate("() => window.wbAnnotate.saver.unsaved") == 0
    page.keyboard.press("l")  # LOC fits the relation
    page.wait_for_function("() => Array.from(document.querySelectorAll('#wb-list .wb-row')).some(li => li.textContent.includes('Velden') && li.textContent.includes('LOC'))")
    wait_saved(page)
    assert page.evaluate("() => window.__stayed") is True, "the page was not reloaded"
    store.expire_all()
    layer = annotation_service.open_annotator_layer(store, store.scalars(select(User).where(User.username == s.username)).one(),
                                                    store.get(Document, doc))
    labels = {span.uid: span.label for span in layer.spans}
    assert labels["S5"] == "LOC"
