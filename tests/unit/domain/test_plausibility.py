"""Plausibility rules: a value far from every neighbour, and a value implausible on its own."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from fuelpipe.domain.models import Observation
from fuelpipe.domain.plausibility import NEIGHBOUR_FACTOR, check_observation, far_from_neighbours

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
