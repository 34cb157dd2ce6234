"""Brazil's served bands against the leave-one-out bands they replaced.

The served bands of Brazil and the regions are made from the model's own walk-forward errors
(``outlook.model.walked_scales``): per fuel and horizon, the absolute log errors of the model's
earlier forecasts whose outcome was published by the forecast's week, within the last
``Params.error_weeks``, each over the fuel's volatility then, at the conformal rank, times the
volatility now; the leave-one-out ones where fewer than ``Params.least_errors`` such errors
exist. The leave-one-out bands (every forecast's, here) are the quantiles of each regression's
residuals over its whole training window: each residual's fit saw the weeks after it too, so a
drift of the coefficients over time is not in them. This prints both coverages per fuel and
horizon, Brazil's forecast weeks from 2016-10, the same weeks and points.

    PYTHONPATH=src:. python -m devtools.outlook_walk_forward_bands
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from fuelpipe.adapters.history_files import BRENT_FUTURES_KEY, BRENT_KEY, USD_KEY, load_history
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.backtest import score, walk_forward
from fuelpipe.outlook.params import Params
from fuelpipe.outlook.series import Inputs, Lags, inputs_for

ROOT = Path(__file__).resolve().parents[1]
FUELS = ("GASOLINE", "ETHANOL", "DIESEL_S10", "DIESEL", "LPG", "CNG", "GASOLINE_PREMIUM")
START = date(2016, 10, 1)
LEAVE_ONE_OUT = Params(least_errors=10**9)
"""The model with every forecast's bands from its leave-one-out residuals (never enough
walk-forward errors): the bands served before."""


def coverages(inputs: Inputs, lags: Lags) -> list[tuple[int, int, tuple[float, ...]]]:
    """Per served horizon (1 to 5): (horizon, n, (served 80%, served 95%, leave-one-out 80%,
    95%))."""
    served = score(walk_forward(inputs, START, None, lags)[1])
    loo = score(walk_forward(inputs, START, None, lags, LEAVE_ONE_OUT)[1])
    return [
        (s.horizon, s.n, (s.coverage80, s.coverage95, o.coverage80, o.coverage95))
        for s, o in zip(served, loo, strict=True)
    ]


def main() -> None:
    """Print the table."""
    history = load_history(ROOT / "datasets", with_areas=False)
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    print("fuel | h | n | served (walk-forward errors) 80/95 | leave-one-out 80/95")
    for fuel in FUELS:
        inputs = inputs_for(
            history.series,
            f"FUEL#{fuel}#BR",
            usd_key=USD_KEY,
            brent_key=BRENT_KEY,
            futures_key=BRENT_FUTURES_KEY,
        )
        for h, n, (s80, s95, w80, w95) in coverages(inputs, lags):
            print(f"{fuel} | {h} | {n} | {s80:.3f}/{s95:.3f} | {w80:.3f}/{w95:.3f}")


if __name__ == "__main__":
    main()
