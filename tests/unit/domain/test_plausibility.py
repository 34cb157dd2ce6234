"""Plausibility rules: a value far from every neighbour, and a value implausible on its own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import IntEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuelpipe.domain.models import Observation
from fuelpipe.domain.numbers import digits_problem
from fuelpipe.domain.plausibility import (
    NEIGHBOUR_FACTOR,
    check_observation,
    far_from_neighbours,
    set_aside,
)

PRICES = st.decimals(min_value=Decimal("-10"), max_value=Decimal("1000"), places=3)


@given(PRICES, st.lists(PRICES, max_size=2))
def test_far_means_more_than_5x_from_every_positive_neighbour(
    value: Decimal, neighbours: list[Decimal]
) -> None:
    positive = [n for n in neighbours if n > 0]
    expected = bool(positive) and all(
        value > n * NEIGHBOUR_FACTOR or value * NEIGHBOUR_FACTOR < n for n in positive
    )
    assert far_from_neighbours(value, neighbours) is expected


def test_the_5x_bound_itself_is_not_far() -> None:
    assert not far_from_neighbours(Decimal(5), [Decimal(1)])
    assert not far_from_neighbours(Decimal(1), [Decimal(5), Decimal(100)])
    assert far_from_neighbours(Decimal("5.001"), [Decimal(1), Decimal(0)])
    assert not far_from_neighbours(Decimal(100), [Decimal(0), Decimal(-3)])  # no positive one


def test_an_observation_is_checked_against_todays_date() -> None:
    today = date(2024, 5, 10)
    ok = Observation("CURRENCY#USD", today, Decimal("5.1"))
    assert check_observation(ok, today) is None
    tomorrow = Observation("CURRENCY#USD", date(2024, 5, 11), Decimal("5.1"))
    assert check_observation(tomorrow, today) == "implausible date 2024-05-11 (in the future)"
    assert "not a finite number" in str(
        check_observation(Observation("CURRENCY#USD", today, Decimal("NaN")), today)
    )
    assert "positive" in str(check_observation(Observation("STOCK#BP", today, Decimal(0)), today))


@pytest.mark.parametrize(
    ("values", "aside"),
    [
        ("77.1 780.0 78.2", {1: "77.1 78.2"}),  # the spike only: its neighbours judge nothing
        ("77 78 780", {2: "78"}),  # at an end: judged by its one neighbour
        ("780 77 78", {0: "77"}),
        ("77 780 7800 78", {1: "77 7800", 2: "77 78"}),  # the one further out first
        ("77 780 78 790 79", {1: "77 78", 3: "78 79"}),  # 78 is judged by 77 and 79
        ("77 780 78 7800", {1: "77 78", 3: "78"}),
        ("77.1 780", {0: "780", 1: "77.1"}),  # nothing tells which is wrong: both
        ("10 10 10 60 60 60", {}),  # a level, not a spike: each has a close neighbour
        ("5", {}),
        # a spike of adjacent values close to each other: judged by the values around it
        ("77 780 790 78", {1: "77 78", 2: "77 78"}),
        ("77 780 790 800 78 79", {1: "77 78", 2: "77 78", 3: "77 78"}),
        ("77 780 790 800 810 78", {0: "780", 5: "810"}),  # four days: a level; the ends go
        ("77 78 79 80 780 790", {4: "80", 5: "80"}),  # at an end, beside an established level
        ("77 78 780 790", {}),  # at an end beside two: nothing tells which is wrong
        ("10 60 40 10", {0: "60"}),  # 40 is close to 10: no spike, the lone end goes
        ("77 780 790 7800 78", {3: "790 78", 1: "77 78", 2: "77 78"}),  # the single first
        # a stored value that is not positive (new ones are checked before): set aside, and
        # measured without dividing by it
        ("77.1 0 78.2", {1: "77.1 78.2"}),
        ("77.1 780 0 78.2", {1: "77.1 78.2", 2: "780 78.2"}),
    ],
)
def test_a_value_is_never_judged_by_an_implausible_neighbour(values: str, aside: dict) -> None:
    series = [Decimal(v) for v in values.split()]
    want = {i: tuple(Decimal(v) for v in near.split()) for i, near in aside.items()}
    assert set_aside(series) == want


def test_a_value_or_attribute_too_long_to_store_exactly_is_set_aside() -> None:
    today = date(2024, 5, 10)
    long = Decimal("1." + "0" * 37 + "1")  # 39 significant digits: a store holds 38
    fits = Decimal("1." + "0" * 36 + "1")
    assert check_observation(Observation("COMMODITY#BRENT", today, fits), today) is None
    assert check_observation(Observation("COMMODITY#BRENT", today, long), today) == (
        f"value no store can keep: {long} has 39 digits written out without an "
        "exponent; a store holds at most 38 exactly"
    )
    big = Observation("STOCK#BP", today, Decimal(1), {"volume": 10**40})
    assert str(check_observation(big, today)).startswith("attribute volume no store can keep")
    assert check_observation(Observation("STOCK#BP", today, Decimal("1E+38")), today)


def test_a_number_out_of_dynamodbs_range_is_set_aside_in_both_homes() -> None:
    """Before, only the digits were checked: 1E-131 (one digit) passed, SQLite stored it and
    DynamoDB refused it ("Number underflow"), failing the whole answer on the AWS home."""
    today = date(2024, 5, 10)
    out = "is out of the range a store holds (a magnitude from 1E-130 to 9.99…E+125, or zero)"
    assert digits_problem(Decimal("1E-131")) == f"1E-131 {out}"
    assert digits_problem(Decimal("-1E-131")) == f"-1E-131 {out}"
    tiny = Decimal("0." + "0" * 130 + "1")  # its text has no exponent: 1E-131 all the same
    assert digits_problem(tiny) == f"1E-131 {out}"
    assert digits_problem(Decimal("1E+126")) == f"1E+126 {out}"
    for fits in ("1E-130", "-1E-130", "0E-200", "1.5E-7", "68.80"):
        assert digits_problem(Decimal(fits)) is None
    assert check_observation(Observation("COMMODITY#BRENT", today, Decimal("1E-131")), today) == (
        f"value no store can keep: 1E-131 {out}"
    )
    attr = Observation("STOCK#BP", today, Decimal(1), {"open": Decimal("-1E-131")})
    assert check_observation(attr, today) == f"attribute open no store can keep: -1E-131 {out}"


class _Level(IntEnum):
    HUGE = 10**40  # an int subclass: a number to check like any int


ATTR_VALUES = st.one_of(
    st.none(),
    st.text(max_size=45),  # long text, and text with an "E", is no number
    st.booleans(),  # a bool is no number either
    st.integers(min_value=-(10**45), max_value=10**45),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.decimals(allow_nan=False, allow_infinity=False, places=3),
    st.just(_Level.HUGE),
    st.just(Decimal("1E-131")),
    st.floats(allow_nan=False),  # not an attribute type: left alone
)


@given(st.dictionaries(st.text(max_size=5), ATTR_VALUES, max_size=8))
def test_the_attribute_checked_first_is_named_as_each_attribute_would_be(attrs: dict) -> None:  # type: ignore[type-arg]
    # The rule, one attribute at a time in their order: the first number (an int or a Decimal,
    # a bool is none) that digits_problem refuses names the observation's problem.
    today = date(2024, 5, 10)
    expected = None
    for name, attr in attrs.items():
        if isinstance(attr, Decimal | int) and not isinstance(attr, bool):
            problem = digits_problem(attr)
            if problem:
                expected = f"attribute {name} no store can keep: {problem}"
                break
    assert check_observation(Observation("STOCK#BP", today, Decimal(1), attrs), today) == expected
