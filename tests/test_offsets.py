"""The offset module: code points, UTF-16 conversion, tokens, validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from workbench.domain import offsets
from workbench.domain.offsets import token_range
from workbench.domain.offsets import tokens

FAMILY = "\U0001F469\u200d\U0001F469\u200d\U0001F467"  # 👩‍👩‍👧: 5 code points, 8 UTF-16 units
DOUBLE_STRUCK_X = "\U0001D54F"  # 𝕏
E_DECOMPOSED = "e\u0301"  # é as e + combining acute


@pytest.mark.parametrize(
    "text, start, end, expected",
    [
        ("ab😀c", 2, 3, "😀"),
        ("x\ny", 0, 3, "x\ny"),
        (FAMILY + " Anna", 6, 10, "Anna"),
        ("Пётр сказал", 0, 4, "Пётр"),
        ("caf" + E_DECOMPOSED + " noir", 0, 5, "caf" + E_DECOMPOSED),
        (DOUBLE_STRUCK_X + " Corp", 2, 6, "Corp"),
    ],
)
def test_slice_uses_code_points(text, start, end, expected):
    assert offsets.slice_text(text, start, end) == expected


@pytest.mark.parametrize(
    "text, start, end, quote, reason",
    [
        ("abc", 0, 4, None, "outside the text"),
        ("abc", -1, 2, None, "outside the text"),
        ("abc", 2, 2, None, "empty or reversed"),
        ("abc", 2, 1, None, "empty or reversed"),
        ("abc", "0", 1, None, "whole numbers"),
        ("abc", True, 1, None, "whole numbers"),
        ("abc", 0, 2, "ac", "covers 'ab', not 'ac'"),
        ("a\r\nb", 2, 4, None, "starts inside a CRLF"),
        ("a\r\nb", 0, 2, None, "ends inside a CRLF"),
    ],
)
def test_validate_rejects_with_a_reason(text, start, end, quote, reason):
    with pytest.raises(offsets.OffsetError, match=reason):
        offsets.validate(text, start, end, quote)


def test_validate_accepts_a_span_over_crlf_whole():
    offsets.validate("a\r\nb", 0, 4, "a\r\nb")
    offsets.validate("a\r\nb", 3, 4, "b")


def test_tokens_follow_the_format_regex():
    text = "Brown's spokesman told AFP: «да» 4,400 jobs."
    got = [text[s:e] for s, e in offsets.tokens(text)]
    assert got == ["Brown", "'", "s", "spokesman", "told", "AFP", ":", "«", "да", "»", "4", ",", "400", "jobs", "."]


def test_tokens_give_combining_marks_their_own_token():
    # \w does not match U+0301, so the format's tokenizer splits it off; the
    # browser widens to graphemes after snapping (docs/format.md).
    text = "caf" + E_DECOMPOSED
    assert offsets.tokens(text) == [(0, 4), (4, 5)]


def test_token_edges_inside():
    text = "Anna Berg said"
    toks = offsets.tokens(text)
    assert not offsets.token_edges_inside(toks, 0, 9)
    assert offsets.token_edges_inside(toks, 1, 9)
    assert offsets.token_edges_inside(toks, 0, 7)


@pytest.mark.parametrize(
    "text",
    ["plain ascii", FAMILY + "x" + DOUBLE_STRUCK_X + "y🇩🇪z", "Пётр" + DOUBLE_STRUCK_X, DOUBLE_STRUCK_X * 3, "a\r\nb😀\rc"],
)
def test_utf16_round_trip_matches_real_utf16(text):
    astral = offsets.astral_positions(text)
    for cp in range(len(text) + 1):
        u16 = len(text[:cp].encode("utf-16-le")) // 2
        assert offsets.cp_to_utf16(cp, astral) == u16
        assert offsets.utf16_to_cp(u16, astral) == cp


def test_text_sha256_is_of_utf8():
    import hashlib

    assert offsets.text_sha256("Пётр 😀") == hashlib.sha256("Пётр 😀".encode()).hexdigest()


def test_overlaps_counts_shared_code_points():
    assert offsets.overlaps(offsets.Span(0, 5), offsets.Span(3, 9)) == 2
    assert offsets.overlaps(offsets.Span(0, 3), offsets.Span(3, 9)) == 0


_PIECES = ["Anna", "Иван", "😀", "e\u0301", "_", "42", " ", "\r\n", "\t", ",", "«", "»", "x", "\u00a0", "日本"]


@given(st.lists(st.sampled_from(_PIECES), max_size=12), st.integers(0, 40), st.integers(0, 40))
@settings(max_examples=400, deadline=None)
def test_token_range_agrees_with_the_listed_tokens(pieces, start, end):
    """token_range (counted in C) gives what mapping the edges onto tokens() gives, for every range."""
    text = "".join(pieces)
    spans = tokens(text)
    starts = {s: i for i, (s, _e) in enumerate(spans)}
    ends = {e: i for i, (_s, e) in enumerate(spans)}
    first, last = starts.get(start), ends.get(end)
    expected = (first, last) if start < end <= len(text) and first is not None and last is not None and first <= last else None
    assert token_range(text, start, end) == expected
