"""One week's price jump widens the bands for its week and the next, not for eight weeks.

The bands scale with the fuel's volatility, the root mean square of its last 8 weekly changes.
Counting every week, one jump (Brazil's diesel +11.8% on 2026-03-08) kept it several times the
weeks' usual move until the jump left the window: on the Brazil backtest, from two weeks after a
jump of over 5% the one-week bands covered 97–100% at 80% and 100% at 95%. The volatility now
leaves out its largest week once that week is older than the last two
(``Params.vol_trim_after``): in its week and the next the jump still counts, as the next move
was often large too. The series of the first tests are SYNTHETIC (a seeded log random walk with
1% weekly moves and random drivers, and a jump put in by hand), not ANP data; the last test
reads the real bundled history.
"""

from __future__ import annotations

from datetime import date
from math import log, sqrt

import numpy as np
import pytest

from fuelpipe.adapters.history_files import History
from fuelpipe.outlook.model import nowcast, volatility
from fuelpipe.outlook.params import Params
from fuelpipe.outlook.series import Lags, Series, day_number, known_at

from .conftest import bundled_inputs
from .test_outlook_calendar import _as_of, _inputs, _weekly

SIGMA = 0.01
JUMP = 0.12  # one week's log move, about diesel's of 2026-03-08
PLAIN = Params(vol_trim_after=None)  # every week counted, as before


def _walk(n: int = 200) -> list[float]:
    rng = np.random.default_rng(46)
    return [float(p) for p in 5.0 * np.exp(np.cumsum(rng.normal(0.0, SIGMA, n)))]


def _after(first: float, after: int) -> Series:
    """SYNTHETIC: the walk, one week moving ``first``, then ``after`` weeks alternating
    ±SIGMA."""
    before = _walk()
    steps = [first, *(SIGMA if i % 2 == 0 else -SIGMA for i in range(after))]
    return _weekly([*before, *(before[-1] * np.exp(np.cumsum(steps))).tolist()])


def _vol(fuel: Series, params: Params) -> float:
    return float(volatility(fuel.days, np.log(fuel.values), params)[-1])


@pytest.mark.parametrize("after", [0, 1])
def test_the_jump_counts_in_full_in_its_week_and_the_next(after: int) -> None:
    fuel = _after(JUMP, after)
    assert _vol(fuel, Params()) == _vol(fuel, PLAIN)
    assert _vol(fuel, Params()) > 4 * SIGMA


@pytest.mark.parametrize("after", [2, 4, 7])
def test_from_two_weeks_after_it_the_volatility_is_the_other_weeks(after: int) -> None:
    """The root mean square of the 7 other weeks (each SIGMA here, the walk's before the
    jump), not of the 8 with the jump."""
    fuel = _after(JUMP, after)
    log_price = np.log(fuel.values)
    changes = np.diff(log_price)[-Params().vol_weeks :]
    others = np.sort(changes**2)[:-1]
    assert np.max(others) < 0.05**2  # the jump is the one left out
    vol = _vol(fuel, Params())
    assert vol == pytest.approx(sqrt(np.mean(others) + Params().vol_floor ** 2), rel=1e-12)
    assert vol < 1.5 * SIGMA
    assert _vol(fuel, PLAIN) > 4 * SIGMA


def test_a_second_large_week_still_counts() -> None:
    """Two jumps in 8 weeks are no single odd week: only the larger is left out."""
    before = _walk()
    steps = [JUMP, SIGMA, -SIGMA, JUMP / 2, -SIGMA, SIGMA, -SIGMA, SIGMA]
    fuel = _weekly([*before, *(before[-1] * np.exp(np.cumsum(steps))).tolist()])
    want = sqrt(((JUMP / 2) ** 2 + 6 * SIGMA**2) / 7 + Params().vol_floor ** 2)
    assert _vol(fuel, Params()) == pytest.approx(want, rel=1e-9)


def test_four_weeks_after_a_jump_the_band_is_about_as_wide_as_without_it() -> None:
    """Four weeks after the jump, the one-week 80% and 95% half-widths are within 15% of those
    of the same walk whose jump week moved SIGMA, and no horizon's is 2.5 times as wide (the two
    years of errors the bands read now hold the jump's misses; measured: 0.97 and 1.08 at one
    week, at most 1.99 at four), where counting the jump made them 4.3 to 8.4 times as wide.
    The points are the plain RMS's, bit for bit: the volatility scales the bands only."""
    jumped, calm = _after(JUMP, 4), _after(SIGMA, 4)
    made = nowcast(_inputs(jumped), _as_of(jumped))
    plain = nowcast(_inputs(jumped), _as_of(jumped), params=PLAIN)
    without = nowcast(_inputs(calm), _as_of(calm))
    assert made is not None and plain is not None and without is not None
    for a, b, p in zip(made.steps, without.steps, plain.steps, strict=True):
        widths = (
            log(a.hi80 / a.point) / log(b.hi80 / b.point),
            log(a.point / a.lo95) / log(b.point / b.lo95),
        )
        assert max(widths) < (1.15 if a.horizon == 1 else 2.5)
        assert log(p.hi80 / p.point) > 3 * log(a.hi80 / a.point)
        assert a.point == p.point


def test_diesels_bands_two_weeks_after_its_jump_of_2022_03_13(history: History) -> None:
    """REAL data: Brazil's diesel rose 13.5% in the week to 2022-03-13, then moved under 1.5%
    a week. Forecast from 2022-03-27, the one-week 95% band is about ±8% (in logs; counting the
    jump about ±24%, as for the two weeks before) and holds the price ANP published next."""
    inputs = bundled_inputs(history, "FUEL#DIESEL#BR")
    days, values = inputs.fuel.days, inputs.fuel.values
    jump = int(np.searchsorted(days, day_number(date(2022, 3, 13))))
    assert log(values[jump] / values[jump - 1]) > 0.13
    week = jump + 2
    as_of = known_at(date(2022, 3, 27), Lags().fuel)
    made, plain = nowcast(inputs, as_of), nowcast(inputs, as_of, params=PLAIN)
    assert made is not None and plain is not None
    one, wide = made.steps[0], plain.steps[0]
    assert log(one.hi95 / one.point) < 0.10
    assert log(wide.hi95 / wide.point) > 0.20
    assert one.lo95 <= values[week + 1] <= one.hi95
    assert one.point == wide.point
