"""When each source publishes: calendar, local publication time, usual delay, lateness allowance.

Pure: every function takes ``now`` as an argument. A value for date ``d`` is *published* at
``published_at(d)``: the local time ``local_time`` on ``d + days_after`` in ``tz``, plus the
usual delay before it can be fetched. It is *late* (an alert may fire) after
``published_at(d) + allowance``. While a publication is due and not stored, the orchestrator polls
it every ``poll_every`` with conditional requests, and after its window for a ``grace`` (4 hours by
default) every ``grace_every`` (15 minutes): a PTAX close out 80 minutes after its window was
stored only at recheck's next retry, hours later, and one that never comes costs 16 requests
more (a bound chosen, not measured: no source gives how late a late publication comes);
otherwise it does not ask the source at all.

Where each figure comes from (checked against the real files in ``datasets/`` where they can be):

- PTAX closing (``ptax_close``). BCB consults dealers in four windows, 10:00-10:10, 11:00-11:10,
  12:00-12:10 and 13:00-13:10 America/Sao_Paulo; the closing PTAX is their mean, published right
  after the last window (BCB's PTAX methodology, Circular 3.506; open-bacen/cotacao-diaria-dolar
  README). ``datasets/intraday/netinhoklz__historico_ptax_janelas_2017-01-04_2023-09-28.xlsx``
  has the four windows at 10, 11, 12 and 13 h, and their mean equals the closing PTAX of
  ``datasets/fx/strongylis__ptax.csv`` on all 493 common days, so nothing is published before
  13:10. Closing timestamps in public Olinda answers are 13:04-13:10 (13:05 on 2018-03-05,
  13:09 on 2020-11-26, 13:04-13:09 on seven days of 2025; origins in docs/SOURCE_FORMATS.md)
  -> 13:10, allowance 50 minutes (late at 14:00).
- PTAX bulletins (``ptax_close``'s ``intraday`` times): one per window, up to about ten minutes
  after each opens (the 2018-03-05 answer has 10:02, 11:05, 12:03, 13:05; the 2020-11-26 one
  10:11, 11:11, 12:08, 13:09: docs/SOURCE_FORMATS.md) -> 10:10, 11:10, 12:10, 13:10.
- PTAX on Ash Wednesday (Easter - 46 days; the market opens at 13:00 after Carnival): BCB
  consults two windows only, at 14:30 and 15:30, and the closing PTAX is their mean (the windows
  file has exactly those two on every Ash Wednesday 2017-2023, nothing else on any other day,
  and their mean is the closing PTAX). ``ASH_WEDNESDAY_PTAX`` -> bulletins 14:40 and 15:40,
  closing 15:40 with the same 50-minute allowance (late at 16:30). ``available_after`` stays
  the usual day's: it is a per-series offset, counted in days by its users.
- B3 daily bars (``b3_close``). B3's regular session ends at 17:00 or 18:00 (the closing
  auction bar moves from 17:00 to 18:00 on 2020-11-03 in
  ``datasets/intraday/fabiorodp__PETR4_15min_2020-06-22_2020-12-04.csv``), and Yahoo shows B3
  quotes 15 minutes late (GnuCash's table of Yahoo exchanges) -> 18:30 local, allowance 2 h.
- NYSE daily bars (``nyse_close``): the session ends 16:00 America/New_York; Yahoo's daily bar
  is final minutes later -> 16:30 New York time (17:30 or 18:30 in São Paulo), allowance 2 h.
- Brent futures BZ=F (``brent_futures_close``): NYMEX Brent trades on CME Globex until the
  daily halt at 17:00 New York time (CME contract specs) -> 17:30 New York, allowance 2 h.
  Trading resumes at 18:00 New York for the next trading day's session (Sunday to Friday,
  18:00-17:00 with the hour's halt: CME contract specs) -> ``reopens`` 18:00: the evening's
  15-minute bars are dated the day before that session's (``domain/intraday.py``
  ``evening_day``).
- FRED Brent spot (``fred_brent``): EIA spot data that FRED loads in weekly batches, each
  running through a Monday. Every dated copy of the series found ends on a Monday: an FRED API
  answer with ``realtime_start`` 2025-11-27 (a Thursday) ends on Monday 2025-11-24 (DCOILWTICO,
  the same EIA spot table as Brent's: jaleintz/commodities-tracker ``FRED_WTI.JSON`` @
  7473b90c); EIA's own API on Thursday 2017-10-05 ended on Monday 2017-10-02
  (mini-kep/parcer-template ``parsers/getter/brent.py`` @ ac90d739, docstring); FRED
  CSVs committed on Thursday 2026-04-30 20:30 New York end on Monday 2026-04-27
  (parmcat/monitor_pilot), on Sunday 2026-03-15 on Monday 2026-03-09
  (ZeynepYapar06/war-economic-effects-us), on Monday 2019-11-04 on Monday 2019-10-28
  (nuputnuput02/111111), and ``datasets/brent/FRED_DCOILBRENTEU_1987-05-20_2020-12-07.csv``
  on Monday 2020-12-07. So a Monday's value is out by the end of the Thursday after it (FRED's
  St. Louis day) and a Tuesday's, which no copy shows alone, only with the next batch, nine
  days later. No source found gives the weekday or hour of the load itself (FRED names no
  release time for the series; ALFRED's vintage dates could not be had offline), so the
  schedule takes the latest the evidence allows: the batch through a Monday is out on the
  Friday after it at 00:00 America/Chicago (``batch_through`` Monday, 4 days after), that is
  2 days after its date (Friday) to 10 days (Tuesday), allowance 3 days, polled every 10
  minutes while due (a small CSV, and conditional requests make an unchanged answer a 304).
  The former flat 7 days let a Tuesday's or Wednesday's value count as out one or two days
  before its batch, and waited four days more than needed for a Monday's.
- ANP weekly survey (``anp_weekly``): the week runs Sunday to Saturday (DATA INICIAL/DATA FINAL
  in ``datasets/anp/maikereis__semanal-brasil-desde-2013.xlsx``) and the results normally come
  out on the Friday of the survey week in the evening (Valor, 2023-03-24; Bahia Econômica,
  2024-07-13), later in some holiday weeks: in July 2024 on the next Wednesday -> Sunday + 5
  days at 18:00, allowance 5 days (late after the next Wednesday evening). Peers poll daily and
  skip unchanged files by ``Last-Modified`` (basedosdados ``br_anp_precos_combustiveis``).
- ANP monthly state averages (``anp_monthly``): the month's average comes with the month's
  last weekly surveys and the monthly workbook is refreshed some weeks later; no public
  timetable -> 45 days after the month's first day, allowance 30 days (unconfirmed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dateutil.easter import easter

if TYPE_CHECKING:
    from fuelpipe.domain.calendars import Calendar

SAO_PAULO = "America/Sao_Paulo"
NEW_YORK = "America/New_York"
CHICAGO = "America/Chicago"


@dataclass(frozen=True, slots=True)
class DaySchedule:
    """Other publication times for the value dates ``applies`` picks (their local day)."""

    name: str
    applies: Callable[[date], bool]
    local_time: time
    """The day's publication time, in place of the schedule's ``local_time``."""
    intraday: tuple[time, ...] = ()
    """The day's intraday publication times, in place of the schedule's ``intraday``."""


def is_ash_wednesday(day: date) -> bool:
    """Ash Wednesday: Easter Sunday - 46 days, the day after Carnival (Western Easter, as the
    ``holidays`` library computes it for Brazil's Carnival, with the same ``dateutil``)."""
    sunday: date = easter(day.year)
    return day == sunday - timedelta(days=46)


ASH_WEDNESDAY_PTAX = DaySchedule(
    "ash_wednesday",
    is_ash_wednesday,
    time(15, 40),
    intraday=(time(14, 40), time(15, 40)),
)
"""PTAX on Ash Wednesday: two windows, 14:30 and 15:30; the closing is out after the second."""


@dataclass(frozen=True, slots=True)
class Publication:
    """One source's publication schedule for a series' dates."""

    name: str
    tz: str
    """The zone of ``local_time``."""
    days_after: int
    """The publication day, counted from the value's own date (ANP weeks: Sunday -> Friday = 5),
    or from the last day of its batch (``batch_through``)."""
    local_time: time
    usual_delay: timedelta
    """Between the nominal publication time and the value being fetchable."""
    allowance: timedelta
    """How late past ``published_at`` the value may be before it counts as stale."""
    poll_every: timedelta = timedelta(minutes=5)
    """While due and not stored: how often to ask again (with conditional requests)."""
    intraday: tuple[time, ...] = ()
    """Times of the day's intraday publications (PTAX bulletins), when the source has them."""
    special_days: tuple[DaySchedule, ...] = ()
    """Days with other times than ``local_time`` and ``intraday`` (the first that applies)."""
    reopens: time | None = None
    """For a market that trades into the evening: the local time the next trading day's
    session opens after the daily close (None: nothing trades between a close and the next
    day's opening)."""
    batch_through: int | None = None
    """For a source that publishes a week of values at once: the weekday (Monday = 0) each
    batch runs through; a value is published with the batch of the first such day on or after
    its date (FRED Brent: Monday). None: each date on its own."""
    grace: timedelta = timedelta(hours=4)
    """After the window (``stale_at``): how long a due date still missing is asked for again,
    every ``grace_every``, before only recheck's backoff asks for it (:func:`in_grace`)."""
    grace_every: timedelta = timedelta(minutes=15)
    """How often a date in its ``grace`` is asked for again (with conditional requests)."""

    def _publication_day(self, day: date) -> date:
        if self.batch_through is not None:
            day += timedelta(days=(self.batch_through - day.weekday()) % 7)
        return day + timedelta(days=self.days_after)

    def _special(self, day: date) -> DaySchedule | None:
        return next((d for d in self.special_days if d.applies(day)), None)

    def local_time_on(self, day: date) -> time:
        """The local publication time of the value for ``day``."""
        special = self._special(day)
        return self.local_time if special is None else special.local_time

    def intraday_on(self, day: date) -> tuple[time, ...]:
        """The intraday publication times of the value for ``day`` (on its publication day)."""
        special = self._special(day)
        return self.intraday if special is None else special.intraday

    def intraday_after(self, now: datetime, calendar: Calendar | None = None) -> datetime | None:
        """The next intraday publication instant after ``now``.

        Without ``calendar``: later on the same local day (None after its last). With the
        series' ``calendar``: only on a day whose value it expects (no PTAX bulletin on a
        weekend or a holiday), else the first one of the next expected day, so the next
        instant is never None."""
        if not self.intraday:
            return None
        zone = ZoneInfo(self.tz)
        shift = timedelta(days=self.days_after)
        day = now.astimezone(zone).date() - shift  # the value date published that local day
        if calendar is not None and not calendar.is_expected(day):
            day = calendar.next_expected(day)
        for t in self.intraday_on(day):
            instant = datetime.combine(day + shift, t).replace(tzinfo=zone)
            if instant > now:
                return instant
        if calendar is None:
            return None
        nxt = calendar.next_expected(day)
        return datetime.combine(nxt + shift, self.intraday_on(nxt)[0]).replace(tzinfo=zone)

    def published_at(self, day: date) -> datetime:
        """The instant the value for ``day`` is normally out and fetchable."""
        local = datetime.combine(self._publication_day(day), self.local_time_on(day))
        return local.replace(tzinfo=ZoneInfo(self.tz)) + self.usual_delay

    def stale_at(self, day: date) -> datetime:
        """After this instant a missing value for ``day`` is late."""
        return self.published_at(day) + self.allowance

    def polled_until(self, day: date) -> datetime:
        """The last instant a missing value for ``day`` is polled (its window and its grace);
        after it, recheck's backoff alone asks for it."""
        return self.stale_at(day) + self.grace

    def poll_interval(self, day: date, now: datetime) -> timedelta:
        """How often a missing value for ``day`` is asked for at ``now``: ``poll_every`` inside
        its window, ``grace_every`` in its grace (:func:`in_grace`). The watch plans its next
        poll with the interval of the instant it would come (stages/due.py ``next_wake``)."""
        return self.grace_every if now > self.stale_at(day) else self.poll_every

    def published_through(self, now: datetime) -> date:
        """The latest date whose value is published by ``now`` (not necessarily expected)."""
        local = now.astimezone(ZoneInfo(self.tz)).date()
        day = local - timedelta(days=self.days_after)
        while self.published_at(day) > now:
            day -= timedelta(days=1)
        while self.published_at(day + timedelta(days=1)) <= now:
            day += timedelta(days=1)
        return day

    @property
    def available_after(self) -> timedelta:
        """Publication offset from the start of the date in São Paulo (where every "known at"
        is counted). For a schedule in another zone, the latest the offset gets over the
        zones' daylight-saving combinations (BZ=F's 17:30 New York close is 18:30-20:30 in São
        Paulo), so a value is never taken as known before it is out. For a batch, the longest
        offset of its weekdays (FRED Brent: a Tuesday's, 10 days and the zones' hours): one
        offset for every date must not count a value as known before its batch is out."""
        clock = timedelta(hours=self.local_time.hour, minutes=self.local_time.minute)
        nominal = timedelta(days=self.days_after) + clock + self.usual_delay
        if self.tz == SAO_PAULO and self.batch_through is None:
            return nominal
        sao_paulo = ZoneInfo(SAO_PAULO)
        week = range(7 if self.batch_through is not None else 1)
        return max(
            self.published_at(day + timedelta(days=i))
            - datetime.combine(day + timedelta(days=i), time(0), sao_paulo)
            for day in _ZONE_SAMPLE
            for i in week
        )


_ZONE_SAMPLE = tuple(date(year, month, 15) for year in (2017, 2018, 2025) for month in range(1, 13))
"""Dates covering both zones' daylight-saving seasons: São Paulo kept summer time until 2019."""


PUBLICATIONS: Mapping[str, Publication] = MappingProxyType(
    {
        p.name: p
        for p in (
            Publication(
                "ptax_close",
                SAO_PAULO,
                0,
                time(13, 10),
                timedelta(0),
                timedelta(minutes=50),
                intraday=(time(10, 10), time(11, 10), time(12, 10), time(13, 10)),
                special_days=(ASH_WEDNESDAY_PTAX,),
            ),
            Publication("b3_close", SAO_PAULO, 0, time(18, 30), timedelta(0), timedelta(hours=2)),
            Publication("nyse_close", NEW_YORK, 0, time(16, 30), timedelta(0), timedelta(hours=2)),
            Publication(
                "brent_futures_close",
                NEW_YORK,
                0,
                time(17, 30),
                timedelta(0),
                timedelta(hours=2),
                reopens=time(18, 0),
            ),
            Publication(
                "fred_brent",
                CHICAGO,
                4,
                time(0, 0),
                timedelta(0),
                timedelta(days=3),
                poll_every=timedelta(minutes=10),
                batch_through=0,
            ),
            Publication("anp_weekly", SAO_PAULO, 5, time(18, 0), timedelta(0), timedelta(days=5)),
            Publication(
                "anp_monthly",
                SAO_PAULO,
                45,
                time(0, 0),
                timedelta(0),
                timedelta(days=30),
                poll_every=timedelta(hours=6),
                grace_every=timedelta(hours=6),
            ),
        )
    }
)


def publication(name: str) -> Publication:
    """The schedule a catalog entry names."""
    try:
        return PUBLICATIONS[name]
    except KeyError:
        raise ValueError(f"unknown publication schedule {name!r}") from None


def in_window(pub: Publication, day: date, now: datetime) -> bool:
    """True between the value's publication instant and its lateness limit."""
    return pub.published_at(day) <= now <= pub.stale_at(day)


def in_grace(pub: Publication, day: date, now: datetime) -> bool:
    """True after the value's window and up to :meth:`Publication.polled_until`: the value is
    late (an alert may fire), yet a publication this late still comes out some days (a PTAX
    close after 14:00), so a missing value is still polled, every ``grace_every``."""
    return pub.stale_at(day) < now <= pub.polled_until(day)


def pollable(pub: Publication, day: date, now: datetime) -> bool:
    """True while a missing value for ``day`` is polled: in its window or its grace."""
    return pub.published_at(day) <= now <= pub.polled_until(day)


def polled_dates(pub: Publication, now: datetime) -> tuple[date, date] | None:
    """The first and last dates :func:`pollable` at ``now`` (calendar aside), or None: the
    :func:`window_dates` of the schedule with its grace counted in its allowance."""
    return window_dates(replace(pub, allowance=pub.allowance + pub.grace, grace=timedelta(0)), now)


def window_dates(pub: Publication, now: datetime) -> tuple[date, date] | None:
    """The first and last dates whose window holds ``now`` (:func:`in_window` is true of every
    date between them, calendar aside, and of no other), or None when no date's does: a
    PENDING date that can still be polled lies there, so a read of them needs no other."""
    last = pub.published_through(now)
    first = pub.published_through(now - pub.allowance)
    # A batch (FRED Brent's week) shares one instant: every date of it is late together, and
    # an allowance over a change of clocks is counted on the wall clock, as stale_at does.
    while first > last or pub.stale_at(first) >= now:
        before = first - timedelta(days=1)
        if pub.stale_at(before) < now:
            break
        first = before
    while first <= last and pub.stale_at(first) < now:
        first += timedelta(days=1)
    return (first, last) if first <= last else None
