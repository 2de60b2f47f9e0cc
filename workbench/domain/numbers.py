"""Whole numbers typed by people: query strings, CLI arguments, form boxes.

``str.isdigit()`` is true of "²" and other digits that ``int()`` refuses, and
``int()`` of thousands of digits raises; a number past 32 bits is no id the
database holds.  :func:`whole_number` answers None for all of these, so the
caller can say what it expected instead of failing.
"""

from __future__ import annotations

#: The largest id the INTEGER id columns hold (32 bits on PostgreSQL).
INT32_MAX = 2**31 - 1


def whole_number(text: str, maximum: int = INT32_MAX, *, clamp: bool = False) -> int | None:
    """Return ``text`` as a whole number from 0 to ``maximum`` when it is one in ASCII digits, else None.

    :param clamp: a larger number (of any length) is ``maximum`` instead of None,
        as a page number past the last page is.
    """
    if not (text and text.isascii() and text.isdigit()):
        return None
    if len(text) > 19:
        return maximum if clamp else None
    value = int(text)
    if value > maximum:
        return maximum if clamp else None
    return value
