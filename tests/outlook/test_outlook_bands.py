"""The bands' quantiles take split-conformal's finite-sample rank: on the few dozen training
weeks of a state's short history the plain percentile covers less than nominal."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuelpipe.outlook.model import conformal_quantiles


def test_the_rank_is_ceil_of_n_plus_one_times_the_level():
    errors = np.arange(52, 0, -1, dtype=np.float64)  # 52 … 1, any order
    q80, q95 = conformal_quantiles(errors, (0.80, 0.95))
    assert (q80, q95) == (43.0, 51.0)  # ceil(53 × 0.8) = 43, ceil(53 × 0.95) = 51
    assert np.quantile(errors, 0.95) < 50  # the plain percentile: between the 49th and 50th


@pytest.mark.parametrize(("n", "want"), [(19, 19.0), (18, 18.0), (39, 38.0)])
def test_an_exact_product_is_not_rounded_up_past_it_and_the_rank_stops_at_n(n, want):
    # (19 + 1) × 0.95 is 19 exactly (in floats a hair above): the 19th, not past it.
    (q95,) = conformal_quantiles(np.arange(1, n + 1, dtype=np.float64), (0.95,))
    assert q95 == want


@given(st.lists(st.floats(0.0, 1e3, allow_nan=False), min_size=1, max_size=200))
def test_each_quantile_is_one_of_the_errors_and_grows_with_the_level(values):
    errors = np.array(values)
    q = conformal_quantiles(errors, (0.5, 0.8, 0.95))
    assert set(q.tolist()) <= set(values)
    assert q[0] <= q[1] <= q[2]
    rank = min(math.ceil(len(values) * 0.8 + 0.8 - 1e-9), len(values))
    assert q[1] == sorted(values)[rank - 1]


@pytest.mark.parametrize("n", [24, 52, 75])
def test_a_new_exchangeable_error_falls_inside_at_least_nominally(n):
    """Draws from one distribution, as the bands assume: a fresh error is below the 80% and 95%
    quantiles of n earlier ones with probability rank / (n + 1) >= the level; 20,000 seeded
    trials agree within four standard errors, and the plain percentile falls short."""
    trials = 20_000
    rng = np.random.default_rng(n)
    draws = np.abs(rng.standard_t(4, size=(trials, n + 1)))
    quantiles = np.array([conformal_quantiles(row[:n], (0.80, 0.95)) for row in draws])
    inside = (draws[:, n : n + 1] <= quantiles).mean(axis=0)
    for level, got in zip((0.80, 0.95), inside, strict=True):
        rank = math.ceil((n + 1) * level - 1e-9)
        assert rank / (n + 1) >= level
        assert got >= level - 4 * math.sqrt(level * (1 - level) / trials)
    plain = (draws[:, n] <= np.quantile(draws[:, :n], 0.95, axis=1)).mean()
    assert plain < 0.95 - 4 * math.sqrt(0.95 * 0.05 / trials)
