"""Scoring an extractor's predictions against gold, and showing where it went wrong.

The figures are :func:`workbench.metrics.agreement.evaluate`'s (metrics.md,
"Evaluating an extractor against gold"), the same matching the agreement
figures use.  This module reads the two sides (JSONL files of the dataset
format, or a project's adjudicated gold) and works out, per document, which
spans were found, missed and invented, for the page that marks them in the
text.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field
from typing import IO
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workbench.domain import offsets
from workbench.errors import ImportError_
from workbench.errors import InvalidInput
from workbench.models import AnnotationSet
from workbench.models import Document
from workbench.models import Project
from workbench.services import annotation

#: The longest line a predictions file may hold (10 MB: a 1,000,000-character document with its spans).
MAX_LINE = 10 * 1024 * 1024


@dataclass
class Side:
    """One side of an evaluation: layers and texts by document id."""

    layers: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


def _metrics() -> Any:
    """Return the metrics module (numpy behind it loads on first use, not at start-up)."""
    from workbench.metrics import agreement

    return agreement


def read_jsonl(stream: IO[bytes], filename: str) -> Side:
    """Read records of the JSONL dataset format: one document (and one layer of it) per line.

    Checks what scoring needs: an ``id`` and a ``text``, spans inside the
    text (covering their ``text`` where given), references to spans the
    record has.  A document may appear once.

    :raise ImportError_: the first bad line, by file and line number.
    """
    side = Side()
    metrics = _metrics()
    for number, raw in enumerate(stream, 1):
        if len(raw) > MAX_LINE:
            raise ImportError_(filename, number, f"line longer than {MAX_LINE // (1024 * 1024)} MB")
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ImportError_(filename, number, f"not a JSON object ({str(exc).splitlines()[0]})") from None
        if not isinstance(record, dict):
            raise ImportError_(filename, number, "not a JSON object")
        doc_id, text = record.get("id"), record.get("text")
        if not isinstance(doc_id, str) or not doc_id:
            raise ImportError_(filename, number, "a record needs an 'id' (a string)")
        if not isinstance(text, str):
            raise ImportError_(filename, number, f"document {doc_id!r} has no 'text'")
        if doc_id in side.layers:
            raise ImportError_(filename, number, f"document {doc_id!r} appears twice (one record per document)")
        spans = record.get("spans") or []
        if not isinstance(spans, list) or not all(isinstance(s, dict) for s in spans):
            raise ImportError_(filename, number, "'spans' must be a list of objects")
        for position, span in enumerate(spans):
            try:
                offsets.validate(text, span.get("start"), span.get("end"), span.get("text"))
            except offsets.OffsetError as exc:
                raise ImportError_(filename, number, f"span {span.get('id', position)!r}: {exc}") from None
            if not isinstance(span.get("label"), str):
                raise ImportError_(filename, number, f"span {span.get('id', position)!r} has no label")
        try:
            layer = metrics.layer_from_record(record)
        except (ValueError, KeyError, TypeError) as exc:
            raise ImportError_(filename, number, f"document {doc_id!r}: {exc}") from None
        side.layers[doc_id] = layer
        side.texts[doc_id] = text
        side.records[doc_id] = record
    return side


def project_gold(session: Session, project: Project) -> Side:
    """Return ``project``'s adjudicated gold layers, by external id."""
    metrics = _metrics()
    side = Side()
    rows = session.execute(
        select(AnnotationSet, Document)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(Document.project_id == project.id, AnnotationSet.kind == "gold", AnnotationSet.status == "adjudicated")
        .order_by(Document.id)
    ).all()
    for layer, document in rows:
        record = annotation.layer_data(session, layer, document.text)
        side.layers[document.external_id] = metrics.layer_from_record(record)
        side.texts[document.external_id] = document.text
        side.records[document.external_id] = record
    return side


def check_texts(gold: Side, predicted: Side) -> None:
    """Refuse predictions made on another text than gold's: their offsets would not mean the same.

    :raise InvalidInput: naming the first such document.
    """
    for doc_id, text in predicted.texts.items():
        if doc_id in gold.texts and gold.texts[doc_id] != text:
            raise InvalidInput(f"document {doc_id!r}: the predictions' text differs from gold's, so their offsets cannot be compared")


def score(gold: Side, predicted: Side) -> dict[str, Any]:
    """Return the figures of metrics.md for ``predicted`` against ``gold``."""
    check_texts(gold, predicted)
    return _metrics().evaluate(gold.layers, predicted.layers)


@dataclass
class Marked:
    """A stretch of a document's text with what it is: found, missed (gold only) or invented (predicted only)."""

    text: str
    classes: tuple[str, ...]
    title: str


@dataclass
class DocumentErrors:
    """One document's spans: found (tp), missed (fn), invented (fp), and its text cut into marked stretches."""

    id: str
    tp: int
    fp: int
    fn: int
    pieces: list[Marked]


def document_errors(gold: Side, predicted: Side, *, mode: str = "exact", limit: int = 50) -> list[DocumentErrors]:
    """Return the documents with the most errors first (up to ``limit``), their errors marked in the text."""
    metrics = _metrics()
    empty = metrics.Layer()
    result = []
    for doc_id, g in gold.layers.items():
        p = predicted.layers.get(doc_id, empty)
        found = metrics.compare_layers(g, p, mode)
        matched_pred = set(found.spans.values())
        marks: list[tuple[int, int, str, str]] = []
        for i, s in enumerate(g.spans):
            kind = "tp" if i in found.spans else "fn"
            marks.append((s.start, s.end, kind, f"{s.label} ({'found' if kind == 'tp' else 'missed'})"))
        for j, s in enumerate(p.spans):
            if j not in matched_pred:
                marks.append((s.start, s.end, "fp", f"{s.label} (predicted, not in gold)"))
        fp = len(p.spans) - len(matched_pred)
        fn = len(g.spans) - len(found.spans)
        result.append(DocumentErrors(doc_id, len(found.spans), fp, fn, _cut(gold.texts[doc_id], marks)))
    result.sort(key=lambda d: (-(d.fp + d.fn), d.id))
    return result[:limit]


def _cut(text: str, marks: Iterable[tuple[int, int, str, str]]) -> list[Marked]:
    """Cut ``text`` at every mark's ends; each piece carries the kinds of the marks covering it (one sweep)."""
    marks = list(marks)
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for k, (start, end, _kind, _title) in enumerate(marks):
        starts.setdefault(start, []).append(k)
        ends.setdefault(end, []).append(k)
    points = sorted({0, len(text), *starts, *ends})
    active: dict[int, None] = {}
    pieces = []
    for a, b in zip(points, points[1:]):
        for k in ends.get(a, ()):
            active.pop(k, None)
        for k in starts.get(a, ()):
            active[k] = None
        covering = [marks[k] for k in active]
        kinds = tuple(sorted({m[2] for m in covering}))
        pieces.append(Marked(text[a:b], kinds, "; ".join(m[3] for m in covering)))
    return pieces
