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


def predict(store: Session, project_id: int, document_id: int) -> None:
    """Store a model's predictions: PERSON on the first Mira Olsen, ORG on Tallow Mills."""
    project, doc = store.get(Project, project_id), store.get(Document, document_id)
    body = {"spans": [
        {"id": "T1", "start": MIRA[0], "end": MIRA[1], "label": "PERSON"},
        {"id": "T2", "start": TALLOW[0], "end": TALLOW[1], "label": "ORG"},
    ]}
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


#: Names the gazetteer suggests wherever they occur, and quotes with cue words the attribution rules suggest.
BUSY = (
    "Mira Olsen said the ferry will stop in May. Tallow Mills staff told reporters that Velmora would pay for the quay. "
    "The port authority said on Tuesday that Mira Olsen was right about Velmora. "
    "Officials in Velmora said the quay is safe, and Tallow Mills agreed with Mira Olsen on the date.\n"
    "Later the harbour master told the council that the ferry would stop for good, Mira Olsen said."
)

#: One step of a random sequence of the page's own commands (seeded, so a failure replays), then the open set
#: as the page keeps it against the same set recomputed from the whole layer.
RANDOM_STEP = """([seed, steps]) => {
  const p = window.wbAnnotate, s = p.suggestions, m = p.model;
  let x = seed;
  const rnd = (n) => { x = (x * 1103515245 + 12345) % 2147483648; return x % n; };
  const pick = (a) => a[rnd(a.length)];
  const kindOf = (sp) => m.labels.get(sp.label).kind;
  const inAttr = (id) => m.attributionsOf(id).length > 0;
  const oracle = () => {
    const have = new Set(Array.from(m.spans.values(), v => `${v.label}:${v.start}:${v.end}`));
    const att = new Set();
    for (const a of m.attributions.values()) for (const c of a.content) { const v = m.spans.get(c); if (v) att.add(`${v.start}:${v.end}`); }
    return s.items.filter(i => !s.rejected.has(i.key) && (i.kind === "span" ? !have.has(`${i.label}:${i.start}:${i.end}`) : !i.content.some(c => att.has(`${c.start}:${c.end}`)))).map(i => i.key);
  };
  const log = [], bad = [];
  for (let k = 0; k < steps; k++) {
    const r = rnd(100), spans = Array.from(m.spans.values()), spanSugg = s.items.filter(i => i.kind === "span"), attrSugg = s.items.filter(i => i.kind === "attribution");
    let what;
    if (r < 30) { const i = pick(spanSugg); what = `accept ${i.key}`; s.accept([i.key]); }
    else if (r < 40 && attrSugg.length) { const i = pick(attrSugg); what = `accept ${i.key}`; s.accept([i.key]); }
    else if (r < 55 && spans.length) { const v = pick(spans); what = `delete ${v.label}:${v.start}`; p.deleteSpan(v.id); }
    else if (r < 65 && spans.length) {
      const v = pick(spans.filter(sp => kindOf(sp) === "entity" && !inAttr(sp.id)).concat([null]));
      if (v) { const l = pick(["PERSON", "ORG", "GPE", "LOC"]); what = `relabel ${v.label}:${v.start} ${l}`; p.run("relabel", [{ op: "span.update", id: v.id, label: l }]); }
    } else if (r < 72 && spans.length) {
      // Move an entity onto another suggestion's words (or off them).
      const v = pick(spans.filter(sp => kindOf(sp) === "entity" && !inAttr(sp.id)).concat([null])), to = pick(spanSugg);
      if (v) { what = `move ${v.label}:${v.start} to ${to.start}-${to.end}`; p.run("move", [{ op: "span.update", id: v.id, start: to.start, end: to.end }]); }
    } else if (r < 75 && attrSugg.length) {
      // Resize a claim (in an attribution or not) onto the content of a suggested attribution (or off it).
      const v = pick(spans.filter(sp => sp.label === "CLAIM").concat([null])), to = pick(pick(attrSugg).content);
      if (v) { what = `move claim ${v.start} to ${to.start}-${to.end}`; p.run("resize", [{ op: "span.update", id: v.id, start: to.start, end: to.end }]); }
    } else if (r < 78 && m.attributions.size) {
      // Another claim as the content of an attribution.
      const a = pick(Array.from(m.attributions.values())), claims = spans.filter(sp => sp.label === "CLAIM");
      if (claims.length) { const c = pick(claims); what = `content of ${a.id} to ${c.start}`; p.run("content", [{ op: "attribution.update", id: a.id, content: [c.id] }]); }
    } else if (r < 82 && m.attributions.size) { const a = pick(Array.from(m.attributions.values())); what = `delete attribution`; p.run("delete", m.deleteAttributionOps(a.id)); }
    else if (r < 90) { what = "undo"; p.undo(); }
    else if (r < 95) { what = "redo"; p.redo(); }
    else { const open = s.open(); if (open.length) { const i = pick(open); what = `reject ${i.key}`; s.reject(i.key); } }
    log.push(what || "nothing");
    const got = s.open().map(i => i.key), want = oracle();
    if (got.join("|") !== want.join("|")) { bad.push({ step: k, log: log.slice(-5), got, want }); break; }
    if (k % 3 === 2) {
      // What render draws from the kept set: the marks of exactly the open ones, and the list's size.
      s.render();
      const marked = [...new Set(Array.from(s.marks.values()).flat().map(mk => mk.key))].sort();
      const rows = document.querySelectorAll("#wb-sugg-list li.wb-sugg-row");
      if (marked.join("|") !== [...want].sort().join("|")) { bad.push({ step: k, log: log.slice(-5), marked, want }); break; }
      if (want.length && rows[0].getAttribute("aria-setsize") !== String(want.length)) { bad.push({ step: k, rows: rows.length, want: want.length }); break; }
    }
  }
  return { bad, spans: m.spans.size, attributions: m.attributions.size, open: s.open().length, items: s.items.length, log };
}"""


def test_the_open_set_kept_from_the_ops_matches_a_full_recompute(page: Any, live: Any, store: Session, seed: Any) -> None:
    s = seed(BUSY)
    project = store.get(Project, s.project_id)
    suggestion_service.set_gazetteer(store, project, "names.tsv", "Mira Olsen\tPERSON\nTallow Mills\tORG\nVelmora\tGPE\nMay\tDATE\n")
    store.commit()
    open_first(page, live, s)
    ready(page)
    kinds = page.evaluate("() => window.wbAnnotate.suggestions.items.map(i => i.kind)")
    assert kinds.count("span") >= 8 and kinds.count("attribution") >= 2, kinds
    for seed_value in (1, 7, 42):
        got = page.evaluate(RANDOM_STEP, [seed_value, 60])
        assert got["bad"] == [], got
    # The sequences made and unmade spans and attributions (not only refusals), and the layer was reloaded
    # (a reset, as after a conflict): the kept set is read afresh and still matches.
    assert got["spans"] > 0 or "accept" in " ".join(got["log"])
    after_reset = page.evaluate(
        """() => { const p = window.wbAnnotate; p.model.reset(p.model.snapshot()); p.view.resetAll(); return p.suggestions.open().length; }"""
    )
    assert after_reset == got["open"]
    assert page.evaluate(RANDOM_STEP, [99, 30])["bad"] == []
    # Every op was one the server took: no refusal reloaded the page.
    wait_saved(page)
    assert page.evaluate("() => window.wbAnnotate.reloads || 0") == 0
