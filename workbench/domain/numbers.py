"""Whole numbers typed by people: query strings, CLI arguments, form boxes.

``str.isdigit()`` is true of "²" and other digits that ``int()`` refuses, and
``int()`` of thousands of digits raises; a number past 32 bits is no id the
database holds.  :func:`whole_number` answers None for all of these, so the
caller can say what it expected instead of failing.
"""

from __future__ import annotations

#: The largest id the INTEGER id columns hold (32 bits on PostgreSQL).
INT32_MAX = 2**31 - 1


def whole_number(text: str, maximum: int = INT32_MAX) -> int | None:
    """Return ``text`` as a whole number from 0 to ``maximum`` when it is one in ASCII digits, else None."""
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None
