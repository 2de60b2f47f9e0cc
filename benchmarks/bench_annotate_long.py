"""Labelling anywhere, scrolling and jumping in a long article, in headless Chromium.

The same 100,000-character article as ``bench_annotate_page.py`` (3,000
spans, 300 relations, 100 attributions), served from a fresh SQLite instance
and opened in Debian's Chromium. A ``PerformanceObserver`` records every long
task (over 50 ms) with its start time, so each one is charged to the phase it
happened in:

- **label start / middle / end**: jump the text to a word at 2 %, 50 % and
  97 % of the article, select it, press the label key (a real key press)
  and wait until the status line says *Saved*; twice at each place. Also
  records the time from the keydown event to the acknowledged save, and how
  many rows the side panel's list holds;
- **scroll**: from the top to the bottom in 20 steps, two frames and 50 ms
  apart, noting the scroll height at every step;
- **jump to the end** (first, right after opening, while most of the article
  has never been on screen): from the top, ``scrollTop = scrollHeight`` once,
  then how many more jumps it takes to really be at the end;
- **jump to a span from the panel**: scroll the side panel's list to its
  end and click its last row (a span near the end of the article): is the
  span on screen after that one move?
- **jump to a search hit**: ``window.find`` (the browser's find in page) selects
  the last occurrence of a phrase, and its line is scrolled to the middle of
  the screen once, as the find bar does: is the hit on screen?

Each run opens the page afresh; the figures are the median and the maximum
over the runs. ``--throttle 4`` slows the CPU four times
(``Emulation.setCPUThrottlingRate``).

Run:

    .venv/bin/python benchmarks/bench_annotate_long.py [--throttle 4] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_annotate_page import logged_in_page  # noqa: E402
from bench_annotate_page import served_article  # noqa: E402

from workbench.testing import CHROMIUM  # noqa: E402

#: Records long tasks [start, duration], the last keydown's time stamp and when the status line last said "Saved".
INIT_SCRIPT = """
window.__tasks = []; window.__keyAt = 0; window.__savedAt = 0;
try { new PerformanceObserver(l => { for (const e of l.getEntries()) window.__tasks.push([e.startTime, e.duration]); }).observe({type: 'longtask', buffered: true}); } catch (e) {}
document.addEventListener('keydown', e => { window.__keyAt = e.timeStamp; }, true);
document.addEventListener('DOMContentLoaded', () => {
  const st = document.querySelector('#wb-status');
  if (st) new MutationObserver(() => { if (st.textContent === 'Saved') window.__savedAt = performance.now(); }).observe(st, {childList: true, characterData: true, subtree: true});
});
"""

#: In-page helpers: wait for frames, settle, jump the text to a code point, pick a word there.
HELPERS = """
window.__b = {
  frames: (n = 2) => new Promise(r => { const f = () => (--n <= 0 ? r() : requestAnimationFrame(f)); requestAnimationFrame(f); }),
  settle: async (ms = 150) => { await window.__b.frames(2); await new Promise(r => setTimeout(r, ms)); await window.__b.frames(2); },
  since: (t0) => window.__tasks.filter(t => t[0] + t[1] >= t0).map(t => Math.round(t[1])),
  wordAt: (frac) => {
    const p = window.wbAnnotate, toks = p.data.document.tokens, text = p.text;
    const taken = new Set(Array.from(p.model.spans.values()).map(s => s.start));
    let i = toks.findIndex(t => t[0] >= frac * text.length);
    for (; i < toks.length; i++) { const t = toks[i]; if (t[1] - t[0] >= 5 && /^[a-z]+$/.test(text.slice(t[0], t[1])) && !taken.has(t[0])) return t; }
    return null;
  },
};
"""

LABEL = """async ([frac, phase]) => {
  const B = window.__b, p = window.wbAnnotate, d = p.docEl;
  const O = await import('/static/js/offsets.js');
  const t = B.wordAt(frac);
  // Bring the word to the middle of the screen (a person scrolls there first), then let the page settle.
  for (let k = 0; k < 3; k++) {
    const rc = O.rangeForCp(d, t[0], t[1]).getBoundingClientRect(), box = d.getBoundingClientRect();
    if (rc.top > box.top + 40 && rc.bottom < box.bottom - 40) break;
    d.scrollTop += rc.top - box.top - box.height / 2;
    await B.settle(100);
  }
  await B.settle(300);
  const sel = getSelection(); sel.removeAllRanges(); sel.addRange(O.rangeForCp(d, t[0], t[1]));
  d.focus({preventScroll: true});
  window.__savedAt = 0; window.__phase = performance.now(); performance.mark('bench:phase');
  return t;
}"""

AFTER_LABEL = """async () => {
  const B = window.__b, p = window.wbAnnotate;
  for (let i = 0; i < 200 && !(p.saver.unsaved === 0 && window.__savedAt > window.__keyAt); i++) await new Promise(r => setTimeout(r, 10));
  await B.settle(200);
  performance.mark('bench:end');
  return {tasks: B.since(window.__phase), ack: window.__savedAt - window.__keyAt,
          rows: document.querySelectorAll('#wb-list li.wb-row').length, spans: p.model.spans.size};
}"""

SCROLL = """async () => {
  const B = window.__b, d = window.wbAnnotate.docEl;
  d.scrollTop = 0; await B.settle(400);
  const t0 = performance.now(), heights = [d.scrollHeight]; performance.mark('bench:phase');
  for (let i = 1; i <= 20; i++) {
    d.scrollTop = (d.scrollHeight - d.clientHeight) * i / 20;
    await B.frames(2); await new Promise(r => setTimeout(r, 50));
    heights.push(d.scrollHeight);
  }
  await B.settle(200);
  heights.push(d.scrollHeight);
  performance.mark('bench:end');
  return {tasks: B.since(t0), heights, atEnd: d.scrollHeight - d.clientHeight - d.scrollTop};
}"""

JUMP_END = """async () => {
  const B = window.__b, d = window.wbAnnotate.docEl;
  d.scrollTop = 0; await B.settle(400);
  const t0 = performance.now(), before = d.scrollHeight; performance.mark('bench:phase');
  let jumps = 0;
  for (; jumps < 6; jumps++) {
    if (jumps && d.scrollHeight - d.clientHeight - d.scrollTop <= 2) break;
    d.scrollTop = d.scrollHeight;
    await B.settle(150);
  }
  performance.mark('bench:end');
  return {tasks: B.since(t0), jumps, heightBefore: before, heightAfter: d.scrollHeight};
}"""

PANEL_PREPARE = """async () => {
  const B = window.__b, d = window.wbAnnotate.docEl, list = document.querySelector('#wb-list');
  document.querySelector('#wb-tabs [data-tab=spans]').click();
  window.wbAnnotate.selectSpan(null);
  d.scrollTop = 0; await B.settle(300);
  for (let k = 0; k < 8; k++) { list.scrollTop = list.scrollHeight; await B.settle(150); }
  const rows = document.querySelectorAll('#wb-list li.wb-row');
  rows[rows.length - 1].id = 'bench-last-row';
  window.__phase = performance.now(); performance.mark('bench:phase');
  return rows.length;
}"""

PANEL_CHECK = """async () => {
  const B = window.__b, p = window.wbAnnotate, d = p.docEl;
  await B.settle(600);
  const O = await import('/static/js/offsets.js');
  const s = p.model.spans.get(p.selectedId);
  const rc = O.rangeForCp(d, s.start, s.end).getBoundingClientRect(), box = d.getBoundingClientRect();
  performance.mark('bench:end');
  return {tasks: B.since(window.__phase), onScreen: rc.top >= box.top && rc.bottom <= box.bottom, at: s.start / p.text.length};
}"""

FIND = """async () => {
  const B = window.__b, p = window.wbAnnotate, d = p.docEl;
  p.selectSpan(null); getSelection().removeAllRanges();
  d.scrollTop = 0; await B.settle(300);
  const needle = p.text.slice(p.text.length - 60, p.text.length - 30);
  const found = window.find(needle, true, true, false); // the search itself lays the whole article out: not the page's work
  await B.frames(2);
  const t0 = performance.now(); performance.mark('bench:phase');
  // window.find selects the hit but leaves the scrolling to the caller: bring it to the middle, as the find bar does.
  const sel = getSelection();
  if (sel.rangeCount) sel.getRangeAt(0).startContainer.parentElement.scrollIntoView({block: 'center'});
  await B.settle(300);
  const rc = sel.rangeCount ? sel.getRangeAt(0).getBoundingClientRect() : null, box = d.getBoundingClientRect();
  performance.mark('bench:end');
  return {tasks: B.since(t0), found, onScreen: !!rc && rc.top >= box.top && rc.bottom <= box.bottom};
}"""

PLACES = (("start", 0.02), ("middle", 0.5), ("end", 0.97))


def one_run(browser: Any, base: str, project_id: int, doc_id: int, throttle: float, breakdown: bool = False) -> dict[str, Any]:
    """Open the page once and go through every phase; with ``breakdown``, also what each long labelling task spent its time on."""
    ctx, page = logged_in_page(browser, base, INIT_SCRIPT + HELPERS, throttle)
    try:
        page.goto(f"{base}/projects/{project_id}/documents/{doc_id}/annotate")
        page.wait_for_selector("#annotate[data-ready='1']", timeout=120_000)
        out: dict[str, Any] = {"open_ms": page.evaluate("() => performance.getEntriesByName('wb:paint')[0].startTime")}
        categories = ["toplevel", "blink.user_timing"] + (["devtools.timeline", "disabled-by-default-devtools.timeline"] if breakdown else [])
        browser.start_tracing(page=page, categories=categories)
        out["height_at_open"] = page.evaluate("async () => { await window.__b.settle(300); return window.wbAnnotate.docEl.scrollHeight; }")
        out["jump_end"] = page.evaluate(JUMP_END)  # first, while most of the article has never been on screen
        for name, frac in PLACES:
            for k in range(2):
                page.evaluate(LABEL, [frac + k * 0.004, name])
                page.keyboard.press("l")
                out[f"label_{name}_{k + 1}"] = page.evaluate(AFTER_LABEL)
        out["scroll"] = page.evaluate(SCROLL)
        out["panel_rows_at_end"] = page.evaluate(PANEL_PREPARE)
        page.click("#bench-last-row")
        out["jump_panel"] = page.evaluate(PANEL_CHECK)
        out["jump_find"] = page.evaluate(FIND)
        order = ["jump_end", *[f"label_{name}_{k + 1}" for name, _f in PLACES for k in range(2)], "scroll", "jump_panel", "jump_find"]
        trace = browser.stop_tracing()
        for key, cpu in zip(order, cpu_per_phase(trace)):
            out[key]["cpu"] = cpu
        if breakdown:
            for key, parts in zip(order, breakdown_per_phase(trace)):
                out[key]["breakdown"] = parts
        return out
    finally:
        ctx.close()


def main_thread(trace: bytes, mark_prefix: str = "bench:") -> tuple[list[tuple[float, str]], list[tuple[float, float, float]]]:
    """The page's user-timing marks whose names start with ``mark_prefix`` [(ts, name)], in order, and its main
    thread's tasks [(ts, dur, tdur)], outermost only; times in microseconds from a Chromium trace
    (categories ``toplevel`` and ``blink.user_timing``).

    A task's ``tdur`` is its thread (CPU) time: on a shared machine its wall time also counts the waits for a core.
    """
    events = json.loads(trace)["traceEvents"]
    marks = sorted((e["ts"], e["name"], e["pid"], e["tid"]) for e in events if str(e.get("name", "")).startswith(mark_prefix) and "blink.user_timing" in e.get("cat", ""))
    if not marks:
        return [], []
    pid, tid = marks[0][2], marks[0][3]
    raw = sorted(
        (e["ts"], e.get("dur", 0), e.get("tdur", 0))
        for e in events
        if e.get("ph") == "X" and e.get("pid") == pid and e.get("tid") == tid and e.get("name") in ("ThreadControllerImpl::RunTask", "RunTask")
    )
    tasks: list[tuple[float, float, float]] = []
    for t in raw:
        if tasks and t[0] < tasks[-1][0] + tasks[-1][1]:
            continue  # nested in the task before it
        tasks.append(t)
    return [(ts, name) for ts, name, _p, _t in marks], tasks


def cpu_between(tasks: list[tuple[float, float, float]], start: float, end: float, over_ms: float = 16) -> list[float]:
    """CPU time (ms) of each task that overlaps [start, end] (trace microseconds) and took more than ``over_ms`` of it."""
    return [round(tdur / 1000, 1) for ts, dur, tdur in tasks if ts + dur >= start and ts <= end and tdur > over_ms * 1000]


def cpu_per_phase(trace: bytes) -> list[list[float]]:
    """CPU time (ms) of each main-thread task between each 'bench:phase' mark and the next 'bench:end' mark."""
    marks, tasks = main_thread(trace)
    out, start = [], None
    for ts, name in marks:
        if name == "bench:phase":
            start = ts
        elif name == "bench:end" and start is not None:
            out.append(cpu_between(tasks, start, ts))
            start = None
    return out


#: Trace events whose own time a breakdown reports (``devtools.timeline``); the rest of a task is "other".
BREAKDOWN_EVENTS = {
    "EventDispatch": "event", "FireAnimationFrame": "animation frame", "TimerFire": "timer", "FunctionCall": "script",
    "EvaluateScript": "script", "v8.callFunction": "script", "RunMicrotasks": "microtasks", "UpdateLayoutTree": "style",
    "Layout": "layout", "PrePaint": "pre-paint", "Paint": "paint", "Layerize": "layerize", "UpdateLayer": "layer",
    "Commit": "commit", "HitTest": "hit test", "MinorGC": "gc", "MajorGC": "gc", "BlinkGC.AtomicPhase": "gc",
    "ScheduleStyleRecalculation": "style", "IntersectionObserverController::computeIntersections": "intersections",
}


def _caller(e: dict[str, Any]) -> str:
    """A short name for what a trace event ran: the event type dispatched, "frame", "timer", or a script file."""
    data = e.get("args", {}).get("data", {})
    if e["name"] == "EventDispatch":
        return str(data.get("type", ""))
    if e["name"] == "FireAnimationFrame":
        return "frame:"
    if e["name"] == "TimerFire":
        return "timer:"
    return str(data.get("url", "")).rsplit("/", 1)[-1]


def own_times(inner: list[tuple[float, float, float, str]], ts: float, dur: float) -> dict[str, float]:
    """The CPU time (µs) of each kind of event ``inner`` [(ts, dur, tdur, kind)], sorted by start, in the task
    [ts, ts + dur]: each event's own time, the events nested in it subtracted."""
    own: dict[str, float] = {}
    stack: list[tuple[float, str]] = []  # (end, kind)
    for its, idur, itdur, kind in inner:
        if its < ts or its > ts + dur:
            continue
        while stack and its >= stack[-1][0]:
            stack.pop()
        if stack:
            own[stack[-1][1]] = own.get(stack[-1][1], 0) - itdur
        own[kind] = own.get(kind, 0) + itdur
        stack.append((its + idur, kind))
    return own


def breakdown_per_phase(trace: bytes, over_ms: float = 16) -> list[list[dict[str, Any]]]:
    """For each phase, each main-thread task over ``over_ms`` of CPU: its CPU time split by what ran in it (own
    time of each kind of trace event, nested events subtracted), in ms, and under "ran" what it ran (the events
    dispatched, "frame:" and "timer:", and the script files whose functions were called, in order)."""
    events = json.loads(trace)["traceEvents"]
    marks, tasks = main_thread(trace)
    if not marks:
        return []
    pid = next(e["pid"] for e in events if str(e.get("name", "")).startswith("bench:"))
    tid = next(e["tid"] for e in events if str(e.get("name", "")).startswith("bench:"))
    inner = sorted(
        (e["ts"], e.get("dur", 0), e.get("tdur", e.get("dur", 0)), BREAKDOWN_EVENTS[e["name"]])
        for e in events
        if e.get("ph") == "X" and e.get("pid") == pid and e.get("tid") == tid and e.get("name") in BREAKDOWN_EVENTS
    )
    # What started the task's work: the events dispatched in it and the scripts whose functions ran
    # (a frame shows as "frame" with its requestAnimationFrame callbacks' files, e.g. "frame: render.js").
    callers = sorted(
        (e["ts"], _caller(e))
        for e in events
        if e.get("ph") == "X" and e.get("pid") == pid and e.get("tid") == tid and e.get("name") in ("EventDispatch", "FireAnimationFrame", "FunctionCall", "TimerFire")
    )

    def split(ts: float, dur: float, tdur: float) -> dict[str, float]:
        own = own_times(inner, ts, dur)
        parts: dict[str, Any] = {k: round(v / 1000, 1) for k, v in sorted(own.items(), key=lambda kv: -kv[1]) if v > 500}
        parts["total"] = round(tdur / 1000, 1)
        ran: list[str] = []
        for its, what in callers:
            if ts <= its <= ts + dur and what and what not in ran:
                ran.append(what)
        parts["ran"] = " ".join(ran) or "-"
        return parts

    out, start = [], None
    for ts, name in marks:
        if name == "bench:phase":
            start = ts
        elif name == "bench:end" and start is not None:
            out.append([split(t, d, td) for t, d, td in tasks if t + d >= start and t <= ts and td > over_ms * 1000])
            start = None
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and max per phase over the runs."""

    def stats(values: list[float]) -> dict[str, float]:
        return {"median": round(statistics.median(values), 1), "max": round(max(values), 1)} if values else {"median": 0, "max": 0}

    phases: dict[str, Any] = {}
    for name, _frac in PLACES:
        keys = [k for k in runs[0] if k.startswith(f"label_{name}_")]
        items = [r[k] for r in runs for k in keys]
        phases[f"label {name}"] = {
            "longest_task_ms": stats([max(i["tasks"], default=0) for i in items]),
            "longest_task_cpu_ms": stats([max(i.get("cpu", []), default=0) for i in items]),
            "long_tasks": sum(len(i["tasks"]) for i in items),
            "ack_ms": stats([i["ack"] for i in items]),
            "panel_rows": max(i["rows"] for i in items),
        }
    for key, label in (("scroll", "scroll top to bottom"), ("jump_end", "jump to the end"), ("jump_panel", "jump to a span from the panel"), ("jump_find", "jump to a find-in-page hit")):
        items = [r[key] for r in runs]
        phases[label] = {
            "longest_task_ms": stats([max(i["tasks"], default=0) for i in items]),
            "longest_task_cpu_ms": stats([max(i.get("cpu", []), default=0) for i in items]),
            "long_tasks": sum(len(i["tasks"]) for i in items),
        }
    heights = [h for r in runs for h in r["scroll"]["heights"]]
    # Labelling legitimately makes a line taller (a new lane): compare within phases that change nothing.
    scroll_change = max(max(abs(h - r["scroll"]["heights"][0]) for h in r["scroll"]["heights"]) for r in runs)
    jump_change = max(abs(r["jump_end"]["heightAfter"] - r["height_at_open"]) for r in runs)
    return {
        "runs": len(runs),
        "open_ms": stats([r["open_ms"] for r in runs]),
        "phases": phases,
        "scroll_height": {
            "at_open": [r["height_at_open"] for r in runs],
            "min_while_scrolling": min(heights),
            "max_while_scrolling": max(heights),
            "largest_change_while_scrolling": scroll_change,
            "change_from_open_to_after_the_jump_to_the_end": jump_change,
        },
        "jumps_to_reach_the_end": [r["jump_end"]["jumps"] for r in runs],
        "panel_jump_lands_on_screen": [r["jump_panel"]["onScreen"] for r in runs],
        "find_hit_on_screen": [r["jump_find"]["onScreen"] for r in runs],
        "panel_rows_after_scrolling_the_list_to_its_end": [r["panel_rows_at_end"] for r in runs],
    }


def measure(throttle: float, n_runs: int, breakdown: bool = False) -> dict[str, Any]:
    """Seed, serve, and go through the phases ``n_runs`` times."""
    with served_article() as (base, browser, project_id, doc_id, n_spans):
        runs = [one_run(browser, base, project_id, doc_id, throttle, breakdown) for _ in range(n_runs)]
    result = summarise(runs)
    result.update({"document_chars": 100_000, "spans": n_spans, "cpu_throttle": throttle, "load_average": os.getloadavg()})
    result["raw"] = runs
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--throttle", type=float, default=1.0, help="CPU slowdown factor (4 = a slow laptop)")
    parser.add_argument("--runs", type=int, default=3, help="page loads (each goes through every phase)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--breakdown", action="store_true", help="also print what each labelling's long tasks spent their CPU time on")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"skipped: {CHROMIUM} is not installed")
        return 0
    result = measure(args.throttle, args.runs, args.breakdown)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    load = ", ".join(f"{x:.1f}" for x in result["load_average"])
    print(f"long article, {result['document_chars']:,} characters, {result['spans']:,} spans, CPU throttle x{result['cpu_throttle']:g}, {result['runs']} runs, load average {load}")
    print(f"  open (first paint)  median {result['open_ms']['median']} ms, max {result['open_ms']['max']} ms")
    for name, ph in result["phases"].items():
        lt, cpu = ph["longest_task_ms"], ph["longest_task_cpu_ms"]
        extra = ""
        if "ack_ms" in ph:
            extra = f"; key press -> saved median {ph['ack_ms']['median']} ms, max {ph['ack_ms']['max']} ms; panel rows {ph['panel_rows']}"
        print(f"  {name:30s} longest task median {lt['median']:6.1f} ms, max {lt['max']:6.1f} ms ({ph['long_tasks']} long tasks);"
              f" its CPU time median {cpu['median']:5.1f}, max {cpu['max']:5.1f} ms{extra}")
    sh = result["scroll_height"]
    print(f"  scroll height at open {sh['at_open']}, {sh['min_while_scrolling']}-{sh['max_while_scrolling']} while scrolling;"
          f" largest change while scrolling {sh['largest_change_while_scrolling']} px, open -> after the jump to the end {sh['change_from_open_to_after_the_jump_to_the_end']} px")
    print(f"  jumps to reach the end {result['jumps_to_reach_the_end']}; panel jump on screen {result['panel_jump_lands_on_screen']};"
          f" find hit on screen {result['find_hit_on_screen']}; panel rows after scrolling the list {result['panel_rows_after_scrolling_the_list_to_its_end']}")
    if args.breakdown:
        print("  labelling tasks over 16 ms of CPU, each split by what ran in it (ms):")
        for i, run in enumerate(result["raw"]):
            for key, item in run.items():
                if key.startswith("label_") and item.get("breakdown"):
                    for parts in item["breakdown"]:
                        print(f"    run {i + 1} {key:16s} [{parts.get('ran', '')}] " + ", ".join(f"{k} {v}" for k, v in parts.items() if k != "ran"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
