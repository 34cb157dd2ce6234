"""Which dates a series must have: one calendar per source, measured against its real history.

Each calendar is a maintained holiday library plus the rules and learned exceptions its
source's real history needs (docs/CALENDARS.md has the measurements; tests/calendars runs them):
- PTAX: the ANBIMA banking calendar (``bizdays``' data file) from 2000; before it, B3's
  holidays (``holidays.financial_holidays("BVMF")``) and two election days.
- B3 sessions: ``holidays.financial_holidays("BVMF")`` plus São Paulo city holidays (25 January,
  9 July, 20 November) up to 2021 (B3 has opened on them since 2022) and the last weekday of
  the year when 31 December falls on a weekend.
- NYSE sessions: ``holidays.financial_holidays("NYSE")``.
- Brent futures (Yahoo ``BZ=F``): NYSE sessions minus the days learned from Yahoo's history;
  no NYSE holiday is expected, though Yahoo has a bar on some (stored as unexpected).
- FRED Brent spot: weekdays except England and Wales bank holidays and, from 2007 to January
  2015, US exchange holidays too; plus the days learned from FRED's own history.
- ANP: one survey week a time, keyed by its Sunday, except the known survey pauses.

A calendar only decides which dates are *wanted* (gap scans, retries, quarantine). A value a
source publishes on a day its calendar does not expect is still stored (marked
``calendar: unexpected``): see stages/scrape.py; each stream's request reaches back over the
skipped days before its first date so that one is fetched (planning.request_start).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime, time, timedelta
from functools import cache, lru_cache
from typing import Protocol

from fuelpipe.domain import calendar_exceptions as exceptions
from fuelpipe.domain import holiday_tables as tables
from fuelpipe.domain.instants import SAO_PAULO

# Weeks ANP did not survey (DATA INICIAL of each skipped week is inside one of these ranges).
ANP_SURVEY_PAUSES: tuple[tuple[date, date], ...] = (
    (date(2015, 8, 16), date(2015, 8, 22)),
    # The week of 16 August 2020 was surveyed (its row is in the Brazil and regions workbooks);
    # the pause ran from the week of 23 August to the week of 11 October.
    (date(2020, 8, 23), date(2020, 10, 17)),
)
ANP_MONTHLY_PAUSES: tuple[date, ...] = (date(2020, 9, 1),)
"""Months with no monthly average: "Não houve pesquisa de preços entre 18/8/20 e 17/10/20" (the
monthly workbook's own note), and its rows skip from 2020-08 to 2020-10 for every state."""


class Calendar(Hashable, Protocol):
    """The dates a series is expected to have (hashable: gap scans remember its dates)."""

    @property
    def name(self) -> str:
        """The calendar's catalog name."""
        ...

    def is_expected(self, day: date) -> bool:
        """True when the source publishes a value for this date."""
        ...

    def next_expected(self, day: date) -> date:
        """The first expected date strictly after ``day``."""
        ...


EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2200, 12, 31)
"""The dates the domain computes with: far inside Python's ``date`` range, so stepping a week
or a month past either end can never overflow (a ``--now 9999-12-31`` typo, a fuzzed message)."""


class DateOutOfRange(ValueError):
    """A date or instant outside ``[EARLIEST_DATE, LATEST_DATE]``."""


def check_in_range(day: date, what: str = "date") -> date:
    """``day`` itself, or DateOutOfRange with one line naming ``what``."""
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise DateOutOfRange(f"{what} {day} is outside {EARLIEST_DATE}..{LATEST_DATE}")
    return day


def expected_between(cal: Calendar, start: date, end: date) -> Iterator[date]:
    """Every expected date in ``[start, end]``, in order."""
    check_in_range(start, "start")
    check_in_range(end, "end")
    day = start if cal.is_expected(start) else cal.next_expected(start)
    while day <= end:
        yield day
        day = cal.next_expected(day)


@lru_cache(maxsize=16)
def expected_dates(cal: Calendar, start: date, end: date) -> tuple[date, ...]:
    """:func:`expected_between` as a tuple, remembered for the last few calendars and ranges:
    the keys of one calendar share them (a 20-year gap scan of the ~80 keys of each ANP
    workbook walks the survey weeks once, not once per key)."""
    return tuple(expected_between(cal, start, end))


@dataclass(frozen=True)
class _HolidayCalendar:
    """Weekdays minus a holiday set, plus the closed days a source still published."""

    # Not a bizdays Calendar: it takes holidays and non-working weekdays only, so a weekend
    # day a source published (``open_days``) cannot be a business day in it.

    name: str
    holiday_set: frozenset[date]
    open_days: frozenset[date] = frozenset()

    def is_expected(self, day: date) -> bool:
        if day in self.open_days:
            return True
        return day.weekday() < 5 and day not in self.holiday_set

    def next_expected(self, day: date) -> date:
        day += timedelta(days=1)
        while not self.is_expected(day):
            day += timedelta(days=1)
        return day


@dataclass(frozen=True)
class _WeeklyCalendar:
    """ANP survey weeks: every Sunday except the known pauses."""

    name: str
    pauses: tuple[tuple[date, date], ...]

    def is_expected(self, day: date) -> bool:
        return day.weekday() == 6 and not any(a <= day <= b for a, b in self.pauses)

    def next_expected(self, day: date) -> date:
        day += timedelta(days=(6 - day.weekday()) % 7 or 7)
        while not self.is_expected(day):
            day += timedelta(days=7)
        return day


@dataclass(frozen=True)
class _MonthlyCalendar:
    """The first day of every month (monthly averages are keyed by their month's first day),
    but the ``pauses``."""

    name: str
    pauses: tuple[date, ...] = ()

    def is_expected(self, day: date) -> bool:
        return day.day == 1 and day not in self.pauses

    def next_expected(self, day: date) -> date:
        while True:
            day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
            if day not in self.pauses:
                return day


def period_start(cal: Calendar, day: date) -> date:
    """The first day of ``cal``'s period that holds ``day``, the date that period's value is
    keyed by: a survey week's Sunday, a month's first day; ``day`` itself on a daily calendar."""
    if isinstance(cal, _WeeklyCalendar):
        return day - timedelta(days=(day.weekday() + 1) % 7)
    if isinstance(cal, _MonthlyCalendar):
        return day.replace(day=1)
    return day


_YEARS = range(1984, 2101)
"""The years the holiday tables cover (devtools/holiday_tables.py ``YEARS``)."""


def holiday_dates(table: str) -> frozenset[date]:
    """The dates of one of ``holiday_tables``' tables (lines of a year and its MMDD days).

    The tables are the holidays and bizdays libraries' own days, written out by
    ``python -m devtools.holiday_tables`` and checked against them by a test: importing
    ``holidays`` loads every lunisolar calendar it has, and computing 117 years of them cost
    each cold start (a Lambda's, every ``fuelpipe`` command's) more than the gap scan did.
    """
    days: set[date] = set()
    for line in table.splitlines():
        year, *mmdd = line.split()
        y = int(year)
        days.update(date(y, int(md[:2]), int(md[2:])) for md in mmdd)
    return frozenset(days)


@cache
def _anbima_holidays() -> frozenset[date]:
    """ANBIMA's holidays as the ``bizdays`` package maintains them (its ``ANBIMA.cal``)."""
    return holiday_dates(tables.ANBIMA)


@cache
def _financial(market: str) -> frozenset[date]:
    """``holidays.financial_holidays(market)``, 1984-2100 (``BVMF`` or ``NYSE``)."""
    return holiday_dates({"BVMF": tables.BVMF, "NYSE": tables.NYSE}[market])


@cache
def _england() -> frozenset[date]:
    """``holidays.country_holidays("GB", subdiv="ENG")``, 1984-2100."""
    return holiday_dates(tables.ENGLAND)


ANBIMA_FROM = date(2000, 1, 1)
"""The first date of bizdays' ANBIMA.cal; before it PTAX follows B3's holidays."""


@cache
def _ptax_holidays() -> frozenset[date]:
    """ANBIMA from 2000, B3's holidays before, and the learned days without a bulletin."""
    before = {d for d in _financial("BVMF") if d < ANBIMA_FROM}
    return _anbima_holidays() | before | exceptions.PTAX_NO_VALUE


# São Paulo city holidays, on which B3 was closed until 2021 (it opened on them from 2022).
# Not holidays' BR subdivision SP: the state's calendar (no 25 January; 9 July 2020 closed).
SAO_PAULO_CITY_HOLIDAYS: tuple[tuple[int, int, Sequence[int]], ...] = (
    (1, 25, range(1984, 2022)),  # the city's anniversary
    # the 1932 Constitutionalist Revolution; B3 traded on 9 July 2020 (PETR4 has a normal bar)
    (7, 9, tuple(y for y in range(1984, 2022) if y != 2020)),
    (11, 20, range(2004, 2022)),  # Black Consciousness Day (a city holiday from 2004)
)


def _last_weekday_of_year(year: int) -> date:
    # Not holidays' BVMF "Last Business Day of the Year": it has that day from 2018 on only.
    day = date(year, 12, 31)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


@cache
def _b3_holidays() -> frozenset[date]:
    """BVMF's national holidays plus the city holidays and B3's year-end closing day."""
    city = {
        date(year, month, day) for month, day, years in SAO_PAULO_CITY_HOLIDAYS for year in years
    }
    # B3 does not trade on the year's last business day (31 December, or the Friday before).
    year_end = {_last_weekday_of_year(year) for year in _YEARS}
    return _financial("BVMF") | frozenset(city) | frozenset(year_end)


FRED_US_HOLIDAY_ERA = (date(2007, 1, 1), date(2015, 1, 31))
"""When FRED's Brent spot was also empty on US exchange holidays (MLK Day 2015 is the last)."""


@cache
def _fred_brent_holidays() -> frozenset[date]:
    start, end = FRED_US_HOLIDAY_ERA
    us = {d for d in _financial("NYSE") if start <= d <= end}
    return _england() | frozenset(us) | exceptions.FRED_BRENT_NO_VALUE


_BUILDERS: dict[str, Callable[[], Calendar]] = {
    "ANBIMA": lambda: _HolidayCalendar("ANBIMA", _ptax_holidays()),
    "B3": lambda: _HolidayCalendar("B3", _b3_holidays()),
    "NYSE": lambda: _HolidayCalendar("NYSE", _financial("NYSE")),
    "NYMEX_BRENT": lambda: _HolidayCalendar(
        "NYMEX_BRENT", _financial("NYSE") | exceptions.NYMEX_BRENT_NO_VALUE
    ),
    "FRED_BRENT": lambda: _HolidayCalendar(
        "FRED_BRENT", _fred_brent_holidays(), exceptions.FRED_BRENT_PUBLISHED
    ),
    "ANP_WEEKLY": lambda: _WeeklyCalendar("ANP_WEEKLY", ANP_SURVEY_PAUSES),
    "MONTHLY": lambda: _MonthlyCalendar("MONTHLY", ANP_MONTHLY_PAUSES),
}
CALENDAR_NAMES = tuple(_BUILDERS)


@cache
def get_calendar(name: str) -> Calendar:
    """The calendar a catalog entry names."""
    builder = _BUILDERS.get(name)
    if builder is None:
        raise ValueError(f"unknown calendar {name!r}")
    return builder()


@cache
def calendar_fingerprint(cal: Calendar) -> str:
    """A short digest of the rules and dates ``cal`` is built from (its name, date sets, pauses),
    the same in every process and release while they are unchanged. A gap scan's watermark
    keeps the one it was computed with: a release that changes the calendar changes the
    fingerprint, and the next scan of the key is a full audit (stages/orchestrate.py)."""
    if not is_dataclass(cal) or isinstance(cal, type):
        raise TypeError(f"cannot fingerprint calendar {cal!r}: not a dataclass instance")
    parts = []
    for f in fields(cal):
        value = getattr(cal, f.name)
        parts.append(f"{f.name}={sorted(value) if isinstance(value, frozenset) else value!r}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def last_available_date(now: datetime, available_after: timedelta) -> date:
    """The latest date whose value has been published by ``now`` (São Paulo time)."""
    check_in_range(now.date(), "now")
    return (now.astimezone(SAO_PAULO).replace(tzinfo=None) - available_after).date()


def known_by_end_of(day: date, available_after: timedelta) -> date:
    """The latest date whose value was published before ``day`` ended in São Paulo: what was
    known on ``day`` (the dashboard's End date). An ANP week (Sunday + 5 days 18 h) counts from
    its Friday on, so a Wednesday's latest week is the one that ended the Saturday before;
    PTAX, B3 and the New York closes count on their own day. FRED's Brent comes in weekly
    batches, which no one offset fits: the dashboard asks its schedule instead
    (``Publication.published_through``; dashboard/repository.py)."""
    return last_available_date(datetime.combine(day, time.max, SAO_PAULO), available_after)
