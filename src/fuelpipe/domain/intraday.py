"""Intraday values: the PTAX bulletins of a day and 15-minute bars, kept for a short retention.

The daily closing series stay as they are; intraday points live under their own keys
(:func:`fuelpipe.domain.keys.intraday_key`) with a sort key of the time of day, and expire.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from fuelpipe.domain.calendars import get_calendar
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.keys import intraday_key
from fuelpipe.domain.publication import SAO_PAULO
from fuelpipe.domain.text import folded

RETENTION = timedelta(days=35)
"""Intraday points are kept five weeks: enough for the live panel and for comparing a day with
the same weekday a month back; the daily closes keep the history."""

INTRADAY_SERIES = (
    "CURRENCY#USD",
    "STOCK#PETR3",
    "STOCK#PETR4",
    "STOCK#PRIO3",
    "STOCK#XOM",
    "STOCK#CVX",
    "STOCK#SHEL",
    "STOCK#BP",
    "STOCK#TTE",
    "COMMODITY#BRENT_FUTURES",
)
"""Daily series whose sources also publish during the day: PTAX bulletins, oil shares, BZ=F."""

PTAX_BULLETIN_KINDS = ("Abertura", "Intermediário", "Fechamento")
"""BCB's tipoBoletim values, in the order of the day (the closing is "Fechamento PTAX" too)."""


@dataclass(frozen=True, slots=True)
class IntradayPoint:
    """One bulletin or bar of one series at one instant."""

    series_key: str
    at: datetime
    """The bulletin's time or the bar's start, timezone-aware."""
    kind: str
    """``Abertura`` / ``Intermediário`` / ``Fechamento`` for PTAX, ``15m`` for bars."""
    value: Decimal
    """Sell rate for PTAX, close for a bar."""
    attrs: dict[str, Decimal | int | str] = field(default_factory=dict)

    @property
    def day(self) -> date:
        """The day it is filed under: the instant's own date in its zone (its market's), which
        for a series traded in another zone than São Paulo's is not always the day of the panel
        that shows it (:func:`stored_days`)."""
        return self.at.date()

    @property
    def partition(self) -> str:
        """Its partition key."""
        return intraday_key(self.series_key, self.day)

    @property
    def sort_key(self) -> str:
        """Time of day on the point's own clock (its market's zone), so a day's points sort by
        time: ``10:05:00``. No offset, whatever the zone object (a point read back from a
        store carries a fixed one): no market's clocks change during its session."""
        return self.at.time().isoformat()

    def expires_at(self) -> datetime:
        """When the store may drop it."""
        return self.at + RETENTION


def stored_days(zone: str, day: date) -> list[date]:
    """The days, on ``zone``'s calendar, that São Paulo's ``day`` overlaps: the partitions that
    hold its points of a series whose points are in ``zone`` (:attr:`IntradayPoint.day`).

    One for a series of São Paulo's own zone; two for New York's, whose last hour or two of a
    day (BZ=F trades into the evening) are São Paulo's next day.
    """
    sao_paulo = ZoneInfo(SAO_PAULO)
    first = datetime.combine(day, time(), sao_paulo).astimezone(ZoneInfo(zone)).date()
    end = datetime.combine(day + timedelta(days=1), time(), sao_paulo)
    last = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(zone)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def on_sao_paulo_day(points: Iterable[IntradayPoint], day: date) -> list[IntradayPoint]:
    """The points of ``points`` whose instant falls on São Paulo's ``day``, in time order."""
    sao_paulo = ZoneInfo(SAO_PAULO)
    return sorted(
        (p for p in points if p.at.astimezone(sao_paulo).date() == day), key=lambda p: p.at
    )


_FOLDED_KINDS = tuple((folded(kind), kind) for kind in PTAX_BULLETIN_KINDS)


def bulletin_kind(tipo: str) -> str:
    """Normalise BCB's tipoBoletim (``Fechamento PTAX`` and ``Fechamento`` both close), its
    accents, case and spaces aside (:func:`~fuelpipe.domain.text.folded`, as ANP's labels are
    matched): ``Intermediario`` is ``Intermediário``, ``FECHAMENTO PTAX`` a closing. A
    ValueError naming any other type."""
    plain = folded(tipo).strip()
    for spelled, kind in _FOLDED_KINDS:
        if plain.startswith(spelled):
            return kind
    raise ValueError(f"unknown PTAX bulletin type {tipo!r}")


def trading_keys(catalog: Catalog, day: date, keys: Sequence[str] = INTRADAY_SERIES) -> list[str]:
    """The intraday series of ``keys`` whose own calendar has a session on ``day``.

    A B3 holiday is no NYSE holiday: each series is asked about on its own calendar's days only.
    """
    return [k for k in keys if k in catalog and get_calendar(catalog[k].calendar).is_expected(day)]


def collection_window(
    catalog: Catalog, days: Iterable[date], keys: Sequence[str] = INTRADAY_SERIES
) -> tuple[time, time]:
    """São Paulo times between which the intraday series publish on ``days``: from the first
    intraday publication (PTAX's first bulletin) to the latest daily close among them (BZ=F's
    17:30 New York close is 18:30 or 19:30 here, by the zones' daylight saving)."""
    zone = ZoneInfo(SAO_PAULO)
    schedules = {catalog[k].schedule for k in keys if k in catalog}
    firsts = [t for s in schedules for t in s.intraday]
    if not firsts:
        raise ValueError("no intraday publication times among the series")
    closes = [s.published_at(d).astimezone(zone).time() for s in schedules for d in days]
    if not closes:
        raise ValueError("no days to derive the collection window from")
    return min(firsts), max(closes)


COLLECT_EVERY = timedelta(minutes=15)
"""How often the day's bars are collected while their series trade: the bars' own period, at
the quarter-hours the AWS home's schedule runs at (infra/template.yaml)."""


def evening_day(series: Series, now: datetime) -> date | None:
    """The market day (its own zone's date) whose evening bars a collection at ``now`` reads,
    or None when ``series`` has no evening session then.

    A market that reopens after its daily close (BZ=F: 18:00 New York, the next trading day's
    session) dates those bars by the evening's own date, ``E``; they trade when its calendar's
    next session is ``E``'s next day (Sunday to Thursday evenings, none before a holiday or on
    a Friday). A collection at ``now`` reads the quarter-hour before it, so the one at the
    market's midnight still reads ``E`` and gets the last bar's final close."""
    reopens = series.schedule.reopens
    if reopens is None:
        return None
    start = (now - COLLECT_EVERY).astimezone(ZoneInfo(series.exchange_tz))
    day = start.date()
    if start.time() < reopens:
        return None
    nxt = get_calendar(series.calendar).next_expected(day)
    return day if nxt == day + timedelta(days=1) else None


def _evening_collection(series: Series, quarter: datetime) -> datetime | None:
    """The first collection at or after the quarter-hour ``quarter`` that reads an evening of
    ``series`` (:func:`evening_day`): this evening's or the next."""
    reopens = series.schedule.reopens
    if reopens is None:
        return None
    zone = ZoneInfo(series.exchange_tz)
    day = (quarter - COLLECT_EVERY).astimezone(zone).date()
    for evening in (day, day + timedelta(days=1)):
        first = datetime.combine(evening, reopens, zone) + COLLECT_EVERY
        last = datetime.combine(evening + timedelta(days=1), time(), zone)
        at = max(quarter, first)
        if at <= last and evening_day(series, at) == evening:
            return at
    return None


def _day_window(catalog: Catalog, day: date) -> tuple[datetime, datetime] | None:
    """The first and last quarter-hours (São Paulo) of ``day``'s :func:`collection_window`:
    10:10 -> 10:15 as the first, the first quarter-hour after the latest close as the last.
    None for a catalog without the bulletins the window opens with."""
    try:
        first, last = collection_window(catalog, [day])
    except ValueError:
        return None
    zone = ZoneInfo(SAO_PAULO)
    step = int(COLLECT_EVERY.total_seconds() // 60)
    opens = first.hour * 60 + first.minute
    opens = -(-opens // step) * step  # the window's first quarter-hour (10:10 -> 10:15)
    start = datetime.combine(day, time(opens // 60, opens % 60), zone)
    end = datetime.combine(day, last, zone)
    closes = end.replace(minute=end.minute - end.minute % step) + COLLECT_EVERY
    return start, closes


def collection_days(
    catalog: Catalog, now: datetime, keys: Sequence[str] = INTRADAY_SERIES
) -> dict[str, date]:
    """The series of ``keys`` a collection at ``now`` asks for, each with the day to ask (its
    market's date). From the quarter-hour before the first of São Paulo's
    :func:`collection_window` to the one after its last (10:00-19:45 in New York's winter,
    the AWS home's day schedule), every series whose own calendar has a session that day, as
    :func:`trading_keys` says; a series in its evening session (:func:`evening_day`) at any
    time, for that evening's day, which after São Paulo's midnight is the day before. So the
    evening runs ask BZ=F alone, and for the day its bars are filed under."""
    day = now.astimezone(ZoneInfo(SAO_PAULO)).date()
    window = _day_window(catalog, day)
    daytime = window is None or window[0] - COLLECT_EVERY <= now <= window[1]
    days = dict.fromkeys(trading_keys(catalog, day, keys) if daytime else [], day)
    for key in keys:
        if key in catalog and (evening := evening_day(catalog[key], now)) is not None:
            days[key] = evening
    return days


def next_collection(
    catalog: Catalog, now: datetime, keys: Sequence[str] = INTRADAY_SERIES
) -> datetime | None:
    """The next quarter-hour after ``now`` inside the day's :func:`collection_window` (São
    Paulo) when one of ``keys`` that publishes 15-minute bars (a series without intraday
    bulletin times of its own, which PTAX has) has a session that day, or inside an evening
    session of one of them (:func:`evening_day`: this evening's or the next, BZ=F's from
    18:15 to midnight New York time): when `watch --intraday` refreshes the bars. None when
    neither is ahead (a Friday evening: Sunday's is not the next), or for a catalog without
    the bulletins the window opens with."""
    zone = ZoneInfo(SAO_PAULO)
    local = now.astimezone(zone)
    day = local.date()
    bars = [k for k in keys if k in catalog and not catalog[k].schedule.intraday]
    window = _day_window(catalog, day)
    if window is None:
        return None
    step = int(COLLECT_EVERY.total_seconds() // 60)
    quarter = local.replace(minute=local.minute - local.minute % step, second=0, microsecond=0)
    quarter += COLLECT_EVERY
    evenings = (_evening_collection(catalog[k], quarter) for k in bars)
    candidates = [e.astimezone(zone) for e in evenings if e is not None]
    if trading_keys(catalog, day, bars):
        start, end = window
        end -= COLLECT_EVERY  # the window's own close, not the quarter-hour after it
        if (at := max(start, quarter)) <= end:
            candidates.append(at)
    return min(candidates, default=None)
