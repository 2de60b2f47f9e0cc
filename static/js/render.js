//# allFunctionsCalledOnLoad
// Drawing the annotate page's text layer and its decorations.
//
// - The text layer is built once: one block per line, each holding a single
//   Text node made with createTextNode. Nothing is ever inserted into a block.
//   Lines sit in groups of about 2,000 characters; groups far from the
//   viewport are skipped by content-visibility: auto. Each line's height is
//   computed before it is ever laid out (sizeLines: canvas word widths,
//   wrapped as pre-wrap wraps them) and a group takes the sum of its lines',
//   so the scroll height is right from the first frame and jumps land in one
//   move.
// - Fills: translucent rectangles under the text, drawn with the lanes (one
//   per line fragment of a span), coloured by rules generated into a
//   constructed stylesheet. CSS Custom Highlights were used first; but
//   Chromium rebuilds every highlight's markers and repaints their text after
//   any change to the page (a chip, a panel row, the status line), which
//   made painting the largest cost of scrolling and labelling.
// - Lanes: per line, spans get a lane by first fit (containers before
//   contents); bars and label chips are drawn in an overlay next to the block,
//   only for lines in the band near the viewport (updateBand), nearest
//   first and a few milliseconds per frame (draw). A line that scrolls away
//   loses its overlay in a frame with nothing else to draw (a few lines a
//   frame) and is drawn again when it comes back: a group of lines that
//   content-visibility shows again with all its lines' overlays made the
//   costliest frame of a scroll (their paint and layerizing at once).
// - Links: an SVG inside the scroller draws relations and attributions as
//   quadratic arcs above the text, label at the apex. The selected item's arcs
//   are emphasised and drawn on top; with "Show links" on, every other link
//   with an end in that band is drawn muted,
//   and an end outside that band becomes a short directional stub. The arcs
//   are redrawn only when the band, the layer, the selection or the width
//   changes, in the same frame as the lanes (all reads, then all writes).
// - Extras: other modules add rectangles to a line's overlay (lineExtras,
//   invalidateLines; suggestions.js draws its underlines so).

import { splitLines, attachLayout, cpToU16, lineAt, rectsForU16 } from "./offsets.js";
import { byReadingOrder } from "./model.js";

const MAX_LANES = 5;
const SLICE_MS = 4;      // per frame, for drawing the decorations of lines in the band
const NEW_PER_FRAME = 40; // decorations created per frame for lines that have none yet (draw)
const GONE_PER_FRAME = 4;  // lines that left the band whose decorations are removed per idle frame (clearGone)
const GROUP_CHARS = 2000; // a group of lines (content-visibility: auto) closes after this many characters
const GROUP_LINES = 16;   // or this many lines
const HOLD_FRAMES = 2;    // frames without drawing after a scroll moved the band (draw)
const PLAN_AHEAD = 6;     // changed lines planned in the task of the change, not in the frame (planAhead)
const PROBE = "Probe text, 0123456789"; // tells whether the text's font changed since the widths were measured

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** Readable text colour (black or white) on a background colour. */
function inkOn(hex) {
  const [r, g, b] = hexToRgb(hex);
  return (0.299 * r + 0.587 * g + 0.114 * b) > 150 ? "#111" : "#fff";
}

/** Build the constructed stylesheet with one rule set per label (CSP allows adoptedStyleSheets). */
export function installLabelStyles(labels) {
  const sheet = new CSSStyleSheet();
  const rules = [];
  labels.forEach((l, i) => {
    const [r, g, b] = hexToRgb(l.color);
    rules.push(`.wb-c${i} { --c: ${l.color}; --c-bg: rgba(${r}, ${g}, ${b}, 0.22); --c-ink: ${inkOn(l.color)}; }`);
    rules.push(`.wb-fill.wb-c${i} { background-color: rgba(${r}, ${g}, ${b}, ${l.kind === "claim" ? 0.13 : 0.26}); }`);
  });
  sheet.replaceSync(rules.join("\n"));
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}

/** The text layer and everything drawn over it. */
export class TextView {
  constructor(container, text, model, { linksSvg }) {
    this.el = container;
    this.text = text;
    this.model = model;
    this.svg = linksSvg;
    this.labelIndex = new Map(model.schema.labels.map((l, i) => [l.name, i]));
    this.spanU16 = new Map();     // span id -> [s, e, line of s] in UTF-16
    this.lineSpans = [];          // line index -> spans (with lane) in reading order
    this.lineLanes = [];
    this.visible = new Set();     // lines in the band (the viewport ± its height; updateBand)
    this.dirty = new Set();       // lines whose decorations must be drawn again (markDirty)
    this.plans = new Map();       // dirty line -> its decorations planned ahead by the task of the change (planAhead)
    this.drawn = new Set();       // lines whose decorations are up to date
    this.pending = new Map();     // line -> {items, k}: planned, drawn up to item k (draw)
    this.gone = new Set();        // lines that left the band: their decorations are to be removed (draw)
    this.selectedId = null;
    this.linked = new Set();
    this.marked = new Map();      // span id -> role tag shown in chips (attribution form)
    this.links = [];              // the selected item's links: [{from, to, kind, label}]
    this.showAll = true;          // also draw every link near the viewport (muted)
    this.linksDirty = true;       // band, layer, selection or width changed since the last arcs
    this.anchors = new Map();     // line -> Map(span id -> anchor relative to the line box); geometry cache
    this.decor = [];              // line -> Map(key -> decoration element in its overlay), reused by writeLine
    this.geom = [];               // line -> {gen, lanes, w, h, rects: Map(range -> rects relative to the line box)} (lineRects)
    this.geomGen = 0;             // bumped when the width or the font changes every line's geometry
    this.frame = 0;
    // Other modules' decorations of a line (suggestions.js): lineExtras(i) ->
    // [{start, end, cls}] in UTF-16 offsets, drawn by planLine as rectangles
    // with class cls, one per line fragment, with the line's other
    // decorations; after a change, the owner calls invalidateLines.
    this.lineExtras = null;
    // Called by planAhead before it plans: the owner of lineExtras invalidates the lines whose extras a change
    // altered, so that a keystroke's line is planned once, with them.
    this.beforePlan = null;
  }

  /** Draw these lines' decorations again (now if in the band, else when they next come into it). */
  invalidateLines(indices) {
    for (const i of indices) this.markDirty(i); // planned in the frame (suggestions.js calls this from one)
    this.schedule();
  }

  /** Line i's decorations must be drawn again; a plan made for it earlier is stale. */
  markDirty(i) {
    this.dirty.add(i);
    this.plans.delete(i);
  }

  /**
   * Plan the redraw of the changed lines at the end of the task that changed
   * them (a microtask: after the whole key handler), so that the frame after
   * a keystroke only writes. Chromium runs that frame right after the
   * keystroke's task, before any other task, so this is the only place
   * where the measuring (the layout the change needs, then each fragment's
   * rects) can leave the frame, which also restyles, lays out, paints and
   * layerizes the new decorations.
   */
  planSoon() {
    if (this.planQueued) return;
    this.planQueued = true;
    queueMicrotask(() => { this.planQueued = false; this.planAhead(); });
  }

  /**
   * Only lines on screen whose decorations are drawn (a change, the
   * selection; at most PLAN_AHEAD of them): a line coming into the band is
   * drawn over frames by draw. Any change after this drops the line's plan
   * (markDirty), and the frame plans it again.
   */
  planAhead() {
    if (this.beforePlan) this.beforePlan(); // other modules bring their extras up to date first (suggestions.js)
    let n = 0;
    for (const i of this.dirty) {
      if (n >= PLAN_AHEAD) break;
      if (this.plans.has(i) || !this.visible.has(i) || !this.drawn.has(i) || !this.laneEls[i].firstChild) continue;
      this.anchors.delete(i);
      this.plans.set(i, this.planLine(i));
      n++;
    }
  }

  /** Turn the muted arcs for all links near the viewport on or off. */
  setShowAll(on) {
    if (this.showAll === on) return;
    this.showAll = on;
    this.linksDirty = true;
    this.schedule();
  }

  /**
   * Build the text blocks (once): one line element per line, and the lines
   * in groups of about GROUP_CHARS characters (at most GROUP_LINES lines).
   * content-visibility: auto is on the groups, not on each line: Chromium
   * checks every such element on every frame and keeps each as a paint
   * root, which cost more than laying out a group's few more lines.
   */
  buildText(astral) {
    this.astral = astral;
    this.lines = splitLines(this.text);
    const frag = document.createDocumentFragment();
    this.lineEls = [];
    this.decor = [];
    this.blockEls = [];
    this.laneEls = [];
    this.groupEls = [];
    this.groupOf = new Int32Array(this.lines.length);
    this.groupLines = []; // group -> [first line, end line)
    let group = null, chars = 0;
    for (let i = 0; i < this.lines.length; i++) {
      const ln = this.lines[i];
      if (!group || chars >= GROUP_CHARS || i - this.groupLines[this.groupLines.length - 1][0] >= GROUP_LINES) {
        if (group) this.groupLines[this.groupLines.length - 1][1] = i;
        group = document.createElement("div");
        group.className = "wb-group";
        frag.appendChild(group);
        this.groupEls.push(group);
        this.groupLines.push([i, i]);
        chars = 0;
      }
      chars += ln.end - ln.start;
      this.groupOf[i] = this.groupEls.length - 1;
      const line = document.createElement("div");
      line.className = "wb-line";
      line.dataset.line = String(i);
      const block = document.createElement("div");
      block.className = "wb-block";
      block.dir = "auto";
      block.dataset.u16 = String(ln.start);
      block.appendChild(document.createTextNode(this.text.slice(ln.start, ln.end)));
      const lanes = document.createElement("div");
      lanes.className = "wb-lanes";
      lanes.setAttribute("aria-hidden", "true");
      line.append(block, lanes);
      group.appendChild(line);
      this.lineEls.push(line);
      this.blockEls.push(block);
      this.laneEls.push(lanes);
    }
    if (this.groupLines.length) this.groupLines[this.groupLines.length - 1][1] = this.lines.length;
    this.el.replaceChildren(frag);
    this.el.appendChild(this.svg); // arcs scroll with the text
    this.el.dataset.u16Length = String(this.text.length);
    attachLayout(this.el, {
      blocks: this.blockEls,
      starts: this.lines.map(l => l.start),
      ends: this.lines.map(l => l.end),
      astral,
      length: this.text.length,
    });
  }

  /** Paint all spans (fills and lanes) and start watching the viewport. */
  paintAll() {
    for (const s of this.model.sorted()) this.addRange(s);
    this.computeLanes();
    this.sizeLines();
    this.observe();
  }

  /**
   * Give every line its height before it is ever laid out, so the scroll
   * height is right from the first frame and a jump lands in one move.
   * content-visibility: auto skips the layout of the groups of lines far
   * from the viewport and uses contain-intrinsic-size for them instead, the
   * sum of their lines' heights, computed here: the width of each word and run of spaces, measured
   * once per distinct string on a canvas in the text's font, wrapped the
   * way white-space: pre-wrap does in the line's width, times the line
   * height the lanes give (the CSS rules for .wb-block). About 15 ms for
   * 100,000 characters; a group laid out on screen takes its real size.
   */
  sizeLines(only = null) {
    if (!this.fit) {
      const cs = getComputedStyle(this.blockEls[0]);
      const ctx = document.createElement("canvas").getContext("2d");
      ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      this.fit = { ctx, fs: parseFloat(cs.fontSize) || 16, widths: new Map(), width: this.lineEls[0].clientWidth, probe: ctx.measureText(PROBE).width };
      this.estimates = new Float64Array(this.lineEls.length);
      this.heights = new Float64Array(this.lineEls.length); // estimated, or as last laid out (planLine)
    }
    const targets = only || this.lineEls.keys();
    const groups = new Set();
    for (const i of targets) {
      const h = this.estimateHeight(i);
      if (this.estimates[i] === h) continue;
      this.estimates[i] = h;
      this.heights[i] = h;
      this.tops = null;
      groups.add(this.groupOf[i]);
    }
    // A group skipped by content-visibility takes the sum of its lines' heights.
    for (const g of groups) {
      const [a, b] = this.groupLines[g];
      let h = 0;
      for (let i = a; i < b; i++) h += this.estimates[i];
      this.groupEls[g].style.containIntrinsicSize = `${h}px`;
    }
  }

  /** The height line i takes at the current width (px), from its text and lane count. */
  estimateHeight(i) {
    const { fs, width } = this.fit;
    const ln = this.lines[i];
    const t = this.text.slice(ln.start, ln.end);
    const lanes = Math.max(1, Math.min(this.lineLanes[i] || 0, MAX_LANES)); // room for one lane is always kept
    const minH = 1.75 * fs;                                   // .wb-block min-height
    if (!t.length || width <= 0) return minH;
    // The rows depend on the width alone (the text never changes): a new lane only changes their height.
    if (this.fit.rowsAt !== width) { this.fit.rowsAt = width; this.fit.rows = new Map(); }
    let rows = this.fit.rows.get(i);
    if (rows === undefined) { rows = this.countRows(t); this.fit.rows.set(i, rows); }
    return Math.max(minH, rows * (1.2 * fs + 28 + lanes * 8)); // .wb-block line-height
  }

  /** The rows text t wraps into at the width of this.fit, as white-space: pre-wrap wraps it. */
  countRows(t) {
    const { ctx, widths, width } = this.fit;
    const wid = (w) => { let x = widths.get(w); if (x === undefined) { x = ctx.measureText(w.replace(/\t/g, "    ")).width; widths.set(w, x); } return x; };
    let rows = 1, x = 0, m;
    const lead = /^[ \t]*/.exec(t)[0];
    if (lead) x = wid(lead);
    const re = /([^ \t]+)([ \t]*)/g;                       // words break at spaces and tabs (not at a no-break space)
    while ((m = re.exec(t)) !== null) {
      const w = wid(m[1]);
      if (x > 0 && x + w > width) { rows++; x = 0; }
      if (w > width) { rows += Math.ceil(w / width) - 1; x = w % width; } // overflow-wrap: anywhere
      else x += w;
      if (m[2]) x += wid(m[2]);                               // spaces hang at the end of a row
    }
    return rows;
  }

  addRange(s) {
    const a = cpToU16(s.start, this.astral), b = cpToU16(s.end, this.astral);
    this.spanU16.set(s.id, [a, b, lineAt(this.lines, a)]); // and the line of its first character (lineOfSpan)
  }

  removeRange(id) {
    this.spanU16.delete(id);
  }

  /** Sync fills with the model after ops touching these span ids. */
  syncSpans(ids) {
    const lines = new Set();
    const touch = (id) => {
      const u = this.spanU16.get(id);
      if (!u) return;
      const [l0, l1] = this.linesOf(u[0], u[1]);
      for (let i = l0; i <= l1; i++) lines.add(i);
    };
    for (const id of ids) {
      touch(id);
      this.removeRange(id);
      const s = this.model.spans.get(id);
      if (s) { this.addRange(s); touch(id); }
    }
    this.computeLanes(lines, ids);
    this.refreshMarks();
    this.linksDirty = true;
    this.planSoon();
    this.schedule();
  }

  /** Re-read everything from the model (after a reload). */
  resetAll() {
    this.spanU16.clear();
    this.anchors.clear();
    for (const s of this.model.sorted()) this.addRange(s);
    this.computeLanes();
    this.refreshMarks();
    this.drawn.clear();
    for (const i of this.visible) this.markDirty(i);
    this.linksDirty = true;
    this.schedule();
  }

  /** Lines touched by UTF-16 [a, b). */
  linesOf(a, b) {
    return [lineAt(this.lines, a), lineAt(this.lines, Math.max(a, b - 1))];
  }

  /** Assign lanes per line (first fit, containers first) and set --lanes on blocks whose count changed. */
  computeLanes(only = null, changed = []) {
    const n = this.lines.length;
    const per = new Map();
    const targets = only ? Array.from(only) : Array.from({ length: n }, (_, i) => i);
    for (const i of targets) per.set(i, []);
    if (only) {
      // Only the lines a change touched: their spans are the ones they had
      // (as they are now) and the changed ones that reach them; no walk
      // through the whole layer (3,000 spans for a line near the end).
      for (const i of targets) {
        const out = per.get(i), seen = new Set();
        const consider = (s) => {
          if (!s || seen.has(s.id)) return;
          seen.add(s.id);
          const u = this.spanU16.get(s.id);
          if (!u) return;
          const [l0, l1] = this.linesOf(u[0], u[1]);
          if (l0 <= i && i <= l1) out.push(s);
        };
        for (const s of this.lineSpans[i]?.items || []) consider(this.model.spans.get(s.id));
        for (const id of changed) consider(this.model.spans.get(id));
        out.sort(byReadingOrder);
      }
    } else {
      for (const s of this.model.sorted()) {
        const u = this.spanU16.get(s.id);
        if (!u) continue;
        const [l0, l1] = this.linesOf(u[0], u[1]);
        for (let i = l0; i <= l1; i++) per.get(i).push(s);
      }
    }
    for (const i of targets) {
      const items = per.get(i);
      const laneEnd = [];
      const lanes = new Map();
      for (const s of items) {
        let k = laneEnd.findIndex(e => e <= s.start);
        if (k === -1) k = laneEnd.length;
        laneEnd[k] = s.end;
        lanes.set(s.id, k);
      }
      const count = Math.min(laneEnd.length, MAX_LANES);
      const old = this.lineSpans[i];
      const changed = !old || old.items.length !== items.length || old.items.some((s, j) => s !== items[j] || old.lanes.get(s.id) !== lanes.get(s.id) || old.sig[j] !== sig(s));
      if (changed) {
        this.lineSpans[i] = { items: items, lanes, sig: items.map(sig) };
        this.markDirty(i);
      }
      if (this.lineLanes[i] !== count) {
        this.lineLanes[i] = count;
        this.lineEls[i].classList.toggle("has-lanes", count > 0);
        // On the block, not the line: a custom property is inherited, so set on the line it
        // restyled every decoration of the line (80 and more in a paragraph) when a span added a lane.
        this.blockEls[i].style.setProperty("--lanes", String(count));
        this.markDirty(i);
        if (this.fit) this.sizeLines([i]);
      }
    }
  }

  observe() {
    // The band (the viewport and a screen above and below it) is found from
    // the lines' places on scroll (updateBand), not with an
    // IntersectionObserver: one observing every line cost Chromium an
    // intersection pass over all of them on every scrolled frame (20-35 ms
    // per frame with the CPU four times slower), on top of
    // content-visibility's own.
    this.el.addEventListener("scroll", () => { this.scrolled = true; this.schedule(); }, { passive: true });
    this.ro = new ResizeObserver(() => {
      const w = this.el.clientWidth;
      this.viewH = this.el.clientHeight;
      if (w === this.width) return;
      this.width = w;
      this.geomGen++;
      this.firstTop = undefined; this.tops = null;
      const lw = this.lineEls[0].clientWidth;
      if (this.fit && lw !== this.fit.width) { this.fit.width = lw; this.sizeLines(); }
      this.drawn.clear();
      for (const i of this.visible) this.markDirty(i);
      this.anchors.clear();
      this.linksDirty = true;
      this.schedule();
    });
    this.ro.observe(this.el);
    if (document.fonts) document.fonts.ready.then(() => {
      // A font that arrived late changes the widths: measure again.
      if (this.fit.ctx.measureText(PROBE).width !== this.fit.probe) { this.fit = null; this.sizeLines(); }
      this.geomGen++; this.anchors.clear(); this.linksDirty = true; this.schedule();
    });
  }

  /**
   * Where each line starts in the scroller's content: the sums of the line
   * heights (estimated by sizeLines, or as last laid out), from the first
   * line's place. Reading the lines' offsets instead would force a layout of
   * the lines a scroll has just uncovered, in the frame that already pays
   * for them.
   */
  lineTops() {
    if (this.tops) return this.tops;
    const n = this.lineEls.length, tops = new Float64Array(n + 1);
    if (this.firstTop === undefined) this.firstTop = this.lineEls[0].offsetTop;
    tops[0] = this.firstTop;
    for (let i = 0; i < n; i++) tops[i + 1] = tops[i] + this.heights[i];
    this.tops = tops;
    return tops;
  }

  /**
   * The lines in the band: those within one viewport height above or below
   * the viewport, found by bisecting the lines' places (lineTops), so no
   * line is laid out for this. A line that leaves the band loses its
   * decorations later (draw, in a frame with nothing else to draw) and is
   * drawn again when it comes back; until then it keeps them.
   */
  updateBand(scrolled = true) {
    const n = this.lineEls.length;
    if (!n) return false;
    // The scroll position is read only after a scroll event (any change of it sends one, before the
    // frame's callbacks): reading it lays out what changed since the last frame, which, after a
    // keystroke, the frame would then lay out a second time once the new decorations are written.
    if (scrolled || this.scrollY === undefined) this.scrollY = this.el.scrollTop;
    const h = this.viewH || (this.viewH = this.el.clientHeight), top = this.scrollY;
    const y0 = top - h, y1 = top + 2 * h;
    const tops = this.lineTops();
    // First line whose bottom is below y0, and first line whose top is at or below y1.
    let lo = 0, hi = n;
    while (lo < hi) { const m = (lo + hi) >> 1; if (tops[m + 1] <= y0) lo = m + 1; else hi = m; }
    const a = lo;
    hi = n;
    while (lo < hi) { const m = (lo + hi) >> 1; if (tops[m] < y1) lo = m + 1; else hi = m; }
    const b = lo; // band is [a, b)
    if (a === this.bandA && b === this.bandB) return false;
    this.bandA = a; this.bandB = b;
    for (const i of this.visible) if (i < a || i >= b) { this.visible.delete(i); this.gone.add(i); }
    for (let i = a; i < b; i++) {
      if (!this.visible.has(i)) { this.visible.add(i); this.gone.delete(i); if (!this.drawn.has(i)) this.markDirty(i); }
    }
    this.linksDirty = true; // the band moved
    return true;
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  /**
   * Draw (reads all rects first, then writes). Dirty lines of the band are
   * drawn nearest to the viewport first, for SLICE_MS per frame (at least
   * one line), so that a jump to a new part of the article never turns into
   * one long task: the rest waits for the next frame. When a scroll moves
   * the band, drawing waits HOLD_FRAMES frames: in the frame of the scroll,
   * Chromium finds which groups of lines come into view, and in the next it
   * lays out their text (the costliest frame of a scroll); a line drawn
   * then would add its decorations' style and layout to that frame. The
   * arcs wait until every line of the band is drawn, and are then planned
   * once rather than after every slice.
   *
   * A line that has no decorations yet (one a scroll uncovers) gets them
   * over several frames, NEW_PER_FRAME elements a frame: the style, layout
   * and paint of a whole line's (80 or more) in one frame made the longest
   * frame of a scroll with the CPU four times slower. A line that has them
   * (a change, the selection) is redrawn at once, so nothing flickers.
   */
  draw() {
    const t0 = performance.now();
    const scrolled = this.scrolled;
    this.scrolled = false;
    if (this.updateBand(scrolled) && scrolled) this.hold = HOLD_FRAMES;
    if (this.hold > 0) {
      this.hold--;
      this.schedule();
      return;
    }
    let jobs = [];
    for (const i of this.dirty) {
      this.anchors.delete(i);
      this.drawn.delete(i);
      this.pending.delete(i);
      if (this.visible.has(i)) jobs.push(i); else { this.dirty.delete(i); this.plans.delete(i); }
    }
    for (const i of this.pending.keys()) if (!this.visible.has(i)) this.pending.delete(i);
    if (jobs.length > 1) {
      // Nearest the viewport first (from the offsets: no layout needed).
      const top = this.scrollY, bottom = top + this.viewH, tops = this.lineTops();
      const dist = new Map(jobs.map(i => {
        const y0 = tops[i], y1 = tops[i + 1];
        return [i, y1 < top ? top - y1 : y0 > bottom ? y0 - bottom : 0];
      }));
      jobs.sort((a, b) => dist.get(a) - dist.get(b));
    }
    const writes = [], finished = []; // writes: [line, the decorations it is to have now (writeLine)]
    let room = NEW_PER_FRAME;
    for (const [i, p] of this.pending) { // lines begun in an earlier frame first
      if (room <= 0) break;
      const n = Math.min(room, p.items.length - p.k);
      writes.push([i, p.items.slice(0, p.k + n)]); // the ones drawn already are kept (writeLine)
      p.k += n;
      room -= n;
      if (p.k === p.items.length) { this.pending.delete(i); finished.push(i); }
    }
    let planned = 0, ahead = 0;
    for (const i of jobs) {
      const plan = this.plans.get(i); // made by the change's own task (planAhead): writing it costs this frame little
      if (!plan && (planned || writes.length) && (room <= 0 || performance.now() - t0 > SLICE_MS)) continue;
      const items = plan || this.planLine(i);
      if (plan) ahead++;
      this.plans.delete(i);
      planned++;
      this.dirty.delete(i);
      if (this.laneEls[i].firstChild || items.length <= Math.max(room, 1)) {
        writes.push([i, items]);
        finished.push(i);
      } else {
        const n = Math.max(room, 1);
        writes.push([i, items.slice(0, n)]);
        this.pending.set(i, { items, k: n });
      }
      room -= items.length;
    }
    if (finished.length) this.linksDirty = true; // links of the lines just drawn
    const last = planned === jobs.length && !this.pending.size;
    // The arcs (measured now, while nothing is written yet) wait for the next frame when this one's
    // slice is spent: rebuilding them restyles a few hundred SVG elements.
    // So do they after a change planned ahead: that frame has the changed lines' style, layout and paint.
    const arcs = this.linksDirty && last && (!writes.length || (!ahead && performance.now() - t0 <= SLICE_MS)) ? this.planLinks(new Set(finished)) : null;
    for (const [i, items] of writes) this.writeLine(i, items);
    for (const i of finished) this.drawn.add(i);
    if (arcs) { this.linksDirty = false; this.writeLinks(arcs); }
    if (!writes.length && !arcs && this.gone.size) this.clearGone();
    if (this.dirty.size || this.pending.size || this.gone.size || (this.linksDirty && last && !arcs)) this.schedule();
  }

  /** Remove the decorations of a few lines that left the band (their removal is work too: never all at once). */
  clearGone() {
    let k = 0;
    for (const i of this.gone) {
      if (k++ >= GONE_PER_FRAME) break;
      this.gone.delete(i);
      if (this.laneEls[i].firstChild) this.laneEls[i].replaceChildren();
      delete this.decor[i];
      this.drawn.delete(i);
      this.pending.delete(i);
    }
  }

  /**
   * Write a line's planned decorations (planLine) into its overlay, reusing
   * the elements drawn last time under the same key: after a keystroke only
   * the new span's elements are created and only the ones whose class,
   * place or text changed are touched, so the frame restyles, lays out and
   * repaints a handful of elements rather than every decoration of the line
   * (a long paragraph holds 150 and more).
   */
  writeLine(i, items) {
    const box = this.laneEls[i];
    const old = this.decor[i] || new Map(), next = new Map(), els = [];
    for (const d of items) {
      let e = old.get(d.key);
      if (e && e.localName === d.tag) old.delete(d.key);
      else e = document.createElement(d.tag);
      if (e.className !== d.cls) e.className = d.cls;
      if (e.wbCss !== d.css) { e.style.cssText = d.css; e.wbCss = d.css; }
      if (d.text !== undefined && e.textContent !== d.text) e.textContent = d.text;
      if (d.span !== undefined && e.dataset.span !== d.span) e.dataset.span = d.span;
      next.set(d.key, e);
      els.push(e);
    }
    for (const e of old.values()) e.remove();
    if (!box.firstChild) box.append(...els); // drawn for the first time (a line scrolled into the band): inserted at once
    else {
      let at = box.firstChild;
      for (const e of els) { if (e === at) at = at.nextSibling; else box.insertBefore(e, at); }
    }
    if (next.size) this.decor[i] = next; else delete this.decor[i];
  }

  /**
   * Measure where a span about to be made (code points) lies on the lines
   * already measured, before the change dirties the layout (the status line,
   * the lanes): read now, its rects cost no layout, and the redraw of its
   * lines after the change (planAhead) then needs none either, unless the
   * span adds a lane to a line (its line height changes: measured again).
   */
  premeasure(start, end) {
    const a = cpToU16(start, this.astral), b = cpToU16(end, this.astral);
    const [l0, l1] = this.linesOf(a, b);
    for (let i = l0; i <= l1; i++) {
      const g = this.geom[i], ln = this.lines[i];
      if (!g || g.gen !== this.geomGen || g.lanes !== (this.lineLanes[i] || 0) || !this.visible.has(i)) continue;
      g.box = null; // the line's place in the viewport, read again (the page may have scrolled since)
      const x = Math.max(a, ln.start), y = Math.min(b, ln.end);
      if (y > x) g.at(x, y);
      // The span may add a lane to this line: note which row each kept rect lies in (lineRects moves
      // them with their rows then). Only here, for the lines a new span touches: not for every line drawn.
      if (!g.rows) g.rows = this.rowTops(i, g.box || (g.box = this.lineEls[i].getBoundingClientRect()));
      if (g.rowsKnown !== g.rects.size) {
        for (const r of g.rects.values()) for (const rc of r) if (rc.row === undefined) { rc.row = rowOf(g.rows, rc.top); rc.dy = rc.top - g.rows[rc.row]; }
        g.rowsKnown = g.rects.size;
      }
    }
  }

  /**
   * Line i's geometry: its box's size, and the rects of text ranges in it
   * relative to its box (fragments narrower than half a pixel left out).
   * The text never changes, so a range's rects stay right until the line's
   * lane count (its line height), the width or the font changes: a redraw
   * measures only ranges not measured before (after a keystroke, the new
   * span's), and none at all when the selection or a link changed; the
   * line's box is read (which lays out what changed) only then.
   */
  lineRects(i, lanes) {
    let g = this.geom[i];
    if (g && g.gen === this.geomGen && g.lanes !== lanes && g.rows && g.rowsKnown === g.rects.size) {
      // Only the line height changed (a lane more or less): the text wraps as before, so every
      // row moves as a whole. One measuring of the line's rows replaces measuring every range again.
      const box = this.lineEls[i].getBoundingClientRect();
      const rows = this.rowTops(i, box);
      if (rows.length === g.rows.length && Math.abs(box.width - g.w) < 0.01) {
        for (const r of g.rects.values()) for (const rc of r) { rc.top = rows[rc.row] + rc.dy; rc.bottom = rc.top + rc.height; }
        Object.assign(g, { lanes, h: box.height, box, rows });
        g.rowsKnown = g.rects.size;
        return g;
      }
      g = null;
    }
    if (!g || g.gen !== this.geomGen || g.lanes !== lanes) {
      const box = this.lineEls[i].getBoundingClientRect();
      g = { gen: this.geomGen, lanes, w: box.width, h: box.height, box, rows: null, rowsKnown: 0, rects: new Map() };
      g.at = (a, b) => {
        const key = `${a}|${b}`;
        let r = g.rects.get(key);
        if (!r) {
          const box = g.box || (g.box = this.lineEls[i].getBoundingClientRect());
          r = [];
          for (const rc of rectsForU16(this.el, a, b)) {
            if (rc.width < 0.5) continue;
            r.push({ left: rc.left - box.left, top: rc.top - box.top, width: rc.width, height: rc.height, bottom: rc.bottom - box.top });
          }
          g.rects.set(key, r);
        }
        return r;
      };
      this.geom[i] = g;
    } else g.box = null; // its place in the viewport is read again by the next measuring (the page may have scrolled)
    return g;
  }

  /** The tops of line i's rows of text relative to its box (`box`, read just now), from its text's rects. */
  rowTops(i, box) {
    const ln = this.lines[i], tops = [];
    if (ln.end <= ln.start) return tops;
    for (const rc of rectsForU16(this.el, ln.start, ln.end)) {
      const top = rc.top - box.top, last = tops.length - 1;
      if (last >= 0 && Math.abs(top - tops[last]) < ROW_SPLIT) tops[last] = Math.min(tops[last], top); // another run of the same row
      else tops.push(top);
    }
    return tops;
  }

  /**
   * Measure one line's decorations; return them as a list of
   * {key, tag, cls, css, text?, span?} in paint order, for writeLine.
   */
  planLine(i) {
    const out = [];
    const info = this.lineSpans[i];
    const extras = this.lineExtras ? this.lineExtras(i) : null;
    if ((!info || !info.items.length) && !(extras && extras.length)) return out;
    const ln = this.lines[i];
    const lanesHere = this.lineLanes[i] || 0;
    const geo = this.lineRects(i, lanesHere);
    if (Math.abs(geo.h - this.heights[i]) > 0.5) { this.heights[i] = geo.h; this.tops = null; }
    const chipDy = 2 + Math.min(lanesHere, MAX_LANES) * 4;
    const rows = new Map(); // visual row (its bottom) -> {y, chips: [{x, label, cls}], hidden}
    const rowOf = (rc) => {
      const key = Math.round(rc.bottom);
      let r = rows.get(key);
      if (!r) { r = { y: rc.bottom + chipDy, chips: [], hidden: 0 }; rows.set(key, r); }
      return r;
    };
    for (const s of info ? info.items : []) {
      const lane = info.lanes.get(s.id);
      const u = this.spanU16.get(s.id);
      const a = Math.max(u[0], ln.start), b = Math.min(u[1], ln.end);
      if (b <= a) continue;
      const li = this.labelIndex.get(s.label) ?? 0;
      const rects = geo.at(a, b);
      const state = `${s.id === this.selectedId ? " is-sel" : ""}${this.linked.has(s.id) ? " is-linked" : ""}`;
      let first = a === u[0], k = 0;
      for (const rc of rects) {
        out.push({ key: `f${s.id}|${k}`, tag: "div", cls: `wb-fill wb-c${li}${state}`, css: place(rc.left, rc.top, rc.width, rc.height) });
        if (lane < MAX_LANES) {
          out.push({ key: `b${s.id}|${k}`, tag: "div", cls: `wb-bar wb-c${li} wb-k-${this.model.labels.get(s.label)?.kind || "entity"}${state}`, css: place(rc.left, rc.bottom + 1 + lane * 4, rc.width, null) });
        }
        k++;
        if (first) {
          const role = this.marked.get(s.id);
          const row = rowOf(rc);
          if (lane < MAX_LANES) row.chips.push({ id: s.id, x: rc.left, label: role ? `${s.label} · ${role}` : s.label, cls: `wb-chip wb-c${li}${state}` });
          else row.hidden++;
          first = false;
        }
      }
    }
    // Other modules' marks (lineExtras), after the fills so that they show over them.
    const seen = new Map();
    for (const x of extras || []) {
      const a = Math.max(x.start, ln.start), b = Math.min(x.end, ln.end);
      if (b <= a) continue;
      const xkey = `x${a}|${b}`, n = seen.get(xkey) || 0;
      seen.set(xkey, n + 1);
      let k = 0;
      for (const rc of geo.at(a, b)) {
        out.push({ key: `${xkey}|${n}|${k++}`, tag: "div", cls: x.cls, css: place(rc.left, rc.top, rc.width, rc.height) });
      }
    }
    // Chips: each at its span's start if that place is free, else the nearest
    // free place in its row; what does not fit is counted in a "+n" badge.
    // Widths are measured (canvas) and set, so chips never overlap.
    for (const row of rows.values()) {
      const taken = [];
      const placed = [];
      for (const c of row.chips.sort((p, q) => p.x - q.x)) {
        const w = this.chipWidth(c.label);
        const x = freeSlot(taken, c.x, w, geo.w);
        if (x === null) { row.hidden++; continue; }
        taken.push([x, x + w]);
        placed.push({ ...c, x, w });
      }
      if (row.hidden) {
        // The badge goes at the row's right end, in place of the chips there if need be.
        let text = `+${row.hidden}`, w = this.chipWidth(text, true), x;
        while ((x = freeSlot(taken, geo.w - w, w, geo.w)) === null && placed.length) {
          const last = placed.reduce((m, c) => (c.x > m.x ? c : m));
          placed.splice(placed.indexOf(last), 1);
          taken.splice(taken.findIndex(t => t[0] === last.x), 1);
          row.hidden++;
          text = `+${row.hidden}`; w = this.chipWidth(text, true);
        }
        if (x !== null) out.push({ key: `m${Math.round(row.y)}`, tag: "span", cls: "wb-more", css: place(x, row.y, w, null), text });
      }
      // A chip is a handle: drag it onto another span to start a relation (annotate.js).
      for (const c of placed) out.push({ key: `c${c.id}`, tag: "span", cls: c.cls, css: place(c.x, row.y, c.w, null), text: c.label, span: c.id });
    }
    return out;
  }

  /**
   * Width of a chip (or of the "+n" badge) with this text, in px: measured
   * once per text on a canvas in the chip's font, plus its padding and
   * border (.wb-chip, .wb-more in annotate.css).
   */
  chipWidth(text, badge = false) {
    if (!this.chipFit) {
      const ctx = document.createElement("canvas").getContext("2d");
      const family = getComputedStyle(document.documentElement).getPropertyValue("--font").trim() || "sans-serif";
      this.chipFit = { ctx, family, widths: new Map() };
    }
    const { ctx, family, widths } = this.chipFit;
    const key = `${badge ? 1 : 0}${text}`;
    let w = widths.get(key);
    if (w === undefined) {
      ctx.font = badge ? `700 10px ${family}` : `700 9.5px ${family}`;
      const spacing = badge ? 0 : 0.03 * 9.5 * [...text].length; // letter-spacing: .03em
      w = Math.ceil(ctx.measureText(text).width + spacing + (badge ? 8 : 8) + 1); // padding 0 3px; border 2px (chip) or 1px each side (badge)
      widths.set(key, w);
    }
    return w;
  }

  /** Mark a span as selected (fill, thicker bar, chip). */
  select(id) {
    const prev = this.selectedId;
    this.selectedId = id;
    for (const sid of [prev, id]) this.dirtySpan(sid);
    this.refreshMarks();
    this.planSoon();
    this.schedule();
  }

  /** Set the spans linked to the selection (relations/attributions members) and role tags. */
  setLinks(ids, marks = new Map()) {
    const before = new Set([...this.linked, ...this.marked.keys()]);
    this.linked = new Set(ids);
    this.marked = marks;
    for (const id of [...before, ...this.linked, ...this.marked.keys()]) this.dirtySpan(id);
    this.linksDirty = true;
    this.planSoon();
    this.schedule();
  }

  refreshMarks() { /* chips read this.marked at draw time */ }

  dirtySpan(id) {
    if (!id) return;
    const u = this.spanU16.get(id);
    if (!u) return;
    const [l0, l1] = this.linesOf(u[0], u[1]);
    for (let i = l0; i <= l1; i++) this.markDirty(i);
  }

  /** Scroll a span into view in the text. */
  reveal(id) {
    const u = this.spanU16.get(id);
    if (!u) return;
    const rc = rectsForU16(this.el, u[0], u[1], true);
    const box = this.el.getBoundingClientRect();
    if (rc.top < box.top + 20 || rc.bottom > box.bottom - 40) {
      // Glide over a short distance; jump at once over a long one, so the
      // lines in between are never laid out on the way (and the line heights
      // are known in advance, so the jump lands where it should).
      const dy = rc.top - box.top - box.height / 3;
      const smooth = Math.abs(dy) < 2 * box.height && !matchMedia("(prefers-reduced-motion: reduce)").matches;
      this.el.scrollTo({ top: this.el.scrollTop + dy, behavior: smooth ? "smooth" : "auto" });
    }
  }

  /**
   * Anchor point (content coordinates) at the top middle of a span's first
   * fragment; `box` is the scroller's origin. The point relative to its line
   * is cached until the line changes (lanes, spans) or the width does, so a
   * redraw reads only the line's box, which needs no layout of its text even
   * when content-visibility skipped it.
   */
  anchor(id, box = this.origin()) {
    const u = this.spanU16.get(id);
    if (!u) return null;
    const li = lineAt(this.lines, u[0]);
    const lb = this.lineEls[li].getBoundingClientRect();
    let cache = this.anchors.get(li);
    if (!cache) { cache = new Map(); this.anchors.set(li, cache); }
    let rel = cache.get(id);
    if (rel === undefined) {
      const rects = rectsForU16(this.el, u[0], u[1]);
      const rc = Array.from(rects).find(r => r.width > 0.5) || rects[0];
      rel = rc ? { dx: rc.left - lb.left + Math.min(rc.width, 160) / 2, dy: rc.top - lb.top, h: rc.height } : null;
      cache.set(id, rel);
    }
    if (!rel) return null;
    return { x: lb.left - box.x + rel.dx, y: lb.top - box.y + rel.dy, h: rel.h };
  }

  /** Viewport position of the scroller's content origin (reads layout). */
  origin() {
    const box = this.el.getBoundingClientRect();
    return { x: box.left + this.el.clientLeft - this.el.scrollLeft, y: box.top + this.el.clientTop - this.el.scrollTop };
  }

  /** Line of a span's first character, or -1. */
  lineOfSpan(id) {
    const u = this.spanU16.get(id);
    return u ? u[2] : -1; // kept with the span's offsets: the arcs ask for every link's two ends on every redraw
  }

  /** Every relation and attribution spoke of the layer: [{from, to, kind, label}]. */
  allLinks() {
    const out = [];
    for (const r of this.model.relations.values()) out.push({ from: r.head, to: r.tail, kind: "rel", label: r.type });
    for (const a of this.model.attributions.values()) out.push(...attributionSpokes(a));
    return out;
  }

  /**
   * Measure the arcs to draw (reads only). The selected item's links are
   * drawn whole; with showAll, the other links with an end in the visible
   * band are drawn muted, and an end outside the band becomes a stub.
   */
  planLinks(drawing = null) {
    const sel = this.links || [];
    const key = (l) => `${l.kind}|${l.from}|${l.to}|${l.label}`;
    const selKeys = new Set(sel.map(key));
    const bg = [];
    if (this.showAll && this.visible.size) {
      let lo = Infinity, hi = -Infinity;
      for (const i of this.visible) { if (i < lo) lo = i; if (i > hi) hi = i; }
      const inBand = (i) => i >= lo && i <= hi && this.visible.has(i);
      // An end on a line of the band whose decorations are not drawn yet (draw
      // slices them over frames) waits for them: measuring it now would lay
      // that line out in this frame. Drawing the line brings its links.
      const ready = (i) => this.drawn.has(i) || (drawing && drawing.has(i));
      for (const l of this.allLinks()) {
        if (selKeys.has(key(l))) continue;
        const la = this.lineOfSpan(l.from), lb = this.lineOfSpan(l.to);
        if (la < 0 || lb < 0) continue;
        const ia = inBand(la), ib = inBand(lb);
        if ((ia && !ready(la)) || (ib && !ready(lb))) continue;
        if (ia || ib) bg.push({ ...l, stub: ia && ib ? 0 : ia ? (lb < lo ? -1 : 1) : (la < lo ? -1 : 1), outside: ia ? "to" : "from" });
      }
    }
    if (!sel.length && !bg.length) return { sel: [], bg: [] };
    const box = this.origin();
    const cache = new Map();
    const at = (id) => { if (!cache.has(id)) cache.set(id, this.anchor(id, box)); return cache.get(id); };
    const shape = (l) => {
      if (l.stub) {
        const a = at(l.outside === "to" ? l.from : l.to);
        return a ? { ...l, a } : null;
      }
      const a = at(l.from), b = at(l.to);
      return a && b ? { ...l, a, b } : null;
    };
    // Ends on different rows: a curve between them would cross the text in
    // between. A muted link becomes a stub at each end (pointing to the
    // other); the selection's links go round through the left margin.
    const gutter = this.lineEls[0].getBoundingClientRect().left - box.x;
    const apart = (l) => !l.stub && Math.abs(l.a.y - l.b.y) > 4;
    const bgOut = [];
    for (const l of bg.map(shape).filter(Boolean)) {
      if (!apart(l)) { bgOut.push(l); continue; }
      const down = l.b.y > l.a.y ? 1 : -1;
      bgOut.push({ ...l, stub: down, outside: "to", b: undefined });
      bgOut.push({ ...l, stub: -down, outside: "from", a: l.b, b: undefined });
    }
    const selOut = sel.map(shape).filter(Boolean);
    let k = 0;
    for (const l of selOut) if (apart(l)) l.route = Math.max(4, gutter - 10 - (k++ % 4) * 6);
    return { sel: selOut, bg: bgOut };
  }

  /** Write the planned arcs into the SVG (writes only): muted links first, the selection's on top. */
  writeLinks(plan) {
    const svg = this.svg;
    // Nothing moved (a change elsewhere, a band shift without new links): keep the SVG as it is.
    const pt = (p) => (p ? `${Math.round(p.x)},${Math.round(p.y)}` : "");
    const key = [...plan.sel, "|", ...plan.bg].map(l => (l === "|" ? l : `${l.kind}:${l.label}:${l.stub || 0}${l.outside || ""}:${pt(l.a)}:${pt(l.b)}`)).join(";");
    if (key === this.linksKey) return;
    this.linksKey = key;
    if (!plan.sel.length && !plan.bg.length) { svg.replaceChildren(); return; }
    // The SVG itself is 1x1 with visible overflow: its arcs never add to the
    // scroller's scrollable area, so drawing cannot change the band's
    // layout (no feedback loop, no stale scroll height).
    const NS = "http://www.w3.org/2000/svg";
    const frag = document.createDocumentFragment();
    const defs = document.createElementNS(NS, "defs");
    for (const [id, size] of [["wb-arrow", 7], ["wb-arrow-bg", 5]]) {
      const marker = document.createElementNS(NS, "marker");
      marker.setAttribute("id", id); marker.setAttribute("viewBox", "0 0 10 10");
      marker.setAttribute("refX", "9"); marker.setAttribute("refY", "5");
      marker.setAttribute("markerWidth", String(size)); marker.setAttribute("markerHeight", String(size)); marker.setAttribute("orient", "auto-start-reverse");
      const tip = document.createElementNS(NS, "path"); tip.setAttribute("d", "M0,0 L10,5 L0,10 z"); tip.setAttribute("class", "wb-arrow-tip");
      marker.appendChild(tip); defs.appendChild(marker);
    }
    frag.appendChild(defs);
    const group = (cls, items, arrow, muted) => {
      const g = document.createElementNS(NS, "g");
      g.setAttribute("class", cls);
      for (const l of items) {
        let d, lx, ly, label = l.label;
        if (l.route !== undefined) {
          // Round through the left margin: up into the gap above the first end,
          // along it to the margin, down (or up) the margin, along the gap above
          // the other end and into it. No segment crosses a row of text.
          const { a, b } = l, gx = l.route, ya = a.y - ROUTE_GAP, yb = b.y - ROUTE_GAP;
          d = `M${a.x},${a.y} V${ya} H${gx} V${yb} H${b.x} V${b.y}`;
          lx = a.x - 4; ly = ya - 3;
        } else if (l.stub) {
          // A short hook out of the visible end, pointing to where the other end lies.
          // It stays in the gap above the line, clear of the previous line's chips.
          const { a } = l, up = l.stub < 0;
          const ex = a.x + 24, ey = up ? a.y - 15 : a.y - 1;
          const cx = a.x + (up ? 2 : 12), cy = a.y - 17;
          d = l.outside === "to" ? `M${a.x},${a.y} Q${cx},${cy} ${ex},${ey}` : `M${ex},${ey} Q${cx},${cy} ${a.x},${a.y}`;
          lx = ex + 4; ly = a.y - 7;
          label = `${l.label} ${up ? "↑" : "↓"}`;
        } else if (muted) {
          // Flat arcs whose apex sits a fixed height above the higher end, in the gap between lines;
          // l.level (see levelLabels) raises it one label height when labels would collide.
          const { a, b } = l;
          const top = Math.min(a.y, b.y), dy = Math.abs(b.y - a.y);
          const apex = apexHeight(a, b, l.level || 0);
          const cx = (a.x + b.x) / 2, cy = top - 2 * apex - dy / 2;
          d = `M${a.x},${a.y} Q${cx},${cy} ${b.x},${b.y}`;
          lx = cx; ly = top - apex - 2; // the apex (t = 1/2) is `apex` above the higher end
        } else {
          // Ends on one row: an arc whose apex stays in the gap above the row.
          const { a, b } = l;
          const lift = Math.max(18, Math.min(28, Math.abs(b.x - a.x) / 4));
          const cx = (a.x + b.x) / 2, cy = Math.min(a.y, b.y) - lift;
          d = `M${a.x},${a.y} Q${cx},${cy} ${b.x},${b.y}`;
          lx = cx; ly = (a.y + b.y) / 4 + cy / 2 - 3; // the curve's apex (t = 1/2)
        }
        const path = document.createElementNS(NS, "path");
        path.setAttribute("d", d);
        path.setAttribute("class", `wb-link wb-link-${l.kind}${l.stub ? " wb-link-stub" : ""}`);
        path.setAttribute("marker-end", `url(#${arrow})`);
        g.appendChild(path);
        const t = document.createElementNS(NS, "text");
        t.setAttribute("x", String(lx)); t.setAttribute("y", String(ly));
        t.setAttribute("class", "wb-link-label");
        t.setAttribute("text-anchor", l.route !== undefined ? "end" : l.stub ? "start" : "middle");
        t.textContent = label;
        g.appendChild(t);
      }
      return g;
    };
    levelLabels(plan.bg);
    if (plan.bg.length) frag.appendChild(group("wb-links-bg", plan.bg, "wb-arrow-bg", true));
    if (plan.sel.length) frag.appendChild(group("wb-links-sel", plan.sel, "wb-arrow", false));
    svg.replaceChildren(frag);
  }

  /** Measure and draw the links now. */
  drawLinks() {
    this.linksDirty = false;
    this.writeLinks(this.planLinks());
  }
}

const LABEL_H = 11;
const ROUTE_GAP = 6; // a routed link runs this far above the rows it joins

/** Height of a muted arc's apex above its higher end, for a label level. */
function apexHeight(a, b, level) {
  return Math.max(6, Math.min(9, Math.abs(b.x - a.x) / 24)) + level * LABEL_H;
}

/**
 * Give muted arcs a level so their labels do not overlap: shorter arcs first,
 * each on the lowest level whose label box is free (estimated widths, no
 * measuring). Stub labels keep their place and only block others.
 */
function levelLabels(items) {
  const boxes = [];
  const hits = (x0, x1, y0, y1) => boxes.some(b => x0 < b[1] && b[0] < x1 && y0 < b[3] && b[2] < y1);
  const width = (l) => l.label.length * 5.4 + 6;
  for (const l of items) {
    if (!l.stub) continue;
    const x = l.a.x + 28, y = l.a.y - 7;
    boxes.push([x, x + width(l) + 10, y - 9, y + 2]);
  }
  const arcs = items.filter(l => !l.stub).sort((p, q) => Math.abs(p.b.x - p.a.x) - Math.abs(q.b.x - q.a.x));
  for (const l of arcs) {
    const top = Math.min(l.a.y, l.b.y), cx = (l.a.x + l.b.x) / 2, w = width(l) / 2;
    let level = 0;
    for (; level < 2; level++) { // level 2 at most: higher would reach the row above
      const y = top - apexHeight(l.a, l.b, level) - 2;
      if (!hits(cx - w, cx + w, y - 9, y + 2)) break;
    }
    l.level = level;
    const y = top - apexHeight(l.a, l.b, level) - 2;
    boxes.push([cx - w, cx + w, y - 9, y + 2]);
  }
}

/**
 * An attribution as spokes from its hub (the cue, or the source when no cue
 * is named): a solid spoke to the source and a dashed one to each content.
 */
export function attributionSpokes(a) {
  const hub = a.cue || a.source;
  if (!hub) return [];
  const out = [];
  if (a.cue && a.source) out.push({ from: a.cue, to: a.source, kind: "source", label: "source" });
  for (const c of a.content) if (c !== hub) out.push({ from: hub, to: c, kind: "content", label: "content" });
  return out;
}

function sig(s) { return `${s.label}|${s.start}|${s.end}`; }

const CHIP_GAP = 3;
const ROW_SPLIT = 16; // px: text rects of one row lie closer together than this (rows are 1.2em + 36px apart at least)

/** The row (index into tops, the rows' tops in order) a rect whose top is `top` lies in. */
function rowOf(tops, top) {
  let k = 0;
  for (let j = 1; j < tops.length; j++) if (Math.abs(tops[j] - top) < Math.abs(tops[k] - top)) k = j;
  return k;
}

/**
 * The free x nearest to `want` for a box of width w in [0, max], given the
 * boxes already taken ([x0, x1] pairs) and a gap between boxes; null when
 * none is free.
 */
function freeSlot(taken, want, w, max) {
  const hi = max - w;
  if (hi < 0) return null;
  const fits = (x) => x >= 0 && x <= hi && taken.every(([a, b]) => x + w + CHIP_GAP <= a || x >= b + CHIP_GAP);
  const clamp = (x) => Math.min(Math.max(x, 0), hi);
  const candidates = [clamp(want)];
  for (const [a, b] of taken) candidates.push(clamp(b + CHIP_GAP), clamp(a - CHIP_GAP - w));
  let best = null;
  for (const x of candidates) if (fits(x) && (best === null || Math.abs(x - want) < Math.abs(best - want))) best = x;
  return best;
}

/** A decoration's place as one style declaration block (parsed once, not four properties set). */
function place(x, y, w, h) {
  return `left:${x}px;top:${y}px${w !== null ? `;width:${w}px` : ""}${h !== null ? `;height:${h}px` : ""}`;
}

/** One-line description of a span: label, attributes, quote. */
export function describe(s, text = null) {
  const attrs = Object.entries(s.attrs || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  return `${s.label}${attrs ? ` (${attrs})` : ""}${text ? `: ${text}` : ""} [${s.start}–${s.end}]`;
}
