//# allFunctionsCalledOnLoad
// The annotate page: loads the layer, wires keyboard and mouse to commands,
// keeps the side panel in sync and saves through the outbox.
//
// Modules: offsets.js (all offset maths), api.js (fetch), model.js (layer and
// ops), saver.js (outbox), render.js (text layer and decorations).

import { getJSON, postJSON, patchJSON, ApiError } from "./api.js";
import { astralPositions, tokensToU16, selectionToCp, u16FromPoint, u16ToCp, sliceCp, splitLines, rangeForCp, warmSegmenter } from "./offsets.js";
import { Model, History, newId, byReadingOrder, rebaseOps, describeDropped } from "./model.js";
import { Saver } from "./saver.js";
import { TextView, installLabelStyles, describe, attributionSpokes } from "./render.js";
import { RowWindow } from "./rowwindow.js";
import { findOverlapProblem } from "./overlap.js";
import { Picker } from "./picker.js";

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
const SHOW_LINKS_KEY = "wb-show-links";

class AnnotatePage {
  constructor(root) {
    this.root = root;
    this.projectId = root.dataset.projectId;
    this.documentId = root.dataset.documentId;
    this.docEl = $("#doc", root);
    this.statusEl = $("#wb-status", root);
    this.bannerEl = $("#wb-banner", root);
    this.selectedId = null;
    this.mode = null;      // null | {kind: "attr", ...} | {kind: "rel", ...}
    this.armed = null;     // label name armed from the palette
    this.history = new History();
    this.tab = "spans";
    this.detailsOpen = false;
  }

  // ------------------------------------------------------------ loading
  async load() {
    let data;
    try {
      data = await getJSON(this.root.dataset.dataUrl || `/api/v1/projects/${this.projectId}/documents/${this.documentId}/annotate`);
    } catch (err) {
      this.fail(err instanceof ApiError ? err.message : String(err));
      return;
    }
    performance.mark("wb:data");
    this.data = data;
    this.text = data.document.text;
    this.astral = astralPositions(this.text);
    this.lines = splitLines(this.text);
    this.toks = tokensToU16(data.document.tokens || [], this.astral);
    this.model = new Model(data.layer, data.schema);
    this.setBase(data.layer);
    this.labelsByIndex = data.schema.labels;
    installLabelStyles(this.labelsByIndex);
    this.view = new TextView(this.docEl, this.text, this.model, { linksSvg: $("#wb-links", this.root) });
    this.initShowLinks();
    this.view.buildText(this.astral);
    this.docEl.setAttribute("aria-busy", "false");
    performance.mark("wb:text");
    this.view.paintAll();
    this.saver = new Saver(this.model.id, this.model.version, {
      onStatus: (st) => this.showStatus(st),
      onConflict: () => this.conflict(),
      onInvalid: (err) => this.invalid(err),
      onSaved: (resp, batch) => {
        this.model.version = resp.version;
        this.advanceBase(batch, resp.version);
        if (this.model.status === "new") { this.model.status = "in_progress"; this.renderLayerStatus(); }
        this.showCounts(resp.counts);
        if (this.suggestions) this.suggestions.saved(batch);
      },
    });
    await this.recoverOutbox();
    this.watchOtherTabs();
    this.buildChrome();
    this.bind();
    this.rows = new RowWindow($("#wb-list", this.root));
    this.renderPanel();
    // The adjudication page is this page on the gold layer, plus its panel of disagreements.
    if (data.adjudication) (await import("./adjudicate.js")).attach(this, data.adjudication);
    // Suggestions (models, markup hints, recommenders): suggestions.js, on the annotator's own page.
    else if (document.getElementById("wb-suggest")) (await import("./suggestions.js")).attach(this);
    this.showStatus({ kind: "saved", text: this.saver.unsaved ? "Saving…" : "Saved" });
    this.root.classList.add("is-ready");
    requestAnimationFrame(() => {
      this.view.draw();
      performance.mark("wb:paint");
      performance.measure("wb:open", "wb:data", "wb:paint");
      this.root.dataset.ready = "1";
      if (window.requestIdleCallback) requestIdleCallback(() => warmSegmenter()); else setTimeout(() => warmSegmenter(), 200);
    });
  }

  /** The "Show links" switch: on by default, remembered in localStorage. */
  initShowLinks() {
    const box = $("#wb-show-links", this.root);
    let on = true;
    try { on = localStorage.getItem(SHOW_LINKS_KEY) !== "0"; } catch (_) { /* storage blocked: default */ }
    box.checked = on;
    this.view.setShowAll(on);
    box.addEventListener("change", () => {
      try { localStorage.setItem(SHOW_LINKS_KEY, box.checked ? "1" : "0"); } catch (_) { /* not remembered */ }
      this.view.setShowAll(box.checked);
    });
  }

  fail(msg) {
    this.docEl.setAttribute("aria-busy", "false");
    this.docEl.replaceChildren(el("p", "wb-error", `Could not open this document: ${msg}`));
    this.showBanner(`Could not open this document: ${msg}`, "error");
  }

  /**
   * The layer as the server holds it at the saver's version: the common base
   * a rebase compares against to tell changes made elsewhere from this page's.
   */
  setBase(layer) {
    this.base = new Model(JSON.parse(JSON.stringify(layer)), this.data.schema);
  }

  /** The server acknowledged a batch: the base moves on by its ops. */
  advanceBase(batch, version) {
    if (!this.base || !batch) return;
    try { this.base.applyOps(batch.ops); this.base.version = version; } catch (_) { this.base = null; /* unknown from here: rebases merge without it */ }
  }

  /**
   * Replay ops an earlier visit could not save. A batch that was in flight is
   * sent again with its batch_id first: if it had landed, the server answers
   * with the stored result and nothing is applied twice. When the saved
   * version moved on meanwhile, the ops are rebased onto it as after a 409;
   * ops that no longer fit are dropped, and the person is told.
   */
  async recoverOutbox() {
    const stored = this.saver.stored();
    if (!stored) return;
    this.saver.forget(stored.key);
    let base = stored.inflight ? stored.inflight.base_version : stored.base_version;
    let ops = stored.pending;
    if (stored.inflight) {
      if (base !== this.model.version) {
        try {
          const resp = await patchJSON(`/api/v1/layers/${this.model.id}/ops`, stored.inflight);
          if (resp.version === this.model.version) base = this.model.version; // it had landed: the server state holds it
          else ops = [...stored.inflight.ops, ...ops];
        } catch (_) { ops = [...stored.inflight.ops, ...ops]; }
      } else ops = [...stored.inflight.ops, ...ops];
    }
    if (!ops.length) return;
    const moved = base !== this.model.version;
    // Same version: the loaded layer is the ops' base. Moved on: the base is unknown, so updates simply apply.
    const { ops: fits, dropped } = rebaseOps(this.model, ops, moved ? null : this.base);
    this.saver.add(fits);
    this.view.resetAll();
    if (moved || dropped.length) {
      const what = `Unsaved changes from an earlier visit were applied on top of the saved version${dropped.length ? "" : "."}`;
      this.showBanner(dropped.length ? `${what}; ${describeDropped(dropped)}.` : what, dropped.length ? "warn" : "info");
    }
  }

  /** Warn early when the same layer is open in another tab (a 409 would follow the first save there). */
  watchOtherTabs() {
    if (typeof BroadcastChannel === "undefined") return;
    const ch = new BroadcastChannel(`wb-layer-${this.model.id}`);
    const warn = () => this.showBanner("This document is also open in another tab or window. Edit it in one place only: changes saved in both are merged, and any that clash are dropped.", "warn");
    ch.onmessage = (e) => {
      if (e.data === "hello") { ch.postMessage("here"); warn(); }
      else if (e.data === "here") warn();
    };
    ch.postMessage("hello");
    this.channel = ch;
  }

  // ------------------------------------------------------------ chrome
  buildChrome() {
    const pal = $("#wb-palette", this.root);
    pal.replaceChildren();
    this.labelsByIndex.forEach((l, i) => {
      const b = el("button", `wb-label wb-c${i}`);
      b.type = "button";
      b.dataset.label = l.name;
      const sw = el("span", "wb-swatch");
      const name = el("span", "wb-label-name", l.name);
      const keys = [l.hotkey, i < 10 ? String((i + 1) % 10) : null].filter(Boolean);
      const key = el("kbd", "wb-key", keys.join(" / "));
      b.title = `${l.description || l.name} (${l.kind}) — key ${keys.join(" or ")}`;
      b.append(sw, name, key);
      b.setAttribute("aria-pressed", "false");
      b.tabIndex = i === 0 ? 0 : -1; // one Tab stop; arrows move along (the toolbar pattern)
      pal.appendChild(b);
    });
    pal.addEventListener("keydown", (e) => this.onPaletteKey(e));
    const g = $("#wb-guidelines", this.root);
    // Server-rendered markdown (markdown-it, html=False): the one field inserted as HTML.
    if (this.data.project.guidelines_html) g.innerHTML = this.data.project.guidelines_html;
    else g.replaceChildren(el("p", "wb-empty", "This project has no guidelines yet."));
    this.renderLabelRules(g);
    this.bindDocNote();
    $("#wb-doc-title", this.root).textContent = this.data.document.title || this.data.document.external_id;
    const nav = this.data.navigation || {};
    for (const [sel, url] of [["#wb-prev", nav.prev_url], ["#wb-next", nav.next_url]]) {
      const a = $(sel, this.root);
      if (url) { a.href = url; a.hidden = false; }
    }
    this.renderLayerStatus();
  }

  /** The note on the document: shown open when there is one, saved (op layer.update) when the field is left. */
  bindDocNote() {
    const area = $("#wb-doc-note", this.root);
    if (!area) return;
    area.addEventListener("change", () => this.setNote("layer", null, area.value));
    this.syncDocNote();
    if (this.model.note) $("#wb-docnote-box", this.root).open = true;
  }

  syncDocNote() {
    const area = $("#wb-doc-note", this.root);
    if (area && document.activeElement !== area && area.value !== this.model.note) area.value = this.model.note;
  }

  /** Set the note of the document ("layer"), a span or an attribution; "" clears it. */
  setNote(owner, id, value) {
    const note = value.trim();
    if (owner === "layer") {
      if (note !== this.model.note) this.run(note ? "Saved the document note" : "Cleared the document note", [{ op: "layer.update", note }]);
      return;
    }
    const item = (owner === "span" ? this.model.spans : this.model.attributions).get(id);
    if (!item || (item.note || "") === note) return;
    this.run(note ? "Saved the note" : "Cleared the note", [{ op: `${owner}.update`, id, note }]);
  }

  /** A labelled note field for a span or an attribution (saved on change through onPanelChange). */
  noteField(owner, id, value, label) {
    const wrap = el("label", "wb-field wb-note-field");
    wrap.appendChild(el("span", "", label));
    const area = el("textarea");
    area.rows = 2;
    area.maxLength = 2000;
    area.value = value || "";
    area.dataset.note = owner;
    area.dataset.id = id;
    wrap.appendChild(area);
    return wrap;
  }

  /** Under the guidelines: what each label's spans may overlap (the schema's rules, in the server's words). */
  renderLabelRules(panel) {
    const rules = this.data.project.label_rules || [];
    if (!rules.length) return;
    const box = el("section", "wb-label-rules");
    box.setAttribute("aria-labelledby", "wb-label-rules-title");
    const h = el("h3", null, "Labels and how their spans may meet");
    h.id = "wb-label-rules-title";
    const dl = el("dl");
    for (const r of rules) dl.append(el("dt", null, `${r.name} (${r.kind})`), el("dd", null, r.rule));
    box.append(h, dl);
    panel.append(box);
  }

  /**
   * Apply ops to the model, refusing (and undoing) them when a span they make
   * or move breaks the schema's overlap rules (overlap.js: the server's rules
   * and words). Returns the inverse ops; throws an Error with the reason.
   */
  applyChecked(ops) {
    const inverse = this.model.applyOps(ops);
    const changed = new Set(ops.filter(o => o.op === "span.create" || o.op === "span.update").map(o => o.id));
    const why = (changed.size ? findOverlapProblem(this.data.schema, this.text, this.astral, this.model.spans.values(), changed) : null)
      || this.relationProblem(ops);
    if (why) {
      this.model.applyOps(inverse);
      const err = new Error(why);
      err.overlap = true;
      throw err;
    }
    return inverse;
  }

  /** Why a relabelling in ``ops`` leaves a relation its type does not allow (the server's rule), or null. */
  relationProblem(ops) {
    for (const op of ops) {
      if (op.op !== "span.update" || op.label === undefined) continue;
      for (const r of this.model.relationsOf(op.id)) {
        const h = this.model.spans.get(r.head), t = this.model.spans.get(r.tail);
        if (h && t && !this.model.relationTypesFor(h.label, t.label).some(x => x.name === r.type)) {
          return `a ${r.type} relation cannot go from ${h.label} to ${t.label}; delete the relation first`;
        }
      }
    }
    return null;
  }

  /** ←/→ (and Home/End) move the focus along the palette, a single Tab stop. */
  onPaletteKey(e) {
    const btns = Array.from(e.currentTarget.querySelectorAll("button[data-label]"));
    const i = btns.indexOf(e.target);
    if (i < 0 || e.ctrlKey || e.metaKey || e.altKey || e.shiftKey) return;
    const to = { ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: btns.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const j = (to + btns.length) % btns.length;
    btns.forEach((b, k) => { b.tabIndex = k === j ? 0 : -1; });
    btns[j].focus();
  }

  renderLayerStatus() {
    const s = $("#wb-layer-status", this.root);
    if (s) s.textContent = this.model.status.replace("_", " ");
  }

  showStatus(st) {
    // Every keystroke that makes a span says "Saving…", then "Saved": change the text node's data
    // (nothing inserted or removed) and only what differs.
    const t = this.statusEl.firstChild;
    if (t && t.nodeType === Node.TEXT_NODE && !t.nextSibling) { if (t.data !== st.text) t.data = st.text; }
    else this.statusEl.textContent = st.text;
    if (this.statusEl.dataset.state !== st.kind) this.statusEl.dataset.state = st.kind;
  }

  showCounts(counts) {
    if (!counts) return;
    if (counts.spans !== this.model.spans.size || counts.relations !== this.model.relations.size || counts.attributions !== this.model.attributions.size) {
      // Drift between client and server: reload the truth.
      if (!this.saver.unsaved) this.reload("The saved layer differs from this page; reloaded the current version.");
    }
  }

  showBanner(msg, kind = "info") {
    this.bannerEl.textContent = msg;
    this.bannerEl.dataset.kind = kind;
    this.bannerEl.hidden = !msg;
  }

  // ------------------------------------------------------------ saving errors
  /**
   * 409: the layer was saved elsewhere since this page's base version. Fetch
   * the current layer and rebase every unacknowledged op onto it (see
   * rebaseOps in model.js), then hand the result to the saver, which sends it
   * with the new base version. Throws when the layer cannot be fetched; the
   * saver then keeps the outbox and tries again.
   */
  async conflict() {
    const data = await getJSON(`/api/v1/layers/${this.model.id}`);
    const ops = this.saver.unacknowledged();
    this.model.reset(data.layer);
    const { ops: rebased, dropped } = rebaseOps(this.model, ops, this.base);
    this.setBase(data.layer);
    this.saver.rebased(data.layer.version, rebased);
    // Undo entries hold inverses computed on the old state: start afresh.
    this.history.clear();
    if (dropped.length) this.reloads = (this.reloads || 0) + 1; // setStatus stops so the person can look first
    if (this.mode && !this.modeStillFits()) this.mode = null;
    if (this.selectedId && !this.model.spans.has(this.selectedId)) this.selectedId = null;
    this.view.select(this.selectedId);
    this.updateLinks();
    this.view.resetAll();
    if (this.suggestions) this.suggestions.refresh(); // the layer was replaced: what is still open
    this.renderPanel();
    this.renderLayerStatus();
    let msg = "This document was also changed in another tab or window; your changes were applied on top of it.";
    if (dropped.length) msg = `${msg} ${describeDropped(dropped)}.`;
    this.showBanner(msg, dropped.length ? "warn" : "info");
    this.announce(msg);
  }

  /** Whether the open attribution form or relation still names only spans that exist. */
  modeStillFits() {
    const m = this.mode;
    const ids = m.kind === "attr"
      ? [m.source, m.cue, m.cursor, ...(m.content || []), ...(m.ops || []).map(o => o.id)]
      : [m.head, m.target, m.cursor];
    return ids.filter(Boolean).every(id => this.model.spans.has(id));
  }

  async invalid(err) {
    await this.reload(`The server refused a change (${err.message}); reloaded the saved version.`);
  }

  async reload(message) {
    this.reloads = (this.reloads || 0) + 1;
    try {
      const data = await getJSON(`/api/v1/layers/${this.model.id}`);
      this.model.reset(data.layer);
      this.setBase(data.layer);
      this.saver.discard(data.layer.version);
      this.history.clear();
      this.mode = null;
      this.selectedId = null;
      this.view.select(null);
      this.updateLinks();
      this.view.resetAll();
      if (this.suggestions) this.suggestions.refresh(); // the layer was replaced: what is still open
      this.renderPanel();
      this.renderLayerStatus();
      this.showBanner(message, "warn");
      this.showStatus({ kind: "saved", text: "Saved" });
      this.announce(message);
    } catch (err) {
      this.showBanner(`${message.split(";")[0]}; reloading failed (${err.message}). Reload the page.`, "error");
    }
  }

  announce(msg) {
    const a = $("#wb-announce", this.root);
    a.textContent = msg;
  }

  /** Announce and also show the message on the page for a few seconds (undo and redo). */
  notify(msg) {
    this.announce(msg);
    const n = $("#wb-note", this.root);
    if (!n) return;
    n.textContent = msg;
    n.hidden = false;
    clearTimeout(this.noteTimer);
    this.noteTimer = setTimeout(() => { n.hidden = true; }, 6000);
  }

  // ------------------------------------------------------------ commands
  /** Apply ops as one undoable command, repaint, queue for saving. */
  run(name, ops, { record = true } = {}) {
    if (!ops.length) return [];
    let inverse;
    try { inverse = this.applyChecked(ops); } catch (err) { this.showBanner(err.overlap ? `Refused: ${err.message}` : `Could not ${name}: ${err.message}`, "error"); this.announce(err.message); return []; }
    if (record) this.history.push({ name, ops, inverse });
    this.saver.add(ops);
    this.afterChange(ops);
    this.announce(name);
    return inverse;
  }

  afterChange(ops) {
    const ids = new Set();
    for (const op of ops) if (op.op.startsWith("span.")) ids.add(op.id);
    if (this.selectedId && !this.model.spans.has(this.selectedId)) this.selectedId = null;
    this.view.select(this.selectedId);
    this.view.syncSpans(ids);
    this.updateLinks();
    this.renderPanelSoon();
    if (this.suggestions) this.suggestions.refresh();
  }

  undo() {
    const cmd = this.history.undoStack.pop();
    if (!cmd) { this.notify("Nothing to undo"); return; }
    this.cancelMode();
    this.model.applyOps(cmd.inverse);
    this.history.redoStack.push(cmd);
    this.saver.add(cmd.inverse);
    this.afterChange(cmd.inverse);
    this.notify(`Undone: ${cmd.name}`);
  }

  redo() {
    const cmd = this.history.redoStack.pop();
    if (!cmd) { this.notify("Nothing to redo"); return; }
    this.cancelMode();
    cmd.inverse = this.model.applyOps(cmd.ops);
    this.history.undoStack.push(cmd);
    this.saver.add(cmd.ops);
    this.afterChange(cmd.ops);
    this.notify(`Redone: ${cmd.name}`);
  }

  labelByKey(key) {
    const k = key.toLowerCase();
    let l = this.labelsByIndex.find(x => x.hotkey && x.hotkey === k);
    if (l) return l;
    if (/^[0-9]$/.test(key)) {
      const idx = key === "0" ? 9 : Number(key) - 1;
      return this.labelsByIndex[idx] || null;
    }
    return null;
  }

  /** The current text selection as code points (through the offsets pipeline), or null. */
  currentSelection() {
    const snap = $("#wb-snap", this.root).checked;
    return selectionToCp(this.docEl, this.text, { lines: this.lines, toks: snap ? this.toks : null, astral: this.astral });
  }

  defaultAttrs(labelName) {
    const l = this.model.labels.get(labelName);
    const attrs = {};
    for (const a of (l && l.attributes) || []) if (a.default !== undefined && a.default !== null) attrs[a.name] = a.default;
    return attrs;
  }

  /** Make a span from the text selection; returns its id or null. */
  createFromSelection(labelName, sel = this.currentSelection()) {
    if (!sel) return null;
    this.view.premeasure(sel.start, sel.end); // while the layout is clean: the redraw of its lines then reads none
    this.caret = sel.end;
    const dup = this.model.findSpan(sel.start, sel.end, labelName);
    window.getSelection().removeAllRanges();
    if (dup) { this.selectSpan(dup.id); this.announce(`${labelName} already marked here`); return dup.id; }
    const id = newId();
    const op = { op: "span.create", id, label: labelName, start: sel.start, end: sel.end, attrs: this.defaultAttrs(labelName), text: sliceCp(this.text, sel.start, sel.end, this.astral) };
    if (this.mode && this.mode.kind === "attr") {
      // Part of the attribution unit being built.
      let inv;
      try { inv = this.applyChecked([op]); } catch (err) { this.showBanner(`Refused: ${err.message}`, "error"); this.announce(err.message); return null; }
      this.mode.ops.push(op);
      this.mode.inverse = [...inv, ...this.mode.inverse];
      this.saver.add([op]);
      this.afterChange([op]);
      this.assignSlot(id);
      return id;
    }
    if (!this.run(`Created ${labelName}`, [op]).length) return null; // refused (the banner says why)
    this.selectSpan(id, { reveal: false });
    return id;
  }

  relabel(id, labelName) {
    const s = this.model.spans.get(id);
    if (!s || s.label === labelName) return;
    const attrs = {};
    const l = this.model.labels.get(labelName);
    for (const a of (l && l.attributes) || []) {
      if (s.attrs && a.name in s.attrs && a.values.includes(s.attrs[a.name])) attrs[a.name] = s.attrs[a.name];
      else if (a.default !== undefined && a.default !== null) attrs[a.name] = a.default;
    }
    this.run(`Relabelled as ${labelName}`, [{ op: "span.update", id, label: labelName, attrs }]);
  }

  deleteSpan(id) {
    if (!this.model.spans.has(id)) return;
    const s = this.model.spans.get(id);
    const ops = this.model.deleteSpanOps(id);
    const extra = ops.length - 1;
    this.selectedId = null;
    this.detailsOpen = false;
    this.run(`Deleted ${s.label}${extra ? ` with ${extra} linked item(s)` : ""}`, ops);
  }

  // ------------------------------------------------------------ selection of spans
  selectSpan(id, { reveal = true } = {}) {
    this.selectedId = id;
    this.view.select(id);
    if (id && reveal) this.view.reveal(id);
    this.updateLinks();
    this.markRow();
    if (id) {
      const s = this.model.spans.get(id);
      this.caret = s.end; // a keyboard selection made next starts after it
      this.announce(`${s.label}: ${this.quote(s)}, characters ${s.start}–${s.end}`);
      this.docEl.title = describe(s, this.quote(s));
    }
    if (this.detailsOpen) this.renderPanel();
    else if (this.tab === "relations" || this.tab === "attributions") this.renderPanelSoon();
  }

  quote(s, max = 80) {
    const q = sliceCp(this.text, s.start, s.end, this.astral).replace(/\s+/g, " ");
    return q.length > max ? q.slice(0, max - 1) + "…" : q;
  }

  /** Spans, relations and attributions linked to the selection, drawn as arcs and linked fills. */
  updateLinks() {
    const links = [];
    const ids = new Set();
    const marks = new Map();
    const id = this.selectedId;
    if (this.mode && this.mode.kind === "attr") {
      const f = this.mode;
      f.content.forEach((c, i) => { ids.add(c); marks.set(c, f.content.length > 1 ? `content ${i + 1}` : "content"); });
      if (f.source) { ids.add(f.source); marks.set(f.source, "source"); }
      if (f.cue) { ids.add(f.cue); marks.set(f.cue, "cue"); }
      this.addAttrLinks(links, f);
    } else if (this.mode && this.mode.kind === "rel") {
      ids.add(this.mode.head);
      marks.set(this.mode.head, "head");
      if (this.mode.target) { ids.add(this.mode.target); marks.set(this.mode.target, "tail"); links.push({ from: this.mode.head, to: this.mode.target, kind: "rel", label: "?" }); }
    } else if (id) {
      for (const r of this.model.relationsOf(id)) { ids.add(r.head); ids.add(r.tail); links.push({ from: r.head, to: r.tail, kind: "rel", label: r.type }); }
      for (const a of this.model.attributionsOf(id)) {
        for (const c of a.content) { ids.add(c); marks.set(c, "content"); }
        if (a.source) { ids.add(a.source); marks.set(a.source, "source"); }
        if (a.cue) { ids.add(a.cue); marks.set(a.cue, "cue"); }
        this.addAttrLinks(links, a);
      }
      ids.delete(id);
    }
    this.view.links = links;
    this.view.setLinks(ids, marks);
  }

  addAttrLinks(links, a) {
    links.push(...attributionSpokes(a));
  }

  /** Next/previous span in reading order from the selection (or from the top of the viewport). */
  stepSpan(dir, filter = null) {
    let list = this.model.sorted();
    if (filter) list = list.filter(filter);
    if (!list.length) return null;
    const cur = this.mode && this.mode.cursor ? this.model.spans.get(this.mode.cursor) : (this.selectedId ? this.model.spans.get(this.selectedId) : null);
    if (!cur) {
      const first = typeof this.caret === "number" ? this.caret : this.firstVisibleCp();
      const i = list.findIndex(s => s.start >= first);
      return dir > 0 ? list[i >= 0 ? i : 0] : list[i > 0 ? i - 1 : list.length - 1];
    }
    let i = list.findIndex(s => byReadingOrder(s, cur) >= 0 && s.id === cur.id);
    if (i < 0) {
      i = list.findIndex(s => byReadingOrder(s, cur) > 0);
      if (i < 0) i = list.length;
      return dir > 0 ? list[i % list.length] : list[(i - 1 + list.length) % list.length];
    }
    return list[(i + dir + list.length) % list.length];
  }

  firstVisibleCp() {
    const box = this.docEl.getBoundingClientRect();
    const u = u16FromPoint(this.docEl, box.left + 30, box.top + 12);
    return u < 0 ? 0 : u16ToCp(u, this.astral);
  }

  // ------------------------------------------------------------ attribution form
  startAttribution() {
    const id = this.selectedId;
    if (!this.data.schema.attributions) { this.announce("This project has no attributions"); return; }
    if (!id) { this.announce("Select a span first, then press A"); return; }
    const s = this.model.spans.get(id);
    const kind = this.model.labels.get(s.label)?.kind;
    const f = { kind: "attr", content: [], source: null, cue: null, noSource: false, active: "content", adding: false, ops: [], inverse: [], cursor: id, attrs: {}, parent: null, editing: null };
    for (const a of this.data.schema.attribution_attributes || []) if (a.default) f.attrs[a.name] = a.default;
    if (kind === "cue") { f.cue = id; f.active = "content"; }
    else if (kind === "entity") { f.source = id; f.active = "content"; }
    else if (kind === "source") { f.source = id; f.active = "content"; }
    else { f.content.push(id); f.active = "source"; }
    this.mode = f;
    this.tab = "attributions";
    this.renderPanel();
    this.updateLinks();
    this.focusActiveSlot();
    this.announce(`Attribution started; ${f.active} slot active`);
  }

  /**
   * Edit attribution `aid` in place: the same form as a new one, filled in.
   * Saving sends one attribution.update with the fields that changed.
   */
  editAttribution(aid) {
    const a = this.model.attributions.get(aid);
    if (!a) return;
    if (this.mode) this.cancelMode();
    this.detailsOpen = false;
    this.mode = {
      kind: "attr", editing: aid, content: [...a.content], source: a.source, cue: a.cue, noSource: !a.source, parent: a.parent,
      attrs: { ...(a.attrs || {}) }, active: "source", adding: false, ops: [], inverse: [], cursor: a.source || a.cue || a.content[0],
    };
    this.tab = "attributions";
    this.renderPanel();
    this.updateLinks();
    this.announce(`Editing the attribution of ${this.quote(this.model.spans.get(a.content[0]) || { start: 0, end: 0 }, 40)}; source slot active`);
    this.focusActiveSlot();
  }

  /** The form takes the focus on its active slot: Tab then moves between its fields, ] and [ pick spans. */
  focusActiveSlot() {
    const b = $(".wb-form .wb-slot.is-active", this.root) || $(".wb-form .wb-slot", this.root);
    if (!b) return;
    this.rendering = true;
    try { b.focus({ preventScroll: true }); } finally { this.rendering = false; }
  }

  /** Shift+A: edit the attribution the selected span takes part in (a chooser when it is in several). */
  editAttributionOf(spanId) {
    if (!spanId) { this.announce("Select a span first, then press Shift+A"); return; }
    const list = this.model.attributionsOf(spanId);
    if (!list.length) { this.announce("This span is in no attribution"); return; }
    if (list.length === 1) { this.editAttribution(list[0].id); return; }
    this.picker().open({
      title: "Edit which attribution?", returnFocus: this.docEl, filter: false,
      items: list.map(a => ({ text: this.attributionText(a), id: a.id })),
      onPick: (it) => this.editAttribution(it.id),
    });
  }

  /** A one-line name for an attribution: source, cue and the start of its content. */
  attributionText(a) {
    const q = (id, n) => { const s = this.model.spans.get(id); return s ? this.quote(s, n) : "?"; };
    const who = a.source ? q(a.source, 30) : "no source";
    const cue = a.cue ? ` · ${q(a.cue, 20)}` : "";
    return `${who}${cue}: “${a.content.length ? q(a.content[0], 40) : ""}”`;
  }

  /** Set the form's parent (the attribution that relays this one); a loop is refused with the reason. */
  setFormParent(parentId) {
    const f = this.mode;
    const loop = f.editing ? this.model.chainLoop(f.editing, parentId || null) : null;
    if (loop) {
      const names = loop.map(id => this.attributionText(this.model.attributions.get(id) || { content: [] }));
      this.flashForm(`Not saved: that would make a loop (${names.join(" → ")}). An attribution cannot be relayed, directly or through others, by one it relays.`);
      this.announce("Refused: the chain would loop");
      this.renderPanel();
      return false;
    }
    f.parent = parentId || null;
    f.error = "";
    this.renderPanel();
    this.announce(parentId ? `Relayed by ${this.attributionText(this.model.attributions.get(parentId))}` : "Not relayed");
    return true;
  }

  assignSlot(id) {
    const f = this.mode;
    if (f.active === "content") {
      if (f.content.includes(id)) return;
      if (f.adding || !f.content.length) f.content.push(id);
      else f.content[Math.min(f.piece ?? f.content.length - 1, f.content.length - 1)] = id;
      f.adding = false;
      f.content = this.model.inReadingOrder(f.content);
      f.piece = f.content.indexOf(id);
    } else if (f.active === "source") { f.source = id; f.noSource = false; }
    else f.cue = id;
    for (const k of ["source", "cue"]) if (k !== f.active && f[k] === id) f[k] = null;
    if (f.active !== "content") f.content = f.content.filter(c => c !== id);
    f.cursor = id;
    f.error = "";
    this.updateLinks();
    this.renderPanel();
    this.announce(`${f.active}: ${this.quote(this.model.spans.get(id))}`);
  }

  slotFilter(slot) {
    const kinds = { source: ["entity", "source"], cue: ["cue"], content: ["claim"] }[slot];
    const has = this.model.sorted().some(s => kinds.includes(this.model.labels.get(s.label)?.kind));
    return has ? (s) => kinds.includes(this.model.labels.get(s.label)?.kind) : null;
  }

  commitAttribution() {
    const f = this.mode;
    if (!f.content.length) { this.announce("An attribution needs at least one content span"); this.flashForm("Needs at least one content span."); return; }
    if (!f.source && !f.cue) { this.announce("An attribution needs a source or a cue"); this.flashForm("Needs a source or a cue (press N only when no source is named, then pick a cue)."); return; }
    const content = this.model.inReadingOrder(f.content);
    let op;
    if (f.editing) {
      const a = this.model.attributions.get(f.editing);
      if (!a) { this.flashForm("This attribution was deleted meanwhile."); return; }
      if (f.parent && this.model.chainLoop(f.editing, f.parent)) { this.setFormParent(f.parent); return; }
      op = { op: "attribution.update", id: f.editing };
      const want = { source: f.source, cue: f.cue, content, parent: f.parent, attrs: { ...f.attrs } };
      for (const k of Object.keys(want)) if (JSON.stringify(want[k]) !== JSON.stringify(k === "attrs" ? a.attrs || {} : a[k])) op[k] = want[k];
      if (Object.keys(op).length === 2 && !f.ops.length) { this.closeForm(); this.announce("Nothing changed"); return; }
    } else {
      op = { op: "attribution.create", id: newId(), source: f.source, cue: f.cue, content, attrs: { ...f.attrs }, parent: f.parent || null };
    }
    const name = f.editing ? "Edited attribution" : "Created attribution";
    const ops = Object.keys(op).length > 2 || !f.editing ? [op] : [];
    const inv = this.model.applyOps(ops);
    this.saver.add(ops);
    this.history.push({ name, ops: [...f.ops, ...ops], inverse: [...inv, ...f.inverse] });
    this.mode = null;
    this.afterChange(ops);
    this.selectSpan(content[0], { reveal: false });
    this.closeForm();
    this.announce(name);
  }

  /** After the form closes: re-render, and bring the focus back to the text if it was in the form. */
  closeForm() {
    const a = document.activeElement;
    const inForm = a && a.closest && a.closest("#wb-panel") && !a.closest("#wb-tabs");
    this.mode = null;
    this.renderPanel();
    this.updateLinks();
    if (inForm || !a || a === document.body) this.docEl.focus({ preventScroll: true });
  }

  cancelMode() {
    const m = this.mode;
    if (!m) return;
    this.mode = null;
    if (m.kind === "attr" && m.ops.length) {
      // Spans made inside the form go away with it.
      this.model.applyOps(m.inverse);
      this.saver.add(m.inverse);
      this.afterChange(m.inverse);
    }
    this.closeForm();
    this.announce(m.kind === "attr" ? (m.editing ? "Changes to the attribution discarded" : "Attribution discarded") : "Relation cancelled");
  }

  flashForm(msg) {
    if (this.mode) this.mode.error = msg; // survives re-rendering of the panel
    const e = $("#wb-form-error", this.root);
    if (e) e.textContent = msg;
  }

  // ------------------------------------------------------------ relation form
  startRelation() {
    if (!this.selectedId) { this.announce("Select a span first, then press R"); return; }
    if (!(this.data.schema.relation_types || []).length) { this.announce("This project has no relation types"); return; }
    this.mode = { kind: "rel", head: this.selectedId, target: null, stage: "target", cursor: this.selectedId };
    this.tab = "relations";
    this.renderPanel();
    this.updateLinks();
    this.announce("Relation: pick the target span (J or K, or click), then Enter");
  }

  setRelTarget(id) {
    const m = this.mode;
    if (id === m.head) return;
    m.target = id;
    m.cursor = id;
    this.updateLinks();
    this.view.reveal(id);
    this.renderPanel();
  }

  relTypes() {
    const m = this.mode;
    const h = this.model.spans.get(m.head), t = this.model.spans.get(m.target);
    return h && t ? this.model.relationTypesFor(h.label, t.label) : [];
  }

  confirmRelTarget() {
    const m = this.mode;
    if (!m.target) return;
    const types = this.relTypes();
    if (!types.length) { this.flashForm("The schema allows no relation between these labels."); return; }
    m.stage = "type";
    this.renderPanel();
    this.announce(`Choose the type: ${types.map((t, i) => `${i + 1} ${t.name}`).join(", ")}`);
  }

  createRelation(typeName) {
    const m = this.mode;
    const op = { op: "relation.create", id: newId(), type: typeName, head: m.head, tail: m.target, attrs: {} };
    this.mode = null;
    this.run(`Created relation ${typeName}`, [op]);
    this.selectSpan(m.head, { reveal: false });
    this.renderPanel();
  }

  // ------------------------------------------------------------ submit / skip
  async setStatus(status, note) {
    this.showStatus({ kind: "saving", text: "Saving…" });
    const reloads = this.reloads || 0;
    await this.saver.flush();
    const ok = await this.saver.idle();
    if ((this.reloads || 0) !== reloads) return; // a conflict reloaded the page's state: let the person look first
    if (!ok || this.saver.unsaved) { this.showBanner("Your changes are not saved yet; try again once the status line says Saved.", "error"); return; }
    try {
      const body = { status };
      if (note) body.note = note;
      const resp = await postJSON(`/api/v1/layers/${this.model.id}/status`, body);
      this.model.status = resp.status;
      this.renderLayerStatus();
      const next = resp.next_url;
      const done = { submitted: "Submitted", skipped: "Skipped", adjudicated: "Finished" }[status] || "Saved";
      this.announce(done);
      if (next) window.location.assign(next);
      else {
        this.showBanner(`${done}. Nothing left to ${status === "adjudicated" ? "adjudicate" : "annotate"} in this project.`, "info");
        if (this.data.navigation && this.data.navigation.project_url) setTimeout(() => window.location.assign(this.data.navigation.project_url), 1200);
      }
    } catch (err) {
      this.showBanner(`Could not change the status: ${err.message}`, "error");
    }
  }

  submit() { this.setStatus(this.root.dataset.finishStatus || "submitted"); }

  openSkip() {
    const f = $("#wb-skip-form", this.root);
    f.hidden = false;
    $("#wb-skip-note", this.root).focus();
  }

  // ------------------------------------------------------------ events
  bind() {
    document.addEventListener("keydown", (e) => this.onKey(e));
    this.docEl.addEventListener("mouseup", (e) => this.onMouseUp(e));
    this.bindLinkDrag();
    this.docEl.addEventListener("mousemove", (e) => this.onHover(e));
    $("#wb-palette", this.root).addEventListener("click", (e) => {
      const b = e.target.closest("button[data-label]");
      if (!b) return;
      this.pickLabel(b.dataset.label, { fromPalette: true });
    });
    $("#wb-tabs", this.root).addEventListener("click", (e) => {
      const b = e.target.closest("[data-tab]");
      if (!b) return;
      this.tab = b.dataset.tab;
      this.renderPanel();
    });
    $("#wb-list", this.root).addEventListener("click", (e) => this.onPanelClick(e));
    $("#wb-list", this.root).addEventListener("change", (e) => this.onPanelChange(e));
    $("#wb-list", this.root).addEventListener("focusin", (e) => this.onSlotFocus(e));
    $("#wb-submit", this.root).addEventListener("click", () => this.submit());
    $("#wb-skip", this.root)?.addEventListener("click", () => this.openSkip());
    $("#wb-skip-form", this.root).addEventListener("submit", (e) => {
      e.preventDefault();
      const note = $("#wb-skip-note", this.root).value.trim();
      if (!note) { $("#wb-skip-error", this.root).textContent = "Please give a reason for skipping."; return; }
      $("#wb-skip-form", this.root).hidden = true;
      this.setStatus("skipped", note);
    });
    $("#wb-skip-cancel", this.root).addEventListener("click", () => { $("#wb-skip-form", this.root).hidden = true; this.docEl.focus(); });
    $("#wb-save", this.root).addEventListener("click", () => this.saver.retryNow());
    $("#wb-help-open", this.root).addEventListener("click", () => this.toggleHelp(true));
    $("#wb-help-close", this.root).addEventListener("click", () => this.toggleHelp(false));
    window.addEventListener("beforeunload", (e) => {
      if (this.saver.unsaved) { e.preventDefault(); e.returnValue = ""; }
    });
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") this.saver.flush(); });
    window.addEventListener("online", () => this.saver.retryNow());
  }

  toggleHelp(open) {
    const h = $("#wb-help", this.root);
    h.hidden = !open;
    if (open) $("#wb-help-close", this.root).focus();
    else this.docEl.focus();
  }

  pickLabel(name, { fromPalette = false } = {}) {
    const sel = window.getSelection();
    const hasSel = sel && sel.rangeCount && !sel.isCollapsed && this.docEl.contains(sel.anchorNode);
    if (hasSel) { this.createFromSelection(name); return; }
    if (this.selectedId && !this.mode) { this.relabel(this.selectedId, name); return; }
    if (fromPalette) {
      this.armed = this.armed === name ? null : name;
      for (const b of document.querySelectorAll("#wb-palette button")) b.setAttribute("aria-pressed", String(b.dataset.label === this.armed));
      this.announce(this.armed ? `${name} armed: select text to mark it` : "Label disarmed");
    }
  }

  /**
   * Mouse: press a span's chip, drag, release on another span (its chip or its
   * words) and the relation form opens with both ends set, through the same
   * steps as the keyboard's R, target, Enter. Releasing on the same chip
   * selects its span.
   */
  bindLinkDrag() {
    this.docEl.addEventListener("pointerdown", (e) => {
      this.skipMouseUp = false;
      const chip = e.button === 0 && !this.mode && e.target.closest && e.target.closest(".wb-chip[data-span]");
      if (!chip || !this.model.spans.has(chip.dataset.span)) return;
      e.preventDefault(); // no text selection while dragging
      this.linkDrag = { head: chip.dataset.span };
      this.root.classList.add("is-linking");
    });
    window.addEventListener("pointerup", (e) => {
      const drag = this.linkDrag;
      if (!drag) return;
      this.linkDrag = null;
      this.root.classList.remove("is-linking");
      this.skipMouseUp = this.docEl.contains(e.target);
      const target = this.spanAtPoint(e);
      if (!target || target === drag.head) { this.selectSpan(drag.head, { reveal: false }); this.docEl.focus({ preventScroll: true }); return; }
      this.selectSpan(drag.head, { reveal: false });
      this.startRelation();
      if (!this.mode || this.mode.kind !== "rel") return;
      this.setRelTarget(target);
      this.confirmRelTarget();
    });
  }

  /** The span under a pointer event: the chip's, else the innermost span at that point of the text (or null). */
  spanAtPoint(e) {
    const hit = document.elementFromPoint(e.clientX, e.clientY);
    const chip = hit && hit.closest && hit.closest(".wb-chip[data-span]");
    if (chip && this.model.spans.has(chip.dataset.span)) return chip.dataset.span;
    const u = u16FromPoint(this.docEl, e.clientX, e.clientY);
    if (u < 0) return null;
    const under = this.model.spansAt(u16ToCp(u, this.astral));
    return under.length ? under[0].id : null;
  }

  onMouseUp(e) {
    if (this.skipMouseUp) { this.skipMouseUp = false; return; } // a chip drag finished here (bindLinkDrag)
    if (e.button !== 0) return;
    const sel = window.getSelection();
    if (sel && sel.rangeCount && !sel.isCollapsed) {
      if (this.armed) this.createFromSelection(this.armed);
      return;
    }
    const u = u16FromPoint(this.docEl, e.clientX, e.clientY);
    if (u < 0) { if (!this.mode) this.selectSpan(null); return; }
    const cp = u16ToCp(u, this.astral);
    this.caret = cp;
    const under = this.model.spansAt(cp);
    if (!under.length) {
      if (!this.mode && this.suggestions && this.suggestions.pickAt(cp)) return;
      if (!this.mode) { this.selectSpan(null); this.renderPanelSoon(); }
      return;
    }
    let pick = under[0];
    if (e.altKey && this.selectedId) {
      const i = under.findIndex(s => s.id === this.selectedId);
      if (i >= 0) pick = under[(i + 1) % under.length];
    }
    if (this.mode && this.mode.kind === "attr") { this.assignSlot(pick.id); return; }
    if (this.mode && this.mode.kind === "rel") { this.setRelTarget(pick.id); return; }
    this.selectSpan(pick.id, { reveal: false });
    this.docEl.focus({ preventScroll: true });
  }

  onHover(e) {
    if (this.hoverFrame) return;
    const x = e.clientX, y = e.clientY;
    this.hoverFrame = requestAnimationFrame(() => {
      this.hoverFrame = 0;
      const u = u16FromPoint(this.docEl, x, y);
      if (u < 0) { this.docEl.title = ""; return; }
      const cp = u16ToCp(u, this.astral);
      const under = this.model.spansAt(cp);
      const lines = under.map(s => describe(s, this.quote(s, 50)));
      const suggested = this.suggestions && this.suggestions.at(cp);
      if (suggested) lines.push(`Suggestion: ${this.suggestions.describe(suggested)}`);
      this.docEl.title = lines.join("\n");
    });
  }

  onKey(e) {
    const t = e.target;
    const inField = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT") && t.type !== "checkbox";
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key;
    const help = $("#wb-help", this.root);
    if (!help.hidden) {
      if (key === "Escape" || key === "?") { e.preventDefault(); this.toggleHelp(false); }
      return;
    }
    if (ctrl && key.toLowerCase() === "s") { e.preventDefault(); this.saver.retryNow(); return; }
    if (ctrl && key === "Enter") { e.preventDefault(); this.submit(); return; }
    if (key === "F6") { e.preventDefault(); this.cycleRegion(e.shiftKey ? -1 : 1); return; }
    if (inField && this.onFormFieldKey(e)) return;
    if (inField) {
      if (key === "Escape") { e.preventDefault(); t.blur(); if (!$("#wb-skip-form", this.root).hidden) $("#wb-skip-form", this.root).hidden = true; this.docEl.focus(); }
      return;
    }
    if (ctrl && (key === "z" || key === "Z") && !e.shiftKey) { e.preventDefault(); this.undo(); return; }
    if (ctrl && ((key === "z" || key === "Z") && e.shiftKey || key === "y" || key === "Y")) { e.preventDefault(); this.redo(); return; }
    if (e.shiftKey && (key === "ArrowRight" || key === "ArrowLeft") && !this.mode && (this.docEl.contains(t) || t === document.body)) {
      if (this.extend(e)) return;
    }
    if (!e.shiftKey && !ctrl && !e.altKey && (key === "ArrowRight" || key === "ArrowLeft") && this.docEl.contains(t)) {
      e.preventDefault();
      this.selectWord(key === "ArrowRight");
      return;
    }
    if (ctrl || e.altKey && key.length === 1) return;
    // Single keys act only in the text or the panel.
    const inScope = this.root.contains(t) || t === document.body;
    if (!inScope) return;
    if (t.dataset && t.dataset.slot && key === "Enter" && this.mode && this.mode.kind === "attr") { e.preventDefault(); this.commitAttribution(); return; }
    if ((t.tagName === "BUTTON" || t.tagName === "SUMMARY") && (key === "Enter" || key === " ")) return; // let buttons (and disclosures) work
    if (key === "?") { e.preventDefault(); this.toggleHelp(true); return; }
    if (this.onChooserKey(e)) return;
    if (this.mode && this.mode.kind === "attr" && this.onAttrKey(e)) return;
    if (this.mode && this.mode.kind === "rel" && this.onRelKey(e)) return;
    if (!this.mode && this.suggestions && this.suggestions.onKey(e)) return;
    if (key === "Escape") {
      e.preventDefault();
      const sel = window.getSelection();
      if (sel && !sel.isCollapsed) sel.removeAllRanges();
      else if (this.armed) this.pickLabel(this.armed, { fromPalette: true });
      else { this.detailsOpen = false; this.selectSpan(null); this.renderPanel(); }
      return;
    }
    if ((key === "ArrowDown" || key === "ArrowUp") && t.getAttribute && t.getAttribute("role") === "listbox") {
      e.preventDefault();
      const sp = this.stepSpan(key === "ArrowDown" ? 1 : -1);
      if (sp) this.selectSpan(sp.id);
      return;
    }
    if (this.onTextKey(e)) return;
    if ((key === "Backspace" || key === "Delete") && this.selectedId) { e.preventDefault(); this.deleteSpan(this.selectedId); return; }
    if (key === "Enter" && this.selectedId) { e.preventDefault(); this.openDetails(); return; }
    if (key === "Enter" && this.armed) { e.preventDefault(); this.createFromSelection(this.armed); return; }
    if (key.length === 1 && !e.altKey) {
      const k = key.toLowerCase();
      const sel = window.getSelection();
      const hasSel = sel && sel.rangeCount && !sel.isCollapsed && this.docEl.contains(sel.anchorNode);
      if (!hasSel && k === "a" && !this.labelByKey("a")) { e.preventDefault(); this.startAttribution(); return; }
      if (!hasSel && k === "r" && !this.labelByKey("r")) { e.preventDefault(); this.startRelation(); return; }
      const l = this.labelByKey(e.shiftKey && /^[0-9]$/.test(key) ? key : key);
      if (l) { e.preventDefault(); this.pickLabel(l.name); return; }
    }
  }

  /** Shift+arrows: extend the text selection (by token or character), or move a selected span's edge by a token. */
  extend(e) {
    const fwd = e.key === "ArrowRight";
    const sel = window.getSelection();
    const snap = $("#wb-snap", this.root).checked;
    if (sel && sel.rangeCount && !sel.isCollapsed && this.docEl.contains(sel.anchorNode)) {
      e.preventDefault();
      if (snap && !e.altKey) this.extendByToken(sel, fwd);
      else sel.modify("extend", fwd ? "forward" : "backward", "character");
      return true;
    }
    if (this.selectedId && !this.mode) {
      e.preventDefault();
      const s = this.model.spans.get(this.selectedId);
      const toks = this.data.document.tokens;
      const moveStart = e.ctrlKey || e.metaKey;
      let start = s.start, end = s.end;
      if (moveStart) {
        const cands = fwd ? toks.filter(tk => tk[0] > start && tk[0] < end) : toks.filter(tk => tk[0] < start).reverse();
        if (cands.length) start = cands[0][0];
      } else {
        const cands = fwd ? toks.filter(tk => tk[1] > end) : toks.filter(tk => tk[1] < end && tk[1] > start);
        if (cands.length) end = fwd ? cands[0][1] : cands[cands.length - 1][1];
      }
      if (start < end && (start !== s.start || end !== s.end)) this.run(`Resized ${s.label}`, [{ op: "span.update", id: s.id, start, end }]);
      return true;
    }
    if (this.docEl.contains(e.target)) {
      // Start a keyboard selection at the caret: the word under it, or the next (previous) one.
      e.preventDefault();
      this.selectWord(fwd);
      return true;
    }
    return false;
  }

  /**
   * Shift+←/→ with snapping on: move the selection's moving end (its focus)
   * by one of the server's tokens, the words the spans snap to.
   */
  extendByToken(sel, fwd) {
    const cur = this.currentSelection();
    if (!cur) return;
    const toks = this.data.document.tokens;
    const r = sel.getRangeAt(0);
    const backward = sel.anchorNode !== r.startContainer || sel.anchorOffset !== r.startOffset;
    let { start, end } = cur;
    if (!backward) {
      const tk = fwd ? toks.find(x => x[1] > end) : [...toks].reverse().find(x => x[1] < end && x[1] > start);
      if (tk) end = tk[1];
    } else {
      const tk = fwd ? toks.find(x => x[0] > start && x[0] < end) : [...toks].reverse().find(x => x[0] < start);
      if (tk) start = tk[0];
    }
    const nr = rangeForCp(this.docEl, start, end);
    if (backward) sel.setBaseAndExtent(nr.endContainer, nr.endOffset, nr.startContainer, nr.startOffset);
    else sel.setBaseAndExtent(nr.startContainer, nr.startOffset, nr.endContainer, nr.endOffset);
    this.caret = backward ? start : end;
    this.announce(`Selected ${sliceCp(this.text, start, end, this.astral)}`);
  }

  /**
   * ← / → in the text: select the previous / next word from the caret (the
   * text selection's edge, the selected span's end, or where the person
   * clicked), so a keyboard selection starts where the person is reading.
   * With a span selected, ← selects its last word and → the word after it.
   */
  selectWord(fwd) {
    const toks = this.data.document.tokens;
    if (!toks.length) return;
    const sel = window.getSelection();
    const cur = sel && sel.rangeCount && !sel.isCollapsed && this.docEl.contains(sel.anchorNode) ? this.currentSelection() : null;
    let tk;
    if (cur) tk = fwd ? toks.find(x => x[0] >= cur.end) : [...toks].reverse().find(x => x[1] <= cur.start);
    else {
      // The caret: after the selected span (selecting one puts it at its end), or where the person clicked.
      const cp = typeof this.caret === "number" ? this.caret : this.firstVisibleCp();
      tk = fwd ? toks.find(x => x[1] > cp) : [...toks].reverse().find(x => x[0] < cp);
    }
    if (!tk) { this.announce(fwd ? "End of the text" : "Start of the text"); return; }
    if (this.selectedId && !this.mode) this.selectSpan(null);
    const r = rangeForCp(this.docEl, tk[0], tk[1]);
    sel.removeAllRanges();
    sel.addRange(r);
    this.caret = fwd ? tk[1] : tk[0];
    const node = r.startContainer.nodeType === 1 ? r.startContainer : r.startContainer.parentElement;
    if (node && node.scrollIntoView) node.scrollIntoView({ block: "nearest" });
    this.announce(`Selected ${sliceCp(this.text, tk[0], tk[1], this.astral)}`);
  }

  // ------------------------------------------------------------ keyboard: regions, stepping, choosers
  /** J / K: next / previous span (unless a label of the project takes that letter). Returns 1, -1 or 0. */
  stepKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return 0;
    const k = e.key.toLowerCase();
    if ((k === "j" || k === "k") && !this.labelByKey(k)) return k === "j" ? 1 : -1;
    return 0;
  }

  /** Keys of the text and the span list when no form is open: J/K step through spans, Shift+A edits an attribution. */
  onTextKey(e) {
    const t = e.target;
    const inText = this.docEl.contains(t) || t === document.body || (t.closest && t.closest("#wb-list"));
    if (!inText) return false;
    const sel = window.getSelection();
    const hasSel = sel && sel.rangeCount && !sel.isCollapsed && this.docEl.contains(sel.anchorNode);
    const step = hasSel ? 0 : this.stepKey(e);
    if (step) {
      e.preventDefault();
      const s = this.stepSpan(step);
      if (s) this.selectSpan(s.id);
      else this.announce("No spans yet");
      return true;
    }
    if (e.key === "A" && e.shiftKey && !hasSel && !this.labelByKey("a")) {
      e.preventDefault();
      this.editAttributionOf(this.selectedId);
      return true;
    }
    return false;
  }

  /**
   * Keys that open a chooser, in any mode: "/" picks a label by name (every
   * label, the eleventh and later included), Space picks one of the spans
   * stacked at the caret.
   */
  onChooserKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const t = e.target;
    const inText = this.docEl.contains(t) || t === document.body;
    if (e.key === "/" && (inText || (t.closest && t.closest("#wb-palette, #wb-list")))) { e.preventDefault(); this.openLabelPicker(); return true; }
    if (e.key === " " && inText) { e.preventDefault(); this.openStackChooser(); return true; }
    return false;
  }

  picker() {
    if (!this._picker) this._picker = new Picker(this.root);
    return this._picker;
  }

  /** "/": a filterable list of every label; Enter marks the selection, relabels the selected span, or arms the label. */
  openLabelPicker() {
    const range = this.currentSelection();
    const items = this.labelsByIndex.map((l, i) => {
      const keys = [l.hotkey, i < 10 ? String((i + 1) % 10) : null].filter(Boolean);
      return { text: l.name, hint: `${l.kind}${keys.length ? " · key " + keys.join(" or ") : ""}`, cls: `wb-c${i}`, label: l.name };
    });
    const what = range ? "Label for the selected text" : (this.selectedId && !this.mode ? "New label for the selected span" : "Arm a label");
    this.picker().open({
      title: what, items, returnFocus: this.docEl,
      onPick: (it) => {
        if (range) this.createFromSelection(it.label, range);
        else if (this.selectedId && !this.mode) this.relabel(this.selectedId, it.label);
        else this.pickLabel(it.label, { fromPalette: true });
      },
    });
  }

  /** The caret in code points: where the person last clicked or moved in the text (the selected span's start). */
  caretCp() {
    if (this.selectedId && this.model.spans.has(this.selectedId)) return this.model.spans.get(this.selectedId).start;
    if (typeof this.caret === "number") return this.caret;
    return this.firstVisibleCp();
  }

  /** Space: choose among the spans stacked at the caret (innermost first). */
  openStackChooser() {
    const cp = this.caretCp();
    const under = this.model.spansAt(cp);
    if (!under.length) { this.announce("No span at the caret"); return; }
    if (under.length === 1) { this.chooseSpan(under[0].id); return; }
    const items = under.map(sp => ({ text: `${sp.label}: ${this.quote(sp, 60)}`, hint: `characters ${sp.start}–${sp.end}`, id: sp.id, cls: `wb-c${this.model.labels.get(sp.label)?.index ?? 0}` }));
    this.picker().open({ title: `${under.length} spans here`, items, returnFocus: this.docEl, filter: false, onPick: (it) => this.chooseSpan(it.id) });
  }

  /** A span picked in a chooser: fills the open form's slot or target, or becomes the selection. */
  chooseSpan(id) {
    if (this.mode && this.mode.kind === "attr") this.assignSlot(id);
    else if (this.mode && this.mode.kind === "rel") { if (id !== this.mode.head) this.setRelTarget(id); }
    else this.selectSpan(id);
  }

  /** The page's regions in F6 order, each with the element that takes the focus (hidden ones left out). */
  regions() {
    const visible = (n) => n && !n.hidden && n.getClientRects().length > 0;
    const firstFocusable = (root) => root && Array.from(root.querySelectorAll("a[href], button:not([disabled]), input:not([disabled]), select, textarea, [tabindex]:not([tabindex='-1'])")).find(visible);
    const panel = $("#wb-panel", this.root);
    const form = $(".wb-form", this.root);
    const list = [
      { name: "toolbar", root: $(".wb-toolbar", this.root), focus: firstFocusable($(".wb-toolbar", this.root)) },
      { name: "labels", root: $("#wb-palette", this.root), focus: $("#wb-palette button[tabindex='0']", this.root) || firstFocusable($("#wb-palette", this.root)) },
      { name: "text", root: this.docEl, focus: this.docEl },
      { name: "panel", root: panel, focus: $("#wb-tabs [aria-selected=true]", this.root) || firstFocusable(panel) },
    ];
    const sugg = $("#wb-suggest", this.root);
    if (sugg && !sugg.hidden) list.splice(3, 0, { name: "suggestions", root: sugg, focus: $("#wb-sugg-list", this.root) });
    if (form) list.push({ name: "form", root: form, focus: firstFocusable(form) });
    return list.filter(r => r.focus && visible(r.focus));
  }

  /** F6 / Shift+F6: move the focus to the next / previous region of the page. */
  cycleRegion(dir) {
    const list = this.regions();
    if (!list.length) return;
    const a = document.activeElement;
    // The innermost region holding the focus (the form sits inside the panel).
    let i = -1;
    list.forEach((r, k) => { if (r.root && r.root.contains(a) && (i < 0 || list[i].root.contains(r.root))) i = k; });
    const next = list[i < 0 ? (dir > 0 ? 0 : list.length - 1) : (i + dir + list.length) % list.length];
    next.focus.focus();
    this.announce(`${next.name[0].toUpperCase()}${next.name.slice(1)}`);
  }

  /** Keys in a field of the attribution form: Enter saves, Esc discards. */
  onFormFieldKey(e) {
    const t = e.target;
    if (!this.mode || this.mode.kind !== "attr" || !t.closest || !t.closest(".wb-form")) return false;
    if (e.key === "Enter" && t.tagName === "SELECT") { e.preventDefault(); this.commitAttribution(); return true; }
    if (e.key === "Escape") { e.preventDefault(); this.cancelMode(); this.docEl.focus({ preventScroll: true }); return true; }
    return false;
  }

  onAttrKey(e) {
    const f = this.mode, key = e.key;
    if (key === "Escape") { e.preventDefault(); this.cancelMode(); return true; }
    if (key === "Enter") { e.preventDefault(); this.commitAttribution(); return true; }
    if (key === "]" || key === "[") {
      e.preventDefault();
      const s = this.stepSpan(key === "]" ? 1 : -1, this.slotFilter(f.active));
      if (s) { this.assignSlot(s.id); this.view.reveal(s.id); }
      return true;
    }
    if (key === "+" || key === "=") {
      e.preventDefault();
      f.active = "content"; f.adding = true; f.piece = null;
      this.renderPanel();
      this.announce("Pick another content piece");
      return true;
    }
    const sel = window.getSelection();
    const hasSel = sel && sel.rangeCount && !sel.isCollapsed && this.docEl.contains(sel.anchorNode);
    if (key.toLowerCase() === "n" && !hasSel) {
      e.preventDefault();
      f.source = null; f.noSource = true;
      if (f.active === "source") f.active = "cue";
      this.updateLinks();
      this.renderPanel();
      this.announce("No source named");
      return true;
    }
    if ((key === "Backspace" || key === "Delete")) {
      e.preventDefault();
      if (f.active === "content") { if (f.adding) f.adding = false; else f.content.splice(Math.min(f.piece ?? Infinity, f.content.length - 1), 1); f.piece = null; }
      else f[f.active] = null;
      this.updateLinks(); this.renderPanel();
      return true;
    }
    if (key.length === 1 && hasSel) {
      const l = this.labelByKey(key);
      if (l) { e.preventDefault(); this.createFromSelection(l.name); return true; }
    }
    if (key.length === 1) { e.preventDefault(); return true; }
    return false;
  }

  onRelKey(e) {
    const m = this.mode, key = e.key;
    if (key === "Escape") { e.preventDefault(); this.cancelMode(); return true; }
    if (m.stage === "target") {
      const step = this.stepKey(e);
      if (step) {
        e.preventDefault();
        let s = this.stepSpan(step);
        if (s && s.id === m.head) { m.cursor = s.id; s = this.stepSpan(step); }
        if (s) this.setRelTarget(s.id);
        return true;
      }
      if (key === "Enter") { e.preventDefault(); this.confirmRelTarget(); return true; }
    } else if (/^[1-9]$/.test(key)) {
      e.preventDefault();
      const t = this.relTypes()[Number(key) - 1];
      if (t) this.createRelation(t.name);
      return true;
    }
    if (key.length === 1) { e.preventDefault(); return true; }
    return false;
  }

  openDetails() {
    this.detailsOpen = true;
    this.tab = "spans";
    this.renderPanel();
    const first = $("#wb-details select, #wb-details button", this.root);
    if (first) first.focus();
  }

  onPanelClick(e) {
    const slot = e.target.closest("[data-slot]");
    if (slot && this.mode && this.mode.kind === "attr") {
      this.mode.active = slot.dataset.slot;
      this.mode.adding = !!slot.dataset.add;
      if (slot.dataset.index !== undefined) this.mode.piece = Number(slot.dataset.index);
      this.renderPanel();
      return;
    }
    const act = e.target.closest("[data-action]");
    if (act) {
      const a = act.dataset.action;
      if (a === "commit-attr") this.commitAttribution();
      else if (a === "cancel") this.cancelMode();
      else if (a === "delete-span") this.deleteSpan(act.dataset.id);
      else if (a === "delete-rel") this.run("Deleted relation", [{ op: "relation.delete", id: act.dataset.id }]);
      else if (a === "delete-attr") this.run("Deleted attribution", this.model.deleteAttributionOps(act.dataset.id));
      else if (a === "edit-attr") this.editAttribution(act.dataset.id);
      else if (a === "edit-span-attr") this.editAttributionOf(act.dataset.id);
      else if (a === "rel-type") this.createRelation(act.dataset.type);
      else if (a === "rel-confirm") this.confirmRelTarget();
      else if (a === "start-attr") { this.detailsOpen = false; this.startAttribution(); }
      else if (a === "start-rel") { this.detailsOpen = false; this.startRelation(); }
      else if (a === "close-details") { this.detailsOpen = false; this.renderPanel(); this.docEl.focus(); }
      else if (a === "no-source") { this.mode.source = null; this.mode.noSource = true; this.updateLinks(); this.renderPanel(); }
      return;
    }
    const row = e.target.closest("[data-span]");
    if (row) this.selectSpan(row.dataset.span);
  }

  /** Focusing a slot of the attribution form (Tab, Shift+Tab) makes it the active slot. */
  onSlotFocus(e) {
    const b = e.target.closest && e.target.closest("[data-slot]");
    const f = this.mode;
    if (!b || !f || f.kind !== "attr" || this.rendering) return;
    const piece = b.dataset.index !== undefined ? Number(b.dataset.index) : f.piece;
    if (f.active === b.dataset.slot && !b.dataset.add === !f.adding && piece === f.piece) return;
    f.active = b.dataset.slot;
    f.adding = !!b.dataset.add;
    f.piece = piece;
    this.renderPanel();
    this.announce(`${f.active} slot active`);
  }

  onPanelChange(e) {
    const t = e.target;
    if (t.dataset.note) { this.setNote(t.dataset.note, t.dataset.id, t.value); return; }
    if (t.dataset.attr && t.dataset.owner === "span") {
      const s = this.model.spans.get(t.dataset.id);
      if (!s) return;
      const attrs = { ...s.attrs, [t.dataset.attr]: t.value };
      if (!t.value) delete attrs[t.dataset.attr];
      this.run(`Set ${t.dataset.attr}`, [{ op: "span.update", id: s.id, attrs }]);
    } else if (t.dataset.field === "parent" && this.mode && this.mode.kind === "attr") {
      this.setFormParent(t.value);
    } else if (t.dataset.attr && t.dataset.owner === "form" && this.mode) {
      if (t.value) this.mode.attrs[t.dataset.attr] = t.value; else delete this.mode.attrs[t.dataset.attr];
    } else if (t.dataset.attr && t.dataset.owner === "attribution") {
      const a = this.model.attributions.get(t.dataset.id);
      const attrs = { ...a.attrs, [t.dataset.attr]: t.value };
      if (!t.value) delete attrs[t.dataset.attr];
      this.run(`Set ${t.dataset.attr}`, [{ op: "attribution.update", id: a.id, attrs }]);
    } else if (t.dataset.relabel) {
      this.relabel(t.dataset.relabel, t.value);
    }
  }

  // ------------------------------------------------------------ panel
  /**
   * Render the panel in a task of its own right after the next frame: the
   * frame shows the change in the text at once, and the panel's rows (and
   * the layout scrolling to the selected one needs) never lengthen it.
   */
  renderPanelSoon() {
    if (this.panelFrame) return;
    let waits = 0;
    const soon = () => {
      this.panelFrame = requestAnimationFrame(() => setTimeout(() => {
        // The text's redraw goes first (render.js plans the arcs in the frame after the line's lanes):
        // the panel's new rows then get a frame of their own instead of adding their style, layout and
        // paint to that one.
        if (this.view.frame && waits++ < 2) { soon(); return; }
        this.panelFrame = 0;
        this.renderPanel();
      }, 0));
    };
    soon();
  }

  renderPanel() {
    for (const b of document.querySelectorAll("#wb-tabs [data-tab]")) {
      const on = b.dataset.tab === this.tab;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    $("#wb-count-spans", this.root).textContent = String(this.model.spans.size);
    $("#wb-count-relations", this.root).textContent = String(this.model.relations.size);
    $("#wb-count-attributions", this.root).textContent = String(this.model.attributions.size);
    this.syncDocNote();
    const list = $("#wb-list", this.root);
    const g = $("#wb-guidelines", this.root);
    g.hidden = this.tab !== "guidelines";
    list.hidden = this.tab === "guidelines";
    if (this.tab === "guidelines") return;
    const act = document.activeElement;
    const hadFocus = act && act.getAttribute && act.getAttribute("role") === "listbox" && list.contains(act);
    const fk = act && list.contains(act) ? this.focusKey(act) : null;
    const parts = [];
    if (this.mode && this.mode.kind === "attr") parts.push(this.attrForm());
    else if (this.mode && this.mode.kind === "rel") parts.push(this.relForm());
    else if (this.detailsOpen && this.selectedId && this.tab === "spans") parts.push(this.details());
    if (this.tab === "spans") parts.push(this.spanRows());
    else if (this.tab === "relations") parts.push(this.relationRows());
    else if (this.tab === "attributions") parts.push(this.attributionRows());
    this.rendering = true;
    try {
      // The span list stays in place from one render to the next (spanRows): only its changed rows are new.
      const kids = list.children;
      if (kids.length !== parts.length || parts.some((n, k) => kids[k] !== n)) list.replaceChildren(...parts);
      if (hadFocus) { const lb = list.querySelector("[role=listbox]"); if (lb) lb.focus({ preventScroll: true }); }
      else if (fk) this.refocus(list, fk);
    } finally { this.rendering = false; }
    this.markRow();
  }

  /** A key naming a control of the panel across re-renders (its data-fk, or its action and item). */
  focusKey(node) {
    if (node.dataset.fk) return `[data-fk="${node.dataset.fk}"]`;
    if (node.dataset.action) return `[data-action="${node.dataset.action}"]${node.dataset.id ? `[data-id="${node.dataset.id}"]` : ""}`;
    return null;
  }

  /** Give the focus back to the control a re-render replaced (the first slot when a slot went away). */
  refocus(list, key) {
    // The focus follows the active slot of the attribution form.
    const n = (key.startsWith('[data-fk="slot-') && list.querySelector(".wb-slot.is-active")) || list.querySelector(key) || (key.startsWith('[data-fk="slot-') ? list.querySelector(".wb-slot") : null);
    if (n) n.focus({ preventScroll: true });
  }

  chip(label) {
    const i = this.labelsByIndex.findIndex(l => l.name === label);
    return el("span", `wb-tag wb-c${i}`, label);
  }

  /**
   * The spans in reading order: a listbox that renders only the rows near
   * its viewport or the selection (rowwindow.js). The listbox is kept from
   * one render to the next, and so are the rows whose span did not change.
   */
  spanRows() {
    const all = this.model.sorted();
    if (!all.length) {
      this.spanList = null;
      const ul = el("ul", "wb-rows");
      ul.appendChild(el("li", "wb-empty", "No spans yet. Select text and press a label key."));
      return ul;
    }
    let ul = this.spanList;
    if (!ul) {
      ul = this.spanList = el("ul", "wb-rows");
      ul.setAttribute("role", "listbox");
      ul.setAttribute("aria-label", "Spans in reading order (arrow keys move, Enter opens details)");
      ul.tabIndex = 0;
    }
    const focus = this.selectedId ? all.findIndex(s => s.id === this.selectedId) : -1;
    const hasAttrs = (s) => { for (const _ in s.attrs || {}) return true; return false; };
    this.rows.mount(ul, all.length, (i) => (hasAttrs(all[i]) || all[i].note ? 2 : 1), (i) => this.spanRow(all[i], i, all.length), focus, {
      keyOf: (i) => { const s = all[i]; return `${s.id}|${s.label}|${s.start}|${s.end}|${s.note || ""}|${JSON.stringify(s.attrs || {})}`; },
      place: (li, i) => { li.setAttribute("aria-posinset", String(i + 1)); li.setAttribute("aria-setsize", String(all.length)); },
    });
    return ul;
  }

  spanRow(s, i, n) {
    const li = el("li", "wb-row");
    li.setAttribute("role", "option");
    li.id = `wb-row-${s.id}`;
    li.dataset.span = s.id;
    li.setAttribute("aria-posinset", String(i + 1));
    li.setAttribute("aria-setsize", String(n));
    li.setAttribute("aria-selected", String(s.id === this.selectedId));
    li.append(this.chip(s.label), el("span", "wb-quote", this.quote(s, 60)), el("span", "wb-offs", `${s.start}–${s.end}`));
    li.setAttribute("aria-label", `${s.label}: ${this.quote(s, 80)}, characters ${s.start} to ${s.end}`);
    const attrs = Object.entries(s.attrs || {});
    // Attribute values and the note share the row's second line.
    const second = [...attrs.map(([k, v]) => `${k}: ${v}`), ...(s.note ? [`note: ${s.note}`] : [])];
    if (second.length) li.appendChild(el("span", "wb-attrs", second.join(", ")));
    return li;
  }

  markRow() {
    const list = $("#wb-list", this.root);
    for (const prev of list.querySelectorAll('[aria-selected="true"]')) prev.setAttribute("aria-selected", "false");
    const ul = list.querySelector("ul[role=listbox]");
    if (!this.selectedId) { if (ul) ul.removeAttribute("aria-activedescendant"); return; }
    const row = document.getElementById(`wb-row-${this.selectedId}`);
    if (row) {
      row.setAttribute("aria-selected", "true");
      if (ul) ul.setAttribute("aria-activedescendant", row.id);
      // From the window's known row places (rowwindow.js): scrollIntoView would lay out the whole page first.
      const pos = Number(row.getAttribute("aria-posinset"));
      if (pos && this.rows.ul && this.rows.ul.contains(row)) this.rows.reveal(pos - 1);
      else row.scrollIntoView({ block: "nearest" });
    } else if (this.tab === "spans") this.renderPanelSoon();
  }

  spanText(id) {
    const s = this.model.spans.get(id);
    return s ? `${s.label} “${this.quote(s, 40)}”` : "(missing)";
  }

  relationRows() {
    const ul = el("ul", "wb-rows");
    const rels = Array.from(this.model.relations.values()).sort((a, b) => byReadingOrder(this.model.spans.get(a.head) || { start: 0, end: 0, id: "" }, this.model.spans.get(b.head) || { start: 0, end: 0, id: "" }));
    if (!rels.length) { ul.appendChild(el("li", "wb-empty", "No relations. Select a span, press R, pick the target, then its type.")); return ul; }
    this.rows.mount(ul, rels.length, () => 1, (i) => {
      const r = rels[i];
      const li = el("li", "wb-row wb-rel-row");
      li.dataset.span = r.head;
      if (this.selectedId && (r.head === this.selectedId || r.tail === this.selectedId)) li.classList.add("is-current");
      li.append(el("span", "wb-quote", this.spanText(r.head)), el("strong", "wb-rel-type", ` ${r.type} → `), el("span", "wb-quote", this.spanText(r.tail)));
      const del = el("button", "link wb-del", "Delete");
      del.type = "button"; del.dataset.action = "delete-rel"; del.dataset.id = r.id;
      li.appendChild(del);
      return li;
    });
    return ul;
  }

  attributionRows() {
    const ul = el("ul", "wb-rows");
    const first = (a) => this.model.spans.get(a.content[0]) || { start: 0, end: 0, id: "" };
    const list = Array.from(this.model.attributions.values()).sort((a, b) => byReadingOrder(first(a), first(b)));
    if (!list.length) { ul.appendChild(el("li", "wb-empty", "No attributions. Select a claim and press A.")); return ul; }
    // One line per entry of the row's list: source, cue, each content piece, attributes.
    const kids = new Map();
    for (const a of list) if (a.parent) kids.set(a.parent, [...(kids.get(a.parent) || []), a]);
    const lines = (a) => 2 + a.content.length + (Object.keys(a.attrs || {}).length ? 1 : 0) + (a.parent ? 1 : 0) + (kids.has(a.id) ? 1 : 0) + (a.note ? 1 : 0);
    this.rows.mount(ul, list.length, (i) => lines(list[i]), (i) => {
      const a = list[i];
      const li = el("li", "wb-row wb-attr-row");
      li.dataset.span = a.content[0];
      li.dataset.attribution = a.id;
      const id = this.selectedId;
      if (id && (a.source === id || a.cue === id || a.content.includes(id))) li.classList.add("is-current");
      const dl = el("dl", "wb-attr");
      dl.append(el("dt", "", "Source"), el("dd", "", a.source ? this.spanText(a.source) : "none named"));
      dl.append(el("dt", "", "Cue"), el("dd", "", a.cue ? this.spanText(a.cue) : "—"));
      a.content.forEach((c, k) => dl.append(el("dt", "", a.content.length > 1 ? `Content ${k + 1}` : "Content"), el("dd", "", this.spanText(c))));
      const attrs = Object.entries(a.attrs || {});
      if (attrs.length) dl.append(el("dt", "", "Attributes"), el("dd", "", attrs.map(([k, v]) => `${k}: ${v}`).join(", ")));
      // A chain shows as a chain: who relays this one, and what this one relays.
      const parent = a.parent ? this.model.attributions.get(a.parent) : null;
      if (parent) dl.append(el("dt", "", "Relayed by"), el("dd", "wb-relayed-by", this.attributionText(parent)));
      if (kids.has(a.id)) dl.append(el("dt", "", "Relays"), el("dd", "wb-relays", kids.get(a.id).map(k => this.attributionText(k)).join("; ")));
      if (a.note) dl.append(el("dt", "", "Note"), el("dd", "wb-attr-note", a.note));
      li.appendChild(dl);
      const what = this.attributionText(a);
      const edit = el("button", "link wb-edit", "Edit");
      edit.type = "button"; edit.dataset.action = "edit-attr"; edit.dataset.id = a.id; edit.setAttribute("aria-label", `Edit attribution ${what}`);
      const del = el("button", "link wb-del", "Delete");
      del.type = "button"; del.dataset.action = "delete-attr"; del.dataset.id = a.id; del.setAttribute("aria-label", `Delete attribution ${what}`);
      li.append(edit, del);
      return li;
    });
    return ul;
  }

  /**
   * The form's "Relayed by" field: the attribution that relays this one
   * (a chain), and, when editing, the ones this one relays.
   */
  parentField(f) {
    const wrap = el("div", "wb-chain");
    const lab = el("label", "wb-field");
    lab.appendChild(el("span", "", "Relayed by"));
    const sel = el("select");
    sel.dataset.field = "parent";
    sel.dataset.fk = "parent";
    sel.appendChild(new Option("— not relayed —", ""));
    const first = (a) => this.model.spans.get(a.content[0]) || { start: 0, end: 0, id: "" };
    const others = Array.from(this.model.attributions.values()).filter(a => a.id !== f.editing).sort((a, b) => byReadingOrder(first(a), first(b)));
    for (const a of others) sel.appendChild(new Option(this.attributionText(a), a.id, false, a.id === f.parent));
    sel.disabled = !others.length;
    lab.appendChild(sel);
    wrap.appendChild(lab);
    const kids = f.editing ? this.model.childrenOf(f.editing) : [];
    if (kids.length) wrap.appendChild(el("p", "wb-muted", `Relays: ${kids.map(k => this.attributionText(k)).join("; ")}`));
    return wrap;
  }

  attrSelect(attr, value, owner, id) {
    const wrap = el("label", "wb-field");
    wrap.appendChild(el("span", "", attr.name));
    const sel = el("select");
    sel.dataset.fk = `attr-${owner}-${attr.name}`;
    sel.dataset.attr = attr.name; sel.dataset.owner = owner; if (id) sel.dataset.id = id;
    sel.appendChild(new Option("—", ""));
    for (const v of attr.values) sel.appendChild(new Option(v, v, false, v === value));
    wrap.appendChild(sel);
    return wrap;
  }

  details() {
    const s = this.model.spans.get(this.selectedId);
    const box = el("section", "wb-box");
    box.id = "wb-details";
    box.setAttribute("aria-label", "Selected span");
    box.appendChild(el("h3", "", "Selected span"));
    box.appendChild(el("p", "wb-quote-full", sliceCp(this.text, s.start, s.end, this.astral)));
    box.appendChild(el("p", "wb-muted", `Characters ${s.start}–${s.end}`));
    const lw = el("label", "wb-field");
    lw.appendChild(el("span", "", "Label"));
    const ls = el("select");
    ls.dataset.relabel = s.id;
    for (const l of this.labelsByIndex) ls.appendChild(new Option(l.name, l.name, false, l.name === s.label));
    lw.appendChild(ls);
    box.appendChild(lw);
    const l = this.model.labels.get(s.label);
    for (const a of (l && l.attributes) || []) box.appendChild(this.attrSelect(a, (s.attrs || {})[a.name], "span", s.id));
    box.appendChild(this.noteField("span", s.id, s.note, "Note on this span"));
    const rels = this.model.relationsOf(s.id), atts = this.model.attributionsOf(s.id);
    if (rels.length || atts.length) box.appendChild(el("p", "wb-muted", `In ${rels.length} relation(s) and ${atts.length} attribution(s).`));
    for (const a of atts) {
      const what = a.source ? `from ${this.spanText(a.source)}` : `with the cue ${this.spanText(a.cue)}`;
      box.appendChild(this.noteField("attribution", a.id, a.note, `Note on the attribution ${what}`));
    }
    const bar = el("div", "wb-actions");
    const del = el("button", "danger", "Delete span"); del.type = "button"; del.dataset.action = "delete-span"; del.dataset.id = s.id;
    const attr = el("button", "", "Attribution…"); attr.type = "button"; attr.dataset.action = "start-attr"; attr.title = "Start an attribution from this span (A)";
    const rel = el("button", "", "Relation…"); rel.type = "button"; rel.dataset.action = "start-rel"; rel.title = "Start a relation from this span (R)";
    const close = el("button", "", "Close"); close.type = "button"; close.dataset.action = "close-details";
    if (this.data.schema.attributions) bar.append(attr);
    if (atts.length) {
      const edit = el("button", "", "Edit attribution…"); edit.type = "button"; edit.dataset.action = "edit-span-attr"; edit.dataset.id = s.id;
      edit.title = "Edit the attribution this span takes part in (Shift+A)";
      bar.append(edit);
    }
    if ((this.data.schema.relation_types || []).length) bar.append(rel);
    bar.append(del, close);
    box.appendChild(bar);
    return box;
  }

  attrForm() {
    const f = this.mode;
    const box = el("section", "wb-box wb-form");
    const heading = f.editing ? "Edit attribution" : "New attribution";
    box.setAttribute("aria-label", heading);
    box.appendChild(el("h3", "", heading));
    const slot = (name, title, value, extra = {}) => {
      const b = el("button", "wb-slot");
      b.type = "button";
      b.dataset.slot = name;
      b.dataset.fk = `slot-${name}-${extra.add ? "add" : (extra.index || 0)}`;
      if (extra.add) b.dataset.add = "1";
      if (extra.index !== undefined) b.dataset.index = String(extra.index);
      const on = f.active === name && (name !== "content" || (extra.add ? f.adding : !f.adding && (extra.index ?? 0) === Math.min(f.piece ?? Infinity, f.content.length - 1)));
      if (on) b.classList.add("is-active");
      b.setAttribute("aria-pressed", String(on));
      b.append(el("span", "wb-slot-name", title), el("span", "wb-slot-value", value));
      return b;
    };
    const pieces = f.content.length ? f.content.map((c, i) => slot("content", f.content.length > 1 ? `Content ${i + 1}` : "Content", this.spanText(c), { index: i })) : [slot("content", "Content", "pick a span")];
    for (const p of pieces) box.appendChild(p);
    if (f.adding) box.appendChild(slot("content", `Content ${f.content.length + 1}`, "pick a span", { add: true }));
    box.appendChild(slot("source", "Source", f.source ? this.spanText(f.source) : (f.noSource ? "none named" : "pick a span")));
    box.appendChild(slot("cue", "Cue", f.cue ? this.spanText(f.cue) : "pick a span"));
    box.appendChild(this.parentField(f));
    for (const a of this.data.schema.attribution_attributes || []) box.appendChild(this.attrSelect(a, f.attrs[a.name], "form", null));
    box.appendChild(el("p", "wb-hint", "Tab: next field (a focused slot is the active one) · ] / [: pick the next/previous span · Space in the text: pick among stacked spans · select text + label key: new span · + another content piece · N no source named · Backspace: empty the slot · Enter: save · Esc: discard"));
    const err = el("p", "wb-form-error", f.error || ""); err.id = "wb-form-error"; err.setAttribute("role", "alert");
    box.appendChild(err);
    const bar = el("div", "wb-actions");
    const ok = el("button", "primary", f.editing ? "Save changes" : "Save attribution"); ok.type = "button"; ok.dataset.action = "commit-attr";
    const ns = el("button", "", "No source named"); ns.type = "button"; ns.dataset.action = "no-source";
    const cancel = el("button", "", "Discard"); cancel.type = "button"; cancel.dataset.action = "cancel";
    bar.append(ok, ns, cancel);
    box.appendChild(bar);
    return box;
  }

  relForm() {
    const m = this.mode;
    const box = el("section", "wb-box wb-form");
    box.setAttribute("aria-label", "New relation");
    box.appendChild(el("h3", "", "New relation"));
    box.appendChild(el("p", "", `From: ${this.spanText(m.head)}`));
    box.appendChild(el("p", "", `To: ${m.target ? this.spanText(m.target) : "pick the target span (J / K or click)"}`));
    const err = el("p", "wb-form-error", m.error || ""); err.id = "wb-form-error"; err.setAttribute("role", "alert");
    if (m.stage === "type") {
      const ol = el("ol", "wb-types");
      this.relTypes().forEach((t, i) => {
        const li = el("li");
        const b = el("button", "", `${i + 1}. ${t.name}`);
        b.type = "button"; b.dataset.action = "rel-type"; b.dataset.type = t.name;
        if (t.description) b.title = t.description;
        li.appendChild(b);
        ol.appendChild(li);
      });
      box.appendChild(ol);
      box.appendChild(el("p", "wb-hint", "Press the number of the type · Esc cancel"));
    } else {
      box.appendChild(el("p", "wb-hint", "J / K: next/previous span · Space in the text: pick among stacked spans · Enter: confirm target · Esc cancel"));
      if (m.target) {
        const b = el("button", "primary", "Use this target"); b.type = "button"; b.dataset.action = "rel-confirm";
        box.appendChild(b);
      }
    }
    box.appendChild(err);
    const cancel = el("button", "", "Cancel"); cancel.type = "button"; cancel.dataset.action = "cancel";
    box.appendChild(cancel);
    return box;
  }
}

const root = document.getElementById("annotate");
if (root) {
  const page = new AnnotatePage(root);
  window.wbAnnotate = page; // for debugging and the browser tests
  page.load();
}
