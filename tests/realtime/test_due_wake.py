"""When watch looks again for a series that has no published date yet: at its first date's
publication, not one period later (ANP's first week would wait for the 6-hour sleep cap)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.stages.due import _due, latest_expected, next_wake

SP = ZoneInfo("America/Sao_Paulo")


@pytest.mark.parametrize(
    ("key", "start", "now", "wake"),
    [
        # PTAX from Monday 2022-05-02: Monday's close at 13:10, not Tuesday's
        ("CURRENCY#USD", date(2022, 5, 2), datetime(2022, 5, 2, 10, 0), datetime(2022, 5, 2, 13, 10)),
        # the survey week from Sunday 2022-05-01: out Friday 2022-05-06 at 18:00
        ("FUEL#GASOLINE#BR", date(2022, 5, 1), datetime(2022, 5, 3, 10, 0), datetime(2022, 5, 6, 18, 0)),
    ],
)  # fmt: skip
def test_the_first_date_of_a_series_is_awaited_at_its_own_publication(
    key: str, start: date, now: datetime, wake: datetime
) -> None:
    series = replace(DEFAULT_CATALOG[key], default_start=start)
    at = now.replace(tzinfo=SP)
    assert latest_expected(series, at) is None
    assert next_wake([_due(series, None, {}, at)], at) == wake.replace(tzinfo=SP)
