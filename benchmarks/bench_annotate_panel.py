"""The side panel's share of a labelling in the long article, at 4x CPU slowdown, from a Chromium trace.

``bench_annotate_long.py --breakdown`` splits every long task of a labelling;
this one picks out the panel's: the task that renders the span list
(``renderPanel``, marked from outside the page), the frame right after it
(which styles, lays out and paints the list's new rows) and the frames of
the next 400 ms (where the rest of a new window of rows is filled in). Ten
places in the article, each labelled twice: first far from the previous
labelling (the list shows a whole new window of rows), then 0.4 % of the
article further on (about a dozen spans on).

Run:

    .venv/bin/python benchmarks/bench_annotate_panel.py [--runs 1] [--throttle 4]
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

from bench_annotate_long import AFTER_LABEL  # noqa: E402
from bench_annotate_long import BREAKDOWN_EVENTS  # noqa: E402
from bench_annotate_long import HELPERS  # noqa: E402
from bench_annotate_long import INIT_SCRIPT  # noqa: E402
from bench_annotate_long import LABEL  # noqa: E402
from bench_annotate_long import main_thread  # noqa: E402
from bench_annotate_long import own_times  # noqa: E402
from bench_annotate_page import logged_in_page  # noqa: E402
from bench_annotate_page import served_article  # noqa: E402

#: Marks each panel render in the trace (the page's own code is left as it is).
MARK_PANEL = """() => {
  const p = window.wbAnnotate, render = p.renderPanel.bind(p);
  p.renderPanel = function () { performance.mark('panel:begin'); return render(); };
}"""
PLACES = (0.02, 0.5, 0.97, 0.3, 0.7, 0.1, 0.85, 0.6, 0.4, 0.2)
PARTS = ("layout", "layerize", "paint", "pre-paint", "style", "script", "commit")


def split(inner: list[tuple[float, float, float, str]], ts: float, dur: float) -> dict[str, float]:
    """A task's CPU time by kind of trace event (own time, nested events subtracted), in ms."""
    own = own_times(inner, ts, dur)
    return {k: round(v / 1000, 1) for k, v in own.items() if v > 300}


def panel_tasks(trace: bytes) -> list[dict[str, Any]]:
    """For each panel render: its task's CPU time, the next frame's (and its parts), and the longest frame of the 400 ms after."""
    events = json.loads(trace)["traceEvents"]
    marks, tasks = main_thread(trace, "panel:")
    first = next(e for e in events if e.get("name") == "panel:begin")
    pid, tid = first["pid"], first["tid"]
    inner = sorted(
        (e["ts"], e.get("dur", 0), e.get("tdur", e.get("dur", 0)), BREAKDOWN_EVENTS[e["name"]])
        for e in events
        if e.get("ph") == "X" and e.get("pid") == pid and e.get("tid") == tid and e.get("name") in BREAKDOWN_EVENTS
    )
    paints = [e[0] for e in inner if e[3] == "paint"]
    out = []
    for ts, _name in marks:
        k = next((i for i, t in enumerate(tasks) if t[0] <= ts <= t[0] + t[1]), None)
        if k is None:
            continue
        task = tasks[k]
        frames = [t for t in tasks[k + 1 :] if t[0] < task[0] + 400_000 and any(t[0] <= p <= t[0] + t[1] for p in paints)]
        if not frames:
            continue
        out.append({
            "task": round(task[2] / 1000, 1),
            "frame": round(frames[0][2] / 1000, 1),
            "parts": split(inner, frames[0][0], frames[0][1]),
            "later": max((round(t[2] / 1000, 1) for t in frames[1:]), default=0.0),
        })
    return out


def measure(runs: int, throttle: float) -> dict[str, Any]:
    """Label the places ``runs`` times (a fresh page each time) and collect the panel's tasks."""
    items: list[dict[str, Any]] = []
    with served_article() as (base, browser, project_id, doc_id, _n):
        for r in range(runs):
            ctx, page = logged_in_page(browser, base, INIT_SCRIPT + HELPERS, throttle)
            try:
                page.goto(f"{base}/projects/{project_id}/documents/{doc_id}/annotate")
                page.wait_for_selector("#annotate[data-ready='1']", timeout=120_000)
                page.evaluate(MARK_PANEL)
                browser.start_tracing(page=page, categories=["toplevel", "blink.user_timing", "devtools.timeline", "disabled-by-default-devtools.timeline"])
                where = []
                for frac in PLACES:
                    for k in range(2):
                        page.evaluate(LABEL, [frac + k * 0.004 + r * 0.001, "panel"])
                        page.keyboard.press("l")
                        page.evaluate(AFTER_LABEL)
                        where.append("far" if k == 0 else "near")
                for kind, item in zip(where, panel_tasks(browser.stop_tracing())):
                    items.append({"kind": kind, **item})
            finally:
                ctx.close()
    return {"throttle": throttle, "runs": runs, "load_average": os.getloadavg(), "items": items}


def mm(values: list[float]) -> str:
    """Median / max."""
    return f"{statistics.median(values):5.1f} / {max(values):5.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--throttle", type=float, default=4.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = measure(args.runs, args.throttle)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    load = ", ".join(f"{x:.1f}" for x in result["load_average"])
    print(f"the side panel's tasks while labelling, CPU throttle x{args.throttle:g}, {args.runs} page load(s), load average {load} (CPU ms, median / max)")
    for kind in ("far", "near"):
        xs = [i for i in result["items"] if i["kind"] == kind]
        if not xs:
            continue
        print(f"  {kind:4s} ({len(xs)}): panel task {mm([x['task'] for x in xs])}; its frame {mm([x['frame'] for x in xs])};"
              f" longest frame of the next 400 ms {mm([x['later'] for x in xs])}")
        print("        its frame's parts (median): " + ", ".join(f"{p} {statistics.median([x['parts'].get(p, 0) for x in xs]):.1f}" for p in PARTS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
