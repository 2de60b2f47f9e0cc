"""The figures of workbench.metrics.agreement against reference implementations and hand-computed cases.

References (test-only dependencies): scikit-learn's ``cohen_kappa_score``,
the ``krippendorff`` package, ``irrCAC`` for Gwet's AC1, seqeval for the
evaluation of an extractor; textbook cases computed by hand for F1 and AC1.
"""

from __future__ import annotations

import itertools
import math
import random

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from irrCAC.raw import CAC
from seqeval.metrics import classification_report
from sklearn.metrics import cohen_kappa_score

from workbench.domain.offsets import Span
from workbench.domain.offsets import tokens
from workbench.metrics import agreement as m

LABEL_KINDS = {"PERSON": "entity", "ORG": "entity", "GPE": "entity", "CLAIM": "claim", "CUE": "cue"}
KINDS = ["entity", "claim", "cue", "source"]
WORDS = "Mira Kovac told the council on Friday that the bridge in Oskarsby would reopen , officials said .".split()


# --------------------------------------------------------------------------- generated data


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _spans(rng: random.Random, toks: list[tuple[int, int]], count: int) -> list[Span]:
    out = []
    for _ in range(count):
        label = rng.choice(list(LABEL_KINDS))
        i = rng.randrange(len(toks))
        j = min(len(toks) - 1, i + rng.randint(0, 6 if label == "CLAIM" else 2))
        out.append(Span(toks[i][0], toks[j][1], label))
    return out


def _vary(rng: random.Random, spans: list[Span], toks: list[tuple[int, int]], noise: float) -> list[Span]:
    """Another annotator: drops, relabels or stretches some spans, adds a few."""
    ends = [e for _s, e in toks]
    out = []
    for s in spans:
        roll = rng.random()
        if roll < noise / 3:
            continue
        if roll < 2 * noise / 3:
            s = Span(s.start, s.end, rng.choice(list(LABEL_KINDS)))
        elif roll < noise:
            k = ends.index(s.end) + 1
            s = Span(s.start, ends[min(k, len(ends) - 1)], s.label)
        out.append(s)
    return out + _spans(rng, toks, rng.randint(0, 2))


def _layer(rng: random.Random, spans: list[Span]) -> m.Layer:
    n = len(spans)
    relations = tuple(m.Relation(rng.choice(["about", "member_of"]), rng.randrange(n), rng.randrange(n)) for _ in range(min(n, 3)))
    attributions = tuple(
        m.Attribution(rng.choice([None, rng.randrange(n)]), rng.choice([None, rng.randrange(n)]), (rng.randrange(n),))
        for _ in range(min(n, 2))
    )
    return m.Layer(tuple(spans), relations, attributions)


def make_documents(seed: int, docs: int = 12, annotators: int = 3, noise: float = 0.3, missing: float = 0.2) -> list[m.DocumentLayers]:
    """Varied documents: every annotator but some (``missing``) on each, spans that mostly agree."""
    rng = random.Random(seed)
    names = [f"ann{i}" for i in range(annotators)]
    out = []
    for d in range(docs):
        text = _text(rng, rng.randint(8, 40))
        toks = tokens(text)
        base = _spans(rng, toks, rng.randint(0, 8))
        layers = {}
        for name in names:
            if rng.random() < missing:
                continue
            spans = _vary(rng, base, toks, noise)
            layers[name] = _layer(rng, spans) if spans else m.Layer()
        out.append(m.DocumentLayers(d + 1, f"doc-{d}", "", text, layers))
    return out


def _token_sequences(doc: m.DocumentLayers, name: str, kind: str) -> list[str]:
    toks = tokens(doc.text)
    spans = [s for s in doc.layers[name].spans if LABEL_KINDS[s.label] == kind]
    return [label or "O" for label in m.token_labels(toks, spans)]


# --------------------------------------------------------------------------- kappa, AC1, alpha


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("OABC"), st.sampled_from("OABC")), min_size=1, max_size=80))
def test_kappa_equals_scikit_learn(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    ours = m.cohen_kappa(a, b)
    if len(set(a) | set(b)) == 1:
        assert ours is None  # one category everywhere: undefined, not 0 and not an error
        return
    with np.errstate(divide="ignore", invalid="ignore"):
        theirs = cohen_kappa_score(a, b)
    if math.isnan(theirs):
        assert ours is None
    else:
        assert ours == pytest.approx(theirs, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("OABC"), st.sampled_from("OAB")), min_size=2, max_size=60))
def test_ac1_equals_irrcac(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    ours = m.gwet_ac1(a, b)
    if len(set(a) | set(b)) == 1:
        assert ours is None
        return
    theirs = CAC(pd.DataFrame({"a": a, "b": b})).gwet()["est"]["coefficient_value"]
    assert ours == pytest.approx(theirs, abs=1e-4)  # irrCAC rounds to 5 digits


def test_ac1_textbook_cases():
    # 2 x 2 table [[40, 10], [5, 45]]: Pa = 85/100; pi = (50+45)/200 = 0.475 and 0.525;
    # Pe = (0.475*0.525 + 0.525*0.475) / (2-1) = 0.49875; AC1 = (0.85-0.49875)/(1-0.49875).
    a = ["x"] * 50 + ["y"] * 50
    b = ["x"] * 40 + ["y"] * 10 + ["x"] * 5 + ["y"] * 45
    assert m.gwet_ac1(a, b) == pytest.approx((0.85 - 0.49875) / (1 - 0.49875))
    # The kappa paradox: [[118, 5], [2, 0]].  Pa = 118/125; kappa's chance agreement
    # (123*120 + 2*5)/125**2 = 0.94528 makes kappa slightly negative, while AC1's
    # pi = (123+120)/250 = 0.972 gives Pe = 2*0.972*0.028 = 0.054432 and AC1 near 0.94.
    a = ["O"] * 123 + ["E"] * 2
    b = ["O"] * 118 + ["E"] * 5 + ["O"] * 2
    assert m.cohen_kappa(a, b) == pytest.approx((118 / 125 - 0.94528) / (1 - 0.94528))
    assert m.gwet_ac1(a, b) == pytest.approx((118 / 125 - 0.054432) / (1 - 0.054432))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(st.none(), st.sampled_from("OAB")), min_size=3, max_size=3),
        min_size=2,
        max_size=40,
    )
)
def test_alpha_equals_krippendorff_package(units):
    values = [[v for v in unit if v is not None] for unit in units]
    ours = m.krippendorff_alpha(values)
    pairable = [v for v in values if len(v) >= 2]
    if not pairable or len({x for v in pairable for x in v}) < 2:
        assert ours is None
        return
    codes = {"O": 0, "A": 1, "B": 2}
    data = np.array([[np.nan if unit[r] is None else codes[unit[r]] for unit in units] for r in range(3)], dtype=float)
    theirs = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert ours == pytest.approx(theirs, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_project_figures_equal_the_references_on_generated_documents(seed):
    docs = make_documents(seed, docs=10 + seed, annotators=2 + seed % 3)
    result = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=50)
    names = result["annotators"]
    for kind in ("entity", "claim", "cue"):
        figures = result["token"][kind]
        # Cohen's kappa and AC1 per pair: over the tokens of the documents both submitted.
        for p, (a, b) in enumerate(itertools.combinations(names, 2)):
            shared = [d for d in docs if a in d.layers and b in d.layers]
            seq_a = [t for d in shared for t in _token_sequences(d, a, kind)]
            seq_b = [t for d in shared for t in _token_sequences(d, b, kind)]
            assert figures["kappa_pairs"][p]["tokens"] == len(seq_a)
            kappa = figures["kappa_pairs"][p]["kappa"]
            if not seq_a or len(set(seq_a) | set(seq_b)) == 1:
                assert kappa is None and figures["kappa_pairs"][p]["reason"]
                continue
            assert kappa == pytest.approx(cohen_kappa_score(seq_a, seq_b), abs=1e-6)
            ac1 = CAC(pd.DataFrame({"a": seq_a, "b": seq_b})).gwet()["est"]["coefficient_value"]
            assert figures["ac1_pairs"][p]["ac1"] == pytest.approx(ac1, abs=1e-4)
        # Krippendorff's alpha: units are the tokens of documents with two or more annotators.
        rows = {name: [] for name in names}
        for d in docs:
            if len(d.layers) < 2:
                continue
            count = len(tokens(d.text))
            for name in names:
                rows[name] += _token_sequences(d, name, kind) if name in d.layers else [None] * count
        cats = sorted({v for r in rows.values() for v in r if v is not None})
        if len(cats) < 2:
            assert figures["alpha"] is None and figures["alpha_reason"]
            continue
        data = np.array([[np.nan if v is None else cats.index(v) for v in rows[name]] for name in names], dtype=float)
        assert figures["alpha"] == pytest.approx(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=1e-6)
    assert result["token"]["source"]["kappa"] is None
    assert result["token"]["source"]["reason"] == "the schema has no label of kind source"


# --------------------------------------------------------------------------- matching and F1


def test_span_matching_by_hand():
    a = [Span(0, 10, "PERSON"), Span(20, 25, "ORG"), Span(30, 35, "ORG")]
    b = [Span(0, 4, "PERSON"), Span(3, 10, "PERSON"), Span(20, 25, "GPE"), Span(30, 35, "ORG")]
    assert m.match_spans(a, b, "exact") == {2: 3}
    # Overlap: A's PERSON shares 4 points with B's first and 7 with B's second: greedy takes the larger.
    assert m.match_spans(a, b, "overlap") == {0: 1, 2: 3}
    # Ties on overlap go to the earliest start; each span is matched once.
    assert m.match_spans([Span(2, 6, "X")], [Span(4, 8, "X"), Span(0, 4, "X")], "overlap") == {0: 1}
    assert m.match_spans([Span(0, 3, "X"), Span(0, 3, "X")], [Span(0, 3, "X")], "exact") == {0: 0}


def test_pairwise_f1_by_hand():
    text = "Ada Lind met Bo Ek in Rome ."
    a = m.Layer((Span(0, 8, "PERSON"), Span(13, 18, "PERSON"), Span(22, 26, "GPE")))
    b = m.Layer((Span(0, 3, "PERSON"), Span(13, 18, "PERSON"), Span(22, 26, "ORG"), Span(4, 8, "PERSON")))
    docs = [m.DocumentLayers(1, "d1", "", text, {"ann": a, "bob": b})]
    result = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=20)
    exact, overlap = result["span_f1"]["exact"], result["span_f1"]["overlap"]
    # Exact: only "Bo Ek" matches; |A| = 3, |B| = 4: P = 1/4, R = 1/3, F1 = 2/7.
    assert exact["micro"] == pytest.approx(2 / 7, abs=1e-6)
    assert exact["pairs"][0]["precision"] == pytest.approx(1 / 4) and exact["pairs"][0]["recall"] == pytest.approx(1 / 3)
    # Per label: PERSON tp 1 of 2 and 3 -> 2/5; GPE and ORG: 0 (each marked by one annotator only).
    assert exact["per_label"] == {"PERSON": pytest.approx(0.4), "ORG": 0.0, "GPE": 0.0, "CLAIM": None, "CUE": None}
    assert exact["per_label_reason"]["CLAIM"] == "no annotator used CLAIM"
    # Overlap: "Ada Lind" matches one of "Ada"/"Lind" (greedy: equal overlap, earliest start), plus "Bo Ek": 2 of 3 and 4.
    assert overlap["micro"] == pytest.approx(2 * 2 / 7, abs=1e-6)
    assert result["documents_by_disagreement"][0]["span_f1"] == pytest.approx(2 / 7, abs=1e-6)


def test_relations_and_attributions_match_through_their_spans():
    spans = (Span(0, 4, "PERSON"), Span(5, 9, "CUE"), Span(10, 30, "CLAIM"), Span(31, 35, "ORG"))
    a = m.Layer(
        spans,
        (m.Relation("about", 2, 3),),
        (m.Attribution(0, 1, (2,)), m.Attribution(None, 1, (3,))),
    )
    moved = (Span(0, 4, "PERSON"), Span(5, 9, "CUE"), Span(12, 30, "CLAIM"), Span(31, 35, "ORG"))
    b = m.Layer(moved, (m.Relation("about", 2, 3),), (m.Attribution(0, None, (2,)), m.Attribution(3, 1, (3,))))
    for mode, want_rel in (("exact", 0), ("overlap", 1)):
        span_map = m.match_spans(a.spans, b.spans, mode)
        assert len(m.match_relations(a, b, span_map)) == want_rel
    span_map = m.match_spans(a.spans, b.spans, "overlap")
    # Content and source of the first agree (the cue does not); the second disagrees on its source.
    assert m.match_attributions(a, b, span_map, ("source",)) == {0: 0}
    assert m.match_attributions(a, b, span_map, ("source", "cue")) == {}
    assert m.match_attributions(a, b, span_map, ()) == {0: 0, 1: 1}
    docs = [m.DocumentLayers(1, "d", "", "x" * 40, {"ann": a, "bob": b})]
    result = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=10)
    roles = result["attributions_f1"]["overlap"]["roles"]
    assert roles["paired_by_content"] == 2
    assert roles["source"] == 0.5 and roles["cue"] == 0.5
    assert roles["content_exact"] == 0.5  # the claim's boundaries differ, the ORG content's do not
    assert result["attributions_f1"]["overlap"]["micro"] == 0.5
    assert result["attributions_f1"]["exact"]["micro"] == 0.0


def test_parent_agreement_of_chains():
    spans = (Span(0, 3, "PERSON"), Span(4, 7, "ORG"), Span(8, 20, "CLAIM"))
    chain = (m.Attribution(1, None, (2,)), m.Attribution(0, None, (2,), parent=0))
    flat = (m.Attribution(1, None, (2,)), m.Attribution(0, None, (2,)))
    a, b = m.Layer(spans, (), chain), m.Layer(spans, (), flat)
    att_map = m.match_attributions(a, b, m.match_spans(spans, spans, "exact"))
    assert m.parent_agreement(a, b, att_map) == (0, 1)
    assert m.parent_agreement(a, a, att_map) == (1, 1)


# --------------------------------------------------------------------------- undefined figures


def test_one_annotator_gives_null_with_a_reason():
    docs = make_documents(1, annotators=1, missing=0)
    result = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=10)
    assert result["span_f1"]["exact"]["micro"] is None
    assert result["span_f1"]["exact"]["micro_ci"] is None
    assert result["span_f1"]["exact"]["micro_reason"] == m.FEW_ANNOTATORS
    assert result["token"]["entity"]["alpha"] is None and result["token"]["entity"]["alpha_reason"] == m.FEW_ANNOTATORS
    assert result["documents"] == 0 and result["pairs"] == []


def test_no_shared_documents_gives_null_with_a_reason():
    text = "Mira Kovac said so ."
    layer = m.Layer((Span(0, 10, "PERSON"),))
    docs = [m.DocumentLayers(1, "a", "", text, {"ann": layer}), m.DocumentLayers(2, "b", "", text, {"bob": layer})]
    result = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=10)
    assert result["span_f1"]["exact"]["micro"] is None
    assert result["span_f1"]["exact"]["micro_reason"] == m.NO_PAIR_DOCS
    assert result["span_f1"]["exact"]["pairs"][0]["reason"] == m.NO_SHARED
    assert result["token"]["entity"]["kappa_pairs"][0]["kappa"] is None


def test_one_category_everywhere_gives_null_not_zero():
    text = "Mira Kovac said so ."
    layer = m.Layer((Span(0, 10, "PERSON"),))
    docs = [m.DocumentLayers(1, "a", "", text, {"ann": layer, "bob": layer})]
    result = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=10)
    claim = result["token"]["claim"]
    assert claim["kappa"] is None and claim["kappa_reason"] == m.ONE_CATEGORY
    assert claim["ac1"] is None and claim["alpha"] is None and claim["alpha_ci"] is None
    assert result["token"]["entity"]["kappa"] == 1.0
    assert result["span_f1"]["exact"]["micro"] == 1.0


# --------------------------------------------------------------------------- the bootstrap


def test_bootstrap_intervals_are_reproducible_and_hold_the_figure():
    docs = make_documents(7, docs=30)
    one = m.compute_agreement(docs, LABEL_KINDS, KINDS)
    two = m.compute_agreement(docs, LABEL_KINDS, KINDS)
    assert one == two
    for low_high, value in (
        (one["span_f1"]["exact"]["micro_ci"], one["span_f1"]["exact"]["micro"]),
        (one["token"]["entity"]["kappa_ci"], one["token"]["entity"]["kappa"]),
        (one["token"]["entity"]["alpha_ci"], one["token"]["entity"]["alpha"]),
        (one["token"]["entity"]["ac1_ci"], one["token"]["entity"]["ac1"]),
    ):
        low, high = low_high
        assert low <= value <= high and low < high
    other = m.compute_agreement(docs, LABEL_KINDS, KINDS, seed=1)
    assert other["span_f1"]["exact"]["micro_ci"] != one["span_f1"]["exact"]["micro_ci"]


def test_bootstrap_equals_a_plain_resampling_of_documents():
    """The weighted sums give what recomputing on the resampled documents gives."""
    docs = make_documents(3, docs=8, missing=0)
    result = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=200, seed=5)
    rng = np.random.default_rng(5)
    picks = rng.integers(0, len(docs), size=(200, len(docs)))
    values = []
    for row in picks:
        sample = [m.DocumentLayers(i, f"r{i}", "", docs[k].text, docs[k].layers) for i, k in enumerate(row)]
        values.append(m.compute_agreement(sample, LABEL_KINDS, KINDS, resamples=0)["span_f1"]["exact"]["micro"])
    defined = [v for v in values if v is not None]
    assert result["span_f1"]["exact"]["micro_ci"] == pytest.approx(list(np.percentile(defined, [2.5, 97.5])), abs=1e-5)


# --------------------------------------------------------------------------- evaluation against gold


def _bio(toks: list[tuple[int, int]], spans: list[Span]) -> list[str]:
    tags = ["O"] * len(toks)
    for s in spans:
        inside = [i for i, (ts, te) in enumerate(toks) if ts >= s.start and te <= s.end]
        for n, i in enumerate(inside):
            tags[i] = ("B-" if n == 0 else "I-") + s.label
    return tags


def _non_overlapping(rng: random.Random, toks: list[tuple[int, int]]) -> list[Span]:
    out, i = [], 0
    while i < len(toks):
        if rng.random() < 0.3:
            j = min(len(toks) - 1, i + rng.randint(0, 2))
            out.append(Span(toks[i][0], toks[j][1], rng.choice(["PER", "ORG", "LOC"])))
            i = j + 1
        else:
            i += 1
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6))
def test_evaluate_equals_seqeval_on_token_aligned_spans(seed):
    rng = random.Random(seed)
    gold, pred, y_true, y_pred = {}, {}, [], []
    for d in range(rng.randint(1, 5)):
        text = _text(rng, rng.randint(3, 25))
        toks = tokens(text)
        g = _non_overlapping(rng, toks)
        p = [s for s in g if rng.random() < 0.6] if rng.random() < 0.5 else _non_overlapping(rng, toks)
        p = sorted({(s.start, s.end, s.label): s for s in p}.values())
        p = [s for k, s in enumerate(p) if k == 0 or s.start >= p[k - 1].end]
        gold[f"d{d}"], pred[f"d{d}"] = m.Layer(tuple(g)), m.Layer(tuple(p))
        y_true.append(_bio(toks, g))
        y_pred.append(_bio(toks, p))
    ours = m.evaluate(gold, pred)["spans"]["exact"]
    if not any(layer.spans for layer in [*gold.values(), *pred.values()]):
        assert ours["micro"]["f1"] is None and ours["per_label"] == {}  # seqeval cannot average nothing
        return
    report = classification_report(y_true, y_pred, output_dict=True, zero_division=0)
    for label, figures in ours["per_label"].items():
        ref = report[label]
        assert figures["tp"] + figures["fn"] == ref["support"]
        for key, theirs in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            assert (figures[key] or 0.0) == pytest.approx(ref[theirs])
    micro = report["micro avg"]
    for key, theirs in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
        assert (ours["micro"][key] or 0.0) == pytest.approx(micro[theirs])


def test_evaluate_reports_missing_and_unknown_documents():
    span = Span(0, 4, "PERSON")
    gold = {"a": m.Layer((span,)), "b": m.Layer((span,))}
    pred = {"a": m.Layer((span, Span(5, 9, "PERSON"))), "zzz": m.Layer((span,))}
    result = m.evaluate(gold, pred)
    assert result["documents"] == {"scored": 2, "missing_predictions": 1, "unknown_in_predictions": 1, "unknown_ids": ["zzz"]}
    assert result["spans"]["exact"]["micro"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "tp": 1, "fp": 1, "fn": 1}


def test_layer_from_record_reads_the_jsonl_shape():
    record = {
        "spans": [
            {"id": "T1", "start": 0, "end": 4, "label": "PERSON"},
            {"id": "T2", "start": 5, "end": 9, "label": "CUE"},
            {"id": "T3", "start": 10, "end": 20, "label": "CLAIM"},
        ],
        "relations": [{"id": "R1", "type": "about", "head": "T3", "tail": "T1"}],
        "attributions": [
            {"id": "A1", "source": "T1", "cue": "T2", "content": ["T3"]},
            {"id": "A2", "source": None, "cue": "T2", "content": ["T3"], "parent": "A1"},
        ],
    }
    layer = m.layer_from_record(record)
    assert layer.relations == (m.Relation("about", 2, 0),)
    assert layer.attributions[1] == m.Attribution(None, 1, (2,), parent=0)
    with pytest.raises(ValueError, match="T9"):
        m.layer_from_record({"spans": [], "relations": [{"id": "R", "type": "x", "head": "T9", "tail": "T9"}]})


def test_spans_inside_tokens_are_counted_and_their_tokens_labelled():
    text = "Mira Kovac said so ."
    inside = m.Layer((Span(0, 3, "PERSON"), Span(5, 10, "PERSON")))  # "Mir" ends inside "Mira"
    aligned = m.Layer((Span(0, 10, "PERSON"),))
    docs = [m.DocumentLayers(1, "a", "", text, {"ann": inside, "bob": aligned})]
    result = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=10)
    assert result["misaligned_spans"] == 1
    # Every token of "Mira Kovac" is PERSON for both: token agreement is perfect, span agreement is not.
    assert result["token"]["entity"]["kappa"] == 1.0
    assert result["span_f1"]["exact"]["micro"] == 0.0
    assert m.token_labels(tokens(text), inside.spans) == ["PERSON", "PERSON", None, None, None]


def test_counting_in_two_processes_gives_the_same_figures():
    docs = make_documents(11, docs=2 * m.MIN_CHUNK + 30, missing=0.1)
    one = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=100)
    two = m.compute_agreement(docs, LABEL_KINDS, KINDS, resamples=100, workers=2)
    assert m._chunks(len([d for d in docs if len(d.layers) >= 2]), 2)[1][0] > 0  # really split
    assert two == one
