"""Which series have a publication due: out by its schedule and not stored yet.

A separate step before the gap scan: the watch loop asks the source only for these, and
sleeps until the next publication or retry when nothing is due.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fuelpipe.domain.calendars import expected_between, get_calendar
from fuelpipe.domain.catalog import Catalog, Series
from fuelpipe.domain.instants import iso_utc, parse_iso
from fuelpipe.domain.intraday import INTRADAY_SERIES, next_collection
from fuelpipe.domain.models import Record, Status, no_value_seen_at, no_value_without_row
from fuelpipe.domain.planning import parse_polls, plan_requests, poll_in_flight, polls_text
from fuelpipe.domain.publication import in_grace, pollable, polled_dates
from fuelpipe.ports.store import Store, paged
from fuelpipe.stages.context import StageContext

_LOOKBACK = timedelta(days=70)  # reaches the previous expected date of every calendar


@dataclass(frozen=True, slots=True)
class Due:
    """One series' latest publication, what is stored of it, and whether to ask the source."""

    series: Series
    expected: date | None
    """The latest expected date whose value is published by now."""
    stored: date | None
    """The latest date stored OK inside the lookback (None: none there)."""
    is_due: bool
    """Published, not stored OK, and not handed over: a PENDING date is polled inside its
    window and, every ``grace_every`` from its last answer (:func:`grace_due`), in the grace
    after it (:func:`~fuelpipe.domain.publication.in_grace`; after that, recheck's backoff
    alone asks for it), and only until the source answers it with its own "no value" (that
    answer stands until the series publishes again, unless it may be a row left out of a
    workbook: :func:`row_left_out`, asked again from ``again_at``; a row of the key's own
    saying "no value", ANP's '-', stands like any other answer); a QUARANTINED one waits for
    a person; an ABSENT one is the source's final word (no value)."""
    again_at: datetime | None = None
    """A row left out of a workbook, or a date in its grace, not due yet: when it is asked
    again (:func:`left_out_again`, :func:`grace_again`); the watch wakes for it."""
    in_grace: bool = False
    """A PENDING date in its grace (:func:`~fuelpipe.domain.publication.in_grace`), asked
    every ``grace_every`` from its last answer: due or not, the source has not published it
    yet (the watch's heartbeat says "not out yet")."""
    left_out: bool = False
    """Due as a row left out of a workbook (:func:`row_left_out`): the source answered the
    date with a workbook that has its week (or month) but no row for the key, and it is asked
    again now. The watch's heartbeat says so rather than "not out yet"."""


def answer_stands(series: Series, latest: date | None, seen: datetime | None) -> bool:
    """True when the source's "no value" answer at ``seen`` (a PENDING record's
    :func:`~fuelpipe.domain.models.no_value_seen_at`) came at or after the publication of
    ``latest``, the series' latest expected date: nothing was published since, so asking
    again would only fetch the same answer (ANP's whole state workbook, every 5 minutes for
    five days, for its weekly '-' for CNG in Acre)."""
    return seen is not None and latest is not None and seen >= series.schedule.published_at(latest)


def row_left_out(series: Series, before: Status | None, no_row: bool) -> bool:
    """True when a "no value" answer for a date of ``series`` may be a row the source left
    out of a file it has not finished, so that it does not stand (:func:`answer_stands`) and
    the date is asked again, with a growing wait (:func:`left_out_again`), while its window is
    open: the answer had no row at all for the key (``no_row``: the record's
    :func:`~fuelpipe.domain.models.no_value_without_row`), the series' one request returns a
    whole workbook (ANP's, republished whole: a week may come out with every other area and
    fuel and gain a key's row hours later), and ``before``, the status of the series' newest
    record dated before that date, is OK: the key normally has a row.

    A row of the key's own with '-' in its price cell is ANP's answer for that week, not a
    row left out: it stands like any other "no value" (one ask, then none until the series
    publishes again; ABSENT with ANP's reason after the window's recheck).

    A key without a value before either (CNG in Acre: no row in any of the 136 months of
    ``datasets/anp/eduardoicosta__mensal-estados-desde-jan2013.xlsx``) keeps the answer
    standing until the series publishes again, so its workbook is not fetched ~25 times in
    each week's window. One ask is one request for the whole workbook, whatever the number of
    keys left out of it (the planner groups a fetch unit's keys), and inside the window no
    retry is counted; recheck asks once more when the window is over (ABSENT then, with the
    source's reason, unless the row has come)."""
    return no_row and series.whole_history and before is Status.OK


LEFT_OUT_WAIT_MAX = timedelta(hours=6)
"""The longest wait between two asks for a row left out of a workbook (:func:`left_out_again`)."""


def left_out_again(series: Series, day: date, seen: datetime) -> datetime:
    """When a row left out of a workbook (:func:`row_left_out`), last answered "no value" at
    ``seen``, is asked for again: after as long again as it had been out by then (from
    ``day``'s publication instant), at least the schedule's poll interval and at most
    :data:`LEFT_OUT_WAIT_MAX`. Polls 5, 10, 20, 40 and 80 minutes after the publication, then
    every 6 hours to the window's end: a row added later is stored within about its own
    delay again, and a key that is truly gone costs ~25 requests a window, not one every 5
    minutes (1,440 over a week's five days)."""
    schedule = series.schedule
    out_for = seen - schedule.published_at(day)
    return seen + min(max(out_for, schedule.poll_every), LEFT_OUT_WAIT_MAX)


GRACE_SLACK = timedelta(minutes=1)
"""How much before ``grace_every`` after its last answer a date in its grace is due again
(:func:`grace_due`): the answer is written seconds after the poll that asked for it (the
message's trip to the scraper, then the request), so a poll on a fixed grid ``grace_every``
after that one (the AWS PTAX schedule's, every 5 minutes) found it short by those seconds and
asked only on the grid's next run, every 20 minutes, not 15. The watch wakes at ``again_at``
itself, ``grace_every`` after the answer."""


def grace_due(again: datetime | None, now: datetime) -> bool:
    """Whether a date in its grace whose next ask is ``again`` (:func:`grace_again`; None: due
    now) is due at ``now``, :data:`GRACE_SLACK` early."""
    return again is None or now >= again - GRACE_SLACK


def grace_again(series: Series, day: date, answered: datetime | None) -> datetime | None:
    """When a PENDING ``day`` in its grace (:func:`~fuelpipe.domain.publication.in_grace`),
    last answered at ``answered`` (the record's ``updated_at``: the scraper rewrites a PENDING
    record each time it answers it), is asked for again: ``grace_every`` after that answer
    (None: no answer known, due now). A PTAX close out 80 minutes after its window is stored
    within 15 minutes, and one that never comes costs ``grace / grace_every`` requests (16)."""
    return None if answered is None else answered + series.schedule.grace_every


def _due(
    series: Series,
    expected: date | None,
    present: dict[date, Status],
    now: datetime,
    seen: datetime | None = None,
    no_row: bool = False,
    answered: datetime | None = None,
) -> Due:
    """``seen``: when the source answered ``expected`` with "no value" (None: it has not);
    ``no_row``: that answer had no row for the key (:func:`row_left_out`); ``answered``: when
    the PENDING record of ``expected`` was last written (:func:`grace_again`)."""
    ok = [d for d, st in present.items() if st is Status.OK]
    stored = max(ok) if ok else None
    due = expected is not None and (stored is None or stored < expected)
    again: datetime | None = None
    left_out = grace = False
    if due and expected is not None:
        state = present.get(expected)
        stale = now > series.schedule.stale_at(expected)
        over = now > series.schedule.polled_until(expected)  # past its window and grace
        if state in (Status.QUARANTINED, Status.ABSENT) or (
            state is Status.PENDING and (over or answer_stands(series, expected, seen))
        ):
            due = False  # ABSENT: the source said it has no value for that date, for good
            if (
                state is Status.PENDING
                and not stale
                and seen is not None
                and row_left_out(series, _status_before(present, expected), no_row)
            ):
                again = left_out_again(series, expected, seen)
                due = left_out = now >= again
                again = None if due else again
        elif state is Status.PENDING and stale:  # in its grace: asked every grace_every
            grace = True
            again = grace_again(series, expected, answered)
            due = grace_due(again, now)
            # past the grace's end no poll is due: the watch need not wake for it
            if again is not None and (due or again > series.schedule.polled_until(expected)):
                again = None
    return Due(series, expected, stored, due, again, left_out=left_out, in_grace=grace)


def _status_before(present: dict[date, Status], day: date) -> Status | None:
    """The status of the newest of ``present``'s dates before ``day`` (None: none there)."""
    earlier = [d for d in present if d < day]
    return present[max(earlier)] if earlier else None


def _lookback_start(series: Series, now: datetime) -> date:
    """The first date :func:`latest_expected` looks at."""
    return max(series.default_start, series.published_through(now) - _LOOKBACK)


def newest_ok(store: Store, series: Series, now: datetime) -> date | None:
    """The newest date of ``series`` stored OK, as a read of its whole history would find it,
    from one Query of the dates since the lookback's start (all later dates included); when
    none of those is OK (a headline series stopped for longer than the lookback), its older
    records newest first (:func:`older_records`) up to the first OK: a read that grows with
    what is stored after that date, not with the history. `/api/live` asks this of each
    headline series on every poll, a 304 too."""
    after = _lookback_start(series, now) - timedelta(days=1)
    ok = [p.date for p in store.present_after(series.key, after) if p.status is Status.OK]
    if ok:
        return max(ok)
    older = older_records(store, series.key, after)
    return next((r.date for r in older if r.status is Status.OK), None)


OLDER_PAGE = 16
"""The first page :func:`older_records` reads; each next one is :data:`OLDER_GROWTH` times
larger, so reaching back ``n`` records takes about log(n) Queries and reads less than
:data:`OLDER_GROWTH` times ``n`` records."""
OLDER_GROWTH = 4


def older_records(store: Store, key: str, through: date) -> Iterator[Record]:
    """The records of ``key`` dated ``through`` or before, newest first (key, date and status
    only), in growing pages (:func:`~fuelpipe.ports.store.paged`: :data:`OLDER_PAGE`, then
    :data:`OLDER_GROWTH` times more each): a caller looking for the newest record of some kind
    reads about as much as what is stored after it, whatever the history's length (a stopped
    series' 20 years are never read for its newest OK date)."""
    return paged(
        store,
        key,
        end=through,
        newest_first=True,
        fields=("status",),
        first=OLDER_PAGE,
        growth=OLDER_GROWTH,
    )


def latest_expected(series: Series, now: datetime) -> date | None:
    """The latest expected date whose publication instant has passed."""
    through = series.published_through(now)
    if through < series.default_start:
        return None
    days = list(
        expected_between(get_calendar(series.calendar), _lookback_start(series, now), through)
    )
    return days[-1] if days else None


def due_status(store: Store, series: Iterable[Series], now: datetime) -> list[Due]:
    """For each series, its latest publication and whether it is due: one Query per key of
    the dates since the lookback's start only (``stored`` is the latest OK date among them).
    A date stored OK on or after the latest expected one lies there too, so the answer is the
    full history's, at a cost that does not grow with it: `watch` and the AWS window polls
    run this every few minutes (a full read was ~100 RCU per 20-year key on DynamoDB)."""
    out = []
    for s in series:
        after = _lookback_start(s, now) - timedelta(days=1)
        present = {p.date: p.status for p in store.present_after(s.key, after)}
        expected = latest_expected(s, now)
        seen, no_row, answered = None, False, None
        if expected is not None and present.get(expected) is Status.PENDING:
            # one more read, of one record, only while a date is PENDING: did the source
            # answer it with "no value" already, and with no row for the key? When was it
            # last answered (a date in its grace is asked every grace_every from then)?
            rows = store.query(s.key, expected, expected, fields=("attrs", "updated_at"))
            if rows:
                seen, no_row = no_value_seen_at(rows[0].attrs), no_value_without_row(rows[0].attrs)
                answered = rows[0].updated_at
        out.append(_due(s, expected, present, now, seen, no_row, answered))
    return out


def next_wake(
    statuses: Sequence[Due],
    now: datetime,
    *,
    intraday: bool = False,
    catalog: Catalog | None = None,
) -> datetime:
    """When to look again: the next poll of a due series, or the next publication instant
    (with ``intraday``, also the next intraday bulletin of the day and, while a watched series
    with 15-minute bars trades, the next quarter-hour of the collection window, derived from
    ``catalog``'s intraday series: the statuses' own series when not given)."""
    candidates: list[datetime] = []
    if intraday:
        watched = [d.series.key for d in statuses if d.series.key in INTRADAY_SERIES]
        whole = Catalog(d.series for d in statuses) if catalog is None else catalog
        bars = next_collection(whole, now, watched) if watched else None
        if bars is not None:
            candidates.append(bars)
    for d in statuses:
        schedule = d.series.schedule
        cal = get_calendar(d.series.calendar)
        # a bulletin only on a day the series' calendar expects (none on a PTAX holiday)
        bulletin = schedule.intraday_after(now, cal) if intraday else None
        if bulletin is not None:
            candidates.append(bulletin)
        if d.is_due:
            # the interval of the instant the poll would come: a window's 5 minutes that end
            # past it are the grace's 15 (asked at 14:00, the PTAX close is due again at 14:15
            # from that answer, so a 14:05 wake asked nothing)
            every = (
                schedule.poll_every
                if d.expected is None
                else schedule.poll_interval(d.expected, now + schedule.poll_every)
            )
            candidates.append(now + every)
            continue
        if d.again_at is not None:  # a row left out of a workbook, or in its grace: asked then
            candidates.append(max(now, d.again_at))
        if d.expected is not None:
            nxt = cal.next_expected(d.expected)
        else:  # nothing published yet: the first expected date is default_start itself or after
            start = d.series.default_start
            nxt = start if cal.is_expected(start) else cal.next_expected(start)
        candidates.append(max(now, schedule.published_at(nxt)))
    return min(candidates) if candidates else now + timedelta(hours=1)


def next_retry(
    store: Store, keys: Collection[str], now: datetime, until: datetime
) -> datetime | None:
    """The earliest next attempt (``now`` at the earliest) of a PENDING record of ``keys``
    due by ``until``, or None: a retry with a 1-2 h backoff would otherwise wait for the next
    publication or the 6-hour sleep cap. Bounded at ``until`` (the wake already planned), the
    pending index gives only the retries that could wake watch sooner, not every PENDING
    record nor any history."""
    return min(
        (max(now, r.next_attempt_at or now) for r in store.due_pending(until) if r.key in keys),
        default=None,
    )


LAST_POLL_SLACK = timedelta(minutes=1)
"""How long before a window's last poll a rest must end for a poll to hold its source's due
series: the last poll is then sure to find the rest over, though the scheduler's clock and
the function's differ by a little (an invocation comes late, never early)."""


REST_SENT = "rest_sent"
"""Meta entries ``rest_sent#<source>``: the end of the source's rest (an instant of the
orchestrator's clock, as :meth:`~fuelpipe.stages.source_rest.Rests.resting` gives it), then
the keys whose due series a window poll sent during it (:func:`hold_resting`,
:func:`note_sent_in_rest`): one entry a source, one read and one write a poll at most, where
ANP has 420 keys."""


def rest_sent_name(source: str) -> str:
    return f"{REST_SENT}#{source}"


@dataclass(frozen=True, slots=True)
class RestHold:
    """What :func:`hold_resting` made of a window poll's due series."""

    ask: list[Due]
    """The series to ask now."""
    held: list[Due]
    """The series held: their source rests after a Retry-After."""
    sent_in_rest: dict[str, tuple[datetime, frozenset[str]]]
    """For each source that rests and has series in ``ask``: the end of its rest and the keys
    sent during it, those of ``ask`` with those an earlier poll of the rest sent. Once the
    messages are sent, :func:`note_sent_in_rest` keeps them, and the polls before that end
    hold those keys."""


def hold_resting(
    app: StageContext, due: Sequence[Due], now: datetime, last_poll: datetime | None
) -> RestHold:
    """``due`` split into the series to ask now and the series held, whose source rests at
    ``now`` after a Retry-After (``app.rests``; none without it), for either of two reasons.

    Its rest ends by ``last_poll``, the last poll of this window schedule (less
    :data:`LAST_POLL_SLACK`): a poll after the rest asks it. Asked during the rest, every
    poll would send a message for the scraper to put off until the rest ends.

    Or a poll already sent it during this rest: :func:`note_sent_in_rest` kept the rest's end
    and the key (``rest_sent#<source>``), and ``now`` is before that end. A rest that
    outlasts the window (or a poll that knows no later one: ``last_poll`` None, or the last
    poll itself) has the series sent once, by the first poll it is due on, for the scraper to
    fetch when the rest ends (held from the first, it would wait for the next full scan,
    hours later); the polls after that hold it, where each sent one more message (up to 11 in
    an hour's rest, all fetched together when it ended: a burst that could draw another 429).
    Nothing is held once the rest is over, so if that one message was lost the next poll
    after the rest sends it again; a rest another Retry-After makes longer has it sent once
    more after the end first noted.

    A held series is not asked, so nothing of it is stored and it is due again on the next
    poll. The rests are read only when something is due (the AWS home's: one strongly
    consistent Query of the ``rest#`` meta entries), and a ``rest_sent#`` entry only for a
    resting source with a due series not held for a later poll (one read each)."""
    if not due or app.rests is None:
        return RestHold(list(due), [], {})
    resting = app.rests.resting(now)
    by = last_poll - LAST_POLL_SLACK if last_poll is not None and now < last_poll else None
    hold = RestHold([], [], {})
    noted: dict[str, tuple[datetime | None, frozenset[str]]] = {}
    sent: dict[str, list[str]] = {}
    for d in due:
        source = d.series.source
        until = resting.get(source)
        if until is not None and by is not None and until <= by:
            hold.held.append(d)
            continue
        if until is not None and source not in noted:
            noted[source] = _sent_in_rest(app.store, source, now)
        if until is not None and d.series.key in noted[source][1]:
            hold.held.append(d)
            continue
        hold.ask.append(d)
        if until is not None:
            sent.setdefault(source, []).append(d.series.key)
    for source, keys in sent.items():
        end, before = noted[source]
        hold.sent_in_rest[source] = (end or resting[source], before | frozenset(keys))
    return hold


def _sent_in_rest(
    store: Store, source: str, now: datetime
) -> tuple[datetime | None, frozenset[str]]:
    """The end of ``source``'s rest a poll noted and the keys it sent during it, while ``now``
    is before that end; (None, no key) otherwise."""
    words = (store.get_meta(rest_sent_name(source)) or "").split()
    if not words or now >= (end := parse_iso(words[0])):
        return None, frozenset()
    return end, frozenset(words[1:])


def note_sent_in_rest(
    app: StageContext, sent: Mapping[str, tuple[datetime, frozenset[str]]]
) -> None:
    """Keep, for each source of ``sent`` (:attr:`RestHold.sent_in_rest`), the end of its rest
    and the keys sent during it, so the polls before that end hold them
    (:func:`hold_resting`). Called after the send: a failed send marks nothing."""
    for source, (until, keys) in sent.items():
        app.store.put_meta(rest_sent_name(source), " ".join([iso_utc(until), *sorted(keys)]))


def poll_pending(app: StageContext, due: Sequence[Due]) -> int:
    """Ask again for due dates that an earlier poll left PENDING (not out yet at the source,
    or a row left out of a workbook: :func:`row_left_out`): a PENDING date is not a gap, so
    the gap scan alone would leave it to recheck's backoff, after its publication window. A
    date whose last poll may still be in flight is skipped (:func:`_send_polls`). Returns the
    messages sent."""
    wanted: list[_Wanted] = []
    for d in due:
        if d.expected is None:
            continue
        rows = app.store.query(
            d.series.key, d.expected, d.expected, fields=("status", "updated_at")
        )
        if rows and rows[0].status is Status.PENDING:
            wanted.append((d.series, d.expected, rows[0].updated_at))
    return _send_polls(app, wanted)


def poll_pending_in_window(
    app: StageContext, series: Iterable[Series], now: datetime, since: date | None = None
) -> int:
    """Ask again for every PENDING date of ``series`` still inside its publication window
    (published by its schedule, not late yet) or in the grace after it
    (:func:`~fuelpipe.domain.publication.in_grace`; there only ``grace_every`` after its last
    answer, :func:`grace_again`). Returns the messages sent.

    The AWS home's window schedules poll only the hours a source usually publishes in; a value
    that comes out later inside its window (an ANP week published after a holiday, a monthly
    average after its nominal day) would otherwise wait for recheck, which only starts when
    the window has passed. The backstop scan calls this, as `watch` keeps polling a due date.
    A date the source answered with its own "no value" is asked again only once the series
    has published again since (:func:`answer_stands`), or while it may be a row left out of a
    workbook (:func:`row_left_out`: the answer had no row for the key and the key's record
    before it is OK; one more read, of one record, when that record is not among the dates
    read here).

    Only the dates that can be in a window now are read, not the whole pending index, whose
    cost grew with the backlog of PENDING dates past their windows (recheck's, ~30 read units
    per 1,000 on DynamoDB on every run) though none of them is ever polled here: the
    watermarks (one Query), then one Query per series whose window or grace is open
    (:func:`~fuelpipe.domain.publication.polled_dates`: a few dates, a month's at most) past
    its watermark, and only when that span holds an expected date of its calendar. A PENDING
    date is an expected one (what a gap scan or a poll asked for) and lies past the watermark
    (every expected date up to it is answered, and a date going back to PENDING lowers it), so
    a series whose window's dates are all stored and scanned is not read: once the sources
    have published, a few Queries.
    """
    marks = app.store.watermarks()
    wanted: list[_Wanted] = []
    for key, s in sorted({s.key: s for s in series}.items()):
        span = polled_dates(s.schedule, now)
        if span is None:
            continue
        first, last = span
        mark = marks.get(key)
        if mark is not None and mark.through is not None:
            first = max(first, mark.through + timedelta(days=1))
        if since is not None:
            first = max(first, since)
        days = list(expected_between(get_calendar(s.calendar), first, last))
        if not days:  # PENDING dates are expected ones: those its gaps and polls asked for
            continue
        rows = app.store.query(key, days[0], days[-1], fields=("status", "updated_at", "attrs"))
        latest: date | None = None
        for r in rows:
            if r.status is not Status.PENDING or not pollable(s.schedule, r.date, now):
                continue
            grace = in_grace(s.schedule, r.date, now)
            if grace and not grace_due(grace_again(s, r.date, r.updated_at), now):
                continue  # in its grace, answered under grace_every ago
            latest = latest or latest_expected(s, now)
            seen = no_value_seen_at(r.attrs)
            stands = answer_stands(s, latest, seen)
            if (
                stands
                and seen is not None
                and not grace  # a row left out is asked for inside the window only, as in _due
                and s.whole_history
                and no_value_without_row(r.attrs)
                and now >= left_out_again(s, r.date, seen)
            ):  # read only for a workbook's standing answer without the key's row, when due
                before = _read_status_before(app.store, key, r.date, rows)
                stands = not row_left_out(s, before, no_row=True)
            if stands:
                continue  # the source said "no value" and has published nothing since
            wanted.append((s, r.date, r.updated_at))
    return _send_polls(app, wanted)


def _read_status_before(store: Store, key: str, day: date, rows: Sequence[Record]) -> Status | None:
    """The status of ``key``'s newest record dated before ``day``: from ``rows`` (read in date
    order) when one of them is, else one read of a single record."""
    earlier = [r for r in rows if r.date < day]
    if earlier:
        return earlier[-1].status
    found = store.query(
        key, end=day - timedelta(days=1), fields=("status",), limit=1, newest_first=True
    )
    return found[0].status if found else None


POLL_SENT = "poll_sent"
"""Meta entries ``poll_sent#<key>``: when a poll last sent a message for each PENDING date of
the key (:func:`~fuelpipe.domain.planning.polls_text`), kept while it may be in flight."""


def poll_sent_name(key: str) -> str:
    return f"{POLL_SENT}#{key}"


_Wanted = tuple[Series, date, datetime | None]
"""A PENDING date to poll: its series, the date, and when the record was last written."""


def _send_polls(app: StageContext, wanted: Sequence[_Wanted]) -> int:
    """Send one message per stream of the ``wanted`` dates, leaving out each date whose last
    poll may still be queued or being fetched (:func:`poll_in_flight`): a date a slow source
    keeps failing stays PENDING, and every 5-minute window poll would otherwise queue one more
    request for it behind the ones the scraper has not got to. The send instants are kept in
    the store's meta, written after the send (a failed send marks nothing)."""
    now = app.clock.now()
    in_flight_for = timedelta(seconds=app.poll_in_flight_s)
    sent: dict[str, dict[date, datetime]] = {}
    # a series' dates together: the planner takes each series once (two PENDING dates of
    # one series in their windows, FRED's, made a request naming the key twice, refused)
    chosen: dict[str, tuple[Series, list[date]]] = {}
    for series, day, answered in wanted:
        if series.key not in sent:
            sent[series.key] = parse_polls(app.store.get_meta(poll_sent_name(series.key)))
        if not poll_in_flight(sent[series.key].get(day), answered, now, in_flight_for):
            chosen.setdefault(series.key, (series, []))[1].append(day)
    requests = plan_requests(list(chosen.values()))
    if not requests:
        return 0
    count = app.queue.send([r.to_body() for r in requests])
    polled: dict[str, dict[date, datetime]] = {}
    for series, days in chosen.values():
        polled.setdefault(series.key, {}).update(dict.fromkeys(days, now))
    for key, marks in polled.items():
        kept = {d: at for d, at in sent[key].items() if now < at + in_flight_for}
        app.store.put_meta(poll_sent_name(key), polls_text({**kept, **marks}))
    return count
