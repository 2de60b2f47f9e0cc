// Drawing the annotate page's text layer and its decorations.
//
// - The text layer is built once: one block per line, each holding a single
//   Text node made with createTextNode. Nothing is ever inserted into a block.
//   Lines far from the viewport are skipped by content-visibility: auto; each
//   line's height is computed before it is ever laid out (sizeLines: canvas
//   word widths, wrapped as pre-wrap wraps them), so the scroll height is
//   right from the first frame and jumps land in one move.
// - Fills: one CSS Custom Highlight per label (wb-l<N>), rules generated into a
//   constructed stylesheet, holding the ranges of the spans on lines near the
//   viewport only (syncFills); overlay rectangles when CSS.highlights is missing.
// - Lanes: per line, spans get a lane by first fit (containers before
//   contents); bars and label chips are drawn in an overlay next to the block,
//   only for lines an IntersectionObserver reports near the viewport, nearest
//   first and a few milliseconds per frame (draw). A line that scrolls away
//   keeps its overlay, so coming back costs nothing unless it changed.
// - Links: an SVG inside the scroller draws relations and attributions as
//   quadratic arcs above the text, label at the apex. The selected item's arcs
//   are emphasised and drawn on top; with "Show links" on, every other link
//   with an end in the band the IntersectionObserver reports is drawn muted,
//   and an end outside that band becomes a short directional stub. The arcs
//   are redrawn only when the band, the layer, the selection or the width
//   changes, in the same frame as the lanes (all reads, then all writes).

import { splitLines, attachLayout, cpToU16, lineAt, staticRangeForU16, rangeForU16 } from "./offsets.js";

const MAX_LANES = 5;
const SLICE_MS = 4;      // per frame, for drawing the decorations of lines in the band
const PROBE = "Probe text, 0123456789"; // tells whether the text's font changed since the widths were measured
const KIND_PRIORITY = { claim: 1, entity: 2, cue: 3 };
const hasHighlights = typeof CSS !== "undefined" && CSS.highlights && typeof Highlight !== "undefined";

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
    // Scoped to the text blocks: a ::highlight rule that matches every element makes
    // each element's style (decorations, panel rows) resolve every highlight's style too.
    rules.push(`.wb-block::highlight(wb-l${i}) { background-color: rgba(${r}, ${g}, ${b}, ${l.kind === "claim" ? 0.13 : 0.26}); }`);
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
    this.ranges = new Map();      // span id -> StaticRange (painting)
    this.filled = new Map();      // span id -> the Highlight its range is in (spans near the viewport only)
    this.spanU16 = new Map();     // span id -> [s, e] in UTF-16
    this.lineSpans = [];          // line index -> spans (with lane) in reading order
    this.lineLanes = [];
    this.visible = new Set();     // lines in the band the IntersectionObserver reports (the viewport ± its height)
    this.dirty = new Set();       // lines whose decorations must be drawn again
    this.drawn = new Set();       // lines whose decorations are up to date
    this.selectedId = null;
    this.linked = new Set();
    this.marked = new Map();      // span id -> role tag shown in chips (attribution form)
    this.links = [];              // the selected item's links: [{from, to, kind, label}]
    this.showAll = true;          // also draw every link near the viewport (muted)
    this.linksDirty = true;       // band, layer, selection or width changed since the last arcs
    this.anchors = new Map();     // line -> Map(span id -> anchor relative to the line box); geometry cache
    this.frame = 0;
  }

  /** Turn the muted arcs for all links near the viewport on or off. */
  setShowAll(on) {
    if (this.showAll === on) return;
    this.showAll = on;
    this.linksDirty = true;
    this.schedule();
  }

  /** Build the text blocks (once). */
  buildText(astral) {
    this.astral = astral;
    this.lines = splitLines(this.text);
    const frag = document.createDocumentFragment();
    this.lineEls = [];
    this.blockEls = [];
    this.laneEls = [];
    for (let i = 0; i < this.lines.length; i++) {
      const ln = this.lines[i];
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
      frag.appendChild(line);
      this.lineEls.push(line);
      this.blockEls.push(block);
      this.laneEls.push(lanes);
    }
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
    this.highlights = new Map();
    if (hasHighlights) {
      for (const [name, i] of this.labelIndex) {
        const h = new Highlight();
        const kind = this.model.labels.get(name).kind;
        h.priority = KIND_PRIORITY[kind] || 1;
        this.highlights.set(name, h);
        CSS.highlights.set(`wb-l${i}`, h);
      }
      this.selHl = new Highlight(); this.selHl.priority = 10; CSS.highlights.set("wb-sel", this.selHl);
      this.linkHl = new Highlight(); this.linkHl.priority = 9; CSS.highlights.set("wb-link", this.linkHl);
    }
    for (const s of this.model.sorted()) this.addRange(s);
    this.computeLanes();
    this.sizeLines();
    this.observe();
  }

  /**
   * Give every line its height before it is ever laid out, so the scroll
   * height is right from the first frame and a jump lands in one move.
   * content-visibility: auto skips the layout of lines far from the
   * viewport and uses contain-intrinsic-size for them instead; that size
   * is computed here: the width of each word and run of spaces, measured
   * once per distinct string on a canvas in the text's font, wrapped the
   * way white-space: pre-wrap does in the line's width, times the line
   * height the lanes give (the CSS rules for .wb-block). About 15 ms for
   * 100,000 characters; a line laid out on screen takes its real size.
   */
  sizeLines(only = null) {
    if (!this.fit) {
      const cs = getComputedStyle(this.blockEls[0]);
      const ctx = document.createElement("canvas").getContext("2d");
      ctx.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
      this.fit = { ctx, fs: parseFloat(cs.fontSize) || 16, widths: new Map(), width: this.lineEls[0].clientWidth, probe: ctx.measureText(PROBE).width };
      this.estimates = new Float64Array(this.lineEls.length);
    }
    const targets = only || this.lineEls.keys();
    for (const i of targets) {
      const h = this.estimateHeight(i);
      if (this.estimates[i] === h) continue;
      this.estimates[i] = h;
      this.lineEls[i].style.containIntrinsicSize = `${h}px`;
    }
  }

  /** The height line i takes at the current width (px), from its text and lane count. */
  estimateHeight(i) {
    const { ctx, fs, widths, width } = this.fit;
    const ln = this.lines[i];
    const t = this.text.slice(ln.start, ln.end);
    const lanes = Math.min(this.lineLanes[i] || 0, MAX_LANES);
    const minH = 1.75 * fs;                                   // .wb-block min-height
    if (!t.length || width <= 0) return minH;
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
    if (lanes) return Math.max(minH, rows * (1.2 * fs + 28 + lanes * 8)); // .wb-line.has-lanes .wb-block line-height
    return Math.max(minH, rows * 1.75 * fs + 0.35 * fs);      // line-height 1.75, padding-bottom .35em
  }

  addRange(s) {
    const a = cpToU16(s.start, this.astral), b = cpToU16(s.end, this.astral);
    this.spanU16.set(s.id, [a, b]);
    if (!hasHighlights) return;
    this.ranges.set(s.id, staticRangeForU16(this.el, a, b));
    this.fillsDirty = true; // filled by syncFills when one of its lines is in the band
  }

  removeRange(id) {
    const h = this.filled.get(id);
    if (h) h.delete(this.ranges.get(id));
    this.filled.delete(id);
    this.ranges.delete(id);
    this.spanU16.delete(id);
  }

  /**
   * Fill only the spans with a line in the band (the viewport and a screen
   * above and below it). After any change to the page, Chromium rebuilds its
   * highlight markers from every range of every highlight: with all 3,000
   * spans filled, each frame that adds decorations paid for all of them.
   */
  syncFills() {
    this.fillsDirty = false;
    if (this.onBand) this.onBand(this.visible); // others that paint only near the viewport (suggestions.js)
    if (!hasHighlights) return;
    const want = new Set();
    for (const i of this.visible) { const info = this.lineSpans[i]; if (info) for (const sp of info.items) want.add(sp.id); }
    for (const [id, h] of this.filled) if (!want.has(id)) { h.delete(this.ranges.get(id)); this.filled.delete(id); }
    for (const id of want) {
      if (this.filled.has(id)) continue;
      const sp = this.model.spans.get(id), r = this.ranges.get(id), h = sp && this.highlights.get(sp.label);
      if (r && h) { h.add(r); this.filled.set(id, h); }
    }
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
    this.computeLanes(lines);
    this.refreshMarks();
    this.linksDirty = true;
    this.schedule();
  }

  /** Re-read everything from the model (after a reload). */
  resetAll() {
    if (hasHighlights) for (const h of this.highlights.values()) h.clear();
    this.filled.clear();
    this.ranges.clear();
    this.spanU16.clear();
    this.anchors.clear();
    for (const s of this.model.sorted()) this.addRange(s);
    this.computeLanes();
    this.refreshMarks();
    this.drawn.clear();
    for (const i of this.visible) this.dirty.add(i);
    this.linksDirty = true;
    this.schedule();
  }

  /** Lines touched by UTF-16 [a, b). */
  linesOf(a, b) {
    return [lineAt(this.lines, a), lineAt(this.lines, Math.max(a, b - 1))];
  }

  /** Assign lanes per line (first fit, containers first) and set --lanes on blocks whose count changed. */
  computeLanes(only = null) {
    const n = this.lines.length;
    const per = new Map();
    const targets = only ? Array.from(only) : Array.from({ length: n }, (_, i) => i);
    for (const i of targets) per.set(i, []);
    if (only) {
      // Only the lines a change touched: pick their spans from the sorted list.
      for (const i of targets) {
        const ln = this.lines[i];
        const out = per.get(i);
        for (const s of this.model.sorted()) {
          const u = this.spanU16.get(s.id);
          if (!u) continue;
          if (u[0] > ln.end) break;
          const [l0, l1] = this.linesOf(u[0], u[1]);
          if (l0 <= i && i <= l1) out.push(s);
        }
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
        this.dirty.add(i);
      }
      if (this.lineLanes[i] !== count) {
        this.lineLanes[i] = count;
        this.lineEls[i].classList.toggle("has-lanes", count > 0);
        this.lineEls[i].style.setProperty("--lanes", String(count));
        this.dirty.add(i);
        if (this.fit) this.sizeLines([i]);
      }
    }
  }

  observe() {
    this.io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const i = Number(e.target.dataset.line);
        // A line that leaves the band keeps its decorations (content-visibility
        // skips them with the line); one that comes back is redrawn only if
        // something changed meanwhile.
        if (e.isIntersecting) { this.visible.add(i); if (!this.drawn.has(i)) this.dirty.add(i); }
        else this.visible.delete(i);
      }
      if (entries.length) { this.linksDirty = true; this.fillsDirty = true; } // the band moved
      this.schedule();
    }, { root: this.el, rootMargin: "100% 0px" });
    for (const l of this.lineEls) this.io.observe(l);
    this.ro = new ResizeObserver(() => {
      const w = this.el.clientWidth;
      if (w === this.width) return;
      this.width = w;
      const lw = this.lineEls[0].clientWidth;
      if (this.fit && lw !== this.fit.width) { this.fit.width = lw; this.sizeLines(); }
      this.drawn.clear();
      for (const i of this.visible) this.dirty.add(i);
      this.anchors.clear();
      this.linksDirty = true;
      this.schedule();
    });
    this.ro.observe(this.el);
    if (document.fonts) document.fonts.ready.then(() => {
      // A font that arrived late changes the widths: measure again.
      if (this.fit.ctx.measureText(PROBE).width !== this.fit.probe) { this.fit = null; this.sizeLines(); }
      this.anchors.clear(); this.linksDirty = true; this.schedule();
    });
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  /**
   * Draw (reads all rects first, then writes). Dirty lines of the band are
   * drawn nearest to the viewport first, for SLICE_MS per frame (at least
   * one line), so that a jump to a new part of the article never turns into
   * one long task: the rest waits for the next frame.
   */
  draw() {
    const t0 = performance.now();
    let jobs = [];
    for (const i of this.dirty) {
      this.anchors.delete(i);
      this.drawn.delete(i);
      if (this.visible.has(i)) jobs.push(i); else this.dirty.delete(i);
    }
    if (jobs.length > 1) {
      const box = this.el.getBoundingClientRect();
      const dist = new Map(jobs.map(i => {
        const r = this.lineEls[i].getBoundingClientRect();
        return [i, r.bottom < box.top ? box.top - r.bottom : r.top > box.bottom ? r.top - box.bottom : 0];
      }));
      jobs.sort((a, b) => dist.get(a) - dist.get(b));
    }
    const done = [], plans = [];
    for (const i of jobs) {
      if (done.length && performance.now() - t0 > SLICE_MS) break;
      plans.push(this.planLine(i));
      done.push(i);
    }
    if (done.length) this.linksDirty = true; // links of the lines just drawn
    const arcs = this.linksDirty ? this.planLinks(new Set(done)) : null; // still reading: nothing written yet
    done.forEach((i, k) => { this.laneEls[i].replaceChildren(plans[k]); this.dirty.delete(i); this.drawn.add(i); });
    if (arcs) { this.linksDirty = false; this.writeLinks(arcs); }
    if (this.fillsDirty) this.syncFills();
    if (this.dirty.size) this.schedule();
  }

  /** Measure one line's decorations; return a fragment to insert. */
  planLine(i) {
    const frag = document.createDocumentFragment();
    const info = this.lineSpans[i];
    if (!info || !info.items.length) return frag;
    const base = this.lineEls[i].getBoundingClientRect();
    const ln = this.lines[i];
    const hidden = new Map();
    const lanesHere = this.lineLanes[i] || 0;
    const chipRight = new Map(); // visual row -> right edge of the last chip
    for (const s of info.items) {
      const lane = info.lanes.get(s.id);
      const u = this.spanU16.get(s.id);
      const a = Math.max(u[0], ln.start), b = Math.min(u[1], ln.end);
      if (b <= a) continue;
      const li = this.labelIndex.get(s.label) ?? 0;
      const rects = rangeForU16(this.el, a, b).getClientRects();
      const selected = s.id === this.selectedId;
      const linked = this.linked.has(s.id);
      let first = a === u[0];
      for (const rc of rects) {
        if (rc.width < 0.5) continue;
        if (!hasHighlights) {
          const fill = document.createElement("div");
          fill.className = `wb-fill wb-c${li}${selected ? " is-sel" : ""}`;
          place(fill, rc.left - base.left, rc.top - base.top, rc.width, rc.height);
          frag.appendChild(fill);
        }
        const row = Math.round(rc.bottom);
        if (lane < MAX_LANES) {
          const bar = document.createElement("div");
          bar.className = `wb-bar wb-c${li} wb-k-${this.model.labels.get(s.label)?.kind || "entity"}${selected ? " is-sel" : ""}${linked ? " is-linked" : ""}`;
          place(bar, rc.left - base.left, rc.bottom - base.top + 1 + lane * 4, rc.width, null);
          frag.appendChild(bar);
        } else if (first) {
          hidden.set(row, (hidden.get(row) || 0) + 1);
        }
        if (first) {
          const chip = document.createElement("span");
          chip.className = `wb-chip wb-c${li}${selected ? " is-sel" : ""}${linked ? " is-linked" : ""}`;
          chip.dataset.span = s.id; // a chip is a handle: drag it onto another span to start a relation (annotate.js)
          const role = this.marked.get(s.id);
          const label = role ? `${s.label} · ${role}` : s.label;
          chip.textContent = label;
          let x = rc.left - base.left;
          const prev = chipRight.get(row);
          if (prev !== undefined && x < prev + 3) x = prev + 3;
          const w = label.length * 6.2 + 8; // estimated: measuring would cost a layout per chip
          if (x + w > base.width) x = Math.max(0, base.width - w); // lines clip overflow (content-visibility)
          chipRight.set(row, x + w);
          place(chip, x, rc.bottom - base.top + 2 + Math.min(lanesHere, MAX_LANES) * 4, null, null);
          frag.appendChild(chip);
          first = false;
        }
      }
    }
    for (const [row, n] of hidden) {
      const more = document.createElement("span");
      more.className = "wb-more";
      more.textContent = `+${n}`;
      place(more, Math.max(0, base.width - 28), row - base.top + 2 + Math.min(lanesHere, MAX_LANES) * 4, null, null);
      frag.appendChild(more);
    }
    return frag;
  }

  /** Mark a span as selected (fill, thicker bar, chip). */
  select(id) {
    const prev = this.selectedId;
    this.selectedId = id;
    if (hasHighlights) {
      this.selHl.clear();
      if (id && this.ranges.get(id)) this.selHl.add(this.ranges.get(id));
    }
    for (const sid of [prev, id]) this.dirtySpan(sid);
    this.refreshMarks();
    this.schedule();
  }

  /** Set the spans linked to the selection (relations/attributions members) and role tags. */
  setLinks(ids, marks = new Map()) {
    const before = new Set([...this.linked, ...this.marked.keys()]);
    this.linked = new Set(ids);
    this.marked = marks;
    if (hasHighlights) {
      this.linkHl.clear();
      for (const id of this.linked) if (this.ranges.get(id)) this.linkHl.add(this.ranges.get(id));
    }
    for (const id of [...before, ...this.linked, ...this.marked.keys()]) this.dirtySpan(id);
    this.linksDirty = true;
    this.schedule();
  }

  refreshMarks() { /* chips read this.marked at draw time */ }

  dirtySpan(id) {
    if (!id) return;
    const u = this.spanU16.get(id);
    if (!u) return;
    const [l0, l1] = this.linesOf(u[0], u[1]);
    for (let i = l0; i <= l1; i++) this.dirty.add(i);
  }

  /** Scroll a span into view in the text. */
  reveal(id) {
    const u = this.spanU16.get(id);
    if (!u) return;
    const rc = rangeForU16(this.el, u[0], u[1]).getBoundingClientRect();
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
      const rects = rangeForU16(this.el, u[0], u[1]).getClientRects();
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
    return u ? lineAt(this.lines, u[0]) : -1;
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
    return {
      sel: sel.map(shape).filter(Boolean),
      bg: bg.map(shape).filter(Boolean),
    };
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
    // scroller's scrollable area, so drawing cannot change the layout the
    // IntersectionObserver watches (no feedback loop, no stale scroll height).
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
        if (l.stub) {
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
          const { a, b } = l;
          const lift = Math.max(18, Math.min(70, Math.abs(b.x - a.x) / 4 + Math.abs(b.y - a.y) / 6));
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
        t.setAttribute("text-anchor", l.stub ? "start" : "middle");
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
    for (; level < 3; level++) {
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

function place(el, x, y, w, h) {
  el.style.left = `${x}px`;
  el.style.top = `${y}px`;
  if (w !== null) el.style.width = `${w}px`;
  if (h !== null) el.style.height = `${h}px`;
}

/** One-line description of a span: label, attributes, quote. */
export function describe(s, text = null) {
  const attrs = Object.entries(s.attrs || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  return `${s.label}${attrs ? ` (${attrs})` : ""}${text ? `: ${text}` : ""} [${s.start}–${s.end}]`;
}
