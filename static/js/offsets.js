//# allFunctionsCalledOnLoad
// The one JavaScript module that knows about offsets.
//
// The server stores offsets as Unicode code points of the document text
// (Python str indices). The DOM counts UTF-16 code units. Everything that
// converts between the two, or turns a DOM point or selection into offsets,
// lives here, mirroring workbench/domain/offsets.py. All functions are pure
// except the DOM helpers, which only read the DOM.
//
// Pipeline for a selection: DOM (node, offset) -> absolute UTF-16 -> token
// snap (server tokens) -> grapheme widening (Intl.Segmenter) -> trim -> code
// points.

/** UTF-16 indexes where surrogate pairs start, ascending (as Python's astral_positions). */
export function astralPositions(text) {
  const out = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { out.push(i); i++; }
    }
  }
  return out;
}

/** Number of items of the sorted array `arr` that are < x. */
export function bisectLeft(arr, x) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}

/** Number of items of the sorted array `arr` that are <= x. */
export function bisectRight(arr, x) {
  let lo = 0, hi = arr.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (arr[mid] <= x) lo = mid + 1; else hi = mid; }
  return lo;
}

/** Convert a UTF-16 index to a code-point index. */
export function u16ToCp(u16, astral) {
  return u16 - bisectLeft(astral, u16);
}

/** Convert a code-point index to a UTF-16 index. */
export function cpToU16(cp, astral) {
  // astral[i] - i is the code-point index of the i-th astral character.
  let lo = 0, hi = astral.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (astral[mid] - mid < cp) lo = mid + 1; else hi = mid; }
  return cp + lo;
}

/** Code-point length of a string. */
export function cpLength(text) {
  return text.length - astralPositions(text).length;
}

/** Slice by code points, like Python text[start:end]. */
export function sliceCp(text, start, end, astral = astralPositions(text)) {
  return text.slice(cpToU16(start, astral), cpToU16(end, astral));
}

/**
 * Split text into lines on \r\n, \n or \r. Returns [{start, end}] in UTF-16;
 * the terminators lie in the gaps between one line's end and the next start.
 */
export function splitLines(text) {
  const lines = [];
  let start = 0;
  const re = /\r\n|\n|\r/g;
  let m;
  while ((m = re.exec(text)) !== null) {
    lines.push({ start, end: m.index });
    start = m.index + m[0].length;
  }
  lines.push({ start, end: text.length });
  return lines;
}

/** Convert the server's code-point token list [[s, e], ...] to sorted UTF-16 arrays. */
export function tokensToU16(tokens, astral) {
  const starts = new Int32Array(tokens.length);
  const ends = new Int32Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    starts[i] = cpToU16(tokens[i][0], astral);
    ends[i] = cpToU16(tokens[i][1], astral);
  }
  return { starts, ends };
}

/**
 * Snap a UTF-16 range [start, end) to whole tokens: the start moves to the
 * start of the token containing it (or the next token when it sits between
 * tokens); the end moves to the end of the token containing end-1.
 */
export function snapToTokens(start, end, toks) {
  const { starts, ends } = toks;
  let s = start, e = end;
  let i = bisectRight(starts, s) - 1;
  if (i >= 0 && s < ends[i]) s = starts[i];
  else if (i + 1 < starts.length) s = Math.min(starts[i + 1], e);
  const j = bisectRight(starts, e - 1) - 1;
  if (j >= 0 && e - 1 < ends[j] && ends[j] > e) e = ends[j];
  return { start: s, end: e };
}

const segmenters = new Map();
function segmenterFor(lang) {
  if (typeof Intl === "undefined" || !Intl.Segmenter) return null;
  let seg = segmenters.get(lang);
  if (!seg) { seg = new Intl.Segmenter(lang || undefined, { granularity: "grapheme" }); segmenters.set(lang, seg); }
  return seg;
}

/**
 * Make the grapheme segmenter now, while the page is idle: ICU takes
 * 15-20 ms to load it, which the first selection would otherwise pay.
 */
export function warmSegmenter(lang = "") {
  segmenterFor(lang);
}

/** Index of the line containing UTF-16 position p (the last line starting at or before p). */
export function lineAt(lines, p) {
  let lo = 0, hi = lines.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (lines[mid].start <= p) lo = mid + 1; else hi = mid; }
  return Math.max(0, lo - 1);
}

/**
 * Widen a UTF-16 range so neither edge cuts a grapheme cluster (emoji ZWJ
 * sequences, flags, combining marks, surrogate pairs). Only the line holding
 * each edge is segmented.
 */
export function widenToGraphemes(text, start, end, lines = splitLines(text), lang = "") {
  const seg = segmenterFor(lang);
  let s = start, e = end;
  const fix = (p, isEnd) => {
    const ln = lines[lineAt(lines, isEnd ? p - 1 : p)];
    if (!ln || p <= ln.start || p >= ln.end) return p;
    const local = p - ln.start;
    const lineText = text.slice(ln.start, ln.end);
    if (!seg) {
      // Fallback: at least never split a surrogate pair.
      const c = text.charCodeAt(p);
      if (c >= 0xdc00 && c <= 0xdfff) return isEnd ? p + 1 : p - 1;
      return p;
    }
    const g = seg.segment(lineText).containing(isEnd ? local - 1 : local);
    if (!g) return p;
    if (isEnd) return ln.start + Math.max(local, g.index + g.segment.length);
    return ln.start + g.index;
  };
  s = fix(s, false);
  e = fix(e, true);
  return { start: s, end: e };
}

const SPACE = /\s/u;
/** Drop white space (including line terminators) at both edges of a UTF-16 range. */
export function trimRange(text, start, end) {
  let s = start, e = end;
  while (s < e && SPACE.test(text[s])) s++;
  while (e > s && SPACE.test(text[e - 1])) e--;
  return { start: s, end: e };
}

/**
 * The whole pipeline on a UTF-16 range: move edges out of line gaps, token
 * snap (when `toks` is given), grapheme widening, trim, then code points.
 * Returns {start, end} in code points, or null when nothing is left.
 */
export function normalizeRange(text, u16Start, u16End, { lines = splitLines(text), toks = null, astral = astralPositions(text), lang = "" } = {}) {
  let s = Math.max(0, Math.min(u16Start, u16End));
  let e = Math.min(text.length, Math.max(u16Start, u16End));
  if (s >= e) return null;
  if (toks) ({ start: s, end: e } = snapToTokens(s, e, toks));
  ({ start: s, end: e } = widenToGraphemes(text, s, e, lines, lang));
  ({ start: s, end: e } = trimRange(text, s, e));
  if (s >= e) return null;
  // Never start or end inside a CRLF pair (trim already removes terminators).
  return { start: u16ToCp(s, astral), end: u16ToCp(e, astral) };
}

// ---------------------------------------------------------------- DOM side
//
// The text layer: a container holding, in document order, block elements
// (class "wb-block") with a `data-u16` attribute (the UTF-16 start of the
// line) and exactly one Text node. Other elements may sit between blocks
// (wrappers, overlays); they hold no text.

const layouts = new WeakMap();

/** Remember the layout of a text layer (blocks and line table) for fast lookups. */
export function attachLayout(container, layout) {
  layouts.set(container, layout);
}

/** Return {blocks, starts, ends, astral, length} for a text layer, computing it from the DOM if needed. */
export function layoutOf(container) {
  let lay = layouts.get(container);
  if (lay) return lay;
  const blocks = Array.from(container.querySelectorAll(".wb-block"));
  const starts = blocks.map(b => Number(b.dataset.u16));
  const ends = blocks.map((b, i) => starts[i] + (b.firstChild ? b.firstChild.data.length : 0));
  const astral = [];
  blocks.forEach((b, i) => { for (const a of astralPositions(b.firstChild ? b.firstChild.data : "")) astral.push(starts[i] + a); });
  lay = { blocks, starts, ends, astral, length: Number(container.dataset.u16Length || (ends.length ? ends[ends.length - 1] : 0)) };
  layouts.set(container, lay);
  return lay;
}

function textNodeOf(block) {
  if (!block.firstChild) block.appendChild(document.createTextNode(""));
  return block.firstChild;
}

/** Absolute UTF-16 index of a DOM point (node, offset) relative to the text layer. */
export function domPointToU16(container, node, offset) {
  const lay = layoutOf(container);
  const { blocks, starts, ends } = lay;
  if (!blocks.length) return 0;
  // Fast path: inside a block's text node or on the block itself.
  const blockEl = node.nodeType === Node.TEXT_NODE ? node.parentNode : node;
  if (blockEl && blockEl.classList && blockEl.classList.contains("wb-block") && container.contains(blockEl)) {
    const i = bisectRight(starts, Number(blockEl.dataset.u16)) - 1;
    if (i >= 0 && blocks[i] === blockEl) {
      if (node.nodeType === Node.TEXT_NODE) return starts[i] + Math.min(offset, ends[i] - starts[i]);
      return offset === 0 ? starts[i] : ends[i];
    }
  }
  if (!container.contains(node)) {
    const pos = container.compareDocumentPosition(node);
    if (pos & Node.DOCUMENT_POSITION_PRECEDING) return 0;
    return lay.length;
  }
  // Elsewhere inside the container: find the first block starting at or after the point.
  const r = document.createRange();
  r.setStart(node, offset);
  let lo = 0, hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (r.comparePoint(blocks[mid], 0) < 0) lo = mid + 1; else hi = mid;
  }
  if (lo > 0) {
    const prev = blocks[lo - 1];
    if (r.comparePoint(prev, prev.childNodes.length) >= 0) return ends[lo - 1]; // inside the previous block
  }
  if (lo >= blocks.length) return ends[blocks.length - 1];
  return starts[lo];
}

/** Absolute UTF-16 [start, end) of a DOM Range, with edges moved out of line gaps. */
export function rangeToU16(container, range) {
  const lay = layoutOf(container);
  let s = domPointToU16(container, range.startContainer, range.startOffset);
  let e = domPointToU16(container, range.endContainer, range.endOffset);
  if (s > e) [s, e] = [e, s];
  // A start at a block end moves to the next block; an end at a block start moves back.
  let i = bisectRight(lay.starts, s) - 1;
  if (i >= 0 && s >= lay.ends[i] && i + 1 < lay.starts.length && s < e) s = lay.starts[i + 1];
  let j = bisectRight(lay.starts, e) - 1;
  if (j > 0 && e === lay.starts[j] && e > s) e = lay.ends[j - 1];
  return { start: s, end: e };
}

/**
 * Turn the current DOM selection into code-point offsets through the whole
 * pipeline. Returns null when the selection is empty or outside the layer.
 */
export function selectionToCp(container, text, opts = {}) {
  const sel = (opts.selection || window.getSelection());
  if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
  const range = sel.getRangeAt(0);
  const cr = document.createRange();
  cr.selectNodeContents(container);
  if (range.compareBoundaryPoints(Range.END_TO_START, cr) >= 0) return null; // starts after container end
  if (range.compareBoundaryPoints(Range.START_TO_END, cr) <= 0) return null; // ends before container start
  const { start, end } = rangeToU16(container, range);
  return normalizeRange(text, start, end, opts);
}

/** The block index and local offset of a UTF-16 position; `asEnd` prefers the block ending there. */
function locate(lay, u16, asEnd) {
  let i = bisectRight(lay.starts, asEnd ? u16 - 1 : u16) - 1;
  if (i < 0) i = 0;
  if (!asEnd && u16 > lay.ends[i] && i + 1 < lay.starts.length) i += 1;
  const local = Math.max(0, Math.min(u16 - lay.starts[i], lay.ends[i] - lay.starts[i]));
  return { i, local };
}

/** A DOM Range covering code points [startCp, endCp) of the text layer. */
export function rangeForCp(container, startCp, endCp) {
  const lay = layoutOf(container);
  return rangeForU16(container, cpToU16(startCp, lay.astral), cpToU16(endCp, lay.astral));
}

/** A DOM Range covering UTF-16 [s, e) of the text layer. */
export function rangeForU16(container, s, e) {
  const lay = layoutOf(container);
  const a = locate(lay, s, false);
  const b = locate(lay, Math.max(e, s), true);
  const r = document.createRange();
  r.setStart(textNodeOf(lay.blocks[a.i]), a.local);
  if (b.i < a.i || (b.i === a.i && b.local < a.local)) r.collapse(true);
  else r.setEnd(textNodeOf(lay.blocks[b.i]), b.local);
  return r;
}

/**
 * The client rects of UTF-16 [s, e) of the text layer (getClientRects, or
 * the bounding rect with `bounding`), measured with one scratch Range that
 * is collapsed again afterwards. Every Range a page creates stays live until
 * a full garbage collection, and Chromium updates each live Range on every
 * DOM insertion and removal in the document: the thousands that drawing the
 * decorations made (one per span and line) made each removed node cost
 * O(live ranges), several ms per redraw with the CPU four times slower.
 */
let scratch = null;
export function rectsForU16(container, s, e, bounding = false) {
  const lay = layoutOf(container);
  const a = locate(lay, s, false);
  const b = locate(lay, Math.max(e, s), true);
  if (!scratch) scratch = document.createRange();
  const r = scratch;
  r.setStart(textNodeOf(lay.blocks[a.i]), a.local);
  if (b.i < a.i || (b.i === a.i && b.local < a.local)) r.collapse(true);
  else r.setEnd(textNodeOf(lay.blocks[b.i]), b.local);
  const out = bounding ? r.getBoundingClientRect() : r.getClientRects();
  r.setStart(document, 0); r.collapse(true); // holds no node of the text, so its removal is free
  return out;
}

/** UTF-16 start/end of the grapheme at UTF-16 position p (within its block). */
function graphemeAt(lay, p) {
  const { i, local } = locate(lay, p, false);
  const t = lay.blocks[i].firstChild ? lay.blocks[i].firstChild.data : "";
  const seg = segmenterFor("");
  if (seg && local < t.length) {
    const g = seg.segment(t).containing(local);
    if (g) return { s: lay.starts[i] + g.index, e: lay.starts[i] + g.index + g.segment.length };
  }
  return { s: p, e: p + 1 };
}

/**
 * Viewport points 1 px inside the left edge of the first character and the
 * right edge of the last character of code points [startCp, endCp), at
 * mid-height: {x0, y0, x1, y1}. For tests that drive the real mouse.
 */
export function edgePoints(container, startCp, endCp) {
  const lay = layoutOf(container);
  const s = cpToU16(startCp, lay.astral), e = cpToU16(endCp, lay.astral);
  const g0 = graphemeAt(lay, s);
  const g1 = graphemeAt(lay, Math.max(s, e - 1));
  const first = rangeForU16(container, g0.s, g0.e).getClientRects();
  const lastRects = rangeForU16(container, g1.s, g1.e).getClientRects();
  const r0 = first[0], r1 = lastRects[lastRects.length - 1];
  return {
    x0: r0.left + 1, y0: (r0.top + r0.bottom) / 2,
    x1: r1.right - 1, y1: (r1.top + r1.bottom) / 2,
  };
}

/** Absolute UTF-16 position under a viewport point (caretPositionFromPoint, caretRangeFromPoint fallback), or -1. */
export function u16FromPoint(container, x, y) {
  let node = null, offset = 0;
  if (document.caretPositionFromPoint) {
    const cp = document.caretPositionFromPoint(x, y);
    if (cp) { node = cp.offsetNode; offset = cp.offset; }
  } else if (document.caretRangeFromPoint) {
    const r = document.caretRangeFromPoint(x, y);
    if (r) { node = r.startContainer; offset = r.startOffset; }
  }
  if (!node || !container.contains(node)) return -1;
  if (node.nodeType !== Node.TEXT_NODE) return -1;
  const block = node.parentNode;
  const u = domPointToU16(container, node, offset);
  // The caret sits at the nearest boundary: pick the character actually under x.
  const lay = layoutOf(container);
  const i = bisectRight(lay.starts, Number(block.dataset.u16)) - 1;
  for (const cand of [u - 1, u]) {
    if (cand < lay.starts[i] || cand >= lay.ends[i]) continue;
    const rects = rangeForU16(container, cand, cand + 1).getClientRects();
    for (const rc of rects) if (x >= rc.left - 0.5 && x <= rc.right + 0.5 && y >= rc.top - 2 && y <= rc.bottom + 2) return cand;
  }
  return -1;
}
