"""Importing documents and their annotation layers, all or nothing per file.

Readers (``workbench.formats``) turn a file into checked records; this module
writes them with Core bulk inserts, in batches, inside one SAVEPOINT per
file, so a bad line rolls back that file only.  Folders of plain-text
articles (one document per file) take a faster road with the same outcome:
files are read and checked in Python a batch at a time, and a batch that
holds no problem is written with one lookup and one bulk insert; the first
bad file goes the per-file way, which names it.  Callers decide whether to go
on with the next file; they also commit.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import IO
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from workbench.domain import annotations as rules
from workbench.domain.offsets import text_sha256
from workbench.domain.schema import Schema
from workbench.errors import ImportError_
from workbench.errors import InvalidInput
from workbench.errors import WorkbenchError
from workbench.formats import EXTENSIONS
from workbench.formats import MAPPED_READERS
from workbench.formats import PLAIN_READERS
from workbench.formats import READERS
from workbench.formats import ReadOptions
from workbench.formats import brat as brat_format
from workbench.formats import detect_format
from workbench.formats import text as text_format
from workbench.formats.records import DocumentRecord
from workbench.formats.records import FormatError
from workbench.formats.records import PlainDocument
from workbench.models import AnnotationSet
from workbench.models import Attribution
from workbench.models import AttributionContent
from workbench.models import Change
from workbench.models import Document
from workbench.models import Membership
from workbench.models import Project
from workbench.models import Relation
from workbench.models import Span
from workbench.models import User
from workbench.models import utcnow
from workbench.services import projects as project_service
from workbench.services.assignment import annotator_key
from workbench.services.exporting import note_changed_layers
from workbench.services import users as user_service
from workbench.transactions import begin_write

#: Bytes of a file read to tell its format.
SNIFF_BYTES = 65536
#: Records written per round of bulk inserts.
BATCH = 1000
#: Text files read and checked before their documents are written together.
TEXT_BATCH = 1000
#: ... or fewer, once they hold this many bytes.
TEXT_BATCH_BYTES = 32 * 1024 * 1024
#: A document as :class:`_FileImport` batches it: external id, line, text SHA-256 and its row (see :class:`_DriverInsert`).
_DocumentItem = tuple[str, int, str, tuple[Any, ...]]
#: Ids per ``IN (...)`` query.
CHUNK = 500
#: After an import of at least this many documents, PostgreSQL's planner statistics are refreshed at once.
ANALYZE_FROM = 1000
#: The tables an import fills (PostgreSQL's ``ANALYZE`` list).
_IMPORTED_TABLES = tuple(
    model.__table__.name for model in (Document, AnnotationSet, Span, Relation, Attribution, AttributionContent)
)
#: What names a row of a table the import writes in its parent, unique there (:meth:`_FileImport.insert_rows`).
_KEYS = {"annotation_sets": ("document_id", "owner_key"), "spans": ("set_id", "uid"), "attributions": ("set_id", "uid")}
# Core tables: bulk inserts through them skip the ORM's per-row bookkeeping.
_DOCUMENTS = Document.__table__
_SETS = AnnotationSet.__table__
_SPANS = Span.__table__
_ATTRIBUTIONS = Attribution.__table__
#: The columns a new document is inserted with (in the table's order), and those every row of a batch shares.
_DOCUMENT_COLUMNS = ("project_id", "external_id", "title", "text", "text_sha256", "meta", "created_at")
_SHARED_DOCUMENT_COLUMNS = ("project_id", "created_at")
#: The status an imported layer gets.
LAYER_STATUS = {"gold": "adjudicated", "annotator": "submitted", "prediction": "suggested"}


@dataclass
class FileReport:
    """What one file brought in.

    :param documents: documents created.
    :param unchanged: documents that were there already with the same text.
    :param layers: annotation layers created (gold, annotator, prediction).
    """

    filename: str
    format: str
    records: int = 0
    documents: int = 0
    unchanged: int = 0
    layers: int = 0
    #: What the reader converted (offsets counted in UTF-16 units, say).
    notes: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import of several files brought in, file by file."""

    files: list[FileReport] = field(default_factory=list)

    @property
    def documents(self) -> int:
        """Return how many documents were created."""
        return sum(f.documents for f in self.files)

    @property
    def unchanged(self) -> int:
        """Return how many documents were there already with the same text."""
        return sum(f.unchanged for f in self.files)

    @property
    def layers(self) -> int:
        """Return how many annotation layers were created."""
        return sum(f.layers for f in self.files)

    @property
    def notes(self) -> list[str]:
        """Return what the readers converted, file by file."""
        return [note for f in self.files for note in f.notes]

    def summary(self) -> str:
        """Return one line such as ``Imported 4 documents (1 unchanged), 2 layers from 3 files``."""
        files = len(self.files)
        return (
            f"Imported {self.documents} document{'s' if self.documents != 1 else ''} ({self.unchanged} unchanged), "
            f"{self.layers} layer{'s' if self.layers != 1 else ''} from {files} file{'s' if files != 1 else ''}"
        )


def expand_paths(paths: Iterable[Path | str], fmt: str = "auto") -> list[Path]:
    """Return the files to import: files as given, folders as their .txt/.md/.jsonl/.html ... files sorted by name.

    A folder of brat files (read as brat, or with ``.ann`` files in it under
    ``auto``) stays one path: it is imported as one unit.

    :raise ImportError_: a path that does not exist.
    """
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and (fmt == "brat" or (fmt == "auto" and is_brat_folder(path))):
            out.append(path)
        elif path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS))
        elif path.is_file():
            out.append(path)
        else:
            raise ImportError_(str(path), None, "no such file or folder")
    return out


def import_paths(
    session: Session,
    project: Project,
    paths: Iterable[Path | str],
    fmt: str = "auto",
    progress: Callable[[Path], None] | None = None,
    user: User | None = None,
    label_map: dict[str, str] | None = None,
    as_predictions: str | None = None,
) -> ImportReport:
    """Import files and folders into ``project``, all or nothing per file, stopping at the first bad file.

    Plain-text articles (one document per file) are read and checked in
    batches of up to :data:`TEXT_BATCH` files, then written with one lookup
    and one bulk insert per batch (see :class:`_TextBatch`); every other file,
    and any text file that is bad or clashes with a stored document, goes
    through :func:`import_stream` with its own SAVEPOINT.  Either way the
    files are written in order, and a bad file stops the import with the
    files before it written and nothing of itself.

    :param progress: called with each file's path once it is imported.
    :param user: who imports (recorded in each layer's history); None for the command line.
    :param as_predictions: a model name: every annotated layer in the files becomes that model's
        prediction layer (suggestions for annotators), whatever layer the file says.
    :raise ImportError_: ``file:line: reason`` of the first bad file; files before it
        stay in the session, and ``exc.extra["report"]`` lists them.
    """
    report = ImportReport()
    schema = project_service.project_schema(project)

    def one_file(path: Path) -> None:
        """Import ``path`` on its own (the exact, per-file path)."""
        try:
            if path.is_dir():
                file_report = import_brat_folder(
                    session, project, path, user=user, label_map=label_map, as_predictions=as_predictions
                )
            else:
                with path.open("rb") as fh:
                    file_report = import_stream(
                        session, project, str(path), fh, fmt, user=user, schema=schema, label_map=label_map,
                        as_predictions=as_predictions,
                    )
        except OSError as exc:
            error = ImportError_(str(path), None, f"cannot read: {exc.strerror or exc}")
            error.extra["report"] = report
            raise error from None
        except ImportError_ as exc:
            exc.extra["report"] = report
            raise
        report.files.append(file_report)
        if progress is not None:
            progress(path)

    batch = _TextBatch(session, project, report, one_file, progress)
    for path in expand_paths(paths, fmt):
        if _is_text(path, fmt) and batch.add(path):
            continue
        # Not an article, or one that cannot be read or parsed: the files
        # before it first, then this one on its own (which raises if it is bad).
        batch.flush()
        one_file(path)
    batch.flush()
    refresh_statistics(session, report.documents)
    return report


def refresh_statistics(session: Session, documents: int) -> bool:
    """On PostgreSQL, after an import of ``documents`` (at least :data:`ANALYZE_FROM`), ``ANALYZE`` the tables it filled.

    Autovacuum would do it within a minute or so; an export right after a
    large import would otherwise be planned on the statistics of an emptier
    database (a sort of every line instead of the export order's index).
    ``ANALYZE`` in the import's transaction counts its own new rows, and
    blocks neither reads nor writes.  It is only a saving: if it fails (a
    lock timeout, say) the import goes on.  Return whether it ran.
    """
    if documents < ANALYZE_FROM or session.get_bind().dialect.name != "postgresql":
        return False
    try:
        with session.begin_nested():
            session.execute(text(f"ANALYZE {', '.join(_IMPORTED_TABLES)}"))
    except DBAPIError:
        return False
    return True


def _is_text(path: Path, fmt: str) -> bool:
    """Return whether ``path`` is read as a plain-text article (as :func:`import_stream` would decide)."""
    if fmt == "auto":
        return EXTENSIONS.get(path.suffix.lower()) == "text"
    return fmt == "text"


@dataclass
class _Article:
    """A text file read and parsed, waiting to be written."""

    path: Path
    record: DocumentRecord
    sha: str


class _TextBatch:
    """Plain-text articles read and checked in Python, then written together.

    A file is added only when it reads and parses cleanly.  :meth:`flush`
    looks the batch's ids up in one query per :data:`CHUNK` ids, then walks
    the files in order: a new id becomes a row, an id stored (or earlier in
    the batch) with the same text counts as unchanged, exactly as the
    per-file path counts it.  At the first id stored with a different text,
    the rows before it are written and that file goes through the per-file
    path, which raises the exact error.  The rows go in with one bulk insert
    inside one SAVEPOINT; should the database refuse it (a document another
    session inserted meanwhile), the SAVEPOINT is rolled back and the batch's
    files are imported one by one, so the error names the file.
    """

    def __init__(
        self,
        session: Session,
        project: Project,
        report: ImportReport,
        one_file: Callable[[Path], None],
        progress: Callable[[Path], None] | None,
    ) -> None:
        """Prepare an empty batch writing into ``project`` and ``report``."""
        self.session = session
        self.project = project
        self.report = report
        self.one_file = one_file
        self.progress = progress
        self.articles: list[_Article] = []
        self.size = 0
        self.max_chars = project_service.max_document_chars(project)

    def add(self, path: Path) -> bool:
        """Read and parse ``path`` into the batch (writing the batch when it is full).

        :return: False when the file cannot be read or parsed; the caller then
            imports it on its own, which reports the problem.
        """
        try:
            data = path.read_bytes()
            record = text_format.parse_bytes(str(path), data)
        except (OSError, FormatError):
            return False
        if len(record.text) > self.max_chars:
            return False  # imported on its own, which refuses it with the reason
        self.articles.append(_Article(path, record, text_sha256(record.text)))
        self.size += len(data)
        if len(self.articles) >= TEXT_BATCH or self.size >= TEXT_BATCH_BYTES:
            self.flush()
        return True

    def flush(self) -> None:
        """Write the batch's articles, in order (see the class)."""
        articles, self.articles, self.size = self.articles, [], 0
        while articles:
            begin_write(self.session)
            known = self.stored_texts(list({a.record.external_id for a in articles}))
            inserter = _DriverInsert(self.session, _DOCUMENTS, _DOCUMENT_COLUMNS, _SHARED_DOCUMENT_COLUMNS)
            project_id = inserter.convert("project_id", self.project.id)
            created_at = inserter.convert("created_at", utcnow())
            rows: list[tuple[Any, ...]] = []
            reports: list[FileReport] = []
            clash = len(articles)
            for i, article in enumerate(articles):
                record = article.record
                file_report = FileReport(str(article.path), "text", records=1)
                stored = known.get(record.external_id)
                if stored is None:
                    known[record.external_id] = article.sha
                    rows.append(
                        inserter.row(
                            (
                                project_id,
                                record.external_id,
                                (record.title or "")[:500],
                                record.text,
                                article.sha,
                                record.meta,
                                created_at,
                            )
                        )
                    )
                    file_report.documents = 1
                elif stored == article.sha:
                    file_report.unchanged = 1
                else:
                    clash = i
                    break
                reports.append(file_report)
            self.write(inserter, articles[:clash], rows, reports)
            if clash < len(articles):
                self.one_file(articles[clash].path)
            articles = articles[clash + 1 :]

    def stored_texts(self, external_ids: list[str]) -> dict[str, str]:
        """Return the text SHA-256 of the project's documents among ``external_ids``."""
        found: dict[str, str] = {}
        for chunk in _chunks(external_ids):
            for external_id, sha in self.session.execute(
                select(Document.external_id, Document.text_sha256).where(
                    Document.project_id == self.project.id, Document.external_id.in_(chunk)
                )
            ):
                found[external_id] = sha
        return found

    def write(
        self, inserter: _DriverInsert, articles: list[_Article], rows: list[tuple[Any, ...]], reports: list[FileReport]
    ) -> None:
        """Insert ``rows`` (all or none) and record the files' reports; one by one if the database refuses."""
        if rows:
            try:
                with self.session.begin_nested():
                    inserter.execute(rows)
            except DBAPIError:
                for article in articles:
                    self.one_file(article.path)
                return
        self.report.files.extend(reports)
        if self.progress is not None:
            for article in articles:
                self.progress(article.path)


def import_stream(
    session: Session,
    project: Project,
    filename: str,
    fh_or_bytes: IO[bytes] | bytes,
    fmt: str = "auto",
    user: User | None = None,
    schema: Schema | None = None,
    label_map: dict[str, str] | None = None,
    as_predictions: str | None = None,
) -> FileReport:
    """Import one file (an open binary file or its bytes), all or nothing.

    :param filename: the name shown in errors; its stem gives ids where the file has none.
    :param schema: the project's parsed schema, when the caller has it already.
    :param label_map: another tool's labels and relation types -> the project's
        (brat, Label Studio, doccano, and the hints of HTML).
    :param as_predictions: as :func:`import_paths`.
    :raise ImportError_: ``file:line: reason``; nothing of the file is kept.
    """
    stream: IO[bytes] = io.BytesIO(fh_or_bytes) if isinstance(fh_or_bytes, (bytes, bytearray)) else fh_or_bytes
    if fmt == "auto":
        if not stream.seekable():
            stream = io.BytesIO(stream.read())
        head = stream.read(SNIFF_BYTES)
        stream.seek(0)
        try:
            fmt = detect_format(filename, head)
        except FormatError as exc:
            raise ImportError_(exc.filename, exc.line, exc.reason) from None
    reader = READERS.get(fmt)
    if reader is None:
        raise InvalidInput(f"unknown import format {fmt!r} (use auto, {', '.join(READERS)})")
    schema = schema or project_service.project_schema(project)
    options = _read_options(fmt, label_map)
    if fmt in MAPPED_READERS:
        records: Iterable[DocumentRecord | PlainDocument] = reader(filename, stream, schema, options)
    else:
        records = PLAIN_READERS.get(fmt, reader)(filename, stream, schema)
    return import_records(
        session, project, filename, fmt, records, user=user, schema=schema, options=options, as_predictions=as_predictions
    )


def _read_options(fmt: str, label_map: dict[str, str] | None) -> ReadOptions:
    """Return the reader's options; a label map for a format without other tools' labels is refused.

    :raise InvalidInput: a label map given for JSONL (whose labels are the project's own).
    """
    if label_map and fmt == "jsonl":
        raise InvalidInput("--label-map applies to brat, html, labelstudio and doccano files; JSONL uses the project's labels")
    return ReadOptions(label_map=dict(label_map or {}))


def import_records(
    session: Session,
    project: Project,
    filename: str,
    fmt: str,
    records: Iterable[DocumentRecord | PlainDocument],
    user: User | None = None,
    schema: Schema | None = None,
    options: ReadOptions | None = None,
    as_predictions: str | None = None,
) -> FileReport:
    """Write the records a reader yields (lazily) for one file or folder, all or nothing.

    :param as_predictions: as :func:`import_paths`.
    :raise ImportError_: ``file:line: reason``; nothing of the file is kept.
    """
    schema = schema or project_service.project_schema(project)
    if as_predictions is not None:
        records = _as_predictions(records, check_model_name(as_predictions))
    begin_write(session)
    with session.begin_nested():
        importer = _FileImport(session, project, filename, fmt, schema, user)
        try:
            importer.run(records)
        except FormatError as exc:
            raise ImportError_(exc.filename, exc.line, exc.reason) from None
    note_changed_layers(session, importer.layer_ids)
    if options is not None:
        importer.report.notes = list(options.notes)
    return importer.report


def import_brat_folder(
    session: Session,
    project: Project,
    folder: Path,
    user: User | None = None,
    label_map: dict[str, str] | None = None,
    as_predictions: str | None = None,
) -> FileReport:
    """Import a folder of brat ``.txt`` and ``.ann`` files as one unit, all or nothing.

    :raise ImportError_: ``file:line: reason``; nothing of the folder is kept.
    """
    schema = project_service.project_schema(project)
    options = _read_options("brat", label_map)
    return import_records(
        session, project, str(folder), "brat", brat_format.read_folder(folder, schema, options), user=user, schema=schema,
        options=options, as_predictions=as_predictions,
    )


#: The most characters a model's name may have (the layer's owner key is ``prediction:<name>``).
MAX_MODEL_NAME = 180


def check_model_name(name: object) -> str:
    """Return ``name`` if it can name a model's prediction layer.

    :raise InvalidInput: not a string of 1 to 180 characters without line breaks or control characters.
    """
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_MODEL_NAME:
        raise InvalidInput(f"a model name must be 1 to {MAX_MODEL_NAME} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidInput("a model name cannot hold line breaks or control characters")
    return name.strip()


def _as_predictions(records: Iterable[DocumentRecord | PlainDocument], model: str) -> Iterator[DocumentRecord | PlainDocument]:
    """Yield ``records`` with every annotated layer turned into ``model``'s prediction layer."""
    for record in records:
        if isinstance(record, DocumentRecord) and record.layer is not None:
            yield dataclasses.replace(record, layer="prediction", annotator=model)
        else:
            yield record


def is_brat_folder(path: Path) -> bool:
    """Tell whether a folder holds brat files (any ``.ann`` in it or below)."""
    return path.is_dir() and next(path.rglob("*.ann"), None) is not None


class _DriverInsert:
    """An INSERT of many rows through the database driver's own ``executemany``.

    Core's executemany builds a parameter dict per row and passes every value
    through its type's bind processor, which for 10,000 plain documents cost
    more than the insert itself.  Here SQLAlchemy compiles the statement once
    for the session's dialect (the same SQL it would run, on SQLite and
    PostgreSQL alike), rows are tuples in the order of ``columns``, the values
    in ``shared`` columns are the same for every row and converted once by the
    caller (:meth:`convert`), and only the other columns whose type needs a
    conversion (JSON) are converted, row by row (:meth:`row`).
    """

    def __init__(self, session: Session, table: Any, columns: tuple[str, ...], shared: tuple[str, ...] = ()) -> None:
        """Compile the INSERT of ``columns`` (in the table's order) into ``table``."""
        self.session = session
        dialect = session.connection().dialect
        compiled = insert(table).inline().compile(dialect=dialect, column_keys=list(columns))
        if compiled.positional and tuple(compiled.positiontup or ()) != columns:
            raise ValueError(f"give the columns in the table's order: {compiled.positiontup}")
        self.sql = str(compiled)
        self.columns = columns
        self.positional = compiled.positional
        self.processors = {name: table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns}
        self.per_row = [
            (i, processor)
            for i, (name, processor) in enumerate(self.processors.items())
            if processor is not None and name not in shared
        ]

    def convert(self, name: str, value: Any) -> Any:
        """Return ``value`` as the driver takes it for column ``name`` (for the ``shared`` columns)."""
        processor = self.processors[name]
        return value if processor is None else processor(value)

    def row(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """Return one row for :meth:`execute`: ``values`` with the columns not ``shared`` converted."""
        for i, processor in self.per_row:
            values = (*values[:i], processor(values[i]), *values[i + 1 :])
        return values

    def execute(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert ``rows`` (each made by :meth:`row`) with one executemany."""
        if not rows:
            return
        params: list[Any] = rows if self.positional else [dict(zip(self.columns, row)) for row in rows]
        self.session.connection().exec_driver_sql(self.sql, params)


def _chunks(values: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    """Yield ``values`` in slices of ``size``."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _layer_name(layer: str, annotator: str | None) -> str:
    """Return how errors name a layer: ``a gold layer``, ``an annotator layer by 'ana'``..."""
    if layer == "gold":
        return "a gold layer"
    if layer == "annotator":
        return f"an annotator layer by {annotator!r}"
    return f"a prediction layer from {annotator!r}"


class _FileImport:
    """The state of one file's import: documents seen, users resolved, counts."""

    def __init__(
        self, session: Session, project: Project, filename: str, fmt: str, schema: Schema, user: User | None
    ) -> None:
        """Prepare an import of ``filename`` into ``project``."""
        self.session = session
        self.project = project
        self.filename = filename
        self.schema = schema
        self.user_id = user.id if user is not None else None
        self.report = FileReport(filename, fmt)
        self.max_chars = project_service.max_document_chars(project)
        #: A plain-text article's title is its first line, cut to fit; other formats name titles, checked.
        self.cut_titles = fmt == "text"
        #: external id -> (document id or None until needed, text sha256, created by this file)
        self.docs: dict[str, tuple[int | None, str, bool]] = {}
        self.counted_unchanged: set[str] = set()
        self.layers_done: set[tuple[int, str]] = set()
        #: The layers this file wrote (their export lines are stored once it commits: exporting.note_changed_layers).
        self.layer_ids: list[int] = []
        self.users: dict[str, User] = {}
        self.members: set[int] = set()
        self.inserter = _DriverInsert(session, _DOCUMENTS, _DOCUMENT_COLUMNS, _SHARED_DOCUMENT_COLUMNS)
        #: The documents written by this file after which PostgreSQL's statistics are refreshed next (see :meth:`write_batch`).
        self.analyze_at = ANALYZE_FROM
        self.project_id = self.inserter.convert("project_id", project.id)
        self.created_at = self.inserter.convert("created_at", utcnow())
        self.project_had_documents = (
            session.scalar(select(Document.id).where(Document.project_id == project.id).limit(1)) is not None
        )

    def fail(self, line: int | None, reason: str) -> ImportError_:
        """Return the error to raise for ``line``."""
        return ImportError_(self.filename, line, reason)

    def run(self, records: Iterable[DocumentRecord | PlainDocument]) -> None:
        """Write the records (plain documents may come as bare tuples), a batch at a time.

        A plain document is turned into its row as soon as it is read, so a
        batch holds flat tuples of strings (which the garbage collector stops
        tracking) rather than one object per document.
        """
        batch: list[DocumentRecord | _DocumentItem] = []
        for record in records:
            if not batch:
                self.created_at = self.inserter.convert("created_at", utcnow())
            if type(record) is tuple:
                batch.append(self.document_item(*record))
            else:
                self.check_overlaps(record)
                batch.append(record)
            if len(batch) >= BATCH:
                self.write_batch(batch)
                batch = []
        if batch:
            self.write_batch(batch)

    def check_overlaps(self, record: DocumentRecord) -> None:
        """Check a gold or annotator record's spans against the schema's overlap rules.

        A prediction layer is a model's suggestions and is stored as it came:
        a suggestion that breaks a rule cannot be accepted (accepting is an op).

        :raise ImportError_: naming the record's line, the document, both spans and the rule.
        """
        if record.layer not in ("gold", "annotator") or len(record.spans) < 2:
            return
        try:
            rules.check_overlaps(self.schema, record.text, [(s.id, s.label, s.start, s.end) for s in record.spans])
        except rules.AnnotationError as exc:
            raise self.fail(record.line, f"document {record.external_id!r}: {exc}") from None

    # -- documents -----------------------------------------------------------

    def document_item(self, external_id: str, text: str, meta: dict[str, Any], title: str, line: int, sha: str) -> _DocumentItem:
        """Return what :meth:`resolve_documents` needs of a document, with the row that inserts it.

        :raise ImportError_: the text is longer than the project allows, or the title than 500 characters.
        """
        if len(text) > self.max_chars:
            raise self.fail(
                line,
                f"document {external_id!r} has {len(text):,} characters; "
                f"this project takes at most {self.max_chars:,} per document",
            )
        if title and len(title) > project_service.MAX_TITLE_CHARS and not self.cut_titles:
            raise self.fail(
                line, f"the title of {external_id!r} has {len(title):,} characters, at most {project_service.MAX_TITLE_CHARS}"
            )
        row = self.inserter.row((self.project_id, external_id, (title or "")[:500], text, sha, meta, self.created_at))
        return (external_id, line, sha, row)

    def resolve_documents(self, batch: list[DocumentRecord | _DocumentItem]) -> None:
        """Find or create the documents of ``batch`` (checking texts against stored ones).

        New documents are inserted without asking for their ids (a plain
        executemany is fastest); a layer record looks its document's id up
        afterwards (:meth:`document_ids`).
        """
        items = [
            r
            if type(r) is tuple
            else self.document_item(r.external_id, r.text, r.meta, r.title, r.line, r.text_sha256 or text_sha256(r.text))
            for r in batch
        ]
        if self.project_had_documents:
            wanted = list({item[0] for item in items if item[0] not in self.docs})
            for chunk in _chunks(wanted):
                for doc_id, external_id, sha in self.session.execute(
                    select(Document.id, Document.external_id, Document.text_sha256).where(
                        Document.project_id == self.project.id, Document.external_id.in_(chunk)
                    )
                ):
                    self.docs[external_id] = (doc_id, sha, False)
        docs = self.docs
        new_rows: dict[str, tuple[Any, ...]] = {}
        for external_id, line, sha, row in items:
            known = docs.get(external_id)
            if known is not None:
                if known[1] != sha:
                    raise self.fail(line, f"document {external_id!r} already exists with a different text")
                if not known[2] and external_id not in self.counted_unchanged:
                    self.counted_unchanged.add(external_id)
                    self.report.unchanged += 1
            elif external_id not in new_rows:
                new_rows[external_id] = row
        if new_rows:
            self.inserter.execute(list(new_rows.values()))
            for external_id, row in new_rows.items():
                docs[external_id] = (None, row[4], True)
            self.report.documents += len(new_rows)

    def document_ids(self, external_ids: list[str]) -> dict[str, int]:
        """Return the ids of documents this file has seen, looking up in batches those inserted without one."""
        missing = sorted({e for e in external_ids if self.docs[e][0] is None})
        for chunk in _chunks(missing):
            for doc_id, external_id in self.session.execute(
                select(Document.id, Document.external_id).where(
                    Document.project_id == self.project.id, Document.external_id.in_(chunk)
                )
            ):
                _old, sha, created = self.docs[external_id]
                self.docs[external_id] = (doc_id, sha, created)
        return {e: self.docs[e][0] for e in external_ids}  # type: ignore[misc]

    # -- users -------------------------------------------------------------

    def annotator_user(self, record: DocumentRecord) -> User:
        """Return the user named by an annotator record, creating an inactive one if unknown."""
        name = record.annotator or ""
        user = self.users.get(name.lower())
        if user is None:
            user = user_service.get_user_by_name(self.session, name)
            if user is None:
                try:
                    user = user_service.create_user(self.session, name, "annotator", None, active=False)
                except WorkbenchError as exc:
                    raise self.fail(record.line, f"annotator {name!r}: {exc.message}") from None
            self.users[name.lower()] = user
        if user.id not in self.members:
            has = self.session.scalar(
                select(Membership.id).where(Membership.project_id == self.project.id, Membership.user_id == user.id)
            )
            if has is None:
                project_service.add_member(self.session, self.project, user, "annotator")
            self.members.add(user.id)
        return user

    # -- layers ------------------------------------------------------------

    def write_batch(self, batch: list[DocumentRecord | _DocumentItem]) -> None:
        """Write one batch of records: documents, then layers and their annotations.

        A large file is one transaction, and PostgreSQL plans its lookups on
        the statistics of the tables before it: with documents it took for
        none, each batch's look-up of its documents' ids scanned every
        document written so far (an import of 50,000 documents with layers
        spent 43 s of 73 in them). So the statistics are refreshed inside the
        transaction each time the file's documents double from
        :data:`ANALYZE_FROM` (seven times for 100,000).
        """
        self.report.records += len(batch)
        if self.report.documents >= self.analyze_at:
            refresh_statistics(self.session, self.report.documents)
            self.analyze_at *= 2
        self.resolve_documents(batch)
        layered = [r for r in batch if type(r) is not tuple and r.layer is not None]
        if not layered:
            return
        now = utcnow()
        # (record, document id, owner key, user id, model name)
        plans: list[tuple[DocumentRecord, int, str, int | None, str | None]] = []
        doc_ids = self.document_ids([r.external_id for r in layered])
        for record in layered:
            doc_id = doc_ids[record.external_id]
            user_id: int | None = None
            model: str | None = None
            if record.layer == "gold":
                owner = "gold"
            elif record.layer == "annotator":
                user_id = self.annotator_user(record).id
                owner = annotator_key(user_id)
            else:
                model = record.annotator or ""
                if len(model) > 180:
                    raise self.fail(record.line, "the model name is longer than 180 characters")
                owner = f"prediction:{model}"
            if (doc_id, owner) in self.layers_done:
                raise self.fail(
                    record.line, f"document {record.external_id!r} already has {_layer_name(record.layer, record.annotator)}"
                )
            self.layers_done.add((doc_id, owner))
            plans.append((record, doc_id, owner, user_id, model))
        set_ids = self.existing_empty_sets(plans)
        new_sets = [
            {
                "document_id": doc_id,
                "kind": record.layer,
                "owner_key": owner,
                "user_id": user_id,
                "model_name": model,
                "status": LAYER_STATUS[record.layer or ""],
                "version": 1,
                "updated_at": now,
                "note": record.note,
            }
            for record, doc_id, owner, user_id, model in plans
            if (doc_id, owner) not in set_ids
        ]
        set_ids.update(self.insert_rows(_SETS, new_sets, ids=True))
        self.report.layers += len(plans)
        self.layer_ids.extend(set_ids[(doc_id, owner)] for _r, doc_id, owner, _u, _m in plans)
        self.write_annotations([(record, set_ids[(doc_id, owner)]) for record, doc_id, owner, _u, _m in plans], now)

    def existing_empty_sets(
        self, plans: list[tuple[DocumentRecord, int, str, int | None, str | None]]
    ) -> dict[tuple[int, str], int]:
        """Return the layers that exist already but hold no annotations (they are reused).

        :raise ImportError_: a layer that exists and holds annotations.
        """
        old = [(record, doc_id, owner) for record, doc_id, owner, _u, _m in plans if not self.docs[record.external_id][2]]
        if not old:
            return {}
        wanted = {(doc_id, owner): record for record, doc_id, owner in old}
        found: dict[tuple[int, str], int] = {}
        for chunk in _chunks(sorted({doc_id for _r, doc_id, _o in old})):
            for set_id, doc_id, owner in self.session.execute(
                select(AnnotationSet.id, AnnotationSet.document_id, AnnotationSet.owner_key).where(
                    AnnotationSet.document_id.in_(chunk)
                )
            ):
                if (doc_id, owner) in wanted:
                    found[(doc_id, owner)] = set_id
        if not found:
            return {}
        busy: set[int] = set()
        ids = list(found.values())
        for model, column in ((Span, Span.set_id), (Relation, Relation.set_id), (Attribution, Attribution.set_id)):
            for chunk in _chunks(ids):
                busy.update(self.session.scalars(select(column).where(column.in_(chunk)).group_by(column)))
        for key, record in wanted.items():
            if found.get(key) in busy:
                raise self.fail(
                    record.line,
                    f"document {record.external_id!r} already has {_layer_name(record.layer or '', record.annotator)}",
                )
        for (doc_id, owner), set_id in found.items():
            record = wanted[(doc_id, owner)]
            self.session.execute(
                update(AnnotationSet)
                .where(AnnotationSet.id == set_id)
                .values(
                    status=LAYER_STATUS[record.layer or ""], version=AnnotationSet.version + 1, updated_at=utcnow(),
                    note=record.note,
                )
            )
        return found

    def write_annotations(self, pairs: list[tuple[DocumentRecord, int]], now: Any) -> None:
        """Insert the spans, relations, attributions and history of records whose layer ids are known."""
        span_rows = [
            {
                "set_id": set_id,
                "uid": s.id,
                "label": s.label,
                "start": s.start,
                "end": s.end,
                "attrs": s.attrs,
                "provenance": s.provenance,
                "note": s.note,
            }
            for record, set_id in pairs
            for s in record.spans
        ]
        needs_ids = any(record.relations or record.attributions for record, _ in pairs)
        span_ids = self.insert_rows(_SPANS, span_rows, ids=needs_ids)
        relation_rows = [
            {
                "set_id": set_id,
                "uid": r.id,
                "type": r.type,
                "head_id": span_ids[(set_id, r.head)],
                "tail_id": span_ids[(set_id, r.tail)],
                "attrs": r.attrs,
                "provenance": r.provenance,
            }
            for record, set_id in pairs
            for r in record.relations
        ]
        self.insert_rows(Relation.__table__, relation_rows)
        attribution_rows = [
            {
                "set_id": set_id,
                "uid": a.id,
                "source_id": span_ids[(set_id, a.source)] if a.source is not None else None,
                "cue_id": span_ids[(set_id, a.cue)] if a.cue is not None else None,
                "attrs": a.attrs,
                "provenance": a.provenance,
                "note": a.note,
            }
            for record, set_id in pairs
            for a in record.attributions
        ]
        attribution_ids = self.insert_rows(_ATTRIBUTIONS, attribution_rows, ids=True)
        content_rows = [
            {"attribution_id": attribution_ids[(set_id, a.id)], "span_id": span_ids[(set_id, piece)], "position": i}
            for record, set_id in pairs
            for a in record.attributions
            for i, piece in enumerate(a.content)
        ]
        self.insert_rows(AttributionContent.__table__, content_rows)
        parent_rows = [
            {"att_id": attribution_ids[(set_id, a.id)], "parent": attribution_ids[(set_id, a.parent)]}
            for record, set_id in pairs
            for a in record.attributions
            if a.parent is not None
        ]
        if parent_rows:
            # Chains after every attribution exists: a parent may come after its child in the record.
            self.session.execute(
                update(_ATTRIBUTIONS).where(_ATTRIBUTIONS.c.id == bindparam("att_id")).values(parent_id=bindparam("parent")),
                parent_rows,
            )
        change_rows = [
            {
                "set_id": set_id,
                "user_id": self.user_id,
                "at": now,
                "action": "import",
                "version": 1,
                "payload": {
                    "file": self.filename.replace("\\", "/").rsplit("/", 1)[-1],
                    "line": record.line,
                    "spans": len(record.spans),
                    "relations": len(record.relations),
                    "attributions": len(record.attributions),
                },
            }
            for record, set_id in pairs
        ]
        self.insert_rows(Change.__table__, change_rows)

    def insert_rows(self, table: Any, rows: list[dict[str, Any]], ids: bool = False) -> dict[tuple[Any, str], int]:
        """Insert ``rows`` (each a dict of the same columns) into ``table``; with ``ids``, return their ids by key.

        The key is what names a row in its parent (:data:`_KEYS`): ``(layer id,
        uid)`` for a span or an attribution, ``(document id, owner key)`` for a layer.

        On PostgreSQL through ``COPY``: one statement for the batch, which
        fires the export-record triggers once (migration 0008) and is not
        parsed again for every 1,000 rows as a multi-row ``INSERT`` is by the
        driver (a third of the import's time for 100,000 documents with
        layers); the ids are then read back by their keys.
        Elsewhere as SQLAlchemy's multi-row ``INSERT``, 2,000 rows a
        statement, ``RETURNING`` the ids (on SQLite reading them back cost
        a sixth more).
        """
        found: dict[tuple[Any, str], int] = {}
        if not rows:
            return found
        parent, name = (table.c[column] for column in _KEYS[table.name]) if ids else (None, None)
        if self.session.get_bind().dialect.name != "postgresql":
            for chunk in _chunks(rows, 2000):
                if ids:
                    for row_id, of, key in self.session.execute(insert(table).returning(table.c.id, parent, name), chunk):
                        found[(of, key)] = row_id
                else:
                    self.session.execute(insert(table), chunk)
            return found
        connection = self.session.connection()
        dialect = connection.dialect
        # The columns the rows leave out get their model's default as SQLAlchemy's INSERT would (COPY knows only the
        # server's); a callable one (created_at) is called once for the batch, whose rows already share one ``now``.
        defaults = {
            column.name: column.default.arg if column.default.is_scalar else column.default.arg(None)
            for column in table.columns
            if column.name not in rows[0] and column.default is not None and not column.primary_key
        }
        columns = [*rows[0], *defaults]
        processors = [table.c[column].type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
        names = ", ".join(dialect.identifier_preparer.quote(column) for column in columns)
        added = list(defaults.values())
        with connection.connection.driver_connection.cursor() as cursor:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    # Each value as SQLAlchemy binds it (a JSON column's None is JSON null, as an INSERT stores it).
                    copy.write_row([
                        value if processor is None else processor(value)
                        for value, processor in zip([*row.values(), *added], processors)
                    ])
        if not ids:
            return found
        # Read back by parent (an index's first column): the rows asked for, by their key.
        wanted = {(row[parent.name], row[name.name]) for row in rows}
        for chunk in _chunks(sorted({of for of, _key in wanted})):
            for row_id, of, key in self.session.execute(select(table.c.id, parent, name).where(parent.in_(chunk))):
                if (of, key) in wanted:
                    found[(of, key)] = row_id
        return found


def count_layers(session: Session, project: Project) -> int:
    """Return how many annotation layers the project's documents hold."""
    return (
        session.scalar(
            select(func.count(AnnotationSet.id))
            .join(Document, Document.id == AnnotationSet.document_id)
            .where(Document.project_id == project.id)
        )
        or 0
    )
