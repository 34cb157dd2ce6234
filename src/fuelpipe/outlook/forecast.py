"""The outlook's forecast as stored and served: plain dataclasses without numpy, so what only
reads stored forecasts (the alert rules in the retry_recheck Lambda, the API's records) does not
load numpy. The model (:mod:`fuelpipe.outlook.model`) makes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class StaleDriver:
    """A driver whose newest value known at an as-of time is older than its limit."""

    name: str
    """``brent`` (FRED spot), ``usd`` (PTAX) or ``futures`` (BZ=F)."""
    last_day: date
    """Its newest value known then."""


@dataclass(frozen=True, slots=True)
class Step:
    """The forecast for one survey week."""

    horizon: int
    week: date
    point: float
    lo80: float
    hi80: float
    lo95: float
    hi95: float


NO_NATIONAL = "no_national"
NATIONAL_ENDS_BEFORE = "national_ends_before"
NATIONAL_NO_FORECAST = "national_no_forecast"


@dataclass(frozen=True, slots=True)
class NoChange:
    """Why a forecast is the no-change fallback (the last price at every horizon): a state's
    forecast moves its last price by Brazil's forecast change from the same week, and Brazil
    had none from that week (:mod:`fuelpipe.outlook.pooled`)."""

    reason: str
    """``no_national``: no national week published by then (no national series);
    ``national_ends_before``: the national series, as known then, ends before the week (at
    ``national_last_week``); ``national_no_forecast``: the national series has that week but its
    model made no forecast from it (too few weeks since its last long hole, or untrainable)."""
    national_last_week: date | None = None
    """The national series' last week known then (``national_ends_before`` only)."""


@dataclass(frozen=True, slots=True)
class Forecast:
    """One area's outlook made at ``as_of`` from the survey week ``last_week``."""

    as_of: datetime
    last_week: date
    last_price: float
    driver_move: float
    """Brent in BRL: log change over the 7 days to ``driver_day``, Brent's last day (PTAX on or
    before it; NaN when a stale driver froze it: :func:`~fuelpipe.outlook.model.driver_move`)."""
    driver_day: date | None
    steps: tuple[Step, ...]
    stale: tuple[StaleDriver, ...] = ()
    """Drivers whose newest value known at as_of was older than their limit (``StaleAfter``)."""
    drivers_dropped: bool = False
    """True when the forecast does not use Brent in BRL: a stale driver froze it, so the
    forecast was fitted on the fuel's own changes only (``Params.without_drivers``), in its
    training weeks too; or the forecast is the no-change fallback (``no_change``), which uses no
    driver at all."""
    no_change: NoChange | None = None
    """Set when the forecast is the no-change fallback, with why (None: the model's forecast)."""
    loo_horizons: tuple[int, ...] | None = ()
    """The horizons whose bands are the regression's leave-one-out residuals' quantiles: fewer
    than ``Params.least_errors`` of the model's own walk-forward errors at that horizon (a
    series' first weeks of forecasts). Empty: every band from the walk-forward errors (a
    state's always are: every state's errors). None: not known (a forecast stored before
    fuelpipe recorded it, model version 9 or older)."""


WALK_FORWARD, LEAVE_ONE_OUT = "walk_forward", "leave_one_out"


def bands_of(forecast: Forecast, horizon: int) -> str | None:
    """Where the bands of ``forecast`` at ``horizon`` come from, as ``/api/outlook`` and
    ``fuelpipe outlook show --json`` give it: ``walk_forward`` (the model's own walk-forward
    errors; a state's, every state's), ``leave_one_out`` (the regression's leave-one-out
    residuals: too few walk-forward errors at that horizon), None when not known (a forecast
    stored before it was recorded)."""
    if forecast.loo_horizons is None:
        return None
    return LEAVE_ONE_OUT if horizon in forecast.loo_horizons else WALK_FORWARD
