"""Correlation, lagged cross-correlation and distributed-lag OLS over weekly log changes."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from fuelpipe.dashboard.analysis.timeseries import ONE_WEEK, TimeSeries, paired
from fuelpipe.hac import fixed_b_critical, hac_lags, newey_west

MIN_LAG_WEEKS = 8
"""Fewer overlapping weeks than this give a lag no correlation (so no strongest lag is named)
and fit no pass-through regression: the page's regression (4 lags, 6 parameters) needs 8 weeks
anyway, and a lag correlation over fewer weeks is noise."""

MIN_PAIRS = MIN_LAG_WEEKS
"""Fewer overlapping observations than this give no correlation (the matrix's cells too: three
weeks can give |r| = 0.8 by chance)."""


def plural(n: int, one: str, many: str) -> str:
    """``1 week``, ``2 weeks``."""
    return f"{n} {one if n == 1 else many}"


class NotEstimableError(ValueError):
    """The data cannot identify the regression's pass-through; ``reason`` says why, as a code
    the page translates: ``too_few_weeks``, ``pump_unchanged``, ``driver_unchanged``,
    ``singular`` or ``exact_fit``."""

    reason = "singular"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason


class TooFewWeeksError(NotEstimableError):
    """The regression had fewer overlapping weeks than it needs."""

    reason = "too_few_weeks"

    def __init__(self, have: int, need: int, lags: int) -> None:
        super().__init__(
            f"only {plural(have, 'overlapping week', 'overlapping weeks')} for a regression "
            f"with {plural(lags, 'lag', 'lags')}; need at least {need}: widen the window or "
            "use fewer lags"
        )
        self.have = have
        self.need = need


class NoChangeError(NotEstimableError):
    """The pump price did not change over the weeks a regression would use."""

    reason = "pump_unchanged"


def pearson(xs: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray) -> float | None:
    """Pearson's r, or None with fewer than ``MIN_PAIRS`` (8) pairs or a constant side."""
    if len(xs) != len(ys):
        raise ValueError("pearson needs two sequences of the same length")
    if len(xs) < MIN_PAIRS:
        return None
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    dx = x - x.mean()
    dy = y - y.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denom == 0.0:
        return None
    return float(dx @ dy) / denom


@dataclass(frozen=True, slots=True)
class CorrelationMatrix:
    """Pairwise correlations with the number of overlapping observations behind each cell and,
    where a cell has no r, why: ``too_few_weeks`` (fewer than MIN_PAIRS overlapping) or
    ``unchanged`` (a side that did not vary over them: no r however many weeks overlap)."""

    names: tuple[str, ...]
    r: tuple[tuple[float | None, ...], ...]
    n: tuple[tuple[int, ...], ...]
    reason: tuple[tuple[str | None, ...], ...]


def correlation_matrix(changes: Sequence[TimeSeries]) -> CorrelationMatrix:
    """Pairwise-complete Pearson correlations of already-differenced series."""
    size = len(changes)
    r: list[list[float | None]] = [[None] * size for _ in range(size)]
    n = [[0] * size for _ in range(size)]
    why: list[list[str | None]] = [[None] * size for _ in range(size)]
    for i in range(size):
        for j in range(i, size):
            xs, ys = paired(changes[i], changes[j])
            r[i][j] = r[j][i] = pearson(xs, ys)
            n[i][j] = n[j][i] = len(xs)
            if r[i][j] is None:
                why[i][j] = why[j][i] = "too_few_weeks" if len(xs) < MIN_PAIRS else "unchanged"
    return CorrelationMatrix(
        tuple(s.name for s in changes),
        tuple(map(tuple, r)),
        tuple(map(tuple, n)),
        tuple(map(tuple, why)),
    )


@dataclass(frozen=True, slots=True)
class LagCorrelation:
    """corr(pump change at t, driver change at t − lag weeks) over ``n`` pairs."""

    lag: int
    r: float | None
    n: int


def lagged(
    pump: TimeSeries, driver: TimeSeries, max_lag: int, step: timedelta = ONE_WEEK
) -> tuple[np.ndarray, np.ndarray]:
    """The pump's changes on the weeks whose driver change exists at every lag 0..max_lag, and
    those driver changes (column k: lag k), so every lag is scored on the same weeks."""
    x_by_day = driver.as_dict()
    rows: list[list[float]] = []
    ys: list[float] = []
    for day, pump_change in zip(pump.dates, pump.values, strict=True):
        xs = [x_by_day.get(day - step * k) for k in range(max_lag + 1)]
        if all(x is not None for x in xs):
            rows.append([x for x in xs if x is not None])
            ys.append(pump_change)
    return np.asarray(ys, dtype=float), np.asarray(rows, dtype=float).reshape(-1, max_lag + 1)


def cross_correlation(
    pump: TimeSeries,
    driver: TimeSeries,
    max_lag: int = 12,
    step: timedelta = ONE_WEEK,
    min_weeks: int = MIN_LAG_WEEKS,
) -> list[LagCorrelation]:
    """Cross-correlation of two change series at lags 0..max_lag (driver leading), every lag on
    the same pump weeks (:func:`lagged`); fewer than ``min_weeks`` of them give no r."""
    if max_lag < 0:
        raise ValueError("max_lag must be zero or more")
    y, x = lagged(pump, driver, max_lag, step)
    n = len(y)
    return [
        LagCorrelation(lag, pearson(x[:, lag], y) if n >= min_weeks else None, n)
        for lag in range(max_lag + 1)
    ]


LAG_ALPHA = 0.05
"""A lag is named the strongest only if its |r| is the largest over the lags tried and that
maximum is significant at this level: with 13 lags of pure noise over 46 weeks the largest |r|
has a median of 0.29, so 'the strongest' lag is otherwise often chance."""

LAG_RESAMPLES = 999
"""Block permutations behind a lag's p-value (its resolution is 1/1000)."""


def max_r_p_value(y: np.ndarray, x: np.ndarray, resamples: int = LAG_RESAMPLES) -> float:
    """P(max_k |corr(y', x_k)| >= the observed maximum) over circular block permutations y' of
    ``y`` (blocks of round(n^(1/3)) weeks at a random offset, in random order) against the
    columns of ``x`` kept whole.

    Student's t with a Bonferroni correction assumed independent weeks: on the bundled Brazil
    history (autocorrelated, fat-tailed weekly changes) it named a lag for a driver from
    another period 9-11% of the time at 5%. Blocks keep the pump's short-run autocorrelation,
    the whole columns the driver's, and the maximum over lags corrects for the lags tried.
    Seeded from the data's bytes: the same inputs give the same p-value. NaN without a column
    that varies or a ``y`` that does."""
    n = len(y)
    yc = y - y.mean()
    xc = x - x.mean(axis=0)
    norms = np.sqrt((xc * xc).sum(axis=0))
    y_norm = math.sqrt(float(yc @ yc))
    varies = norms > 0
    if n < 3 or y_norm == 0.0 or not varies.any():
        return math.nan
    xn = xc[:, varies] / norms[varies]
    observed = float(np.abs(yc @ xn).max())
    seed = hashlib.blake2b(y.tobytes() + x.tobytes(), digest_size=8).digest()
    rng = np.random.default_rng(int.from_bytes(seed, "little"))
    block = max(1, round(n ** (1.0 / 3.0)))
    blocks = -(-n // block)
    order = np.argsort(rng.random((resamples, blocks)), axis=1).astype(np.int32)
    slots = (order[:, :, None] * block + np.arange(block, dtype=np.int32)).reshape(resamples, -1)
    slots = slots[slots < n].reshape(resamples, n)  # each row drops the short block's padding
    slots += rng.integers(0, n, size=(resamples, 1), dtype=np.int32)  # the circle's offset
    maxima = np.abs(np.concatenate([yc, yc])[slots] @ xn).max(axis=1)
    beaten = int(np.count_nonzero(maxima >= observed * (1.0 - 1e-12)))
    return (1 + beaten) / (1 + resamples)


def strongest_lag(
    pump: TimeSeries,
    driver: TimeSeries,
    max_lag: int = 12,
    step: timedelta = ONE_WEEK,
    min_weeks: int = MIN_LAG_WEEKS,
    alpha: float = LAG_ALPHA,
) -> LagCorrelation | None:
    """The lag with the largest |r| (the earliest on a tie), on the weeks every lag has
    (:func:`lagged`, at least ``min_weeks`` of them), when that maximum is significant at
    ``alpha`` (:func:`max_r_p_value`), or None."""
    y, x = lagged(pump, driver, max_lag, step)
    if len(y) < max(min_weeks, MIN_PAIRS):
        return None
    scored = [c for c in cross_correlation(pump, driver, max_lag, step, 0) if c.r is not None]
    if not scored:
        return None
    best = max(scored, key=lambda c: (abs(c.r or 0.0), -c.lag))
    return best if max_r_p_value(y, x) < alpha else None


@dataclass(frozen=True, slots=True)
class DistributedLag:
    """OLS of pump change on driver changes at lags 0..N, and the cumulative pass-through."""

    lags: int
    intercept: float
    coefficients: tuple[float, ...]
    std_errors: tuple[float, ...]
    cumulative: float
    cumulative_se: float
    ci_low: float
    ci_high: float
    t_crit: float
    n: int
    dof: int
    r2: float

    def pump_move_pct(self, driver_move_pct: float = 10.0, beta: float | None = None) -> float:
        """The pump move (%) a sustained driver move of ``driver_move_pct`` implies."""
        b = self.cumulative if beta is None else beta
        return (math.pow(1.0 + driver_move_pct / 100.0, b) - 1.0) * 100.0


EXACT_FIT = 1e-9
"""A week of leverage above 1 − this is fitted exactly: a driver that moved in one week only
(each lag's coefficient rests on that week, its residual 0), so Newey-West's error, built from
residuals, leaves it out (a pass-through of 0.22, 95% 0.06 to 0.38, from one move). No window
of 8 weeks or more of the bundled history (Brent, PTAX; 13, 26, 52 weeks) came above 0.99."""


def distributed_lag(
    pump: TimeSeries, driver: TimeSeries, lags: int = 4, step: timedelta = ONE_WEEK
) -> DistributedLag:
    """Fit y_t = a + Σ_k b_k x_{t-k} (k = 0..lags) by OLS on dates where every term exists.

    The cumulative effect Σb_k has variance 1'Σ1 over the coefficient covariance Σ, Newey and
    West's (``newey_west``): weekly price changes are autocorrelated (residual lag-1
    correlation 0.27-0.56 on the bundled Brazil history), and plain OLS errors s²(X'X)⁻¹ were
    1.4-1.8x too small there, so a "95%" interval covered about 72%. The interval takes the
    fixed-b critical value of its bandwidth (:func:`hac_lags`, :func:`fixed_b_critical`): with
    Student's t and Newey and West's (1994) 4(n/100)^(2/9) lags it covered a true 0 (the pump
    against Brent in BRL from another period) 0.887, 0.901 and 0.918 of the time over 52, 104
    and 260 weeks; this way 0.932, 0.946 and 0.936. Raises
    :class:`TooFewWeeksError` below ``max(MIN_LAG_WEEKS, lags + 4)`` overlapping weeks and
    :class:`NoChangeError` when the pump price never moved in them (nothing to explain), and
    :class:`NotEstimableError` when the design is singular: a driver that never moved in them
    (``driver_unchanged``: least squares then answered its minimum-norm 0.0 with a standard
    error of 0.0) or lagged changes that are exact combinations of one another (``singular``),
    and when a week is fitted exactly (``exact_fit``, :data:`EXACT_FIT`).
    """
    if lags < 0:
        raise ValueError("lags must be zero or more")
    y, drivers = lagged(pump, driver, lags, step)
    params = lags + 2
    need = max(MIN_LAG_WEEKS, params + 2)
    if len(y) < need:
        raise TooFewWeeksError(len(y), need, lags)
    x = np.column_stack([np.ones(len(y)), drivers])
    if not np.any(y != y[0]):
        raise NoChangeError("the pump price did not change in the weeks the regression uses")
    if not np.any(drivers != drivers[0]):
        raise NotEstimableError(
            "the driver did not change in the weeks the regression uses: its pass-through "
            "cannot be estimated",
            "driver_unchanged",
        )
    if np.linalg.matrix_rank(x) < params:
        raise NotEstimableError(
            "the driver's lagged changes are exact combinations of one another in the weeks the "
            "regression uses: its pass-through by lag cannot be estimated",
            "singular",
        )
    if np.einsum("ij,ji->i", x, np.linalg.pinv(x)).max() > 1.0 - EXACT_FIT:
        raise NotEstimableError(
            "a lag of the driver rests on a single week in the weeks the regression uses (the "
            "fit passes through it exactly): its pass-through and error cannot be estimated",
            "exact_fit",
        )
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    dof = len(y) - params
    hac = hac_lags(len(y))
    cov = newey_west(x, resid, hac)
    slope_cov = cov[1:, 1:]
    cumulative = float(beta[1:].sum())
    cumulative_se = math.sqrt(max(float(slope_cov.sum()), 0.0))  # 1'Σ1
    t_crit = fixed_b_critical((hac + 1) / len(y))
    centred = y - y.mean()
    tss = float(centred @ centred)
    return DistributedLag(
        lags=lags,
        intercept=float(beta[0]),
        coefficients=tuple(float(b) for b in beta[1:]),
        std_errors=tuple(math.sqrt(max(float(v), 0.0)) for v in np.diag(slope_cov)),
        cumulative=cumulative,
        cumulative_se=cumulative_se,
        ci_low=cumulative - t_crit * cumulative_se,
        ci_high=cumulative + t_crit * cumulative_se,
        t_crit=t_crit,
        n=len(y),
        dof=dof,
        r2=1.0 - float(resid @ resid) / tss if tss > 0 else 0.0,
    )
