"""Readers and writers of dataset formats (pure: stdlib and ``workbench.domain`` only).

``READERS`` maps a format name to a function
``read(filename, stream, schema) -> Iterator[DocumentRecord]`` that raises
:class:`FormatError` (``file:line: reason``) on the first problem.
``WRITERS`` maps a format name to a function ``write(records, fh) -> int``
taking export records (dicts of the JSONL shape) and returning how many it
wrote.  New formats (brat, Label Studio, doccano, CoNLL, spaCy) plug in here.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import PurePath
from typing import IO
from typing import Any

from workbench.domain.schema import Schema
from workbench.formats import jsonl
from workbench.formats import text
from workbench.formats.records import DocumentRecord
from workbench.formats.records import FormatError
from workbench.formats.records import PlainDocument

Reader = Callable[[str, IO[bytes], Schema], Iterator[DocumentRecord]]
Writer = Callable[[Iterable[dict[str, Any]], IO[str]], int]

READERS: dict[str, Reader] = {"text": text.read, "jsonl": jsonl.read}
#: Readers the importer prefers where a format has one: the same records as
#: ``READERS`` gives, but plain documents as bare ``PlainDocument`` tuples.
PLAIN_READERS: dict[str, Callable[[str, IO[bytes], Schema], Iterator[DocumentRecord | PlainDocument]]] = {
    "jsonl": jsonl.read_items
}
WRITERS: dict[str, Writer] = {"jsonl": jsonl.write}

#: File name endings that ``detect_format`` knows, and what they mean.
EXTENSIONS = {".jsonl": "jsonl", ".json-lines": "jsonl", ".ndjson": "jsonl", ".txt": "text", ".md": "text", ".markdown": "text"}


def detect_format(filename: str, first_bytes: bytes) -> str:
    """Guess a file's format for ``--format auto``, from its name, else from its first character.

    :raise FormatError: neither the name nor the content tells.
    """
    suffix = PurePath(filename).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    head = first_bytes.lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"{"):
        return "jsonl"
    raise FormatError(
        filename, None, "cannot tell the format (name it .jsonl, .txt or .md, or pass --format text|jsonl)"
    )


__all__ = ["READERS", "PLAIN_READERS", "WRITERS", "EXTENSIONS", "DocumentRecord", "FormatError", "detect_format"]
