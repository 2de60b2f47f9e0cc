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

const SHOW_KEY = "wb-show-suggestions";
const MAX_ROWS = 300;
const REFETCH_MAX_MS = 250; // ask again after saves only while asking takes less than this
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

/** Start the suggestions of an annotate page (after its layer is loaded). */
export function attach(page) {
  const s = new Suggestions(page);
  page.suggestions = s;
  s.load();
  return s;
}

/** The parts of a suggestion as spans: one for a span, source/cue/content for an attribution. */
function parts(item) {
  if (item.kind === "span") return [item];
  return [item.source, item.cue, ...item.content].filter(Boolean);
}

const spanKey = (s) => `${s.label}:${s.start}:${s.end}`;

class Suggestions {
  constructor(page) {
    this.page = page;
    this.items = [];
    this.rejected = new Set();
    this.selected = null;   // key of the selected suggestion
    this.box = document.getElementById("wb-suggest");
    this.list = document.getElementById("wb-sugg-list");
    this.summary = document.getElementById("wb-sugg-summary");
    this.toggle = document.getElementById("wb-show-suggestions");
    this.show = true;
    try { this.show = localStorage.getItem(SHOW_KEY) !== "0"; } catch (_) { /* storage blocked: default */ }
  }

  async fetch() {
    const p = this.page;
    const t0 = performance.now();
    const data = await getJSON(`/api/v1/projects/${p.projectId}/documents/${p.documentId}/suggestions`);
    this.fetchMs = performance.now() - t0;
    // A suggestion seen before keeps its object, so an unchanged list is seen as unchanged (render).
    const old = this.byKey || new Map();
    this.items = data.suggestions.map(i => old.get(i.key) || i);
    this.sources = data.sources;
    this.byKey = new Map(this.items.map(i => [i.key, i]));
  }

  /**
   * The page saved a batch: ask again a little later, so that what the
   * annotator just labelled is suggested where it occurs again (the
   * recommender learns from saved layers).
   */
  saved(batch) {
    if (!this.byKey || !batch) return;
    // Only new spans and new labels teach the recommender; and not where asking is slow (very long articles).
    if (this.fetchMs > REFETCH_MAX_MS || !batch.ops.some(o => o.op === "span.create" || (o.op === "span.update" && "label" in o))) return;
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
    this.marks = new Map();    // line -> [{start, end, key, sig}] (UTF-16) of the open suggestions
    this.markedSel = null;     // the key drawn as selected
    p.view.lineExtras = (l) => this.lineMarks(l);
    this.toggle.checked = this.show;
    this.toggle.addEventListener("change", () => {
      this.show = this.toggle.checked;
      try { localStorage.setItem(SHOW_KEY, this.show ? "1" : "0"); } catch (_) { /* not remembered */ }
      if (!this.show) this.selected = null;
      this.refresh();
      p.announce(this.show ? "Suggestions shown" : "Suggestions hidden");
    });
    this.box.addEventListener("click", (e) => this.onClick(e));
    this.list.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") { e.preventDefault(); e.stopPropagation(); this.step(e.key === "ArrowDown" ? 1 : -1); }
    });
    this.box.hidden = false;
    this.box.dataset.ready = "1";
    this.refresh();
  }

  /** Suggestions still open: not rejected, not in the annotator's layer already. */
  open() {
    const m = this.page.model;
    const have = new Set();
    for (const s of m.spans.values()) have.add(spanKey(s));
    const attributed = new Set();
    for (const a of m.attributions.values()) for (const c of a.content) { const s = m.spans.get(c); if (s) attributed.add(`${s.start}:${s.end}`); }
    return this.items.filter(i => {
      if (this.rejected.has(i.key)) return false;
      if (i.kind === "span") return !have.has(spanKey(i));
      return !i.content.some(c => attributed.has(`${c.start}:${c.end}`));
    });
  }

  /** Redraw after any change of the layer, the selection or the switch (one frame later, once). */
  refresh() {
    if (this.frame || !this.marks) return; // not loaded yet: load() draws them when they arrive
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  /**
   * Draw the open suggestions and the list; when a change of the layer left
   * the open ones as they were (most edits), only the selection is redrawn.
   */
  render() {
    const open = this.show ? this.open() : [];
    const prev = this.current;
    const same = prev && prev.length === open.length && open.every((i, k) => i === prev[k]);
    this.current = open;
    if (this.selected && !open.some(i => i.key === this.selected)) this.selected = null;
    if (same && this.listed) { this.drawSelection(); this.markSelected(); return; }
    this.drawMarks(open);
    this.drawSelection();
    this.renderList(open);
    this.listed = true;
  }

  /** Rebuild the marks per line for the open suggestions; redraw the lines whose marks changed. */
  drawMarks(open) {
    const a = this.page.astral, marks = new Map();
    for (const i of open) for (const s of parts(i)) {
      const [l0, l1] = this.lines(s);
      const m = { start: cpToU16(s.start, a), end: cpToU16(s.end, a), key: i.key };
      m.sig = `${m.start}:${m.end}:${m.key}`;
      for (let l = l0; l <= l1; l++) { let x = marks.get(l); if (!x) marks.set(l, x = []); x.push(m); }
    }
    const changed = [];
    const sig = (x) => (x ? x.map(m => m.sig).join(";") : "");
    for (const [l, x] of marks) if (sig(x) !== sig(this.marks.get(l))) changed.push(l);
    for (const l of this.marks.keys()) if (!marks.has(l)) changed.push(l);
    this.marks = marks;
    if (changed.length) this.page.view.invalidateLines(changed);
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

  /** Mark the selected row (and only it) and make it the listbox's active descendant. */
  markSelected() {
    for (const row of this.list.querySelectorAll('[aria-selected="true"]')) { row.setAttribute("aria-selected", "false"); row.classList.remove("is-current"); }
    const row = this.selected && this.list.querySelector(`[data-key="${CSS.escape(this.selected)}"]`);
    if (row) {
      row.setAttribute("aria-selected", "true");
      row.classList.add("is-current");
      this.list.setAttribute("aria-activedescendant", row.id);
      row.scrollIntoView({ block: "nearest" });
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
    const src = i.source ? `${i.source.label} “${this.quote(i.source, 30)}”` : "no source";
    const cue = i.cue ? `cue “${this.quote(i.cue, 20)}”` : "no cue";
    return `Attribution: ${src}, ${cue}, content “${this.quote(i.content[0], 40)}”, ${from}`;
  }

  renderList(open) {
    const counts = new Map();
    for (const i of open) if (i.kind === "span") counts.set(i.label, (counts.get(i.label) || 0) + 1);
    const attrs = open.filter(i => i.kind === "attribution").length;
    this.summary.textContent = !this.show
      ? `${this.items.length} suggestion(s) hidden.`
      : open.length ? `${open.length} open: ${[...counts].map(([l, n]) => `${n} ${l}`).concat(attrs ? [`${attrs} attribution(s)`] : []).join(", ")}.` : "No open suggestions.";
    const bar = document.getElementById("wb-sugg-all");
    bar.replaceChildren();
    for (const [label, n] of counts) {
      const b = el("button", "small", `Accept all ${label} (${n})`);
      b.type = "button"; b.dataset.action = "sugg-accept-all"; b.dataset.label = label;
      bar.appendChild(b);
    }
    const frag = document.createDocumentFragment();
    open.slice(0, MAX_ROWS).forEach((i, index) => {
      const li = el("li", `wb-row wb-sugg-row${i.key === this.selected ? " is-current" : ""}`);
      li.setAttribute("role", "option");
      li.id = `wb-sugg-${index}`;
      li.dataset.key = i.key;
      li.setAttribute("aria-selected", String(i.key === this.selected));
      const label = i.kind === "span" ? i.label : "ATTRIBUTION";
      const li0 = this.page.labelsByIndex.findIndex(l => l.name === label);
      const main = el("div", "wb-sugg-main");
      main.append(el("span", `wb-tag wb-sugg-tag${li0 >= 0 ? ` wb-c${li0}` : ""}`, label));
      main.append(el("span", "wb-quote", i.kind === "span" ? this.quote(i) : this.describe(i).replace(/^Attribution: /, "").replace(/, from .*$/, "")));
      const meta = el("div", "wb-sugg-meta");
      meta.append(el("span", "wb-sugg-src", `${i.sources.join(" · ")} · score ${i.score}`));
      const ok = el("button", "link", "Accept"); ok.type = "button"; ok.dataset.action = "sugg-accept"; ok.tabIndex = -1;
      const no = el("button", "link", "Reject"); no.type = "button"; no.dataset.action = "sugg-reject"; no.tabIndex = -1;
      meta.append(ok, no);
      li.append(main, meta);
      li.setAttribute("aria-label", this.describe(i));
      frag.appendChild(li);
    });
    if (open.length > MAX_ROWS) frag.appendChild(el("li", "wb-empty", `${open.length - MAX_ROWS} more: accept or reject these first, or press . to step through them all.`));
    this.list.replaceChildren(frag);
    this.markSelected();
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
    const open = this.current || this.open();
    if (!open.length) { this.page.announce("No open suggestions"); return; }
    const at = open.findIndex(i => i.key === this.selected);
    const next = at < 0 ? (dir > 0 ? 0 : open.length - 1) : (at + dir + open.length) % open.length;
    this.select(open[next].key);
  }

  /** The suggestion under code point `cp` (the shortest one), or null. */
  at(cp) {
    if (!this.show) return null;
    let best = null;
    for (const i of this.current || []) for (const s of parts(i)) {
      if (s.start <= cp && cp < s.end && (!best || s.end - s.start < best[1])) best = [i, s.end - s.start];
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
      for (const x of m.spans.values()) if (spanKey(x) === k) return x.id;
      if (!m.labels.has(s.label)) throw new Error(`the schema has no label ${s.label}`);
      const id = newId();
      ops.push({ op: "span.create", id, label: s.label, start: s.start, end: s.end, attrs: p.defaultAttrs(s.label), text: sliceCp(p.text, s.start, s.end, p.astral) });
      made.set(k, id);
      return id;
    };
    if (i.kind === "span") { spanId(i); return ops; }
    const source = i.source ? spanId(i.source) : null;
    const cue = i.cue ? spanId(i.cue) : null;
    const content = i.content.map(spanId);
    const attrs = {};
    for (const a of p.data.schema.attribution_attributes || []) if (a.default) attrs[a.name] = a.default;
    ops.push({ op: "attribution.create", id: newId(), source, cue, content, attrs });
    return ops;
  }

  /** Accept suggestions as one undoable command; record the decision per source. */
  accept(keys) {
    const items = keys.map(k => this.byKey.get(k)).filter(Boolean);
    if (!items.length) return;
    const made = new Map();
    let ops = [];
    try { for (const i of items) ops = ops.concat(this.opsFor(i, made)); } catch (err) { this.page.showBanner(`Could not accept: ${err.message}`, "error"); return; }
    const at = (this.current || []).findIndex(i => i.key === keys[keys.length - 1]);
    const name = items.length === 1
      ? (items[0].kind === "span" ? `Accepted ${items[0].label} suggestion` : "Accepted attribution suggestion")
      : `Accepted ${items.length} ${items[0].kind === "span" ? items[0].label : "attribution"} suggestions`;
    if (ops.length) {
      // The page's command path: the schema's rules apply; a refused change is not an acceptance.
      if (!this.page.run(name, ops).length) return;
    } else this.page.announce(name);
    this.record(items, "accept");
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
    const at = (this.current || []).findIndex(x => x.key === key);
    this.rejected.add(key);
    this.record([i], "reject");
    this.page.announce(`Rejected ${i.kind === "span" ? i.label : "attribution"} suggestion`);
    const rest = this.open();
    this.selected = null;
    if (rest.length && at >= 0) this.select(rest[Math.min(at, rest.length - 1)].key, { reveal: false });
    else this.refresh();
  }

  /** Tell the server (for rates, and so rejections stay hidden); a failure is shown, the page goes on. */
  async record(items, action) {
    const p = this.page;
    const events = items.map(i => ({ key: i.key, action, sources: i.sources, label: i.kind === "span" ? i.label : (i.cue || i.source || {}).label || "" }));
    try {
      for (let k = 0; k < events.length; k += 2000) await postJSON(`/api/v1/projects/${p.projectId}/documents/${p.documentId}/suggestions/events`, { events: events.slice(k, k + 2000) });
    } catch (err) {
      p.showBanner(`Your ${action === "accept" ? "acceptance" : "rejection"} of a suggestion was not recorded (${err.message}); ${action === "reject" ? "it may show again next time" : "your span is saved as usual"}.`, "warn");
    }
  }
}
