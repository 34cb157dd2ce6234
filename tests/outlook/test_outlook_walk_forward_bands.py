"""devtools/outlook_walk_forward_bands.py, the measurement docs/OUTLOOK.md quotes for the served
bands (from the model's own walk-forward errors) against the leave-one-out ones they replaced,
on the REAL bundled history."""

from __future__ import annotations

import pytest
from devtools.outlook_walk_forward_bands import START, coverages
from tests.outlook.conftest import bundled_inputs

from fuelpipe.adapters.history_files import History
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.backtest import score, walk_forward
from fuelpipe.outlook.series import Lags


def test_its_served_column_is_the_backtests_and_cng_is_nearer_nominal(history: History) -> None:
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    inputs = bundled_inputs(history, "FUEL#CNG#BR")
    measured = {h: (n, shares) for h, n, shares in coverages(inputs, lags)}
    served = {s.horizon: s for s in score(walk_forward(inputs, START, None, lags)[1])}
    for h in (1, 2, 4):
        n, (s80, s95, _, _) = measured[h]
        assert n == served[h].n
        assert (s80, s95) == (served[h].coverage80, served[h].coverage95)
    n, (s80, s95, w80, w95) = measured[4]
    assert (s80, s95) == pytest.approx((0.802, 0.946), abs=5e-4)  # docs/OUTLOOK.md
    assert (w80, w95) == pytest.approx((0.728, 0.894), abs=5e-4)
