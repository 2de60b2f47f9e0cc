"""static/js/overlap.js in Chromium against workbench.domain.annotations: same verdicts, same words;
and the annotate page refusing a span that breaks a rule before sending it."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import layer_of
from conftest import open_first
from conftest import select_cp
from conftest import wait_saved
from sqlalchemy.orm import Session

from workbench.domain import annotations as rules
from workbench.domain.schema import news_schema
from workbench.services import annotation as annotation_service

pytestmark = pytest.mark.browser

TEXT = "Aide to Mayor Lena Varro said the Ostby mill will close in May, he said."
ODD = "👩‍👩‍👧 Ольга Ки́ра\r\nsaid\tit " + "x" * 50
CASES = [
    (TEXT, [("a", "PERSON", 8, 24), ("b", "PERSON", 14, 24), ("c", "CLAIM", 30, 62), ("d", "CLAIM", 44, 72), ("e", "PERSON", 10, 20)]),
    (TEXT, [("a", "PERSON", 8, 24), ("b", "PERSON", 14, 24)]),
    (TEXT, [("a", "PERSON", 8, 24), ("b", "ORG", 14, 24)]),
    (TEXT, [("a", "CLAIM", 30, 62), ("b", "CLAIM", 44, 72)]),
    (TEXT, [("a", "CLAIM", 30, 62), ("b", "CLAIM", 30, 44)]),
    (TEXT, [("s", "SOURCE", 0, 29), ("u", "CUE", 25, 29)]),
    (TEXT, [("c", "CLAIM", 8, 40), ("s", "SOURCE", 0, 24)]),
    (TEXT, [("s", "SOURCE", 0, 24), ("p", "PERSON", 14, 24), ("g", "GPE", 20, 30)]),
    (TEXT, [("s", "SOURCE", 30, 44), ("c", "CLAIM", 30, 44)]),
    (ODD, [("a", "PERSON", 6, 17), ("b", "PERSON", 12, 23)]),
    (ODD, [("a", "CUE", 0, 70), ("b", "CUE", 18, 26)]),
]


def python_verdict(text: str, spans: list[tuple[str, str, int, int]], changed: set[str] | None = None) -> str | None:
    try:
        rules.check_overlaps(news_schema(), text, spans, changed=changed)
    except rules.OverlapError as exc:
        return str(exc)
    return None


def test_js_rules_say_what_python_says(page: Any, live: Any) -> None:
    page.goto(f"{live.url}/login")
    schema = news_schema().to_dict()
    # Every span checked, and only the pairs with the last span (as after an edit).
    for text, spans in CASES:
        for changed in (None, [spans[-1][0]]):
            got = page.evaluate(
                """async ([schema, text, spans, changed]) => {
                    const O = await import('/static/js/offsets.js');
                    const R = await import('/static/js/overlap.js');
                    const list = spans.map(([id, label, start, end]) => ({id, label, start, end}));
                    return R.findOverlapProblem(schema, text, O.astralPositions(text), list, changed && new Set(changed));
                }""",
                [schema, text, spans, changed],
            )
            assert got == python_verdict(text, spans, set(changed) if changed else None), (spans, changed)
    assert python_verdict(*CASES[1]) is not None and python_verdict(*CASES[4]) is None


def test_the_page_refuses_an_overlapping_span_before_sending(page: Any, live: Any, store: Session, seed: Any) -> None:
    s = seed(TEXT)
    doc = open_first(page, live, s)
    select_cp(page, 14, 24)  # Lena Varro
    page.keyboard.press("p")
    wait_saved(page)
    select_cp(page, 8, 24)  # Mayor Lena Varro, also PERSON: refused
    page.keyboard.press("p")
    expected = python_verdict(TEXT, [("x", "PERSON", 14, 24), ("y", "PERSON", 8, 24)])
    assert expected
    assert page.locator("#wb-banner").inner_text() == f"Refused: {expected}"
    assert page.evaluate("() => window.wbAnnotate.saver.unsaved") == 0
    assert page.locator("#wb-count-spans").inner_text() == "1"
    # A SOURCE around the PERSON is what the guidelines ask for: allowed.
    select_cp(page, 0, 24)
    page.keyboard.press("s")
    wait_saved(page)
    store.expire_all()
    layer = annotation_service.layer_data(store, layer_of(store, doc), TEXT)
    assert sorted((sp["label"], sp["text"]) for sp in layer["spans"]) == [("PERSON", "Lena Varro"), ("SOURCE", "Aide to Mayor Lena Varro")]
    # The guidelines panel lists what each label allows, in the server's words.
    page.click("#wb-tabs [data-tab=guidelines]")
    rules_text = page.locator(".wb-label-rules").inner_text()
    assert "SOURCE (source)" in rules_text and news_schema().label("SOURCE").rule_text() in rules_text
