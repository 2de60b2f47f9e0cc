"""Checks for spans, relations and attributions against a text and a schema.

One place for these rules: the importers and the annotation service both
call them, so an annotation the browser may save is exactly one an import
may bring in.  Every function raises ``AnnotationError`` with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workbench.domain import offsets
from workbench.domain.schema import Schema
from workbench.domain.schema import SchemaError


class AnnotationError(ValueError):
    """An annotation does not fit its text or its schema."""


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
