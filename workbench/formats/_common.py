"""Helpers the readers share: decoding bytes safely and making ids."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Iterator
from pathlib import PurePath

from workbench.formats.records import FormatError

BOM = "\ufeff"
_SLUG_RE = re.compile(r"[^\w]+")


class Undecodable(ValueError):
    """Bytes that are not text: ``position`` is the offending byte, ``reason`` says what is wrong."""

    def __init__(self, position: int, reason: str):
        super().__init__(reason)
        self.position = position
        self.reason = reason


def decode_utf8(data: bytes) -> str:
    """Decode ``data`` as UTF-8, refusing binary data.

    :raise Undecodable: a NUL byte (a binary file) or bytes that are not UTF-8.
    """
    nul = data.find(b"\x00")
    if nul >= 0:
        raise Undecodable(nul, "a binary file (NUL byte), not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Undecodable(exc.start, f"not UTF-8 text (byte 0x{data[exc.start]:02x})") from None


def decode(filename: str, data: bytes) -> str:
    """Decode a whole file as UTF-8, refusing binary files.

    :raise FormatError: a NUL byte (a binary file) or bytes that are not UTF-8,
        with the line they are on.
    """
    try:
        return decode_utf8(data)
    except Undecodable as exc:
        raise FormatError(filename, data.count(b"\n", 0, exc.position) + 1, exc.reason) from None


def record_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, raw line)`` of a JSON-lines file, skipping blank lines and a leading byte order mark."""
    for number, raw in enumerate(stream, 1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        if raw.strip():
            yield number, raw


def slugify(value: str) -> str:
    """Return a lower-case id of word characters and dashes (``"01 Mill Closes!"`` → ``01-mill-closes``)."""
    value = unicodedata.normalize("NFKC", value).lower()
    return _SLUG_RE.sub("-", value).strip("-_") or "document"


def stem_id(filename: str) -> str:
    """Return the slugified stem of a file name (``news/01-Mill.txt`` → ``01-mill``)."""
    return slugify(PurePath(filename).stem)[:200].strip("-_") or "document"
