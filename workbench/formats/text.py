"""Plain-text and markdown articles: one document per file.

The header block (a headline, a "By ..." line, a date line) becomes the
title and metadata; an "Original url:" section becomes ``meta["url"]``; the
rest is the stored text.  Before any offset exists a UTF-8 byte order mark is
dropped and CRLF/CR line breaks become LF; nothing else changes (markup such
as ``<u>said</u>`` stays literal characters).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import IO
from typing import Any

from workbench.domain.schema import Schema
from workbench.formats._common import BOM
from workbench.formats._common import decode
from workbench.formats._common import stem_id
from workbench.formats.records import DocumentRecord
from workbench.formats.records import FormatError

MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        1,
    )
    for name in names
}
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_WEEKDAY = r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s+)?"
_TIME = r"(?:[,\s]+(?:\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*(?:[A-Z]{2,4})?|updated.*))?"
DATE_RES = [
    re.compile(rf"^{_WEEKDAY}(?P<year>\d{{4}})-(?P<mnum>\d{{2}})-(?P<day>\d{{2}}){_TIME}$", re.I),
    re.compile(rf"^{_WEEKDAY}{_MONTH}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}}){_TIME}$", re.I),
    re.compile(rf"^{_WEEKDAY}(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+{_MONTH},?\s+(?P<year>\d{{4}}){_TIME}$", re.I),
]
# A byline names someone; a sentence that happens to start with "By" ends in punctuation.
BYLINE_RE = re.compile(r"^by\s+(?P<who>\S.{0,79}?)\s*$(?<![.!?:;])", re.I)
HEADING_RE = re.compile(r"^#{1,6}\s+(?P<title>.*?)\s*#*\s*$")
URL_RE = re.compile(r"^(?:#{1,6}\s*)?original\s+url\s*:?\s*(?P<rest>.*)$", re.I)


def parse_date(line: str) -> str | None:
    """Return ``YYYY-MM-DD`` when ``line`` is a date line (``December 05, 2024``, ``5 Dec 2024``, ``2024-12-05``), else None."""
    line = line.strip()
    for pattern in DATE_RES:
        match = pattern.match(line)
        if match is None:
            continue
        parts = match.groupdict()
        month = int(parts["mnum"]) if parts.get("mnum") else MONTHS.get(parts["month"].lower())
        if month is None:
            return None
        try:
            return date(int(parts["year"]), month, int(parts["day"])).isoformat()
        except ValueError:
            return None
    return None


def normalise(text: str) -> str:
    """Drop a leading byte order mark and turn CRLF and CR line breaks into LF."""
    if text.startswith(BOM):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def parse_article(filename: str, text: str) -> tuple[str, dict[str, Any], str]:
    """Split a normalised article into ``(title, meta, body)``.

    The headline is a markdown heading, or else the first line when a byline
    or date line follows it; a file with neither keeps all its lines as the
    body and takes its first line as the title.

    :raise FormatError: the file holds no article text.
    """
    lines = text.split("\n")
    n = len(lines)
    meta: dict[str, Any] = {}
    i = 0
    while i < n and not lines[i].strip():
        i += 1
    if i == n:
        raise FormatError(filename, None, "empty file (no text)")
    first = lines[i].strip()
    heading = HEADING_RE.match(first)
    j = _skip_blank(lines, i + 1)
    has_header_line = j < n and _header_line(lines[j]) is not None
    body_start = i
    title = ""
    if heading is not None or has_header_line:
        title = heading.group("title") if heading is not None else first
        body_start = i + 1
        k = _skip_blank(lines, body_start)
        while k < n:
            found = _header_line(lines[k])
            if found is None or found[0] in meta:
                break
            key, value = found
            if key == "byline":
                meta["byline"] = lines[k].strip()
                meta["source"] = value
            else:
                meta["published"] = value
            body_start = k + 1
            k = _skip_blank(lines, body_start)
    else:
        title = first
    body_lines = lines[body_start:]
    body_lines, url = _cut_url(body_lines)
    if url:
        meta["url"] = url
    while body_lines and not body_lines[0].strip():
        body_lines.pop(0)
    while body_lines and not body_lines[-1].strip():
        body_lines.pop()
    if not body_lines:
        raise FormatError(filename, body_start + 1 if body_start < n else None, "no article text after the header")
    if title:
        meta = {"title": title, **meta}
    return title, meta, "\n".join(body_lines)


def _skip_blank(lines: list[str], i: int) -> int:
    """Return the index of the first non-blank line from ``i`` on (``len(lines)`` if none)."""
    while i < len(lines) and not lines[i].strip():
        i += 1
    return i


def _header_line(line: str) -> tuple[str, str] | None:
    """Return ``("byline", who)`` or ``("published", iso date)`` for a header line, else None."""
    stripped = line.strip()
    match = BYLINE_RE.match(stripped)
    if match is not None:
        return "byline", match.group("who").strip()
    published = parse_date(stripped)
    if published is not None:
        return "published", published
    return None


def _cut_url(lines: list[str]) -> tuple[list[str], str]:
    """Remove the first "Original url:" section; return the remaining lines and the URL (whitespace removed)."""
    for i, line in enumerate(lines):
        match = URL_RE.match(line.strip())
        if match is None:
            continue
        rest = match.group("rest").strip()
        end = i + 1
        if not rest:
            k = _skip_blank(lines, i + 1)
            if k < len(lines):
                rest = lines[k].strip()
                end = k + 1
        return lines[:i] + lines[end:], "".join(rest.split())
    return lines, ""


def read(filename: str, stream: IO[bytes], schema: Schema | None = None) -> Iterator[DocumentRecord]:
    """Read one article from ``stream`` as one plain document.

    :raise FormatError: a binary, non-UTF-8, empty or header-only file.
    """
    yield parse_bytes(filename, stream.read())


def parse_bytes(filename: str, data: bytes) -> DocumentRecord:
    """Return the one plain document of a whole article file's bytes (what :func:`read` yields).

    :raise FormatError: a binary, non-UTF-8, empty or header-only file.
    """
    text = normalise(decode(filename, data))
    title, meta, body = parse_article(filename, text)
    meta["filename"] = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return DocumentRecord(external_id=stem_id(filename), text=body, meta=meta, title=title, line=1)
