"""Open time and labelling latency of the annotate page in headless Chromium.

Seeds a fresh SQLite instance with one annotator and a 100,000-character
document whose layer holds 3,000 spans (entities nested in claims, cues),
300 relations and 100 attributions; serves the app in a thread (werkzeug,
free port), logs in through the form and opens the annotate page in Debian's
Chromium (Playwright). Reports, from the page's own performance marks:

- ``wb:data``  the JSON (document, schema, layer) has arrived and is parsed,
- ``wb:text``  the text layer is built,
- ``wb:paint`` the first screen of decorations is drawn (with "Show links"
  on, its default: the arcs of every relation and attribution near the viewport),

measured from navigation start, then the time to make a span (label key ->
model, outbox, fills, lanes redrawn; median and max of 30), the slowest
keydown in the Event Timing API, and long tasks while scrolling 20 steps.

Run:

    .venv/bin/python benchmarks/bench_annotate_page.py [--throttle 4] [--json]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchkit import PASSWORD  # noqa: E402
from benchkit import SENTENCES  # noqa: E402
from benchkit import USERNAME  # noqa: E402
from benchkit import add_annotator_and_document  # noqa: E402
from benchkit import bench_app  # noqa: E402

from workbench.db import records_keeper  # noqa: E402
from workbench.domain.offsets import tokens  # noqa: E402
from workbench.services import annotation  # noqa: E402
from workbench.testing import CHROMIUM  # noqa: E402
from workbench.testing import LiveServer  # noqa: E402
from workbench.testing import chromium  # noqa: E402

INIT_SCRIPT = """
window.__slowEvents = []; window.__longTasks = [];
try { new PerformanceObserver(l => { for (const e of l.getEntries()) window.__longTasks.push(e.duration); }).observe({type: 'longtask', buffered: true}); } catch (e) {}
try { new PerformanceObserver(l => { for (const e of l.getEntries()) window.__slowEvents.push([e.name, e.duration]); }).observe({type: 'event', durationThreshold: 16, buffered: true}); } catch (e) {}
"""


def make_text(length: int = 100_000) -> str:
    """About ``length`` characters in paragraphs of five sentences, separated by blank lines."""
    paras: list[str] = []
    total, i = 0, 0
    while total < length:
        para = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(5))
        paras.append(para)
        total += len(para) + 2
        i += 5
    return "\n\n".join(paras)[:length].rsplit(" ", 1)[0] + "."


def make_ops(text: str, n_spans: int = 3000) -> list[dict[str, Any]]:
    """3,000 spans (a claim per sentence, entities on word pairs inside it, a cue), 300 relations, 100 attributions."""
    toks = tokens(text)
    ops: list[dict[str, Any]] = []
    claims: list[str] = []
    entities: list[str] = []
    cues: list[str] = []
    start = 0
    k = 0
    for end_idx in range(len(text)):
        if text[end_idx] != "." or len(ops) >= n_spans:
            continue
        sent = (start, end_idx)
        while sent[0] < sent[1] and text[sent[0]].isspace():
            sent = (sent[0] + 1, sent[1])
        start = end_idx + 1
        if sent[1] - sent[0] < 20:
            continue
        words = [t for t in toks if sent[0] <= t[0] and t[1] <= sent[1] and text[t[0]:t[1]].isalpha()]
        if len(words) < 8:
            continue
        cid = f"C{k}"
        ops.append({"op": "span.create", "id": cid, "label": "CLAIM", "start": words[2][0], "end": sent[1], "attrs": {"factuality": "asserted"}})
        claims.append(cid)
        for j, label in (((0, "ORG"),) if k % 2 else ((3, "PERSON"), (6, "GPE")))[: 1 + (k % 3 == 0)]:
            eid = f"E{k}-{j}"
            ops.append({"op": "span.create", "id": eid, "label": label, "start": words[j][0], "end": words[j + 1][1], "attrs": {}})
            entities.append(eid)
        uid = f"U{k}"
        ops.append({"op": "span.create", "id": uid, "label": "CUE", "start": words[1][0], "end": words[1][1], "attrs": {}})
        cues.append(uid)
        k += 1
    ops = ops[:n_spans]
    made = {op["id"] for op in ops}
    claims = [c for c in claims if c in made]
    ents = [e for e in entities if e in made]
    labels = {op["id"]: op["label"] for op in ops}
    # 300 located_in relations spread over the document, each from an ORG or GPE
    # to the next GPE in reading order (entities are made in reading order).
    pairs = []
    for h, e in enumerate(ents):
        t = next((j for j in range(h + 1, len(ents)) if labels[ents[j]] == "GPE"), None) if labels[e] in ("ORG", "GPE") else None
        if t is not None:
            pairs.append((e, ents[t]))
    rels = []
    for i in range(300):
        head, tail = pairs[i * len(pairs) // 300]
        rels.append({"op": "relation.create", "id": f"R{i}", "type": "located_in", "head": head, "tail": tail})
    atts = []
    for i in range(100):
        c = claims[i * 3]
        n = c[1:]
        source = f"E{n}-0" if f"E{n}-0" in made else None
        atts.append({"op": "attribution.create", "id": f"A{i}", "source": source, "cue": f"U{n}", "content": [c]})
    return ops + rels + atts


def seed(app: Any) -> tuple[int, int, int]:
    """Create the annotator, project, document and its layer; return (project id, document id, span count)."""
    session = app.extensions["workbench.sessionmaker"]()
    text = make_text()
    user, project, doc = add_annotator_and_document(session, text)
    session.commit()
    layer = annotation.open_annotator_layer(session, user, doc)
    session.commit()
    ops = make_ops(text)
    annotation.apply_ops(session, user, layer.id, layer.version, "seed", ops)
    session.commit()
    spans = sum(1 for op in ops if op["op"] == "span.create")
    ids = (project.id, doc.id, spans)
    session.close()
    return ids


@contextmanager
def served_article() -> Iterator[tuple[str, Any, int, int, int]]:
    """Seed a fresh instance, serve it and launch Chromium; yield (base URL, browser, project id, document id, spans)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        project_id, doc_id, n_spans = seed(app)
        try:
            with LiveServer(app) as server, chromium() as browser:
                yield server.url, browser, project_id, doc_id, n_spans
        finally:
            records_keeper(app).stop()  # before its database goes
            app.extensions["workbench.engine"].dispose()


def logged_in_page(browser: Any, base: str, init_script: str, throttle: float) -> tuple[Any, Any]:
    """A new 1280x800 context logged in as the annotator, with ``init_script`` on every page and the CPU slowed down; (context, page)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, device_scale_factor=1)
    page = ctx.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u)
    page.add_init_script(init_script)
    if throttle > 1:
        ctx.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    return ctx, page


def measure(throttle: float) -> dict[str, Any]:
    """Seed, serve, open the page and time it."""
    with served_article() as (base, browser, project_id, doc_id, n_spans):
        _ctx, page = logged_in_page(browser, base, INIT_SCRIPT, throttle)
        runs = []
        for _ in range(3):
            page.goto(f"{base}/projects/{project_id}/documents/{doc_id}/annotate")
            page.wait_for_selector("#annotate[data-ready='1']", timeout=60_000)
            marks = page.evaluate(
                "() => Object.fromEntries(['wb:data','wb:text','wb:paint'].map(n => [n, performance.getEntriesByName(n)[0].startTime]))"
            )
            marks["spans_in_page"] = page.evaluate("() => window.wbAnnotate.model.spans.size")
            marks["arcs"] = page.evaluate("() => document.querySelectorAll('#wb-links path.wb-link').length")
            marks["links_in_layer"] = page.evaluate("() => [window.wbAnnotate.model.relations.size, window.wbAnnotate.model.attributions.size]")
            runs.append(marks)
        # Make 30 spans: select a word programmatically, press a label key, wait two frames.
        times = page.evaluate(
            """async () => {
                const O = await import('/static/js/offsets.js');
                const p = window.wbAnnotate, out = [];
                const toks = p.data.document.tokens.filter(t => t[1] - t[0] >= 4);
                const frame = () => new Promise(r => requestAnimationFrame(() => r()));
                for (let i = 0; i < 30; i++) {
                    const t = toks[40 + i * 7];
                    const sel = getSelection(); sel.removeAllRanges(); sel.addRange(O.rangeForCp(p.docEl, t[0], t[1]));
                    p.docEl.focus({preventScroll: true});
                    const t0 = performance.now();
                    document.querySelector('#doc').dispatchEvent(new KeyboardEvent('keydown', {key: 'l', bubbles: true}));
                    p.view.draw();           // the frame's work, forced now
                    void p.docEl.offsetHeight; // and its layout
                    out.push(performance.now() - t0);
                    await frame(); await frame();
                }
                return out;
            }"""
        )
        # Scroll through the document in 20 steps.
        page.evaluate(
            """async () => {
                const d = document.querySelector('#doc'); window.__longTasks.length = 0;
                const v = window.wbAnnotate.view, orig = v.draw.bind(v); window.__draws = [];
                v.draw = () => { const t0 = performance.now(); const n = v.dirty.size; orig(); window.__draws.push([Math.round(performance.now() - t0), n]); };
                for (let i = 1; i <= 20; i++) { d.scrollTop = d.scrollHeight * i / 21; await new Promise(r => setTimeout(r, 60)); }
            }"""
        )
        scroll_long = page.evaluate("() => window.__longTasks.slice()")
        draws = page.evaluate("() => window.__draws.filter(d => d[1] > 0).map(d => d[0])")
        slow_keys = page.evaluate("() => window.__slowEvents.filter(e => e[0] === 'keydown').map(e => e[1])")
        layout = page.evaluate(
            "() => ({lines: document.querySelectorAll('.wb-line').length, decorated: document.querySelectorAll('.wb-lanes > *').length,"
            " arcs: document.querySelectorAll('#wb-links path.wb-link').length})"
        )
    best = min(runs, key=lambda r: r["wb:paint"])
    return {
        "document_chars": 100_000,
        "spans": n_spans,
        "cpu_throttle": throttle,
        "open_ms": {k: round(best[k], 1) for k in ("wb:data", "wb:text", "wb:paint")},
        "open_paint_ms_all_runs": [round(r["wb:paint"], 1) for r in runs],
        "text_to_paint_ms": round(best["wb:paint"] - best["wb:data"], 1),
        "make_span_ms": {"median": round(statistics.median(times), 2), "max": round(max(times), 2)},
        "slowest_keydown_event_ms": max(slow_keys) if slow_keys else "< 16",
        "scroll_long_tasks_ms": {"count": len(scroll_long), "max": round(max(scroll_long), 1) if scroll_long else 0},
        "scroll_decorate_ms": {"median": statistics.median(draws) if draws else 0, "max": max(draws) if draws else 0},
        "lines": layout["lines"],
        "decorations_drawn": layout["decorated"],
        "relations_attributions": best["links_in_layer"],
        "arcs_first_screen": best["arcs"],
        "arcs_drawn": layout["arcs"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throttle", type=float, default=1.0, help="CPU slowdown factor (4 = a slow laptop)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is not installed")
        return 0
    result = measure(args.throttle)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    o = result["open_ms"]
    print(f"annotate page, {result['document_chars']:,} characters, {result['spans']:,} spans, CPU throttle x{result['cpu_throttle']:g}")
    print(f"  data parsed  {o['wb:data']:8.1f} ms after navigation start")
    print(f"  text built   {o['wb:text']:8.1f} ms")
    print(f"  first paint  {o['wb:paint']:8.1f} ms   (data -> paint {result['text_to_paint_ms']} ms; runs {result['open_paint_ms_all_runs']})")
    rels, atts = result["relations_attributions"]
    print(f"               {result['arcs_first_screen']} arcs drawn on the first screen (Show links on; {rels} relations, {atts} attributions in the layer)")
    m = result["make_span_ms"]
    print(f"  make a span  median {m['median']} ms, max {m['max']} ms (30 spans); slowest keydown event: {result['slowest_keydown_event_ms']} ms")
    s = result["scroll_long_tasks_ms"]
    d = result["scroll_decorate_ms"]
    print(f"  scrolling    {s['count']} long tasks, longest {s['max']} ms; decorating newly visible lines median {d['median']} ms, max {d['max']} ms")
    print(f"               {result['lines']} lines, {result['decorations_drawn']} decorations and {result['arcs_drawn']} arcs (Show links) drawn at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
