"""The Outlook API's verdict needs a minimum of scored weeks, and each horizon says which week
its scoring began (the history may start after the backtest window opens)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fuelpipe.dashboard.outlook_api import (
    MIN_SCORED_WEEKS,
    AccuracyOut,
    first_weeks,
    verdict_of,
)


def _one_week_ahead(n: int, ratio: float | None) -> list[AccuracyOut]:
    """Synthetic accuracy rows: horizon 1 scored over ``n`` weeks, horizon 2 beside it."""
    return [
        AccuracyOut(
            horizon=h,
            n=n,
            mae=0.01,
            naive_mae=0.02,
            ratio=ratio,
            bias=0.0,
            coverage80=0.8,
            coverage95=0.95,
        )
        for h in (1, 2)
    ]


@pytest.mark.parametrize("weeks", [0, 6, MIN_SCORED_WEEKS - 1])
def test_fewer_scored_weeks_than_the_minimum_give_no_verdict(weeks: int) -> None:
    assert MIN_SCORED_WEEKS == 12
    assert verdict_of(_one_week_ahead(weeks, 0.5)) is None
    assert verdict_of(_one_week_ahead(weeks, 1.5)) is None


def test_the_minimum_of_scored_weeks_gives_a_verdict() -> None:
    assert verdict_of(_one_week_ahead(MIN_SCORED_WEEKS, 0.8)) == "beats"
    assert verdict_of(_one_week_ahead(MIN_SCORED_WEEKS, 1.0)) == "does_not_beat"
    assert verdict_of(_one_week_ahead(MIN_SCORED_WEEKS, None)) is None  # no naive error
    assert verdict_of([]) is None


def test_each_horizon_says_the_first_week_it_scored() -> None:
    start = date(2024, 6, 23)
    scored = [(h, start + timedelta(weeks=w + h)) for w in range(20) for h in (1, 2, 3)]
    scored.reverse()  # any order
    assert first_weeks(scored) == {h: start + timedelta(weeks=h) for h in (1, 2, 3)}
