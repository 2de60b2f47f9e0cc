"""Readers and writers of dataset formats (pure: stdlib and ``workbench.domain`` only).

``READERS`` maps a format name to a function
``read(filename, stream, schema[, options]) -> Iterator[DocumentRecord]``
that raises :class:`FormatError` (``file:line: reason``) on the first
problem; the readers of other tools' formats (``MAPPED_READERS``) take a
:class:`ReadOptions` with the label map and note what they converted.
``WRITERS`` maps a format name to a :class:`Writer`: a function
``write(records, fh, context) -> int`` taking export records (dicts of the
JSONL shape), with the file extension, media type and whether it writes
bytes or text (JSONL's also writes straight from the export's documents,
``write_documents``, without building the records).  (spaCy's DocBin is written outside this pure package, by
``workbench.spacy_docbin``, and registered by the export service.)
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO
from typing import Any

from workbench.domain.schema import Schema
from workbench.formats import brat
from workbench.formats import conll
from workbench.formats import doccano
from workbench.formats import html_article
from workbench.formats import jsonl
from workbench.formats import labelstudio
from workbench.formats import text
from workbench.formats._foreign import ReadOptions
from workbench.formats.records import DocumentRecord
from workbench.formats.records import ExportContext
from workbench.formats.records import ExportDocument
from workbench.formats.records import FormatError
from workbench.formats.records import PlainDocument

Reader = Callable[..., Iterator[DocumentRecord]]


def _nothing(context: ExportContext) -> str:
    """Return no text (a format with no head or tail)."""
    return ""


@dataclass(frozen=True)
class Pieces:
    """A text format whose file is a head, each record's text on its own, and a tail.

    ``record(record, context)`` must depend on nothing but the record and the
    schema (no numbering across the file), so that an export can store each
    record's text and copy it next time instead of building it
    (``services.exporting.LineStore``).  What the format cannot hold of a
    record goes to ``context.problem`` as ``write`` reports it.
    """

    record: Callable[[dict[str, Any], ExportContext], str]
    head: Callable[[ExportContext], str] = _nothing
    tail: Callable[[ExportContext], str] = _nothing


@dataclass(frozen=True)
class Tasks:
    """A text format with one entry per document, made of the document's text and each layer's (Label Studio's tasks).

    ``document(record, context)`` gives the document's part from any of its
    records, ``layer(record, context)`` a layer's part, each depending on that
    alone, so that an export can store them and copy them next time;
    ``entry(number, document, layers, state)`` puts an entry together from
    them (``layers``: ``(kind, annotator, text)`` in order; ``state`` a dict
    kept across the file, for numbers that count across it).
    """

    document: Callable[[dict[str, Any], ExportContext], str]
    layer: Callable[[dict[str, Any], ExportContext], str]
    entry: Callable[[int, str, list[tuple[str, str | None, str]], dict[str, int]], str]
    head: str = ""
    separator: str = ""
    tail: str = ""


@dataclass(frozen=True)
class Archive:
    """A binary format of files per record (brat's zip): ``part(record, context)`` gives a record's files,
    compressed and packed into a string an export can store; ``write(parts, fh, context)`` writes the
    archive of those parts, the bytes the format's ``write`` writes for the records."""

    part: Callable[[dict[str, Any], ExportContext], str]
    write: Callable[[Iterable[str], IO[bytes], ExportContext], None]


@dataclass(frozen=True)
class Writer:
    """One export format: ``write(records, fh, context) -> int``; ``binary``: ``fh`` takes bytes, else text."""

    write: Callable[[Iterable[dict[str, Any]], Any, ExportContext], int]
    extension: str
    mimetype: str
    binary: bool = False
    #: The import format that reads this back (None: cannot be read back).
    reader: str | None = None
    #: ``write_documents(batches, fh, context) -> int``: the same output straight from batches of
    #: ``ExportDocument`` (what the export reads), for a format that can skip building the records.
    write_documents: Callable[[Iterable[list[ExportDocument]], Any, ExportContext], int] | None = None
    #: The same output as ``write``, record by record (see :class:`Pieces`), for a format whose records stand alone.
    pieces: Pieces | None = None
    #: The same output as ``write``, an entry per document put together from its parts (see :class:`Tasks`).
    tasks: Tasks | None = None
    #: The same output as ``write`` from each record's stored part (see :class:`Archive`).
    archive: Archive | None = None


READERS: dict[str, Reader] = {
    "text": text.read,
    "jsonl": jsonl.read,
    "html": html_article.read,
    "brat": brat.read,
    "labelstudio": labelstudio.read,
    "doccano": doccano.read,
}
#: Readers that take a ``ReadOptions`` (label map, notes) as their fourth argument.
MAPPED_READERS = {"html", "brat", "labelstudio", "doccano"}
#: Readers the importer prefers where a format has one: the same records as
#: ``READERS`` gives, but plain documents as bare ``PlainDocument`` tuples.
PLAIN_READERS: dict[str, Callable[[str, IO[bytes], Schema], Iterator[DocumentRecord | PlainDocument]]] = {
    "jsonl": jsonl.read_items
}
WRITERS: dict[str, Writer] = {
    "jsonl": Writer(jsonl.write, ".jsonl", "application/x-ndjson", reader="jsonl", write_documents=jsonl.write_documents),
    "conll": Writer(conll.write, ".conll", "text/plain", pieces=Pieces(conll.record_text, conll.head)),
    "brat": Writer(brat.write, ".zip", "application/zip", binary=True, reader="brat",
                   archive=Archive(brat.record_part, brat.write_parts)),
    "labelstudio": Writer(
        labelstudio.write, ".json", "application/json", reader="labelstudio",
        tasks=Tasks(labelstudio.data_text, labelstudio.layer_text, labelstudio.task_text,
                    labelstudio.HEAD, labelstudio.SEPARATOR, labelstudio.TAIL),
    ),
    "doccano": Writer(doccano.write, ".jsonl", "application/x-ndjson", reader="doccano", pieces=Pieces(doccano.record_text)),
}

#: File name endings that ``detect_format`` knows, and what they mean.
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".json-lines": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".html": "html",
    ".htm": "html",
    ".zip": "brat",
}


def detect_format(filename: str, first_bytes: bytes) -> str:
    """Guess a file's format for ``--format auto``, from its name, else from its first character.

    A ``.json`` file holding a JSON array is Label Studio's export; a
    ``.jsonl`` line with ``entities`` or a ``label`` list and no ``spans`` is doccano's.

    :raise FormatError: neither the name nor the content tells.
    """
    suffix = PurePath(filename).suffix.lower()
    head = first_bytes.lstrip(b"\xef\xbb\xbf").lstrip()
    if suffix == ".json" or head.startswith(b"["):
        if head.startswith(b"["):
            return "labelstudio"
    if suffix in EXTENSIONS:
        found = EXTENSIONS[suffix]
        if found == "jsonl" and _looks_like_doccano(head):
            return "doccano"
        return found
    if head.startswith(b"{"):
        return "doccano" if _looks_like_doccano(head) else "jsonl"
    if head[:5].lower() in (b"<!doc", b"<html"):
        return "html"
    raise FormatError(
        filename,
        None,
        "cannot tell the format (name it .jsonl, .txt, .md, .html, .json or .zip, or pass --format "
        + "|".join(READERS)
        + ")",
    )


def _looks_like_doccano(head: bytes) -> bool:
    """Tell whether the first line of a JSONL file is doccano's (``entities`` or ``label``, no ``spans``)."""
    first = head.split(b"\n", 1)[0]
    return (b'"entities"' in first or b'"label"' in first) and b'"spans"' not in first


__all__ = [
    "READERS",
    "MAPPED_READERS",
    "PLAIN_READERS",
    "WRITERS",
    "EXTENSIONS",
    "DocumentRecord",
    "ExportContext",
    "FormatError",
    "Archive",
    "Pieces",
    "Tasks",
    "ReadOptions",
    "Writer",
    "detect_format",
]
