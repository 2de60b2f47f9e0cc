"""Helpers the readers share: decoding bytes safely and making ids."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePath

from workbench.formats.records import FormatError

BOM = "\ufeff"
_SLUG_RE = re.compile(r"[^\w]+")


def decode(filename: str, data: bytes) -> str:
    """Decode a whole file as UTF-8, refusing binary files.

    :raise FormatError: a NUL byte (a binary file) or bytes that are not UTF-8,
        with the line they are on.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        return _fail(filename, data, nul, "a binary file (NUL byte), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _fail(filename, data, exc.start, f"not UTF-8 text (byte 0x{data[exc.start]:02x})")


def _fail(filename: str, data: bytes, position: int, reason: str) -> str:
    """Raise a FormatError naming the line of byte ``position``."""
    raise FormatError(filename, data.count(b"\n", 0, position) + 1, reason)


def slugify(value: str) -> str:
    """Return a lower-case id of word characters and dashes (``"01 Mill Closes!"`` → ``01-mill-closes``)."""
    value = unicodedata.normalize("NFKC", value).lower()
    return _SLUG_RE.sub("-", value).strip("-_") or "document"


def stem_id(filename: str) -> str:
    """Return the slugified stem of a file name (``news/01-Mill.txt`` → ``01-mill``)."""
    return slugify(PurePath(filename).stem)[:200].strip("-_") or "document"
