"""Which series are due for a poll: a date the source has no value for (ABSENT) is not."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from fuelpipe.domain.catalog import DEFAULT_CATALOG
from fuelpipe.domain.models import Status
from fuelpipe.stages.due import _due

NOW = datetime(2025, 7, 1, 12, 0, tzinfo=ZoneInfo("America/Sao_Paulo"))


def test_a_latest_date_the_source_has_no_value_for_is_not_due() -> None:
    """ANP's '-' for CNG in Acre: ABSENT is the source's final word, so the series is not
    polled every few minutes for ever."""
    series = DEFAULT_CATALOG["FUEL#CNG#AC"]
    latest, before = date(2025, 6, 22), date(2025, 6, 15)
    absent = _due(series, latest, {before: Status.OK, latest: Status.ABSENT}, NOW)
    assert not absent.is_due and absent.stored == before
    missing = _due(series, latest, {before: Status.OK}, NOW)
    assert missing.is_due  # nothing stored for the latest date: still asked


def test_no_value_is_known_before_it_is_out_in_any_zone() -> None:
    """``available_after`` counts from midnight in São Paulo; for a schedule in New York
    (BZ=F's 17:30 close, NYSE shares) it must cover every date's real publication instant,
    whichever side keeps daylight-saving time (São Paulo did until 2019)."""
    from datetime import timedelta

    from fuelpipe.domain.calendars import SAO_PAULO

    for key in ("COMMODITY#BRENT_FUTURES", "STOCK#XOM", "CURRENCY#USD", "FUEL#GASOLINE#BR"):
        series = DEFAULT_CATALOG[key]
        day = date(2016, 1, 1)
        while day < date(2026, 1, 1):
            midnight = datetime.combine(day, datetime.min.time(), SAO_PAULO)
            assert midnight + series.available_after >= series.schedule.published_at(day), (
                key,
                day,
            )
            day += timedelta(days=7)
