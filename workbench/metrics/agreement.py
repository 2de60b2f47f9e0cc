"""The one implementation of the agreement and evaluation figures of metrics.md.

* Matching: :func:`match_spans` (exact, or overlap greedy by largest overlap,
  ties by earliest start; each span matched at most once),
  :func:`match_relations` and :func:`match_attributions` on top of a span
  matching, so spans, relations and attributions agree on what "the same
  span" means.
* Pairwise span F1 per label and micro, per annotator pair and the mean over
  pairs; relation and attribution F1 the same way, with the per-role view of
  attributions (source, cue, content boundaries, chains).
* Token labels per label kind (:func:`token_labels`), Cohen's kappa and
  Gwet's AC1 per pair, Krippendorff's alpha (nominal) over all annotators.
* A 95% percentile bootstrap over documents for every headline figure
  (1,000 resamples, a fixed seed): every figure is a function of sums of
  per-document counts, so a resample is a weighted sum of those counts.
* :func:`evaluate`: an extractor's predictions against gold.

Figures that are undefined are ``None`` beside a one-line reason, never 0.
numpy is imported inside the functions that need it.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from bisect import bisect_right
from collections import Counter
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from operator import itemgetter
from typing import Any

from workbench.domain.offsets import Span
from workbench.domain.offsets import token_edges_inside
from workbench.domain.offsets import tokens

#: Span matching rules.
MODES = ("exact", "overlap")
#: Bootstrap resamples and seed (fixed, so the intervals are reproducible).
RESAMPLES = 1000
SEED = 20261201
CONFIDENCE = 0.95
#: The category of a token outside every span of a kind.
OUTSIDE = "O"
#: Label kinds always reported (cli.md), with null figures when the schema has none of them.
REPORTED_KINDS = ("entity", "claim", "cue", "source")

# Reasons, in the words the page and the CLI show beside "n/a".
NO_SHARED = "no document submitted by both"
FEW_ANNOTATORS = "fewer than two annotators have submitted documents"
NO_PAIR_DOCS = "no document was submitted by two annotators"
ONE_CATEGORY = "one category everywhere"


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Relation:
    """A typed link between two spans (indexes into the layer's spans)."""

    type: str
    head: int
    tail: int


@dataclass(frozen=True, slots=True)
class Attribution:
    """Source, cue and content pieces (span indexes); ``parent`` indexes the layer's attributions."""

    source: int | None
    cue: int | None
    content: tuple[int, ...]
    parent: int | None = None


@dataclass(frozen=True)
class Layer:
    """One annotator's (or gold's, or a model's) annotations on one document."""

    spans: tuple[Span, ...] = ()
    relations: tuple[Relation, ...] = ()
    attributions: tuple[Attribution, ...] = ()


@dataclass
class DocumentLayers:
    """A document with the counted layers of its annotators (name -> layer)."""

    document_id: int
    external_id: str
    title: str
    text: str
    layers: dict[str, Layer] = field(default_factory=dict)


def layer_from_record(record: Mapping[str, Any]) -> Layer:
    """Build a :class:`Layer` from a record of the JSONL format (spans, relations, attributions by id).

    :raise ValueError: a reference to a span or attribution id the record lacks.
    """
    raw_spans = record.get("spans") or []
    spans = tuple(Span(int(s["start"]), int(s["end"]), str(s["label"])) for s in raw_spans)
    index = {s["id"]: i for i, s in enumerate(raw_spans)}

    def ref(value: Any, what: str) -> int:
        if value not in index:
            raise ValueError(f"{what} refers to span {value!r}, which the record lacks")
        return index[value]

    relations = tuple(
        Relation(str(r["type"]), ref(r["head"], f"relation {r.get('id')}"), ref(r["tail"], f"relation {r.get('id')}"))
        for r in record.get("relations") or []
    )
    raw_atts = record.get("attributions") or []
    att_index = {a["id"]: i for i, a in enumerate(raw_atts)}
    attributions = []
    for a in raw_atts:
        where = f"attribution {a.get('id')}"
        parent = a.get("parent")
        if parent is not None and parent not in att_index:
            raise ValueError(f"{where} has parent {parent!r}, which the record lacks")
        attributions.append(
            Attribution(
                ref(a["source"], where) if a.get("source") is not None else None,
                ref(a["cue"], where) if a.get("cue") is not None else None,
                tuple(ref(c, where) for c in a.get("content") or []),
                att_index[parent] if parent is not None else None,
            )
        )
    return Layer(spans, relations, tuple(attributions))


# --------------------------------------------------------------------------- matching


class SpanIndex:
    """One layer's spans arranged for matching against: built once, used for every pair and mode."""

    __slots__ = ("spans", "first", "repeated", "groups")

    def __init__(self, spans: Sequence[Span]):
        self.spans = spans
        #: span -> the index of its first occurrence (a span is its (start, end, label)).
        self.first: dict[Span, int] = dict(zip(reversed(spans), range(len(spans) - 1, -1, -1)))
        #: span -> every index holding it, only for spans a layer holds more than once.
        self.repeated: dict[Span, list[int]] = {}
        if len(self.first) < len(spans):
            for j, t in enumerate(spans):
                self.repeated.setdefault(t, []).append(j)
            self.repeated = {t: js for t, js in self.repeated.items() if len(js) > 1}
        #: label -> (indexes by start, their starts, the longest length).
        self.groups: dict[str, tuple[list[int], list[int], int]] = {}
        starts = [t.start for t in spans]
        for j in sorted(range(len(spans)), key=starts.__getitem__):
            t = spans[j]
            group = self.groups.get(t.label)
            if group is None:
                self.groups[t.label] = ([j], [t.start], t.end - t.start)
            else:
                group[0].append(j)
                group[1].append(t.start)
                if t.end - t.start > group[2]:
                    self.groups[t.label] = (group[0], group[1], t.end - t.start)


def match_spans(a: Sequence[Span], b: Sequence[Span] | SpanIndex, mode: str) -> dict[int, int]:
    """Match the spans of ``a`` to those of ``b``; return ``{index in a: index in b}``.

    ``exact``: same start, end and label.  ``overlap``: same label and at
    least one shared code point, greedy by largest overlap, ties broken by
    earliest start; each span is matched at most once.

    :param b: spans, or their :class:`SpanIndex` when they are matched often.
    """
    index = b if isinstance(b, SpanIndex) else SpanIndex(b)
    out: dict[int, int] = {}
    if mode == "exact":
        first, repeated = index.first, index.repeated
        used: dict[Span, int] = {}
        for i, s in enumerate(a):
            j = first.get(s)
            if j is None:
                continue
            n = used.get(s, 0)
            if n == 0:
                out[i] = j
            elif s in repeated and n < len(repeated[s]):
                out[i] = repeated[s][n]
            else:
                continue
            used[s] = n + 1
        return out
    if mode != "overlap":
        raise ValueError(f"unknown matching mode {mode!r}")
    groups, spans_b = index.groups, index.spans
    candidates: list[tuple[int, int, int, int, int, int]] = []
    for i, s in enumerate(a):
        group = groups.get(s.label)
        if group is None:
            continue
        js, starts, longest = group
        # Only spans starting after ``s.start - longest`` can reach into ``s``.
        a_start, a_end = s.start, s.end
        for k in range(bisect_right(starts, a_start - longest), bisect_left(starts, a_end)):
            j = js[k]
            b_start, b_end = spans_b[j].start, spans_b[j].end
            shared = (a_end if a_end < b_end else b_end) - (a_start if a_start > b_start else b_start)
            if shared > 0:
                candidates.append((-shared, a_start if a_start < b_start else b_start, a_start, b_start, i, j))
    candidates.sort()
    taken: set[int] = set()
    for _shared, _first, _a_start, _b_start, i, j in candidates:
        if i not in out and j not in taken:
            out[i] = j
            taken.add(j)
    return out


def match_relations(a: Layer, b: Layer, span_map: Mapping[int, int]) -> dict[int, int]:
    """Match relations: same type, and both endpoints matched to each other by ``span_map`` (a -> b)."""
    pool: dict[tuple[str, int, int], list[int]] = {}
    for j, r in enumerate(b.relations):
        pool.setdefault((r.type, r.head, r.tail), []).append(j)
    out: dict[int, int] = {}
    for i, r in enumerate(a.relations):
        head, tail = span_map.get(r.head), span_map.get(r.tail)
        if head is None or tail is None:
            continue
        free = pool.get((r.type, head, tail))
        if free:
            out[i] = free.pop(0)
    return out


_UNMATCHED = -1
#: The parts of a span (a named tuple), for ``map``.
_START, _END, _LABEL = itemgetter(0), itemgetter(1), itemgetter(2)


def _mapped(index: int | None, span_map: Mapping[int, int]) -> int | None:
    """Return the b-side index of an optional a-side span (``_UNMATCHED`` when it has no match)."""
    return None if index is None else span_map.get(index, _UNMATCHED)


#: What attributions are matched on, as a prefix of their (content, source, cue) key:
#: content alone, content and source (the figure), content, source and cue ("with cues").
ATTRIBUTION_RULES = {"content": 1, "source": 2, "with_cues": 3}
_ROLES_RULE = {(): 1, ("source",): 2, ("source", "cue"): 3}


def attribution_keys(a: Layer, b: Layer, span_map: Mapping[int, int]) -> tuple[list[tuple[Any, ...] | None], list[tuple[Any, ...]]]:
    """Return each attribution's (content, source, cue) in b's span indexes; None for an a-side content piece without a match."""
    keys_b = [(frozenset(att.content), att.source, att.cue) for att in b.attributions]
    keys_a: list[tuple[Any, ...] | None] = []
    for att in a.attributions:
        content = [span_map.get(c) for c in att.content]
        if None in content or len(set(content)) != len(content):
            keys_a.append(None)
        else:
            keys_a.append((frozenset(content), _mapped(att.source, span_map), _mapped(att.cue, span_map)))
    return keys_a, keys_b


def pair_attributions(keys_a: Sequence[tuple[Any, ...] | None], keys_b: Sequence[tuple[Any, ...]], rule: int) -> dict[int, int]:
    """Pair attributions whose keys (see :func:`attribution_keys`) agree on their first ``rule`` parts, first come first served."""
    pool: dict[tuple[Any, ...], list[int]] = {}
    for j, key in enumerate(keys_b):
        pool.setdefault(key[:rule], []).append(j)
    out: dict[int, int] = {}
    for i, key in enumerate(keys_a):
        if key is None:
            continue
        free = pool.get(key[:rule])
        if free:
            out[i] = free.pop(0)
    return out


def match_attributions(
    a: Layer, b: Layer, span_map: Mapping[int, int], roles: tuple[str, ...] = ("source",)
) -> dict[int, int]:
    """Match attributions whose content matches (every piece of one matched to a piece of the other).

    :param roles: the roles that must match too: ``("source",)`` (both null,
        or matched spans), ``("source", "cue")``, or ``()`` for content alone.
    """
    if roles not in _ROLES_RULE:
        raise ValueError(f"attributions match on (), ('source',) or ('source', 'cue'), not {roles!r}")
    keys_a, keys_b = attribution_keys(a, b, span_map)
    return pair_attributions(keys_a, keys_b, _ROLES_RULE[roles])


def parent_agreement(a: Layer, b: Layer, att_map: Mapping[int, int]) -> tuple[int, int]:
    """Return (agreeing, compared): matched attributions whose parents agree, among those where either has one."""
    agree = compared = 0
    for i, j in att_map.items():
        pa, pb = a.attributions[i].parent, b.attributions[j].parent
        if pa is None and pb is None:
            continue
        compared += 1
        agree += pa is not None and pb is not None and att_map.get(pa) == pb
    return agree, compared


@dataclass
class Comparison:
    """How two layers match under one mode: spans, relations and attributions (a-side index -> b-side index)."""

    spans: dict[int, int]
    relations: dict[int, int]
    #: By rule of :data:`ATTRIBUTION_RULES`: ``content``, ``source`` (the figure), ``with_cues``.
    attributions: dict[str, dict[int, int]]


def compare_layers(a: Layer, b: Layer, mode: str, b_index: SpanIndex | None = None) -> Comparison:
    """Match ``a`` against ``b`` (agreement between annotators, or gold against predictions)."""
    span_map = match_spans(a.spans, b_index or SpanIndex(b.spans), mode)
    relations = match_relations(a, b, span_map) if a.relations and b.relations else {}
    if a.attributions and b.attributions:
        keys_a, keys_b = attribution_keys(a, b, span_map)
        attributions = {rule: pair_attributions(keys_a, keys_b, n) for rule, n in ATTRIBUTION_RULES.items()}
    else:
        attributions = {rule: {} for rule in ATTRIBUTION_RULES}
    return Comparison(span_map, relations, attributions)


# --------------------------------------------------------------------------- tokens


def token_labels(token_spans: Sequence[tuple[int, int]], spans: Sequence[Span]) -> list[str | None]:
    """Return each token's label among ``spans`` (spans of one kind), None outside them all.

    A token takes the label of the span covering it (sharing a code point
    with it) that starts first, then the longest.
    """
    out: list[str | None] = [None] * len(token_spans)
    starts, ends = [s for s, _e in token_spans], [e for _s, e in token_spans]
    for i, label in labelled_tokens(starts, ends, spans).items():
        out[i] = label
    return out


def labelled_tokens(token_starts: Sequence[int], token_ends: Sequence[int], spans: Sequence[Span]) -> dict[int, str]:
    """Return ``{token index: label}`` for the tokens inside ``spans``, as :func:`token_labels` labels them.

    :param token_starts: / :param token_ends: the tokens' offsets, ascending.
    """
    out: dict[int, str] = {}
    # Least priority first: a later update (an earlier start, then a longer span) overwrites.
    for s in reversed(sorted(spans, key=lambda s: (s.start, s.start - s.end))):
        out.update(dict.fromkeys(range(bisect_right(token_ends, s.start), bisect_left(token_starts, s.end)), s.label))
    return out


def token_pairs(la: Mapping[int, str], lb: Mapping[int, str], count: int) -> list[tuple[str | None, str | None, int]]:
    """Return the confusion of two token labellings (see :func:`labelled_tokens`) as (label a, label b, tokens).

    ``None`` is outside every span; ``count`` is the number of tokens, those
    outside in both layers included.
    """
    same = la.items() & lb.items()
    out: list[tuple[str | None, str | None, int]] = [
        (label, label, n) for label, n in Counter(map(itemgetter(1), same)).items()
    ]
    differ = (la.keys() | lb.keys()) - set(map(itemgetter(0), same))
    out += [(x, y, n) for (x, y), n in Counter(zip(map(la.get, differ), map(lb.get, differ))).items()]
    outside = count - len(same) - len(differ)
    if outside:
        out.append((None, None, outside))
    return out


# --------------------------------------------------------------------------- formulas (vectorised)


def _np() -> Any:
    import numpy

    return numpy


def _ratio(num: Any, den: Any) -> Any:
    """Return ``num / den`` elementwise, NaN where ``den`` is not positive (no warning)."""
    np = _np()
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def f1_values(tp: Any, na: Any, nb: Any) -> Any:
    """Return F1 = 2·tp / (|A| + |B|) (NaN where both are empty), elementwise."""
    np = _np()
    return _ratio(2 * np.asarray(tp, dtype=float), np.asarray(na, dtype=float) + np.asarray(nb, dtype=float))


def _observed(confusion: Any) -> tuple[Any, Any, Any]:
    """Return confusion matrices ``(..., q, q)`` as floats, their totals and their observed agreement (0 where empty)."""
    np = _np()
    c = np.asarray(confusion, dtype=float)
    n = c.sum(axis=(-2, -1))
    return c, n, np.trace(c, axis1=-2, axis2=-1) / np.where(n > 0, n, 1)


def _chance_corrected(observed: Any, chance: Any, ok: Any) -> Any:
    """Return (observed - chance) / (1 - chance) where ``ok``, else NaN."""
    np = _np()
    return np.where(ok, (observed - chance) / np.where(ok, 1 - chance, 1), np.nan)


def kappa_values(confusion: Any) -> Any:
    """Return Cohen's kappa of confusion matrices ``(..., q, q)`` (NaN where chance agreement is 1)."""
    np = _np()
    c, n, po = _observed(confusion)
    pe = (c.sum(axis=-1) * c.sum(axis=-2)).sum(axis=-1) / np.where(n > 0, n, 1) ** 2
    return _chance_corrected(po, pe, (n > 0) & (pe < 1 - 1e-12))


def ac1_values(confusion: Any) -> Any:
    """Return Gwet's AC1 of confusion matrices ``(..., q, q)`` over the categories either rater used (NaN for fewer than two)."""
    np = _np()
    c, n, pa = _observed(confusion)
    margins = c.sum(axis=-1) + c.sum(axis=-2)
    pi = margins / (2 * np.where(n > 0, n, 1)[..., None])
    q = (margins > 0).sum(axis=-1)
    ok = (n > 0) & (q >= 2)
    pe = (pi * (1 - pi)).sum(axis=-1) / np.where(ok, q - 1, 1)
    return _chance_corrected(pa, pe, ok)


def alpha_values(coincidence: Any) -> Any:
    """Return Krippendorff's nominal alpha of coincidence matrices ``(..., q, q)`` (NaN where expected disagreement is 0)."""
    np = _np()
    o = np.asarray(coincidence, dtype=float)
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    observed = n - np.trace(o, axis1=-2, axis2=-1)
    expected = n**2 - (n_c**2).sum(axis=-1)
    ok = (n > 1) & (expected > 1e-9)
    return np.where(ok, 1 - (n - 1) * observed / np.where(ok, expected, 1), np.nan)


def _dense(pairs: Mapping[tuple[Any, Any], float]) -> tuple[Any, list[Any]]:
    """Return a dense square matrix of label-pair counts and its categories."""
    np = _np()
    cats = sorted({x for pair in pairs for x in pair}, key=lambda v: (v is not None, str(v)))
    at = {c: i for i, c in enumerate(cats)}
    m = np.zeros((len(cats), len(cats)))
    for (x, y), count in pairs.items():
        m[at[x], at[y]] += count
    return m, cats


def cohen_kappa(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Return Cohen's kappa of two label sequences (None where undefined)."""
    return _scalar(kappa_values(_dense(Counter(zip(a, b, strict=True)))[0]))


def gwet_ac1(a: Sequence[Any], b: Sequence[Any]) -> float | None:
    """Return Gwet's AC1 of two label sequences (None where undefined)."""
    return _scalar(ac1_values(_dense(Counter(zip(a, b, strict=True)))[0]))


def krippendorff_alpha(units: Sequence[Sequence[Any]]) -> float | None:
    """Return nominal Krippendorff's alpha; each unit lists the values it got (missing ones left out)."""
    coincidence: Counter[tuple[Any, Any]] = Counter()
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for x, y in itertools.permutations(values, 2):
            coincidence[(x, y)] += 1 / (m - 1)
    if not coincidence:
        return None
    return _scalar(alpha_values(_dense(coincidence)[0]))


def _scalar(value: Any) -> float | None:
    v = float(value)
    return None if v != v else v


# --------------------------------------------------------------------------- agreement over a project


class _Columns:
    """The layout of the per-document statistics matrix: named blocks of columns."""

    def __init__(self) -> None:
        self.size = 0

    def block(self, *shape: int) -> tuple[int, tuple[int, ...]]:
        start = self.size
        count = 1
        for n in shape:
            count *= n
        self.size += count
        return start, shape


def _take(matrix: Any, block: tuple[int, tuple[int, ...]]) -> Any:
    """Return ``matrix[:, block]`` reshaped to ``(rows, *shape)``."""
    start, shape = block
    count = 1
    for n in shape:
        count *= n
    return matrix[:, start : start + count].reshape((matrix.shape[0], *shape))


def _nanmean(values: Any, axis: int) -> Any:
    """Mean over ``axis`` ignoring NaN; NaN where every value is NaN (no warning)."""
    np = _np()
    finite = ~np.isnan(values)
    count = finite.sum(axis=axis)
    total = np.where(finite, values, 0).sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / np.where(count > 0, count, 1), np.nan)


#: Fewer documents than this per process are counted in one process.
MIN_CHUNK = 200


def _chunks(count: int, workers: int) -> list[tuple[int, int]]:
    """Split ``range(count)`` into at most ``workers`` consecutive (first, last) parts of at least MIN_CHUNK."""
    parts = max(1, min(workers, count // MIN_CHUNK))
    bounds = [count * k // parts for k in range(parts + 1)]
    return [(bounds[k], bounds[k + 1]) for k in range(parts)]


def _in_processes(func: Any, chunks: list[tuple[int, int]]) -> list[Any]:
    """Return ``[func(*chunk) for chunk in chunks]``, the first in this process, the others in forked ones.

    A forked child shares the parent's memory (the documents are not copied
    or pickled); only its result comes back, pickled through a pipe.
    """
    if len(chunks) <= 1:
        return [func(*chunk) for chunk in chunks]
    import multiprocessing
    import warnings

    context = multiprocessing.get_context("fork")
    children = []
    for chunk in chunks[1:]:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(target=_child, args=(send, func, chunk), daemon=True)
        with warnings.catch_warnings():
            # Python 3.12 warns about forking a process with threads (numpy's); the child runs only Python.
            warnings.simplefilter("ignore", DeprecationWarning)
            child.start()
        send.close()
        children.append((child, receive))
    results = [func(*chunks[0])]
    for child, receive in children:
        try:
            status, value = receive.recv()
        except EOFError:
            status, value = "error", f"a counting process ended with status {child.exitcode}"
        child.join()
        if status != "ok":
            raise RuntimeError(value)
        results.append(value)
    return results


def _child(send: Any, func: Any, chunk: tuple[int, int]) -> None:
    """Run ``func(*chunk)`` in a forked process and send back ("ok", result) or ("error", reason)."""
    try:
        send.send(("ok", func(*chunk)))
    except BaseException as exc:  # noqa: BLE001 - the parent raises it
        send.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        send.close()


def _interval(samples: Any, point: float | None) -> list[float] | None:
    """Return the 95% percentile interval of the defined bootstrap values (None when the figure is undefined)."""
    np = _np()
    if point is None:
        return None
    defined = samples[~np.isnan(samples)]
    if defined.size == 0:
        return None
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return [round(float(low), 6), round(float(high), 6)]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def compute_agreement(
    documents: Sequence[DocumentLayers],
    label_kinds: Mapping[str, str],
    kinds: Sequence[str],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    workers: int = 1,
) -> dict[str, Any]:
    """Return every agreement figure of metrics.md over ``documents`` (the JSON of ``workbench agreement --json``).

    :param documents: documents with their counted annotator layers (any
        number, including one or none: such documents count towards nothing
        pairwise).
    :param label_kinds: the schema's labels in order, label -> kind.
    :param kinds: the kinds to report (the schema's, then those cli.md names).
    :param workers: processes counting documents at once (forked; for a
        command line, not a threaded server); the figures do not depend on it.
    """
    np = _np()
    annotators = sorted({name for doc in documents for name in doc.layers})
    pairs = list(itertools.combinations(annotators, 2))
    shared_docs = [doc for doc in documents if len(doc.layers) >= 2]
    labels = list(label_kinds)
    used_labels = set().union(*(map(_LABEL, layer.spans) for doc in shared_docs for layer in doc.layers.values()))
    labels += sorted(used_labels - set(label_kinds))
    label_at = {label: i for i, label in enumerate(labels)}
    rel_types = sorted(
        {r.type for doc in shared_docs for layer in doc.layers.values() for r in layer.relations}
    )
    schema_kinds = [k for k in kinds if k in set(label_kinds.values())]
    categories = {k: [OUTSIDE, *[lb for lb, kind in label_kinds.items() if kind == k]] for k in schema_kinds}
    cat_index = {k: {None: 0, **{lb: i for i, lb in enumerate(cats) if i}} for k, cats in categories.items()}
    kind_of = dict(label_kinds)

    P, L, D = len(pairs), len(labels), len(shared_docs)
    cols = _Columns()
    span_block = {m: cols.block(P, L, 3) for m in MODES}
    rel_block = {m: cols.block(P, 3) for m in MODES}
    att_block = {m: cols.block(P, 5) for m in MODES}  # tp, tp with cues, |A|, |B|, content-paired
    conf_block = {k: cols.block(P, len(c), len(c)) for k, c in categories.items()}
    coin_block = {k: cols.block(len(c), len(c)) for k, c in categories.items()}
    shared_block = cols.block(P)

    pair_at = {pair: p for p, pair in enumerate(pairs)}

    def count(first: int, last: int) -> tuple[Any, dict[str, list[Counter[Any]]], dict[str, Counter[str]], int]:
        """Count documents ``first`` to ``last`` (exclusive) of ``shared_docs``: their rows of statistics and tallies."""
        rel_per_type = {m: [Counter() for _ in pairs] for m in MODES}  # (type, 0|1|2) -> tp, |A|, |B|
        roles = {m: Counter() for m in MODES}
        misaligned = 0
        rows = np.zeros((last - first, cols.size))
        for d in range(first, last):
            doc = shared_docs[d]
            row = [0.0] * cols.size
            toks = tokens(doc.text)
            tok_starts, tok_ends = (list(edges) for edges in zip(*toks)) if toks else ([], [])
            start_set, end_set = set(tok_starts), set(tok_ends)
            names = sorted(doc.layers)
            m = len(names)
            labelled: dict[tuple[str, str], dict[int, str]] = {}
            label_counts: dict[str, list[tuple[int, int]]] = {}
            indexes = {name: SpanIndex(doc.layers[name].spans) for name in names}
            for name in names:
                layer = doc.layers[name]
                label_counts[name] = [(label_at[lb], n) for lb, n in Counter(map(_LABEL, layer.spans)).items()]
                if not (set(map(_START, layer.spans)) <= start_set and set(map(_END, layer.spans)) <= end_set):
                    misaligned += sum(token_edges_inside(toks, s.start, s.end, tok_starts) for s in layer.spans)
                by_kind: dict[str, list[Span]] = {}
                for s, kind in zip(layer.spans, map(kind_of.get, map(_LABEL, layer.spans))):
                    if kind in categories:
                        by_kind.setdefault(kind, []).append(s)
                for kind in categories:
                    labelled[(name, kind)] = labelled_tokens(tok_starts, tok_ends, by_kind.get(kind, ()))
            for a_name, b_name in itertools.combinations(names, 2):
                p = pair_at[(a_name, b_name)]
                a, b = doc.layers[a_name], doc.layers[b_name]
                row[shared_block[0] + p] = 1
                for mode in MODES:
                    found = compare_layers(a, b, mode, indexes[b_name])
                    span_map, rel_map = found.spans, found.relations
                    att_map, with_cues, by_content = (found.attributions[r] for r in ("source", "with_cues", "content"))
                    base = span_block[mode][0] + p * L * 3
                    for label, n in Counter(map(_LABEL, map(a.spans.__getitem__, span_map))).items():
                        row[base + label_at[label] * 3] += n
                    for li, count in label_counts[a_name]:
                        row[base + li * 3 + 1] += count
                    for li, count in label_counts[b_name]:
                        row[base + li * 3 + 2] += count
                    rb = rel_block[mode][0] + p * 3
                    row[rb] += len(rel_map)
                    row[rb + 1] += len(a.relations)
                    row[rb + 2] += len(b.relations)
                    per_type = rel_per_type[mode][p]
                    for i in rel_map:
                        per_type[(a.relations[i].type, 0)] += 1
                    for r in a.relations:
                        per_type[(r.type, 1)] += 1
                    for r in b.relations:
                        per_type[(r.type, 2)] += 1
                    ab = att_block[mode][0] + p * 5
                    row[ab] += len(att_map)
                    row[ab + 1] += len(with_cues)
                    row[ab + 2] += len(a.attributions)
                    row[ab + 3] += len(b.attributions)
                    row[ab + 4] += len(by_content)
                    tally = roles[mode]
                    for i, j in by_content.items():
                        x, y = a.attributions[i], b.attributions[j]
                        tally["paired"] += 1
                        tally["source"] += _mapped(x.source, span_map) == y.source
                        tally["cue"] += _mapped(x.cue, span_map) == y.cue
                        tally["content_exact"] += all(
                            (a.spans[c].start, a.spans[c].end) == (b.spans[span_map[c]].start, b.spans[span_map[c]].end)
                            for c in x.content
                        )
                    agree, compared = parent_agreement(a, b, att_map)
                    tally["matched"] += len(att_map)
                    tally["parent"] += agree
                    tally["parent_compared"] += compared
                for kind, cats in categories.items():
                    q = len(cats)
                    cb = conf_block[kind][0] + p * q * q
                    ob = coin_block[kind][0]
                    index = cat_index[kind]
                    share = 1 / (m - 1)
                    for x_label, y_label, count in token_pairs(labelled[(a_name, kind)], labelled[(b_name, kind)], len(toks)):
                        x, y = index[x_label], index[y_label]
                        row[cb + x * q + y] += count
                        row[ob + x * q + y] += count * share
                        row[ob + y * q + x] += count * share
            rows[d - first] = row
        return rows, rel_per_type, roles, misaligned

    parts = _in_processes(count, _chunks(D, workers))
    stats = np.concatenate([part[0] for part in parts]) if parts else np.zeros((0, cols.size))
    rel_per_type = {m: [sum((part[1][m][p] for part in parts), Counter()) for p in range(P)] for m in MODES}
    roles = {m: sum((part[2][m] for part in parts), Counter()) for m in MODES}
    misaligned = sum(part[3] for part in parts)

    def figures(matrix: Any) -> dict[str, Any]:
        """Every figure from (rows of) summed statistics: arrays over rows."""
        out: dict[str, Any] = {}
        for mode in MODES:
            s = _take(matrix, span_block[mode])  # rows, P, L, 3
            per_label = f1_values(s[..., 0], s[..., 1], s[..., 2])  # rows, P, L
            totals = s.sum(axis=2)
            micro = f1_values(totals[..., 0], totals[..., 1], totals[..., 2])  # rows, P
            out[f"span.{mode}.pairs"] = micro
            out[f"span.{mode}.micro"] = _nanmean(micro, 1)
            out[f"span.{mode}.per_label_pairs"] = per_label
            out[f"span.{mode}.per_label"] = _nanmean(per_label, 1)
            out[f"span.{mode}.pair_precision"] = _ratio(totals[..., 0], totals[..., 2])
            out[f"span.{mode}.pair_recall"] = _ratio(totals[..., 0], totals[..., 1])
            r = _take(matrix, rel_block[mode])
            out[f"rel.{mode}.pairs"] = f1_values(r[..., 0], r[..., 1], r[..., 2])
            out[f"rel.{mode}.micro"] = _nanmean(out[f"rel.{mode}.pairs"], 1)
            t = _take(matrix, att_block[mode])
            out[f"att.{mode}.pairs"] = f1_values(t[..., 0], t[..., 2], t[..., 3])
            out[f"att.{mode}.micro"] = _nanmean(out[f"att.{mode}.pairs"], 1)
            out[f"att.{mode}.cues_pairs"] = f1_values(t[..., 1], t[..., 2], t[..., 3])
            out[f"att.{mode}.micro_with_cues"] = _nanmean(out[f"att.{mode}.cues_pairs"], 1)
            out[f"att.{mode}.content_pairs"] = f1_values(t[..., 4], t[..., 2], t[..., 3])
            out[f"att.{mode}.content"] = _nanmean(out[f"att.{mode}.content_pairs"], 1)
        for kind in categories:
            c = _take(matrix, conf_block[kind])  # rows, P, q, q
            out[f"tok.{kind}.kappa_pairs"] = kappa_values(c)
            out[f"tok.{kind}.kappa"] = _nanmean(out[f"tok.{kind}.kappa_pairs"], 1)
            out[f"tok.{kind}.ac1_pairs"] = ac1_values(c)
            out[f"tok.{kind}.ac1"] = _nanmean(out[f"tok.{kind}.ac1_pairs"], 1)
            out[f"tok.{kind}.alpha"] = alpha_values(_take(matrix, coin_block[kind]))
        return out

    point = figures(stats.sum(axis=0, keepdims=True))
    if D and resamples:
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, D, size=(resamples, D))
        flat = (picks + (np.arange(resamples) * D)[:, None]).ravel()
        weights = np.bincount(flat, minlength=resamples * D).reshape(resamples, D).astype(float)
        # Only columns some document counts in need multiplying (unused labels and categories stay 0).
        used = np.flatnonzero(stats.any(axis=0))
        sums = np.zeros((resamples, cols.size))
        sums[:, used] = weights @ stats[:, used]
        boot = figures(sums)
    else:
        boot = {key: np.full((0, *value.shape[1:]), np.nan) for key, value in point.items()}
    totals = stats.sum(axis=0)
    shared_per_pair = totals[shared_block[0] : shared_block[0] + P]

    def value(key: str, *index: int) -> float | None:
        return _round(_scalar(point[key][(0, *index)]))

    def ci(key: str, *index: int) -> list[float] | None:
        v = value(key, *index)
        return _interval(boot[key][(slice(None), *index)], v)

    def mean_reason(defined: bool, pair_reasons: list[str | None], fallback: str) -> str | None:
        if defined:
            return None
        if len(annotators) < 2:
            return FEW_ANNOTATORS
        if not shared_docs:
            return NO_PAIR_DOCS
        reasons = {r for r in pair_reasons if r}
        return reasons.pop() if len(reasons) == 1 else fallback

    def pair_reason(p: int, defined: bool, empty: str) -> str | None:
        if defined:
            return None
        return NO_SHARED if not shared_per_pair[p] else empty

    result: dict[str, Any] = {
        "annotators": annotators,
        "documents": D,
        "documents_annotated": len(documents),
        "pairs": [{"a": a, "b": b, "documents": int(shared_per_pair[p])} for p, (a, b) in enumerate(pairs)],
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": CONFIDENCE, "over": "documents"},
        "misaligned_spans": misaligned,
        "labels": labels,
    }

    span: dict[str, Any] = {}
    for mode in MODES:
        s_tot = _take(totals[None, :], span_block[mode])[0]  # P, L, 3
        pair_rows = []
        reasons = []
        for p, (a, b) in enumerate(pairs):
            f1 = value(f"span.{mode}.pairs", p)
            reason = pair_reason(p, f1 is not None, "neither annotator marked a span")
            reasons.append(reason)
            per_label = {}
            for li, label in enumerate(labels):
                per_label[label] = value(f"span.{mode}.per_label_pairs", p, li)
            pair_rows.append(
                {
                    "a": a,
                    "b": b,
                    "documents": int(shared_per_pair[p]),
                    "f1": f1,
                    "precision": value(f"span.{mode}.pair_precision", p),
                    "recall": value(f"span.{mode}.pair_recall", p),
                    "matched": int(s_tot[p, :, 0].sum()),
                    "spans_a": int(s_tot[p, :, 1].sum()),
                    "spans_b": int(s_tot[p, :, 2].sum()),
                    "per_label": per_label,
                    "reason": reason,
                }
            )
        micro = value(f"span.{mode}.micro")
        per_label = {}
        per_label_ci = {}
        per_label_reason = {}
        for li, label in enumerate(labels):
            v = value(f"span.{mode}.per_label", li)
            per_label[label] = v
            per_label_ci[label] = ci(f"span.{mode}.per_label", li)
            if v is None:
                per_label_reason[label] = mean_reason(False, [], f"no annotator used {label}")
        span[mode] = {
            "micro": micro,
            "micro_ci": ci(f"span.{mode}.micro"),
            "micro_reason": mean_reason(micro is not None, reasons, "no pair of annotators marked a span"),
            "per_label": per_label,
            "per_label_ci": per_label_ci,
            "per_label_reason": per_label_reason,
            "pairs": pair_rows,
        }
    result["span_f1"] = span

    token: dict[str, Any] = {}
    for kind in kinds:
        if kind not in categories:
            reason = f"the schema has no label of kind {kind}"
            token[kind] = {
                "labels": [],
                "kappa": None,
                "kappa_ci": None,
                "kappa_reason": reason,
                "kappa_pairs": [],
                "ac1": None,
                "ac1_ci": None,
                "ac1_reason": reason,
                "ac1_pairs": [],
                "alpha": None,
                "alpha_ci": None,
                "alpha_reason": reason,
                "reason": reason,
            }
            continue
        q = len(categories[kind])
        conf = _take(totals[None, :], conf_block[kind])[0]
        kappa_pairs, ac1_pairs, k_reasons, a_reasons = [], [], [], []
        for p, (a, b) in enumerate(pairs):
            k = value(f"tok.{kind}.kappa_pairs", p)
            g = value(f"tok.{kind}.ac1_pairs", p)
            n_tokens = int(conf[p].sum())
            empty = ONE_CATEGORY if n_tokens else "the shared documents have no tokens"
            kr, ar = pair_reason(p, k is not None, empty), pair_reason(p, g is not None, empty)
            k_reasons.append(kr)
            a_reasons.append(ar)
            kappa_pairs.append({"a": a, "b": b, "kappa": k, "tokens": n_tokens, "documents": int(shared_per_pair[p]), "reason": kr})
            ac1_pairs.append({"a": a, "b": b, "ac1": g, "tokens": n_tokens, "documents": int(shared_per_pair[p]), "reason": ar})
        kappa, ac1, alpha = value(f"tok.{kind}.kappa"), value(f"tok.{kind}.ac1"), value(f"tok.{kind}.alpha")
        token[kind] = {
            "labels": categories[kind][1:],
            "kappa": kappa,
            "kappa_ci": ci(f"tok.{kind}.kappa"),
            "kappa_reason": mean_reason(kappa is not None, k_reasons, ONE_CATEGORY),
            "kappa_pairs": kappa_pairs,
            "ac1": ac1,
            "ac1_ci": ci(f"tok.{kind}.ac1"),
            "ac1_reason": mean_reason(ac1 is not None, a_reasons, ONE_CATEGORY),
            "ac1_pairs": ac1_pairs,
            "alpha": alpha,
            "alpha_ci": ci(f"tok.{kind}.alpha"),
            "alpha_reason": mean_reason(alpha is not None, [], ONE_CATEGORY),
            "categories": q,
            "reason": None,
        }
    result["token"] = token

    relations: dict[str, Any] = {}
    attributions: dict[str, Any] = {}
    for mode in MODES:
        r_tot = _take(totals[None, :], rel_block[mode])[0]
        pair_rows, reasons = [], []
        for p, (a, b) in enumerate(pairs):
            f1 = value(f"rel.{mode}.pairs", p)
            reason = pair_reason(p, f1 is not None, "neither annotator drew a relation")
            reasons.append(reason)
            pair_rows.append(
                {"a": a, "b": b, "f1": f1, "matched": int(r_tot[p, 0]), "relations_a": int(r_tot[p, 1]), "relations_b": int(r_tot[p, 2]), "reason": reason}
            )
        per_type: dict[str, float | None] = {}
        for rtype in rel_types:
            values = []
            for p in range(P):
                c = rel_per_type[mode][p]
                if c[(rtype, 1)] + c[(rtype, 2)]:
                    values.append(2 * c[(rtype, 0)] / (c[(rtype, 1)] + c[(rtype, 2)]))
            per_type[rtype] = _round(sum(values) / len(values)) if values else None
        micro = value(f"rel.{mode}.micro")
        relations[mode] = {
            "micro": micro,
            "micro_ci": ci(f"rel.{mode}.micro"),
            "micro_reason": mean_reason(micro is not None, reasons, "no pair of annotators drew a relation"),
            "per_label": per_type,
            "pairs": pair_rows,
        }
        t_tot = _take(totals[None, :], att_block[mode])[0]
        pair_rows, reasons = [], []
        for p, (a, b) in enumerate(pairs):
            f1 = value(f"att.{mode}.pairs", p)
            reason = pair_reason(p, f1 is not None, "neither annotator marked an attribution")
            reasons.append(reason)
            pair_rows.append(
                {
                    "a": a,
                    "b": b,
                    "f1": f1,
                    "f1_with_cues": value(f"att.{mode}.cues_pairs", p),
                    "f1_content": value(f"att.{mode}.content_pairs", p),
                    "matched": int(t_tot[p, 0]),
                    "attributions_a": int(t_tot[p, 2]),
                    "attributions_b": int(t_tot[p, 3]),
                    "reason": reason,
                }
            )
        micro = value(f"att.{mode}.micro")
        att_reason = mean_reason(micro is not None, reasons, "no pair of annotators marked an attribution")
        tally = roles[mode]
        paired, matched = tally["paired"], tally["matched"]
        role_view: dict[str, Any] = {
            "paired_by_content": paired,
            "matched": matched,
            "source": _round(tally["source"] / paired) if paired else None,
            "cue": _round(tally["cue"] / paired) if paired else None,
            "parent": _round(tally["parent"] / tally["parent_compared"]) if tally["parent_compared"] else None,
            "parent_compared": tally["parent_compared"],
        }
        role_reason = att_reason or "no attributions share their content"
        role_view["source_reason"] = role_view["cue_reason"] = None if paired else role_reason
        role_view["parent_reason"] = None if tally["parent_compared"] else "no matched attribution is part of a chain"
        if mode == "overlap":
            role_view["content_exact"] = _round(tally["content_exact"] / paired) if paired else None
            role_view["content_exact_reason"] = None if paired else role_reason
        attributions[mode] = {
            "micro": micro,
            "micro_ci": ci(f"att.{mode}.micro"),
            "micro_reason": att_reason,
            "micro_with_cues": value(f"att.{mode}.micro_with_cues"),
            "micro_with_cues_ci": ci(f"att.{mode}.micro_with_cues"),
            "content_only": value(f"att.{mode}.content"),
            "content_only_ci": ci(f"att.{mode}.content"),
            "roles": role_view,
            "pairs": pair_rows,
        }
    result["relations_f1"] = relations
    result["attributions_f1"] = attributions

    worst = []
    # Per document, span F1 pooled over its pairs and labels: (tp, |A|, |B|) summed, as plain floats.
    per_doc = {mode: _take(stats, span_block[mode]).sum(axis=(1, 2)).tolist() for mode in MODES}
    for d, doc in enumerate(shared_docs):
        entry: dict[str, Any] = {"id": doc.external_id, "document_id": doc.document_id, "title": doc.title, "annotators": len(doc.layers)}
        for mode in MODES:
            tp, na, nb = per_doc[mode][d]
            entry["span_f1" if mode == "exact" else "span_f1_overlap"] = _round(2 * tp / (na + nb)) if na + nb else None
        entry["reason"] = None if entry["span_f1"] is not None else "no annotator marked a span"
        worst.append(entry)
    worst.sort(key=lambda e: (e["span_f1"] is None, e["span_f1"] if e["span_f1"] is not None else 0, e["id"]))
    result["documents_by_disagreement"] = worst
    return result


# --------------------------------------------------------------------------- evaluation against gold


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Return precision, recall, F1 and the counts (None for a ratio with nothing under it)."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None
    return {"precision": precision, "recall": recall, "f1": f1, "tp": tp, "fp": fp, "fn": fn}


def _scores(counts: Mapping[str, list[int]]) -> dict[str, Any]:
    """Return micro and per-label scores from ``label -> [tp, |gold|, |predicted|]``."""
    tp = sum(c[0] for c in counts.values())
    gold = sum(c[1] for c in counts.values())
    pred = sum(c[2] for c in counts.values())
    return {
        "micro": _prf(tp, pred - tp, gold - tp),
        "per_label": {label: _prf(c[0], c[2] - c[0], c[1] - c[0]) for label, c in sorted(counts.items())},
    }


def evaluate(gold: Mapping[str, Layer], predicted: Mapping[str, Layer]) -> dict[str, Any]:
    """Score ``predicted`` against ``gold`` (both: document id -> layer) as metrics.md defines.

    Documents missing from the predictions count as predicting nothing;
    predicted documents not in gold are reported, not scored.
    """
    spans = {m: {} for m in MODES}
    relations = {m: {} for m in MODES}
    attributions = {m: {"attribution": [0, 0, 0]} for m in MODES}
    with_cues = {m: {"attribution": [0, 0, 0]} for m in MODES}
    empty = Layer()
    for doc_id, g in gold.items():
        p = predicted.get(doc_id, empty)
        for mode in MODES:
            found = compare_layers(g, p, mode)
            counts = spans[mode]
            for i in found.spans:
                counts.setdefault(g.spans[i].label, [0, 0, 0])[0] += 1
            for s in g.spans:
                counts.setdefault(s.label, [0, 0, 0])[1] += 1
            for s in p.spans:
                counts.setdefault(s.label, [0, 0, 0])[2] += 1
            rel_counts = relations[mode]
            for i in found.relations:
                rel_counts.setdefault(g.relations[i].type, [0, 0, 0])[0] += 1
            for r in g.relations:
                rel_counts.setdefault(r.type, [0, 0, 0])[1] += 1
            for r in p.relations:
                rel_counts.setdefault(r.type, [0, 0, 0])[2] += 1
            for target, rule in ((attributions, "source"), (with_cues, "with_cues")):
                c = target[mode]["attribution"]
                c[0] += len(found.attributions[rule])
                c[1] += len(g.attributions)
                c[2] += len(p.attributions)
    return {
        "spans": {m: _scores(spans[m]) for m in MODES},
        "relations": {m: _scores(relations[m]) for m in MODES},
        "attributions": {
            m: {"micro": _scores(attributions[m])["micro"], "micro_with_cues": _scores(with_cues[m])["micro"]} for m in MODES
        },
        "documents": {
            "scored": len(gold),
            "missing_predictions": sum(1 for d in gold if d not in predicted),
            "unknown_in_predictions": sum(1 for d in predicted if d not in gold),
            "unknown_ids": sorted(d for d in predicted if d not in gold)[:100],
        },
    }
