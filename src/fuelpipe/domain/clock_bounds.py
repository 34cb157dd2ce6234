"""Which business clocks (``--now``) and input dates are believable, given the real time.

Pure: the caller passes the machine's real time in (read in a composition root).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fuelpipe.domain.calendars import EARLIEST_DATE, LATEST_DATE, check_in_range
from fuelpipe.domain.instants import SAO_PAULO

MAX_CLOCK_AHEAD = timedelta(days=1)
"""A ``--now`` further ahead of the real clock than this is a typo unless said otherwise."""
MAX_DATE_AHEAD = timedelta(days=366)
"""No date more than a year after the clock comes from a gap scan of ours (the scraper's bound)."""


class ClockOutOfBounds(ValueError):
    """A business clock or input date outside what the pipeline accepts."""


def check_now(
    now: datetime, real_now: datetime, earliest_start: date, *, simulate_future: bool = False
) -> datetime:
    """``now`` itself, or ClockOutOfBounds with one line saying why and what to do.

    Refused: an instant before the earliest series starts; more than a day ahead of the real
    clock (unless ``simulate_future``); more than a year ahead of it in any case.
    """
    day = now.date()
    if day < max(earliest_start, EARLIEST_DATE):
        raise ClockOutOfBounds(
            f"--now {now.isoformat()} is before any series starts ({earliest_start})"
        )
    if (
        day > LATEST_DATE
        or day > real_now.date() + MAX_DATE_AHEAD
        or now > real_now + MAX_DATE_AHEAD
    ):
        raise ClockOutOfBounds(
            f"--now {now.isoformat()} is more than a year after this machine's clock "
            f"({real_now.date()}); no simulation goes that far"
        )
    if now > real_now + MAX_CLOCK_AHEAD and not simulate_future:
        raise ClockOutOfBounds(
            f"--now {now.isoformat()} is more than a day after this machine's clock "
            f"({real_now.isoformat(timespec='minutes')}); pass --simulate-future to run in "
            "the future on purpose"
        )
    return now


def check_input_date(day: date, clock_now: datetime, what: str) -> date:
    """A date given on the command line or to the API: inside the domain's range and at most a
    year after the clock's São Paulo day (as the dashboard's ``not_too_far_ahead`` bounds it: a
    UTC clock is already the next day from 21:00 there); otherwise ClockOutOfBounds naming
    ``what``."""
    try:
        check_in_range(day, what)
    except ValueError as exc:
        raise ClockOutOfBounds(str(exc)) from None
    today = clock_now.astimezone(SAO_PAULO).date()
    if day > today + MAX_DATE_AHEAD:
        raise ClockOutOfBounds(f"{what} {day} is more than a year after the clock ({today})")
    return day
