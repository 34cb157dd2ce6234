"""Brazil's served bands against bands from the model's own walk-forward errors (not served).

The served bands of Brazil and the regions are the quantiles of each regression's leave-one-out
residuals over its whole training window: each residual's fit saw the weeks after it too, so a
drift of the coefficients over time is not in them. The states' bands are made from genuine
walk-forward errors instead (``outlook.pooled``). This measures that rule on Brazil's own
forecasts: per fuel and horizon, the served bands' coverage and that of bands from the absolute
log errors of the model's earlier forecasts whose outcome was published by the forecast's week,
within the last ``ERROR_WEEKS``, each over the fuel's volatility then, at the conformal rank,
times the volatility now; scored where at least ``LEAST`` such errors exist, from 2016-10.

    PYTHONPATH=src:. python -m devtools.outlook_walk_forward_bands
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from fuelpipe.adapters.history_files import BRENT_FUTURES_KEY, BRENT_KEY, USD_KEY, load_history
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.backtest import walk_forward
from fuelpipe.outlook.model import build_samples, conformal_quantiles
from fuelpipe.outlook.params import HORIZONS, Params
from fuelpipe.outlook.series import Inputs, Lags, day_number, inputs_for

ROOT = Path(__file__).resolve().parents[1]
FUELS = ("GASOLINE", "ETHANOL", "DIESEL_S10", "DIESEL", "LPG", "CNG", "GASOLINE_PREMIUM")
START = date(2016, 10, 1)
ERROR_WEEKS = 104  # the states' PoolParams.error_weeks
LEAST = 20


def coverages(inputs: Inputs, lags: Lags) -> list[tuple[int, int, tuple[float, ...]]]:
    """Per horizon: (horizon, n, (served 80%, served 95%, walk-forward 80%, walk-forward 95%))."""
    samples = build_samples(inputs, lags, Params())
    vol = dict(zip(samples.weeks.tolist(), samples.vol.tolist(), strict=True))
    log_price = dict(zip(samples.weeks.tolist(), samples.log_price.tolist(), strict=True))
    forecasts, _ = walk_forward(inputs, None, None, lags)
    out: list[tuple[int, int, tuple[float, ...]]] = []
    for c, h in enumerate(HORIZONS):
        errors: list[tuple[int, float]] = []  # (target day, |log error| / volatility then)
        held: list[tuple[bool, bool, bool, bool]] = []
        for made in forecasts:
            week = day_number(made.last_week)
            step = made.steps[c]
            target = week + 7 * h
            actual = log_price.get(target)
            if actual is None:
                continue  # the survey skipped that week
            mean = float(np.log(step.point))
            past = [e for d, e in errors if week - 7 * ERROR_WEEKS < d <= week]
            if target >= day_number(START) and len(past) >= LEAST:
                q80, q95 = conformal_quantiles(np.array(past), (0.80, 0.95)) * vol[week]
                price = float(np.exp(actual))
                held.append(
                    (
                        step.lo80 <= price <= step.hi80,
                        step.lo95 <= price <= step.hi95,
                        abs(actual - mean) <= q80,
                        abs(actual - mean) <= q95,
                    )
                )
            errors.append((target, abs(actual - mean) / vol[week]))
        shares = tuple(float(x) for x in np.mean(np.array(held, dtype=float), axis=0))
        out.append((h, len(held), shares))
    return out


def main() -> None:
    """Print the table."""
    history = load_history(ROOT / "datasets", with_areas=False)
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    print("fuel | h | n | served 80/95 | walk-forward errors 80/95")
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
