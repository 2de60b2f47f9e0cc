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
import multiprocessing
import os
import tempfile
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
from sqlalchemy import any_
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import cast
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from workbench.domain.offsets import text_sha256
from workbench.errors import InvalidInput
from workbench.formats import WRITERS
from workbench.formats import ExportContext
from workbench.formats import Writer
from workbench.formats.jsonl import FORMAT_VERSION
from workbench.formats.records import ExportDocument
from workbench.formats.records import ExportLayer
from workbench.formats.records import export_dicts
from workbench.formats.split import assign_grouped_splits
from workbench.formats.split import assign_splits
from workbench.formats.split import parse_split
from workbench.formats.split import split_path
from workbench.models import AgreementCache
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Document
from workbench.models import Project
from workbench.models import Relation
from workbench.models import Span
from workbench.models import User
from workbench.models import utcnow
from workbench.services import projects as project_service

#: The ``--layer`` choices.
LAYERS = ("gold", "annotators", "predictions", "documents", "all")
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
) -> Iterator[list[ExportDocument]]:
    """Yield the documents of an export of ``layer`` with their layers, a batch at a time, in export order.

    What :func:`export_records` makes its records of (and the JSONL writer its
    lines). The ids come as one stream in export order (:func:`_ordered_ids`);
    each batch of them is one round of queries, so nothing grows with the project.

    :param pages: instead of the stream, these pages of ``(document id, external id)`` (a worker's share).
    :raise InvalidInput: an unknown layer.
    """
    if layer not in LAYERS:
        raise InvalidInput(f"unknown layer {layer!r} (use {', '.join(LAYERS)})")
    texts = select(Document.id, Document.title, Document.text, _raw(Document.meta)).where(_in_ids(session, Document.id))
    reader = _LayerReader(session, layer) if layer != "documents" else None
    keep = set(only) if only is not None else None
    plain = layer in ("documents", "all")
    connection = session.connection()
    stream = None
    if pages is None:
        stream = connection.execute(_ordered_ids(session, project, layer).execution_options(yield_per=BATCH))
        pages = stream.partitions()
    try:
        for page in pages:
            ids = [doc_id for doc_id, external_id in page if keep is None or external_id in keep]
            if not ids:
                continue
            docs = {row[0]: row for row in connection.execute(texts, {"ids": ids}).all()}
            layers = reader.read(ids) if reader is not None else {}
            batch = []
            for doc_id, external_id in page:
                if doc_id not in docs:
                    continue  # not in the split, or deleted since
                _id, title, text, meta = docs[doc_id]
                meta = dict(_json(meta) or {})
                if title and "title" not in meta:
                    meta["title"] = title
                batch.append(ExportDocument(external_id, text, meta, text_sha256(text), plain, layers.get(doc_id, [])))
            if batch:
                yield batch
    finally:
        if stream is not None:
            stream.close()  # also when the caller stops early (PostgreSQL's server-side cursor)


def _ordered_ids(session: Session, project: Project, layer: str) -> Any:
    """Select ``(document id, external id)`` of the documents an export of ``layer`` writes, in code-point order of the ids.

    Read as a stream (one query, fetched a batch at a time), so only one
    batch of ids is in memory however many documents there are. SQLite
    compares text as UTF-8 bytes and PostgreSQL's ``"C"`` collation does
    too: both are code-point order, the order Python sorts strings in.
    A layer export reads only the documents that have that layer.
    """
    key: Any = Document.external_id
    if session.get_bind().dialect.name == "postgresql":
        key = key.collate("C")
    query = select(Document.id, Document.external_id).where(Document.project_id == project.id).order_by(key)
    if layer not in ("documents", "all"):
        query = query.where(
            select(AnnotationSet.id).where(AnnotationSet.document_id == Document.id, *_set_filter(layer)).exists()
        )
    return query


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
    """Reads the layers of a batch of documents, with the statements built once per export."""

    def __init__(self, session: Session, layer: str) -> None:
        """Prepare the statements reading the layers of ``layer`` on a batch of documents (parameter ``ids``)."""
        self.session = session
        self.names: dict[int, str] = {}
        chosen = (_in_ids(session, AnnotationSet.document_id), *_set_filter(layer))

        def rows(*columns: Any, order: Any = None) -> Any:
            """Select ``columns`` of the rows of the chosen layers (one query for the whole batch)."""
            table = columns[0].class_
            query = select(*columns).join(AnnotationSet, AnnotationSet.id == table.set_id).where(*chosen)
            return query.order_by(order) if order is not None else query

        self.sets = select(
            AnnotationSet.id, AnnotationSet.document_id, AnnotationSet.kind, AnnotationSet.user_id,
            AnnotationSet.model_name, AnnotationSet.owner_key, AnnotationSet.status, AnnotationSet.note,
        ).where(*chosen)
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
            .where(*chosen)
            .order_by(AttributionContent.attribution_id, AttributionContent.position, AttributionContent.id)
        )

    def read(self, ids: list[int]) -> dict[int, list[ExportLayer]]:
        """Return, per document id of ``ids``, its layers in order (gold, annotators, models)."""
        connection = self.session.connection()
        bounds = {"ids": ids}
        sets = connection.execute(self.sets, bounds).all()
        if not sets:
            return {}
        names = self.names
        missing = sorted({row[3] for row in sets if row[3] is not None and row[3] not in names})
        if missing:
            names.update(connection.execute(select(User.id, User.username).where(User.id.in_(missing))).all())
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

        out: dict[int, list[tuple[tuple[int, str], ExportLayer]]] = {}
        for set_id, doc_id, kind, user_id, model_name, owner_key, status, layer_note in sets:
            if kind == "annotator":
                who: str | None = names.get(user_id, owner_key) if user_id is not None else owner_key
            elif kind == "prediction":
                who = model_name or owner_key.split(":", 1)[-1]
            else:
                who = None
            item = ExportLayer(
                kind,
                who,
                status,
                layer_note or "",
                sorted(spans.get(set_id, []), key=_span_order),
                relations.get(set_id, []),
                attributions.get(set_id, []),
            )
            out.setdefault(doc_id, []).append(((_KIND_ORDER[kind], who or ""), item))
        return {doc_id: [item for _key, item in sorted(items, key=_first)] for doc_id, items in out.items()}


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
    batches = export_documents(session, project, layer, only)
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


# -- several processes: the lines of ranges of documents built in parallel -----------------------

#: An export to a file of at least this many documents builds its lines in worker processes (one
#: per core) when its format writes from the documents (JSONL); smaller ones are done before the
#: workers would have started.
PARALLEL_FROM = 20_000
#: Documents per task of a worker (the main process writes one task's bytes at a time, in order).
TASK = 2_000
#: Tasks in flight per worker: what memory holds at most is about (workers x this x TASK) documents' lines.
AHEAD_PER_WORKER = 2


def export_workers(session: Session, project: Project, layer: str, writer: Writer) -> int:
    """Return how many worker processes an export to a file should use (1: none, this process does it all).

    One per core for a large JSONL export from a SQLite file, when the
    machine has a core to spare (load average below the number of cores
    less one): on a busy machine the workers only queue behind the others
    and cost their start. Not on PostgreSQL, where two workers were 2.5 to
    3.5 times slower than one process (docs/benchmarks.md); ``workers=``
    still asks for them.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    url = session.get_bind().url
    if cores < 2 or writer.write_documents is None or url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return 1
    if hasattr(os, "getloadavg") and os.getloadavg()[0] > cores - 1:
        return 1
    documents = session.scalar(select(func.count(Document.id)).where(Document.project_id == project.id)) or 0
    return cores if layer in LAYERS and documents >= PARALLEL_FROM else 1


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
) -> None:
    """Write an export of a ``write_documents`` format to the binary ``fh`` with ``workers`` processes.

    This process reads the document ids in order (a cheap stream) and hands
    each :data:`TASK` of them to a worker, which reads those documents on its
    own connection and returns their lines as bytes; the bytes are written in
    the order handed out, so the file is the one a single process writes.
    At most ``workers x`` :data:`AHEAD_PER_WORKER` ranges are in flight, so memory
    stays flat. A worker's error stops the export (the caller's temporary
    file is removed).
    """

    url = _database_url(session)
    ranges = _ordered_ids(session, project, layer).execution_options(yield_per=TASK)
    pending: deque[Future[tuple[bytes, SplitCounts]]] = deque()

    def write_first() -> None:
        data, part = pending.popleft().result()
        fh.write(data)
        counts.add(part)
        if progress is not None:
            progress(counts.records)

    if "forkserver" in multiprocessing.get_all_start_methods():
        # Workers forked from a server process that imported this module once (and stays for the next export).
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])
    else:
        context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start, initargs=(url,))
    stream = session.connection().execute(ranges)
    try:
        for page in stream.partitions():
            share = [(doc_id, external_id) for doc_id, external_id in page if only is None or external_id in only]
            if share:
                pending.append(pool.submit(_worker_task, project.id, layer, fmt, share))
            if len(pending) >= workers * AHEAD_PER_WORKER:
                write_first()
        while pending:
            write_first()
    finally:
        stream.close()
        pool.shutdown(wait=True, cancel_futures=True)


def _database_url(session: Session) -> str:
    """Return the URL a worker connects with (the session's database, password included)."""
    return session.get_bind().url.render_as_string(hide_password=False)


_worker_engine: Any = None


def _worker_start(url: str) -> None:
    """Open a worker process's engine on the export's database."""
    global _worker_engine
    from workbench.db import make_engine

    _worker_engine = make_engine(url)


def _worker_task(project_id: int, layer: str, fmt: str, share: list[tuple[int, str]]) -> tuple[bytes, SplitCounts]:
    """Return the bytes a ``write_documents`` format writes for ``share`` (``(document id, external id)`` in order), and their counts."""
    writer = require_writer(fmt)
    assert writer.write_documents is not None
    counts = SplitCounts()
    with Session(_worker_engine) as session:
        project = session.get(Project, project_id)
        context = ExportContext(schema=project_service.project_schema(project))
        out = io.StringIO()
        pages = [share[i : i + BATCH] for i in range(0, len(share), BATCH)]
        writer.write_documents(counts.count(export_documents(session, project, layer, pages=pages)), out, context)
    return out.getvalue().encode("utf-8"), counts


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
                    self.spans += len(layer.spans)
                    for span in layer.spans:
                        self.labels[span[3]] = self.labels.get(span[3], 0) + 1
                    self.relations += len(layer.relations)
                    self.attributions += len(layer.attributions)
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
    :param workers: processes building the lines (JSONL); None: as :func:`export_workers` says.
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
    if writer.write_documents is None:
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
                _write_pooled(session, project, layer, fmt, fh, ids, counts, counted, pool_size)
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
