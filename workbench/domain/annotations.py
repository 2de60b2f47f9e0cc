"""Checks for spans, relations and attributions against a text and a schema.

One place for these rules: the importers and the annotation service both
call them, so an annotation the browser may save is exactly one an import
may bring in.  Every function raises ``AnnotationError`` with one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from workbench.domain import offsets
from workbench.domain.schema import Schema
from workbench.domain.schema import SchemaError


class AnnotationError(ValueError):
    """An annotation does not fit its text or its schema."""


class OverlapError(AnnotationError):
    """Two spans break the schema's overlap rules; ``ids`` names them."""

    def __init__(self, reason: str, ids: tuple[str, str]) -> None:
        super().__init__(reason)
        self.ids = ids


def check_span(
    schema: Schema, text: str, label: str, start: Any, end: Any, attrs: Any = None, quote: str | None = None
) -> None:
    """Check one span: offsets inside ``text``, label in the schema, attribute values allowed.

    :param quote: the string the writer meant to cover; must equal ``text[start:end]``.
    """
    try:
        offsets.validate(text, start, end, quote)
    except offsets.OffsetError as exc:
        raise AnnotationError(str(exc)) from None
    definition = schema.label(label) if isinstance(label, str) else None
    if definition is None:
        raise AnnotationError(f"label {label!r} is not in the project's schema")
    try:
        schema.check_attrs(f"span {label}", definition.attributes, attrs or {})
    except SchemaError as exc:
        raise AnnotationError(str(exc)) from None


#: The longest note (on the document, a span or an attribution), in characters.
MAX_NOTE = 2000


def check_note(value: Any) -> str:
    """Return a note (a string of at most MAX_NOTE characters; None: no note) without surrounding blanks."""
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_NOTE:
        raise AnnotationError(f"note must be a string of at most {MAX_NOTE:,} characters")
    return value.strip()


def check_relation(schema: Schema, rel_type: Any, head_label: str, tail_label: str, attrs: Any = None) -> None:
    """Check a relation's type and that it may join spans with these labels."""
    definition = schema.relation_type(rel_type) if isinstance(rel_type, str) else None
    if definition is None:
        raise AnnotationError(f"relation type {rel_type!r} is not in the project's schema")
    if not definition.allows(head_label, tail_label):
        raise AnnotationError(f"a {rel_type} relation cannot go from {head_label} to {tail_label}")
    if attrs is not None and not isinstance(attrs, dict):
        raise AnnotationError("relation attrs must be an object")
    if head_label == "" or tail_label == "":
        raise AnnotationError("a relation needs a head and a tail span")


def check_attribution(schema: Schema, source: Any, cue: Any, content: Any, attrs: Any = None) -> None:
    """Check an attribution's shape: one or more content pieces, a source or a cue (or both).

    ``source``, ``cue`` and the items of ``content`` are span references (ids);
    whether they exist is the caller's business.
    """
    if not schema.attributions:
        raise AnnotationError("this project's schema has attributions switched off")
    if not isinstance(content, list) or not content:
        raise AnnotationError("an attribution needs at least one content span")
    if len(set(map(str, content))) != len(content):
        raise AnnotationError("an attribution lists the same content span twice")
    if source is None and cue is None:
        raise AnnotationError("an attribution needs a source or a cue (or both)")
    for ref in (source, cue):
        if ref is not None and ref in content:
            raise AnnotationError("a span cannot be both the content and the source or cue of one attribution")
    try:
        schema.check_attrs("attribution", schema.attribution_attributes, attrs or {})
    except SchemaError as exc:
        raise AnnotationError(str(exc)) from None


def check_chains(parent_of: dict[str, str | None]) -> None:
    """Check a document's chains at once: every parent is one of its attributions, and no chain loops.

    :param parent_of: each attribution's id → the id of the attribution that relays it, or None.
    """
    for uid, parent in parent_of.items():
        if parent is None:
            continue
        if parent not in parent_of:
            raise AnnotationError(f"attribution {uid}: parent {parent!r} is not an attribution of this document")
        check_chain(uid, parent, parent_of.get)


def check_chain(uid: str, parent: str | None, parent_of: Callable[[str], str | None]) -> None:
    """Check that ``parent`` may relay attribution ``uid``: a chain of attributions never loops.

    :param parent_of: returns the uid of the attribution that relays a given one, or None.
    """
    if parent is None:
        return
    path = [uid, parent]
    current: str | None = parent
    while current is not None:
        if current == uid:
            raise AnnotationError(
                f"attribution {uid!r} cannot be relayed by {parent!r}: the chain would loop ({' → '.join(path)})"
            )
        current = parent_of(current)
        if current is not None:
            path.append(current)
        if len(path) > 10_000:  # a stored loop that does not pass through uid
            raise AnnotationError(f"the chain above attribution {parent!r} loops")


#: A span as the overlap rules see it: (id, label, start, end).
SpanRef = tuple[str, str, int, int]


def _describe(text: str, span: SpanRef) -> str:
    """Return ``PERSON “Anna Berg” (4-13)``: a span as the overlap messages name it.

    The quote is cut at 40 code points and its line breaks and tabs become
    spaces (``static/js/overlap.js`` words it the same way).
    """
    _uid, label, start, end = span
    quote = text[start:end]
    if len(quote) > 40:
        quote = quote[:39] + "…"
    quote = re.sub(r"[\r\n\t]+", " ", quote)
    return f"{label} “{quote}” ({start}-{end})"


def overlap_conflict(schema: Schema, text: str, a: SpanRef, b: SpanRef) -> str | None:
    """Return why spans ``a`` and ``b`` may not lie as they do under the schema's rules, or None.

    Spans that share no code point never conflict. ``static/js/overlap.js``
    holds the same rules and words for the annotate page.
    """
    _, label_a, a_start, a_end = a
    _, label_b, b_start, b_end = b
    if not (a_start < b_end and b_start < a_end):
        return None
    la, lb = schema.label(label_a), schema.label(label_b)
    if la is None or lb is None:
        return None  # an unknown label is check_span's to report
    a_holds = a_start <= b_start and b_end <= a_end
    b_holds = b_start <= a_start and a_end <= b_end
    if label_a == label_b:
        if la.overlap == "none":
            return (
                f"{_describe(text, a)} and {_describe(text, b)} overlap, "
                f"but spans of {label_a} may not overlap (schema rule: overlap \"none\")"
            )
        if la.overlap == "nest" and not (a_holds or b_holds):
            return (
                f"{_describe(text, a)} and {_describe(text, b)} cross, "
                f"but spans of {label_a} may only nest (schema rule: overlap \"nest\")"
            )
        return None
    for outer, inner, holds, other_holds, lo, li in ((a, b, a_holds, b_holds, la, lb), (b, a, b_holds, a_holds, lb, la)):
        if other_holds and not holds:
            continue  # ``outer`` lies inside ``inner``: the container's rule decides
        if not lo.admits(li):
            allowed = f"only {', '.join(lo.contains)}" if lo.contains else "no span of another label"
            verb = "contains" if holds else "overlaps"
            return (
                f"{_describe(text, outer)} {verb} {_describe(text, inner)}, "
                f"but a {lo.name} span may contain or overlap {allowed} (schema rule: contains)"
            )
    return None


def has_overlap_rules(schema: Schema) -> bool:
    """Tell whether any label of ``schema`` restricts how spans meet (else no check is needed)."""
    return any(label.overlap != "any" or label.contains is not None for label in schema.labels)


def check_overlaps(schema: Schema, text: str, spans: list[SpanRef], changed: set[str] | None = None) -> None:
    """Check that no two of ``spans`` break the schema's overlap rules.

    :param changed: when given, only pairs with at least one span whose id is
        in it are checked (the others were checked when they were saved).
    :raise AnnotationError: naming both spans and the rule, for the first pair
        in reading order.
    """
    if not has_overlap_rules(schema):
        return
    ordered = sorted(spans, key=lambda s: (s[2], -s[3], s[0]))
    active: list[SpanRef] = []
    for span in ordered:
        active = [other for other in active if other[3] > span[2]]
        for other in active:
            if changed is not None and span[0] not in changed and other[0] not in changed:
                continue
            reason = overlap_conflict(schema, text, other, span)
            if reason:
                raise OverlapError(reason, (other[0], span[0]))
        active.append(span)
