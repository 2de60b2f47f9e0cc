//# allFunctionsCalledOnLoad
// The local model of one annotation layer and the op vocabulary of the
// annotate API (span.*, relation.*, attribution.*). Applying an op returns
// its inverse, so every user action becomes an undoable command.
// Offsets here are code points, as on the server; no conversion happens here.

const clone = (o) => JSON.parse(JSON.stringify(o));

/** Sort key for reading order: start ascending, then longer first. */
export function byReadingOrder(a, b) {
  return a.start - b.start || b.end - a.end || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** A layer: spans, relations, attributions keyed by id, plus a sorted span index. */
export class Model {
  constructor(layer, schema) {
    this.schema = schema;
    this.labels = new Map(schema.labels.map((l, i) => [l.name, { ...l, index: i }]));
    this.reset(layer);
  }

  /** Replace the whole content with a layer from the server. */
  reset(layer) {
    this.id = layer.id;
    this.version = layer.version;
    this.status = layer.status;
    this.note = layer.note || ""; // the annotator's note on the document (op layer.update)
    this.spans = new Map(layer.spans.map(s => [s.id, { id: s.id, label: s.label, start: s.start, end: s.end, attrs: s.attrs || {}, note: s.note || "" }]));
    this.relations = new Map(layer.relations.map(r => [r.id, { id: r.id, type: r.type, head: r.head, tail: r.tail, attrs: r.attrs || {} }]));
    this.attributions = new Map(layer.attributions.map(a => [a.id, { id: a.id, source: a.source ?? null, cue: a.cue ?? null, content: [...(a.content || [])], attrs: a.attrs || {}, parent: a.parent ?? null, note: a.note || "" }]));
    this._sorted = null;
    this.notify({ reset: true });
  }

  /**
   * Call fn(change) on every change of the layer, so that what is derived
   * from it can be kept up to date without walking it again: {reset: true}
   * when the whole layer was replaced, else {kind, id} for each op applied
   * ("span", "relation", "attribution" and the item's id; "layer" for the
   * note), reported as the op is about to apply: note the id, read the
   * model later. A span.delete also deletes the span's relations, and an
   * attribution.delete clears the parent of the attributions it relayed
   * (the server's cascades); those are not reported separately.
   */
  watch(fn) {
    (this.watchers || (this.watchers = [])).push(fn);
  }

  notify(change) {
    if (this.watchers) for (const fn of this.watchers) fn(change);
  }

  /** The layer as plain data, in the shape the API returns it. */
  snapshot() {
    return {
      id: this.id, version: this.version, status: this.status, note: this.note,
      spans: Array.from(this.spans.values()), relations: Array.from(this.relations.values()), attributions: Array.from(this.attributions.values()),
    };
  }

  /** Spans in reading order (cached until the next change). */
  sorted() {
    if (!this._sorted) this._sorted = Array.from(this.spans.values()).sort(byReadingOrder);
    return this._sorted;
  }

  /**
   * The span with exactly these offsets and label, or null: bisected in the
   * reading-order index when it is built (the panel builds it after every
   * change), else a walk through the layer (not sorting it for one look-up).
   */
  findSpan(start, end, label) {
    const list = this._sorted;
    if (!list) {
      for (const s of this.spans.values()) if (s.start === start && s.end === end && s.label === label) return s;
      return null;
    }
    let lo = 0, hi = list.length;
    while (lo < hi) { const m = (lo + hi) >> 1; if (list[m].start < start) lo = m + 1; else hi = m; }
    for (let i = lo; i < list.length && list[i].start === start; i++) if (list[i].end === end && list[i].label === label) return list[i];
    return null;
  }

  /** Spans covering code point `cp`, innermost (shortest) first. */
  spansAt(cp) {
    const out = [];
    for (const s of this.sorted()) {
      if (s.start > cp) break;
      if (s.end > cp) out.push(s);
    }
    return out.sort((a, b) => (a.end - a.start) - (b.end - b.start));
  }

  /** Relations touching a span. */
  relationsOf(spanId) {
    return Array.from(this.relations.values()).filter(r => r.head === spanId || r.tail === spanId);
  }

  /** Attributions a span takes part in. */
  attributionsOf(spanId) {
    return Array.from(this.attributions.values()).filter(a => a.source === spanId || a.cue === spanId || a.content.includes(spanId));
  }

  /** The schema's relation types allowed between two labels. */
  relationTypesFor(headLabel, tailLabel) {
    return (this.schema.relation_types || []).filter(t =>
      (!t.head || !t.head.length || t.head.includes(headLabel)) && (!t.tail || !t.tail.length || t.tail.includes(tailLabel)));
  }

  /**
   * The ops that delete a span together with its relations and its
   * attribution slots, spelled out (so the inverse can restore them).
   */
  deleteSpanOps(spanId) {
    const ops = [];
    for (const r of this.relationsOf(spanId)) ops.push({ op: "relation.delete", id: r.id });
    for (const a of this.attributionsOf(spanId)) {
      const content = a.content.filter(c => c !== spanId);
      const source = a.source === spanId ? null : a.source;
      const cue = a.cue === spanId ? null : a.cue;
      if (!content.length || (source === null && cue === null)) ops.push(...this.deleteAttributionOps(a.id));
      else ops.push({ op: "attribution.update", id: a.id, source, cue, content });
    }
    ops.push({ op: "span.delete", id: spanId });
    return ops;
  }

  /** Attributions relayed by attribution `id` (those naming it as parent), in reading order of their content. */
  childrenOf(id) {
    const first = (a) => this.spans.get(a.content[0]) || { start: 0, end: 0, id: "" };
    return Array.from(this.attributions.values()).filter(a => a.parent === id).sort((a, b) => byReadingOrder(first(a), first(b)));
  }

  /**
   * The ops that delete an attribution, spelled out: the attributions it
   * relays lose their parent first (as the server's ON DELETE SET NULL
   * does), so the inverse restores those links too.
   */
  deleteAttributionOps(id) {
    const ops = this.childrenOf(id).map(c => ({ op: "attribution.update", id: c.id, parent: null }));
    ops.push({ op: "attribution.delete", id });
    return ops;
  }

  /**
   * Whether `parentId` may relay attribution `id`: null when it may, else
   * the loop as a list of ids (id, parentId, …, id), as the server checks.
   */
  chainLoop(id, parentId) {
    if (!parentId) return null;
    const path = [id, parentId];
    let cur = parentId;
    const seen = new Set();
    while (cur) {
      if (cur === id) return path;
      if (seen.has(cur)) return null; // a loop above that does not pass through id (the server refuses those on write)
      seen.add(cur);
      const a = this.attributions.get(cur);
      cur = a ? a.parent : null;
      if (cur) path.push(cur);
    }
    return null;
  }

  /** Span ids sorted in reading order (content pieces are kept that way, whatever order they were picked in). */
  inReadingOrder(ids) {
    const key = (id) => this.spans.get(id) || { start: Infinity, end: Infinity, id };
    return [...ids].sort((a, b) => byReadingOrder(key(a), key(b)));
  }

  /** Apply ops in order; return the inverse ops (already reversed). Throws on an op that does not fit. */
  applyOps(ops) {
    const inverse = [];
    for (const op of ops) inverse.push(this.applyOp(op));
    this._sorted = null;
    return inverse.reverse();
  }

  /** Whether an op can apply to the current state (used to drop stale ops). */
  canApply(op) {
    const kind = op.op.split(".")[0];
    if (kind === "layer") return true;
    const map = kind === "span" ? this.spans : kind === "relation" ? this.relations : this.attributions;
    if (op.op.endsWith(".create")) return !map.has(op.id);
    return map.has(op.id);
  }

  /** Apply one op; return its inverse. */
  applyOp(op) {
    const o = clone(op);
    if (this.watchers) this.notify({ kind: o.op.split(".")[0], id: o.id });
    switch (o.op) {
      case "span.create": {
        if (this.spans.has(o.id)) throw new Error(`span ${o.id} exists`);
        this.spans.set(o.id, { id: o.id, label: o.label, start: o.start, end: o.end, attrs: o.attrs || {}, note: o.note || "" });
        this._sorted = null;
        return { op: "span.delete", id: o.id };
      }
      case "span.update": {
        const s = this.spans.get(o.id);
        if (!s) throw new Error(`no span ${o.id}`);
        const inv = { op: "span.update", id: o.id };
        for (const k of ["label", "start", "end", "attrs", "note"]) if (k in o) { inv[k] = clone(s[k]); s[k] = o[k]; }
        this._sorted = null;
        return inv;
      }
      case "span.delete": {
        const s = this.spans.get(o.id);
        if (!s) throw new Error(`no span ${o.id}`);
        // Server-side cascade, mirrored (normally already spelled out by deleteSpanOps).
        for (const r of this.relationsOf(o.id)) this.relations.delete(r.id);
        this.spans.delete(o.id);
        this._sorted = null;
        return { op: "span.create", id: s.id, label: s.label, start: s.start, end: s.end, attrs: clone(s.attrs), ...(s.note ? { note: s.note } : {}) };
      }
      case "relation.create": {
        this.relations.set(o.id, { id: o.id, type: o.type, head: o.head, tail: o.tail, attrs: o.attrs || {} });
        return { op: "relation.delete", id: o.id };
      }
      case "relation.update": {
        const r = this.relations.get(o.id);
        if (!r) throw new Error(`no relation ${o.id}`);
        const inv = { op: "relation.update", id: o.id };
        for (const k of ["type", "attrs"]) if (k in o) { inv[k] = clone(r[k]); r[k] = o[k]; }
        return inv;
      }
      case "relation.delete": {
        const r = this.relations.get(o.id);
        if (!r) throw new Error(`no relation ${o.id}`);
        this.relations.delete(o.id);
        return { op: "relation.create", ...clone(r) };
      }
      case "attribution.create": {
        this.attributions.set(o.id, { id: o.id, source: o.source ?? null, cue: o.cue ?? null, content: o.content || [], attrs: o.attrs || {}, parent: o.parent ?? null, note: o.note || "" });
        return { op: "attribution.delete", id: o.id };
      }
      case "attribution.update": {
        const a = this.attributions.get(o.id);
        if (!a) throw new Error(`no attribution ${o.id}`);
        const inv = { op: "attribution.update", id: o.id };
        for (const k of ["source", "cue", "content", "attrs", "parent", "note"]) if (k in o) { inv[k] = clone(a[k]); a[k] = o[k]; }
        return inv;
      }
      case "attribution.delete": {
        const a = this.attributions.get(o.id);
        if (!a) throw new Error(`no attribution ${o.id}`);
        this.attributions.delete(o.id);
        // Server-side ON DELETE SET NULL, mirrored (normally already spelled out by deleteAttributionOps).
        for (const c of this.attributions.values()) if (c.parent === o.id) c.parent = null;
        return { op: "attribution.create", ...clone(a) };
      }
      case "layer.update": {
        const inv = { op: "layer.update", note: this.note };
        this.note = o.note || "";
        return inv;
      }
      default:
        throw new Error(`unknown op ${o.op}`);
    }
  }
}

// ------------------------------------------------------------ rebasing

const KIND_MAP = { span: "spans", relation: "relations", attribution: "attributions" };
const FIELDS = { span: ["label", "start", "end", "attrs", "note"], relation: ["type", "attrs"], attribution: ["source", "cue", "content", "attrs", "parent", "note"] };

/** JSON with sorted object keys, so equal values compare equal whatever their key order. */
function canon(v) {
  if (v === undefined) v = null;
  if (Array.isArray(v)) return "[" + v.map(canon).join(",") + "]";
  if (v && typeof v === "object") return "{" + Object.keys(v).sort().map(k => JSON.stringify(k) + ":" + canon(v[k])).join(",") + "}";
  return JSON.stringify(v);
}
const same = (a, b) => canon(a) === canon(b);

/** The span ids an attribution (or an attribution op) names. */
function attributionRefs(a) {
  return [a.source, a.cue, ...(a.content || [])].filter(x => x !== null && x !== undefined);
}

/**
 * Three-way merge of one update op: `was` is the item as this client last
 * knew it (before the op), `cur` the item as it is now. Fields the op does
 * not change are left out (so changes made elsewhere stay); a field both
 * sides changed to different values is a conflict. `attrs` merge per key.
 * Returns the op to send (null when nothing is left to change) or "conflict".
 */
function mergeUpdate(kind, op, was, cur) {
  const out = { op: op.op, id: op.id };
  let changes = 0;
  for (const k of FIELDS[kind]) {
    if (!(k in op)) continue;
    if (!was) { out[k] = op[k]; changes++; continue; } // no common base known: the op wins
    if (k === "attrs") {
      const mine = op.attrs || {}, base = was.attrs || {}, now = cur.attrs || {};
      const merged = { ...now };
      let touched = false;
      for (const key of new Set([...Object.keys(mine), ...Object.keys(base)])) {
        if (same(mine[key], base[key])) continue;
        if (!same(now[key], base[key]) && !same(now[key], mine[key])) return "conflict";
        if (mine[key] === undefined) delete merged[key]; else merged[key] = mine[key];
        touched = true;
      }
      if (touched) { out.attrs = merged; changes++; }
      continue;
    }
    if (same(op[k], was[k])) continue;
    if (!same(cur[k], was[k]) && !same(cur[k], op[k])) return "conflict";
    out[k] = op[k];
    changes++;
  }
  return changes ? out : null;
}

/** Whether the model is still valid around the items an op touched (what the server would refuse). */
function stillFits(model, op) {
  const kind = op.op.split(".")[0];
  const relFits = (r) => {
    const h = model.spans.get(r.head), t = model.spans.get(r.tail);
    if (!h || !t || h === t) return false;
    const types = model.schema.relation_types;
    return !types || !types.length || model.relationTypesFor(h.label, t.label).some(x => x.name === r.type);
  };
  if (kind === "relation" && !op.op.endsWith(".delete")) {
    const r = model.relations.get(op.id);
    return !!r && relFits(r);
  }
  if (kind === "attribution" && !op.op.endsWith(".delete")) {
    const a = model.attributions.get(op.id);
    return !!a && a.content.length > 0 && (a.source !== null || a.cue !== null) && attributionRefs(a).every(id => model.spans.has(id))
      && (!a.parent || (model.attributions.has(a.parent) && !model.chainLoop(a.id, a.parent)));
  }
  if (op.op === "span.update" && "label" in op) return model.relationsOf(op.id).every(relFits);
  return true;
}

/** Why a pending op was dropped, singular and plural. */
export const DROP_REASONS = {
  "span-deleted": ["change to a span deleted elsewhere", "changes to spans deleted elsewhere"],
  "relation-deleted": ["change to a relation deleted elsewhere", "changes to relations deleted elsewhere"],
  "attribution-deleted": ["change to an attribution deleted elsewhere", "changes to attributions deleted elsewhere"],
  "relation-span-deleted": ["relation to a span deleted elsewhere", "relations to spans deleted elsewhere"],
  "attribution-span-deleted": ["attribution with a span deleted elsewhere", "attributions with spans deleted elsewhere"],
  "span-changed": ["change to a span also changed elsewhere", "changes to spans also changed elsewhere"],
  "relation-changed": ["change to a relation also changed elsewhere", "changes to relations also changed elsewhere"],
  "attribution-changed": ["change to an attribution also changed elsewhere", "changes to attributions also changed elsewhere"],
  "no-fit": ["change that no longer fits the current version", "changes that no longer fit the current version"],
};

/** What one pending op becomes on top of `model`: {ops} to apply and send, or {reason} it is dropped. */
function rebaseOne(model, op, ours) {
  const [kind, verb] = op.op.split(".");
  if (kind === "layer") return { ops: [op] }; // the document note: the last write wins
  const map = model[KIND_MAP[kind]];
  if (!map) return { reason: "no-fit" };
  if (verb === "create") {
    // Client UUIDs: an id that exists already means this create landed before (or is taken): nothing to do.
    if (model.spans.has(op.id) || model.relations.has(op.id) || model.attributions.has(op.id)) return { ops: [] };
    if (kind === "relation" && !(model.spans.has(op.head) && model.spans.has(op.tail))) return { reason: "relation-span-deleted" };
    if (kind === "attribution" && !attributionRefs(op).every(id => model.spans.has(id))) return { reason: "attribution-span-deleted" };
    return { ops: [op] };
  }
  if (verb === "delete") {
    if (!map.has(op.id)) return { ops: [] }; // already gone: a no-op
    // Spell the cascade out against the current state (relations or attributions made elsewhere included).
    if (kind === "span") return { ops: model.deleteSpanOps(op.id) };
    if (kind === "attribution") return { ops: model.deleteAttributionOps(op.id) };
    return { ops: [op] };
  }
  const cur = map.get(op.id);
  if (!cur) return { reason: `${kind}-deleted` };
  const was = ours ? ours[KIND_MAP[kind]].get(op.id) : null;
  const merged = mergeUpdate(kind, op, was, cur);
  if (merged === "conflict") return { reason: `${kind}-changed` };
  if (!merged) return { ops: [] };
  if (kind === "attribution" && !attributionRefs(merged).every(id => model.spans.has(id))) return { reason: "attribution-span-deleted" };
  return { ops: [merged] };
}

/**
 * Rebase unacknowledged ops onto `model`, which holds the server's current
 * layer: creates re-apply unless their id exists; deletes of ids already
 * gone are no-ops; updates to items deleted elsewhere, relations and
 * attributions whose spans are gone, and changes to a field also changed
 * elsewhere (when `base`, the layer the ops were made on, is known) are
 * dropped. Applies the surviving ops to `model` and returns
 * {ops: the ops to send, dropped: [{op, reason}]} (reasons: DROP_REASONS).
 */
export function rebaseOps(model, ops, base = null) {
  const ours = base ? new Model(clone(base.snapshot()), base.schema) : null; // this client's view, op by op
  const out = [];
  const dropped = [];
  for (const op of ops) {
    let res;
    try { res = rebaseOne(model, op, ours); } catch (_) { res = { reason: "no-fit" }; }
    if (res.ops) {
      const done = [];
      try {
        for (const o of res.ops) {
          const inv = model.applyOps([o]);
          done.push(inv);
          if (!stillFits(model, o)) throw new Error("does not fit");
        }
        out.push(...res.ops);
      } catch (_) {
        for (const inv of done.reverse()) { try { model.applyOps(inv); } catch (_) { /* best effort */ } }
        res = { reason: "no-fit" };
      }
    }
    if (res.reason) dropped.push({ op, reason: res.reason });
    if (ours) { try { ours.applyOps([op]); } catch (_) { /* ours diverged: the checks get looser, never wrong */ } }
  }
  model._sorted = null;
  return { ops: out, dropped };
}

/** "1 change to a span deleted elsewhere was dropped; 2 relations … were dropped" (empty when none). */
export function describeDropped(dropped) {
  const counts = new Map();
  for (const d of dropped) counts.set(d.reason, (counts.get(d.reason) || 0) + 1);
  return Array.from(counts, ([reason, n]) => {
    const [one, many] = DROP_REASONS[reason] || DROP_REASONS["no-fit"];
    return n === 1 ? `1 ${one} was dropped` : `${n} ${many} were dropped`;
  }).join("; ");
}

/** Undo/redo stacks of commands {name, ops, inverse}. */
export class History {
  constructor(limit = 200) { this.undoStack = []; this.redoStack = []; this.limit = limit; }
  push(cmd) {
    this.undoStack.push(cmd);
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack = [];
  }
  clear() { this.undoStack = []; this.redoStack = []; }
}

/** A fresh client id. */
export function newId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return "id-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
}
