"""The outlook's inputs as arrays, and what of them is known at an as-of time.

Pure: no I/O, no clock. Dates are numpy ``datetime64[D]`` day numbers; values are floats.
A value dated ``d`` is known at ``as_of`` when the start of ``d`` (São Paulo time) plus its
series' publication lag (the catalog's ``available_after``) is not after ``as_of``. That one
rule decides what every forecast may use, in the backtest and in the stored outlook alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt

from fuelpipe.domain.catalog import Catalog
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.keys import Kind, commodity_key, currency_key

Days = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

FUEL_LAG = timedelta(days=7)
PTAX_LAG = timedelta(hours=14)
FRED_LAG = timedelta(days=7)
FUTURES_LAG = timedelta(hours=20)
"""Defaults equal to the catalog's ``available_after`` of each series (the stage passes those)."""


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def day_number(day: date) -> int:
    """Days since 1970-01-01 (plain ordinals: ~10x faster than a numpy datetime64 per call)."""
    return day.toordinal() - _EPOCH_ORDINAL


def day_of(number: int) -> date:
    """The inverse of :func:`day_number`."""
    return date(1970, 1, 1) + timedelta(days=int(number))


def cutoff(as_of: datetime, lag: timedelta) -> int:
    """The last day number whose value, published ``lag`` after its start, is known at as_of."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must carry a time zone")
    local = (as_of.astimezone(SAO_PAULO) - lag).replace(tzinfo=None)
    return day_number(local.date())


def known_at(day: date, lag: timedelta) -> datetime:
    """The first instant a value dated ``day`` is known (start of day in São Paulo + lag)."""
    return datetime.combine(day, time(0), SAO_PAULO) + lag


@dataclass(frozen=True, slots=True)
class Series:
    """One series: strictly increasing day numbers and positive finite values."""

    days: Days
    values: Floats

    @classmethod
    def of(cls, points: Iterable[tuple[date, float]]) -> Series:
        """Build from (date, value) pairs; duplicates keep the last, bad values are dropped."""
        merged: dict[int, float] = {}
        for day, value in points:
            v = float(value)
            if math.isfinite(v) and v > 0:
                merged[day_number(day)] = v
        days = np.array(sorted(merged), dtype=np.int64)
        values = np.array([merged[int(d)] for d in days], dtype=np.float64)
        return cls(days, values)

    @classmethod
    def empty(cls) -> Series:
        """No values."""
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.days)

    def upto(self, last_day: int) -> Series:
        """Only the values dated on or before ``last_day``."""
        n = int(np.searchsorted(self.days, last_day, side="right"))
        return Series(self.days[:n], self.values[:n])

    def at_or_before(self, days: Days | int) -> Floats:
        """The latest value on or before each day (NaN before the first value)."""
        where = np.searchsorted(self.days, days, side="right") - 1
        out = np.where(where >= 0, self.values[np.maximum(where, 0)], np.nan)
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything one area's outlook reads: its weekly fuel price and the daily drivers."""

    fuel: Series
    """Survey weeks, dated by their Sunday (ANP's DATA INICIAL)."""
    brent: Series
    """Brent spot, USD/bbl (FRED DCOILBRENTEU)."""
    usd: Series
    """PTAX USD/BRL (sell)."""
    futures: Series
    """Brent front-month futures BZ=F, USD/bbl; may be empty."""


@dataclass(frozen=True, slots=True)
class Lags:
    """Publication lag of each input (the catalog's ``available_after``)."""

    fuel: timedelta = FUEL_LAG
    brent: timedelta = FRED_LAG
    usd: timedelta = PTAX_LAG
    futures: timedelta = FUTURES_LAG

    @classmethod
    def from_catalog(cls, catalog: Catalog) -> Lags:
        """The lags the catalog gives its series (the defaults where it lacks one)."""

        def lag(key: str, default: timedelta) -> timedelta:
            return catalog[key].available_after if key in catalog else default

        fuel = next((s.available_after for s in catalog if s.kind is Kind.FUEL), FUEL_LAG)
        return cls(
            fuel=fuel,
            brent=lag(commodity_key("BRENT"), FRED_LAG),
            usd=lag(currency_key("USD"), PTAX_LAG),
            futures=lag(commodity_key("BRENT_FUTURES"), FUTURES_LAG),
        )


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """The last known day of each input at one as-of time."""

    fuel: int
    brent: int
    usd: int
    futures: int

    @classmethod
    def at(cls, as_of: datetime, lags: Lags) -> Cutoffs:
        """Each input's cutoff at as_of."""
        return cls(
            fuel=cutoff(as_of, lags.fuel),
            brent=cutoff(as_of, lags.brent),
            usd=cutoff(as_of, lags.usd),
            futures=cutoff(as_of, lags.futures),
        )


def truncate(inputs: Inputs, cut: Cutoffs) -> Inputs:
    """The inputs as they were known at the cutoffs."""
    return Inputs(
        fuel=inputs.fuel.upto(cut.fuel),
        brent=inputs.brent.upto(cut.brent),
        usd=inputs.usd.upto(cut.usd),
        futures=inputs.futures.upto(cut.futures),
    )


def brent_brl(inputs: Inputs, cut: Cutoffs, days: Days) -> Floats:
    """Brent in BRL per barrel on each day, as known at the cutoffs (NaN where unknown).

    Brent spot (FRED) is the level; after FRED's last known day it is carried forward by the
    futures' move since that day (FRED publishes in weekly batches, BZ=F daily), and after
    that by the dollar alone. A day after every cutoff is valued at the latest known values.
    """
    brent = inputs.brent.upto(cut.brent)
    futures = inputs.futures.upto(cut.futures)
    usd = inputs.usd.upto(cut.usd)
    if not len(brent) or not len(usd):
        return np.full(len(days), np.nan)
    spot = brent.at_or_before(days)
    last_spot_day = int(brent.days[-1])
    if len(futures):
        base = float(futures.at_or_before(np.array([last_spot_day], dtype=np.int64))[0])
        later = days > last_spot_day
        if np.isfinite(base) and later.any():
            moved = futures.at_or_before(days[later]) / base
            spot = spot.copy()
            spot[later] = brent.values[-1] * np.where(np.isfinite(moved), moved, 1.0)
    return np.asarray(spot * usd.at_or_before(days), dtype=np.float64)


def last_driver_day(inputs: Inputs, cut: Cutoffs) -> int | None:
    """The latest day any driver value is known for (the end of the driver's move)."""
    ends = [
        int(s.upto(c).days[-1])
        for s, c in (
            (inputs.brent, cut.brent),
            (inputs.usd, cut.usd),
            (inputs.futures, cut.futures),
        )
        if len(s.upto(c))
    ]
    return max(ends) if ends else None


def inputs_for(
    series: Mapping[str, Iterable[tuple[date, float]]],
    fuel_key: str,
    *,
    usd_key: str,
    brent_key: str,
    futures_key: str,
) -> Inputs:
    """One area's inputs from (date, value) points by store key (missing keys are empty)."""

    def get(key: str) -> Series:
        points = series.get(key)
        return Series.of(points) if points is not None else Series.empty()

    return Inputs(
        fuel=get(fuel_key), brent=get(brent_key), usd=get(usd_key), futures=get(futures_key)
    )


def input_mark(inputs: Inputs, cut: Cutoffs) -> str:
    """The last known day of each input, as one string: a forecast is redone when it changes."""
    parts = []
    for name, series, last in (
        ("fuel", inputs.fuel, cut.fuel),
        ("usd", inputs.usd, cut.usd),
        ("brent", inputs.brent, cut.brent),
        ("futures", inputs.futures, cut.futures),
    ):
        known = series.upto(last)
        parts.append(f"{name}={day_of(int(known.days[-1])).isoformat() if len(known) else '-'}")
    return ";".join(parts)
