"""The interchange records every reader yields and every writer takes.

Pure (stdlib only).  A ``DocumentRecord`` is one document in one layer, the
shape of one line of the dataset's JSONL (see docs/format.md).  Offsets are
Unicode code points of ``DocumentRecord.text``.
"""

from __future__ import annotations

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
