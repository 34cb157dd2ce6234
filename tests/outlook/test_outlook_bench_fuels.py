"""The outlook's backtest table (bench/bench_outlook.py → docs/OUTLOOK_BACKTEST.md) scores every
fuel whose Brazil outlook the pipeline serves.

It scored the CLI's default five only, while the stage forecasts every weekly fuel the catalog
has: CNG's bands (80% covering 0.73 at four weeks) and premium gasoline's forecasts (worse than
no change at four weeks) were served and never reported.
"""

from __future__ import annotations

from bench.bench_outlook import CLASS_FUELS, FUELS, GOAL_FUELS

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.stages.outlook import fuel_series


def test_the_backtest_table_has_every_fuel_brazil_is_served() -> None:
    served = {s.product for s in fuel_series(DEFAULT_CATALOG) if s.area == "BR"}
    assert {"CNG", "GASOLINE_PREMIUM"} <= served  # the two the table lacked
    assert set(FUELS) == served


def test_the_classes_and_the_goal_keep_their_fuels() -> None:
    assert set(GOAL_FUELS) <= set(CLASS_FUELS) <= set(FUELS)
    assert CLASS_FUELS == ("GASOLINE", "ETHANOL", "DIESEL_S10", "DIESEL", "LPG")
