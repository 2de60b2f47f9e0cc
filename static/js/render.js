// Drawing the annotate page's text layer and its decorations.
//
// - The text layer is built once: one block per line, each holding a single
//   Text node made with createTextNode. Nothing is ever inserted into a block.
// - Fills: one CSS Custom Highlight per label (wb-l<N>), rules generated into a
//   constructed stylesheet; overlay rectangles when CSS.highlights is missing.
// - Lanes: per line, spans get a lane by first fit (containers before
//   contents); bars and label chips are drawn in an overlay next to the block,
//   only for lines an IntersectionObserver reports near the viewport.
// - Links: an SVG inside the scroller draws the selected item's relations and
//   attributions.

import { splitLines, attachLayout, cpToU16, lineAt, staticRangeForU16, rangeForU16 } from "./offsets.js";

const MAX_LANES = 5;
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
    rules.push(`::highlight(wb-l${i}) { background-color: rgba(${r}, ${g}, ${b}, ${l.kind === "claim" ? 0.13 : 0.26}); }`);
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
    this.spanU16 = new Map();     // span id -> [s, e] in UTF-16
    this.lineSpans = [];          // line index -> spans (with lane) in reading order
    this.lineLanes = [];
    this.visible = new Set();
    this.dirty = new Set();
    this.selectedId = null;
    this.linked = new Set();
    this.marked = new Map();      // span id -> role tag shown in chips (attribution form)
    this.frame = 0;
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
    this.observe();
  }

  addRange(s) {
    const a = cpToU16(s.start, this.astral), b = cpToU16(s.end, this.astral);
    this.spanU16.set(s.id, [a, b]);
    if (!hasHighlights) return;
    const r = staticRangeForU16(this.el, a, b);
    this.ranges.set(s.id, r);
    const h = this.highlights.get(s.label);
    if (h) h.add(r);
  }

  removeRange(id) {
    const r = this.ranges.get(id);
    if (r) for (const h of this.highlights.values()) h.delete(r);
    this.ranges.delete(id);
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
    this.computeLanes(lines);
    this.refreshMarks();
    this.schedule();
  }

  /** Re-read everything from the model (after a reload). */
  resetAll() {
    if (hasHighlights) for (const h of this.highlights.values()) h.clear();
    this.ranges.clear();
    this.spanU16.clear();
    for (const s of this.model.sorted()) this.addRange(s);
    this.computeLanes();
    this.refreshMarks();
    for (const i of this.visible) this.dirty.add(i);
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
      }
    }
  }

  observe() {
    this.io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const i = Number(e.target.dataset.line);
        if (e.isIntersecting) { this.visible.add(i); this.dirty.add(i); }
        else { this.visible.delete(i); this.laneEls[i].replaceChildren(); }
      }
      this.schedule();
    }, { root: this.el, rootMargin: "100% 0px" });
    for (const l of this.lineEls) this.io.observe(l);
    this.ro = new ResizeObserver(() => {
      const w = this.el.clientWidth;
      if (w === this.width) return;
      this.width = w;
      for (const i of this.visible) this.dirty.add(i);
      this.schedule();
    });
    this.ro.observe(this.el);
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.draw(); });
  }

  /** Draw now (reads all rects first, then writes). */
  draw() {
    const jobs = [];
    for (const i of this.dirty) if (this.visible.has(i)) jobs.push(i);
    this.dirty.clear();
    const plans = jobs.map(i => this.planLine(i));
    jobs.forEach((i, k) => this.laneEls[i].replaceChildren(plans[k]));
    this.drawLinks();
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
      const smooth = !matchMedia("(prefers-reduced-motion: reduce)").matches;
      this.el.scrollTo({ top: this.el.scrollTop + rc.top - box.top - box.height / 3, behavior: smooth ? "smooth" : "auto" });
    }
  }

  /** Anchor point (content coordinates) at the top middle of a span's first fragment. */
  anchor(id) {
    const u = this.spanU16.get(id);
    if (!u) return null;
    const rects = rangeForU16(this.el, u[0], u[1]).getClientRects();
    const rc = Array.from(rects).find(r => r.width > 0.5) || rects[0];
    if (!rc) return null;
    const box = this.el.getBoundingClientRect();
    const x0 = box.left + this.el.clientLeft, y0 = box.top + this.el.clientTop;
    return { x: rc.left - x0 + this.el.scrollLeft + Math.min(rc.width, 160) / 2, y: rc.top - y0 + this.el.scrollTop, h: rc.height };
  }

  /** Draw the links given by `this.links`: [{from, to, kind, label}]. */
  drawLinks() {
    const svg = this.svg;
    svg.replaceChildren();
    const links = this.links || [];
    if (!links.length) return;
    svg.setAttribute("width", String(this.el.scrollWidth));
    svg.setAttribute("height", String(this.el.scrollHeight));
    const NS = "http://www.w3.org/2000/svg";
    const defs = document.createElementNS(NS, "defs");
    const marker = document.createElementNS(NS, "marker");
    marker.setAttribute("id", "wb-arrow"); marker.setAttribute("viewBox", "0 0 10 10");
    marker.setAttribute("refX", "9"); marker.setAttribute("refY", "5");
    marker.setAttribute("markerWidth", "7"); marker.setAttribute("markerHeight", "7"); marker.setAttribute("orient", "auto-start-reverse");
    const tip = document.createElementNS(NS, "path"); tip.setAttribute("d", "M0,0 L10,5 L0,10 z"); tip.setAttribute("class", "wb-arrow-tip");
    marker.appendChild(tip); defs.appendChild(marker); svg.appendChild(defs);
    for (const l of links) {
      const a = this.anchor(l.from), b = this.anchor(l.to);
      if (!a || !b) continue;
      const lift = Math.max(18, Math.min(70, Math.abs(b.x - a.x) / 4 + Math.abs(b.y - a.y) / 6));
      const cx = (a.x + b.x) / 2, cy = Math.min(a.y, b.y) - lift;
      const path = document.createElementNS(NS, "path");
      path.setAttribute("d", `M${a.x},${a.y} Q${cx},${cy} ${b.x},${b.y}`);
      path.setAttribute("class", `wb-link wb-link-${l.kind}`);
      path.setAttribute("marker-end", "url(#wb-arrow)");
      svg.appendChild(path);
      const t = document.createElementNS(NS, "text");
      t.setAttribute("x", String(cx)); t.setAttribute("y", String((a.y + b.y) / 4 + cy / 2 - 3));
      t.setAttribute("class", "wb-link-label");
      t.setAttribute("text-anchor", "middle");
      t.textContent = l.label;
      svg.appendChild(t);
    }
  }
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
