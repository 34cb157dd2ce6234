"""Gap detection and stream grouping: which dates are missing, and how few requests fetch them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from fuelpipe.domain.calendars import Calendar, expected_dates
from fuelpipe.domain.models import Status


@dataclass(frozen=True, slots=True)
class Stream:
    """A run of missing dates, consecutive in the series' own calendar, fetched by one request."""

    dates: tuple[date, ...]

    @property
    def start(self) -> date:
        return self.dates[0]

    @property
    def end(self) -> date:
        return self.dates[-1]

    @property
    def span_days(self) -> int:
        """Calendar days the request covers, both ends included."""
        return (self.end - self.start).days + 1


def missing_dates(cal: Calendar, start: date, end: date, present: Iterable[date]) -> list[date]:
    """Expected dates in ``[start, end]`` with no record at all, in order."""
    have = set(present)
    return [d for d in expected_dates(cal, start, end) if d not in have]


def group_streams(cal: Calendar, dates: Sequence[date], max_range_days: int) -> list[Stream]:
    """Group sorted expected dates into streams.

    A stream breaks where the next date is not the calendar's next expected date (so a weekend
    or holiday never breaks one), and where one request would cover more than
    ``max_range_days`` calendar days.
    """
    if max_range_days < 1:
        raise ValueError("max_range_days must be at least 1")
    days = sorted(set(dates))
    if not days:
        return []
    # Where both dates are expected, "next expected" is "next in the calendar's own dates".
    position = {d: i for i, d in enumerate(expected_dates(cal, days[0], days[-1]))}
    streams: list[Stream] = []
    current: list[date] = []
    for day in days:
        if current:
            here, before = position.get(day), position.get(current[-1])
            if here is not None and before is not None:
                consecutive = here == before + 1
            else:
                consecutive = cal.next_expected(current[-1]) == day
            if not consecutive or (day - current[0]).days + 1 > max_range_days:
                streams.append(Stream(tuple(current)))
                current = []
        current.append(day)
    streams.append(Stream(tuple(current)))
    return streams


def minimum_requests(start: date, end: date, max_range_days: int) -> int:
    """The fewest requests that can cover ``[start, end]``: ceil(range / max range)."""
    span = (end - start).days + 1
    return -(-span // max_range_days)


def clamp_start(default_start: date, since: date | None) -> date:
    """The first date to look at: the series' default start, or a later ``since``."""
    return max(default_start, since) if since else default_start


ONE_DAY = timedelta(days=1)


COMPLETE = frozenset({Status.OK, Status.QUARANTINED, Status.ABSENT})
"""Statuses a watermark may pass: the value is stored, the source says there is none, or a
person has been told it is missing. (A revised value stays OK: it is no gap.)"""


def complete_through(
    cal: Calendar,
    start: date,
    end: date,
    statuses: Mapping[date, Status],
    current: date | None,
) -> date | None:
    """How far a watermark may move: the last expected date of ``[start, end]`` before which
    every expected date (itself included) has an OK, ABSENT or QUARANTINED record.

    ``start`` is the first date after ``current`` (or the series' start); if its first expected
    date is missing or PENDING, the watermark stays at ``current``.
    """
    through = current
    for day in expected_dates(cal, start, end):
        if statuses.get(day) not in COMPLETE:
            break
        through = day
    return through
