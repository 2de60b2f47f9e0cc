"""Whole numbers typed by people: only ASCII digits, within the id columns' range."""

from __future__ import annotations

import pytest

from workbench.domain.numbers import INT32_MAX
from workbench.domain.numbers import whole_number


@pytest.mark.parametrize(
    ("text", "value"),
    [("0", 0), ("7", 7), ("0012", 12), (str(INT32_MAX), INT32_MAX), (str(INT32_MAX + 1), None), ("", None),
     ("²", None), ("٣", None), ("12a", None), ("-3", None), (" 4", None), ("9" * 5000, None), ("1.0", None)],
)
def test_whole_number(text, value):
    assert whole_number(text) == value


def test_a_larger_maximum():
    assert whole_number(str(2**40), maximum=2**63 - 1) == 2**40


def test_clamped_numbers_past_the_maximum_are_the_maximum():
    assert whole_number("9" * 5000, 100, clamp=True) == 100
    assert whole_number("101", 100, clamp=True) == 100
    assert whole_number("²", 100, clamp=True) is None
