"""What the annotate page draws over the text, measured: nothing jumps, crosses the text or overlaps.

- Marking the first span of a paragraph does not move its lines (room for
  one lane is kept on every row).
- Links between spans on different rows never cross a row of text: the
  selected item's links go round through the left margin, the others become
  a stub at each end.
- Label chips of spans starting at one place, or crowded at the end of a
  row, never overlap each other or the "+n" badge, and their text fits.

Geometry comes from the browser's own boxes (getBoundingClientRect,
Range.getClientRects, SVGPathElement.getPointAtLength).
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import login
from conftest import open_annotate
from conftest import open_first
from conftest import select_cp
from conftest import wait_saved
from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.models import Document
from workbench.models import User
from workbench.services import annotation as annotation_service

pytestmark = pytest.mark.browser

PARAGRAPHS = [
    "Harbour officials in Marlow said on Tuesday that the night ferry to Kestrel Island would run again from the first "
    "week of spring, after engineers finished repairs to the loading ramp and the pier lights.",
    "Residents of the island had waited since November for the crossing, and shop owners said the winter without "
    "visitors had cost them most of their takings, while the council promised a review of the timetable.",
    "A spokeswoman for the operator, Grey Tern Lines, said two crews would share the late sailings and that tickets "
    "bought for cancelled trips would be honoured until the end of the year.",
]

#: All rows of text (one client rect per row of each block), and helpers to test points against them.
ROWS_JS = """() => {
  const rows = [];
  for (const b of document.querySelectorAll('#doc .wb-block')) {
    if (!b.firstChild) continue;
    const r = document.createRange(); r.selectNodeContents(b);
    for (const rc of r.getClientRects()) if (rc.width > 1) rows.push([rc.left, rc.top, rc.right, rc.bottom]);
  }
  return rows;
}"""

#: Points every 2px along every link drawn, in client coordinates, per path.
PATH_POINTS_JS = """(sel) => Array.from(document.querySelectorAll(sel)).map(p => {
  const m = p.getScreenCTM(), n = p.getTotalLength(), pts = [];
  for (let s = 0; s <= n; s += 2) { const q = p.getPointAtLength(s); pts.push([m.a * q.x + m.c * q.y + m.e, m.b * q.x + m.d * q.y + m.f]); }
  const q = p.getPointAtLength(n); pts.push([m.a * q.x + m.c * q.y + m.e, m.b * q.x + m.d * q.y + m.f]);
  return {label: p.nextElementSibling ? p.nextElementSibling.textContent : '', pts};
})"""


def _geometry(page: Any) -> dict[str, Any]:
    return page.evaluate(
        """() => ({
            blocks: Array.from(document.querySelectorAll('#doc .wb-block')).map(b => { const r = b.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }),
            scroll: document.querySelector('#doc').scrollTop,
        })"""
    )


def _word_box(page: Any, start: int, end: int) -> list[float]:
    return page.evaluate(
        """async ([s, e]) => { const O = await import('/static/js/offsets.js');
            const r = O.rangeForCp(document.querySelector('#doc'), s, e).getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }""",
        [start, end],
    )


def test_marking_the_first_span_of_a_paragraph_moves_nothing(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "\n\n".join(PARAGRAPHS)
    s = seed(text)
    open_first(page, live, s)
    # A word on the second row of the middle paragraph (nothing marked anywhere yet).
    start = text.index("visitors")
    end = start + len("visitors")
    word = _word_box(page, start, end)
    before = _geometry(page)
    assert word[1] > before["blocks"][2][1] + 10, "the word is on a later row of its paragraph (block 2; blocks 1 and 3 are the blank lines)"
    select_cp(page, start, end)
    page.keyboard.press("l")
    wait_saved(page)
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-chip').length === 1")
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    after = _geometry(page)
    assert after["scroll"] == before["scroll"]
    for b0, b1 in zip(before["blocks"], after["blocks"], strict=True):
        assert all(abs(x - y) < 0.5 for x, y in zip(b0, b1, strict=True)), (b0, b1)
    moved = _word_box(page, start, end)
    assert all(abs(x - y) < 0.5 for x, y in zip(word, moved, strict=True)), (word, moved)
    # The new span is drawn: its bar and chip sit under the word, in the room that was kept.
    chip = page.locator("#doc .wb-chip").bounding_box()
    assert chip is not None and chip["y"] >= word[1] + word[3] and abs(chip["x"] - word[0]) < 2


def _seed_ops(store: Session, username: str, document_id: int, ops: list[dict[str, Any]]) -> None:
    user = store.scalars(select(User).where(User.username == username)).one()
    layer = annotation_service.open_annotator_layer(store, user, store.get(Document, document_id))
    store.commit()
    annotation_service.apply_ops(store, user, layer.id, layer.version, "seed-drawing", ops)
    store.commit()


def _span(text: str, needle: str, label: str, sid: str) -> dict[str, Any]:
    start = text.index(needle)
    return {"op": "span.create", "id": sid, "label": label, "start": start, "end": start + len(needle), "attrs": {}}


def _crossings(page: Any, selector: str) -> tuple[list[dict[str, Any]], list[tuple[str, list[float]]]]:
    """The paths drawn under ``selector`` and every sampled point inside a row of text (1px inside its edges)."""
    rows = page.evaluate(ROWS_JS)
    paths = page.evaluate(PATH_POINTS_JS, selector)
    inside = [(p["label"], pt) for p in paths for pt in p["pts"] if any(r[0] + 1 < pt[0] < r[2] - 1 and r[1] + 1 < pt[1] < r[3] - 1 for r in rows)]
    return paths, inside


def test_links_between_rows_never_cross_the_text(page: Any, live: Any, store: Session, seed: Any) -> None:
    text = "\n\n".join(PARAGRAPHS)
    s = seed(text)
    doc = s.document_ids[0]
    ops = [
        _span(text, "Marlow", "GPE", "S1"),
        _span(text, "Kestrel Island", "LOC", "S2"),  # same paragraph, a later row
        _span(text, "Grey Tern Lines", "ORG", "S3"),  # the last paragraph
        _span(text, "Harbour officials", "ORG", "S4"),
        {"op": "relation.create", "id": "R1", "type": "located_in", "head": "S3", "tail": "S1"},
        {"op": "relation.create", "id": "R2", "type": "located_in", "head": "S4", "tail": "S1"},  # one row: an arc
    ]
    _seed_ops(store, s.username, doc, ops)
    login(page, live, s.username)
    open_annotate(page, live, s.project_id, doc)
    page.wait_for_function("() => document.querySelectorAll('#wb-links path.wb-link').length >= 3")
    # Nothing selected: the muted link between paragraphs is a stub at each end, the one-row link an arc.
    paths, inside = _crossings(page, "#wb-links path.wb-link")
    assert sorted(p["label"] for p in paths) == sorted(["located_in", "located_in ↑", "located_in ↓"])
    assert inside == [], inside[:5]

    # Select Grey Tern Lines: its link to Marlow, two paragraphs up, goes round through the left margin.
    page.evaluate("() => window.wbAnnotate.selectSpan('S3', {reveal: false})")
    page.wait_for_function("() => document.querySelectorAll('#wb-links .wb-links-sel path.wb-link').length === 1")
    paths, inside = _crossings(page, "#wb-links path.wb-link")
    assert inside == [], inside[:5]
    routed = page.evaluate(PATH_POINTS_JS, "#wb-links .wb-links-sel path.wb-link")[0]["pts"]
    head = _word_box(page, ops[2]["start"], ops[2]["end"])
    tail = _word_box(page, ops[0]["start"], ops[0]["end"])
    # It joins the two spans (from the top of one to the top of the other) ...
    assert head[0] <= routed[0][0] <= head[0] + head[2] and abs(routed[0][1] - head[1]) < 2
    assert tail[0] <= routed[-1][0] <= tail[0] + tail[2] and abs(routed[-1][1] - tail[1]) < 2
    # ... and spans the rows in between from the margin, left of every row of text.
    left = min(r[0] for r in page.evaluate(ROWS_JS))
    assert min(x for x, _y in routed) < left - 2
    assert max(y for _x, y in routed) - min(y for _x, y in routed) > 2 * head[3]


def test_stacked_and_crowded_chips_never_overlap(page: Any, live: Any, seed: Any) -> None:
    text = "\n\n".join(PARAGRAPHS)
    s = seed(text)
    open_first(page, live, s)
    # The last three words of the first paragraph's first row and its first four words, from the layout.
    words = page.evaluate(
        """() => {
            const p = window.wbAnnotate, toks = p.data.document.tokens, O = p.view;
            const first = [];
            for (const t of toks) {
                if (!/^[A-Za-z]+$/.test(p.text.slice(t[0], t[1]))) continue;
                const r = document.createRange(), tn = O.blockEls[0].firstChild;
                r.setStart(tn, t[0]); r.setEnd(tn, t[1]);
                const rc = r.getClientRects()[0];
                if (!first.length || Math.abs(rc.top - first[0].top) < 2) first.push({t, top: rc.top}); else break;
            }
            return first.map(w => w.t);
        }"""
    )
    assert len(words) >= 8, words
    labels = ["PERSON", "ORG", "GPE", "LOC", "NORP", "DATE", "EVENT"]
    end_of_para = len(PARAGRAPHS[0])
    spans = []
    last, second, third = words[-1], words[-2], words[-3]
    # Seven spans starting on the row's last word, nested (each one word longer): more than the five lanes drawn.
    ends = [last[1], *[t[1] for t in page.evaluate("() => window.wbAnnotate.data.document.tokens") if last[1] < t[1] <= end_of_para][:6]]
    spans += [(last[0], ends[k], labels[k]) for k in range(7)]
    spans += [(second[0], second[1], "CLAIM"), (second[0], last[1], "WEAPON")]
    spans += [(third[0], third[1], "NORP"), (third[0], second[1], "EVENT")]
    spans += [(w[0], w[1], "CLAIM") for w in words[:4]]
    # One command each: a span the schema's overlap rules refuse is left out, the others are made.
    made = page.evaluate(
        """(spans) => { const p = window.wbAnnotate;
            for (const [s, e, l] of spans) p.run('Test span', [{op: 'span.create', id: crypto.randomUUID(), label: l, start: s, end: e, attrs: l === 'CLAIM' ? {factuality: 'asserted'} : {}}]);
            return p.model.spans.size; }""",
        spans,
    )
    assert made >= 12, made  # the seven nested at the row's end among them: more than the five lanes drawn
    wait_saved(page)
    page.evaluate("() => new Promise(r => setTimeout(() => requestAnimationFrame(() => requestAnimationFrame(r)), 100))")
    got = page.evaluate(
        """() => {
            const lanes = window.wbAnnotate.view.laneEls[0], line = window.wbAnnotate.view.lineEls[0].getBoundingClientRect();
            const boxes = Array.from(lanes.querySelectorAll('.wb-chip, .wb-more')).map(e => {
                const r = e.getBoundingClientRect();
                return {text: e.textContent, badge: e.classList.contains('wb-more'), box: [r.left, r.top, r.right, r.bottom], fits: e.scrollWidth <= e.clientWidth + 0.5};
            });
            return {boxes, line: [line.left, line.right]};
        }"""
    )
    boxes = got["boxes"]
    shown = [b for b in boxes if not b["badge"]]
    badges = [b for b in boxes if b["badge"]]
    assert badges, "the spans past the fifth lane are counted in a badge"
    # Every span of the paragraph's first row has its chip, or is counted in its row's badge.
    assert len(shown) + sum(int(b["text"].lstrip("+")) for b in badges) == made
    for b in boxes:
        assert b["fits"], b
        assert got["line"][0] - 0.5 <= b["box"][0] and b["box"][2] <= got["line"][1] + 0.5, b
    for i, p in enumerate(boxes):
        for q in boxes[i + 1 :]:
            a, c = p["box"], q["box"]
            overlap_x = min(a[2], c[2]) - max(a[0], c[0])
            overlap_y = min(a[3], c[3]) - max(a[1], c[1])
            assert overlap_x <= 0.5 or overlap_y <= 0.5, (p, q)


def test_labelling_keeps_the_decorations_already_drawn_and_undo_takes_only_its_own(page: Any, live: Any, store: Session, seed: Any) -> None:
    """A new span adds its own fill, bar and chip to its line; the elements of the spans already there are kept
    (render.js writeLine), and undoing it removes exactly what it added."""
    text = "\n\n".join(PARAGRAPHS)
    s = seed(text)
    doc = s.document_ids[0]
    _seed_ops(store, s.username, doc, [_span(text, "Marlow", "GPE", "S1"), _span(text, "Kestrel Island", "LOC", "S2")])
    login(page, live, s.username)
    open_annotate(page, live, s.project_id, doc)
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-chip').length === 2")
    kept = """() => { const q = (sel) => document.querySelector(sel);
        return {chip: q('#doc .wb-chip[data-span=S1]'), chip2: q('#doc .wb-chip[data-span=S2]'), fill: q('#doc .wb-fill'), bar: q('#doc .wb-bar')}; }"""
    page.evaluate(f"() => {{ window.__kept = ({kept})(); }}")
    counts = "() => ['.wb-fill', '.wb-bar', '.wb-chip'].map(c => document.querySelectorAll('#doc ' + c).length)"
    before = page.evaluate(counts)
    start = text.index("ferry")
    select_cp(page, start, start + len("ferry"))
    page.keyboard.press("l")
    wait_saved(page)
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-chip').length === 3")
    same = f"() => {{ const now = ({kept})(); return Object.keys(now).filter(k => now[k] !== window.__kept[k] || !now[k].isConnected); }}"
    assert page.evaluate(same) == []
    new_chip = page.locator("#doc .wb-chip:not([data-span=S1]):not([data-span=S2])")
    assert new_chip.inner_text() == "LOC" and "is-sel" in (new_chip.get_attribute("class") or "")
    # One word on one row: one fill, one bar and one chip more.
    assert page.evaluate(counts) == [before[0] + 1, before[1] + 1, before[2] + 1]
    page.keyboard.press("Control+z")
    wait_saved(page)
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-chip').length === 2")
    assert page.evaluate(counts) == before
    assert page.evaluate(same) == []


#: Counts Range.getClientRects calls (how render.js measures text) in the frame that follows each keydown.
COUNT_FRAME_MEASURES_JS = """() => {
  window.__frameMeasures = [];
  const orig = Range.prototype.getClientRects;
  let counting = null;
  Range.prototype.getClientRects = function () { if (counting) counting.n++; return orig.call(this); };
  window.addEventListener('keydown', () => {
    // Registered before the page's own handler asks for its frame: runs first in that frame, and the timer after it.
    requestAnimationFrame(() => { counting = {n: 0}; window.__frameMeasures.push(counting); setTimeout(() => { counting = null; }, 0); });
  }, true);
}"""

#: Each drawn line's decorations as drawn ({key: [class, place]}) and as a plan made from fresh measurements.
DRAWN_AND_FRESH_JS = """() => {
  const v = window.wbAnnotate.view, out = [];
  for (const [i, els] of v.decor.entries()) {
    if (!els) continue;
    const drawn = {}; for (const [k, e] of els) drawn[k] = [e.className, e.style.cssText];
    const probe = document.createElement('div');
    v.geom[i] = undefined; // forget the kept rects: measure this line afresh
    const fresh = {}; for (const d of v.planLine(i)) { probe.style.cssText = d.css; fresh[d.key] = [d.cls, probe.style.cssText]; }
    out.push({line: i, drawn, fresh});
  }
  return out;
}"""


def test_a_labelling_is_measured_by_its_keystroke_and_drawn_as_measuring_afresh_would(page: Any, live: Any, store: Session, seed: Any) -> None:
    """The keystroke's own task plans the changed line (render.js planAhead) from the rects kept per line
    (lineRects): the frame after it measures no text, and what it draws is what measuring the line afresh
    gives, for a span that adds a lane to its paragraph (its rows move down) and for one that does not."""
    text = "\n\n".join(PARAGRAPHS)
    s = seed(text)
    doc = s.document_ids[0]
    claim_at = text.index("the night ferry")
    claim = {"op": "span.create", "id": "C1", "label": "CLAIM", "start": claim_at, "end": text.index(" from the first"), "attrs": {"factuality": "asserted"}}
    _seed_ops(store, s.username, doc, [_span(text, "Marlow", "GPE", "S1"), claim])
    login(page, live, s.username)
    open_annotate(page, live, s.project_id, doc)
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-chip').length === 2")
    page.evaluate(COUNT_FRAME_MEASURES_JS)
    # Scrolled a little since the lines were measured: their kept rects are relative to the line, not the viewport.
    page.evaluate("async () => { const d = document.querySelector('#doc'); d.scrollTop = 30; await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); }")
    lanes = "() => window.wbAnnotate.view.lineLanes[0]"
    assert page.evaluate(lanes) == 1
    for word, key, lanes_after in (("ferry", "l", 2), ("Tuesday", "d", 2)):
        start = text.index(word)
        select_cp(page, start, start + len(word))
        page.keyboard.press(key)
        wait_saved(page)
        assert page.evaluate(lanes) == lanes_after
    page.wait_for_function("() => document.querySelectorAll('#doc .wb-chip').length === 4")
    assert [c["n"] for c in page.evaluate("() => window.__frameMeasures")][:2] == [0, 0]
    lines = page.evaluate(DRAWN_AND_FRESH_JS)
    assert lines and sum(len(x["drawn"]) for x in lines) >= 12  # four spans: fills, bars, chips
    for x in lines:
        assert x["drawn"] == x["fresh"], f"line {x['line']}"
