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


_SPACE = re.compile(r"\s")
_WORD = re.compile(r"\w")


def token_range(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Return the indexes (in :func:`tokens`) of the first and last tokens ``[start, end)`` covers, edge to edge.

    None when an edge of the range is not a token's edge (it cuts a token, or
    is a space) or the range is empty. Found without listing the tokens: a
    token starts at ``i`` when ``text[i]`` is no space and is not a word
    character right after another (a maximal run of them), and ends likewise;
    the tokens before an edge are then those of the text cut there, and those
    covered those of the range, which the regular expression counts in C.
    """
    if not 0 <= start < end <= len(text):
        return None
    if _SPACE.match(text, start) or _SPACE.match(text, end - 1):
        return None
    if start > 0 and _WORD.match(text, start) and _WORD.match(text, start - 1):
        return None
    if end < len(text) and _WORD.match(text, end) and _WORD.match(text, end - 1):
        return None
    first = len(TOKEN_RE.findall(text, 0, start))
    return first, first + len(TOKEN_RE.findall(text, start, end)) - 1


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


#: A character outside the Basic Multilingual Plane: two UTF-16 units (a surrogate pair).
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def astral_positions(text: str) -> list[int]:
    """Return the UTF-16 indexes where surrogate pairs start, ascending.

    The regular expression finds the astral characters (in C; most texts
    have none); the i-th of them starts i units further on in UTF-16.
    """
    return [match.start() + shift for shift, match in enumerate(_ASTRAL.finditer(text))]


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


#: How another tool may have counted offsets, most likely first.  Label Studio
#: counts what the browser counts (UTF-16 units); tools whose text went
#: through a browser's text box see CRLF line breaks as one LF.
OFFSET_UNITS = (
    "code points",
    "UTF-16 units",
    "code points of the text with CRLF read as LF",
    "UTF-16 units of the text with CRLF read as LF",
)


class ForeignOffsets:
    """Convert another tool's offsets into code points of ``text`` (the text as stored).

    ``convert(unit, start, end)`` maps a range counted in one of
    :data:`OFFSET_UNITS` onto ``text``; :meth:`units` lists those that can
    differ from code points for this text.
    """

    def __init__(self, text: str) -> None:
        """Prepare the conversions for ``text``."""
        self.text = text
        self.astral = astral_positions(text)
        self.lf_text = text.replace("\r\n", "\n") if "\r\n" in text else text
        # LF-text positions of the line breaks that are CRLF in ``text``.
        self.crlf: list[int] = []
        if self.lf_text is not text:
            shift = 0
            for match in re.finditer("\r\n", text):
                self.crlf.append(match.start() - shift)
                shift += 1
        self.lf_astral = astral_positions(self.lf_text) if self.crlf else self.astral

    def units(self) -> tuple[str, ...]:
        """Return the units worth trying for this text (code points always first)."""
        out = [OFFSET_UNITS[0]]
        if self.astral:
            out.append(OFFSET_UNITS[1])
        if self.crlf:
            out.append(OFFSET_UNITS[2])
            if self.astral:
                out.append(OFFSET_UNITS[3])
        return tuple(out)

    def convert(self, unit: str, start: int, end: int) -> tuple[int, int]:
        """Return ``(start, end)`` in code points of ``text`` for a range counted in ``unit``."""
        if unit == OFFSET_UNITS[0]:
            return start, end
        if unit == OFFSET_UNITS[1]:
            return utf16_to_cp(start, self.astral), utf16_to_cp(end, self.astral)
        if unit == OFFSET_UNITS[3]:
            start, end = utf16_to_cp(start, self.lf_astral), utf16_to_cp(end, self.lf_astral)
        return start + bisect_left(self.crlf, start), end + bisect_left(self.crlf, end)

    def to_unit(self, unit: str, start: int, end: int) -> tuple[int, int]:
        """Return the code-point range ``[start, end)`` of ``text`` counted in ``unit`` (the inverse of :meth:`convert`)."""
        if unit == OFFSET_UNITS[0]:
            return start, end
        if unit == OFFSET_UNITS[1]:
            return cp_to_utf16(start, self.astral), cp_to_utf16(end, self.astral)
        # Code points of text -> code points of the LF text: drop the CRs before.
        crs = [p + i for i, p in enumerate(self.crlf)]  # where each CR sits in ``text``
        start, end = start - bisect_left(crs, start), end - bisect_left(crs, end)
        if unit == OFFSET_UNITS[3]:
            return cp_to_utf16(start, self.lf_astral), cp_to_utf16(end, self.lf_astral)
        return start, end

    def fits(self, unit: str, start: int, end: int, quote: str | None) -> bool:
        """Tell whether the range read in ``unit`` is a valid span of ``text`` (covering ``quote`` when given)."""
        s, e = self.convert(unit, start, end)
        try:
            validate(self.text, s, e, quote)
        except OffsetError:
            return False
        return True

    def boundary_score(self, unit: str, ranges: list[tuple[int, int]]) -> int:
        """Count how many edges of ``ranges`` (read in ``unit``) fall on token boundaries (for ranges without a quote)."""
        score = 0
        text = self.text
        for start, end in ranges:
            s, e = self.convert(unit, start, end)
            if not (0 <= s < e <= len(text)):
                return -1
            score += (s == 0 or not (text[s - 1].isalnum() and text[s].isalnum()))
            score += (e == len(text) or not (text[e - 1].isalnum() and text[e].isalnum()))
        return score


def choose_unit(text: str, ranges: list[tuple[int, int, str | None]]) -> tuple[ForeignOffsets, str]:
    """Return the converter for ``text`` and the unit that fits the most of ``ranges`` ``(start, end, quote)``.

    A unit under which every quoted range covers its quote wins; among units
    that fit equally, the one putting more unquoted edges on token boundaries,
    and then the earlier unit in :data:`OFFSET_UNITS` (code points).
    """
    converter = ForeignOffsets(text)
    units = converter.units()
    if len(units) == 1:
        return converter, units[0]
    unquoted = [(s, e) for s, e, q in ranges if q is None]
    best = units[0]
    best_key: tuple[int, int] | None = None
    for unit in units:
        fitting = sum(converter.fits(unit, s, e, q) for s, e, q in ranges)
        key = (fitting, converter.boundary_score(unit, unquoted) if unquoted else 0)
        if best_key is None or key > best_key:
            best, best_key = unit, key
    return converter, best
