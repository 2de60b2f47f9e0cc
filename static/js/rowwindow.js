//# allFunctionsCalledOnLoad
// The side panel's lists render only a window of rows.
//
// Every row's height is known before it is rendered: a row is `lines` lines
// of --wb-row-line plus the row's padding and border (--wb-row-pad), and CSS
// (.wb-rows.is-windowed) makes it exactly that tall, clipping what does not
// fit. So the list's full height and any row's position are sums, the rows
// outside the window are the list's top and bottom padding, and neither
// scrolling the list nor moving the selection ever lays out more than the
// window: about a screenful plus OVERSCAN rows on each side.

const LINE_REM = 1.35;       // --wb-row-line in annotate.css
const PAD_REM = 0.6;         // the row's top and bottom padding (.3rem each) in annotate.css
const BORDER_PX = 2;         // its 1px top and bottom border
const OVERSCAN = 4;          // rows rendered beyond each edge of the visible part
const BUDGET = 8;            // new rows a keyed list builds in one frame (renderSome)
const FILL_BUDGET = 4;       // ... in each frame that fills in the rest of its window, off screen (fillSoon)

/** Row height in px for a number of lines (rem read once per page). */
let remPx = 0;
export function rowHeight(lines) {
  if (!remPx) remPx = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  return lines * LINE_REM * remPx + PAD_REM * remPx + BORDER_PX;
}

/**
 * A windowed listbox (or list) inside a scroller. `mount` lays out the items
 * and renders the window around the scroller's viewport or around one index;
 * `follow` re-renders the window after the scroller moved, when needed.
 */
export class RowWindow {
  constructor(scroller) {
    this.scroller = scroller;
    this.ul = null;
    this.tops = null;      // tops[i]: offset of row i from the list's first row; tops[n]: the list's height
    this.start = 0;
    this.end = 0;
    this.offset = 0;       // the list's top inside the scroller's content (measured after a render)
    this.viewTop = scroller.scrollTop;
    this.viewHeight = scroller.clientHeight || 600;
    new ResizeObserver(() => { this.viewHeight = scroller.clientHeight; this.follow(); }).observe(scroller);
    this.target = -1;      // the row a reveal() shows, until its frame has written the scroll position
    this.pendingTop = null;
    scroller.addEventListener("scroll", () => {
      this.viewTop = scroller.scrollTop;
      // A scroll reported before the reveal's frame was made before the reveal (the frame's scroll events
      // come first): the row revealed stays on screen, from wherever that scroll left the list.
      if (this.target >= 0) { this.pendingTop = null; this.aim(this.target); }
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => { this.frame = 0; this.follow(); });
    }, { passive: true });
  }

  /**
   * Render `n` rows into `ul`: linesOf(i) is row i's number of lines,
   * makeRow(i) builds row i (an <li>). With `focus` >= 0 the window holds
   * that row; otherwise it covers the part of the list on screen.
   *
   * With `keyOf(i)` (a string that changes whenever row i's content does),
   * a row already in `ul` under the same key is kept rather than built
   * again, and `place(li, i)` updates what depends on its index: after a
   * new span, only its row is new, and only it needs style and layout
   * (rebuilding every row of the window cost more than the rest of the
   * panel's update together).
   */
  mount(ul, n, linesOf, makeRow, focus = -1, { keyOf = null, place = null } = {}) {
    if (ul !== this.ul || !keyOf) this.kept = new Map(); // key -> row in ul
    if (ul !== this.ul) { this.target = -1; this.pendingTop = null; } // a reveal pending in another list
    this.ul = ul;
    this.n = n;
    this.makeRow = makeRow;
    this.keyOf = keyOf;
    this.place = place;
    ul.classList.add("is-windowed");
    const tops = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) tops[i + 1] = tops[i] + rowHeight(linesOf(i));
    this.tops = tops;
    // With a focus off screen: the rows on screen once reveal(focus) has scrolled to it (reveal computes the
    // same place), so that its scroll needs no second window.
    const [a, b] = focus >= 0 && focus < n ? this.visibleRange(this.aimTop(focus)) : this.visibleRange();
    if (keyOf) this.renderSome(a, b, focus >= a && focus < b ? focus : -1);
    else this.render(Math.max(0, a - OVERSCAN), Math.min(n, b + OVERSCAN));
  }

  /**
   * Keyed lists: render the window around the visible rows [a, b), building
   * at most BUDGET new rows now (kept rows are free) and the rest after the
   * next frame. Around row `f` (>= 0: the row a selection shows), the rows
   * nearest it come first, visible ones before the overscan; with f < 0,
   * every visible row is rendered at once (a scrolled list never shows a
   * gap), then the overscan rows nearest them while the budget lasts. At
   * 4x CPU slowdown, a frame with one new row costs about 20 ms of CPU
   * (mostly paint and layerizing, which do not depend on the rows), each
   * further new row about 1.5 ms (its style, layout, pre-paint and paint):
   * a whole new window (16-20 rows) made the frame 40-50 ms on a busy
   * machine, 8 rows (all the rows on screen in a 800 px high window) 34-43
   * (docs/benchmarks.md).
   */
  renderSome(a, b, f, budget = BUDGET) {
    const n = this.n, lo = Math.max(0, a - OVERSCAN), hi = Math.min(n, b + OVERSCAN);
    const isNew = (i) => !this.kept.has(this.keyOf(i));
    let s = a, e = b;
    if (f >= 0) { s = f; e = f + 1; }
    for (let i = s; i < e; i++) if (isNew(i)) budget--;
    // Grow [s, e) by one row at a time, first up to [a, b), then up to [lo, hi), nearest first on either side;
    // a side stops at the first new row the budget cannot pay for.
    for (const [from, to, visible] of [[a, b, true], [lo, hi, false]]) {
      let upOk = true, downOk = true;
      for (;;) {
        const canUp = upOk && s > from, canDown = downOk && e < to;
        if (!canUp && !canDown) break;
        // The side with fewer rows so far (around f on screen, beyond the screen's edges after).
        const up = !canDown || (canUp && (visible ? f - s <= e - 1 - f : a - s <= e - b));
        const i = up ? s - 1 : e;
        if (isNew(i)) {
          if (budget <= 0) { if (up) upOk = false; else downOk = false; continue; }
          budget--;
        }
        if (up) s = i; else e = i + 1;
      }
    }
    this.render(s, e);
    if (s > lo || e < hi) this.fillSoon();
  }

  /** After the next frame: render more of the window around the rows on screen (the rows built so far are kept). */
  fillSoon() {
    if (this.fillFrame) return;
    this.fillFrame = requestAnimationFrame(() => setTimeout(() => {
      this.fillFrame = 0;
      const ul = this.ul;
      if (!ul || !ul.isConnected || !this.keyOf) return;
      const [a, b] = this.visibleRange();
      const lo = Math.max(0, a - OVERSCAN), hi = Math.min(this.n, b + OVERSCAN);
      if (this.start > lo || this.end < hi) this.renderSome(a, b, -1, FILL_BUDGET);
    }, 0));
  }

  /**
   * Scroll the list just enough to show row i (rendered by mount with it as
   * focus), from the rows' known places: unlike scrollIntoView, this lays
   * nothing out (scrollIntoView laid out the whole page, text included,
   * after every new span).
   */
  reveal(i) {
    if (!this.ul || i < 0 || i >= this.n) return;
    this.target = i;
    this.aim(i);
    // Written in the next frame, which lays the list out anyway: written now, it would force that
    // layout (and the style of the rows just rendered) into the task that rendered them. Until then,
    // the row is the target of any scroll event that comes (see the scroll listener).
    if (!this.scrollFrame) {
      this.scrollFrame = requestAnimationFrame(() => {
        this.scrollFrame = 0;
        this.target = -1;
        if (this.pendingTop !== null) this.scroller.scrollTop = this.pendingTop;
        this.pendingTop = null;
      });
    }
  }

  /** The scroll position (cached, and to be written by reveal's frame) that shows row i from the cached one. */
  aim(i) {
    if (i >= this.n) return;
    const top = this.aimTop(i);
    if (top === this.viewTop) return;
    this.viewTop = top;
    this.pendingTop = top;
  }

  /** The scroll position nearest the cached one that shows row i whole. */
  aimTop(i) {
    const y0 = this.offset + this.tops[i], y1 = this.offset + this.tops[i + 1];
    let top = this.viewTop;
    if (y0 < top) top = y0;
    else if (y1 > top + this.viewHeight) top = y1 - this.viewHeight;
    return top;
  }

  /** Rows [a, b) that lie in the scroller's viewport (from the cached scroll position and size, or at scroll position `top`). */
  visibleRange(top = this.viewTop) {
    const tops = this.tops, n = this.n;
    const y0 = top - this.offset, y1 = y0 + this.viewHeight;
    return [Math.min(n, bisect(tops, y0)), Math.min(n, bisect(tops, y1) + 1)];
  }

  render(a, b) {
    const ul = this.ul, tops = this.tops;
    if (this.keyOf) this.renderKept(a, b);
    else {
      const frag = document.createDocumentFragment();
      for (let i = a; i < b; i++) {
        const li = this.makeRow(i);
        li.style.height = `${tops[i + 1] - tops[i]}px`;
        frag.appendChild(li);
      }
      ul.replaceChildren(frag);
    }
    const pt = `${tops[a]}px`, pb = `${tops[this.n] - tops[b]}px`;
    if (ul.style.paddingTop !== pt) ul.style.paddingTop = pt;
    if (ul.style.paddingBottom !== pb) ul.style.paddingBottom = pb;
    this.start = a;
    this.end = b;
  }

  /** Rows [a, b) keeping those whose key is unchanged in place; the others are built, moved or removed. */
  renderKept(a, b) {
    const ul = this.ul, tops = this.tops, old = this.kept, kept = new Map(), rows = [];
    for (let i = a; i < b; i++) {
      const key = this.keyOf(i);
      let li = old.get(key);
      if (li && !kept.has(key)) old.delete(key); else li = this.makeRow(i);
      kept.set(key, li);
      if (this.place) this.place(li, i);
      const h = `${tops[i + 1] - tops[i]}px`;
      if (li.style.height !== h) li.style.height = h;
      rows.push(li);
    }
    for (const li of old.values()) li.remove();
    for (const child of Array.from(ul.children)) if (!rows.includes(child) && child.parentNode === ul) child.remove(); // rows made elsewhere
    for (let k = 0; k < rows.length; k++) {
      const at = ul.children[k];
      if (at !== rows[k]) ul.insertBefore(rows[k], at || null);
    }
    this.kept = kept;
  }

  /** After a scroll or resize: re-render when the visible rows come near an edge of the window. */
  follow() {
    const ul = this.ul;
    if (!ul || !ul.isConnected) return;
    this.offset = ul.offsetTop; // the scroller is the list's offsetParent (position: relative)
    const [a, b] = this.visibleRange();
    const margin = OVERSCAN >> 2;
    const short = (a - this.start < margin && this.start > 0) || (this.end - b < margin && this.end < this.n);
    if (!short) return;
    // While a fill is pending (its task builds the next rows), only the rows on screen.
    if (this.keyOf) this.renderSome(a, b, -1, this.fillFrame ? 0 : BUDGET);
    else this.render(Math.max(0, a - OVERSCAN), Math.min(this.n, b + OVERSCAN));
  }
}

/** Index of the last row starting at or above y (tops ascending, tops[0] = 0). */
function bisect(tops, y) {
  let lo = 0, hi = tops.length - 1;
  while (lo < hi) { const mid = (lo + hi + 1) >> 1; if (tops[mid] <= y) lo = mid; else hi = mid - 1; }
  return lo;
}
