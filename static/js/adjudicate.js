// The adjudication page's panel of disagreements.
//
// The adjudication page is the annotate page (annotate.js) working on the
// gold layer: the same text view, offsets, saver and undo. This module adds
// the list of the annotators' disagreements beside it. Accepting a version
// or rejecting them all is an ordinary undoable command on the gold layer
// (AnnotatePage.run), saved like any edit; the decision itself (which
// version, reason, note) is recorded in the layer's history through
// POST /api/v1/layers/<gold>/decisions.

import { ApiError, postJSON } from "./api.js";
import { newId } from "./model.js";
import { rangeForCp, sliceCp } from "./offsets.js";

const $ = (sel, root = document) => root.querySelector(sel);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };

/** Attach the panel of disagreements to a loaded AnnotatePage. */
export function attach(page, adjudication) {
  const panel = new Adjudicator(page, adjudication);
  panel.start();
  page.adjudicator = panel; // for the browser tests
  return panel;
}

const KINDS = { span: "Span", relation: "Relation", attribution: "Attribution" };
const spanKey = (s) => `${s.label}\u0000${s.start}\u0000${s.end}`;

class Adjudicator {
  constructor(page, adj) {
    this.page = page;
    this.adj = adj;
    this.groups = adj.groups;
    this.index = 0;
    this.shown = new Map(adj.annotators.map((a) => [a.name, a.shown]));
    this.root = $("#wb-adjudicate", page.root);
    this.list = $("#wb-adj-list", page.root);
    this.summary = $("#wb-adj-summary", page.root);
    this.reason = $("#wb-adj-reason", page.root);
    this.note = $("#wb-adj-note", page.root);
  }

  start() {
    this.list.addEventListener("keydown", (e) => this.onListKey(e));
    this.list.addEventListener("click", (e) => this.onClick(e));
    this.list.addEventListener("focus", () => this.focus(this.index, { scroll: false }));
    document.addEventListener("keydown", (e) => this.onPageKey(e));
    for (const field of [this.reason, this.note]) {
      field.addEventListener("keydown", (e) => {
        if (e.key === "Escape" || (e.key === "Enter" && field === this.note)) { e.preventDefault(); e.stopPropagation(); this.list.focus(); }
      });
    }
    const first = this.groups.findIndex((g) => !g.decision);
    this.index = first >= 0 ? first : 0;
    this.renderNotes();
    this.render();
    this.reopenButton = $("#wb-reopen", this.page.root);
    this.reopenButton.addEventListener("click", () => this.reopen());
    this.showReopen();
  }

  /** A finished (adjudicated) gold layer can be opened again for changes. */
  showReopen() {
    const finished = this.page.model.status === "adjudicated";
    this.reopenButton.hidden = !finished;
    if (finished) this.page.showBanner("This document is adjudicated. Reopen it to change its gold layer; Finish marks it adjudicated again.", "info");
  }

  async reopen() {
    try {
      const resp = await postJSON(`/api/v1/layers/${this.page.model.id}/status`, { status: "in_progress", note: "reopened" });
      this.page.model.status = resp.status;
      this.page.renderLayerStatus();
      this.page.showBanner("", "info");
      this.showReopen();
      this.page.announce("Reopened");
      this.list.focus();
    } catch (err) {
      this.page.showBanner(`Could not reopen: ${err instanceof ApiError ? err.message : String(err)}`, "error");
    }
  }

  // ------------------------------------------------------------ rendering
  who(names) { return names.map((n) => this.shown.get(n) || n).join(", "); }

  describeSpan(s) {
    if (!s) return "none";
    const words = s.text.length > 60 ? `${s.text.slice(0, 57)}…` : s.text;
    return `${s.label} “${words}”`;
  }

  describe(group, version) {
    const it = version.item;
    if (group.kind === "span") return this.describeSpan(it);
    if (group.kind === "relation") return `${it.type}: ${this.describeSpan(it.head)} → ${this.describeSpan(it.tail)}`;
    const content = it.content.map((c) => this.describeSpan(c)).join(" + ");
    const relay = it.parent ? `, relayed by ${this.describeSpan(it.parent.source || it.parent.cue)}` : "";
    return `source ${this.describeSpan(it.source)}, cue ${this.describeSpan(it.cue)}, content ${content}${relay}`;
  }

  /** The annotators' notes on the document and on their items (names hidden as the project says). */
  renderNotes() {
    const notes = this.adj.notes || [];
    if (!notes.length) return;
    const box = el("details", "wb-adj-notes");
    box.id = "wb-adj-notes";
    box.open = true;
    box.append(el("summary", null, `Annotators' notes (${notes.length})`));
    const ul = el("ul");
    for (const n of notes) {
      const on = n.on === "document" ? "on the document" : n.on === "span" ? `on ${this.describeSpan(n.item)}`
        : `on the attribution ${this.describe({ kind: "attribution" }, { item: n.item })}`;
      const li = el("li");
      li.append(el("strong", null, this.who([n.annotator])), ` ${on}: `, el("q", null, n.note));
      ul.append(li);
    }
    box.append(ul);
    this.summary.after(box);
  }

  render() {
    const open = this.groups.filter((g) => !g.decision).length;
    this.summary.textContent = `${this.adj.agreed} agreed item${this.adj.agreed === 1 ? " is" : "s are"} in gold (${this.adj.rule}). `
      + (this.groups.length ? `${open} of ${this.groups.length} disagreement${this.groups.length === 1 ? "" : "s"} left.` : "The annotators disagree on nothing.");
    this.list.replaceChildren();
    this.groups.forEach((g, gi) => {
      const li = el("li", "wb-adj-group");
      li.id = `wb-adj-${g.id}`;
      li.setAttribute("role", "option");
      li.dataset.index = String(gi);
      li.setAttribute("aria-selected", gi === this.index ? "true" : "false");
      if (g.decision) li.classList.add("is-decided");
      const words = sliceCp(this.page.text, g.start, g.end, this.page.astral).replace(/\s+/g, " ");
      const head = el("div", "wb-adj-head", `${gi + 1}. ${KINDS[g.kind]} · “${words.length > 48 ? `${words.slice(0, 45)}…` : words}”`);
      if (g.decision) {
        const d = g.decision;
        const what = d.choice === "accept" ? `accepted version ${d.version}` : d.choice === "reject" ? "rejected all" : "edited";
        head.append(el("span", "wb-adj-done", ` ✓ ${what}${d.reason ? ` (${d.reason.replace("_", " ")})` : ""}`));
      }
      li.append(head);
      const versions = el("ol", "wb-adj-versions");
      g.versions.forEach((v, vi) => {
        const row = el("li", "wb-adj-version");
        row.append(el("kbd", "wb-key", String(vi + 1)), ` ${this.describe(g, v)} `, el("span", "wb-adj-who", `— ${this.who(v.annotators)}`));
        if (this.inGold(g, v)) row.append(el("span", "wb-adj-ingold", " (in gold)"));
        for (const n of v.notes || []) row.append(el("p", "wb-adj-itemnote", `Note from ${this.who([n.annotator])}: ${n.note}`));
        versions.append(row);
      });
      li.append(versions);
      if (g.without.length) li.append(el("p", "wb-adj-without", `Nothing here: ${this.who(g.without)}`));
      this.list.append(li);
    });
    this.list.setAttribute("aria-activedescendant", this.groups.length ? `wb-adj-${this.groups[this.index].id}` : "");
  }

  // ------------------------------------------------------------ gold lookups
  goldSpanId(s) {
    if (!s) return null;
    const key = spanKey(s);
    for (const sp of this.page.model.spans.values()) if (spanKey(sp) === key) return sp.id;
    return null;
  }

  goldItemId(group, version) {
    const it = version.item;
    const m = this.page.model;
    if (group.kind === "span") return this.goldSpanId(it);
    if (group.kind === "relation") {
      const head = this.goldSpanId(it.head); const tail = this.goldSpanId(it.tail);
      if (!head || !tail) return null;
      for (const r of m.relations.values()) if (r.type === it.type && r.head === head && r.tail === tail) return r.id;
      return null;
    }
    return this.goldAttributionId(it);
  }

  /** The gold attribution with the same source, cue, content and parent chain as `it`, or null. */
  goldAttributionId(it) {
    const source = it.source ? this.goldSpanId(it.source) : null;
    const cue = it.cue ? this.goldSpanId(it.cue) : null;
    if ((it.source && !source) || (it.cue && !cue)) return null;
    const content = it.content.map((c) => this.goldSpanId(c));
    if (content.some((c) => !c)) return null;
    const parent = it.parent ? this.goldAttributionId(it.parent) : null;
    if (it.parent && !parent) return null;
    const want = [...content].sort().join("\u0000");
    for (const a of this.page.model.attributions.values()) {
      if (a.source === source && a.cue === cue && (a.parent ?? null) === parent && [...a.content].sort().join("\u0000") === want) return a.id;
    }
    return null;
  }

  inGold(group, version) { return this.goldItemId(group, version) !== null; }

  // ------------------------------------------------------------ decisions
  provenance(version) {
    const p = { annotators: version.annotators, decision: "adjudicated", curator: this.adj.curator };
    if (this.note.value.trim()) p.note = this.note.value.trim();
    if (this.reason.value) p.reason = this.reason.value;
    return p;
  }

  /** The ops that make a span of gold match `s` (none when it is there already). */
  ensureSpan(s, version, ops, made) {
    const have = this.goldSpanId(s) || made.get(spanKey(s));
    if (have) return have;
    const id = newId();
    ops.push({ op: "span.create", id, label: s.label, start: s.start, end: s.end, attrs: version.attrs && version.item === s ? version.attrs : {}, provenance: this.provenance(version) });
    made.set(spanKey(s), id);
    return id;
  }

  /** The ops that take the item of `version` out of gold. */
  removeOps(group, version) {
    const id = this.goldItemId(group, version);
    if (!id) return [];
    if (group.kind === "span") return this.page.model.deleteSpanOps(id);
    return [{ op: `${group.kind}.delete`, id }];
  }

  accept(vi) {
    const g = this.groups[this.index];
    const v = g && g.versions[vi];
    if (!v) return;
    const ops = [];
    g.versions.forEach((other, oi) => { if (oi !== vi) ops.push(...this.removeOps(g, other)); });
    const seen = new Set();
    const unique = ops.filter((op) => { const k = `${op.op}:${op.id}`; if (seen.has(k)) return false; seen.add(k); return true; });
    if (!this.inGold(g, v)) {
      const made = new Map();
      const it = v.item;
      if (g.kind === "span") this.ensureSpan(it, v, unique, made);
      else if (g.kind === "relation") {
        const head = this.ensureSpan(it.head, v, unique, made);
        const tail = this.ensureSpan(it.tail, v, unique, made);
        unique.push({ op: "relation.create", id: newId(), type: it.type, head, tail, attrs: v.attrs || {}, provenance: this.provenance(v) });
      } else {
        const source = it.source ? this.ensureSpan(it.source, v, unique, made) : null;
        const cue = it.cue ? this.ensureSpan(it.cue, v, unique, made) : null;
        const content = it.content.map((c) => this.ensureSpan(c, v, unique, made));
        const op = { op: "attribution.create", id: newId(), source, cue, content, attrs: v.attrs || {}, provenance: this.provenance(v) };
        if (it.parent) {
          const parent = this.goldAttributionId(it.parent);
          if (!parent) { this.page.showBanner("Accept the attribution that relays this one first: it is not in gold yet.", "error"); return; }
          op.parent = parent;
        }
        unique.push(op);
      }
    }
    if (unique.length) this.page.run(`accept version ${vi + 1}`, unique);
    this.decide(g, "accept", vi + 1, v.annotators, this.label(g, v));
  }

  reject() {
    const g = this.groups[this.index];
    if (!g) return;
    const ops = [];
    for (const v of g.versions) ops.push(...this.removeOps(g, v));
    const seen = new Set();
    const unique = ops.filter((op) => { const k = `${op.op}:${op.id}`; if (seen.has(k)) return false; seen.add(k); return true; });
    if (unique.length) this.page.run("reject every version", unique);
    this.decide(g, "reject", null, [], this.label(g, g.versions[0]));
  }

  edit() {
    const g = this.groups[this.index];
    if (!g) return;
    this.decide(g, "edit", null, [], this.label(g, g.versions[0]));
    const inGold = g.versions.map((v) => (g.kind === "span" ? this.goldItemId(g, v) : null)).find(Boolean);
    if (inGold) this.page.selectSpan(inGold);
    else this.selectText(g.start, g.end);
    this.page.docEl.focus({ preventScroll: true });
  }

  label(group, version) {
    const it = version.item;
    if (group.kind === "span") return it.label;
    if (group.kind === "relation") return it.type;
    return "attribution";
  }

  decide(group, choice, version, annotators, label) {
    const decision = {
      choice,
      item: { group: group.id, kind: group.kind, label, version, start: group.start, end: group.end },
      reason: this.reason.value || null,
      note: this.note.value.trim(),
      annotators,
    };
    group.decision = { choice, version, reason: decision.reason, note: decision.note };
    // One after another, so that the history keeps the order the curator decided in.
    this.recording = (this.recording || Promise.resolve()).then(() => postJSON(`/api/v1/layers/${this.page.model.id}/decisions`, { decision }))
      .catch((err) => {
        this.page.showBanner(`The decision was applied but its reason could not be recorded: ${err.message}`, "error");
      });
    this.reason.value = "";
    this.note.value = "";
    this.page.announce(choice === "accept" ? `Accepted version ${version}` : choice === "reject" ? "Rejected every version" : "Editing in the text");
    const next = this.groups.findIndex((g, i) => i > this.index && !g.decision);
    if (choice !== "edit" && next >= 0) this.index = next;
    this.render();
    if (choice !== "edit") this.focus(this.index);
  }

  // ------------------------------------------------------------ moving and showing
  focus(i, { scroll = true } = {}) {
    if (!this.groups.length) return;
    this.index = Math.max(0, Math.min(this.groups.length - 1, i));
    for (const li of this.list.children) li.setAttribute("aria-selected", li.dataset.index === String(this.index) ? "true" : "false");
    const g = this.groups[this.index];
    this.list.setAttribute("aria-activedescendant", `wb-adj-${g.id}`);
    const li = this.list.children[this.index];
    if (li && scroll) li.scrollIntoView({ block: "nearest" });
    this.show(g);
  }

  /** Mark the disagreement's words in the text and bring them into view. */
  show(g) {
    try {
      const range = rangeForCp(this.page.docEl, g.start, g.end);
      if (!range) return;
      if (window.CSS && CSS.highlights && window.Highlight) CSS.highlights.set("wb-dispute", new Highlight(range));
      const box = range.getBoundingClientRect();
      const node = range.startContainer.nodeType === 1 ? range.startContainer : range.startContainer.parentElement;
      if (node && (box.top < 0 || box.bottom > window.innerHeight)) node.scrollIntoView({ block: "center" });
    } catch (_) { /* the words are not drawn yet: the list still says what they are */ }
  }

  selectText(start, end) {
    try {
      const range = rangeForCp(this.page.docEl, start, end);
      const sel = window.getSelection();
      sel.removeAllRanges();
      if (range) sel.addRange(range);
    } catch (_) { /* nothing to select */ }
  }

  onClick(e) {
    const li = e.target.closest("li.wb-adj-group");
    if (li) { this.focus(Number(li.dataset.index)); this.list.focus({ preventScroll: true }); }
  }

  onListKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const key = e.key;
    let handled = true;
    if (key === "ArrowDown" || key === "]") this.focus(this.index + 1);
    else if (key === "ArrowUp" || key === "[") this.focus(this.index - 1);
    else if (key === "Home") this.focus(0);
    else if (key === "End") this.focus(this.groups.length - 1);
    else if (/^[1-9]$/.test(key)) this.accept(Number(key) - 1);
    else if (key === "x" || key === "X" || key === "0") this.reject();
    else if (key === "e" || key === "E") this.edit();
    else if (key === "r" || key === "R") this.reason.focus();
    else if (key === "n" || key === "N") this.note.focus();
    else handled = false;
    if (handled) { e.preventDefault(); e.stopPropagation(); }
  }

  /** `]` and `[` anywhere on the page (outside fields and forms): next / previous disagreement. */
  onPageKey(e) {
    if (e.key !== "]" && e.key !== "[") return;
    if (e.ctrlKey || e.metaKey || e.altKey || this.page.mode || this.list.contains(e.target)) return;
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    e.preventDefault();
    this.list.focus({ preventScroll: true });
    this.focus(this.index + (e.key === "]" ? 1 : -1));
  }
}
