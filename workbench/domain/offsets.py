"""The one Python module that knows about offsets.

Offsets are half-open ``[start, end)`` ranges counted in Unicode code points
of the stored document text (Python ``str`` indices): never bytes, never
UTF-16 code units.  Browsers count UTF-16 units; ``static/js/offsets.js`` is
the JavaScript mirror of the helpers here.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from bisect import bisect_right
from typing import NamedTuple

#: The tokenizer of the dataset format: a maximal run of word characters or a
#: single other non-space character, Unicode-aware.
TOKEN_RE = re.compile(r"\w+|[^\w\s]")


class OffsetError(ValueError):
    """A span's offsets do not fit the text they refer to."""


class Span(NamedTuple):
    """A labelled half-open range of code points (a named tuple: agreement builds 10^5 of them at once)."""

    start: int
    end: int
    label: str = ""


def text_sha256(text: str) -> str:
    """Return the hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def slice_text(text: str, start: int, end: int) -> str:
    """Return the covered string of ``[start, end)`` in code points."""
    return text[start:end]


def validate(text: str, start: object, end: object, quote: str | None = None) -> None:
    """Check that ``[start, end)`` is a non-empty range inside ``text``.

    :param quote: when given, the string the caller meant to cover; it must
        equal ``text[start:end]`` exactly.
    :raise OffsetError: with a one-line reason.
    """
    if isinstance(start, bool) or isinstance(end, bool) or not isinstance(start, int) or not isinstance(end, int):
        raise OffsetError(f"offsets must be whole numbers, got start={start!r} end={end!r}")
    if start < 0 or end > len(text):
        raise OffsetError(f"span {start}-{end} lies outside the text (length {len(text)})")
    if start >= end:
        raise OffsetError(f"span {start}-{end} is empty or reversed")
    if 0 < start < len(text) and text[start - 1] == "\r" and text[start] == "\n":
        raise OffsetError(f"span {start}-{end} starts inside a CRLF line break")
    if 0 < end < len(text) and text[end - 1] == "\r" and text[end] == "\n":
        raise OffsetError(f"span {start}-{end} ends inside a CRLF line break")
    if quote is not None and text[start:end] != quote:
        raise OffsetError(
            f"span {start}-{end} covers {_short(text[start:end])!r}, not {_short(quote)!r}"
        )


def _short(value: str, limit: int = 40) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def tokens(text: str) -> list[tuple[int, int]]:
    """Return the ``(start, end)`` code-point ranges of the tokens of ``text``."""
    return list(map(re.Match.span, TOKEN_RE.finditer(text)))


def token_edges_inside(
    token_spans: list[tuple[int, int]], start: int, end: int, starts: list[int] | None = None
) -> bool:
    """Tell whether an edge of ``[start, end)`` falls strictly inside a token.

    :param token_spans: the result of :func:`tokens` for the text.
    :param starts: the tokens' start offsets, when the caller asks about many spans of one text.
    """
    if starts is None:
        starts = [s for s, _ in token_spans]
    for edge in (start, end):
        i = bisect_right(starts, edge) - 1
        if i >= 0 and token_spans[i][0] < edge < token_spans[i][1]:
            return True
    return False


def astral_positions(text: str) -> list[int]:
    """Return the UTF-16 indexes where surrogate pairs start, ascending."""
    out: list[int] = []
    shift = 0
    for i, ch in enumerate(text):
        if ord(ch) > 0xFFFF:
            out.append(i + shift)
            shift += 1
    return out


def utf16_to_cp(u16: int, astral: list[int]) -> int:
    """Convert a UTF-16 index into a code-point index (see ``astral_positions``)."""
    return u16 - bisect_left(astral, u16)


def cp_to_utf16(cp: int, astral: list[int]) -> int:
    """Convert a code-point index into a UTF-16 index (see ``astral_positions``)."""
    # astral[i] - i is the code-point index of the i-th astral character.
    lo, hi = 0, len(astral)
    while lo < hi:
        mid = (lo + hi) // 2
        if astral[mid] - mid < cp:
            lo = mid + 1
        else:
            hi = mid
    return cp + lo


def overlaps(a: Span, b: Span) -> int:
    """Return how many code points ``a`` and ``b`` share (0 when disjoint)."""
    return max(0, min(a.end, b.end) - max(a.start, b.start))
