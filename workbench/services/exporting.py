"""Exporting a project's dataset as records of the JSONL shape (docs/format.md).

Records are built a batch of documents at a time (a handful of queries per
batch, never one per document), in the order of their external ids, so
memory stays flat however large the project.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io
import json
import logging
import multiprocessing
import os
import queue
import sys
import tempfile
import threading
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import IO
from typing import Any

from sqlalchemy import Integer
from sqlalchemy import Text
from sqlalchemy import and_
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import cast
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from workbench.domain.offsets import text_sha256
from workbench.errors import InvalidInput
from workbench.formats import WRITERS
from workbench.formats import ExportContext
from workbench.formats import Writer
from workbench.formats.jsonl import FORMAT_VERSION
from workbench.formats.jsonl import Encoder
from workbench.formats.records import ExportDocument
from workbench.formats.records import ExportLayer
from workbench.formats.records import export_dicts
from workbench.formats.records import layer_dict
from workbench.formats.records import plain_dict
from workbench.formats.split import assign_grouped_splits
from workbench.formats.split import assign_splits
from workbench.formats.split import parse_split
from workbench.formats.split import split_path
from workbench.migrate import HEAD_REVISION
from workbench.models import AgreementCache
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Document
from workbench.models import ExportDocumentLine
from workbench.models import ExportLine
from workbench.models import Project
from workbench.models import Relation
from workbench.models import Span
from workbench.models import User
from workbench.models import utcnow
from workbench.services import projects as project_service

log = logging.getLogger(__name__)

#: The ``--layer`` choices.
LAYERS = ("gold", "annotators", "predictions", "documents", "all")
#: The layers whose JSONL export streams its stored lines (``all`` copies them too, through :func:`export_documents`).
STORED_LAYERS = ("gold", "annotators", "predictions", "documents", "all")
#: Documents per round of queries.
BATCH = 500
_KIND_ORDER = {"gold": 0, "annotator": 1, "prediction": 2}


def document_external_ids(session: Session, project: Project) -> list[str]:
    """Return the project's external ids in export order (code-point order, the same on every database)."""
    return sorted(session.scalars(select(Document.external_id).where(Document.project_id == project.id)))


def _set_filter(layer: str) -> list[Any]:
    """Return the WHERE clauses choosing the annotation layers an export of ``layer`` writes."""
    gold = (AnnotationSet.kind == "gold") & (AnnotationSet.status == "adjudicated")
    annotators = (AnnotationSet.kind == "annotator") & AnnotationSet.status.in_(("in_progress", "submitted"))
    predictions = AnnotationSet.kind == "prediction"
    return {"gold": [gold], "annotators": [annotators], "predictions": [predictions]}.get(
        layer, [gold | annotators | predictions]
    )


def export_records(
    session: Session, project: Project, layer: str = "gold", only: Iterable[str] | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the project's records of ``layer``, ordered by external id, then gold, annotators, models.

    :param layer: ``gold`` (adjudicated gold layers), ``annotators`` (layers in
        progress or submitted), ``predictions``, ``documents`` (text and meta
        only) or ``all`` (the records of every other choice).
    :param only: restrict to these external ids (a split).
    :raise InvalidInput: an unknown layer.
    """
    schema = project_service.project_schema(project)
    schema_ref = {"name": schema.name, "version": schema.version}
    for batch in export_documents(session, project, layer, only):
        for document in batch:
            yield from export_dicts(document, schema_ref, FORMAT_VERSION)


def export_documents(
    session: Session,
    project: Project,
    layer: str = "gold",
    only: Iterable[str] | None = None,
    pages: Iterable[list[tuple[int, str]]] | None = None,
    lines: bool = False,
) -> Iterator[list[ExportDocument]]:
    """Yield the documents of an export of ``layer`` with their layers, a batch at a time, in export order.

    What :func:`export_records` makes its records of (and the JSONL writer its
    lines). The ids come as one stream in export order (:func:`_ordered_ids`);
    each batch of them is one round of queries, so nothing grows with the project.

    :param pages: instead of the stream, these pages of ``(document id, external id)`` (a worker's share).
    :param lines: give every layer as its JSONL line (``ExportLayer.line``): the
        stored line where nothing it is made of has changed (:class:`LineStore`),
        else one built now and stored for the next export.
    :raise InvalidInput: an unknown layer.
    """
    if layer not in LAYERS:
        raise InvalidInput(f"unknown layer {layer!r} (use {', '.join(LAYERS)})")
    texts = _texts(session)
    plain = layer in ("documents", "all")
    store = LineStore(session, project) if lines and layer != "documents" else None
    reader = _LayerReader(session, layer, store) if layer != "documents" else None
    keep = set(only) if only is not None else None
    connection = session.connection()
    stream = None
    if pages is None:
        stream = connection.execute(_ordered_ids(session, project, layer).execution_options(yield_per=BATCH))
        pages = stream.partitions()
    try:
        for page in pages:
            ids = [doc_id for doc_id, external_id in page if keep is None or external_id in keep]
            if ids:
                batch = _read_batch(connection, ids, page, reader, store, texts, plain)
                if batch:
                    yield batch
    finally:
        if stream is not None:
            stream.close()  # also when the caller stops early (PostgreSQL's server-side cursor)
        if store is not None:
            store.close()


def stored_line_batches(
    session: Session,
    project: Project,
    layer: str,
    only: Iterable[str] | None = None,
    bounds: tuple[str, str] | None = None,
    fmt: str = "jsonl",
    report: Callable[[str], None] | None = None,
) -> Iterator[tuple[list[Any], SplitCounts]]:
    """Yield the records (JSONL lines, or another format's stored records) of an export of ``layer`` a batch at a time, with their counts.

    The export's road for every format whose records are stored
    (:class:`LineStore`): one query streams every chosen layer in export
    order with its stored record and whether that record is still good, so
    a good record costs a row and nothing else. The documents of a batch
    with a layer whose record is not good are read and built as
    :func:`export_documents` does (and their records stored); the file
    written from them is the one the format's writer makes of the records,
    byte for byte.

    :param only: restrict to these external ids (a split).
    :param bounds: restrict to the external ids from the first to the second, both included (a worker's range).
    :param fmt: the format of the records: ``jsonl`` (lines without their newline), or one written
        record by record (``Writer.pieces``: each record's text as it is written), or an entry per
        document (``Writer.tasks``): then each document comes as ``(its text, [(kind, annotator,
        layer text), ...])`` instead of lines; or a record's packed files (``Writer.archive``).
    :param report: called with each problem of the records (what the format cannot hold), in record order.
    """
    if layer not in STORED_LAYERS:
        raise InvalidInput(f"stored lines are for the layers {', '.join(STORED_LAYERS)}, not {layer!r}")
    store = LineStore(session, project, fmt)
    texts = _texts(session)
    keep = set(only) if only is not None else None
    key = _export_key(session)
    grouped = store.tasks is not None
    if layer == "documents":
        for lines, counts in _plain_line_batches(session, project, store, texts, keep, key, bounds):
            yield ([(line, []) for line in lines] if grouped else lines), counts
        return
    reader = _LayerReader(session, layer, store)
    # ``all``: every document, its plain record first, then its layers (outer-joined: a document may have none).
    # A format of entries per document needs each document's own text whatever the layers (``plain``).
    records_plain = layer == "all"
    plain = records_plain or grouped
    columns = [
        Document.id, Document.external_id, AnnotationSet.kind, AnnotationSet.user_id, AnnotationSet.model_name,
        AnnotationSet.owner_key, User.username, store.good(), ExportLine.line, ExportLine.labels,
        ExportLine.relations, ExportLine.attributions, ExportLine.problems,
    ]
    if plain:
        columns += [store.good_plain(), ExportDocumentLine.line]
    query = select(*columns).select_from(Document)
    if plain:
        query = query.outerjoin(ExportDocumentLine, store.on_document())
    if records_plain:
        query = (
            query.outerjoin(AnnotationSet, and_(AnnotationSet.document_id == Document.id, *_set_filter(layer)))
        )
    else:
        query = query.join(AnnotationSet, AnnotationSet.document_id == Document.id).where(*_set_filter(layer))
    query = (
        query.outerjoin(User, User.id == AnnotationSet.user_id)
        .outerjoin(ExportLine, store.on_layer())
        .where(Document.project_id == project.id)
        .order_by(key)
    )
    if bounds is not None:
        query = query.where(key >= bounds[0], key <= bounds[1])
    connection = session.connection()
    stream = connection.execute(query.execution_options(yield_per=BATCH))

    def documents() -> Iterator[list[Any]]:
        """Group the streamed rows by document (its rows are adjacent: the order is by external id, unique)."""
        rows: list[Any] = []
        for row in stream:
            if rows and row[0] != rows[0][0]:
                yield rows
                rows = []
            rows.append(row)
        if rows:
            yield rows

    def good(rows: list[Any]) -> bool:
        """Whether every line of a document's rows is stored and still good (its plain line too, for ``all``)."""
        if plain and not rows[0][13]:
            return False
        return all(row[7] for row in rows if row[2] is not None)

    def flush(pending: list[list[Any]]) -> tuple[list[Any], SplitCounts]:
        """Return the lines of ``pending`` (each a document's rows) and their counts, building the lines not good."""
        counts = SplitCounts()
        stale = [(rows[0][0], rows[0][1]) for rows in pending if not good(rows)]
        built: dict[int, ExportDocument] = {}
        if stale:
            built = {doc_id: document for (doc_id, _e), document in zip(
                stale, _read_batch(connection, [doc_id for doc_id, _e in stale], stale, reader, store, texts, plain), strict=True)}
        lines: list[Any] = []
        labels = counts.labels
        layers = counts.layers
        for rows in pending:
            document = built.get(rows[0][0])
            if document is not None:
                document.plain = records_plain  # its plain text was read for the entry, not as a record
                if grouped:
                    lines.append((document.plain_line or "", [(item.kind, item.annotator, item.line or "") for item in document.layers]))
                else:
                    if plain:
                        lines.append(document.plain_line or "")
                    lines.extend(item.line or "" for item in document.layers)
                if report is not None:
                    for item in document.layers:
                        for problem in item.problems or ():
                            report(problem)
                for _batch in counts.count([[document]]):
                    pass
                continue
            counts.documents += 1
            entry: list[tuple[str, str | None, str]] = []
            if grouped:
                lines.append((rows[0][14], entry))
            elif plain:
                lines.append(rows[0][14])
            if records_plain:
                counts.records += 1
                layers["document"] = layers.get("document", 0) + 1
                if rows[0][2] is None:  # no layer
                    continue
            if len(rows) > 1:
                rows.sort(key=lambda row: (_KIND_ORDER[row[2]], _who(row[2], row[3], row[6], row[4], row[5]) or ""))
            counts.records += len(rows)
            for row in rows:
                if grouped:
                    entry.append((row[2], _who(row[2], row[3], row[6], row[4], row[5]), row[8]))
                else:
                    lines.append(row[8])
                layers[row[2]] = layers.get(row[2], 0) + 1
                if row[9]:
                    names = row[9].split("\n")
                    counts.spans += len(names)
                    for name in names:
                        labels[name] = labels.get(name, 0) + 1
                counts.relations += row[10]
                counts.attributions += row[11]
                if row[12] and report is not None:
                    for problem in row[12].split("\n"):
                        report(problem)
        return lines, counts

    try:
        pending: list[list[Any]] = []
        for rows in documents():
            if keep is not None and rows[0][1] not in keep:
                continue
            pending.append(rows)
            if len(pending) >= BATCH:
                yield flush(pending)
                pending = []
        if pending:
            yield flush(pending)
    finally:
        stream.close()
        store.close()


def _plain_line_batches(
    session: Session,
    project: Project,
    store: LineStore,
    texts: Any,
    keep: set[str] | None,
    key: Any,
    bounds: tuple[str, str] | None,
) -> Iterator[tuple[list[str], SplitCounts]]:
    """Yield the plain lines (text and meta, no layer) of the project's documents a batch at a time, as :func:`stored_line_batches`."""
    query = (
        select(Document.id, Document.external_id, store.good_plain(), ExportDocumentLine.line)
        .outerjoin(ExportDocumentLine, store.on_document())
        .where(Document.project_id == project.id)
        .order_by(key)
    )
    if bounds is not None:
        query = query.where(key >= bounds[0], key <= bounds[1])
    connection = session.connection()
    stream = connection.execute(query.execution_options(yield_per=BATCH))
    try:
        for page in stream.partitions():
            rows = [row for row in page if keep is None or row[1] in keep]
            built: dict[int, str] = {}
            stale = [row[0] for row in rows if not row[2]]
            if stale:
                external_ids = {row[0]: row[1] for row in rows}
                parts = []
                for doc_id, title, text, meta in connection.execute(texts, {"ids": stale}).all():
                    folded = dict(_json(meta) or {})
                    if title and "title" not in folded:
                        folded["title"] = title
                    parts.append((doc_id, title, meta, ExportDocument(external_ids[doc_id], text, folded, text_sha256(text), True, [])))
                built = {part[0]: line for part, line in zip(parts, store.complete_plain(parts), strict=True)}
            lines = []
            for doc_id, _external_id, good, line in rows:
                if good:
                    lines.append(line)
                elif doc_id in built:
                    lines.append(built[doc_id])
            counts = SplitCounts(records=len(lines), documents=len(lines), layers={"document": len(lines)} if lines else {})
            yield lines, counts
    finally:
        stream.close()
        store.close()


def _read_batch(
    connection: Any,
    ids: list[int],
    page: list[tuple[int, str]],
    reader: _LayerReader | None,
    store: LineStore | None,
    texts: Any,
    plain: bool,
) -> list[ExportDocument]:
    """Return the export documents ``ids`` of ``page`` (``(document id, external id)`` in export order) with their layers.

    With a store, a document whose lines are all good (its plain line too,
    when ``plain``) is given as those lines alone, and its text is not read.
    """
    layers = reader.read(ids) if reader is not None else {}
    plain_lines: dict[int, str] = {}
    if store is not None and plain:
        plain_lines = {doc_id: line for doc_id, good, line in connection.execute(store.plain_lines, {"ids": ids}).all() if good}
    if store is None:
        docs = {row[0]: row for row in connection.execute(texts, {"ids": ids}).all()}
    else:
        # The texts only of the documents with a line that is not stored.
        wanting = [
            doc_id for doc_id in ids
            if (plain and doc_id not in plain_lines) or any(item.line is None for item in layers.get(doc_id, ()))
        ]
        docs = {row[0]: row for row in connection.execute(texts, {"ids": wanting}).all()} if wanting else {}
    batch = []
    built_plain: list[tuple[int, str | None, str | None, ExportDocument]] = []
    for doc_id, external_id in page:
        if doc_id not in docs:
            if store is not None and (doc_id in layers or doc_id in plain_lines):  # every line stored: nothing else is needed
                batch.append(ExportDocument(external_id, "", {}, "", plain, layers.get(doc_id, []), plain_lines.get(doc_id)))
            continue  # not in the split, or deleted since
        _id, title, text, meta_text = docs[doc_id]
        meta = dict(_json(meta_text) or {})
        if title and "title" not in meta:
            meta["title"] = title
        document = ExportDocument(external_id, text, meta, text_sha256(text), plain, layers.get(doc_id, []), plain_lines.get(doc_id))
        if store is not None and plain and document.plain_line is None:
            built_plain.append((doc_id, title, meta_text, document))
        batch.append(document)
    if store is not None:
        store.complete(batch)
        if built_plain:
            for (*_parts, document), line in zip(built_plain, store.complete_plain(built_plain), strict=True):
                document.plain_line = line
    return batch


#: The formats whose records a project keeps ready unless it says otherwise (:func:`ready_formats`).
DEFAULT_READY_FORMATS = ("jsonl",)


def ready_format_choices() -> list[str]:
    """Return the formats whose records can be kept ready: those an export stores (all but spaCy's)."""
    return [name for name, writer in WRITERS.items() if _stores_records(writer)]


def ready_formats(project: Project) -> list[str]:
    """Return the formats whose records are stored as ``project``'s layers change (:func:`refresh_stored_lines`)."""
    value = (project.settings or {}).get("ready_formats")
    if not isinstance(value, list):
        return list(DEFAULT_READY_FORMATS)
    return [name for name in ready_format_choices() if name in value]


def set_ready_formats(session: Session, project: Project, formats: Any) -> int:
    """Set the formats whose records ``project`` keeps ready; return how many layers' records are to be built for it.

    A format added to them has its records built for every layer an export
    writes once the transaction commits (:func:`note_changed_layers`; those
    already stored and good are left alone), so the next export in it is a
    copy too.

    :param formats: a list of format names, or one string of them separated by commas (``none``: no format).
    :raise InvalidInput: not a list of names, or a format whose records are not stored (spaCy's).
    """
    if isinstance(formats, str):
        formats = [] if formats.strip().lower() in ("", "none") else [name.strip() for name in formats.split(",")]
    choices = ready_format_choices()
    if not isinstance(formats, list) or not all(isinstance(name, str) for name in formats):
        raise InvalidInput(f"ready_formats must be a list of format names from {', '.join(choices)}")
    for name in formats:
        if name not in choices:
            raise InvalidInput(f"the {name!r} format cannot be kept ready for export (choose from {', '.join(choices)}, or none)")
    before = ready_formats(project)
    chosen = [name for name in choices if name in formats]
    project.settings = {**(project.settings or {}), "ready_formats": chosen}
    if set(chosen) <= set(before):
        return 0
    layers = list(session.scalars(
        select(AnnotationSet.id).join(Document, Document.id == AnnotationSet.document_id)
        .where(Document.project_id == project.id, *_set_filter("all"))
    ))
    note_changed_layers(session, layers)
    return len(layers)


#: The key in a session's ``info`` of the layers its transaction changed (:func:`note_changed_layers`).
CHANGED_LAYERS = "workbench.changed_layers"


def note_changed_layers(session: Session, set_ids: Iterable[int]) -> None:
    """Note layers ``session``'s transaction changed, for :func:`refresh_stored_lines` once it commits.

    ``workbench.records_keeper`` notes the layers of the ``Change`` rows a
    flush writes itself; an import, which writes its rows without the ORM,
    names its layers here.
    """
    session.info.setdefault(CHANGED_LAYERS, set()).update(set_ids)


def refresh_stored_lines(
    session: Session, set_ids: Iterable[int], stop: Callable[[], bool] | None = None
) -> int:
    """Build and store the records of these layers, in each format their project keeps ready, that are missing or stale; return how many were built.

    What keeps a project's exports in its :func:`ready_formats` (JSONL
    unless it says otherwise) a copy of stored records after its layers
    change (``workbench.records_keeper`` calls it after each commit that
    changed layers): the records are built exactly as an export builds them
    (:func:`_read_batch` with a :class:`LineStore`), a batch of documents
    at a time, with the documents' own records for a format of one entry
    per document (Label Studio's tasks); a layer no export writes (a gold
    layer not yet adjudicated, a new layer) is skipped, and a record still
    good is left as it is. Only a saving, like the store itself: what it
    leaves undone the next export builds.

    :param stop: asked between batches; when it returns true, stop there.
    """
    ids = sorted(set(set_ids))
    connection = session.connection()
    documents: dict[int, dict[int, str]] = {}  # project id -> {document id: external id}
    their_documents = (
        select(AnnotationSet.document_id, Document.external_id, Document.project_id)
        .join(Document, Document.id == AnnotationSet.document_id)
        .where(_in_ids(session, AnnotationSet.id), *_set_filter("all"))
    )
    for start in range(0, len(ids), BATCH):
        for doc_id, external_id, project_id in connection.execute(their_documents, {"ids": ids[start : start + BATCH]}):
            documents.setdefault(project_id, {})[doc_id] = external_id
    built = 0
    texts = _texts(session)
    for project_id, pages in sorted(documents.items()):
        project = session.get(Project, project_id)
        if project is None:
            continue
        page = sorted(pages.items())
        for fmt in ready_formats(project):
            store = LineStore(session, project, fmt)
            if not store.enabled:
                return built
            reader = _LayerReader(session, "all", store)
            try:
                for start in range(0, len(page), BATCH):
                    if stop is not None and stop():
                        return built
                    part = page[start : start + BATCH]
                    batch = _read_batch(connection, [doc_id for doc_id, _e in part], part, reader, store, texts, store.tasks is not None)
                    built += sum(1 for document in batch for item in document.layers if item.made_of is not None)
                    if not store.enabled:  # the database is busy or read-only: leave the rest to the next export
                        return built
            finally:
                store.close()
    return built


def _texts(session: Session) -> Any:
    """Select the title, text and stored meta of the documents ``ids``."""
    return select(Document.id, Document.title, Document.text, _raw(Document.meta)).where(_in_ids(session, Document.id))


def _ordered_ids(session: Session, project: Project, layer: str) -> Any:
    """Select ``(document id, external id)`` of the documents an export of ``layer`` writes, in code-point order of the ids.

    Read as a stream (one query, fetched a batch at a time), so only one
    batch of ids is in memory however many documents there are. SQLite
    compares text as UTF-8 bytes and PostgreSQL's ``"C"`` collation does
    too: both are code-point order, the order Python sorts strings in.
    A layer export reads only the documents that have that layer.
    """
    key = _export_key(session)
    query = select(Document.id, Document.external_id).where(Document.project_id == project.id).order_by(key)
    if layer not in ("documents", "all"):
        query = query.where(
            select(AnnotationSet.id).where(AnnotationSet.document_id == Document.id, *_set_filter(layer)).exists()
        )
    return query


def _export_key(session: Session) -> Any:
    """Return the column exports are ordered by: the external id, compared by code point on every database.

    SQLite compares text as UTF-8 bytes and PostgreSQL's ``"C"`` collation
    does too (migration 0008 indexes it): both are the order Python sorts strings in.
    """
    key: Any = Document.external_id
    return key.collate("C") if session.get_bind().dialect.name == "postgresql" else key


def _in_ids(session: Session, column: Any) -> Any:
    """Return the clause ``column`` is one of the parameter ``ids`` (the document ids of a batch).

    PostgreSQL takes them as one array (``= ANY``): one parameter, one
    statement text its driver prepares once, instead of ``IN`` with a
    parameter per id.
    """
    if session.get_bind().dialect.name == "postgresql":

        return column == any_(bindparam("ids", type_=ARRAY(Integer)))
    return column.in_(bindparam("ids", expanding=True))


def _raw(column: Any) -> Any:
    """Select a JSON column as its text (as stored), decoded by :func:`_json` only where not empty.

    PostgreSQL's driver would decode every value itself, ``{}`` and ``null`` too.
    """
    return cast(column, Text)


def _json(value: Any) -> Any:
    """Decode a JSON value selected through :func:`_raw` (None stays None)."""
    if not isinstance(value, str):
        return value
    if value in ("{}", "null"):
        return {} if value == "{}" else None
    return json.loads(value)


class _LayerReader:
    """Reads the layers of a batch of documents, with the statements built once per export.

    With a :class:`LineStore`, a layer whose stored line is still good is read
    as that line alone; only the others' items are read.
    """

    def __init__(self, session: Session, layer: str, store: LineStore | None = None) -> None:
        """Prepare the statements reading the layers of ``layer`` on a batch of documents (parameter ``ids``)."""
        self.session = session
        self.store = store
        self.names: dict[int, str] = {}
        chosen = (_in_ids(session, AnnotationSet.document_id), *_set_filter(layer))
        columns = (
            AnnotationSet.id, AnnotationSet.document_id, AnnotationSet.kind, AnnotationSet.user_id,
            AnnotationSet.model_name, AnnotationSet.owner_key, AnnotationSet.status, AnnotationSet.note,
        )
        if store is None:
            self.sets = select(*columns).where(*chosen)
            items_of = chosen
        else:
            # Each layer with its stored line, whether that line is still good, and what a line built now is made of.
            line = ExportLine
            self.sets = (
                select(*columns, User.username, store.good(), line.line, line.labels, line.relations,
                       line.attributions, AnnotationSet.version, Document.external_id, Document.title, _raw(Document.meta),
                       line.problems)
                .join(Document, Document.id == AnnotationSet.document_id)
                .outerjoin(User, User.id == AnnotationSet.user_id)
                .outerjoin(line, store.on_layer())
                .where(*chosen)
            )
            # The items of the layers whose line is built afresh: chosen by layer.
            items_of = (_in_ids(session, AnnotationSet.id),)

        def rows(*columns: Any, order: Any = None) -> Any:
            """Select ``columns`` of the rows of the chosen layers (one query for the whole batch)."""
            table = columns[0].class_
            query = select(*columns).join(AnnotationSet, AnnotationSet.id == table.set_id).where(*items_of)
            return query.order_by(order) if order is not None else query

        self.spans = rows(
            Span.id, Span.set_id, Span.uid, Span.start, Span.end, Span.label, _raw(Span.attrs), _raw(Span.provenance), Span.note
        )
        self.relations = rows(
            Relation.id, Relation.set_id, Relation.uid, Relation.type, Relation.head_id, Relation.tail_id,
            _raw(Relation.attrs), _raw(Relation.provenance), order=Relation.id,
        )
        self.attributions = rows(
            Attribution.id, Attribution.set_id, Attribution.uid, Attribution.source_id, Attribution.cue_id,
            _raw(Attribution.attrs), _raw(Attribution.provenance), Attribution.parent_id, Attribution.note,
            order=Attribution.id,
        )
        self.content = (
            select(AttributionContent.attribution_id, AttributionContent.span_id)
            .join(Attribution, Attribution.id == AttributionContent.attribution_id)
            .join(AnnotationSet, AnnotationSet.id == Attribution.set_id)
            .where(*items_of)
            .order_by(AttributionContent.attribution_id, AttributionContent.position, AttributionContent.id)
        )

    def read(self, ids: list[int]) -> dict[int, list[ExportLayer]]:
        """Return, per document id of ``ids``, its layers in order (gold, annotators, models).

        Reading with a :class:`LineStore`, a layer whose stored line is good
        comes as that line (``ExportLayer.line``); the others come with their
        items and what their line is made of (``ExportLayer.made_of``).
        """
        connection = self.session.connection()
        sets = connection.execute(self.sets, {"ids": ids}).all()
        if not sets:
            return {}
        store = self.store
        names = self.names
        if store is None:
            missing = sorted({row[3] for row in sets if row[3] is not None and row[3] not in names})
            if missing:
                names.update(connection.execute(select(User.id, User.username).where(User.id.in_(missing))).all())
        out: dict[int, list[tuple[tuple[int, str], ExportLayer]]] = {}
        built: list[tuple[int, int, tuple[Any, ...], dict[str, Any] | None]] = []  # (set id, document id, its parts, made of)
        for row in sets:
            set_id, doc_id, kind, user_id, model_name, owner_key, status, layer_note = row[:8]
            username = row[8] if store is not None else names.get(user_id) if user_id is not None else None
            who = _who(kind, user_id, username, model_name, owner_key)
            made_of = None
            if store is not None:
                if row[9]:
                    labels = row[11]
                    item = ExportLayer(
                        kind, who, status, layer_note or "", [], [], [],
                        line=row[10], tally=(labels.split("\n") if labels else [], row[12], row[13]),
                        problems=row[18].split("\n") if row[18] else None,
                    )
                    out.setdefault(doc_id, []).append(((_KIND_ORDER[kind], who or ""), item))
                    continue
                made_of = {
                    "set_id": set_id, "code": store.code, "version": row[14], "status": status, "note": layer_note,
                    "username": row[8], "external_id": row[15], "title": row[16], "meta": row[17],
                }
            built.append((set_id, doc_id, (kind, who, status, layer_note), made_of))
        if built:
            items = self._items([set_id for set_id, *_rest in built] if store is not None else ids)
            for set_id, doc_id, (kind, who, status, layer_note), made_of in built:
                spans, relations, attributions = items.get(set_id, ([], [], []))
                item = ExportLayer(
                    kind, who, status, layer_note or "", sorted(spans, key=_span_order), relations, attributions,
                    made_of=made_of,
                )
                out.setdefault(doc_id, []).append(((_KIND_ORDER[kind], who or ""), item))
        return {doc_id: [item for _key, item in sorted(items_, key=_first)] for doc_id, items_ in out.items()}

    def _items(self, ids: list[int]) -> dict[int, tuple[list[Any], list[Any], list[Any]]]:
        """Return, per layer, its spans, relations and attributions as export tuples.

        :param ids: the document ids of the batch, or (reading with a store) the layers' ids.
        """
        connection = self.session.connection()
        bounds = {"ids": ids}
        spans: dict[int, list[tuple[Any, ...]]] = {}
        uid_of: dict[int, str] = {}
        for span_id, set_id, uid, start, end, label, attrs, prov, note in connection.execute(self.spans, bounds).all():
            uid_of[span_id] = uid
            spans.setdefault(set_id, []).append(
                (uid, start, end, label, {} if attrs == "{}" else _json(attrs) or {}, None if prov is None or prov == "null" else _json(prov), note)
            )
        relations: dict[int, list[tuple[Any, ...]]] = {}
        for _rid, set_id, uid, rtype, head, tail, attrs, prov in connection.execute(self.relations, bounds).all():
            relations.setdefault(set_id, []).append(
                (uid, rtype, uid_of[head], uid_of[tail], {} if attrs == "{}" else _json(attrs) or {}, None if prov is None or prov == "null" else _json(prov))
            )
        attribution_rows = connection.execute(self.attributions, bounds).all()
        content: dict[int, list[str]] = {}
        if attribution_rows:
            for att_id, span_id in connection.execute(self.content, bounds).all():
                content.setdefault(att_id, []).append(uid_of[span_id])
        attribution_uid = {row[0]: row[2] for row in attribution_rows}
        attributions: dict[int, list[tuple[Any, ...]]] = {}
        for aid, set_id, uid, source, cue, attrs, prov, parent, note in attribution_rows:
            attributions.setdefault(set_id, []).append((
                uid,
                uid_of[source] if source is not None else None,
                uid_of[cue] if cue is not None else None,
                content.get(aid, []),
                {} if attrs == "{}" else _json(attrs) or {},
                None if prov is None or prov == "null" else _json(prov),
                attribution_uid[parent] if parent is not None else None,
                note,
            ))
        return {
            set_id: (spans.get(set_id, []), relations.get(set_id, []), attributions.get(set_id, []))
            for set_id in {*spans, *relations, *attributions}
        }


class LineStore:
    """The layers' JSONL lines an export stored (table ``export_lines``), for the next export to copy.

    A stored line is good while what it was made of is unchanged: the layer's
    items (whose every change bumps the layer's version), its version,
    status and note, its annotator's user name, its document's external id,
    title and meta (the text never changes), the schema and the code that
    writes lines (:attr:`code`); the database compares them as it reads the
    layers. An export copies good lines, which is what lets a repeated export
    run at the speed of the disk, and builds the others from their items and
    stores them (:meth:`complete`), each batch in a short transaction of its
    own on another connection. Storing is only a saving: when the database is
    busy or read-only the export goes on and stores nothing more.
    """

    #: How long storing a batch of lines waits for the database's write lock (ms).
    WAIT_MS = 250

    def __init__(self, session: Session, project: Project, fmt: str = "jsonl") -> None:
        """Prepare the records of ``project`` in ``fmt`` (its schema, this code) and the statement storing them.

        :param fmt: a format whose records are stored (JSONL, or a writer with ``pieces``, ``tasks`` or ``archive``).
        """
        schema = project_service.project_schema(project)
        schema_ref = {"name": schema.name, "version": schema.version}
        self.schema = schema
        self.schema_ref = schema_ref
        self.fmt = fmt
        self.encoder = Encoder(schema_ref)
        writer = WRITERS[fmt]
        #: A format of entries per document (Label Studio): its records come grouped by document.
        self.tasks = writer.tasks
        # What makes a layer's record and a document's plain record from their dicts (JSONL: None, the encoder).
        self._layer: Callable[[dict[str, Any], ExportContext], str] | None = None
        self._document: Callable[[dict[str, Any], ExportContext], str] | None = None
        if writer.pieces is not None:
            self._layer = self._document = writer.pieces.record
        elif writer.archive is not None:
            self._layer = self._document = writer.archive.part
        elif writer.tasks is not None:
            self._layer, self._document = writer.tasks.layer, writer.tasks.document
        elif fmt != "jsonl":
            raise InvalidInput(f"the {fmt} format has no stored records")
        self.code = hashlib.blake2b(
            f"{FORMAT_VERSION}\x1f{fmt}\x1f{json.dumps(schema_ref, sort_keys=True)}\x1f{_code_digest(fmt)}".encode(), digest_size=16
        ).hexdigest()
        self.engine = session.get_bind()
        url = self.engine.url
        self.sqlite = url.get_backend_name() == "sqlite"
        self.enabled = not (self.sqlite and url.database in (None, "", ":memory:"))
        self._inserts: dict[Any, tuple[str, Any]] = {}
        #: The stored plain lines of the documents ``ids``, and whether each is good.
        self.plain_lines = (
            select(Document.id, self.good_plain(), ExportDocumentLine.line)
            .outerjoin(ExportDocumentLine, self.on_document())
            .where(_in_ids(session, Document.id))
        )
        # Batches of lines to store, handed to one writer thread; two at most wait (memory stays flat).
        self._queue: queue.Queue[tuple[Any, list[dict[str, Any]]] | None] = queue.Queue(maxsize=2)
        self._writer: threading.Thread | None = None

    def on_layer(self) -> Any:
        """Return the condition joining a layer (``AnnotationSet``) to its stored record in this format."""
        return (ExportLine.set_id == AnnotationSet.id) & (ExportLine.format == self.fmt)

    def on_document(self) -> Any:
        """Return the condition joining a document to its stored plain record in this format."""
        return (ExportDocumentLine.document_id == Document.id) & (ExportDocumentLine.format == self.fmt)

    def good(self) -> Any:
        """Return the SQL expression: 1 when the stored line (``ExportLine``, joined) is still good, else 0.

        The query joins the layer (``AnnotationSet``), its document and its
        annotator (``User``, outer-joined).
        """
        line = ExportLine
        return case(
            (
                (line.code == self.code) & (line.version == AnnotationSet.version)
                & (line.status == AnnotationSet.status) & line.note.is_not_distinct_from(AnnotationSet.note)
                & line.username.is_not_distinct_from(User.username) & (line.external_id == Document.external_id)
                & line.title.is_not_distinct_from(Document.title) & line.meta.is_not_distinct_from(_raw(Document.meta)),
                1,
            ),
            else_=0,
        )

    def good_plain(self) -> Any:
        """Return the SQL expression: 1 when the stored plain line (``ExportDocumentLine``, joined to ``Document``) is still good."""
        line = ExportDocumentLine
        return case(
            (
                (line.code == self.code) & (line.external_id == Document.external_id)
                & line.title.is_not_distinct_from(Document.title) & line.meta.is_not_distinct_from(_raw(Document.meta)),
                1,
            ),
            else_=0,
        )

    def complete(self, batch: list[ExportDocument]) -> None:
        """Build the lines of ``batch``'s layers that have none, and store them."""
        rows = []
        for document in batch:
            for layer in document.layers:
                if layer.line is not None:
                    continue
                if self._layer is None:
                    layer.line = self.encoder.layer_line(document, layer)
                else:
                    found = ExportContext(schema=self.schema)
                    layer.line = self._layer(layer_dict(document, layer, self.schema_ref, FORMAT_VERSION), found)
                    layer.problems = found.problems
                if layer.made_of is not None:
                    rows.append({
                        **layer.made_of, "format": self.fmt, "line": layer.line, "labels": "\n".join(span[3] for span in layer.spans),
                        "relations": len(layer.relations), "attributions": len(layer.attributions),
                        "problems": "\n".join(layer.problems) if layer.problems else None,
                    })
        self._hand_over(ExportLine, rows)

    def complete_plain(self, parts: list[tuple[int, str | None, str | None, ExportDocument]]) -> list[str]:
        """Build the plain lines of ``parts`` (document id, title and meta as stored, the export document), store them and return them."""
        if self._document is None:
            lines = [self.encoder.plain_line(document) for *_parts, document in parts]
        else:  # a plain record has no span: nothing a format could fail to hold
            make = self._document
            lines = [make(plain_dict(document, self.schema_ref, FORMAT_VERSION), ExportContext(schema=self.schema))
                     for *_parts, document in parts]
        self._hand_over(ExportDocumentLine, [
            {"document_id": doc_id, "format": self.fmt, "code": self.code, "external_id": document.external_id, "title": title,
             "meta": meta, "line": line}
            for (doc_id, title, meta, document), line in zip(parts, lines, strict=True)
        ])
        return lines

    def _hand_over(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """Store ``rows`` of ``table`` now (SQLite), or give them to the writer thread (started on the first).

        On SQLite a thread only contends with the export for the GIL: first
        exports of 10,000 documents were 0-25% slower with it (JSONL, CoNLL,
        Label Studio, doccano; docs/benchmarks.md). PostgreSQL's server works
        beside the export while the thread waits for it.
        """
        if rows and self.enabled and self.sqlite:
            self._store(table, rows)
        elif rows and self.enabled:
            if self._writer is None:
                self._writer = threading.Thread(target=self._drain, name="export-lines", daemon=True)
                self._writer.start()
            self._queue.put((table, rows))

    def close(self) -> None:
        """Wait until every line handed over is stored (or storing was given up)."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None

    def _drain(self) -> None:
        """Store the batches of lines handed over, in order, until told to stop (in a thread of its own).

        The export goes on building while the database writes: on SQLite
        most of a store is waiting for the disk.
        """
        while (item := self._queue.get()) is not None:
            if self.enabled:
                self._store(*item)

    def _store(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """Store ``rows`` of ``table`` (replacing the lines they replace) in a transaction of their own; give up on a busy database."""
        if table not in self._inserts:
            # Compiled once and run through the driver's executemany: SQLAlchemy's
            # handling of every row's parameters cost more than SQLite's insert.
            keys = list(table.__table__.primary_key.columns)
            statement = (sqlite_insert if self.sqlite else postgresql_insert)(table)
            statement = statement.on_conflict_do_update(
                index_elements=keys,
                set_={column.name: statement.excluded[column.name] for column in table.__table__.columns if column not in keys},
            )
            compiled = statement.compile(dialect=self.engine.dialect)
            self._inserts[table] = (str(compiled), compiled.positiontup)
        sql, order = self._inserts[table]
        parameters = [tuple(row[name] for name in order) for row in rows] if order else rows
        try:
            # A transaction of its own on another connection, never the caller's (which stays the caller's to commit).
            with self.engine.begin() as connection:
                if self.sqlite:
                    connection.exec_driver_sql(f"PRAGMA busy_timeout = {self.WAIT_MS}")
                else:
                    connection.exec_driver_sql(f"SET LOCAL lock_timeout = '{self.WAIT_MS}ms'")
                try:
                    connection.exec_driver_sql(sql, parameters)
                finally:
                    if self.sqlite:  # the pool's next user waits as long as ever
                        connection.exec_driver_sql("PRAGMA busy_timeout = 30000")
        except DBAPIError as exc:
            # A read-only or busy database: the export itself is not affected.
            self.enabled = False
            log.warning("export: stopped storing records for the next export (%s)", str(exc.orig).splitlines()[0] if exc.orig else exc)


_code: dict[str, str] = {}


def _code_digest(fmt: str = "jsonl") -> str:
    """Return a digest of the code that shapes an export's records in ``fmt`` and of the migrations' head (a stored record of other code is never copied)."""
    if fmt not in _code:
        digest = hashlib.blake2b(digest_size=16)
        modules = [Encoder.__module__, ExportLayer.__module__, __name__]
        writer = WRITERS.get(fmt)
        made_by = writer and (writer.pieces and writer.pieces.record or writer.tasks and writer.tasks.layer
                              or writer.archive and writer.archive.part)
        if made_by:
            modules.append(made_by.__module__)
        if writer is not None and writer.archive is not None:
            modules.append("workbench.formats._zipwriter")  # its compression is in the stored parts
        for module in modules:
            digest.update(Path(sys.modules[module].__file__ or "").read_bytes())
        # and the database's schema: a migration may rewrite what lines are made of
        digest.update(HEAD_REVISION.encode())
        _code[fmt] = digest.hexdigest()
    return _code[fmt]


def _who(kind: str, user_id: int | None, username: str | None, model_name: str | None, owner_key: str) -> str | None:
    """Return a layer's ``annotator``: the annotator's user name, the model's name, or None (gold)."""
    if kind == "annotator":
        return username if username is not None and user_id is not None else owner_key
    if kind == "prediction":
        return model_name or owner_key.split(":", 1)[-1]
    return None


def _span_order(span: tuple[Any, ...]) -> tuple[Any, ...]:
    """Sort key of an export span: start, end, label, id."""
    return (span[1], span[2], span[3], span[0])


def _first(pair: tuple[Any, Any]) -> Any:
    """Sort key: the first of a pair."""
    return pair[0]


def plan_split(
    session: Session, project: Project, spec: str, seed: int, group_by: str | None = None
) -> dict[str, set[str]]:
    """Return, per split name, the external ids that go there (deterministic for a given seed).

    :param group_by: a meta key: documents sharing its value go to one split
        (a document without it is a group of its own).
    :raise InvalidInput: a malformed split spec.
    """
    try:
        parts = parse_split(spec)
    except ValueError as exc:
        raise InvalidInput(f"--split: {exc}") from None
    if group_by:
        groups: dict[str, str] = {}
        for external_id, meta in session.execute(
            select(Document.external_id, Document.meta).where(Document.project_id == project.id)
        ):
            value = (meta or {}).get(group_by)
            groups[external_id] = f"value:{value}" if value not in (None, "") else f"document:{external_id}"
        assignment = assign_grouped_splits(groups, parts, seed)
    else:
        assignment = assign_splits(document_external_ids(session, project), parts, seed)
    plan: dict[str, set[str]] = {name: set() for name, _ in parts}
    for external_id, name in assignment.items():
        plan[name].add(external_id)
    return plan


def export_writers() -> dict[str, Writer]:
    """Return the export formats: the pure writers, and spaCy's DocBin (written only where spaCy is installed)."""
    from workbench import spacy_docbin

    return {**WRITERS, "spacy": Writer(spacy_docbin.write, ".spacy", "application/octet-stream", binary=True)}


#: Every export format, whether or not its optional library is installed.
FORMATS = ("jsonl", "conll", "spacy", "brat", "labelstudio", "doccano")


def available_formats() -> list[str]:
    """Return the export formats that work on this installation (spaCy's only with spaCy installed)."""
    from workbench import spacy_docbin

    return [f for f in FORMATS if f != "spacy" or spacy_docbin.available()]


def require_writer(fmt: str) -> Writer:
    """Return the writer of ``fmt``.

    :raise InvalidInput: an unknown format, or spaCy's without spaCy (saying how to get it).
    """
    from workbench import spacy_docbin

    writers = export_writers()
    if fmt not in writers:
        raise InvalidInput(f"unknown export format {fmt!r} (use {', '.join(FORMATS)})")
    if fmt == "spacy" and not spacy_docbin.available():
        raise InvalidInput(f"the spacy format needs spaCy, which is not installed: {spacy_docbin.INSTALL_HINT}")
    return writers[fmt]


def require_export(layer: str, fmt: str) -> Writer:
    """Return the writer of ``fmt`` after checking ``layer`` (what a download or an export job is asked for).

    :raise InvalidInput: an unknown layer or format, or spaCy's without spaCy.
    """
    if layer not in LAYERS:
        raise InvalidInput(f"layer must be one of {', '.join(LAYERS)}")
    return require_writer(fmt)


def write_export(
    session: Session,
    project: Project,
    layer: str,
    fmt: str,
    fh: IO[Any],
    only: Iterable[str] | None = None,
    context: ExportContext | None = None,
) -> int:
    """Write the records of ``layer`` in format ``fmt`` to ``fh``; return how many were written.

    ``fh`` is a binary file (any format) or a text file (the text formats).

    :raise InvalidInput: an unknown format or layer, or a binary format to a text file.
    """
    writer = require_writer(fmt)
    if writer.binary and isinstance(fh, io.TextIOBase):
        raise InvalidInput(f"the {fmt} format writes a binary file; give a file name, not standard output")
    context = context or ExportContext(schema=project_service.project_schema(project))
    return _write(session, project, layer, writer, fh, only, context)


def _write(
    session: Session,
    project: Project,
    layer: str,
    writer: Writer,
    fh: IO[Any],
    only: Iterable[str] | None,
    context: ExportContext,
    counts: SplitCounts | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write an export with ``writer`` to ``fh`` (binary, or text for a text format); return how many records.

    A writer with ``write_documents`` (JSONL) writes straight from the
    documents read; the others get the records of :func:`export_records`.

    :param counts: counted as the documents are read.
    :param progress: called with the number of records read, a batch at a time.
    """
    if _from_stored_lines(writer, layer):
        return _write_stored(session, project, layer, fh, only, counts or SplitCounts(), progress, _format_name(writer) or "jsonl",
                             context)
    batches = export_documents(session, project, layer, only, lines=writer.write_documents is not None)
    if counts is not None or progress is not None:
        batches = (counts or SplitCounts()).count(batches, progress)
    if writer.write_documents is not None:
        write, source = writer.write_documents, batches
    else:
        schema_ref = {"name": context.schema.name, "version": context.schema.version}
        write = writer.write
        source = (record for batch in batches for document in batch for record in export_dicts(document, schema_ref, FORMAT_VERSION))
    if writer.binary or isinstance(fh, io.TextIOBase):
        return write(source, fh, context)
    text = io.TextIOWrapper(fh, encoding="utf-8", newline="\n")
    try:
        return write(source, text, context)
    finally:
        text.flush()
        text.detach()


def _from_stored_lines(writer: Writer, layer: str) -> bool:
    """Whether an export of ``layer`` with ``writer`` is written from the stored records (:func:`stored_line_batches`)."""
    return layer in STORED_LAYERS and _stores_records(writer)


def _stores_records(writer: Writer) -> bool:
    """Whether ``writer``'s format has its records stored: JSONL, CoNLL, doccano, Label Studio, brat (not spaCy's DocBin)."""
    jsonl = writer.write_documents is WRITERS["jsonl"].write_documents
    return jsonl or ((writer.pieces or writer.tasks or writer.archive) is not None and _format_name(writer) is not None)


def _format_name(writer: Writer) -> str | None:
    """Return the name ``writer`` is registered under (None: a writer of no registered format)."""
    return next((name for name, known in WRITERS.items() if known is writer), None)


def _write_stored(
    session: Session,
    project: Project,
    layer: str,
    fh: IO[Any],
    only: Iterable[str] | None,
    counts: SplitCounts,
    progress: Callable[[int], None] | None,
    fmt: str,
    context: ExportContext,
) -> int:
    """Write the records of ``layer`` in ``fmt`` from :func:`stored_line_batches` to ``fh``; return how many."""
    before = counts.records

    def batches() -> Iterator[list[Any]]:
        for lines, part in stored_line_batches(session, project, layer, only, None, fmt, context.problem):
            yield lines
            counts.add(part)
            if progress is not None:
                progress(counts.records)

    _write_records(fmt, batches(), fh, context)
    return counts.records - before


def _write_records(fmt: str, batches: Iterable[list[Any]], fh: IO[Any], context: ExportContext) -> None:
    """Write the file of ``fmt`` whose records come in ``batches`` as :func:`stored_line_batches` gives them.

    JSONL's are lines (joined by newlines); a ``Writer.pieces`` format's are
    its records' texts, between its head and its tail; a ``Writer.tasks``
    format's are its documents' parts, put together here in file order
    (:class:`_Entries`); a ``Writer.archive`` format's are its records'
    packed files, which its ``write`` packs into the archive. ``fh`` is
    binary, or text for a text format.
    """
    writer = WRITERS[fmt]
    if writer.archive is not None:
        writer.archive.write((part for lines in batches for part in lines), fh, context)
        return
    binary = not isinstance(fh, io.TextIOBase)

    def put(data: str) -> None:
        if data:
            fh.write(data.encode("utf-8") if binary else data)

    pieces, tasks = writer.pieces, writer.tasks
    entries = _Entries(tasks) if tasks is not None else None
    put(pieces.head(context) if pieces is not None else tasks.head if tasks is not None else "")
    for lines in batches:
        if not lines:
            continue
        if entries is not None:
            put(entries.text(lines))
        elif pieces is not None:
            put("".join(lines))
        else:
            lines.append("")
            put("\n".join(lines))
    put(pieces.tail(context) if pieces is not None else tasks.tail if tasks is not None else "")


class _Entries:
    """Puts the entries of a ``Writer.tasks`` format (Label Studio's tasks) together in file order."""

    def __init__(self, tasks: Any) -> None:
        self.tasks = tasks
        self.number = 0  # entries so far: the next one's number
        self.users: dict[str, int] = {}  # what the format numbers across the file

    def text(self, documents: list[tuple[str, list[tuple[str, str | None, str]]]]) -> str:
        """Return the entries of ``documents`` (their parts, as :func:`stored_line_batches` gives them), separated as the file needs."""
        out = []
        for document, layers in documents:
            self.number += 1
            out.append(self.tasks.entry(self.number, document, layers, self.users))
        if not out:
            return ""
        return ("" if self.number == len(out) else self.tasks.separator) + self.tasks.separator.join(out)


# -- several processes: the lines of ranges of documents built in parallel -----------------------

#: An export to a file with at least this many records to build (none stored yet: :func:`records_to_build`)
#: builds them in worker processes (one per core); fewer are done before the workers would have started.
PARALLEL_FROM = 20_000
#: Documents per task of a worker (the main process writes one task's bytes at a time, in order).
TASK = 2_000
#: Tasks in flight per worker: what memory holds at most is about (workers x this x TASK) documents' lines.
AHEAD_PER_WORKER = 2


def export_workers(session: Session, project: Project, layer: str, writer: Writer) -> int:
    """Return how many worker processes an export to a file should use (1: none, this process does it all).

    One per core for an export (any format but spaCy's) from a SQLite file with at least
    :data:`PARALLEL_FROM` records to build, when the machine has a core to spare (load average below the number of cores
    less one): on a busy machine the workers only queue behind the others
    and cost their start. Not on PostgreSQL, where two workers were 2.5 to
    3.5 times slower than one process (docs/benchmarks.md); ``workers=``
    still asks for them.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    url = session.get_bind().url
    if cores < 2 or not _stores_records(writer) or url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return 1
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > cores - 1:
        return 1
    if layer not in LAYERS:
        return 1
    documents = session.scalar(select(func.count(Document.id)).where(Document.project_id == project.id)) or 0
    if documents < PARALLEL_FROM:  # fewer records than that, whatever is stored
        return 1
    return cores if records_to_build(session, project, layer, _format_name(writer) or "jsonl") >= PARALLEL_FROM else 1


def records_to_build(session: Session, project: Project, layer: str, fmt: str) -> int:
    """Return about how many records an export of ``layer`` in ``fmt`` must build: those with no stored record.

    Stored records that are stale are not counted (telling them apart is the
    export's own query): they are few, as every change to a layer's items
    deletes its records and the keeper stores the JSONL ones again
    (``workbench.records_keeper``). Copying stored records is one process's
    work: workers would only pass the bytes along (an export of 100,000
    stored JSONL lines took 1.4-2.2 s with two workers, 0.9-1.1 s without).
    """
    missing = 0
    in_project = Document.project_id == project.id
    if layer in ("documents", "all"):
        documents = session.scalar(select(func.count(Document.id)).where(in_project)) or 0
        plain = session.scalar(
            select(func.count(ExportDocumentLine.document_id)).join(Document, Document.id == ExportDocumentLine.document_id)
            .where(in_project, ExportDocumentLine.format == fmt)
        ) or 0
        missing += documents - plain
    if layer != "documents":
        chosen = (in_project, *_set_filter(layer))
        layers = session.scalar(
            select(func.count(AnnotationSet.id)).join(Document, Document.id == AnnotationSet.document_id).where(*chosen)
        ) or 0
        stored = session.scalar(
            select(func.count(ExportLine.set_id)).join(AnnotationSet, AnnotationSet.id == ExportLine.set_id)
            .join(Document, Document.id == AnnotationSet.document_id).where(*chosen, ExportLine.format == fmt)
        ) or 0
        missing += layers - stored
    return max(missing, 0)


def _write_pooled(
    session: Session,
    project: Project,
    layer: str,
    fmt: str,
    fh: IO[bytes],
    only: set[str] | None,
    counts: SplitCounts,
    progress: Callable[[int], None] | None,
    workers: int,
    context: ExportContext | None = None,
) -> None:
    """Write an export in ``fmt`` to the binary ``fh`` with ``workers`` processes building its records.

    This process reads the document ids in order (a cheap stream) and hands
    each :data:`TASK` of them to a worker, which reads those documents on its
    own connection, builds (or copies) their records and returns them; they
    are written in the order handed out, so the file is the one a single
    process writes (:func:`_write_records`: Label Studio's tasks are put
    together here, as their numbers count across the file, and brat's zip is
    packed here from the records' compressed files). At most ``workers x``
    :data:`AHEAD_PER_WORKER` ranges are in flight, so memory stays flat. A
    worker's error stops the export (the caller's temporary file is
    removed). The problems of each range go to ``context`` in order.
    """
    context = context or ExportContext(schema=project_service.project_schema(project))
    url = _database_url(session)
    ranges = _ordered_ids(session, project, layer).execution_options(yield_per=TASK)

    def results() -> Iterator[Any]:
        """Yield the records each range's worker returns, in order, counting as they come."""
        pending: deque[Future[tuple[Any, SplitCounts, list[str]]]] = deque()

        def first() -> Any:
            payload, part, problems = pending.popleft().result()
            counts.add(part)
            context.problems.extend(problems)
            if progress is not None:
                progress(counts.records)
            return payload

        if "forkserver" in multiprocessing.get_all_start_methods():
            # Workers forked from a server process that imported this module once (and stays for the next export).
            processes = multiprocessing.get_context("forkserver")
            processes.set_forkserver_preload([__name__])
        else:
            processes = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(workers, mp_context=processes, initializer=_worker_start, initargs=(url,))
        stream = session.connection().execute(ranges)
        try:
            for page in stream.partitions():
                share = [(doc_id, external_id) for doc_id, external_id in page if only is None or external_id in only]
                if share:
                    pending.append(pool.submit(_worker_task, project.id, layer, fmt, share))
                if len(pending) >= workers * AHEAD_PER_WORKER:
                    yield first()
            while pending:
                yield first()
        finally:
            stream.close()
            pool.shutdown(wait=True, cancel_futures=True)

    _write_records(fmt, results(), fh, context)


def _database_url(session: Session) -> str:
    """Return the URL a worker connects with (the session's database, password included)."""
    return session.get_bind().url.render_as_string(hide_password=False)


_worker_engine: Any = None


def _worker_start(url: str) -> None:
    """Open a worker process's engine on the export's database."""
    global _worker_engine
    from workbench import settle_gc
    from workbench.db import make_engine

    _worker_engine = make_engine(url)
    settle_gc()  # a process of its own, for the export's life


def _worker_task(project_id: int, layer: str, fmt: str, share: list[tuple[int, str]]) -> tuple[list[Any], SplitCounts, list[str]]:
    """Return the records of ``share`` (``(document id, external id)`` in order) in ``fmt`` as :func:`stored_line_batches`
    gives them, their counts and their problems (:func:`_write_pooled` writes them)."""
    writer = require_writer(fmt)
    if layer not in LAYERS:
        raise InvalidInput(f"unknown layer {layer!r} (use {', '.join(LAYERS)})")
    if not _from_stored_lines(writer, layer):
        raise InvalidInput(f"the {fmt} format is not written by worker processes")
    counts = SplitCounts()
    records: list[Any] = []
    with Session(_worker_engine) as session:
        project = session.get(Project, project_id)
        context = ExportContext(schema=project_service.project_schema(project))
        bounds = (share[0][1], share[-1][1])
        only = [external_id for _id, external_id in share]
        for lines, part in stored_line_batches(session, project, layer, only, bounds, fmt, context.problem):
            records.extend(lines)
            counts.add(part)
    return records, counts, context.problems


# -- writing files: safe, with a manifest ----------------------------------------


@dataclass
class SplitCounts:
    """What went into one file: records, documents, spans per label, relations, attributions."""

    records: int = 0
    documents: int = 0
    spans: int = 0
    relations: int = 0
    attributions: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    layers: dict[str, int] = field(default_factory=dict)

    def count(
        self, batches: Iterable[list[ExportDocument]], progress: Callable[[int], None] | None = None
    ) -> Iterator[list[ExportDocument]]:
        """Pass batches of export documents through, counting their records (``progress`` gets the records so far)."""
        for batch in batches:
            for document in batch:
                records = len(document.layers) + document.plain
                if not records:
                    continue
                self.records += records
                self.documents += 1
                if document.plain:
                    self.layers["document"] = self.layers.get("document", 0) + 1
                for layer in document.layers:
                    self.layers[layer.kind] = self.layers.get(layer.kind, 0) + 1
                    if layer.tally is not None:  # a stored line: what its items count
                        labels, relations, attributions = layer.tally
                    else:
                        labels = [span[3] for span in layer.spans]
                        relations, attributions = len(layer.relations), len(layer.attributions)
                    self.spans += len(labels)
                    for label in labels:
                        self.labels[label] = self.labels.get(label, 0) + 1
                    self.relations += relations
                    self.attributions += attributions
            if progress is not None:
                progress(self.records)
            yield batch

    def add(self, other: SplitCounts) -> None:
        """Add the counts of the next documents (those of a worker's range)."""
        self.records += other.records
        self.documents += other.documents
        self.spans += other.spans
        self.relations += other.relations
        self.attributions += other.attributions
        for mine, theirs in ((self.labels, other.labels), (self.layers, other.layers)):
            for name, n in theirs.items():
                mine[name] = mine.get(name, 0) + n


@dataclass
class ExportResult:
    """What an export to files wrote: per file its split name, path and counts; the manifest; the problems."""

    files: list[tuple[str | None, Path, SplitCounts]]
    manifest: Path
    problems: list[str]


def manifest_path(out: Path) -> Path:
    """Return the manifest's path beside ``out`` (``data.jsonl`` → ``data.jsonl.manifest.json``; one for all its splits)."""
    return out.with_name(f"{out.name}.manifest.json")


def check_target(session: Session, path: Path, force: bool) -> None:
    """Refuse to write over the instance's database, always, and over any existing file without ``force``.

    :raise InvalidInput: with the reason.
    """
    database = session.get_bind().url.database if session.get_bind().url.get_backend_name() == "sqlite" else None
    if database and database != ":memory:":
        db_path = Path(database).resolve()
        target = path.resolve()
        same = path.exists() and db_path.exists() and os.path.samefile(path, db_path)
        if same or target == db_path or target.name.startswith(db_path.name) and target.parent == db_path.parent:
            raise InvalidInput(f"{path}: that is the workbench's database (or its journal); choose another file")
    if path.is_dir():
        raise InvalidInput(f"{path}: is a folder; give a file name")
    if path.exists() and not force:
        raise InvalidInput(f"{path}: already exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise InvalidInput(f"{path.parent}: no such folder")


def export_to_path(
    session: Session,
    project: Project,
    out: Path,
    layer: str = "gold",
    fmt: str = "jsonl",
    split: str | None = None,
    seed: int = 0,
    group_by: str | None = None,
    force: bool = False,
    command: str = "",
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> ExportResult:
    """Write ``layer`` in ``fmt`` to ``out`` (one file per split), and a manifest beside it.

    Each file is written to a temporary file in the same folder and renamed
    into place, so an interrupted export leaves no half file and nothing
    existing is touched before the new file is complete.

    :param progress: called with the number of records written so far, now and then.
    :param workers: processes building the records (any format but spaCy's); None: as :func:`export_workers` says.
    :raise InvalidInput: a bad format, layer or split, or a target that is the
        database or exists (without ``force``).
    """
    if layer not in LAYERS:
        raise InvalidInput(f"unknown layer {layer!r} (use {', '.join(LAYERS)})")
    writer = require_writer(fmt)
    if group_by and not split:
        raise InvalidInput("--group-by needs --split")
    plan: dict[str | None, set[str] | None]
    if split:
        plan = dict(plan_split(session, project, split, seed, group_by))
        targets = {name: Path(split_path(str(out), name)) for name in plan}
    else:
        plan = {None: None}
        targets = {None: out}
    manifest = manifest_path(out)
    for path in [*targets.values(), manifest]:
        check_target(session, path, force)
    schema = project_service.project_schema(project)
    context = ExportContext(schema=schema)
    files: list[tuple[str | None, Path, SplitCounts]] = []
    done = 0
    pool_size = workers if workers is not None else export_workers(session, project, layer, writer)
    if not _stores_records(writer):
        pool_size = 1
    for name, ids in plan.items():
        counts = SplitCounts()
        before = done

        def counted(records: int, before: int = before) -> None:
            nonlocal done
            done = before + records
            if progress is not None:
                progress(done)

        def write(fh: IO[bytes], ids: set[str] | None = ids, counts: SplitCounts = counts, counted: Any = counted) -> None:
            if pool_size > 1:
                _write_pooled(session, project, layer, fmt, fh, ids, counts, counted, pool_size, context)
            else:
                _write(session, project, layer, writer, fh, ids, context, counts, counted)

        atomic_write(targets[name], write)
        files.append((name, targets[name], counts))
    if progress is not None:
        progress(done)
    body = build_manifest(session, project, layer, fmt, split, seed, group_by, command, files, context.problems)
    atomic_write(manifest, lambda fh: fh.write((json.dumps(body, ensure_ascii=False, indent=2) + "\n").encode("utf-8")))
    return ExportResult(files, manifest, context.problems)


def atomic_write(path: Path, write: Callable[[IO[bytes]], Any]) -> None:
    """Write ``path`` through a temporary file in its folder, renamed into place when complete."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def file_sha256(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def build_manifest(
    session: Session,
    project: Project,
    layer: str,
    fmt: str,
    split: str | None,
    seed: int,
    group_by: str | None,
    command: str,
    files: list[tuple[str | None, Path, SplitCounts]],
    problems: list[str],
) -> dict[str, Any]:
    """Return the manifest of an export: what was written, from what, by what, with checksums."""
    schema = project_service.project_schema(project)
    cached = session.get(AgreementCache, project.id)
    agreement = None
    if cached is not None:
        result = cached.result or {}
        agreement = {
            "computed_at": cached.computed_at.isoformat() if cached.computed_at else None,
            **{key: result[key] for key in ("annotators", "documents", "span_f1", "relations_f1", "attributions_f1") if key in result},
        }
    try:
        version = importlib.metadata.version("workbench")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "workbench_version": version,
        "created_at": utcnow().isoformat(),
        "command": command,
        "project": project.name,
        "layer": layer,
        "format": fmt,
        "split": split,
        "seed": seed if split else None,
        "group_by": group_by,
        "schema": schema.to_dict(),
        "guidelines": {
            "version": (project.settings or {}).get("guidelines_version"),
            "sha256": text_sha256(project.guidelines or ""),
        },
        "agreement": agreement,
        "files": [
            {
                "split": name,
                "path": path.name,
                "bytes": path.stat().st_size,
                "sha256": file_sha256(path),
                "records": counts.records,
                "documents": counts.documents,
                "layers": dict(sorted(counts.layers.items())),
                "spans": counts.spans,
                "labels": dict(sorted(counts.labels.items())),
                "relations": counts.relations,
                "attributions": counts.attributions,
            }
            for name, path, counts in files
        ],
        "problems": problems,
    }


def count_records(session: Session, project: Project, layer: str) -> int:
    """Return how many records an export of ``layer`` writes (for a progress bar)."""
    documents = session.scalar(select(func.count(Document.id)).where(Document.project_id == project.id)) or 0
    if layer == "documents":
        return documents
    sets = (
        session.scalar(
            select(func.count(AnnotationSet.id))
            .join(Document, Document.id == AnnotationSet.document_id)
            .where(Document.project_id == project.id, *_set_filter(layer))
        )
        or 0
    )
    return sets + (documents if layer == "all" else 0)
