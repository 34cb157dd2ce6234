"""Days a row whose date cannot be read may belong to: a retry with that row as the reason."""

from __future__ import annotations

from collections.abc import Set
from datetime import date, timedelta


def unsure_days(
    key: str, window: tuple[date, date], answered: Set[date], why: str
) -> dict[tuple[str, date], str]:
    """A note for each day of ``window`` no row answers, naming the unreadable row ``why``.

    Such a row may be any day's, so none of those days is taken as the source's "no value"
    and the rest of the answer is still stored.
    """
    start, end = window
    days = (start + timedelta(days=n) for n in range((end - start).days + 1))
    return {
        (key, day): f"{why}; that row may be {day}'s, so the day is retried"
        for day in days
        if day not in answered
    }
