"""Regional view of one fuel in one week, and the ethanol/gasoline parity by area."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from fuelpipe.dashboard.analysis.timeseries import TimeSeries

CHANGE_WEEKS = (4, 12, 52)
PARITY_PERCENT = 70
"""Ethanol pays off at or below 70% of the gasoline price (its energy content is about 70%)."""
PARITY_THRESHOLD = PARITY_PERCENT / 100
PRICE_DECIMALS = 3
"""ANP publishes pump prices to at most 3 decimals: parity compares them exactly in these units."""
SHOWN_DECIMALS = 2
"""The map writes prices in centavos (app.js ``viewMap``: ``fmt.money(…, 2)``, R$ 6,29), its
summary's cheapest and dearest too: states it writes at one price tie (:func:`spread`)."""
_CENTAVO = Decimal(1).scaleb(-SHOWN_DECIMALS)


def shown(price: float) -> Decimal:
    """``price`` as the page writes it, in centavos: the float's shortest decimal (ANP's own
    digits, 6.285) rounded half away from zero, as the browser's Intl.NumberFormat rounds it
    (6.285 -> 6,29 and 6.125 -> 6,13, where Python's round gives 6.28 and 6.12)."""
    return Decimal(repr(price)).quantize(_CENTAVO, rounding=ROUND_HALF_UP)


def pct_change_over(series: TimeSeries, day: date, weeks: int) -> float | None:
    """(v_day / v_{day − weeks} − 1) × 100, when both survey weeks exist."""
    values = series.as_dict()
    now, then = values.get(day), values.get(day - timedelta(weeks=weeks))
    if now is None or then is None or then == 0:
        return None
    return (now / then - 1.0) * 100.0


@dataclass(frozen=True, slots=True)
class AreaPrice:
    """One area's price in the chosen week and its changes over 4, 12 and 52 weeks (%)."""

    area: str
    price: float
    changes: dict[int, float | None]


@dataclass(frozen=True, slots=True)
class Spread:
    """How far apart the states are in one week."""

    count: int
    min_area: str
    """The area at ``min_price`` exactly (the first in code order when several are)."""
    min_price: float
    max_area: str
    """The area at ``max_price`` exactly (the first in code order when several are)."""
    max_price: float
    range: float
    std: float | None
    """Sample standard deviation (n − 1) of the state prices."""
    min_areas: tuple[str, ...] = ()
    """Every area whose price reads as the minimum's in centavos (:func:`shown`), as the
    map writes them (several when they tie), in code order."""
    max_areas: tuple[str, ...] = ()
    """Every area whose price reads as the maximum's in centavos, in code order."""


def regional_view(series_by_area: Mapping[str, TimeSeries], week: date) -> list[AreaPrice]:
    """Every area with a price in ``week``, with its changes over 4, 12 and 52 weeks."""
    out = []
    for area, series in series_by_area.items():
        price = series.as_dict().get(week)
        if price is not None:
            changes = {w: pct_change_over(series, week, w) for w in CHANGE_WEEKS}
            out.append(AreaPrice(area, price, changes))
    return out


def spread(prices: Mapping[str, float]) -> Spread | None:
    """max − min and the sample std of the given prices, or None when there are none; the
    areas at the minimum and at the maximum, all of them when several tie at the centavo the
    map writes (:func:`shown`: 6.286 and 6.294 both read R$ 6,29, and were not tied)."""
    if not prices:
        return None
    values = list(prices.values())
    lo, hi = min(values), max(values)
    lows = tuple(sorted(a for a, p in prices.items() if shown(p) == shown(lo)))
    highs = tuple(sorted(a for a, p in prices.items() if shown(p) == shown(hi)))
    return Spread(
        count=len(values),
        min_area=min(a for a, p in prices.items() if p == lo),
        min_price=lo,
        max_area=min(a for a, p in prices.items() if p == hi),
        max_price=hi,
        range=hi - lo,
        std=statistics.stdev(values) if len(values) > 1 else None,
        min_areas=lows,
        max_areas=highs,
    )


@dataclass(frozen=True, slots=True)
class Parity:
    """Ethanol over gasoline in one area and week."""

    area: str
    ethanol: float
    gasoline: float
    ratio: float
    ethanol_pays: bool


def parity(
    ethanol: Mapping[str, TimeSeries], gasoline: Mapping[str, TimeSeries], week: date
) -> list[Parity]:
    """ETHANOL/GASOLINE per area for ``week``, and whether it is at or below 0.70: compared in
    integers of the published decimals (4.34 / 6.20 is exactly 0.70, and pays), the ratio the
    quotient of those integers (4.20 / 6.00 gives 0.7, not 0.7000000000000001)."""
    scale = 10**PRICE_DECIMALS
    out = []
    for area, eth_series in ethanol.items():
        gas_series = gasoline.get(area)
        eth = eth_series.as_dict().get(week)
        gas = gas_series.as_dict().get(week) if gas_series else None
        if eth is not None and gas is not None:
            eth_units, gas_units = round(eth * scale), round(gas * scale)
            if gas_units > 0:
                pays = 100 * eth_units <= PARITY_PERCENT * gas_units
                out.append(Parity(area, eth, gas, eth_units / gas_units, pays))
    return out
