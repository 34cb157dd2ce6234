"""Completeness of one series: what the calendar expects against what is stored.

One definition, shared by `fuelpipe status` (stages/status.py) and the dashboard's health view
(dashboard/health.py), so the command line and the panel always count the same dates.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.gaps import clamp_start
from fuelpipe.domain.models import PresentDate, Status


@lru_cache(maxsize=256)
def expected_dates(calendar: str, first: date, last: date) -> frozenset[date]:
    """The calendar's dates in ``[first, last]``; cached, as many series share one calendar."""
    if first > last:
        return frozenset()
    return frozenset(expected_between(get_calendar(calendar), first, last))


def first_from_start(series: Series, dates: Iterable[date]) -> date | None:
    """The oldest of ``dates`` on or after ``series.default_start``; None when there is none.

    Where a series' record keeping starts, for completeness (the start of its expected dates)
    and the health view's freshness alike: a record dated before the catalog start (one no
    message may ask for, written by an older release or a person), value or not, moved the
    start earlier and made every calendar date up to the next one expected and missing."""
    return min((d for d in dates if d >= series.default_start), default=None)


@dataclass(frozen=True, slots=True)
class Completeness:
    """One series' stored dates measured against its calendar, up to what is published."""

    first: date | None
    """The first date with a stored value (OK); PENDING and other statuses are counted apart."""
    last: date | None
    """The last date with a stored value (OK)."""
    last_available: date
    """The last date the source has published at the instant asked about."""
    expected: int
    """Calendar dates from the start (``since``, else the first stored date on or after the
    series' catalog start: :func:`first_from_start`) to last_available."""
    ok: int
    """Stored OK records."""
    ok_expected: int
    """Stored OK records on expected dates."""
    missing: int
    """Expected dates with no record at all."""
    pending: int
    quarantined: int
    unexpected: int
    """OK values published on a day the calendar does not expect: stored, marked, counted."""
    revised: int
    """Values the source revised after they were stored (kept with their history); an
    adjustment (only derived attributes re-based, as Yahoo's adj_close) is not counted."""
    absent: int
    """Dates the source says it has no value for (ABSENT, not retried)."""
    after_clock: int = 0
    """OK values dated after last_available (a clock set before the data): they still date
    the start, but no other count includes them (those stop at last_available)."""

    @property
    def ratio(self) -> float | None:
        """OK expected dates over expected dates; None when nothing is expected yet."""
        return self.ok_expected / self.expected if self.expected else None


def completeness(
    series: Series, present: Iterable[PresentDate], now: datetime, since: date | None = None
) -> Completeness:
    """How complete ``series`` is at ``now``, counting from ``since`` or its first stored date;
    with ``since`` every count (and first and last) leaves out the dates before it.

    The first stored date is that of any record on or after ``series.default_start``
    (:func:`first_from_start`, the rule the health view's freshness starts by), even one dated
    after what is published at ``now``: a series whose values all lie after the clock expects
    nothing yet (its start is after the end), rather than every date since its catalog start.
    A record dated before ``series.default_start``, a value or not, is counted (in ``ok`` or
    its status; an OK one is the ``first`` stored value) but does not date the start. A series
    with no record from its catalog start on counts from ``series.default_start``. OK values
    after the end are counted in ``after_clock`` alone."""
    dates = list(present)
    end = series.published_through(now)
    # One pass over the records: OK values after the end are counted (``later``, before
    # ``since`` leaves any out) and nothing else; every other record from ``since`` on (the
    # series' start if later) is kept, the last of two on one date winning. The counts below
    # are set operations.
    floor = clamp_start(series.default_start, since) if since is not None else date.min
    ok_status = Status.OK
    stored: dict[date, Status] = {}
    later = revised = 0
    for p in dates:
        day = p.date
        if p.status is ok_status and day > end:
            later += 1
        elif day >= floor:
            stored[day] = p.status
            if p.revised:
                revised += 1
    if since is not None:
        start = floor
    else:
        # A record before the series' own start is of a date no message may ask for
        # (planning.unservable), kept and counted, but taken as the start it made every
        # calendar day up to the next record expected and missing (5,590 expected of a USD
        # with 22 values); OK values after the end date it (``dates``, not ``stored``).
        start = first_from_start(series, (p.date for p in dates)) or series.default_start
    expected = expected_dates(series.calendar, start, end)
    cal = get_calendar(series.calendar)
    counts = Counter(stored.values())
    ok = counts[ok_status]
    values = list(stored) if ok == len(stored) else [d for d, s in stored.items() if s is ok_status]
    ok_expected = len(expected.intersection(values))
    # The calendar is asked only of the OK dates outside ``expected`` (truly unexpected ones)
    outside = set(values).difference(expected) if ok_expected < ok else ()
    return Completeness(
        first=min(values) if values else None,
        last=max(values) if values else None,
        last_available=end,
        expected=len(expected),
        ok=ok,
        ok_expected=ok_expected,
        missing=len(expected) - len(expected.intersection(stored)),
        pending=counts[Status.PENDING],
        quarantined=counts[Status.QUARANTINED],
        unexpected=sum(1 for d in outside if not cal.is_expected(d)),
        revised=revised,
        absent=counts[Status.ABSENT],
        after_clock=later,
    )
