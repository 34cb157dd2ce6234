"""Which dates a series must have: one calendar per source, from maintained libraries.

Checked against the real files (docs/calendars in shared/reference):
- PTAX follows the ANBIMA banking calendar (``bizdays``) exactly.
- B3 and NYSE sessions: ``holidays.financial_holidays`` (pure Python, no pandas in Lambdas).
- FRED Brent spot: weekdays except England and Wales bank holidays, which FRED leaves empty.
- ANP: one survey week a time, keyed by its Sunday, except the known survey pauses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from importlib import util
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

# Weeks ANP did not survey (DATA INICIAL of each skipped week is inside one of these ranges).
ANP_SURVEY_PAUSES: tuple[tuple[date, date], ...] = (
    (date(2015, 8, 16), date(2015, 8, 22)),
    (date(2020, 8, 16), date(2020, 10, 17)),
)


class Calendar(Protocol):
    """The dates a series is expected to have."""

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


def expected_between(cal: Calendar, start: date, end: date) -> Iterator[date]:
    """Every expected date in ``[start, end]``, in order."""
    day = start if cal.is_expected(start) else cal.next_expected(start)
    while day <= end:
        yield day
        day = cal.next_expected(day)


@dataclass(frozen=True)
class _HolidayCalendar:
    """Weekdays minus a holiday set."""

    name: str
    holiday_set: frozenset[date]

    def is_expected(self, day: date) -> bool:
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
    """The first day of every month (monthly averages are keyed by their month's first day)."""

    name: str

    def is_expected(self, day: date) -> bool:
        return day.day == 1

    def next_expected(self, day: date) -> date:
        return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


_YEARS = range(1984, 2101)


@cache
def _anbima_holidays() -> frozenset[date]:
    """ANBIMA's holidays as the ``bizdays`` package maintains them.

    Read from the package's own ``ANBIMA.cal`` data file rather than through
    ``bizdays.Calendar.load``, whose constructor indexes two centuries of days (about 2 s) and
    imports pandas: too slow for a Lambda cold start. A test checks both give the same days.
    """
    spec = util.find_spec("bizdays")  # locates the package without importing it (and pandas)
    if spec is None or spec.origin is None:
        raise RuntimeError("the bizdays package is not installed")
    text = (Path(spec.origin).parent / "ANBIMA.cal").read_text()
    return frozenset(date.fromisoformat(line) for line in text.split() if line[:1].isdigit())


@cache
def _financial(market: str) -> frozenset[date]:
    return frozenset(holidays.financial_holidays(market, years=_YEARS).keys())


@cache
def _england() -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=_YEARS).keys())


@cache
def get_calendar(name: str) -> Calendar:
    """The calendar a catalog entry names."""
    match name:
        case "ANBIMA":
            return _HolidayCalendar("ANBIMA", _anbima_holidays())
        case "B3":
            return _HolidayCalendar("B3", _financial("BVMF"))
        case "NYSE":
            return _HolidayCalendar("NYSE", _financial("NYSE"))
        case "FRED_BRENT":
            return _HolidayCalendar("FRED_BRENT", _england())
        case "ANP_WEEKLY":
            return _WeeklyCalendar("ANP_WEEKLY", ANP_SURVEY_PAUSES)
        case "MONTHLY":
            return _MonthlyCalendar("MONTHLY")
    raise ValueError(f"unknown calendar {name!r}")


def last_available_date(now: datetime, available_after: timedelta) -> date:
    """The latest date whose value has been published by ``now`` (São Paulo time)."""
    return (now.astimezone(SAO_PAULO).replace(tzinfo=None) - available_after).date()
