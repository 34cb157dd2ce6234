"""Brazil's bands after a price jump, with the volatility's largest week left out or kept.

The bands scale with the fuel's volatility (``outlook.model.volatility``): the root mean square
of its last ``Params.vol_weeks`` weekly changes, whose largest is left out once that week is
older than the last ``Params.vol_trim_after`` (2: the served rule; None keeps every week, the
plain RMS served before; 0 always leaves the largest out). Per rule and horizon, pooled over
the seven Brazil fuels whose outlook is served, forecast weeks from 2016-10: the coverage of
the 80% and 95% bands over every scored week (and the lowest and highest fuel's), their mean
95% half-width in logs, and the same over the forecasts made in a jump week (a published week
whose price moved over 5% from the week before) or one of the 7 after it, and over those made
in a jump week alone. The points are the same under every rule.

    PYTHONPATH=src:. python -m devtools.outlook_jump_bands
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from fuelpipe.adapters.history_files import (
    BRENT_FUTURES_KEY,
    BRENT_KEY,
    USD_KEY,
    History,
    load_history,
)
from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.backtest import Scored, walk_forward
from fuelpipe.outlook.params import HORIZONS, Params
from fuelpipe.outlook.series import Lags, inputs_for

ROOT = Path(__file__).resolve().parents[1]
FUELS = ("GASOLINE", "ETHANOL", "DIESEL_S10", "DIESEL", "LPG", "CNG", "GASOLINE_PREMIUM")
START = date(2016, 10, 1)
JUMP = 0.05
AFTER_WEEKS = 8
RULES: dict[str, Params] = {
    "largest week out from 2 weeks old (served)": Params(),
    "every week (plain RMS, before)": Params(vol_trim_after=None),
    "largest week always out": Params(vol_trim_after=0),
    "largest week out from 1 week old": Params(vol_trim_after=1),
}


@dataclass(frozen=True, slots=True)
class Cell:
    """Coverage and mean 95% half-width (in logs) of some scored steps."""

    n: int
    coverage80: float
    coverage95: float
    half95: float


def cell(rows: Sequence[Scored]) -> Cell:
    """The coverage and mean 95% half-width of ``rows`` (NaN when none)."""
    if not rows:
        return Cell(0, np.nan, np.nan, np.nan)
    actual = np.array([r.actual for r in rows])
    in80 = (actual >= [r.lo80 for r in rows]) & (actual <= [r.hi80 for r in rows])
    in95 = (actual >= [r.lo95 for r in rows]) & (actual <= [r.hi95 for r in rows])
    half = np.log(np.array([r.hi95 for r in rows]) / np.array([r.lo95 for r in rows])) / 2
    return Cell(len(rows), float(in80.mean()), float(in95.mean()), float(half.mean()))


def jump_weeks(history: History, key: str) -> list[date]:
    """The weeks whose price moved over ``JUMP`` (in logs) from the week exactly before."""
    rows = history.series[key]
    return [
        d1
        for (d0, v0), (d1, v1) in zip(rows, rows[1:], strict=False)
        if (d1 - d0).days == 7 and abs(np.log(v1 / v0)) > JUMP
    ]


def walks(history: History, lags: Lags, params: Params) -> list[tuple[list[Scored], list[date]]]:
    """Per fuel: its scored steps under ``params`` and its jump weeks."""
    out = []
    for fuel in FUELS:
        key = f"FUEL#{fuel}#BR"
        inputs = inputs_for(
            history.series, key, usd_key=USD_KEY, brent_key=BRENT_KEY, futures_key=BRENT_FUTURES_KEY
        )
        out.append((walk_forward(inputs, START, None, lags, params)[1], jump_weeks(history, key)))
    return out


def cells(
    fuels: list[tuple[list[Scored], list[date]]], horizon: int
) -> tuple[Cell, Cell, Cell, list[Cell]]:
    """At ``horizon``: every fuel's steps pooled, those made in the ``AFTER_WEEKS`` from a
    jump, those made in a jump week, and each fuel's own."""
    every: list[Scored] = []
    after: list[Scored] = []
    at: list[Scored] = []
    per: list[Cell] = []
    span = timedelta(weeks=AFTER_WEEKS - 1)
    for scored, jumps in fuels:
        mine = [s for s in scored if s.horizon == horizon]
        every += mine
        after += [s for s in mine if any(j <= s.as_of_week <= j + span for j in jumps)]
        at += [s for s in mine if s.as_of_week in jumps]
        per.append(cell(mine))
    return cell(every), cell(after), cell(at), per


def main() -> None:
    """Print the table."""
    history = load_history(ROOT / "datasets", with_areas=False)
    lags = Lags.from_catalog(DEFAULT_CATALOG)
    print(
        "rule | h | coverage 80/95 | fuels' 80% | fuels' 95% | mean 95% half-width"
        f" | {AFTER_WEEKS} weeks from a jump: n, 80/95, half-width"
        " | jump week: n, 80/95, half-width"
    )
    for name, params in RULES.items():
        fuels = walks(history, lags, params)
        for h in HORIZONS:
            every, after, at, per = cells(fuels, h)
            low80, high80 = min(c.coverage80 for c in per), max(c.coverage80 for c in per)
            low95, high95 = min(c.coverage95 for c in per), max(c.coverage95 for c in per)
            print(
                f"{name} | {h} | {every.coverage80:.3f}/{every.coverage95:.3f}"
                f" | {low80:.3f}–{high80:.3f} | {low95:.3f}–{high95:.3f} | {every.half95:.2%}"
                f" | {after.n}, {after.coverage80:.3f}/{after.coverage95:.3f}, {after.half95:.2%}"
                f" | {at.n}, {at.coverage80:.3f}/{at.coverage95:.3f}, {at.half95:.2%}"
            )


if __name__ == "__main__":
    main()
