"""The outlook model's knobs and horizons, and the history they need: no numpy here.

Kept apart from :mod:`fuelpipe.outlook.model` so the stage can size its minimum history from
the model's own constants (``MIN_WEEKS``) without importing numpy, which only the dashboard
extra installs. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

HORIZONS = (1, 2, 3, 4, 5)
"""Weeks after the last published one: 1 is the survey week in progress, 2–5 the next four."""


@dataclass(frozen=True, slots=True)
class Params:
    """The model's knobs. ``window`` and ``ridge`` were picked among five settings by their
    backtest ratio (see docs/OUTLOOK.md: an expanding window and light shrinkage did best)."""

    own_lags: int = 4
    driver_blocks: int = 4
    error_correction: bool = True
    gap_window: int = 52
    window: int = 1000
    min_train: int = 52
    ridge: float = 1e-5
    vol_weeks: int = 8
    vol_trim_after: int | None = 2
    """The volatility leaves out the largest of its ``vol_weeks`` weekly changes once that week
    is older than the last ``vol_trim_after`` (None: never, the plain root mean square), so
    one week's jump widens the bands for its week and the next, not for ``vol_weeks`` weeks.
    Measured on the Brazil backtest against the plain RMS, a winsorised one, the median
    absolute change, capping one week's share, EWMAs and the largest week always left out
    (docs/OUTLOOK.md, "Bands after a jump")."""
    vol_floor: float = 0.002
    error_weeks: int = 104
    """The bands read the model's own walk-forward errors whose outcome was published in the
    last ``error_weeks`` (the states' ``PoolParams.error_weeks``)."""
    least_errors: int = 20
    """Fewer such errors at a horizon: that horizon's bands are the leave-one-out ones."""

    def __post_init__(self) -> None:
        if (
            self.gap_window < 1
            or self.error_weeks < 1
            or self.least_errors < 1
            or min(self.own_lags, self.driver_blocks, self.vol_weeks) < 0
            or (self.vol_trim_after is not None and self.vol_trim_after < 0)
        ):
            raise ValueError(f"outlook parameters out of range: {self}")

    def without_drivers(self) -> Params:
        """The same model on the fuel's own changes only (no Brent-in-BRL blocks, no gap)."""
        return replace(self, driver_blocks=0, error_correction=False)


@dataclass(frozen=True, slots=True)
class PoolParams:
    """The states' outlook (:mod:`fuelpipe.outlook.pooled`): its bands take the walk-forward
    errors of every state's forecasts whose outcome was published in the last
    ``error_weeks`` (104 covered nearer nominal on the states' backtest than 26 or 52)."""

    error_weeks: int = 104
    vol_trim_after: int | None = None
    """The states' volatility keeps its largest week (the plain root mean square), unlike
    Brazil's and the regions' (``Params.vol_trim_after``): with it left out, the states' short
    history, whose misses are a rise over several weeks (2026-03), covered less still at 3 to 5
    weeks (docs/OUTLOOK.md, "Bands after a jump")."""

    def __post_init__(self) -> None:
        if self.error_weeks < 1 or (self.vol_trim_after is not None and self.vol_trim_after < 0):
            raise ValueError(f"pooled outlook parameters out of range: {self}")


MODEL_VERSION = 13
"""Part of a stored forecast's input mark: bumped when the same inputs make another stored
forecast (2: states pooled, the driver move over the 7 days to the last driver day; 3: a
state's forecast moved by Brazil's forecast change; 4: a state's no-change fallback is marked
with why, and says it uses no driver; 5: the driver move ends at Brent in BRL's last day, not
PTAX's, and is none when a stale driver froze it; 6: the driver blocks end at each row's as-of
day, not the last day some driver has a value, and a row a stale driver froze has none; 7: a
survey pause's spread weeks count sqrt(k) times in the volatility, so the bands after a pause
differ; 8: no band narrower than a shorter horizon's; 9: Brazil's and the regions' bands from the
model's own walk-forward errors, the leave-one-out ones only where too few; 10: the stored
forecast names the horizons whose bands are the leave-one-out ones, ``loo_bands``; 11: FRED
Brent known with its weekly batch, not 7 days after its date, for every training row and the
served one, ``Lags.brent_schedule``; 12: Brazil's and the regions' volatility leaves out its
largest week once it is two weeks old, ``Params.vol_trim_after``; 13: BZ=F carries Brent spot
on from the last day both have, so a Monday without a BZ=F bar no longer counts spot's move
since the bar before twice), so a store's forecasts from an older fuelpipe are redone on the
next refresh, not kept until the next survey week."""


def first_usable_week(params: Params) -> int:
    """How many published weeks precede the first whose regressors are all known.

    The own changes need ``own_lags`` weeks before it; the error-correction term needs the mean
    of at least ``gap_window // 2`` earlier gaps (and at least one). The drivers need no fuel
    history.
    """
    gaps = max(params.gap_window // 2, 1) if params.error_correction else 0
    return max(params.own_lags, gaps)


def min_weeks(params: Params) -> int:
    """The fewest consecutive survey weeks from which every horizon can be trained.

    Each horizon ``h`` trains on the weeks from :func:`first_usable_week` on whose outcome ``h``
    weeks later is published by the last week, and needs ``min_train`` of them; the longest
    horizon has the fewest: ``first + min_train`` weeks plus the ``max(HORIZONS)`` after them
    (26 + 52 + 5 = 83 with the defaults). A survey pause costs more: the weeks whose outcome
    falls in it do not count.
    """
    return first_usable_week(params) + params.min_train + max(HORIZONS)
