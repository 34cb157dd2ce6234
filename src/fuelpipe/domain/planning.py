"""Request planning: turn missing dates of many keys into the fewest source requests."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Literal

from fuelpipe.domain.calendars import get_calendar
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.clock_bounds import MAX_DATE_AHEAD
from fuelpipe.domain.gaps import ONE_DAY, group_streams
from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.domain.messages import MAX_DATES_PER_MESSAGE, DownloadRequest


def unfetched(catalog: Catalog, key: str, unit: str) -> str | None:
    """Why a message of fetch unit ``unit`` does not fetch ``key``, or None when it does: the
    catalog no longer has the key, or fetches it by another unit (a release dropped or moved
    its series, and a message queued before names it still).

    The scraper fetches the message's other keys and reports this one (``scrape.resolve``); a
    dead letter naming it is settled for that key unread (``dead_letter_settled``): a redrive
    would fetch nothing for it.
    """
    if key not in catalog:
        return f"{key!r} is not in the series catalog"
    fetched_by = catalog[key].fetch_unit
    if fetched_by != unit:
        return f"{key!r} is fetched by {fetched_by!r}, not {unit!r}"
    return None


def before_start(series: Series, day: date) -> str | None:
    """Why ``day`` is before ``series`` starts, or None when it is not: no message may ask
    for such a date (:func:`unservable`), and a dead letter's one is settled unread
    (``dead_letter_settled``): the scraper fetches none."""
    if day < series.default_start:
        return f"{day} is before {series.key!r} starts ({series.default_start})"
    return None


def unservable(series: Series, day: date, today: date) -> str | None:
    """Why no message may ask ``series`` for ``day``, or None when one may.

    The scraper does not fetch such a date (``scrape.refused_dates``: it reports it and
    quarantines a PENDING record of it, and fetches the message's other dates), and recheck
    quarantines a due one instead of sending it: a date before the series starts (no gap scan
    asks for one; year 1, say, would also overflow the date arithmetic of the neighbour check
    and of the adapters) or more than a year after ``today`` (no gap scan of ours reaches
    that far).
    """
    early = before_start(series, day)
    if early is not None:
        return early
    if day > today + MAX_DATE_AHEAD:
        return f"{day} is more than a year in the future"
    return None


LEAD_IN = timedelta(days=7)
"""How far before a stream's first date its one source request may reach: the longest run of
days no daily calendar of the catalog expects is six (NYSE, 11 to 16 September 2001); a
weekend and the holidays around it are two to five."""


def request_start(series: Series, first: date) -> date:
    """The first day the one source request of a stream of ``series`` starting at ``first``
    covers: the day after the previous date the series' calendar expects, so the days between
    (a weekend, a holiday) are asked for with it.

    No message asks for a day the calendar does not expect, but a source may publish one:
    Yahoo's BZ=F has a close on Thanksgiving 2023 and on 4 July 2025, none on Thanksgiving
    2024.
    Inside a stream the range already covers such a day; the days before its first date no
    other stream's range does (the stream before it ended on the previous expected date), so
    in steady state, one new date a run, a close on the holiday before it would never be
    fetched. The scraper stores it as it stores every value a range returns (marked
    ``calendar: unexpected``). At most :data:`LEAD_IN` before ``first``, never before the
    series starts, and ``first`` itself for a series whose one request returns its whole
    history (an ANP workbook is not asked for a range).
    """
    if series.whole_history or first <= series.default_start:
        return first
    calendar = get_calendar(series.calendar)
    earliest = max(series.default_start, first - LEAD_IN)
    start = first
    while start > earliest and not calendar.is_expected(start - ONE_DAY):
        start -= ONE_DAY
    return start


def plan_requests(
    wanted: Iterable[tuple[Series, Sequence[date]]],
    origin: Literal["gap", "retry", "revise"] = "gap",
) -> list[DownloadRequest]:
    """One message per stream; keys that share a fetch unit share its requests.

    A fetch unit is what one source request returns (one PTAX currency, one ticker, one ANP
    workbook). Keys of the same unit are grouped so the file is fetched once for all of them.
    Units whose one request returns the whole history (ANP workbooks) get a single request for
    every missing date, however scattered; the others get one request per calendar stream,
    split at the source's maximum range. Every message holds at most MAX_DATES_PER_MESSAGE
    dates.
    """
    by_unit: dict[str, list[tuple[Series, list[date]]]] = defaultdict(list)
    for series, dates in wanted:
        if dates:
            by_unit[series.fetch_unit].append((series, sorted(set(dates))))
    requests: list[DownloadRequest] = []
    for unit, items in by_unit.items():
        items.sort(key=lambda item: item[0].key)
        lead = items[0][0]
        union = sorted({d for _, dates in items for d in dates})
        if lead.whole_history:
            chunks = [
                union[i : i + MAX_DATES_PER_MESSAGE]
                for i in range(0, len(union), MAX_DATES_PER_MESSAGE)
            ]
        else:
            cal = get_calendar(lead.calendar)
            # A message holds at most MAX_DATES_PER_MESSAGE dates: a longer stream (FRED's
            # range is unlimited, and its history grows by ~260 weekdays a year) is split too.
            chunks = [
                list(s.dates[i : i + MAX_DATES_PER_MESSAGE])
                for s in group_streams(cal, union, lead.max_range_days)
                for i in range(0, len(s.dates), MAX_DATES_PER_MESSAGE)
            ]
        for chunk in chunks:
            lo, hi = chunk[0], chunk[-1]
            keys = [s.key for s, dates in items if _any_between(dates, lo, hi)]
            requests.append(
                DownloadRequest(
                    partition_key=keys[0],
                    also_keys=keys[1:],
                    dates_to_download=chunk,
                    fetch_unit=unit,
                    origin=origin,
                )
            )
    return requests


def _any_between(dates: list[date], lo: date, hi: date) -> bool:
    """Whether sorted ``dates`` hold one in ``[lo, hi]``."""
    i = bisect_left(dates, lo)
    return i < len(dates) and dates[i] <= hi


def poll_in_flight(
    sent: datetime | None, answered: datetime | None, now: datetime, in_flight_for: timedelta
) -> bool:
    """Whether the message an earlier poll ``sent`` for a PENDING date may still be queued or
    being fetched, so that asking again would only pile a second request on the source: it
    was sent, the scraper has not answered the date since (``answered``: the record's
    ``updated_at``; the scraper rewrites a PENDING record each time it answers it, a source
    error included), and less than ``in_flight_for`` (the queue's visibility timeout: a
    message received and never answered is delivered again after it) has passed."""
    if sent is None or now >= sent + in_flight_for:
        return False
    return answered is None or answered < sent


def parse_polls(text: str | None) -> dict[date, datetime]:
    """The dates and send instants :func:`polls_text` wrote (None or "": none)."""
    out: dict[date, datetime] = {}
    for word in (text or "").split():
        day, _, at = word.partition("=")
        out[date.fromisoformat(day)] = parse_iso(at)
    return out


def polls_text(polls: Mapping[date, datetime]) -> str:
    """``<date>=<UTC instant>`` words, one per polled date, in date order."""
    return " ".join(f"{day.isoformat()}={iso_utc(at)}" for day, at in sorted(polls.items()))


SentRuns = list[tuple[date, date, datetime]]
"""Runs of a key's gap dates a run sent: the first and last date of each (every expected date
between them was sent too) and the instant it sent them."""


def parse_sent_runs(text: str | None) -> SentRuns:
    """The runs :func:`sent_runs_text` wrote (None or "": none)."""
    out: SentRuns = []
    for word in (text or "").split():
        span, _, at = word.partition("=")
        first, _, last = span.partition("/")
        out.append((date.fromisoformat(first), date.fromisoformat(last or first), parse_iso(at)))
    return out


def sent_runs_text(runs: Iterable[tuple[date, date, datetime]]) -> str:
    """``<first>/<last>=<UTC instant>`` words, one per run, in date order."""
    return " ".join(f"{a.isoformat()}/{b.isoformat()}={iso_utc(at)}" for a, b, at in sorted(runs))


def sent_held(
    sent: datetime,
    now: datetime,
    hold: timedelta,
    retention: timedelta | None,
    queue_busy: Callable[[], bool],
) -> bool:
    """Whether dates a run ``sent`` a message for may still wait in the queue, so that sending
    them again would only queue a second request for the source: for ``hold`` after the send
    whatever the queue says (the queue's visibility timeout: SQS's counts lag a send, and a
    second orchestrator may read the note before the first has sent), then while the queue
    holds any message (``queue_busy``: asked only here, once a run) and less than
    ``retention`` (how long the queue keeps a message; None: until it is handled) has passed.
    A message lost (deleted without storing, dead-lettered, dropped) leaves the queue, so its
    dates are sent again once the queue is empty, and at the latest past ``retention``. A
    note dated more than ``hold`` after ``now`` was stamped by a clock ahead (``--now``): it
    holds nothing."""
    if sent > now + hold:
        return False
    if now < sent + hold:
        return True
    if retention is not None and now >= sent + retention:
        return False
    return queue_busy()
