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
    this.spans = new Map(layer.spans.map(s => [s.id, { id: s.id, label: s.label, start: s.start, end: s.end, attrs: s.attrs || {} }]));
    this.relations = new Map(layer.relations.map(r => [r.id, { id: r.id, type: r.type, head: r.head, tail: r.tail, attrs: r.attrs || {} }]));
    this.attributions = new Map(layer.attributions.map(a => [a.id, { id: a.id, source: a.source ?? null, cue: a.cue ?? null, content: [...(a.content || [])], attrs: a.attrs || {} }]));
    this._sorted = null;
  }

  /** Spans in reading order (cached until the next change). */
  sorted() {
    if (!this._sorted) this._sorted = Array.from(this.spans.values()).sort(byReadingOrder);
    return this._sorted;
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
      if (!content.length || (source === null && cue === null)) ops.push({ op: "attribution.delete", id: a.id });
      else ops.push({ op: "attribution.update", id: a.id, source, cue, content });
    }
    ops.push({ op: "span.delete", id: spanId });
    return ops;
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
    const map = kind === "span" ? this.spans : kind === "relation" ? this.relations : this.attributions;
    if (op.op.endsWith(".create")) return !map.has(op.id);
    return map.has(op.id);
  }

  /** Apply one op; return its inverse. */
  applyOp(op) {
    const o = clone(op);
    switch (o.op) {
      case "span.create": {
        if (this.spans.has(o.id)) throw new Error(`span ${o.id} exists`);
        this.spans.set(o.id, { id: o.id, label: o.label, start: o.start, end: o.end, attrs: o.attrs || {} });
        this._sorted = null;
        return { op: "span.delete", id: o.id };
      }
      case "span.update": {
        const s = this.spans.get(o.id);
        if (!s) throw new Error(`no span ${o.id}`);
        const inv = { op: "span.update", id: o.id };
        for (const k of ["label", "start", "end", "attrs"]) if (k in o) { inv[k] = clone(s[k]); s[k] = o[k]; }
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
        return { op: "span.create", id: s.id, label: s.label, start: s.start, end: s.end, attrs: clone(s.attrs) };
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
        this.attributions.set(o.id, { id: o.id, source: o.source ?? null, cue: o.cue ?? null, content: o.content || [], attrs: o.attrs || {} });
        return { op: "attribution.delete", id: o.id };
      }
      case "attribution.update": {
        const a = this.attributions.get(o.id);
        if (!a) throw new Error(`no attribution ${o.id}`);
        const inv = { op: "attribution.update", id: o.id };
        for (const k of ["source", "cue", "content", "attrs"]) if (k in o) { inv[k] = clone(a[k]); a[k] = o[k]; }
        return inv;
      }
      case "attribution.delete": {
        const a = this.attributions.get(o.id);
        if (!a) throw new Error(`no attribution ${o.id}`);
        this.attributions.delete(o.id);
        return { op: "attribution.create", ...clone(a) };
      }
      default:
        throw new Error(`unknown op ${o.op}`);
    }
  }
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
