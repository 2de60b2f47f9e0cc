//# allFunctionsCalledOnLoad
// Suggestions on the annotate page: spans and attributions proposed by models'
// prediction layers, the HTML import's markup hints and the recommenders
// (learned strings, gazetteer, attribution rules). They are drawn apart from
// the annotator's own work (a dashed underline, never a fill; drawn by
// render.js into the lines' overlays, near the viewport only) and listed in
// the panel's Suggestions section with their source. A suggestion becomes the
// annotator's only when accepted: accepting runs the page's normal ops as one
// undoable command (model.js, saved by saver.js); rejecting hides it for good
// (the server remembers). Offsets arrive as code points; offsets.js converts.
//
// Keys (outside forms): . and , select the next / previous suggestion,
// Enter accepts it, Delete or Backspace rejects it, Esc lets go of it.

import { getJSON, postJSON } from "./api.js";
import { cpToU16, rangeForCp, sliceCp, lineAt } from "./offsets.js";
import { newId } from "./model.js";
import { RowWindow } from "./rowwindow.js";

const SHOW_KEY = "wb-show-suggestions";
const ROW_LINES = 2; // a row of the list: label and words; then sources, score, Accept and Reject
// Ask again after saves only in articles up to this long, and while asking takes less than REFETCH_MAX_MS: the
// length decides for the very long articles (a time alone made it depend on how busy the machine was).
const REFETCH_MAX_CHARS = 50000;
const REFETCH_MAX_MS = 1000;
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

/** Start the suggestions of an annotate page (after its layer is loaded). */
export function attach(page) {
  const s = new Suggestions(page);
  page.suggestions = s;
  s.load();
  return s;
}

/** The parts of a suggestion as spans: one for a span, source/cue/content for an attribution, head and tail for a relation. */
function parts(item) {
  if (item.kind === "span") return [item];
  if (item.kind === "relation") return [item.head, item.tail];
  return [item.source, item.cue, ...item.content].filter(Boolean);
}

const spanKey = (s) => `${s.label}:${s.start}:${s.end}`;
const pieceKey = (s) => `${s.start}:${s.end}`;
/** A relation's key by its type and its ends' labels and offsets: "TYPE>LABEL:start:end>LABEL:start:end". */
const relKey = (type, head, tail) => `${type}>${spanKey(head)}>${spanKey(tail)}`;
/** What a suggestion is called in the list: its label, relation type or ATTRIBUTION. */
const kindName = (i) => (i.kind === "span" ? i.label : i.kind === "relation" ? i.type : "ATTRIBUTION");
/** What a suggestion is called in "Accepted … suggestion": its label, "TYPE relation" or "attribution". */
const what = (i) => (i.kind === "span" ? i.label : i.kind === "relation" ? `${i.type} relation` : "attribution");
const push = (map, k, v) => { const x = map.get(k); if (x) x.push(v); else map.set(k, [v]); };

class Suggestions {
  constructor(page) {
    this.page = page;
    this.items = [];
    this.rejected = new Set();
    this.accepted = new Map(); // key -> suggestion accepted on this page (kept across refetches, so an undo opens it again)
    this.selected = null;   // key of the selected suggestion
    this.box = document.getElementById("wb-suggest");
    this.list = document.getElementById("wb-sugg-list");
    this.summary = document.getElementById("wb-sugg-summary");
    this.toggle = document.getElementById("wb-show-suggestions");
    this.show = true;
    try { this.show = localStorage.getItem(SHOW_KEY) !== "0"; } catch (_) { /* storage blocked: default */ }
    // Which suggestions are open (not rejected, not in the layer yet) is kept
    // up to date from the layer's changes (model.watch), not recomputed: a
    // change of a span can only open or close the suggestions with its
    // label and offsets, a change of an attribution those with a content
    // piece where its content spans lie.
    this.openSet = new Set();     // the open suggestions, shown or not
    this.current = [];            // the ones shown: open, in the server's (reading) order; none while hidden
    this.place = new Map();       // suggestion -> its index in this.items
    this.bySpanKey = new Map();   // "LABEL:start:end" -> the span suggestions there
    this.byPiece = new Map();     // "start:end" -> the attribution suggestions with a content piece there
    this.spansByKey = new Map();  // the layer: "LABEL:start:end" -> Set of span ids
    this.keyOfSpan = new Map();   //   span id -> its key, as last seen
    this.attributed = new Map();  //   "start:end" -> how many attributions have a content span there
    this.pieces = new Map();      //   attribution id -> [[span id, "start:end" or null], ...] of its content, as last seen
    this.attrsOfSpan = new Map(); //   span id -> Set of attribution ids with it in their content
    this.related = new Map();     //   relKey -> how many relations the layer has there
    this.relOf = new Map();       //   relation id -> [relKey, head id, tail id], as last seen
    this.relsOfSpan = new Map();  //   span id -> Set of relation ids with it as an end
    this.byEnd = new Map();       // "LABEL:start:end" -> the relation suggestions with an end there
    this.byRelKey = new Map();    // relKey -> the relation suggestions there
    this.dirtyRels = new Set();
    this.dirtySpans = new Set();
    this.dirtyAttrs = new Set();
    this.recheck = new Set();     // suggestions to look at again (rejected since)
    this.layerReset = true;       // the layer was replaced (or never read): read it whole
    this.itemsChanged = true;     // a new list from the server
    this.marked = new Set();      // the suggestions whose marks are in this.marks
    this.listDirty = true;        // the shown list changed since the panel's list was drawn
  }

  /** A change of the layer (model.watch): noted here, applied when the open set is next needed. */
  noted(change) {
    if (change.reset) this.layerReset = true;
    else if (change.kind === "span") this.dirtySpans.add(change.id);
    else if (change.kind === "attribution") this.dirtyAttrs.add(change.id);
    else if (change.kind === "relation") this.dirtyRels.add(change.id);
  }

  async fetch() {
    const p = this.page;
    const t0 = performance.now();
    const data = await getJSON(`/api/v1/projects/${p.projectId}/documents/${p.documentId}/suggestions`);
    this.fetchMs = performance.now() - t0;
    // A suggestion seen before keeps its object, so an unchanged list is seen as unchanged (render).
    const old = this.byKey || new Map();
    this.items = data.suggestions.map(i => old.get(i.key) || i);
    // The server leaves out what the layer holds: keep what this page accepted, in reading order, so that undoing it opens it again.
    const fresh = new Set(this.items.map(i => i.key));
    const kept = [...this.accepted.values()].filter(i => !fresh.has(i.key));
    if (kept.length) {
      const first = (i) => Math.min(...parts(i).map(x => x.start));
      this.items = this.items.concat(kept).sort((x, y) => first(x) - first(y) || (x.kind !== "span") - (y.kind !== "span") || (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    }
    this.sources = data.sources;
    this.byKey = new Map(this.items.map(i => [i.key, i]));
    this.place = new Map(this.items.map((i, k) => [i, k]));
    this.bySpanKey = new Map();
    this.byPiece = new Map();
    this.byEnd = new Map();
    this.byRelKey = new Map();
    for (const i of this.items) {
      if (i.kind === "span") push(this.bySpanKey, spanKey(i), i);
      else if (i.kind === "relation") {
        push(this.byEnd, spanKey(i.head), i);
        if (spanKey(i.tail) !== spanKey(i.head)) push(this.byEnd, spanKey(i.tail), i);
        push(this.byRelKey, relKey(i.type, i.head, i.tail), i);
      } else for (const c of i.content) push(this.byPiece, pieceKey(c), i);
    }
    this.itemsChanged = true;
  }

  /**
   * The page saved a batch: ask again a little later, so that what the
   * annotator just labelled is suggested where it occurs again (the
   * recommender learns from saved layers).
   */
  saved(batch) {
    if (!this.byKey || !batch) return;
    // Only new spans and new labels teach the recommender; and not where asking is slow (very long articles).
    if (this.page.text.length > REFETCH_MAX_CHARS || this.fetchMs > REFETCH_MAX_MS || !batch.ops.some(o => o.op === "span.create" || (o.op === "span.update" && "label" in o))) return;
    clearTimeout(this.again);
    this.again = setTimeout(async () => {
      try { await this.fetch(); } catch (_) { return; /* keep what is shown */ }
      this.refresh();
    }, 1200);
  }

  async load() {
    if (!this.box) return;
    const p = this.page;
    try {
      await this.fetch();
    } catch (err) {
      this.summary.textContent = `Suggestions could not be loaded: ${err.message}`;
      return;
    }
    this.lineOf = new Map();   // part -> [first line, last line]
    // Drawn like the page's own fills: rectangles in each line's overlay,
    // only for lines near the viewport, a line again only when its marks
    // changed (CSS Custom Highlights made Chromium re-read and repaint every
    // range after any change on the page).
    this.marks = new Map();    // line -> [{start, end, key, item, part}] (UTF-16) of the open suggestions shown (drawMarks)
    this.markedSel = null;     // the key drawn as selected
    p.view.lineExtras = (l) => this.lineMarks(l);
    p.view.beforePlan = () => this.markNow();
    p.model.watch((change) => this.noted(change));
    // The list holds only the rows near its viewport or the selected one (rowwindow.js): every row is ROW_LINES lines.
    this.rows = new RowWindow(document.getElementById("wb-sugg-scroll"));
    this.toggle.checked = this.show;
    this.toggle.addEventListener("change", () => {
      this.show = this.toggle.checked;
      try { localStorage.setItem(SHOW_KEY, this.show ? "1" : "0"); } catch (_) { /* not remembered */ }
      if (!this.show) this.selected = null;
      this.showChanged = true;
      this.refresh();
      p.announce(this.show ? "Suggestions shown" : "Suggestions hidden");
    });
    this.box.addEventListener("click", (e) => this.onClick(e));
    this.list.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); e.stopPropagation(); this.step(e.key === "ArrowDown" ? 1 : -1); }
    });
    this.box.hidden = false;
    this.render();
    this.box.dataset.ready = "1";
  }

  /** Suggestions still open (not rejected, not in the annotator's layer already) and shown, in reading order. */
  open() {
    this.sync();
    return this.current;
  }

  /** Read the layer's changes since last time into the index of what it holds; return the keys they touched. */
  syncLayer() {
    const m = this.page.model, keys = new Set(), pieces = new Set(), rels = new Set();
    if (this.layerReset) {
      this.layerReset = false;
      this.spansByKey.clear(); this.keyOfSpan.clear(); this.attributed.clear(); this.pieces.clear(); this.attrsOfSpan.clear();
      this.related.clear(); this.relOf.clear(); this.relsOfSpan.clear();
      this.dirtySpans = new Set(m.spans.keys());
      this.dirtyAttrs = new Set(m.attributions.keys());
      this.dirtyRels = new Set(m.relations.keys());
    }
    for (const id of this.dirtySpans) {
      const old = this.keyOfSpan.get(id), s = m.spans.get(id), now = s ? spanKey(s) : undefined;
      if (old === now) continue;
      if (old !== undefined) {
        const ids = this.spansByKey.get(old);
        ids.delete(id);
        if (!ids.size) this.spansByKey.delete(old);
        this.keyOfSpan.delete(id);
        keys.add(old);
      }
      if (now !== undefined) {
        const ids = this.spansByKey.get(now);
        if (ids) ids.add(id); else this.spansByKey.set(now, new Set([id]));
        this.keyOfSpan.set(id, now);
        keys.add(now);
      }
      // The attributions with this span in their content now have a piece elsewhere (or one less); its relations, another key.
      for (const a of this.attrsOfSpan.get(id) || []) this.dirtyAttrs.add(a);
      for (const r of this.relsOfSpan.get(id) || []) this.dirtyRels.add(r);
    }
    this.dirtySpans.clear();
    for (const id of this.dirtyAttrs) {
      const old = this.pieces.get(id) || [], a = m.attributions.get(id);
      const now = a ? a.content.map(c => { const s = m.spans.get(c); return [c, s ? pieceKey(s) : null]; }) : [];
      for (const [c, k] of old) {
        if (k) { const n = this.attributed.get(k) - 1; if (n) this.attributed.set(k, n); else this.attributed.delete(k); pieces.add(k); }
        const ids = this.attrsOfSpan.get(c);
        if (ids) { ids.delete(id); if (!ids.size) this.attrsOfSpan.delete(c); }
      }
      for (const [c, k] of now) {
        if (k) { this.attributed.set(k, (this.attributed.get(k) || 0) + 1); pieces.add(k); }
        const ids = this.attrsOfSpan.get(c);
        if (ids) ids.add(id); else this.attrsOfSpan.set(c, new Set([id]));
      }
      if (now.length) this.pieces.set(id, now); else this.pieces.delete(id);
    }
    this.dirtyAttrs.clear();
    for (const id of this.dirtyRels) {
      const old = this.relOf.get(id), r = m.relations.get(id);
      const h = r && m.spans.get(r.head), t = r && m.spans.get(r.tail);
      const now = h && t ? [relKey(r.type, h, t), r.head, r.tail] : undefined;
      if (old && now && old[0] === now[0] && old[1] === now[1] && old[2] === now[2]) continue;
      if (old) {
        const n = this.related.get(old[0]) - 1;
        if (n) this.related.set(old[0], n); else this.related.delete(old[0]);
        rels.add(old[0]);
        for (const e of [old[1], old[2]]) { const ids = this.relsOfSpan.get(e); if (ids) { ids.delete(id); if (!ids.size) this.relsOfSpan.delete(e); } }
        this.relOf.delete(id);
      }
      if (now) {
        this.related.set(now[0], (this.related.get(now[0]) || 0) + 1);
        rels.add(now[0]);
        for (const e of [now[1], now[2]]) { const ids = this.relsOfSpan.get(e); if (ids) ids.add(id); else this.relsOfSpan.set(e, new Set([id])); }
        this.relOf.set(id, now);
      }
    }
    this.dirtyRels.clear();
    return { keys, pieces, rels };
  }

  isOpen(i) {
    if (this.rejected.has(i.key) || !this.place.has(i)) return false;
    if (i.kind === "span") return !this.spansByKey.has(spanKey(i));
    // A relation is open once both its ends are the annotator's spans (drawn or accepted) and it is not there yet.
    if (i.kind === "relation") return this.spansByKey.has(spanKey(i.head)) && this.spansByKey.has(spanKey(i.tail)) && !this.related.has(relKey(i.type, i.head, i.tail));
    return !i.content.some(c => this.attributed.has(pieceKey(c)));
  }

  /**
   * Bring the open set and the shown list up to date with the layer's
   * changes, rejections, a new list from the server and the switch. Only
   * the suggestions a change can concern are looked at; those whose marks
   * must change are gathered in this.changed for render.
   */
  sync() {
    const whole = this.itemsChanged || this.layerReset;
    const { keys, pieces, rels } = this.syncLayer();
    const look = whole ? new Set([...this.items, ...this.openSet]) : this.recheck;
    if (!whole) {
      for (const k of keys) for (const i of this.bySpanKey.get(k) || []) look.add(i);
      for (const k of pieces) for (const i of this.byPiece.get(k) || []) look.add(i);
      for (const k of keys) for (const i of this.byEnd.get(k) || []) look.add(i);
      for (const k of rels) for (const i of this.byRelKey.get(k) || []) look.add(i);
    }
    let moved = whole;
    for (const i of look) {
      const o = this.isOpen(i);
      if (o === this.openSet.has(i)) continue;
      if (o) this.openSet.add(i); else this.openSet.delete(i);
      moved = true;
    }
    this.itemsChanged = false;
    this.recheck = new Set();
    if (!moved && !this.showChanged) return;
    if (this.showChanged) { this.showChanged = false; for (const i of this.items) look.add(i); }
    this.current = this.show ? this.items.filter(i => this.openSet.has(i)) : [];
    for (const i of this.marked) look.add(i);
    for (const i of look) (this.changed || (this.changed = new Set())).add(i);
    this.listDirty = true;
  }

  /** Redraw after any change of the layer, the selection or the switch (one frame later, once). */
  refresh() {
    if (this.frame || !this.marks) return; // not loaded yet: load() draws them when they arrive
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render({ listLater: true }); });
  }

  /** The position of suggestion i in the shown list, or -1 (bisecting by its place in this.items). */
  posOf(i) {
    const at = i ? this.place.get(i) : undefined;
    if (at === undefined) return -1;
    const list = this.current;
    let lo = 0, hi = list.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (this.place.get(list[mid]) < at) lo = mid + 1; else hi = mid; }
    return list[lo] === i ? lo : -1;
  }

  /**
   * Draw what changed: the marks of the suggestions that opened or closed,
   * the list when the shown ones changed, else only the selection. With
   * listLater (a change of the layer, from refresh's frame), the list is
   * drawn in a task after the frame.
   */
  render({ listLater = false } = {}) {
    if (!this.rows) return; // not loaded yet: load() renders once it is
    this.sync();
    if (this.selected && this.posOf(this.byKey.get(this.selected)) < 0) this.selected = null;
    this.drawChanged();
    this.drawSelection();
    if (!this.listDirty) this.markSelected();
    else if (!listLater) { this.listDirty = false; this.renderList(); }
    else if (!this.listTimer) {
      // After a change of the layer, the list waits for a task after this frame, which then shows the
      // change in the text without the list's rows (their style, layout and paint get a frame of their own).
      this.listTimer = setTimeout(() => { this.listTimer = 0; if (this.listDirty) { this.listDirty = false; this.renderList(); } }, 0);
    }
  }

  /**
   * Bring the marks up to date with a change of the layer now, in the task of
   * the change (render.js calls this before it plans that task's lines): a
   * span that closes a suggestion then redraws its line once, in the frame
   * after the keystroke, instead of again a frame later from render(). Only
   * for an incremental change; a new list or a new layer waits for render().
   */
  markNow() {
    if (!this.rows || this.itemsChanged || this.layerReset) return;
    this.sync();
    this.drawChanged();
  }

  /** Draw the marks of the suggestions sync() found changed, once. */
  drawChanged() {
    if (this.changed) { this.drawMarks(this.changed); this.changed = null; }
  }

  /** Update the marks per line of these suggestions (shown or not now); redraw the lines whose marks changed. */
  drawMarks(items) {
    const a = this.page.astral, changed = new Set();
    for (const i of items) {
      const want = this.show && this.openSet.has(i);
      if (want === this.marked.has(i)) continue;
      const mine = new Set();
      for (const s of parts(i)) {
        const [l0, l1] = this.lines(s);
        for (let l = l0; l <= l1; l++) {
          mine.add(l);
          if (want) push(this.marks, l, { start: cpToU16(s.start, a), end: cpToU16(s.end, a), key: i.key, item: i, part: s });
        }
      }
      for (const l of mine) {
        changed.add(l);
        if (want) continue;
        const x = (this.marks.get(l) || []).filter(m => m.item !== i);
        if (x.length) this.marks.set(l, x); else this.marks.delete(l);
      }
      if (want) this.marked.add(i); else this.marked.delete(i);
    }
    if (changed.size) this.page.view.invalidateLines(changed);
  }

  /** Redraw the lines of the suggestion selected before and of the one selected now, if it changed. */
  drawSelection() {
    if (this.markedSel === this.selected) return;
    const changed = [];
    for (const key of [this.markedSel, this.selected]) {
      const i = key && this.byKey.get(key);
      if (i) for (const s of parts(i)) { const [l0, l1] = this.lines(s); for (let l = l0; l <= l1; l++) changed.push(l); }
    }
    this.markedSel = this.selected;
    if (changed.length) this.page.view.invalidateLines(changed);
  }

  /** Line l's marks for render.js (the selected suggestion's last, drawn over the others). */
  lineMarks(l) {
    const x = this.marks.get(l);
    if (!x) return null;
    const sel = this.selected;
    const out = x.filter(m => m.key !== sel).map(m => ({ start: m.start, end: m.end, cls: "wb-sugg-mark" }));
    for (const m of x) if (m.key === sel) out.push({ start: m.start, end: m.end, cls: "wb-sugg-mark is-sel" });
    return out;
  }

  /** Mark the selected row (and only it), make it the listbox's active descendant and scroll the list to it. */
  markSelected() {
    for (const row of this.list.querySelectorAll('[aria-selected="true"]')) { row.setAttribute("aria-selected", "false"); row.classList.remove("is-current"); }
    const k = this.selected ? this.posOf(this.byKey.get(this.selected)) : -1;
    if (k >= 0 && (k < this.rows.start || k >= this.rows.end)) this.mountRows(k); // outside the window: a window around it
    const row = k >= 0 && document.getElementById(`wb-sugg-${k}`);
    if (row) {
      row.setAttribute("aria-selected", "true");
      row.classList.add("is-current");
      this.list.setAttribute("aria-activedescendant", row.id);
      this.rows.reveal(k);
    } else this.list.removeAttribute("aria-activedescendant");
  }

  range(s) {
    return rangeForCp(this.page.docEl, s.start, s.end);
  }

  lines(s) {
    let r = this.lineOf.get(s);
    if (!r) {
      const a = this.page.astral, ls = this.page.view.lines;
      r = [lineAt(ls, cpToU16(s.start, a)), lineAt(ls, Math.max(cpToU16(s.start, a), cpToU16(s.end, a) - 1))];
      this.lineOf.set(s, r);
    }
    return r;
  }

  quote(s, max = 50) {
    const q = sliceCp(this.page.text, s.start, s.end, this.page.astral).replace(/\s+/g, " ");
    return q.length > max ? q.slice(0, max - 1) + "…" : q;
  }

  describe(i) {
    const from = `from ${i.sources.join(", ")}`;
    if (i.kind === "span") return `${i.label} “${this.quote(i)}”, ${from}, score ${i.score}`;
    if (i.kind === "relation") return `Relation ${i.type}: ${i.head.label} “${this.quote(i.head, 30)}” → ${i.tail.label} “${this.quote(i.tail, 30)}”, ${from}, score ${i.score}`;
    const src = i.source ? `${i.source.label} “${this.quote(i.source, 30)}”` : "no source";
    const cue = i.cue ? `cue “${this.quote(i.cue, 20)}”` : "no cue";
    return `Attribution: ${src}, ${cue}, content “${this.quote(i.content[0], 40)}”, ${from}`;
  }

  /** The summary, the "Accept all" buttons and the list (a window of its rows). */
  renderList() {
    const open = this.current;
    const counts = new Map();
    let attrs = 0, rels = 0;
    for (const i of open) if (i.kind === "span") counts.set(i.label, (counts.get(i.label) || 0) + 1); else if (i.kind === "relation") rels++; else attrs++;
    this.summary.textContent = !this.show
      ? `${this.items.length} suggestion(s) hidden.`
      : open.length ? `${open.length} open: ${[...counts].map(([l, n]) => `${n} ${l}`).concat(attrs ? [`${attrs} attribution(s)`] : [], rels ? [`${rels} relation(s)`] : []).join(", ")}.` : "No open suggestions.";
    const bar = document.getElementById("wb-sugg-all");
    const sig = [...counts].join(";");
    if (sig !== this.barSig) {
      this.barSig = sig;
      bar.replaceChildren();
      for (const [label, n] of counts) {
        const b = el("button", "small", `Accept all ${label} (${n})`);
        b.type = "button"; b.dataset.action = "sugg-accept-all"; b.dataset.label = label;
        bar.appendChild(b);
      }
    }
    this.mountRows(this.selected ? this.posOf(this.byKey.get(this.selected)) : -1);
    this.markSelected();
  }

  /** Lay the shown list out in the listbox and render the rows near its viewport (or around row `focus`). */
  mountRows(focus = -1) {
    const open = this.current;
    this.rows.mount(this.list, open.length, () => ROW_LINES, (k) => this.row(open[k], k, open.length), focus, {
      keyOf: (k) => open[k].key, // a suggestion's row never changes: rows kept in the window stay as they are
      place: (li, k) => { li.id = `wb-sugg-${k}`; li.setAttribute("aria-posinset", String(k + 1)); li.setAttribute("aria-setsize", String(open.length)); },
    });
  }

  /** Row k of the list (of n): label and words, then sources, score, Accept and Reject; the whole description as its name. */
  row(i, k, n) {
    const li = el("li", `wb-row wb-sugg-row${i.key === this.selected ? " is-current" : ""}`);
    li.setAttribute("role", "option");
    li.id = `wb-sugg-${k}`;
    li.dataset.key = i.key;
    li.setAttribute("aria-selected", String(i.key === this.selected));
    li.setAttribute("aria-posinset", String(k + 1));
    li.setAttribute("aria-setsize", String(n));
    const label = kindName(i);
    const li0 = this.page.labelsByIndex.findIndex(l => l.name === label);
    const main = el("div", "wb-sugg-main");
    main.append(el("span", `wb-tag wb-sugg-tag${li0 >= 0 ? ` wb-c${li0}` : ""}`, label));
    main.append(el("span", "wb-quote", i.kind === "span" ? this.quote(i) : this.describe(i).replace(/^(Attribution|Relation \S+): /, "").replace(/, from .*$/, "")));
    const meta = el("div", "wb-sugg-meta");
    meta.append(el("span", "wb-sugg-src", `${i.sources.join(" · ")} · score ${i.score}`));
    const ok = el("button", "link", "Accept"); ok.type = "button"; ok.dataset.action = "sugg-accept"; ok.tabIndex = -1;
    const no = el("button", "link", "Reject"); no.type = "button"; no.dataset.action = "sugg-reject"; no.tabIndex = -1;
    meta.append(ok, no);
    li.append(main, meta);
    const what = this.describe(i);
    li.setAttribute("aria-label", what);
    li.title = what; // a row shows one line of words: the whole of them on hover
    return li;
  }

  /** Select suggestion `key` (or none): highlight it, reveal it, announce it. */
  select(key, { reveal = true } = {}) {
    this.selected = key;
    const i = key && this.byKey.get(key);
    if (i) {
      if (this.page.selectedId) this.page.selectSpan(null);
      if (reveal) this.reveal(i);
      this.page.announce(`Suggestion: ${this.describe(i)}. Enter accepts, Delete rejects.`);
    }
    this.render();
  }

  reveal(i) {
    const s = parts(i)[0];
    const box = this.range(s).getBoundingClientRect(), doc = this.page.docEl.getBoundingClientRect();
    if (box.top < doc.top + 20 || box.bottom > doc.bottom - 40) this.page.docEl.scrollTo({ top: this.page.docEl.scrollTop + box.top - doc.top - doc.height / 3 });
  }

  /** Move the suggestion selection in reading order. */
  step(dir) {
    const open = this.open();
    if (!open.length) { this.page.announce("No open suggestions"); return; }
    const at = this.posOf(this.byKey.get(this.selected));
    const next = at < 0 ? (dir > 0 ? 0 : open.length - 1) : (at + dir + open.length) % open.length;
    this.select(open[next].key);
  }

  /** The suggestion under code point `cp` (the shortest one), or null: from the marks of its line. */
  at(cp) {
    if (!this.show || !this.lineOf) return null;
    const l = lineAt(this.page.view.lines, cpToU16(cp, this.page.astral));
    let best = null;
    for (const m of this.marks.get(l) || []) {
      const s = m.part;
      if (s.start <= cp && cp < s.end && (!best || s.end - s.start < best[1])) best = [m.item, s.end - s.start];
    }
    return best ? best[0] : null;
  }

  /** A click in the text on no span of the annotator's own: select the suggestion there, if any. */
  pickAt(cp) {
    const i = this.at(cp);
    if (!i) return false;
    this.select(i.key, { reveal: false });
    return true;
  }

  /** The page's key handler asks first; true when the key was a suggestion's. */
  onKey(e) {
    if (!this.show || !this.byKey) return false;
    const key = e.key;
    const sel = window.getSelection();
    const hasSel = sel && sel.rangeCount && !sel.isCollapsed;
    if ((key === "." || key === ",") && !hasSel && !e.ctrlKey && !e.metaKey && !e.altKey) { e.preventDefault(); this.step(key === "." ? 1 : -1); return true; }
    if (!this.selected) return false;
    if (this.page.selectedId) { this.selected = null; this.refresh(); return false; }
    if (key === "Enter") { e.preventDefault(); this.accept([this.selected]); return true; }
    if (key === "Delete" || key === "Backspace") { e.preventDefault(); this.reject(this.selected); return true; }
    if (key === "Escape") { e.preventDefault(); this.select(null); return true; }
    return false;
  }

  onClick(e) {
    const row = e.target.closest("[data-key]");
    const act = e.target.closest("[data-action]");
    if (act && act.dataset.action === "sugg-accept-all") { this.acceptAll(act.dataset.label); return; }
    if (!row) return;
    if (act && act.dataset.action === "sugg-accept") this.accept([row.dataset.key]);
    else if (act && act.dataset.action === "sugg-reject") this.reject(row.dataset.key);
    else { this.select(row.dataset.key); this.list.focus({ preventScroll: true }); }
  }

  /** The ops that make suggestion `i` the annotator's: spans not there yet, then the attribution. */
  opsFor(i, made) {
    const p = this.page, m = p.model;
    const ops = [];
    const spanId = (s) => {
      const k = spanKey(s);
      if (made.has(k)) return made.get(k);
      this.sync();
      const have = this.spansByKey.get(k); // the layer's spans by key, kept up to date (syncLayer)
      if (have) return have.values().next().value;
      if (!m.labels.has(s.label)) throw new Error(`the schema has no label ${s.label}`);
      const id = newId();
      ops.push({ op: "span.create", id, label: s.label, start: s.start, end: s.end, attrs: p.defaultAttrs(s.label), text: sliceCp(p.text, s.start, s.end, p.astral) });
      made.set(k, id);
      return id;
    };
    // made also maps the suggestion's key to the item it makes (its accept event names it; see record).
    if (i.kind === "span") { made.set(i.key, spanId(i)); return ops; }
    if (i.kind === "relation") {
      // Between the annotator's own spans (open() offers it only then): the page's relation op, so undo and the rules apply.
      const end = (s) => { for (const x of m.spans.values()) if (spanKey(x) === spanKey(s)) return x.id; throw new Error(`your layer has no ${s.label} “${this.quote(s, 30)}”`); };
      const id = newId();
      ops.push({ op: "relation.create", id, type: i.type, head: end(i.head), tail: end(i.tail), attrs: {} });
      made.set(i.key, id);
      return ops;
    }
    const source = i.source ? spanId(i.source) : null;
    const cue = i.cue ? spanId(i.cue) : null;
    const content = i.content.map(spanId);
    const attrs = {};
    for (const a of p.data.schema.attribution_attributes || []) if (a.default) attrs[a.name] = a.default;
    const id = newId();
    ops.push({ op: "attribution.create", id, source, cue, content, attrs });
    made.set(i.key, id);
    return ops;
  }

  /** Accept suggestions as one undoable command; record the decision per source. */
  accept(keys) {
    const items = keys.map(k => this.byKey.get(k)).filter(Boolean);
    if (!items.length) return;
    const made = new Map();
    let ops = [];
    try { for (const i of items) ops = ops.concat(this.opsFor(i, made)); } catch (err) { this.page.showBanner(`Could not accept: ${err.message}`, "error"); return; }
    const at = this.posOf(this.byKey.get(keys[keys.length - 1]));
    const name = items.length === 1 ? `Accepted ${what(items[0])} suggestion` : `Accepted ${items.length} ${what(items[0])} suggestions`;
    if (ops.length) {
      // The page's command path: the schema's rules apply; a refused change is not an acceptance.
      if (!this.page.run(name, ops).length) return;
    } else this.page.announce(name);
    this.record(items, "accept", made);
    for (const i of items) this.accepted.set(i.key, i);
    this.selected = null;
    const rest = this.open();
    if (keys.length === 1 && rest.length && at >= 0) this.select(rest[Math.min(at, rest.length - 1)].key, { reveal: false });
    else this.refresh();
  }

  acceptAll(label) {
    const keys = this.open().filter(i => i.kind === "span" && i.label === label).map(i => i.key);
    this.accept(keys);
  }

  reject(key) {
    const i = this.byKey.get(key);
    if (!i) return;
    const at = this.posOf(i);
    this.rejected.add(key);
    this.recheck.add(i);
    this.record([i], "reject");
    this.page.announce(`Rejected ${what(i)} suggestion`);
    const rest = this.open();
    this.selected = null;
    if (rest.length && at >= 0) this.select(rest[Math.min(at, rest.length - 1)].key, { reveal: false });
    else this.refresh();
  }

  /**
   * Tell the server (for rates, and so rejections stay hidden); a failure is shown, the page goes on.
   * An accept names the item it made (`made`: key -> id): it counts only while
   * that item is in the layer, so undo withdraws it and redo (same id) restores it.
   */
  async record(items, action, made) {
    const p = this.page;
    const events = items.map(i => ({
      key: i.key, action, sources: i.sources, label: i.kind === "span" ? i.label : i.kind === "relation" ? i.type : (i.cue || i.source || {}).label || "",
      ...(action === "accept" ? { item: made.get(i.key) } : {}),
    }));
    try {
      for (let k = 0; k < events.length; k += 2000) await postJSON(`/api/v1/projects/${p.projectId}/documents/${p.documentId}/suggestions/events`, { events: events.slice(k, k + 2000) });
    } catch (err) {
      p.showBanner(`Your ${action === "accept" ? "acceptance" : "rejection"} of a suggestion was not recorded (${err.message}); ${action === "reject" ? "it may show again next time" : "your span is saved as usual"}.`, "warn");
    }
  }
}
