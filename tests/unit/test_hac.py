"""Fixed-b p-values of a t statistic with a Bartlett (Newey-West) variance."""

from __future__ import annotations

import math

import pytest

from fuelpipe.hac import fixed_b_critical, fixed_b_p_value


@pytest.mark.parametrize("b", [0.0, 0.05, 0.13, 0.3, 0.6, 1.0])
def test_the_p_value_is_five_percent_at_the_five_percent_critical_value(b: float) -> None:
    assert fixed_b_p_value(fixed_b_critical(b), b) == pytest.approx(0.05, abs=1e-6)
    assert fixed_b_p_value(-fixed_b_critical(b), b) == pytest.approx(0.05, abs=1e-6)


@pytest.mark.parametrize(
    ("b", "table", "level"),
    # Kiefer and Vogelsang's 90% and 99% quantiles (two-sided 20% and 2%), at b = 0.1
    [(0.1, 1.4167, 0.20), (0.1, 2.7468, 0.02)],
)
def test_the_p_value_is_exact_at_the_other_tabled_levels(
    b: float, table: float, level: float
) -> None:
    assert fixed_b_p_value(table, b) == pytest.approx(level, abs=2e-4)


def test_at_b_zero_it_is_the_normal_p_value_at_the_tabled_levels_and_near_it_between() -> None:
    assert fixed_b_p_value(1.959964, 0.0) == pytest.approx(0.05, abs=1e-4)
    assert fixed_b_p_value(1.0, 0.0) == pytest.approx(math.erfc(1.0 / math.sqrt(2)), abs=0.03)
    assert fixed_b_p_value(3.0, 0.0) == pytest.approx(math.erfc(3.0 / math.sqrt(2)), rel=0.5)


def test_a_wider_bandwidth_gives_the_same_statistic_a_larger_p_value() -> None:
    ps = [fixed_b_p_value(2.2, b) for b in (0.0, 0.05, 0.1, 0.2, 0.4)]
    assert ps == sorted(ps) and ps[0] < 0.05 < ps[-1]
    stats = [fixed_b_p_value(t, 0.1) for t in (0.0, 0.5, 1.5, 2.0, 2.5, 3.5, 6.0)]
    assert stats == sorted(stats, reverse=True) and stats[0] == 1.0
    assert math.isnan(fixed_b_p_value(math.nan, 0.1))
