//# allFunctionsCalledOnLoad
// The schema's overlap rules in the page: the mirror of
// workbench/domain/annotations.py (overlap_conflict, check_overlaps), with the
// same words, so the page refuses before sending exactly what the server would.
//
// Per label: `overlap` says how two spans of that label may meet ("any",
// "nest": one inside the other, "none"); `contains` (absent: any) lists the
// labels or kinds a span of that label may contain or partly overlap.
// Offsets are code points; the quote is cut with offsets.js.

import { sliceCp } from "./offsets.js";

/** Whether any label restricts how spans meet (else nothing needs checking). */
export function hasOverlapRules(schema) {
  return (schema.labels || []).some(l => (l.overlap && l.overlap !== "any") || Array.isArray(l.contains));
}

function admits(outer, inner) {
  return !Array.isArray(outer.contains) || outer.contains.includes(inner.name) || outer.contains.includes(inner.kind);
}

/** PERSON “Anna Berg” (4-13): quote cut at 40 code points, line breaks and tabs as spaces. */
function describe(text, astral, s) {
  let cps = Array.from(sliceCp(text, s.start, s.end, astral));
  if (cps.length > 40) cps = [...cps.slice(0, 39), "…"];
  return `${s.label} “${cps.join("").replace(/[\r\n\t]+/g, " ")}” (${s.start}-${s.end})`;
}

/** Why spans `a` and `b` ({label, start, end}) may not lie as they do, or null. */
export function overlapConflict(labels, text, astral, a, b) {
  if (!(a.start < b.end && b.start < a.end)) return null;
  const la = labels.get(a.label), lb = labels.get(b.label);
  if (!la || !lb) return null;
  const aHolds = a.start <= b.start && b.end <= a.end;
  const bHolds = b.start <= a.start && a.end <= b.end;
  if (a.label === b.label) {
    const rule = la.overlap || "any";
    if (rule === "none") return `${describe(text, astral, a)} and ${describe(text, astral, b)} overlap, but spans of ${a.label} may not overlap (schema rule: overlap "none")`;
    if (rule === "nest" && !(aHolds || bHolds)) return `${describe(text, astral, a)} and ${describe(text, astral, b)} cross, but spans of ${a.label} may only nest (schema rule: overlap "nest")`;
    return null;
  }
  for (const [outer, inner, holds, otherHolds, lo, li] of [[a, b, aHolds, bHolds, la, lb], [b, a, bHolds, aHolds, lb, la]]) {
    if (otherHolds && !holds) continue; // outer lies inside inner: the container's rule decides
    if (!admits(lo, li)) {
      const allowed = lo.contains.length ? `only ${lo.contains.join(", ")}` : "no span of another label";
      return `${describe(text, astral, outer)} ${holds ? "contains" : "overlaps"} ${describe(text, astral, inner)}, but a ${lo.name} span may contain or overlap ${allowed} (schema rule: contains)`;
    }
  }
  return null;
}

/**
 * The first clash between a span whose id is in `changed` and any other of `spans`
 * (iterable of {id, label, start, end}), in reading order, or null.
 */
export function findOverlapProblem(schema, text, astral, spans, changed) {
  if (!hasOverlapRules(schema)) return null;
  const labels = new Map((schema.labels || []).map(l => [l.name, l]));
  let pool = Array.from(spans);
  if (changed) {
    // Only spans that share a code point with a changed one can clash with it: sort those alone
    // (the pairs come out in the same order as in a sweep over every span). One plain loop over
    // the layer: it runs on every keystroke that makes a span, the first time before any tier-up.
    const moved = [];
    for (const s of pool) if (changed.has(s.id)) moved.push(s);
    const near = [];
    for (const s of pool) {
      if (changed.has(s.id)) { near.push(s); continue; }
      for (const c of moved) if (s.start < c.end && c.start < s.end) { near.push(s); break; }
    }
    pool = near;
  }
  const ordered = pool.sort((x, y) => x.start - y.start || y.end - x.end || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  let active = [];
  for (const s of ordered) {
    active = active.filter(o => o.end > s.start);
    for (const o of active) {
      if (changed && !changed.has(s.id) && !changed.has(o.id)) continue;
      const why = overlapConflict(labels, text, astral, o, s);
      if (why) return why;
    }
    active.push(s);
  }
  return null;
}
