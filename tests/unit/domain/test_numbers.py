"""domain/numbers.py: a float's text with no exponent, as every CSV of fuelpipe writes it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuelpipe.domain.numbers import positional


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0000123, "0.0000123"),
        (1.2e-05, "0.000012"),
        (5.99, "5.99"),
        (1e16, "10000000000000000"),
        (-0.0, "-0.0"),
        (457.307607, "457.307607"),
    ],
)
def test_a_float_is_written_without_an_exponent(value: float, text: str) -> None:
    assert positional(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_the_text_reads_back_as_the_same_float(value: float) -> None:
    text = positional(value)
    assert "e" not in text.lower()
    assert float(text) == value
