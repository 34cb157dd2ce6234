"""scraper: one source request per message; values stored, every unreturned date made PENDING.

A stock split the answer shows adds one request: the key's whole stored history, re-read so
no stored close stays on the basis from before the split (:func:`follow_splits`); a re-read
that fails is owed, and the key's next message tries it again.
"""

from __future__ import annotations

import logging
from array import array
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

from fuelpipe.domain.calendars import get_calendar
from fuelpipe.domain.catalog import Series
from fuelpipe.domain.clock_bounds import MAX_DATE_AHEAD
from fuelpipe.domain.instants import SAO_PAULO
from fuelpipe.domain.messages import DownloadRequest, MalformedMessage
from fuelpipe.domain.models import (
    CALENDAR_ATTR,
    LACKING_ATTR,
    UNEXPECTED,
    AttrValue,
    HistoryKind,
    Observation,
    Record,
    Revision,
    Split,
    Status,
    change_kind,
    kept_figures,
    no_value_seen,
)
from fuelpipe.domain.planning import request_start, unfetched, unservable
from fuelpipe.domain.plausibility import check_observation, set_aside
from fuelpipe.domain.publication import publication
from fuelpipe.domain.retry import gave_up_reason
from fuelpipe.ports.queue import Message
from fuelpipe.ports.source import FetchRequest, FetchResult, SourceError
from fuelpipe.ports.store import AnsweredBefore, Store
from fuelpipe.stages._report import Counters
from fuelpipe.stages.context import StageContext
from fuelpipe.stages.lacking import note_answer
from fuelpipe.stages.last_delivery import is_last_delivery
from fuelpipe.stages.set_aside import (
    Carried,
    Watch,
    carried,
    carrying,
    keep_carried,
    keep_set_aside,
)

logger = logging.getLogger(__name__)

NO_VALUE = "source returned no value for this date"
"""The reason of a requested date the answer left out with no word on it (not out yet, most
likely; not a failure). A date the source answered with its own "no value"
(``FetchResult.no_value``) keeps the source's reason instead, and its mark
(``no_value_seen_at``) is what tells it apart."""
NEIGHBOUR_SPAN = timedelta(days=45)  # far enough to reach the previous week or month
# A date a little ahead is stored as PENDING and flagged "in the future" (clock skew, a bad
# bulletin); one more than a year ahead comes from no scan of ours and is not asked for
# (``unservable``: reported, and a PENDING record of it quarantined).


class Flag(NamedTuple):
    """A value the scraper set aside as implausible (or too long for a store to hold exactly),
    and why."""

    value: Decimal
    reason: str


_Lacks = dict[str, dict[date, str]]
"""The figures the answer lacked, by key and date (``lacking``), of the dates stored."""

Flagged = dict[tuple[str, date], Flag]
"""The values set aside, by key and date (the last one for a date; a later plausible row for
the date takes it out)."""


@dataclass
class ScrapeReport(Counters):
    """What one message did to the store."""

    records_written: int = 0
    pending_written: int = 0
    quarantined: int = 0
    flagged: int = 0
    """Values set aside as implausible (on their own, or more than 5x from every neighbour
    that is not itself implausible) or as a number no store can keep, not stored. A requested
    date left without a value becomes PENDING with the reason; every other one (its date OK
    already, or not requested) is logged with its key, date, value and reason, and kept as a
    ``set_aside#<key>#<date>`` meta entry (``set_aside_kept``)."""
    source_requests: int = 0
    dead_lettered: int = 0
    absent_written: int = 0
    """Dates the source says it has no value for (ABSENT: not retried)."""
    unexpected: int = 0
    """Values newly stored on a day their calendar does not expect (published all the same;
    also in ``records_written``). One stored already and read again (a request reaching back
    over the holiday before its first date, a redelivery) is compared, not counted again."""
    revised: int = 0
    """Stored values the source now publishes differently (kept with their history)."""
    adjusted: int = 0
    """Stored values whose derived attributes only were re-based (Yahoo's adj_close after a
    dividend): the previous attributes are kept in the history, but this is no revision."""
    redelivered: int = 0
    """Messages handled again after an earlier delivery (receive count above 1): that one may
    have stored its records and died before its run moved the data version."""
    split_rereads: int = 0
    """Whole stored histories re-read because the answer showed a split that re-based them
    (each changed value is in ``revised``, its request in ``source_requests``)."""
    split_rereads_failed: int = 0
    """Such re-reads that failed: the split is recorded as owed (``split_owed#<key>``), so
    the key's next message whose answer succeeds re-reads again."""
    split_rereads_owed: int = 0
    """Re-reads (done or failed, also counted above) of a history owed one by an earlier
    message whose re-read failed."""
    unservable: int = 0
    """(key, date) pairs a message asked for that no message may ask for (before the series
    starts, more than a year ahead: ``domain.planning.unservable``), not fetched; each is
    logged, and a PENDING record of it quarantined (``quarantined``). The message's other
    dates are fetched as usual."""
    split_owed_written: int = 0
    """``split_owed#<key>`` entries written (a re-read newly owed) or emptied (an owed one
    done): the health view shows them, so such a message changed what a view shows even
    when it stored no value."""
    refetched: int = 0
    """Answers (the message's own, or a split's whole-history re-read) fetched again because
    one of their values was older than a stored value it would have revised: another reader
    stored that date after this answer's request was sent, or after this answer's own earlier
    batch wrote it (:class:`StaleAnswer`), so the source is asked again (also in
    ``source_requests``) rather than the earlier answer written over the later one, or the
    later one kept unasked."""
    unknown_keys: int = 0
    """Keys a message named that the catalog no longer has, or fetches by another fetch unit
    (a release dropped or moved the series while the message was queued): not fetched, each
    logged; the message's other keys are fetched as usual, so their claimed re-downloads are
    not spent. A message with no key left is dead-lettered (``dead_lettered``)."""
    set_aside_kept: int = 0
    """``set_aside#<key>#<date>`` entries written with a value they did not hold (new, or
    another value; one only seen again moves its ``last_seen``, no change of the data, so not
    counted here and no new data version): a value set aside for a date no record keeps it on
    (OK or ABSENT already, QUARANTINED, not asked for), kept for the health view and
    ``fuelpipe quarantine set-aside`` (:mod:`fuelpipe.stages.set_aside`)."""
    set_aside_cleared: int = 0
    """Such entries deleted: a later answer carried a value for the date that was not set
    aside (stored, revised, or the stored value published again)."""
    rested: int = 0
    """Messages not fetched because their source rests after a Retry-After, given back to the
    queue hidden until the rest ends (the scraper Lambda: :func:`defer_if_resting`)."""
    completed: int = 0
    """Stored values completed: a figure an earlier answer lacked (``lacking``) came, the
    value unchanged; the previous attributes kept in the history as a completion (no
    revision)."""
    lacking_noted: int = 0
    """Dates stored (or found stored) without figures the source's answer lacked, newly noted
    in their key's ``lacking#`` note for recheck to re-download (:mod:`fuelpipe.stages.lacking`)."""
    lacking_dropped: int = 0
    """Noted dates an answer now carried complete: out of the note."""
    last_delivery_held: int = 0
    """PENDING records created before a message's last delivery was handled, for its dates
    holding no record (:func:`hold_last_delivery`); the delivery's own writes (OK values,
    a source error's PENDING) replace them as usual."""
    rest_held: int = 0
    """PENDING dates of a message handled while its source rests (`watch`; the scraper
    Lambda on a message's last delivery), not asked: held until the rest ends, the re-download
    a retry message claimed given back (:func:`_hold_for_rest`), none quarantined."""


def resolve(app: StageContext, request: DownloadRequest) -> tuple[list[Series], dict[str, str]]:
    """The catalog series a message names that its fetch unit fetches, and each other key it
    names with why (not in the catalog, or fetched by another unit): a release that drops or
    moves a series leaves such keys in queued messages, and one costs that key, not the
    message (an ANP workbook's holds up to ~230 keys, each re-download claimed). Raises
    MalformedMessage, with the first key's reason, when no key is left. Its dates are checked
    per date by :func:`refused_dates`: one no message may ask for costs that date, not the
    message."""
    series: list[Series] = []
    unknown: dict[str, str] = {}
    for key in request.keys:
        why = unfetched(app.catalog, key, request.fetch_unit)
        if why is None:
            series.append(app.catalog[key])
        else:
            unknown[key] = f"malformed message: {why}"
    if not series:
        raise MalformedMessage(next(iter(unknown.values())))
    return series, unknown


def refused_dates(
    series: Sequence[Series], days: Sequence[date], today: date
) -> dict[tuple[str, date], str]:
    """Each (key, date) of a message no message may ask for, with why (``unservable``):
    dates no gap scan asks for (recheck quarantines a PENDING one instead of sending it), in a
    message an older release queued or a person built. ``days`` sorted; two bisections a key."""
    refused: dict[tuple[str, date], str] = {}
    ahead = today + MAX_DATE_AHEAD
    for s in series:
        low, high = bisect_left(days, s.default_start), bisect_right(days, ahead)
        for day in (*days[:low], *days[high:]):
            why = unservable(s, day, today)
            assert why is not None  # before the start or past the horizon, as bisected
            refused[(s.key, day)] = why
    return refused


def describe(request: DownloadRequest, start: date | None = None) -> str:
    """How a revision names the request that saw it: origin, fetch unit and date range (from
    ``start`` when the source was asked from before the message's first date)."""
    first, last = start or request.dates_to_download[0], request.dates_to_download[-1]
    return f"{request.origin} {request.fetch_unit} {first.isoformat()}..{last.isoformat()}"


def scrape(app: StageContext, request: DownloadRequest) -> ScrapeReport:
    """Fetch one request and store what came back; the rest becomes PENDING with its reason.

    Every value the source returns for a requested key inside the requested range is stored,
    even on a day the series' calendar does not expect (marked ``calendar: unexpected``): a
    calendar decides which dates to ask for, never which published values to keep. The range
    runs from the days before the message's first date that the calendar does not expect
    (back to the day after its previous expected date, at most a week:
    ``domain.planning.request_start``) to its last date, so a close published on a holiday
    between two runs is fetched by the later one; those days are never made PENDING or
    ABSENT (no message asked for them), and one stored already is compared, not rewritten.
    Rows the adapters drop are not published values and are not stored: Yahoo's stale bars
    (open = high = low = close, volume 0) repeat the previous close on days B3 was closed,
    and FRED's empty cells say "no value". A value that differs from an OK one already stored
    is a revision: stored with its history (store.revise), never overwritten silently. When only
    the series' ``derived_attrs`` differ (Yahoo's adj_close, re-based after a dividend), it
    is stored the same way as an *adjustment*: history kept, not counted as a revision.
    An answer that shows a stock split re-basing values stored before it is followed by one
    re-read of the key's whole stored history (:func:`follow_splits`), and so is a successful
    answer for a key whose earlier re-read failed (``split_owed``).

    A date no message may ask for (before its series starts, more than a year ahead: queued
    by an older release, built by hand) is not fetched: it is logged, counted
    (``unservable``) and, when a PENDING record of it exists, quarantined with the reason;
    the message's other dates are fetched and stored as usual, and the message succeeds.
    So is a key the catalog no longer fetches by the message's fetch unit (dropped or moved by
    a release while the message was queued): logged and counted (``unknown_keys``), and the
    other keys are fetched.

    The source's observations are read as a stream and stored in batches of
    ``store_batch`` (FUELPIPE_STORE_BATCH), so
    memory does not grow with the length of the history; which requested dates came back is
    kept as one byte per key and date.
    """
    series, unknown = resolve(app, request)
    now = app.clock.now()
    report = ScrapeReport()
    if unknown:
        _report_unknown(request, unknown, report)
    wanted_days, refused = _servable(app, request, series, now, report)
    if not wanted_days:
        return report
    slot_of = {d: i for i, d in enumerate(wanted_days)}
    # The days just before the first one no calendar of ours expects are asked for too, in the
    # same request: a value published on one (a holiday close) is fetched by no other.
    lo = max(request_start(s, wanted_days[0]) for s in series)
    hi = wanted_days[-1]
    by_key = {s.key: s for s in series}
    fetch = FetchRequest(request.fetch_unit, tuple(series), lo, hi)
    watch = Watch(app.store, by_key)  # the values set aside earlier and kept for these keys
    # Fetched again at once, not with stamina: a stale answer is no fault to wait out.
    for attempt in range(1, FETCH_ATTEMPTS + 1):
        got = {s.key: bytearray(len(wanted_days)) for s in series}
        lacks: _Lacks = {s.key: {} for s in series}
        watch.restart()
        try:
            result, error, flagged, rest = _fetch_and_store(
                app, fetch, describe(request, lo), (slot_of, got, watch, lacks), report
            )
            break
        except StaleAnswer:
            if attempt == FETCH_ATTEMPTS:
                raise  # the message fails and comes back, to be fetched once more
            report.refetched += 1
            logger.info("%s: an answer older than a stored value, fetched again", describe(request))
    report.flagged = len(flagged)
    app.failpoints.hit("scrape.after_write", by_key)

    noted: set[tuple[str, date]] = set()  # the dates whose record now carries their reason
    for s in series:
        marks = got[s.key]
        missing = [d for d in wanted_days if not marks[slot_of[d]]]
        if refused:  # reported and quarantined above, never marked PENDING
            missing = [d for d in missing if (s.key, d) not in refused]
        if missing:
            noted |= _mark_not_returned(
                app, s, missing, (result, flagged, error, describe(request, lo)), now, report,
                None if rest is None else (rest, request.origin == "retry"),
            )  # fmt: skip
    _log_flagged(
        app, describe(request, lo), {k: f for k, f in flagged.items() if k not in noted}, report
    )
    report.set_aside_cleared += watch.clear(app.store, flagged)
    report.lacking_noted, report.lacking_dropped = note_answer(
        app,
        lacks,
        lambda key, day: day in slot_of and got[key][slot_of[day]] == 1,
        list(by_key),
        bool(report.completed) or request.origin == "retry",
    )
    if error is None:  # a failed answer is not trusted, nor its events
        owed = {s.key: found for s in series if (found := owed_splits(app.store, s))}
        if result.splits or owed:
            follow_splits(app, lo, by_key, result.splits, report, owed)
    app.failpoints.hit("scrape.after_pending", by_key)
    return report


FETCH_ATTEMPTS = 2
"""Fetches of one message's request when its answer turns out older than a stored value
(:class:`StaleAnswer`): the answer and one more; the next stale one fails the message, which is
delivered (and fetched) again."""


def _fetch_and_store(
    app: StageContext,
    fetch: FetchRequest,
    seen_by: str,
    marks: tuple[dict[date, int], dict[str, bytearray], Watch, _Lacks],
    report: ScrapeReport,
) -> tuple[FetchResult, str | None, Flagged, datetime | None]:
    """One request of :func:`scrape` and its answer stored (:func:`_store_stream`): the
    answer, its error (None: it succeeded), the values set aside, and when the source's rest
    ends if it was not asked (its Retry-After still running; None: it was asked). ``marks``:
    the requested dates' slots, where the dates stored are marked, and the kept set-aside
    values whose dates the answer carries (:class:`~fuelpipe.stages.set_aside.Watch`). The
    instant the request is sent, on the store's wall clock (``Store.wall_now``: real time,
    apart from the business clock, so a fixed ``--now`` orders it too), stamps the answer
    (its values are at least that new, and no newer than the write): StaleAnswer when a date
    it would revise was stored after it."""
    error: str | None = None
    sent_at = app.store.wall_now()
    name = fetch.series[0].source
    resting = app.rests.until(name, app.clock.now()) if app.rests is not None else None
    if resting is not None:  # the source's Retry-After runs: not asked, the dates stay PENDING
        error = f"RateLimited: {name} not asked before {resting.isoformat()} (its Retry-After)"
        result = FetchResult(observations=[])
    else:
        report.source_requests += 1
        try:
            result = app.sources[name].fetch(fetch)
        except SourceError as exc:
            error = f"{type(exc).__name__}: {exc}"
            result = FetchResult(observations=[])
            if app.rests is not None:
                app.rests.note(name, exc)
    app.failpoints.hit("scrape.after_fetch", [s.key for s in fetch.series])
    flagged: Flagged = {}
    slot_of, got, watch, lacks = marks
    try:
        _store_stream(
            app,
            (fetch.start, fetch.end),
            (seen_by, sent_at),
            {s.key: s for s in fetch.series},
            watch.seen(result.observations, fetch.start, fetch.end),
            (slot_of, got, lacks),
            flagged,
            report,
        )
    except SourceError as exc:  # a streamed payload can turn out broken part-way through
        error = f"{type(exc).__name__}: {exc}"
        if app.rests is not None:
            app.rests.note(name, exc)
    return result, error, flagged, resting


def _servable(
    app: StageContext,
    request: DownloadRequest,
    series: list[Series],
    now: datetime,
    report: ScrapeReport,
) -> tuple[list[date], dict[tuple[str, date], str]]:
    """The message's dates some key of it may be asked for (the keys of one fetch unit share
    their first date, so in practice: the dates none refuses), and each refused (key, date)
    with why, reported (:func:`_report_refused`)."""
    asked = sorted(set(request.dates_to_download))
    refused = refused_dates(series, asked, now.astimezone(SAO_PAULO).date())
    if not refused:
        return asked, refused
    _report_refused(app, request, refused, report)
    return [d for d in asked if any((s.key, d) not in refused for s in series)], refused


def _mark_not_returned(
    app: StageContext,
    series: Series,
    missing: list[date],
    answer: tuple[FetchResult, Flagged, str | None, str],
    now: datetime,
    report: ScrapeReport,
    rest: tuple[datetime, bool] | None = None,
) -> set[tuple[str, date]]:
    """Put the records of the requested dates (sorted) of ``series`` that came back with no
    stored value: ABSENT where the source said "no value" after the date's window, PENDING
    (or quarantined, or left as they are: :func:`_mark_missing`) otherwise. ``answer``: the
    source's result, the values set aside as implausible, the request's error (or None) and
    how a set-aside entry names the request. ``rest``: the source was not asked, resting
    until the instant given; True with it for a retry message (:func:`_hold_for_rest`).
    Returns the dates set aside whose record now carries the flag's reason (PENDING or
    quarantined). A PENDING record carrying an earlier answer's value set aside
    (:func:`~fuelpipe.stages.set_aside.carried`) that this write would take away has that
    value kept as an entry first."""
    result, flagged, error, seen_by = answer
    key = series.key
    fields = ("status", "retry_count", "next_attempt_at", "reason", "attrs")
    existing = {r.date: r for r in app.store.query(key, missing[0], missing[-1], fields=fields)}
    not_ok: list[Record] = []  # PENDING and ABSENT records, written together below
    noted: set[tuple[str, date]] = set()
    for day in missing:
        slot = (key, day)
        current = existing.get(day)
        # Inside its publication window "no value" may only mean "not out yet": the date
        # stays PENDING (retries not counting) until the window has passed, marked as
        # answered so that it is not polled again before the series publishes again
        # (stages/due.py); recheck asks once more when the window is over.
        said_none = error is None and slot not in flagged and slot in result.no_value
        if said_none and now > series.schedule.stale_at(day):
            _keep_lost(app, current, None, report)
            not_ok.append(_absent(key, day, result.no_value[slot], now))
            continue
        flag = flagged.get(slot)
        # The source's own words for its "no value" (ANP's week without the key's row is in
        # no_value alone), as the ABSENT record keeps them: a gap, told from an outage.
        said = result.no_value[slot] if said_none else None
        reason = error or (flag and flag.reason) or said or result.notes.get(slot, NO_VALUE)
        carries = flag if flag is not None and reason == flag.reason else None
        held = _keep_lost(app, current, carries, report)
        attrs = (
            no_value_seen(now, no_row=slot in result.no_row)
            if said_none
            else ({} if carries is None else carrying(carries.value, seen_by, now, held))
        )
        quarantined = report.quarantined
        if rest is not None:
            mark = _hold_for_rest(app, (key, day), current, (reason, attrs), rest, report)
        else:
            mark = _mark_missing(app, key, day, current, reason, now, report, attrs)
        if mark is not None:
            not_ok.append(mark)
        elif report.quarantined > quarantined and flag and reason == flag.reason:
            noted.add(slot)  # quarantined, the flag's reason in its note
    for record, written in zip(not_ok, app.store.put_pendings(not_ok), strict=True):
        flag = flagged.get((record.key, record.date))
        if written and flag and record.reason == flag.reason:
            noted.add((record.key, record.date))
        if written and record.status is Status.ABSENT:
            report.absent_written += 1
        elif written:
            report.pending_written += 1
    return noted


def _keep_lost(
    app: StageContext, current: Record | None, carries: Flag | None, report: ScrapeReport
) -> Carried | None:
    """Keep as an entry the value set aside that ``current`` carries (PENDING, its reason
    naming it: :func:`~fuelpipe.stages.set_aside.carried`), before a write takes that reason
    away: unless the write to come carries that same value again (``carries``: the flag
    whose reason it gives). Returns what ``current`` carries."""
    held = carried(current)
    if held is None or current is None or not current.reason:
        return held
    if carries is None or held.value != str(carries.value):
        kept = keep_carried(app.store, current.key, current.date, held, current.reason)
        report.set_aside_kept += kept
    return held


def _log_flagged(app: StageContext, seen_by: str, flagged: Flagged, report: ScrapeReport) -> None:
    """Log each value set aside as implausible whose reason no record keeps: its date is OK
    already (the stored value stays), or no message asked for it (a day before the first one
    asked for, a split's re-read); and keep it as a ``set_aside`` meta entry, so a person
    sees it (:func:`~fuelpipe.stages.set_aside.keep_set_aside`)."""
    if not flagged:
        return
    for (key, day), flag in sorted(flagged.items()):
        logger.warning(
            "%s: %s %s: value %s set aside, not stored: %s",
            seen_by,
            key,
            day.isoformat(),
            flag.value,
            flag.reason,
        )
    kept, cleared = keep_set_aside(
        app.store,
        {slot: (f.value, f.reason) for slot, f in flagged.items()},
        seen_by,
        app.clock.now(),
    )
    report.set_aside_kept += kept
    report.set_aside_cleared += cleared


SPLIT_APPLIED = "split_applied"
"""Meta entries ``split_applied#<key>#<ex-date>``: no stored value of the key is on the
basis from before that split any more (its history was re-read after it, or none predated
it). Each is written once the re-read is stored, so a redelivered message or a later answer
showing the same split re-reads nothing."""
SPLIT_OWED = "split_owed"
"""Meta entries ``split_owed#<key>``: the splits whose whole-history re-read failed, as
``<ex-date>=<ratio>`` words (``2022-04-25=2:1``), so stored values of the key may still be on
the basis from before them. Yahoo reports a split only in an answer whose window covers it,
and ``revise`` covers an ex-date for 35 days only: after a longer failure no answer shows it
again, and the entry is what keeps the re-read from being lost. An empty value is none (the
Store port can put and get an entry, not delete one)."""
SPLIT_OWED_SINCE = "split_owed_since"
"""Meta entries ``split_owed_since#<key>``: when the key's ``split_owed`` entry went from
empty to owing (a UTC instant), shown by the health view. Written just before it, and read
only while something is owed, so it is never emptied; an entry of its own, so the
``split_owed`` value keeps the words every release of the scraper reads."""


def split_applied_name(split: Split) -> str:
    """The meta entry that marks ``split`` applied to its key's stored history."""
    return f"{SPLIT_APPLIED}#{split.key}#{split.date.isoformat()}"


def split_owed_name(key: str) -> str:
    """The meta entry naming the splits whose re-read ``key``'s stored history still owes."""
    return f"{SPLIT_OWED}#{key}"


def split_owed_since_name(key: str) -> str:
    """The meta entry saying since when ``key`` owes a re-read (:data:`SPLIT_OWED_SINCE`)."""
    return f"{SPLIT_OWED_SINCE}#{key}"


def owed_text(splits: Iterable[Split]) -> str:
    """``splits`` as a ``split_owed`` entry's value, oldest first (the same splits, the same
    text: writing it again changes nothing); what ``status`` and the health view show."""
    ordered = sorted(set(splits), key=lambda s: (s.date, s.label))
    return " ".join(f"{s.date.isoformat()}={s.label}" for s in ordered)


def parse_owed(key: str, text: str | None) -> tuple[Split, ...]:
    """The splits of ``key`` a ``split_owed`` value names; none for no entry or an empty one."""
    out: list[Split] = []
    for word in (text or "").split():
        day, _, ratio = word.partition("=")
        numerator, _, denominator = ratio.partition(":")
        out.append(Split(key, date.fromisoformat(day), Decimal(numerator), Decimal(denominator)))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Owed:
    """The splits whose whole-history re-read a key owes (none: nothing is owed) and since
    when (None when no instant was recorded: an entry written before they were)."""

    splits: tuple[Split, ...] = ()
    since: datetime | None = None


def owed_entry(store: Store, series: Series) -> Owed:
    """What ``series`` owes: one meta read for a split-adjusted series (two when it owes
    one: since when), none for the others (their sources report no splits)."""
    if not series.split_adjusted:
        return Owed()
    splits = parse_owed(series.key, store.get_meta(split_owed_name(series.key)))
    if not splits:
        return Owed()
    since = store.get_meta(split_owed_since_name(series.key))
    return Owed(splits, datetime.fromisoformat(since) if since else None)


def owed_splits(store: Store, series: Series) -> tuple[Split, ...]:
    """The splits whose whole-history re-read ``series`` owes (:func:`owed_entry`)."""
    return owed_entry(store, series).splits


def follow_splits(
    app: StageContext,
    lo: date,
    by_key: dict[str, Series],
    splits: Iterable[Split],
    report: ScrapeReport,
    owed: Mapping[str, tuple[Split, ...]] | None = None,
) -> None:
    """Re-read a key's whole stored history once an answer shows a split that re-based it,
    or once a message of the key succeeds while an earlier re-read is ``owed``.

    Yahoo's close is split-adjusted: after a split every earlier close changes, but an
    answer only re-bases the dates it covers (``lo`` on), so values stored earlier and dated
    before the split stay on the old basis, a false step in every chart. When such values
    exist, the stored dates from the first to the last (up to the clock's day:
    :func:`_stored_dates`) are asked for in one request (Yahoo
    serves any range: 20 years of one ticker is one answer of ~5,000 bars, so the catalog's
    cap on a planned request's range is not applied) and stored through the same comparing
    path as every answer: each changed value is a revision with its history (its request
    ``split <fetch unit> <first>..<last>``), an equal one is left alone. Dates without a
    stored value are not asked for (the gap scan's work). A split dated before every stored
    value, or an answer that covers them all (a backfill), re-reads nothing.

    Why here and not in ``revise``: the scraper is the one stage that sees an answer, so
    reacting to it here fixes the history in the same message that noticed the split,
    within minutes of the answer rather than at the next daily ``revise``, and needs no
    new kind of message (the scraper Lambda may not send to the download queue). It uses
    the store and source ports only, so both homes do it.

    A re-read that fails writes ``split_owed#<key>`` naming its splits: Yahoo shows a split
    only in an answer covering its ex-date, so waiting for the next such answer could wait
    forever. Every later message of the key whose own answer succeeds reads that entry
    (:func:`owed_splits`, in ``owed`` here) and re-reads the whole history again, whatever
    its answer shows; while that fails the entry stays (counted in ``split_rereads_failed``).

    At least once: the ``split_applied`` meta entries are written after the re-read is
    stored and the owed entry is emptied after them, so a redelivered message or a later
    answer showing the same split (``revise`` re-reads its date for 35 days) finds them and
    re-reads nothing; a delivery that dies in between re-reads again and, the values being
    equal by then, adds no history entry. One whose re-read outlasts the scraper Lambda's
    time limit (sized for the answer's request and the re-read, each running into every
    timeout) fails the invocation,
    and the redelivered message tries again.
    """
    owed = owed or {}
    shown: dict[str, list[Split]] = defaultdict(list)
    for split in sorted(set(splits), key=lambda s: (s.key, s.date)):
        if split.key in by_key:
            shown[split.key].append(split)
    for key in sorted(shown.keys() | owed.keys()):
        _follow_key(app, lo, by_key[key], shown.get(key, []), owed.get(key, ()), report)


def _follow_key(
    app: StageContext,
    lo: date,
    series: Series,
    shown: list[Split],
    owed: tuple[Split, ...],
    report: ScrapeReport,
) -> None:
    """:func:`follow_splits` for one key: ``shown`` the answer's splits of it (oldest first),
    ``owed`` those an earlier re-read failed for."""
    due = set(owed)
    stored: list[date] | None = None
    for split in shown:
        if split in due or app.store.get_meta(split_applied_name(split)) is not None:
            continue
        if stored is None:
            stored = _stored_dates(app, series.key)
        # Dates this answer covered are on the new basis already; older ones are not.
        if stored and stored[0] < min(split.date, lo):
            due.add(split)
        else:
            app.store.put_meta(split_applied_name(split), split.label)
    if not due:
        return
    if stored is None:
        stored = _stored_dates(app, series.key)
    # An owed key with nothing stored has nothing on the old basis.
    if stored and not _reread_or_owe(app, series, stored, due, owed, report):
        return
    for split in sorted(due, key=lambda s: s.date):
        app.store.put_meta(split_applied_name(split), split.label)
    if owed:  # last: a delivery that dies before this re-reads again, adding nothing
        app.store.put_meta(split_owed_name(series.key), "")
        report.split_owed_written += 1


def _reread_or_owe(
    app: StageContext,
    series: Series,
    stored: list[date],
    due: set[Split],
    owed: tuple[Split, ...],
    report: ScrapeReport,
) -> bool:
    """Re-read ``stored`` for the ``due`` splits; False when that failed and they are owed."""
    if owed:
        report.split_rereads_owed += 1
    if _reread(app, series, stored, report):
        return True
    if due != set(owed):  # the same entry again would change nothing
        if not owed:  # owed since this failure; a split added to those owed keeps that instant
            since = app.clock.now().astimezone(UTC).isoformat()
            app.store.put_meta(split_owed_since_name(series.key), since)
        app.store.put_meta(split_owed_name(series.key), owed_text(due))
        report.split_owed_written += 1
    return False


def _stored_dates(app: StageContext, key: str) -> list[date]:
    """The dates of ``key``'s stored OK values up to the clock's day, oldest first (read
    consistently). One dated after it (a store `fuelpipe demo` filled, whose series run past
    its clock, or --now before the data) is after any split an answer shows, so no split
    re-bases it, and a re-read's value for it would only be set aside as in the future: it
    is not asked for, and its stored value stands."""
    today = app.clock.now().astimezone(SAO_PAULO).date()
    found = app.store.query(key, fields=("status",), consistent=True)
    return [r.date for r in found if r.status is Status.OK and r.date <= today]


def _reread(app: StageContext, series: Series, stored: list[date], report: ScrapeReport) -> bool:
    """One request for ``stored``'s span of ``series``; its values on those dates stored as
    any answer's are. False when the source failed (counted; the caller records it owed).
    An answer older than a value stored meanwhile (StaleAnswer) is fetched again, as the
    message's own answer is (:data:`FETCH_ATTEMPTS`, ``refetched``): the stale one fails
    the message only when the answer fetched again is stale too."""
    first, last = stored[0], stored[-1]
    seen_by = f"split {series.fetch_unit} {first.isoformat()}..{last.isoformat()}"
    # Fetched again at once, not with stamina: a stale answer is no fault to wait out.
    for attempt in range(1, FETCH_ATTEMPTS + 1):
        try:
            done = _reread_once(app, series, stored, seen_by, report)
            break
        except StaleAnswer:
            if attempt == FETCH_ATTEMPTS:
                raise  # the message fails and comes back; the re-read is done again then
            report.refetched += 1
            logger.info("%s: an answer older than a stored value, fetched again", seen_by)
    if not done:
        report.split_rereads_failed += 1
        return False
    report.split_rereads += 1
    return True


def _reread_once(
    app: StageContext, series: Series, stored: list[date], seen_by: str, report: ScrapeReport
) -> bool:
    """One request of :func:`_reread` and its answer stored; False when the source failed.
    The dates stored lacking figures are noted for recheck as a message's are (and a noted
    date the answer carried whole leaves its note), even when the answer broke part-way."""
    first, last = stored[0], stored[-1]
    slot_of = {d: i for i, d in enumerate(stored)}
    got = {series.key: bytearray(len(stored))}
    lacks: _Lacks = {series.key: {}}
    report.source_requests += 1
    flagged: Flagged = {}  # no date of a re-read becomes PENDING: each one is logged, kept
    watch = Watch(app.store, (series.key,))
    sent_at = app.store.wall_now()
    try:
        result = app.sources[series.source].fetch(
            FetchRequest(series.fetch_unit, (series,), first, last)
        )
        _store_stream(
            app,
            (first, last),
            (seen_by, sent_at),
            {series.key: series},
            watch.seen((obs for obs in result.observations if obs.date in slot_of), first, last),
            (slot_of, got, lacks),
            flagged,
            report,
        )
        answered = True
    except SourceError:
        answered = False
    except StaleAnswer:
        flagged.clear()  # fetched again: what it sets aside is the next answer's to count
        raise
    finally:
        report.flagged += len(flagged)
        _log_flagged(app, seen_by, flagged, report)
    noted, dropped = note_answer(
        app,
        lacks,
        lambda key, day: day in slot_of and got[key][slot_of[day]] == 1,
        [series.key],
        read_anyway=True,
    )
    report.lacking_noted += noted
    report.lacking_dropped += dropped
    if not answered:
        return False
    report.set_aside_cleared += watch.clear(app.store, flagged)
    return True


def _store_stream(
    app: StageContext,
    span: tuple[date, date],
    answer: tuple[str, datetime],
    by_key: dict[str, Series],
    observations: Iterable[Observation],
    marks: tuple[dict[date, int], dict[str, bytearray], _Lacks],
    flagged: Flagged,
    report: ScrapeReport,
) -> None:
    """Check and store the source's observations dated in ``span`` a batch at a time
    (``answer``: how a revision's history names the request, and the instant it was sent:
    StaleAnswer when a date it would revise was stored after that); mark requested dates
    stored in ``got``. An error raised by the stream propagates after the batch so far is stored; a
    failed write propagates at once. Adapters give each date once (FRED's date given twice
    with two values is a retry note); a date a batch has already is replaced by the later
    row, logged when its value differs (across batches the later one is a revision). The
    figures each stored date lacked (``lacking``) are kept in ``marks``' last, by key and date
    (a later row of the date that lacks none takes it out; one whose figures the stored record
    has, those: :func:`_kept`), for the key's note."""
    slot_of, got, lacks = marks
    today = app.clock.now().astimezone(SAO_PAULO).date()
    lo, hi = span
    batch: dict[tuple[str, date], Observation] = {}
    ours = _Held(lo, hi)

    def flush() -> None:
        if not batch:
            return
        groups = _by_key(batch)
        # Taken out first: a write that fails is not tried again by the ``finally`` below (the
        # message fails and is redelivered whole).
        batch.clear()
        stored = _stored_around(app, groups)
        _flag_outliers(groups, flagged, stored)
        stamp = app.clock.now()
        stamps = (stamp, *answer)
        written: list[tuple[str, date]] = []  # by every attempt
        settled: _Settled = {}  # by every attempt, the last one's last
        # Redone at once, not with stamina: a lost race is read again, with nothing to wait out.
        for attempt in range(1, RACE_ATTEMPTS + 1):
            try:
                _write_groups(
                    app, by_key, (groups, stored), stamps, ours, (written, settled), report
                )
                break
            except StaleAnswer:
                raise  # read again, the answer would still be older: it is fetched again
            except StoreRaced:
                # Another writer changed a date between this one's read and its conditional
                # write: read again and compare afresh (what was written is equal now).
                if attempt == RACE_ATTEMPTS:
                    raise  # the message fails and comes back; nothing was overwritten
                stored = _stored_around(app, groups)
        ours.mark(written, app.store.wall_now())
        _settle(lacks, settled)
        _mark_stored(groups, (slot_of, got), flagged)

    try:
        for obs in observations:
            if obs.key not in by_key or not lo <= obs.date <= hi:
                continue  # rows out of the requested range or for other keys are not ours
            slot = (obs.key, obs.date)
            if slot in batch:
                _say_twice(answer[0], batch[slot], obs)
            problem = check_observation(obs, today)
            if LACKING_ATTR in obs.attrs or lacks[obs.key]:  # a call per value only then
                _keep_lacking(lacks[obs.key], obs, problem)
            if problem:
                flagged[slot] = Flag(obs.value, problem)
                batch.pop(slot, None)
                continue
            batch[slot] = obs
            if len(batch) >= app.store_batch:
                flush()
    finally:
        flush()


def _mark_stored(
    groups: dict[str, list[Observation]],
    marks: tuple[dict[date, int], dict[str, bytearray]],
    flagged: Flagged,
) -> None:
    """A stored batch's requested dates marked in ``got`` (``marks``' second), and taken out
    of ``flagged``: a later, plausible row for such a date won."""
    slot_of, got = marks
    for key, group in groups.items():
        marked = got[key]
        if flagged:
            for obs in group:
                flagged.pop((key, obs.date), None)
        for slot in map(slot_of.get, [obs.date for obs in group]):
            if slot is not None:
                marked[slot] = 1


def _settle(lacks: _Lacks, settled: _Settled) -> None:
    """The dates whose lacking figures the stored record had (:func:`_kept`): what they still
    lack (none: not noted) in place of what the answer lacked."""
    for (key, day), figures in settled.items():
        if figures is None:
            lacks[key].pop(day, None)
        else:
            lacks[key][day] = figures


def _say_twice(seen_by: str, earlier: Observation, obs: Observation) -> None:
    """Log a date the answer gives twice with two values (the later one is taken)."""
    if earlier.value != obs.value:
        logger.warning(
            "%s: %s %s is in the answer twice, %s then %s: the later one is taken",
            seen_by,
            obs.key,
            obs.date.isoformat(),
            earlier.value,
            obs.value,
        )


def _keep_lacking(lacks: dict[date, str], obs: Observation, set_aside: str | None) -> None:
    """The figures ``obs`` lacks (``lacking``) kept by its date, unless it is ``set_aside``
    (not stored); a later row of the date that lacks none, or is set aside, takes it out."""
    figures = obs.attrs.get(LACKING_ATTR)
    if isinstance(figures, str) and not set_aside:
        lacks[obs.date] = figures
    elif lacks:
        lacks.pop(obs.date, None)


def _by_key(batch: dict[tuple[str, date], Observation]) -> dict[str, list[Observation]]:
    """A batch's observations per key (in the order the source gave them)."""
    groups: dict[str, list[Observation]] = defaultdict(list)
    for obs in batch.values():
        groups[obs.key].append(obs)
    return groups


@dataclass(frozen=True, slots=True)
class _DayAttrs:
    """What a date adds to each value's attributes (``calendar: unexpected`` on a day its
    calendar does not expect)."""

    attrs: dict[str, AttrValue]


@lru_cache(maxsize=8_192)
def _schedule_day_attrs(schedule: str, calendar: str, day: date) -> _DayAttrs:
    """Once per schedule, calendar and date (keyed by their names: a Series hashes slowly):
    the keys of a fetch unit share them, and so do the ten PTAX currencies' ~5,000 dates."""
    attrs = _freshness(schedule, day)
    if not get_calendar(calendar).is_expected(day):
        attrs[CALENDAR_ATTR] = UNEXPECTED
    return _DayAttrs(attrs)


_COMPARED = ("value", "attrs", "revisions")
"""What a scraper reads of stored records to compare with what came back (and to revise them
conditionally: the history's length is the revision's check; whether the stored value is
newer than the answer is the store's, ``Store.revise``'s ``answered_at``)."""
RACE_ATTEMPTS = 3
"""Reads and conditional writes of one batch when other writers keep changing its dates."""
_Stored = dict[str, tuple[dict[date, Decimal], dict[date, Record]]]
"""Per key, what :func:`_stored_around` read (:meth:`Store.compared`): the OK values around
a batch's dates, and the OK records of those dates."""
_Settled = dict[tuple[str, date], str | None]
"""The dates of a batch whose answer lacked figures the stored record has: the figures
still lacked once those are kept (None: none), for the key's ``lacking`` note."""


def _write_groups(
    app: StageContext,
    by_key: dict[str, Series],
    batch: tuple[dict[str, list[Observation]], _Stored],
    stamps: tuple[datetime, str, datetime],
    ours: _Held,
    out: tuple[list[tuple[str, date]], _Settled],
    report: ScrapeReport,
) -> None:
    """Add a batch's new values and revise its changed ones, conditionally: StoreRaced when a
    date changed since ``stored`` was read, StaleAnswer when a date to revise was stored after
    the answer's request was sent (what was written so far is counted). ``stamps``: the
    instant of this write, how a revision names the request, and when it was sent; ``ours``:
    when an earlier batch of the same answer last wrote a date (:class:`_Held`); ``batch``:
    its observations per key and the stored records read for them. The (key, date) slots
    written are added to ``out``'s first as they are (a raced attempt's too); the dates whose
    lacking figures the stored record has, to its second (:func:`_kept`)."""
    groups, stored = batch
    written, settled = out
    stamp, seen_by, sent_at = stamps
    new, revisions = _values_to_store(by_key, groups, stored, settled)
    # Conditional: a date another scraper stored meanwhile is refused, not overwritten, and
    # compared below like any stored value.
    refused = app.store.add_values(*new) if new.keys else []
    report.records_written += len(new.keys) - len(refused)
    report.unexpected += _unexpected(new, refused)
    if refused:
        skipped = set(refused)
        written += [slot for slot in zip(new.keys, new.days, strict=True) if slot not in skipped]
        revisions += _refused_changes(app, new, refused, settled)
    else:
        written += zip(new.keys, new.days, strict=True)
    for obs, current in revisions:
        assert current.value is not None  # _changed compares OK values only
        answered_at = ours.answered_at(obs.key, obs.date) or sent_at
        kind = change_kind(
            by_key[obs.key].derived_attrs,
            (current.value, current.attrs),
            (obs.value, obs.attrs),
        )
        revision = Revision(
            current.value,
            obs.value,
            stamp,
            seen_by,
            previous_attrs=None if current.attrs == obs.attrs else dict(current.attrs),
            kind=kind,
        )
        # Another revision or adjustment meanwhile, even of attrs: read again. A redelivered
        # message finds the new attributes stored and adds nothing (_changed is False).
        # Stored after the request was sent (by this answer's own earlier batch: after that
        # batch was written): the store says so (AnsweredBefore), and the answer is fetched again.
        seen = len(current.revisions)
        try:
            if not app.store.revise(
                obs.key, obs.date, revision, obs.attrs, history=seen, answered_at=answered_at
            ):
                raise StoreRaced(f"{obs.key} {obs.date} changed while it was being revised")
        except AnsweredBefore as exc:
            raise StaleAnswer(
                f"{exc}: this answer's request was sent at {answered_at}, so "
                f"{current.value} may be a later value than {obs.value}"
            ) from exc
        written.append((obs.key, obs.date))
        if kind is HistoryKind.ADJUSTMENT:
            report.adjusted += 1
        elif kind is HistoryKind.COMPLETION:
            report.completed += 1
        else:
            report.revised += 1


class _Held:
    """When an answer's earlier batches last wrote each date, per key: the number of that
    batch, four bytes per day of its span (so memory grows with the span, not with the
    values), and the store's wall instant after each batch's writes. A date seen again in a
    later batch (an answer giving it twice) finds the record written after the request by the
    answer itself, which is no later answer: the later row revises it as answered at that
    instant, so a write by another reader since (after it) is still refused."""

    def __init__(self, lo: date, hi: date) -> None:
        self._lo, self._days = lo, (hi - lo).days + 1
        self._marks: dict[str, array[int]] = {}
        self._after: list[datetime] = []

    def mark(self, written: Sequence[tuple[str, date]], after: datetime) -> None:
        """``written``: the slots one batch wrote; ``after``: the wall instant once it had."""
        if not written:
            return
        self._after.append(after)
        batch = len(self._after)  # 0: no batch wrote the date
        lo = self._lo
        for key, day in written:
            marks = self._marks.get(key)
            if marks is None:
                marks = self._marks[key] = array("I", [0]) * self._days
            marks[(day - lo).days] = batch

    def answered_at(self, key: str, day: date) -> datetime | None:
        """The wall instant after the batch that last wrote ``day`` of ``key``; None when no
        earlier batch of the answer wrote it."""
        marks = self._marks.get(key)
        batch = 0 if marks is None else marks[(day - self._lo).days]
        return self._after[batch - 1] if batch else None


def _unexpected(new: _NewValues, refused: list[tuple[str, date]]) -> int:
    """How many of the values added (``new`` but the ``refused``) are on a day their
    series' calendar does not expect (:func:`_schedule_day_attrs` marked them)."""
    if not refused:
        return sum(attrs.get(CALENDAR_ATTR) == UNEXPECTED for attrs in new.attrs)
    skipped = set(refused)
    return sum(
        attrs.get(CALENDAR_ATTR) == UNEXPECTED
        for slot, attrs in zip(zip(new.keys, new.days, strict=True), new.attrs, strict=True)
        if slot not in skipped
    )


class StoreRaced(RuntimeError):
    """A stored value changed between the scraper's read and its conditional write; the
    message fails and is redelivered."""


class StaleAnswer(StoreRaced):
    """An answer would revise a value stored after its request was sent: that value may come
    from a later answer (another reader's, stored while this one was on its way), and writing
    this one over it would put back what the source has corrected. Skipping the date could
    drop a value the source published after the stored one, so the source is asked again
    (:data:`FETCH_ATTEMPTS`), and then the message fails and is redelivered, as raced."""


def _changed(current: Record | None, value: Decimal, attrs: dict[str, AttrValue]) -> bool | None:
    """None: no OK value is stored (store it); True: the stored one differs in value or
    attributes (revise it); False: the same again (a redelivery, a re-read)."""
    if current is None or current.status is not Status.OK or current.value is None:
        return None
    return current.value != value or current.attrs != attrs


def _refused_changes(
    app: StageContext, new: _NewValues, refused: list[tuple[str, date]], settled: _Settled
) -> list[tuple[Observation, Record]]:
    """The refused values (their dates turned OK meanwhile) that differ from what is stored
    now, each with the stored record (a figure a value lacks and the record has, kept:
    :func:`_kept`); one query per key."""
    ok = Status.OK
    offered = {
        (key, day): Record(key, day, value, ok, 0, None, None, attrs)
        for key, day, value, attrs in zip(*new, strict=True)
    }
    days_of: dict[str, list[date]] = defaultdict(list)
    for key, day in refused:
        days_of[key].append(day)
    out: list[tuple[Observation, Record]] = []
    for key, days in days_of.items():
        found = app.store.query(key, min(days), max(days), _COMPARED, consistent=True)
        now_stored = {r.date: r for r in found}
        for day in days:
            record = offered[(key, day)]
            assert record.value is not None  # add_records took it as an OK record
            current = now_stored.get(day)
            change = _changed(current, record.value, record.attrs)
            if change is None:  # refused as OK, no longer OK: let a redelivery store it
                raise StoreRaced(f"{key} {day} changed while it was being stored")
            attrs = record.attrs
            if change and current is not None and LACKING_ATTR in attrs:
                attrs = _kept(current, record.value, attrs, (key, day), settled)
                change = _changed(current, record.value, attrs)
            if change and current is not None:
                out.append((Observation(key, day, record.value, attrs), current))
    return out


class _NewValues(NamedTuple):
    """A batch's new values a column at a time (row ``i`` of each), as
    :meth:`~fuelpipe.ports.store.Store.add_values` takes them: no Record each."""

    keys: list[str]
    days: list[date]
    values: list[Decimal]
    attrs: list[dict[str, AttrValue]]


def _values_to_store(
    by_key: dict[str, Series],
    groups: dict[str, list[Observation]],
    stored: _Stored,
    settled: _Settled,
) -> tuple[_NewValues, list[tuple[Observation, Record]]]:
    """A batch's new values (to add) and its changed OK values, in value or attributes (with
    the stored record they revise); the same again (a redelivery, a re-read) is neither, nor
    is the same lacking figures the stored record has (:func:`_kept`, in ``settled``).

    The values go out key by key: a fetch unit's own order (an ANP workbook: ~80 keys a week,
    week after week) inserted ~1.5x slower into SQLite's (key, date) B-tree in a 20-year
    backfill, touching every key's last page once per date.
    """
    new = _NewValues([], [], [], [])
    keys, days, values, attrs_of = new
    revisions: list[tuple[Observation, Record]] = []
    for key, observations in groups.items():
        series = by_key[key]
        schedule, calendar = series.publication, series.calendar
        around = stored.get(key)
        current_of = {} if around is None else around[1]  # OK records only
        for obs in observations:
            day = obs.date
            attrs: dict[str, AttrValue] = {
                **obs.attrs,
                **_schedule_day_attrs(schedule, calendar, day).attrs,
            }
            current = current_of.get(day) if current_of else None
            if current is None:
                keys.append(key)
                days.append(day)
                values.append(obs.value)
                attrs_of.append(attrs)
            elif _changed(current, obs.value, attrs):
                if LACKING_ATTR in attrs:  # a call per value only for one lacking figures
                    attrs = _kept(current, obs.value, attrs, (key, day), settled)
                    if not _changed(current, obs.value, attrs):
                        continue
                revisions.append((Observation(key, day, obs.value, attrs), current))
    return new, revisions


def _kept(
    current: Record,
    value: Decimal,
    attrs: dict[str, AttrValue],
    slot: tuple[str, date],
    settled: _Settled,
) -> dict[str, AttrValue]:
    """``attrs`` (of a value lacking figures) with the figures the stored ``current`` has, when
    the value is the same (:func:`~fuelpipe.domain.models.kept_figures`): a figure published
    is never dropped. When some were kept, what is still lacked goes in ``settled``."""
    assert current.value is not None  # _changed compares OK values only
    out = kept_figures((current.value, current.attrs), (value, attrs))
    if out is not attrs:
        figures = out.get(LACKING_ATTR)
        settled[slot] = figures if isinstance(figures, str) else None
    return out


PUBLISHED_AT = "published_at"


def freshness_attrs(series: Series, day: date) -> dict[str, AttrValue]:
    """When the value was published, from the schedule (``updated_at`` is when it was stored).

    Deterministic, so a redelivered message leaves the same record.
    """
    return _freshness(series.publication, day)


def _freshness(schedule: str, day: date) -> dict[str, AttrValue]:
    published = publication(schedule).published_at(day)
    return {PUBLISHED_AT: published.astimezone(UTC).isoformat()}


def _stored_around(app: StageContext, groups: dict[str, list[Observation]]) -> _Stored:
    """Per key, the stored OK values from 45 days before to 45 days after what came back (the
    neighbour check), and the stored OK records of the dates that came back (the revision
    check): one :meth:`Store.compared` per key."""
    out: _Stored = {}
    for key, observations in groups.items():
        days = {obs.date for obs in observations}
        lo, hi = min(days) - NEIGHBOUR_SPAN, max(days) + NEIGHBOUR_SPAN
        out[key] = app.store.compared(key, lo, hi, days, _COMPARED)
    return out


def _flag_outliers(
    groups: dict[str, list[Observation]],
    flagged: Flagged,
    stored: _Stored,
) -> None:
    """Move values more than 5x away from every neighbour (stored or new) that is not itself
    implausible out of ``groups`` to ``flagged`` (:func:`~fuelpipe.domain.plausibility.
    set_aside`: a stored value far from its neighbours judges none, and is left as it is)."""
    for key, observations in groups.items():
        around = stored.get(key)
        merged = {} if around is None else dict(around[0])
        merged.update((o.date, o.value) for o in observations)
        new = {o.date for o in observations}
        days = sorted(merged)
        outliers: dict[date, str] = {}
        for i, near in set_aside([merged[d] for d in days]).items():
            day = days[i]
            if day in new:  # a stored value is not the answer's to flag
                outliers[day] = (
                    f"implausible value {merged[day]}: more than 5x from its neighbours "
                    f"({', '.join(str(n) for n in near)})"
                )
        if outliers:
            for day, reason in outliers.items():
                flagged[(key, day)] = Flag(merged[day], reason)
            observations[:] = [o for o in observations if o.date not in outliers]


def _absent(key: str, day: date, reason: str, now: datetime) -> Record:
    """ABSENT: the source answered for the date and has no value (put_pending writes it over
    nothing or a PENDING record only: the same answer again for an ABSENT date, as ``revise``
    asks for, writes nothing)."""
    return Record(
        key=key, date=day, value=None, status=Status.ABSENT, reason=reason, updated_at=now
    )


def _mark_missing(
    app: StageContext,
    key: str,
    day: date,
    current: Record | None,
    reason: str,
    now: datetime,
    report: ScrapeReport,
    attrs: dict[str, AttrValue] | None = None,
) -> Record | None:
    """The PENDING record to put for a new failure; None when there is none to put: an OK,
    QUARANTINED or ABSENT record stays (an ABSENT date re-read by ``revise`` and left out of
    the answer, or in a failed request, is not retried: the source has said it has no value),
    and a PENDING one whose last allowed re-download failed too is
    quarantined here (conditionally; counted in ``report``). ``attrs``: the record's
    attributes (the source's own "no value", :func:`no_value_seen`; a value set aside its
    reason names, :func:`~fuelpipe.stages.set_aside.carrying`)."""
    if current is not None and current.status is not Status.PENDING:
        return None  # OK stays OK; QUARANTINED waits for a person; ABSENT is never retried
    if current is not None and current.retry_count >= app.policy.max_retries:
        note = gave_up_reason(reason, current.retry_count)
        if app.store.quarantine(key, day, current.retry_count, note):
            report.quarantined += 1
        return None
    return Record(
        key=key,
        date=day,
        value=None,
        status=Status.PENDING,
        retry_count=0,
        next_attempt_at=_first_attempt(app, key, day, now),
        reason=reason,
        attrs=attrs or {},
        updated_at=now,
    )


def _first_attempt(app: StageContext, key: str, day: date, now: datetime) -> datetime:
    """When a date that newly became PENDING at ``now`` is first re-downloaded. Inside its
    publication window a value may simply not be out yet: the watch loop polls it (cheaply,
    conditionally) until then, and retries only count once it is late."""
    return max(app.policy.first_attempt_due(now), app.catalog[key].schedule.stale_at(day))


def _hold_for_rest(
    app: StageContext,
    slot: tuple[str, date],
    current: Record | None,
    why: tuple[str, dict[str, AttrValue]],
    rest: tuple[datetime, bool],
    report: ScrapeReport,
) -> Record | None:
    """The PENDING record to put for a date its source was not asked for, resting until
    ``rest``'s instant (None: none to put, the record is not PENDING). A rest is no attempt:
    nothing is quarantined, and the date is not due before the rest ends. A PENDING record
    of a retry message (``rest``'s flag) gets back the re-download its claim spent (four
    spent stay four); another one keeps its count, its next attempt moved to the rest's end
    when sooner. Both conditional (``give_back_retry``): a record claimed or stored meanwhile
    keeps its state. A redelivered retry message may give one back twice: a download too
    many, never one too few."""
    key, day = slot
    reason, attrs = why
    until, retried = rest
    if current is not None and current.status is not Status.PENDING:
        return None  # OK stays OK; QUARANTINED waits for a person; ABSENT is never retried
    if current is not None and current.next_attempt_at is not None:
        count = current.retry_count
        back = count - 1 if retried and count > 0 else count
        if back < count or current.next_attempt_at < until:
            app.store.give_back_retry(key, day, count, current.next_attempt_at, back, until)
    report.rest_held += 1
    stale_at = app.catalog[key].schedule.stale_at(day)
    return Record(key, day, None, Status.PENDING, 0, max(until, stale_at), reason, attrs)


def _report_unknown(
    request: DownloadRequest, unknown: dict[str, str], report: ScrapeReport
) -> None:
    """Log and count the keys of ``request`` its fetch unit does not fetch (:func:`resolve`).
    Their records are left as they are: a PENDING one of a moved key is claimed again after
    its backoff, into a message of the unit that fetches it now."""
    report.unknown_keys += len(unknown)
    logger.warning(
        "%s: %d key(s) not fetched, the catalog no longer has them in this fetch unit: %s",
        describe(request),
        len(unknown),
        "; ".join(reason.removeprefix("malformed message: ") for reason in unknown.values()),
    )


def _report_refused(
    app: StageContext,
    request: DownloadRequest,
    refused: dict[tuple[str, date], str],
    report: ScrapeReport,
) -> None:
    """Log and count the (key, date) pairs of ``request`` no message may ask for, and
    quarantine each PENDING record among them with the reason (conditionally, as recheck
    does: its retry count as read), so a person sees it and nothing retries it. None is
    fetched; an OK, ABSENT or QUARANTINED record of one is left as it is."""
    report.unservable += len(refused)
    first = next(iter(refused.values()))
    logger.warning(
        "%s: %d date(s) not fetched, no message may ask for them (e.g. %s)",
        describe(request),
        len(refused),
        first,
    )
    days_of: dict[str, list[date]] = defaultdict(list)
    for key, day in refused:
        days_of[key].append(day)
    for key, days in days_of.items():
        starts = app.catalog[key].default_start
        # Two reads a key (the dates before its start, those past the horizon), so a refused
        # date in year 1 and one in 9999 do not read the whole history between them.
        for group in ([d for d in days if d < starts], [d for d in days if d >= starts]):
            if not group:
                continue
            wanted = set(group)
            for rec in app.store.query(
                key, min(group), max(group), fields=("status", "retry_count", "reason")
            ):
                if rec.date not in wanted or rec.status is not Status.PENDING:
                    continue
                was = f" (was: {rec.reason})" if rec.reason else ""
                why = refused[(key, rec.date)]
                note = f"not fetched: no message may ask for it, {why}{was}"
                if app.store.quarantine(key, rec.date, rec.retry_count, note):
                    report.quarantined += 1


def defer_if_resting(app: StageContext, message: Message) -> datetime | None:
    """When ``message``'s source rests (``app.rests``: a Retry-After heard earlier in this
    batch, in an earlier batch of this warm Lambda, or by another scraper environment: the
    AWS home shares rests through the table), give it back unfetched, hidden until
    the rest ends (``Queue.defer``), and return that instant; the caller reports it
    undone. None: handle it now (no rest; a malformed body, which handle_message
    dead-letters; or its last delivery, see below).

    Each delivery counts toward the queue's ``max_receives``, a deferred one too (SQS cannot
    give a message back without it). So on its last delivery a resting source's message is
    not deferred but handled as `watch` handles one: not fetched, its dates left PENDING
    saying why and due when the rest ends (a retry's claim given back: :func:`_hold_for_rest`),
    the message done. A rest
    never dead-letters a message. Should the queue refuse to hide it, the message is still
    given back (logged): it returns after its visibility timeout instead."""
    if app.rests is None:
        return None
    now = app.clock.now()
    if not app.rests.resting(now):
        return None
    try:
        series, _ = resolve(app, DownloadRequest.from_body(message.body))
    except MalformedMessage:
        return None
    until = app.rests.until(series[0].source, now)
    if until is None or is_last_delivery(app.queue, message):
        return None
    try:
        app.queue.defer([message.receipt], until - now)
    except Exception:  # given back all the same: it comes back after its visibility timeout
        logger.warning("message %s could not be deferred", message.message_id, exc_info=True)
    logger.info(
        "message %s not fetched: %s rests until %s (its Retry-After); given back",
        message.message_id,
        series[0].source,
        until.isoformat(),
    )
    return until


HELD_ORIGINS = ("gap",)
"""The origins whose last delivery :func:`hold_last_delivery` makes PENDING first. A retry
message's dates are PENDING already (claimed by recheck, which bounds them), and a revise
message's are stored: neither has a date the orchestrator would send again."""


def stopped_reason(receives: int) -> str:
    """The reason of a PENDING record a message's last delivery created (still its reason
    when the worker stopped on that delivery too)."""
    return (
        f"not stored: the worker stopped or failed on each of its message's {receives} "
        "deliveries (dead-lettered after the last)"
    )


def hold_last_delivery(
    app: StageContext, message: Message, request: DownloadRequest, series: Sequence[Series]
) -> int:
    """On a gap message's last delivery (its receive count at the queue's ``max_receives``),
    before it is handled: a PENDING record for each (key, date) it asks for that holds no
    record yet (:meth:`~fuelpipe.ports.store.Store.create_pendings`, conditional: nothing is
    ever overwritten), shaped as a source failure's (retry count 0, due after the policy's
    first delay, the reason :func:`stopped_reason`); how many were created.

    A message that kills or times out the worker every time (a poison message) stores
    nothing and is dead-lettered; its dates would stay gaps, sent again by every
    orchestrator run and dead-lettered again, each time after ``max_receives`` deliveries.
    PENDING, they are retried by recheck with its backoff and bound, then quarantined for a
    person. A delivery that succeeds stores its values over them as over any PENDING record.
    Nothing is written on any earlier delivery, nor for a date no message may ask for
    (:func:`refused_dates`) or a key the fetch unit does not fetch. A store refusing the
    write is logged and the message handled all the same (its dates then stay gaps, as
    before, should the worker stop on it)."""
    if request.origin not in HELD_ORIGINS or not is_last_delivery(app.queue, message):
        return 0
    now = app.clock.now()
    days = request.dates_to_download
    refused = refused_dates(series, days, now.astimezone(SAO_PAULO).date())
    reason = stopped_reason(message.receive_count)
    held = [
        Record(s.key, d, None, Status.PENDING, 0, _first_attempt(app, s.key, d, now), reason)
        for s in series
        for d in days
        if (s.key, d) not in refused
    ]
    try:
        created = sum(app.store.create_pendings(held))
    except Exception:  # handled all the same: a store refusing this write leaves them gaps
        logger.warning(
            "message %s on its last delivery: its dates could not be made PENDING first; "
            "should the worker stop on it, they stay gaps",
            message.message_id,
            exc_info=True,
        )
        return 0
    if created:
        logger.info(
            "message %s on its last delivery (%d of %d): %d date(s) holding no record made "
            "PENDING first",
            message.message_id,
            message.receive_count,
            app.queue.max_receives,
            created,
        )
    return created


def handle_message(app: StageContext, message: Message) -> ScrapeReport:
    """Process one queue message: malformed ones, and ones naming no key their fetch unit
    fetches, are dead-lettered with their reason, and logged naming the message and it (the
    run's summary only counts them). A gap message's last delivery makes its dates holding
    no record PENDING first (:func:`hold_last_delivery`)."""
    try:
        request = DownloadRequest.from_body(message.body)
        series, _ = resolve(app, request)
    except MalformedMessage as exc:
        app.queue.dead_letter(message, str(exc))
        logger.warning("message %s dead-lettered: %s", message.message_id, exc)
        return ScrapeReport(dead_lettered=1)
    held = hold_last_delivery(app, message, request, series)
    report = scrape(app, request)
    report.last_delivery_held = held
    return report
