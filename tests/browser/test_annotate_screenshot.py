"""A review screenshot of the annotate page: nested and overlapping spans and an attribution."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from conftest import open_first
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.models import Document
from workbench.models import User
from workbench.services import annotation as annotation_service

pytestmark = pytest.mark.browser

#: Set WB_UPDATE_SCREENSHOTS=1 to refresh the screenshot in the docs; otherwise it goes to a temporary folder.
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "annotate.png"

ARTICLE = (
    "Harbour talks resume in Velden\n"
    "\n"
    "The mayor of Velden, Mara Lindqvist, said on Tuesday that the northern ferry terminal "
    "will reopen in March after a two-year closure. According to the port authority, repairs "
    "to the breakwater cost more than the city had planned.\n"
    "\n"
    "\u201cWe will not raise the harbour fees this year,\u201d Lindqvist told reporters, "
    "\u201cbut the council must find the money elsewhere.\u201d Officials at the Nordhaven "
    "Shipping Union denied that any jobs were at risk.\n"
    "\n"
    "It was reported that two ministers from Ostmark plan to visit the terminal before the "
    "spring elections."
)


def _span(text: str, needle: str, label: str, sid: str, occurrence: int = 0, attrs: dict[str, Any] | None = None) -> dict[str, Any]:
    """A span.create op for the ``occurrence``-th ``needle`` in ``text``."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    return {"op": "span.create", "id": sid, "label": label, "start": start, "end": start + len(needle), "attrs": attrs or {}}


def seed_article(store: Session, username: str, document_id: int) -> None:
    """Give the user's layer nested entities, claims, cues, a relation and two attributions."""
    user = store.scalars(select(User).where(User.username == username)).one()
    document = store.get(Document, document_id)
    layer = annotation_service.open_annotator_layer(store, user, document)
    store.commit()
    t = ARTICLE
    claim1 = "the northern ferry terminal will reopen in March after a two-year closure"
    claim2 = "We will not raise the harbour fees this year"
    ops = [
        _span(t, "The mayor of Velden, Mara Lindqvist", "SOURCE", "S1"),  # a SOURCE holds the PERSON (overlap rules)
        _span(t, "Velden", "GPE", "S2", occurrence=1),
        _span(t, "Mara Lindqvist", "PERSON", "S3"),
        _span(t, "said", "CUE", "S4"),
        _span(t, "on Tuesday", "DATE", "S5"),
        _span(t, claim1, "CLAIM", "S6", attrs={"factuality": "asserted"}),
        _span(t, "in March", "DATE", "S7"),
        _span(t, "According to", "CUE", "S8"),
        _span(t, "the port authority", "ORG", "S9"),
        _span(t, "repairs to the breakwater cost more than the city had planned", "CLAIM", "S10", attrs={"factuality": "asserted"}),
        _span(t, claim2, "CLAIM", "S11", attrs={"factuality": "asserted"}),
        _span(t, "Lindqvist", "PERSON", "S12", occurrence=1),
        _span(t, "told reporters", "CUE", "S13"),
        _span(t, "the council must find the money elsewhere", "CLAIM", "S14", attrs={"factuality": "asserted"}),
        _span(t, "Nordhaven Shipping Union", "ORG", "S15"),
        _span(t, "denied", "CUE", "S16"),
        _span(t, "It was reported", "CUE", "S17"),
        _span(t, "Ostmark", "GPE", "S18"),
        {"op": "relation.create", "id": "R1", "type": "member_of", "head": "S3", "tail": "S2"},
        {"op": "attribution.create", "id": "A1", "source": "S1", "cue": "S4", "content": ["S6"], "attrs": {"quote": "indirect"}},
        {"op": "attribution.create", "id": "A2", "source": "S12", "cue": "S13", "content": ["S11", "S14"], "attrs": {"quote": "direct"}},
        {"op": "attribution.create", "id": "A3", "source": "S9", "cue": "S8", "content": ["S10"], "attrs": {"quote": "indirect"}},
    ]
    annotation_service.apply_ops(store, user, layer.id, layer.version, "seed-1", ops)
    store.commit()


def test_screenshot_of_nested_spans_and_attribution(page: Any, live: Any, store: Session, seed: Any, tmp_path: Path) -> None:
    s = seed(
        ARTICLE,
        titles=["Harbour talks resume in Velden"],
        guidelines="Mark **people**, organisations and places.",
        username="ana",
        project_name="harbour-news",
    )
    seed_article(store, s.username, s.document_ids[0])
    open_first(page, live, s)
    assert page.locator("#wb-count-spans").inner_text() == "18"
    assert page.locator("#wb-count-attributions").inner_text() == "3"
    # Select the second claim's first piece from the panel: its attribution is drawn.
    page.locator("#wb-tabs [data-tab=attributions]").click()
    page.locator("#wb-list .wb-attr-row").nth(2).click()
    page.wait_for_timeout(150)
    assert page.locator("#wb-links path.wb-link").count() >= 3
    chips = page.locator(".wb-chip")
    assert chips.count() >= 18
    shot = DOCS_SCREENSHOT if os.environ.get("WB_UPDATE_SCREENSHOTS") == "1" else tmp_path / "annotate.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.mouse.move(5, 5)  # no hover effects in the picture
    page.screenshot(path=str(shot), animations="disabled")
    assert shot.stat().st_size > 20_000
