"""A stored outlook that expects a rise: the outlook_move alert's test input."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fuelpipe.domain.models import Record


def rising_forecast(as_of: datetime) -> Record:
    """The gasoline outlook made ``as_of`` (week of 2022-05-01, 7.20 BRL/l) expecting 7.40 and
    then 7.60 (+5.6%) in the next two weeks: outlook_move fires on it."""
    from fuelpipe.domain.catalog import DEFAULT_CATALOG
    from fuelpipe.outlook.forecast import Forecast, Step
    from fuelpipe.outlook.records import to_record
    from fuelpipe.stages.outlook import outlook_key_for

    steps = tuple(
        Step(h, date(2022, 5, 1) + timedelta(weeks=h), point, point - 0.1, point + 0.1,
             point - 0.2, point + 0.2)
        for h, point in ((1, 7.40), (2, 7.60))
    )  # fmt: skip
    forecast = Forecast(as_of, date(2022, 5, 1), 7.20, 0.0, date(2022, 5, 3), steps)
    return to_record(outlook_key_for(DEFAULT_CATALOG["FUEL#GASOLINE#BR"]), forecast)
