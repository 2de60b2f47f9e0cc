"""The interchange records every reader yields and every writer takes.

Pure (stdlib only).  A ``DocumentRecord`` is one document in one layer, the
shape of one line of the dataset's JSONL (see docs/format.md).  Offsets are
Unicode code points of ``DocumentRecord.text``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

#: The layers a record may carry; None is a plain document.
LAYERS = ("gold", "annotator", "prediction")


class FormatError(ValueError):
    """A file that cannot be read: ``filename``, ``line`` (or None) and a one-line ``reason``."""

    def __init__(self, filename: str, line: int | None, reason: str) -> None:
        """Keep the parts; ``str()`` is ``file:line: reason``."""
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {reason}")
        self.filename = filename
        self.line = line
        self.reason = reason


#: A document without a layer as some readers yield it for the importer's fast
#: road: ``(external_id, text, meta, title, line, text_sha256)``, the fields a
#: :class:`DocumentRecord` with ``layer=None`` and no annotations would carry.
PlainDocument = tuple[str, str, dict[str, Any], str, int, str]


@dataclass(frozen=True, slots=True)
class SpanRecord:
    """A labelled half-open range ``[start, end)`` of code points."""

    id: str
    start: int
    end: int
    label: str
    text: str
    attrs: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None
    #: The annotator's note on the span (JSONL: ``attrs.note``).
    note: str = ""


@dataclass(frozen=True, slots=True)
class RelationRecord:
    """A typed, directed link from span ``head`` to span ``tail`` (span ids)."""

    id: str
    type: str
    head: str
    tail: str
    attrs: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class AttributionRecord:
    """Who said what: ``source`` and ``cue`` span ids (either may be None), ``content`` span ids.

    ``parent`` is the id of the attribution that relays this one, or None.
    """

    id: str
    source: str | None
    cue: str | None
    content: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] | None = None
    parent: str | None = None
    #: The annotator's note on the attribution (JSONL: ``attrs.note``).
    note: str = ""


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    """One document in one layer (or a plain document when ``layer`` is None).

    :param annotator: the user name of an ``annotator`` layer, the model name
        of a ``prediction`` layer, None otherwise.
    :param line: the line of the source file the record starts on (1-based).
    """

    external_id: str
    text: str
    meta: dict[str, Any] = field(default_factory=dict)
    title: str = ""
    layer: str | None = None
    annotator: str | None = None
    spans: list[SpanRecord] = field(default_factory=list)
    relations: list[RelationRecord] = field(default_factory=list)
    attributions: list[AttributionRecord] = field(default_factory=list)
    doc_labels: list[str] = field(default_factory=list)
    line: int = 1
    #: The SHA-256 of ``text`` when the reader computed it already ("" when not).
    text_sha256: str = ""
    #: The layer's note on the document (JSONL: the layer record's ``meta.note``).
    note: str = ""


@dataclass
class ExportContext:
    """What a writer gets besides the records: the project's schema; and what it reports back.

    :param schema: the project's parsed schema (a ``workbench.domain.schema.Schema``).
    :param problems: one line per annotation the format cannot hold (a span
        that cuts a token in CoNLL, say), which the writer left out.
    """

    schema: Any = None
    problems: list[str] = field(default_factory=list)

    def problem(self, message: str) -> None:
        """Report one annotation the format cannot hold."""
        self.problems.append(message)


# -- what an export reads from the database, before any format shapes it -------------------------

#: A span of an export layer: ``(id, start, end, label, attrs, provenance, note)``; ``attrs`` an
#: object (never None), ``provenance`` an object or None, ``note`` a string or None/"" for none.
ExportSpan = tuple[str, int, int, str, dict[str, Any], "dict[str, Any] | None", "str | None"]
#: A relation of an export layer: ``(id, type, head span id, tail span id, attrs, provenance)``.
ExportRelation = tuple[str, str, str, str, dict[str, Any], "dict[str, Any] | None"]
#: An attribution of an export layer: ``(id, source span id or None, cue span id or None,
#: content span ids, attrs, provenance, parent attribution id or None, note)``.
ExportAttribution = tuple[str, "str | None", "str | None", list[str], dict[str, Any], "dict[str, Any] | None", "str | None", "str | None"]


@dataclass(slots=True)
class ExportLayer:
    """One annotation layer of a document as an export writes it (spans in export order), or its stored line.

    :param kind: ``gold``, ``annotator`` or ``prediction``.
    :param annotator: the annotator's user name, the model's name, or None (gold).
    :param note: the layer's note on the document ("" when none).
    """

    kind: str
    annotator: str | None
    status: str
    note: str
    spans: list[ExportSpan]
    relations: list[ExportRelation]
    attributions: list[ExportAttribution]
    #: The layer's JSONL line, when an export read it stored instead of the items (``spans`` and the
    #: others are then empty, and ``tally`` holds what they would count).
    line: str | None = None
    #: With ``line``: the spans' labels, and how many relations and attributions the line holds.
    tally: tuple[list[str], int, int] | None = None
    #: What the layer's line is made of, for the export reading it to store the line with (see
    #: ``services.exporting.LineStore``); None when it stores none.
    made_of: dict[str, Any] | None = None
    #: With ``line``: what the format could not hold of the layer (reported to the export's context).
    problems: list[str] | None = None


@dataclass(slots=True)
class ExportDocument:
    """One document of an export and the layers written for it, in their order.

    :param meta: the document's metadata with its title folded in (``meta.title``).
    :param plain: whether the export writes the plain record (text and meta only) first.
    """

    external_id: str
    text: str
    meta: dict[str, Any]
    text_sha256: str
    plain: bool
    layers: list[ExportLayer]
    #: With ``plain``: the plain record's JSONL line, when an export read it stored (``text`` is then "").
    plain_line: str | None = None


def export_dicts(document: ExportDocument, schema_ref: dict[str, Any], format_version: int) -> Iterator[dict[str, Any]]:
    """Yield the export records (dicts of the JSONL shape, notes as ``note`` keys) of one document.

    Every writer takes these; JSONL's also writes the same bytes straight
    from an :class:`ExportDocument` (``workbench.formats.jsonl.Encoder``).
    """
    if document.plain:
        yield plain_dict(document, schema_ref, format_version)
    for layer in document.layers:
        yield layer_dict(document, layer, schema_ref, format_version)


def plain_dict(document: ExportDocument, schema_ref: dict[str, Any], format_version: int) -> dict[str, Any]:
    """Return the plain record (text and meta, no layer) of one document, as :func:`export_dicts` gives it."""
    return {
        "id": document.external_id, "text": document.text, "meta": dict(document.meta),
        "layer": None, "annotator": None, "spans": [], "relations": [], "attributions": [],
        "doc_labels": [], "schema": schema_ref, "text_sha256": document.text_sha256, "format_version": format_version,
    }


def layer_dict(document: ExportDocument, layer: ExportLayer, schema_ref: dict[str, Any], format_version: int) -> dict[str, Any]:
    """Return the record of one layer of a document, as :func:`export_dicts` gives it."""
    text = document.text
    tail = {"doc_labels": [], "schema": schema_ref, "text_sha256": document.text_sha256, "format_version": format_version}
    return {
        "id": document.external_id, "text": document.text, "meta": dict(document.meta),
        "layer": layer.kind,
        "annotator": layer.annotator,
        "status": layer.status,
        # The layer's note on the document (JSONL: meta.note), "" when none.
        "note": layer.note,
        "spans": [
            _extras({"id": uid, "start": s, "end": e, "label": label, "text": text[s:e], "attrs": attrs}, prov, note)
            for uid, s, e, label, attrs, prov, note in layer.spans
        ],
        "relations": [
            _extras({"id": uid, "type": rtype, "head": head, "tail": tail_, "attrs": attrs}, prov, None)
            for uid, rtype, head, tail_, attrs, prov in layer.relations
        ],
        "attributions": [
            _extras(
                {
                    "id": uid, "source": source, "cue": cue, "content": list(content), "attrs": attrs,
                    **({"parent": parent} if parent is not None else {}),
                },
                prov,
                note,
            )
            for uid, source, cue, content, attrs, prov, parent, note in layer.attributions
        ],
        **tail,
    }


def _extras(out: dict[str, Any], provenance: dict[str, Any] | None, note: str | None) -> dict[str, Any]:
    """Add ``provenance`` and the annotator's ``note`` to ``out`` when there are (each format puts the note where it keeps notes)."""
    if provenance is not None:
        out["provenance"] = provenance
    if note:
        out["note"] = note
    return out
