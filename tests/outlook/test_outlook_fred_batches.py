"""The outlook reads FRED's Brent by its weekly batches (domain/publication.py): at an as-of
time, Brent is known through the last Monday whose batch is out, not as_of less 7 days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.outlook.series import CutoffRows, Cutoffs, Lags, day_number, known_at

SP = ZoneInfo("America/Sao_Paulo")
LAGS = Lags.from_catalog(DEFAULT_CATALOG)


def test_brent_is_known_through_the_monday_of_the_last_batch_out() -> None:
    """Failed before: with 7 days, the Friday-evening forecast (a survey week's publication)
    read Brent through the Friday before (a Monday short), and a Wednesday's through the
    Wednesday before, whose batch (through the Monday after it) was not out."""
    assert LAGS.brent_schedule is not None
    friday_evening = datetime(2025, 11, 28, 18, 0, tzinfo=SP)
    assert Cutoffs.at(friday_evening, LAGS).brent == day_number(date(2025, 11, 24))
    wednesday = datetime(2025, 12, 3, 12, 0, tzinfo=SP)
    assert Cutoffs.at(wednesday, LAGS).brent == day_number(date(2025, 11, 24))
    # the Thursday's last minute in Chicago is still before that week's batch
    thursday = datetime(2025, 11, 28, 2, 59, tzinfo=SP)  # 23:59 Chicago
    assert Cutoffs.at(thursday, LAGS).brent == day_number(date(2025, 11, 17))


def test_published_rows_equal_the_cutoffs_at_each_weeks_publication() -> None:
    """CutoffRows.published computes Brent's cutoff once per distinct week; it must equal
    Cutoffs.at at each week's publication, over both zones' changes of clocks."""
    sundays = [date(2017, 10, 1) + timedelta(weeks=w) for w in range(0, 30)]
    sundays += [date(2025, 10, 5) + timedelta(weeks=w) for w in range(0, 30)]
    days = np.array([day_number(d) for d in sundays + sundays[:3]], dtype=np.int64)
    rows = CutoffRows.published(days, LAGS)
    for i, d in enumerate(sundays + sundays[:3]):
        want = Cutoffs.at(known_at(d, LAGS.fuel), LAGS)
        assert int(rows.brent[i]) == want.brent, d
        assert int(rows.usd[i]) == want.usd, d
