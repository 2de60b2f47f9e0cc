"""Merging several annotators' layers of one document: what they agree on, and what they dispute.

Pure functions over layers in the API's shape (``{"spans": [...],
"relations": [...], "attributions": [...]}``, spans with ``id``, ``label``,
``start``, ``end``, ``attrs``).  Items match exactly, as the agreement
figures' exact match defines it (docs/agreement and metrics): a span by
label and offsets; a relation by type and its two spans; an attribution by
its source, cue and set of content spans (and its parent attribution, when
the layer has parents).  Attributes do not take part in the match; an
agreed item takes the attribute values most of its annotators gave.

Majority means more than half of the document's annotators; unanimous, all
of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

RULES = ("unanimous", "majority")

SpanKey = tuple[str, int, int]
Key = tuple[Any, ...]


def threshold(rule: str, annotators: int) -> int:
    """Return how many annotators must share an item for ``rule``: all, or more than half."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(RULES)}, not {rule!r}")
    return annotators if rule == "unanimous" else annotators // 2 + 1


def span_key(span: Mapping[str, Any]) -> SpanKey:
    """Return the exact-match key of a span: (label, start, end)."""
    return (span["label"], span["start"], span["end"])


@dataclass
class Candidate:
    """One version of an item, with the annotators who made it."""

    kind: str  # span | relation | attribution
    key: Key
    annotators: list[str] = field(default_factory=list)
    #: The item as the first annotator made it, with span references replaced by span keys.
    item: dict[str, Any] = field(default_factory=dict)
    #: Attribute values per annotator, to pick the most common.
    attrs: list[dict[str, Any]] = field(default_factory=list)
    #: The annotators' notes on their copy of the item (annotator -> note), for the curator.
    notes: dict[str, str] = field(default_factory=dict)

    def common_attrs(self) -> dict[str, Any]:
        """Return the attribute values most of the annotators gave (ties: the earliest annotator's)."""
        counts: dict[str, int] = {}
        first: dict[str, dict[str, Any]] = {}
        for attrs in self.attrs:
            text = json.dumps(attrs, sort_keys=True)
            counts[text] = counts.get(text, 0) + 1
            first.setdefault(text, attrs)
        best = max(counts, key=lambda t: counts[t]) if counts else "{}"
        return dict(first.get(best, {}))


@dataclass
class Tally:
    """Every version of every item the annotators of one document made."""

    annotators: list[str]
    spans: dict[Key, Candidate] = field(default_factory=dict)
    relations: dict[Key, Candidate] = field(default_factory=dict)
    attributions: dict[Key, Candidate] = field(default_factory=dict)

    def all(self) -> Iterable[Candidate]:
        """Yield every candidate: spans, then relations, then attributions."""
        yield from self.spans.values()
        yield from self.relations.values()
        yield from self.attributions.values()

    def agreed(self, rule: str) -> list[Candidate]:
        """Return the candidates enough annotators share under ``rule`` (spans first)."""
        need = threshold(rule, len(self.annotators))
        return [c for c in self.all() if len(c.annotators) >= need]

    def disputed(self, rule: str) -> list[Candidate]:
        """Return the candidates too few annotators share under ``rule``."""
        need = threshold(rule, len(self.annotators))
        return [c for c in self.all() if len(c.annotators) < need]


def attribution_keys(layer: Mapping[str, Any], spans: Mapping[str, SpanKey]) -> dict[str, Key]:
    """Return each attribution's key by id, following ``parent`` links (which have no cycles)."""
    by_id = {a["id"]: a for a in layer.get("attributions", [])}
    keys: dict[str, Key] = {}

    def key_of(uid: str, depth: int = 0) -> Key:
        if uid in keys:
            return keys[uid]
        a = by_id[uid]
        parent = a.get("parent")
        parent_key = key_of(parent, depth + 1) if parent in by_id and depth < 50 else None
        key = (
            spans.get(a["source"]) if a.get("source") else None,
            spans.get(a["cue"]) if a.get("cue") else None,
            tuple(sorted(spans[c] for c in a.get("content", []) if c in spans)),
            parent_key,
        )
        keys[uid] = key
        return key

    for uid in by_id:
        key_of(uid)
    return keys


def tally(layers: Mapping[str, Mapping[str, Any]]) -> Tally:
    """Return every version of every item in ``layers`` (annotator name -> layer), with who made it."""
    result = Tally(annotators=sorted(layers))
    for name in result.annotators:
        layer = layers[name]
        spans = {s["id"]: span_key(s) for s in layer.get("spans", [])}
        for s in layer.get("spans", []):
            key = span_key(s)
            c = result.spans.setdefault(key, Candidate("span", key, item={"label": s["label"], "start": s["start"], "end": s["end"]}))
            if name not in c.annotators:
                c.annotators.append(name)
                c.attrs.append(dict(s.get("attrs") or {}))
                if s.get("note"):
                    c.notes[name] = s["note"]
        for r in layer.get("relations", []):
            key = (r["type"], spans[r["head"]], spans[r["tail"]])
            c = result.relations.setdefault(
                key, Candidate("relation", key, item={"type": r["type"], "head": key[1], "tail": key[2]})
            )
            if name not in c.annotators:
                c.annotators.append(name)
                c.attrs.append(dict(r.get("attrs") or {}))
        keys = attribution_keys(layer, spans)
        for a in layer.get("attributions", []):
            key = keys[a["id"]]
            c = result.attributions.setdefault(
                key,
                Candidate(
                    "attribution",
                    key,
                    item={"source": key[0], "cue": key[1], "content": list(key[2]), "parent": key[3]},
                ),
            )
            if name not in c.annotators:
                c.annotators.append(name)
                c.attrs.append(dict(a.get("attrs") or {}))
                if a.get("note"):
                    c.notes[name] = a["note"]
    return result


def label_clashes(spans: Iterable[Mapping[str, Any]], kind_of: Mapping[str, str]) -> list[tuple[int, int, list[str]]]:
    """Return the ranges where a layer holds spans of one kind with different labels: ``(start, end, labels)``.

    An auto-merged gold layer must never hold such a pair without a curator's look.
    """
    by_range: dict[tuple[int, int, str], set[str]] = {}
    for s in spans:
        by_range.setdefault((s["start"], s["end"], kind_of.get(s["label"], "")), set()).add(s["label"])
    return [(start, end, sorted(labels)) for (start, end, _kind), labels in sorted(by_range.items()) if len(labels) > 1]


def dispute_groups(
    candidates: Iterable[Candidate], kind_of: Mapping[str, str], disputed: Iterable[Candidate] | None = None
) -> list[list[Candidate]]:
    """Group span candidates that compete for the same words (same label kind, overlapping ranges).

    Each group is one disagreement for the curator: different boundaries,
    different labels, or a span some annotators have and others lack.  With
    ``disputed``, only groups holding one of those candidates are kept, and
    each keeps its agreed competitors too (so the curator sees the version
    that entered gold beside the ones that did not).  Relations and
    attributions that are disputed each form a group of their own, in order.
    """
    candidates = list(candidates)
    wanted = {id(c) for c in (disputed if disputed is not None else candidates)}
    spans = sorted((c for c in candidates if c.kind == "span"), key=lambda c: (kind_of.get(c.key[0], ""), c.key[1], c.key[2]))
    groups: list[list[Candidate]] = []
    current: list[Candidate] = []
    current_kind, current_end = None, -1
    for c in spans:
        kind = kind_of.get(c.key[0], "")
        if current and kind == current_kind and c.key[1] < current_end:
            current.append(c)
            current_end = max(current_end, c.key[2])
        else:
            if current:
                groups.append(current)
            current, current_kind, current_end = [c], kind, c.key[2]
    if current:
        groups.append(current)
    groups = [g for g in groups if any(id(c) in wanted for c in g)]
    for g in groups:
        g.sort(key=lambda c: (-len(c.annotators), c.key[1], c.key[2], c.key[0]))
    groups.sort(key=lambda g: (min(c.key[1] for c in g), max(c.key[2] for c in g)))
    # Relations compete when they join the same two spans (a dispute over the type).
    # Attributions compete when they attribute the same content through the same
    # source or the same cue (a dispute over who spoke, over the cue's words, or
    # over which attribution relays it); two attributions of one content with
    # another source and another cue are a chain or two reports, not rivals.
    by_link: dict[tuple[str, Any], list[Candidate]] = {}
    for c in candidates:
        if c.kind == "relation":
            by_link.setdefault(("relation", (c.key[1], c.key[2])), []).append(c)
    attributions = [c for c in candidates if c.kind == "attribution"]
    leader = list(range(len(attributions)))

    def find(i: int) -> int:
        while leader[i] != i:
            leader[i] = leader[leader[i]]
            i = leader[i]
        return i

    for i, a in enumerate(attributions):
        for j in range(i):
            b = attributions[j]
            if a.key[2] == b.key[2] and ((a.key[0] is not None and a.key[0] == b.key[0]) or (a.key[1] is not None and a.key[1] == b.key[1])):
                leader[find(i)] = find(j)
    for i, a in enumerate(attributions):
        by_link.setdefault(("attribution", find(i)), []).append(a)
    others = [g for g in by_link.values() if any(id(c) in wanted for c in g)]
    for g in others:
        g.sort(key=lambda c: (-len(c.annotators), repr(c.key)))
    return groups + others
